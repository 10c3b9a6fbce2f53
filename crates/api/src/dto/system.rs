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
