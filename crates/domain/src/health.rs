//! Late and stuck runs. A run is **late** while it is still pending `late_after_seconds` after it
//! was created; **stuck** while it has been running longer than its process allows: the process's
//! `meta.expected_duration_seconds` when set, otherwise the p95 completion time of its completed
//! runs × `stuck_factor`, and never less than `stuck_min_seconds`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::RunStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunHealth {
    Ok,
    Late,
    Stuck,
}

impl RunHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Late => "late",
            Self::Stuck => "stuck",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::DomainError> {
        match raw {
            "ok" => Ok(Self::Ok),
            "late" => Ok(Self::Late),
            "stuck" => Ok(Self::Stuck),
            _ => Err(crate::DomainError::field(
                "health",
                "must be one of: ok, late, stuck",
            )),
        }
    }
}

/// STUCK_FACTOR, STUCK_MIN_SECONDS and LATE_AFTER_SECONDS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthSettings {
    pub stuck_factor: f64,
    pub stuck_min_seconds: u64,
    pub late_after_seconds: u64,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            stuck_factor: 3.0,
            stuck_min_seconds: 600,
            late_after_seconds: 900,
        }
    }
}

/// A positive number of seconds from the process's `meta.expected_duration_seconds`.
pub fn expected_duration(process_meta: &Value) -> Option<f64> {
    process_meta
        .get("expected_duration_seconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
}

/// How long a run of the process may run before it is stuck, in seconds.
pub fn stuck_after(
    settings: &HealthSettings,
    p95_completion: Option<f64>,
    expected: Option<f64>,
) -> f64 {
    if let Some(expected) = expected {
        return expected;
    }
    let min = settings.stuck_min_seconds as f64;
    p95_completion.map_or(min, |p95| (p95 * settings.stuck_factor).max(min))
}

/// The health of a run at `now`.
pub fn health(
    status: RunStatus,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    late_after_seconds: u64,
    stuck_after_seconds: f64,
) -> RunHealth {
    let age = |since: DateTime<Utc>| (now - since).num_milliseconds() as f64 / 1000.0;
    match status {
        RunStatus::Pending if age(created_at) > late_after_seconds as f64 => RunHealth::Late,
        RunStatus::Running if started_at.is_some_and(|s| age(s) > stuck_after_seconds) => {
            RunHealth::Stuck
        }
        _ => RunHealth::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    #[test]
    fn late_is_pending_past_the_limit() {
        let now = Utc::now();
        let old = now - Duration::seconds(901);
        assert_eq!(
            health(RunStatus::Pending, old, None, now, 900, 600.0),
            RunHealth::Late
        );
        let fresh = now - Duration::seconds(899);
        assert_eq!(
            health(RunStatus::Pending, fresh, None, now, 900, 600.0),
            RunHealth::Ok
        );
        assert_eq!(
            health(RunStatus::Failed, old, None, now, 900, 600.0),
            RunHealth::Ok
        );
    }

    #[test]
    fn stuck_is_running_past_the_process_limit() {
        let now = Utc::now();
        let started = Some(now - Duration::seconds(700));
        assert_eq!(
            health(RunStatus::Running, now, started, now, 900, 600.0),
            RunHealth::Stuck
        );
        assert_eq!(
            health(RunStatus::Running, now, started, now, 900, 800.0),
            RunHealth::Ok
        );
        assert_eq!(
            health(RunStatus::Completed, now, started, now, 900, 1.0),
            RunHealth::Ok
        );
    }

    #[test]
    fn the_limit_comes_from_expected_duration_or_p95() {
        let s = HealthSettings::default();
        assert_eq!(stuck_after(&s, None, None), 600.0);
        assert_eq!(stuck_after(&s, Some(100.0), None), 600.0);
        assert_eq!(stuck_after(&s, Some(1000.0), None), 3000.0);
        assert_eq!(stuck_after(&s, Some(1000.0), Some(60.0)), 60.0);
        assert_eq!(
            expected_duration(&json!({"expected_duration_seconds": 120})),
            Some(120.0)
        );
        assert_eq!(
            expected_duration(&json!({"expected_duration_seconds": -1})),
            None
        );
        assert_eq!(expected_duration(&json!({})), None);
        assert!(RunHealth::parse("stuck").is_ok());
        assert!(RunHealth::parse("x").is_err());
    }
}
