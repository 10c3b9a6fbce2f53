//! The checks on a loaded configuration: every value in range, each error naming its key.

use std::path::Path;

use crate::settings::{Settings, SettingsError, parse_list};

impl Settings {
    /// Refuses values out of range, naming the environment key of the first bad one.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, why: &str| Err(SettingsError::Invalid(format!("{key}: {why}")));
        if !self.api_v1_prefix.starts_with('/')
            || self.api_v1_prefix.len() > 1 && self.api_v1_prefix.ends_with('/')
        {
            return bad("API_V1_PREFIX", "must start with '/' and not end with '/'");
        }
        if procdash_persistence::Backend::from_url(&self.database_url).is_none() {
            return bad(
                "DATABASE_URL",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return bad(
                "LOG_LEVEL",
                "is not a valid level or filter (e.g. info, debug, procdash=debug)",
            );
        }
        if let Some(dir) = self
            .log_file
            .as_deref()
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return bad("LOG_FILE", &format!("cannot create {}: {e}", dir.display()));
        }
        if self.max_body_bytes == 0 {
            return bad("MAX_BODY_BYTES", "must be greater than 0");
        }
        if self.bulk_max_items == 0 {
            return bad("BULK_MAX_ITEMS", "must be greater than 0");
        }
        if self.rate_limit_requests == 0
            || self.rate_limit_period == 0
            || self.rate_limit_admin_requests == 0
        {
            return bad(
                "RATE_LIMIT_REQUESTS",
                "RATE_LIMIT_REQUESTS, RATE_LIMIT_PERIOD and RATE_LIMIT_ADMIN_REQUESTS must be greater than 0",
            );
        }
        if self.access_token_expire_minutes <= 0 {
            return bad("ACCESS_TOKEN_EXPIRE_MINUTES", "must be greater than 0");
        }
        if let Err(e) = parse_list(&self.cors_origins) {
            return bad("CORS_ORIGINS", &e);
        }
        match parse_list(&self.trusted_proxies) {
            Ok(list) if list.iter().all(|p| p.parse::<std::net::IpAddr>().is_ok()) => {}
            _ => {
                return bad(
                    "TRUSTED_PROXIES",
                    "must be IP addresses, comma-separated or a JSON array",
                );
            }
        }
        if self.tokens_enabled == Some(true) && self.secret_key.is_none() && !self.debug {
            return bad(
                "SECRET_KEY",
                "is required when TOKENS_ENABLED=true (a random per-process secret is used only with DEBUG=true)",
            );
        }
        if self.secret_key.as_ref().is_some_and(|k| k.len() < 32) {
            return bad("SECRET_KEY", "must be at least 32 characters");
        }
        if parse_list(&self.neutralize_keep_fields).is_err() {
            return bad(
                "NEUTRALIZE_KEEP_FIELDS",
                "must be a comma-separated list or a JSON array",
            );
        }
        if self.audit_retention_months == 0 || self.audit_retention_months > 1200 {
            return bad("AUDIT_RETENTION_MONTHS", "must be between 1 and 1200");
        }
        let intervals = [
            (
                "NEUTRALIZE_INTERVAL_SECONDS",
                self.neutralize_interval_seconds,
            ),
            ("ARCHIVE_INTERVAL_SECONDS", self.archive_interval_seconds),
            ("PURGE_INTERVAL_SECONDS", self.purge_interval_seconds),
            ("SEAL_INTERVAL_SECONDS", self.seal_interval_seconds),
        ];
        if let Some((key, _)) = intervals.iter().find(|(_, v)| *v == 0) {
            return bad(key, "must be at least 1 second");
        }
        if !(1..=10).contains(&self.kpi_interval_seconds) {
            return bad("KPI_INTERVAL_SECONDS", "must be between 1 and 10 seconds");
        }
        if !(1..=1000).contains(&self.auto_neutralize_batch) {
            return bad("AUTO_NEUTRALIZE_BATCH", "must be between 1 and 1000");
        }
        if self
            .instance_id
            .as_ref()
            .is_some_and(|i| i.is_empty() || i.chars().count() > 64)
        {
            return bad("INSTANCE_ID", "must be 1 to 64 characters");
        }
        if !(self.stuck_factor.is_finite() && self.stuck_factor > 0.0) {
            return bad("STUCK_FACTOR", "must be a number greater than 0");
        }
        if self.max_restore_bytes == 0 {
            return bad("MAX_RESTORE_BYTES", "must be greater than 0");
        }
        if !(1..=720).contains(&self.idempotency_ttl_hours) {
            return bad("IDEMPOTENCY_TTL_HOURS", "must be between 1 and 720");
        }
        if !(1..=10_080).contains(&self.events_retention_minutes) {
            return bad("EVENTS_RETENTION_MINUTES", "must be between 1 and 10080");
        }
        if !(1..=3600).contains(&self.events_heartbeat_seconds) {
            return bad("EVENTS_HEARTBEAT_SECONDS", "must be between 1 and 3600");
        }
        if !(1..=1000).contains(&self.events_max_connections_per_key) {
            return bad(
                "EVENTS_MAX_CONNECTIONS_PER_KEY",
                "must be between 1 and 1000",
            );
        }
        if !(50..=60_000).contains(&self.events_poll_millis) {
            return bad("EVENTS_POLL_MILLIS", "must be between 50 and 60000");
        }
        if self.database_max_connections == 0 {
            return bad("DATABASE_MAX_CONNECTIONS", "must be greater than 0");
        }
        if !["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|s| self.redis_url.starts_with(s))
        {
            return bad(
                "REDIS_URL",
                "must start with redis://, rediss://, redis+unix:// or unix://",
            );
        }
        if let Some(url) = &self.database_read_url {
            let postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
            if !postgres(url) || !postgres(&self.database_url) {
                return bad(
                    "DATABASE_READ_URL",
                    "needs a PostgreSQL primary and a postgres:// replica URL",
                );
            }
        }
        if !(self.read_max_lag_seconds.is_finite() && self.read_max_lag_seconds >= 0.0) {
            return bad("READ_MAX_LAG_SECONDS", "must be a number of seconds ≥ 0");
        }
        if self.rate_limit_redis_prefix.is_empty() {
            return bad("RATE_LIMIT_REDIS_PREFIX", "must not be empty");
        }
        let policy = match self.outbound_policy() {
            Ok(p) => p,
            Err(e) => return bad("OUTBOUND_ALLOWED_HOSTS", &e),
        };
        if let Some(url) = &self.automation_server_url
            && let Err(e) = policy.check_url(url)
        {
            return bad("AUTOMATION_SERVER_URL", &e);
        }
        if !(10..=60_000).contains(&self.dispatch_poll_millis) {
            return bad("DISPATCH_POLL_MILLIS", "must be between 10 and 60000");
        }
        if self.stuck_events_interval_seconds == 0 {
            return bad("STUCK_EVENTS_INTERVAL_SECONDS", "must be at least 1 second");
        }
        Ok(())
    }
}
