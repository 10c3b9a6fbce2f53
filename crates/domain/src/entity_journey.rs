//! One business entity's runs across processes.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::RunStatus;

/// A run in an entity's journey.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyRun {
    pub run_id: i64,
    pub process_id: i64,
    pub process_name: String,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub first_failed_step: Option<FailedStep>,
}

impl JourneyRun {
    /// Seconds from start to finish, when the run has both.
    pub fn duration_seconds(&self) -> Option<f64> {
        duration_seconds(self.started_at, self.finished_at)
    }
}

/// The lowest-index current failed step run of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedStep {
    pub step_id: i64,
    pub name: String,
    pub failure: Option<Value>,
}

/// `finished - started` in seconds (microsecond precision), when both are known.
pub fn duration_seconds(
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> Option<f64> {
    let (start, end) = (started_at?, finished_at?);
    let micros = (end - start).num_microseconds()?;
    // Exact for any duration below 2^53 microseconds (about 285 years).
    Some(micros as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn duration_needs_both_ends() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let end = start + TimeDelta::milliseconds(90_500);
        assert_eq!(duration_seconds(Some(start), Some(end)), Some(90.5));
        assert_eq!(duration_seconds(Some(start), None), None);
        assert_eq!(duration_seconds(None, Some(end)), None);
    }
}
