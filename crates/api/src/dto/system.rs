use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Liveness and database reachability.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// healthy or unhealthy.
    #[schema(example = "healthy")]
    pub status: String,
    pub timestamp: DateTime<Utc>,
    #[schema(example = "0.1.0")]
    pub version: String,
    /// connected or disconnected.
    #[schema(example = "connected")]
    pub database: String,
    #[schema(example = "0d 1h 5m")]
    pub uptime: String,
    /// Request-log entries dropped because the write buffer was full, since start.
    pub request_log_dropped: u64,
    /// The read replica (DATABASE_READ_URL); absent when none is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_replica: Option<ReplicaHealth>,
}

/// The read replica as the last check (every second) saw it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaHealth {
    /// connected or disconnected.
    #[schema(example = "connected")]
    pub database: String,
    /// Replay lag in seconds; null while unknown (down, or not measured yet).
    #[schema(example = 0.012)]
    pub lag_seconds: Option<f64>,
    /// Whether replica-safe reads go to it now; false when it is down or lags more than
    /// READ_MAX_LAG_SECONDS, and reads use the primary.
    pub serving_reads: bool,
}

/// What this service is.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfoResponse {
    #[schema(example = "procdash")]
    pub name: String,
    #[schema(example = "0.1.0")]
    pub version: String,
    pub description: String,
    #[schema(example = "production")]
    pub environment: String,
    pub features: Vec<String>,
}
