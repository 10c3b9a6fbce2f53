use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{RunStatus, StepStatus};

/// The timestamps a run carries besides its audit columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunTimes {
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Stamps a run that moves from `previous` to `next`.
///
/// started_at is set the first time the run leaves pending and never cleared; finished_at is set
/// when the run enters a terminal status and cleared when it leaves one.
pub fn apply_run_status(
    previous: RunStatus,
    next: RunStatus,
    times: RunTimes,
    now: DateTime<Utc>,
) -> RunTimes {
    let started_at = match times.started_at {
        None if next != RunStatus::Pending => Some(now),
        kept => kept,
    };
    let finished_at = if !next.is_terminal() {
        None
    } else if previous != next || times.finished_at.is_none() {
        Some(now)
    } else {
        times.finished_at
    };
    RunTimes {
        started_at,
        finished_at,
    }
}

/// What a step run holds that an update can change.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRunState {
    pub status: StepStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failure: Option<Value>,
}

/// A status report for one step run, as a robot sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepUpdate {
    pub status: StepStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failure: Option<Value>,
}

/// Applies a status report to a step run; supplied values always win over derived stamps.
pub fn apply_step_update(
    current: &StepRunState,
    update: StepUpdate,
    now: DateTime<Utc>,
) -> StepRunState {
    let changed = current.status != update.status;
    let started_at = update.started_at.or(match current.started_at {
        None if changed && update.status == StepStatus::Running => Some(now),
        kept => kept,
    });
    let finished_at = update.finished_at.or_else(|| {
        if changed && update.status.is_finished_outcome() {
            Some(now)
        } else if current.status.is_finished_outcome() && update.status.is_active() {
            None
        } else {
            current.finished_at
        }
    });
    let failure = update.failure.or_else(|| {
        if update.status.is_active() {
            None
        } else {
            current.failure.clone()
        }
    });
    StepRunState {
        status: update.status,
        started_at,
        finished_at,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .unwrap_or_default()
    }

    fn state(status: StepStatus) -> StepRunState {
        StepRunState {
            status,
            started_at: None,
            finished_at: None,
            failure: None,
        }
    }

    fn update(status: StepStatus) -> StepUpdate {
        StepUpdate {
            status,
            started_at: None,
            finished_at: None,
            failure: None,
        }
    }

    #[test]
    fn run_gets_started_when_it_leaves_pending_and_keeps_it() {
        let t = apply_run_status(
            RunStatus::Pending,
            RunStatus::Running,
            RunTimes::default(),
            at(1),
        );
        assert_eq!(t.started_at, Some(at(1)));
        let t = apply_run_status(RunStatus::Running, RunStatus::Pending, t, at(2));
        assert_eq!(t.started_at, Some(at(1)));
    }

    #[test]
    fn run_finishes_on_terminal_and_clears_on_leaving() {
        let t = apply_run_status(
            RunStatus::Running,
            RunStatus::Failed,
            RunTimes::default(),
            at(5),
        );
        assert_eq!(t.finished_at, Some(at(5)));
        assert_eq!(t.started_at, Some(at(5)));
        let same = apply_run_status(RunStatus::Failed, RunStatus::Failed, t, at(9));
        assert_eq!(same.finished_at, Some(at(5)));
        let other = apply_run_status(RunStatus::Failed, RunStatus::Completed, t, at(7));
        assert_eq!(other.finished_at, Some(at(7)));
        let back = apply_run_status(RunStatus::Failed, RunStatus::Running, t, at(8));
        assert_eq!(back.finished_at, None);
        assert_eq!(back.started_at, Some(at(5)));
    }

    #[test]
    fn pending_run_stays_unstamped() {
        let t = apply_run_status(
            RunStatus::Pending,
            RunStatus::Pending,
            RunTimes::default(),
            at(1),
        );
        assert_eq!(t, RunTimes::default());
    }

    #[test]
    fn entering_running_stamps_start_unless_supplied_or_set() {
        let s = apply_step_update(
            &state(StepStatus::Pending),
            update(StepStatus::Running),
            at(1),
        );
        assert_eq!(s.started_at, Some(at(1)));
        let supplied = StepUpdate {
            started_at: Some(at(-10)),
            ..update(StepStatus::Running)
        };
        let s2 = apply_step_update(&state(StepStatus::Pending), supplied, at(1));
        assert_eq!(s2.started_at, Some(at(-10)));
        let already = StepRunState {
            started_at: Some(at(-3)),
            ..state(StepStatus::Failed)
        };
        let s3 = apply_step_update(&already, update(StepStatus::Running), at(1));
        assert_eq!(s3.started_at, Some(at(-3)));
    }

    #[test]
    fn entering_an_outcome_stamps_finish_once() {
        let s = apply_step_update(
            &state(StepStatus::Running),
            update(StepStatus::Success),
            at(4),
        );
        assert_eq!(s.finished_at, Some(at(4)));
        let again = apply_step_update(&s, update(StepStatus::Success), at(9));
        assert_eq!(again.finished_at, Some(at(4)));
        let supplied = StepUpdate {
            finished_at: Some(at(2)),
            ..update(StepStatus::Failed)
        };
        let f = apply_step_update(&state(StepStatus::Running), supplied, at(4));
        assert_eq!(f.finished_at, Some(at(2)));
    }

    #[test]
    fn repeating_running_restamps_nothing() {
        let s = StepRunState {
            started_at: Some(at(1)),
            ..state(StepStatus::Running)
        };
        assert_eq!(apply_step_update(&s, update(StepStatus::Running), at(9)), s);
    }

    #[test]
    fn leaving_an_outcome_for_work_clears_finish_and_failure() {
        let failed = StepRunState {
            finished_at: Some(at(3)),
            failure: Some(json!({"error": "timeout"})),
            ..state(StepStatus::Failed)
        };
        let s = apply_step_update(&failed, update(StepStatus::Running), at(4));
        assert_eq!(s.finished_at, None);
        assert_eq!(s.failure, None);
        let p = apply_step_update(&failed, update(StepStatus::Pending), at(4));
        assert_eq!((p.finished_at, p.failure), (None, None));
    }

    #[test]
    fn failure_sent_with_running_is_kept() {
        let failure = Some(json!({"warning": "slow"}));
        let req = StepUpdate {
            failure: failure.clone(),
            ..update(StepStatus::Running)
        };
        let s = apply_step_update(&state(StepStatus::Failed), req, at(4));
        assert_eq!(s.failure, failure);
    }

    #[test]
    fn failure_is_kept_when_moving_to_another_outcome() {
        let failed = StepRunState {
            failure: Some(json!({"e": 1})),
            ..state(StepStatus::Failed)
        };
        let s = apply_step_update(&failed, update(StepStatus::Cancelled), at(4));
        assert_eq!(s.failure, Some(json!({"e": 1})));
    }
}
