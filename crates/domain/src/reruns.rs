//! Reruns of failed steps: the `rerun_config` value object (which adapter dispatches a rerun,
//! where to, how often to retry), and the rules that decide whether a step run may be rerun.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::outbound::OutboundPolicy;
use crate::{FieldError, StepStatus};

/// The seed's default rerun cap.
pub const DEFAULT_MAX_RERUNS: u32 = 3;
/// Seconds an HTTP dispatch may take by default.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 30.0;
const KNOWN_KEYS: [&str; 9] = [
    "adapter",
    "workitem_id",
    "api_endpoint",
    "subprocess_id",
    "timeout_seconds",
    "max_retries",
    "retry_delays",
    "failure_conditions",
    "max_reruns",
];
const MAX_RETRIES_LIMIT: u32 = 20;
const MAX_DELAY_SECONDS: f64 = 86_400.0;

/// Where a rerun is dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adapter {
    /// `PUT {AUTOMATION_SERVER_URL}/workitems/{workitem_id}/status` with `{"status":"new"}`.
    AutomationServer { workitem_id: String },
    /// `POST api_endpoint` with the rerun described in JSON.
    Http { api_endpoint: String },
}

impl Adapter {
    pub fn name(&self) -> &'static str {
        match self {
            Self::AutomationServer { .. } => "automation_server",
            Self::Http { .. } => "http",
        }
    }
}

/// Which failed tries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCondition {
    NetworkError,
    Timeout,
    RateLimit,
    ServerError,
}

impl FailureCondition {
    pub const ALL: [Self; 4] = [
        Self::NetworkError,
        Self::Timeout,
        Self::RateLimit,
        Self::ServerError,
    ];

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetworkError => "network_error",
            Self::Timeout => "timeout",
            Self::RateLimit => "rate_limit",
            Self::ServerError => "server_error",
        }
    }
}

/// How a delivery is retried: stored with each outbox row, so a restart keeps the policy the
/// delivery was created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    /// Seconds before each retry (fractions allowed); the last one repeats.
    pub retry_delays: Vec<f64>,
    pub timeout_seconds: f64,
    pub failure_conditions: Vec<FailureCondition>,
}

/// The outcome of one try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TryOutcome {
    Delivered,
    NetworkError,
    Timeout,
    /// A non-2xx answer, with Retry-After in seconds when it came with one.
    Status {
        code: u16,
        retry_after: Option<f64>,
    },
    /// Refused before sending (an address outside the allow-list): never retried.
    Refused,
}

impl TryOutcome {
    fn condition(self) -> Option<FailureCondition> {
        match self {
            Self::NetworkError => Some(FailureCondition::NetworkError),
            Self::Timeout => Some(FailureCondition::Timeout),
            Self::Status { code: 429, .. } => Some(FailureCondition::RateLimit),
            Self::Status { code, .. } if (500..600).contains(&code) => {
                Some(FailureCondition::ServerError)
            }
            _ => None,
        }
    }
}

/// Longest Retry-After honoured, so a receiver cannot park a delivery for days.
const MAX_RETRY_AFTER_SECONDS: f64 = 3600.0;

impl RetryPolicy {
    /// Seconds to wait before the next try after `tries` tries ending in `outcome`, or None
    /// when the delivery is finished (delivered, not retryable, or out of retries).
    pub fn next_delay(&self, tries: u32, outcome: TryOutcome) -> Option<f64> {
        let condition = outcome.condition()?;
        if !self.failure_conditions.contains(&condition) || tries > self.max_retries {
            return None;
        }
        let index = usize::try_from(tries.saturating_sub(1)).unwrap_or(usize::MAX);
        let configured = self
            .retry_delays
            .get(index)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or(0.0);
        match outcome {
            TryOutcome::Status {
                retry_after: Some(after),
                ..
            } => Some(after.clamp(0.0, MAX_RETRY_AFTER_SECONDS)),
            _ => Some(configured),
        }
    }
}

