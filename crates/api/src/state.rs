use std::time::Instant;

use procdash_persistence::DatabaseConnection;

/// Facts about this deployment that the API reports.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub name: String,
    pub version: String,
    pub environment: String,
    /// Prefix of the versioned API, e.g. `/api/v1`.
    pub prefix: String,
    pub max_body_bytes: usize,
}

impl ServiceInfo {
    pub fn new(
        name: impl Into<String>,
        environment: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            environment: environment.into(),
            prefix: prefix.into(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Shared by every handler.
pub struct AppState {
    pub db: DatabaseConnection,
    pub info: ServiceInfo,
    pub started: Instant,
}

impl AppState {
    pub fn new(db: DatabaseConnection, info: ServiceInfo) -> Self {
        Self {
            db,
            info,
            started: Instant::now(),
        }
    }
}
