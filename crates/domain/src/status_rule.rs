use crate::{RunStatus, StepStatus};

/// The run status rule: a pure function of the current (non-deleted) step statuses of a run.
///
/// The branches are checked in this order; a running step outranks a failed one because work is
/// still going on (the seed README's rule, stricter than its code).
pub fn derive_run_status(steps: &[StepStatus]) -> RunStatus {
    let any = |s: StepStatus| steps.contains(&s);
    if steps.is_empty() {
        return RunStatus::Pending;
    }
    if any(StepStatus::Running) {
        return RunStatus::Running;
    }
    if any(StepStatus::Failed) {
        return RunStatus::Failed;
    }
    if any(StepStatus::Cancelled) {
        return RunStatus::Cancelled;
    }
    let all_done = steps
        .iter()
        .all(|s| matches!(s, StepStatus::Success | StepStatus::Optional));
    if all_done && any(StepStatus::Success) {
        return RunStatus::Completed;
    }
    if steps.iter().all(|s| *s == StepStatus::Optional) {
        return RunStatus::Pending;
    }
    if any(StepStatus::Pending) && (any(StepStatus::Success) || any(StepStatus::Optional)) {
        return RunStatus::Running;
    }
    RunStatus::Pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepStatus::*;
    use proptest::prelude::*;

    #[test]
    fn no_steps_is_pending() {
        assert_eq!(derive_run_status(&[]), RunStatus::Pending);
    }

    #[test]
    fn running_outranks_failed_and_cancelled() {
        assert_eq!(
            derive_run_status(&[Failed, Running, Cancelled]),
            RunStatus::Running
        );
    }

    #[test]
    fn failed_outranks_cancelled() {
        assert_eq!(
            derive_run_status(&[Cancelled, Failed, Success]),
            RunStatus::Failed
        );
    }

    #[test]
    fn cancelled_outranks_pending_and_success() {
        assert_eq!(
            derive_run_status(&[Pending, Cancelled, Success]),
            RunStatus::Cancelled
        );
    }

    #[test]
    fn all_success_or_optional_with_a_success_is_completed() {
        assert_eq!(
            derive_run_status(&[Success, Optional, Success]),
            RunStatus::Completed
        );
        assert_eq!(derive_run_status(&[Success]), RunStatus::Completed);
    }

    #[test]
    fn all_optional_is_pending() {
        assert_eq!(derive_run_status(&[Optional, Optional]), RunStatus::Pending);
    }

    #[test]
    fn pending_with_progress_is_running() {
        assert_eq!(derive_run_status(&[Success, Pending]), RunStatus::Running);
        assert_eq!(derive_run_status(&[Optional, Pending]), RunStatus::Running);
    }

    #[test]
    fn only_pending_is_pending() {
        assert_eq!(derive_run_status(&[Pending, Pending]), RunStatus::Pending);
    }

    fn statuses() -> impl Strategy<Value = Vec<StepStatus>> {
        prop::collection::vec(prop::sample::select(StepStatus::ALL.to_vec()), 0..12)
    }

    proptest! {
        #[test]
        fn rule_depends_only_on_the_multiset(mut steps in statuses(), seed in any::<u64>()) {
            let before = derive_run_status(&steps);
            // A deterministic shuffle driven by the seed: order must not matter.
            let len = steps.len();
            if len > 1 {
                let mut s = seed;
                for i in (1..len).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let j = usize::try_from(s >> 33).unwrap_or(0) % (i + 1);
                    steps.swap(i, j);
                }
            }
            prop_assert_eq!(before, derive_run_status(&steps));
        }

        #[test]
        fn duplicating_every_step_changes_nothing(steps in statuses()) {
            let doubled: Vec<_> = steps.iter().chain(steps.iter()).copied().collect();
            prop_assert_eq!(derive_run_status(&steps), derive_run_status(&doubled));
        }

        #[test]
        fn any_running_step_means_running(mut steps in statuses()) {
            steps.push(Running);
            prop_assert_eq!(derive_run_status(&steps), RunStatus::Running);
        }
    }

    #[test]
    fn every_run_status_is_reachable() {
        let mut seen = std::collections::HashSet::new();
        // Every multiset of up to three steps.
        for a in StepStatus::ALL {
            seen.insert(derive_run_status(&[a]));
            for b in StepStatus::ALL {
                seen.insert(derive_run_status(&[a, b]));
                for c in StepStatus::ALL {
                    seen.insert(derive_run_status(&[a, b, c]));
                }
            }
        }
        for status in RunStatus::ALL {
            assert!(seen.contains(&status), "{status} is unreachable");
        }
    }
}