/// A validated `rerun_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct RerunConfig {
    pub adapter: Option<Adapter>,
    pub max_reruns: u32,
    pub retry: RetryPolicy,
}

impl Default for RerunConfig {
    fn default() -> Self {
        Self {
            adapter: None,
            max_reruns: DEFAULT_MAX_RERUNS,
            retry: RetryPolicy {
                max_retries: 0,
                retry_delays: Vec::new(),
                timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
                failure_conditions: FailureCondition::ALL.to_vec(),
            },
        }
    }
}

impl RerunConfig {
    /// Parses a stored or submitted config. `field` prefixes the error fields
    /// (`rerun_config`, `steps[0].rerun_config`); `policy` checks `api_endpoint`.
    pub fn parse(
        field: &str,
        value: Option<&Value>,
        policy: &OutboundPolicy,
    ) -> Result<Self, Vec<FieldError>> {
        let Some(map) = value.and_then(Value::as_object) else {
            return Ok(Self::default());
        };
        let mut errors = Vec::new();
        let mut err = |key: &str, message: String| {
            errors.push(FieldError::new(format!("{field}.{key}"), message));
        };
        for key in map.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                err(
                    key,
                    format!(
                        "is not a rerun_config key (known: {})",
                        KNOWN_KEYS.join(", ")
                    ),
                );
            }
        }
        let workitem_id = text(map, "workitem_id", &mut err);
        let api_endpoint = text(map, "api_endpoint", &mut err);
        if let Some(url) = &api_endpoint
            && let Err(why) = policy.check_url(url)
        {
            err("api_endpoint", why);
        }
        let adapter = match map.get("adapter") {
            None | Some(Value::Null) => match (workitem_id, api_endpoint) {
                (Some(workitem_id), _) => Some(Adapter::AutomationServer { workitem_id }),
                (None, Some(api_endpoint)) => Some(Adapter::Http { api_endpoint }),
                (None, None) => None,
            },
            Some(Value::String(a)) if a == "automation_server" => match workitem_id {
                Some(workitem_id) => Some(Adapter::AutomationServer { workitem_id }),
                None => {
                    err(
                        "workitem_id",
                        "is required by the automation_server adapter".into(),
                    );
                    None
                }
            },
            Some(Value::String(a)) if a == "http" => match api_endpoint {
                Some(api_endpoint) => Some(Adapter::Http { api_endpoint }),
                None => {
                    err("api_endpoint", "is required by the http adapter".into());
                    None
                }
            },
            Some(_) => {
                err("adapter", "must be automation_server or http".into());
                None
            }
        };
        let max_reruns = count(map, "max_reruns", 100, &mut err).unwrap_or(DEFAULT_MAX_RERUNS);
        let retry_delays = delays(map, &mut err);
        let default_retries = u32::try_from(retry_delays.len()).unwrap_or(MAX_RETRIES_LIMIT);
        let max_retries =
            count(map, "max_retries", MAX_RETRIES_LIMIT, &mut err).unwrap_or(default_retries);
        let timeout_seconds = match map.get("timeout_seconds") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_SECONDS,
            Some(v) => match v.as_f64() {
                Some(t) if t > 0.0 && t <= 300.0 => t,
                _ => {
                    err(
                        "timeout_seconds",
                        "must be a number of seconds in (0, 300]".into(),
                    );
                    DEFAULT_TIMEOUT_SECONDS
                }
            },
        };
        let failure_conditions = conditions(map, &mut err);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            adapter,
            max_reruns,
            retry: RetryPolicy {
                max_retries,
                retry_delays,
                timeout_seconds,
                failure_conditions,
            },
        })
    }
}

fn text(map: &Map<String, Value>, key: &str, err: &mut impl FnMut(&str, String)) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 2048 => {
            Some(s.trim().to_owned())
        }
        Some(_) => {
            err(
                key,
                "must be a non-empty string of at most 2048 characters".into(),
            );
            None
        }
    }
}

