//! The shape of one seeded run, before it becomes rows: its status (5 % failed, 3 % running, the
//! rest completed) and step timestamps that follow one another as real step reports would.

use chrono::{DateTime, Duration, Utc};
use procdash_domain::{RunStatus, StepStatus};
use serde_json::{Value, json};

use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq)]
pub struct StepPlan {
    pub status: StepStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failure: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The last stamp of any step: when the run row was last written.
    pub updated_at: DateTime<Utc>,
    pub steps: Vec<StepPlan>,
}

const FAILURES: [&str; 4] = ["TIMEOUT", "VALIDATION", "UPSTREAM_5XX", "LOCKED_RECORD"];

/// Plans a run created at `created_at` with `steps` steps.
pub fn plan_run(rng: &mut Rng, created_at: DateTime<Utc>, steps: usize) -> RunPlan {
    let roll = rng.below(100);
    let (status, stop) = match roll {
        0..5 => (RunStatus::Failed, below(rng, steps)),
        5..8 => (RunStatus::Running, below(rng, steps)),
        _ => (RunStatus::Completed, steps),
    };
    let mut at = created_at + Duration::milliseconds(rng.between(50, 5_000));
    let run_started = (steps > 0).then_some(at);
    let mut planned = Vec::with_capacity(steps);
    let mut last = created_at;
    for index in 0..steps {
        let step = if index < stop {
            let started = at;
            at += Duration::milliseconds(rng.between(500, 120_000));
            StepPlan {
                status: StepStatus::Success,
                started_at: Some(started),
                finished_at: Some(at),
                failure: None,
            }
        } else if index == stop && status == RunStatus::Failed {
            let started = at;
            at += Duration::milliseconds(rng.between(500, 60_000));
            StepPlan {
                status: StepStatus::Failed,
                started_at: Some(started),
                finished_at: Some(at),
                failure: Some(json!({
                    "code": rng.pick(&FAILURES),
                    "message": format!("step {index} gave up after {} attempts", rng.between(1, 3)),
                })),
            }
        } else if index == stop && status == RunStatus::Running {
            StepPlan {
                status: StepStatus::Running,
                started_at: Some(at),
                finished_at: None,
                failure: None,
            }
        } else {
            StepPlan {
                status: StepStatus::Pending,
                started_at: None,
                finished_at: None,
                failure: None,
            }
        };
        last = step.finished_at.or(step.started_at).unwrap_or(last);
        planned.push(step);
    }
    let finished_at = matches!(status, RunStatus::Completed | RunStatus::Failed)
        .then_some(last)
        .filter(|_| steps > 0);
    RunPlan {
        status: if steps == 0 {
            RunStatus::Pending
        } else {
            status
        },
        started_at: run_started,
        finished_at,
        updated_at: last,
        steps: planned,
    }
}

fn below(rng: &mut Rng, n: usize) -> usize {
    usize::try_from(rng.below(n as u64)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use procdash_domain::derive_run_status;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_run_status_is_what_the_status_rule_derives() {
        let mut rng = Rng::new(11);
        for _ in 0..2_000 {
            let plan = plan_run(&mut rng, at(), 5);
            let statuses: Vec<StepStatus> = plan.steps.iter().map(|s| s.status).collect();
            assert_eq!(derive_run_status(&statuses), plan.status, "{statuses:?}");
        }
    }

    #[test]
    fn shares_are_about_five_and_three_percent() {
        let mut rng = Rng::new(12);
        let plans: Vec<RunPlan> = (0..20_000).map(|_| plan_run(&mut rng, at(), 5)).collect();
        let share = |s: RunStatus| plans.iter().filter(|p| p.status == s).count() as f64 / 200.0;
        assert!((4.0..6.0).contains(&share(RunStatus::Failed)));
        assert!((2.0..4.0).contains(&share(RunStatus::Running)));
    }

    #[test]
    fn step_stamps_follow_each_other_and_failures_are_described() {
        let mut rng = Rng::new(13);
        for _ in 0..2_000 {
            let plan = plan_run(&mut rng, at(), 5);
            let mut previous = at();
            for step in &plan.steps {
                if let Some(started) = step.started_at {
                    assert!(started >= previous);
                    previous = step.finished_at.unwrap_or(started);
                    assert!(previous >= started);
                }
                assert_eq!(step.failure.is_some(), step.status == StepStatus::Failed);
            }
            assert_eq!(plan.finished_at.is_some(), plan.status.is_terminal());
            assert!(plan.updated_at >= at());
            assert!(plan.finished_at.is_none_or(|f| f == plan.updated_at));
        }
    }
}
