use chrono::{DateTime, Utc};
use procdash_persistence::repo::request_logs::{RequestLog, RequestStats};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestLogResponse {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub method: String,
    /// Route template.
    pub route: String,
    pub path: String,
    pub query: Option<String>,
    pub status: i32,
    pub duration_ms: f64,
    pub api_key_id: Option<i64>,
    pub api_key_name: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub error_message: Option<String>,
}

impl From<RequestLog> for RequestLogResponse {
    fn from(r: RequestLog) -> Self {
        Self {
            id: r.id,
            occurred_at: r.occurred_at,
            method: r.method,
            route: r.route,
            path: r.path,
            query: r.query,
            status: r.status,
            duration_ms: r.duration_ms,
            api_key_id: r.api_key_id,
            api_key_name: r.api_key_name,
            client_ip: r.client_ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            error_message: r.error_message,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestLogParams {
    pub api_key_id: Option<i64>,
    #[param(example = "GET")]
    pub method: Option<String>,
    /// Substring of the path.
    pub path: Option<String>,
    pub status_code: Option<i32>,
    /// Minimum duration in milliseconds.
    #[param(minimum = 0, maximum = 86400000)]
    pub min_duration: Option<f64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// Window in hours, 1..=8760 (default 24).
    #[param(minimum = 1, maximum = 8760, default = 24)]
    pub hours: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCount {
    pub api_key_id: Option<i64>,
    pub api_key_name: Option<String>,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestStatsResponse {
    pub hours: i64,
    pub total: u64,
    pub successful: u64,
    pub errors: u64,
    /// Percentage of requests under 400.
    pub success_rate: f64,
    pub average_duration_ms: f64,
    pub p95_duration_ms: f64,
    pub by_method: Vec<NamedCount>,
    pub by_route: Vec<NamedCount>,
    pub top_keys: Vec<KeyCount>,
}

impl RequestStatsResponse {
    pub fn new(hours: i64, s: RequestStats) -> Self {
        let rate = if s.total == 0 {
            100.0
        } else {
            s.successful as f64 * 100.0 / s.total as f64
        };
        let named = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(name, count)| NamedCount { name, count })
                .collect()
        };
        Self {
            hours,
            total: s.total,
            successful: s.successful,
            errors: s.errors,
            success_rate: (rate * 100.0).round() / 100.0,
            average_duration_ms: s.average_duration_ms,
            p95_duration_ms: s.p95_duration_ms,
            by_method: named(s.by_method),
            by_route: named(s.by_route),
            top_keys: s
                .top_keys
                .into_iter()
                .map(|(api_key_id, api_key_name, count)| KeyCount {
                    api_key_id,
                    api_key_name,
                    count,
                })
                .collect(),
        }
    }
}