fn count(
    map: &Map<String, Value>,
    key: &str,
    max: u32,
    err: &mut impl FnMut(&str, String),
) -> Option<u32> {
    let v = map.get(key).filter(|v| !v.is_null())?;
    match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n <= max => Some(n),
        _ => {
            err(key, format!("must be an integer from 0 to {max}"));
            None
        }
    }
}

fn delays(map: &Map<String, Value>, err: &mut impl FnMut(&str, String)) -> Vec<f64> {
    let Some(v) = map.get("retry_delays").filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let parsed: Option<Vec<f64>> = v.as_array().and_then(|items| {
        items
            .iter()
            .map(|i| i.as_f64().filter(|d| (0.0..=MAX_DELAY_SECONDS).contains(d)))
            .collect()
    });
    match parsed {
        Some(d) if d.len() <= MAX_RETRIES_LIMIT as usize => d,
        _ => {
            err(
                "retry_delays",
                format!(
                    "must be a list of at most {MAX_RETRIES_LIMIT} numbers of seconds from 0 to {MAX_DELAY_SECONDS}"
                ),
            );
            Vec::new()
        }
    }
}

fn conditions(
    map: &Map<String, Value>,
    err: &mut impl FnMut(&str, String),
) -> Vec<FailureCondition> {
    let Some(v) = map.get("failure_conditions").filter(|v| !v.is_null()) else {
        return FailureCondition::ALL.to_vec();
    };
    let parsed: Option<Vec<FailureCondition>> = v.as_array().and_then(|items| {
        items
            .iter()
            .map(|i| i.as_str().and_then(FailureCondition::parse))
            .collect()
    });
    parsed.unwrap_or_else(|| {
        err(
            "failure_conditions",
            "must be a list of: network_error, timeout, rate_limit, server_error".into(),
        );
        Vec::new()
    })
}

/// Why a step run cannot be rerun.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RerunRefusal {
    #[error("step is not rerunnable")]
    NotRerunnable,
    #[error("step run is not the current attempt: it was superseded by a rerun")]
    Superseded,
    #[error("step run is {0}, only a failed step run can be rerun")]
    NotFailed(&'static str),
    #[error("maximum reruns reached ({0})")]
    MaxReruns(u32),
    #[error("step has no dispatch target: {0}")]
    NoTarget(String),
}

impl RerunRefusal {
    /// A short stable reason for bulk answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRerunnable => "not_rerunnable",
            Self::Superseded => "superseded",
            Self::NotFailed(_) => "not_failed",
            Self::MaxReruns(_) => "max_reruns_reached",
            Self::NoTarget(_) => "no_target",
        }
    }
}

/// What the rerun rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct RerunCandidate {
    pub step_is_rerunnable: bool,
    pub status: StepStatus,
    pub is_current: bool,
    /// The candidate's attempt number: 1 for the first try, so attempt - 1 reruns happened.
    pub attempt: i32,
}

/// The rule: a rerunnable step, the current attempt, failed, and reruns left.
pub fn check_rerunnable(c: RerunCandidate, max_reruns: u32) -> Result<(), RerunRefusal> {
    if !c.step_is_rerunnable {
        return Err(RerunRefusal::NotRerunnable);
    }
    if !c.is_current {
        return Err(RerunRefusal::Superseded);
    }
    if c.status != StepStatus::Failed {
        return Err(RerunRefusal::NotFailed(c.status.as_str()));
    }
    let reruns = u32::try_from(c.attempt.saturating_sub(1)).unwrap_or(0);
    if reruns >= max_reruns {
        return Err(RerunRefusal::MaxReruns(max_reruns));
    }
    Ok(())
}

/// `{AUTOMATION_SERVER_URL}/workitems/{workitem_id}/status`, the work item id as one path
/// segment whatever it contains.
pub fn automation_server_target(base: &str, workitem_id: &str) -> Result<String, String> {
    let mut url = url::Url::parse(base).map_err(|e| format!("AUTOMATION_SERVER_URL: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| "AUTOMATION_SERVER_URL cannot have a path".to_owned())?
        .pop_if_empty()
        .extend(["workitems", workitem_id, "status"]);
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn allow(hosts: &[&str]) -> OutboundPolicy {
        let owned: Vec<String> = hosts.iter().map(|s| (*s).to_owned()).collect();
        OutboundPolicy::new(&owned).unwrap_or_default()
    }

    #[test]
    fn the_adapter_follows_the_target_when_absent() {
        let p = allow(&["api.example.com"]);
        let c = RerunConfig::parse("rerun_config", Some(&json!({"workitem_id": "w1"})), &p);
        assert_eq!(
            c.map(|c| c.adapter),
            Ok(Some(Adapter::AutomationServer {
                workitem_id: "w1".into()
            }))
        );
        let c = RerunConfig::parse(
            "rerun_config",
            Some(&json!({"api_endpoint": "https://api.example.com/x", "retry_delays": [1, 2]})),
            &p,
        );
        let c = c.unwrap_or_default();
        assert_eq!(c.adapter.as_ref().map(Adapter::name), Some("http"));
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.max_reruns, 3);
    }

    #[test]
    fn bad_configs_name_every_field() {
        let p = allow(&["api.example.com"]);
        let bad = json!({"adapter": "http", "api_endpoint": "https://evil.com/", "max_reruns": -1,
                         "failure_conditions": ["nope"], "retry_delays": "x", "extra": 1});
        let errors = RerunConfig::parse("rerun_config", Some(&bad), &p)
            .err()
            .unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "api_endpoint",
            "max_reruns",
            "failure_conditions",
            "retry_delays",
            "extra",
        ] {
            assert!(
                fields.contains(&format!("rerun_config.{f}").as_str()),
                "{fields:?}"
            );
        }
        let missing = RerunConfig::parse(
            "rerun_config",
            Some(&json!({"adapter": "automation_server"})),
            &p,
        );
        assert!(missing.is_err());
    }

    #[test]
    fn retries_follow_the_delays_and_conditions() {
        let policy = RetryPolicy {
            max_retries: 2,
            retry_delays: vec![0.5, 2.0],
            timeout_seconds: 1.0,
            failure_conditions: vec![FailureCondition::ServerError, FailureCondition::RateLimit],
        };
        let e500 = TryOutcome::Status {
            code: 500,
            retry_after: None,
        };
        assert_eq!(policy.next_delay(1, e500), Some(0.5));
        assert_eq!(policy.next_delay(2, e500), Some(2.0));
        assert_eq!(policy.next_delay(3, e500), None);
        assert_eq!(
            policy.next_delay(
                1,
                TryOutcome::Status {
                    code: 400,
                    retry_after: None
                }
            ),
            None
        );
        assert_eq!(policy.next_delay(1, TryOutcome::Timeout), None);
        assert_eq!(policy.next_delay(1, TryOutcome::Delivered), None);
        let limited = TryOutcome::Status {
            code: 429,
            retry_after: Some(7.0),
        };
        assert_eq!(policy.next_delay(1, limited), Some(7.0));
    }

    #[test]
    fn the_rerun_rule() {
        let c = RerunCandidate {
            step_is_rerunnable: true,
            status: StepStatus::Failed,
            is_current: true,
            attempt: 1,
        };
        assert_eq!(check_rerunnable(c, 3), Ok(()));
        assert_eq!(
            check_rerunnable(RerunCandidate { attempt: 4, ..c }, 3),
            Err(RerunRefusal::MaxReruns(3))
        );
        assert_eq!(
            check_rerunnable(
                RerunCandidate {
                    step_is_rerunnable: false,
                    ..c
                },
                3
            ),
            Err(RerunRefusal::NotRerunnable)
        );
        assert_eq!(
            check_rerunnable(
                RerunCandidate {
                    is_current: false,
                    ..c
                },
                3
            ),
            Err(RerunRefusal::Superseded)
        );
        assert_eq!(
            check_rerunnable(
                RerunCandidate {
                    status: StepStatus::Success,
                    ..c
                },
                3
            ),
            Err(RerunRefusal::NotFailed("success"))
        );
    }
}
