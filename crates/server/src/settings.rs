//! Configuration: built-in defaults < `procdash.toml` < environment variables (the seed's names).

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every environment variable procdash reads, lowercased as keys of [`Settings`].
pub const ENV_KEYS: [&str; 62] = [
    "DATABASE_READ_URL",
    "READ_MAX_LAG_SECONDS",
    "RATE_LIMIT_STORE",
    "REDIS_URL",
    "RATE_LIMIT_REDIS_PREFIX",
    "SQLITE_BUSY_TIMEOUT_MS",
    "OUTBOUND_ALLOWED_HOSTS",
    "AUTOMATION_SERVER_URL",
    "AUTOMATION_SERVER_TOKEN",
    "DISPATCH_POLL_MILLIS",
    "STUCK_EVENTS_INTERVAL_SECONDS",
    "BULK_MAX_ITEMS",
    "IDEMPOTENCY_TTL_HOURS",
    "EVENTS_RETENTION_MINUTES",
    "EVENTS_HEARTBEAT_SECONDS",
    "EVENTS_MAX_CONNECTIONS_PER_KEY",
    "EVENTS_POLL_MILLIS",
    "SEARCH_ALL_META",
    "HEALTH_CACHE_SECONDS",
    "DASHBOARD_CACHE_SECONDS",
    "STUCK_FACTOR",
    "STUCK_MIN_SECONDS",
    "LATE_AFTER_SECONDS",
    "KPI_INTERVAL_SECONDS",
    "AUTO_NEUTRALIZE",
    "AUTO_NEUTRALIZE_BATCH",
    "NEUTRALIZE_KEEP_FIELDS",
    "AUDIT_RETENTION_MONTHS",
    "NEUTRALIZE_INTERVAL_SECONDS",
    "ARCHIVE_INTERVAL_SECONDS",
    "PURGE_INTERVAL_SECONDS",
    "SEAL_INTERVAL_SECONDS",
    "INSTANCE_ID",
    "MAX_RESTORE_BYTES",
    "SECRET_KEY",
    "TOKENS_ENABLED",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "RATE_LIMIT_ENABLED",
    "RATE_LIMIT_REQUESTS",
    "RATE_LIMIT_PERIOD",
    "RATE_LIMIT_ADMIN_REQUESTS",
    "CORS_ORIGINS",
    "HSTS_ENABLED",
    "TRUSTED_PROXIES",
    "REQUEST_LOG_RETENTION_DAYS",
    "REQUEST_LOG_BUFFER",
    "BOOTSTRAP_ADMIN_KEY",
    "USAGE_FLUSH_SECONDS",
    "DATABASE_URL",
    "DATABASE_MAX_CONNECTIONS",
    "HOST",
    "PORT",
    "WORKERS",
    "DEBUG",
    "ENVIRONMENT",
    "API_V1_PREFIX",
    "LOG_LEVEL",
    "LOG_FILE",
    "LOG_FORMAT",
    "MAX_BODY_BYTES",
    "APP_NAME",
    "SHUTDOWN_TIMEOUT_SECONDS",
];

/// Where rate-limit allowances are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitStoreKind {
    /// Per instance.
    Memory,
    /// In Redis at REDIS_URL, shared by every instance.
    Redis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: String,
    pub database_max_connections: u32,
    /// A streaming replica of the PostgreSQL primary for lists, search, dashboards, KPIs, exports
    /// and histories. Secret when it carries a password: shown redacted.
    pub database_read_url: Option<String>,
    /// A replica lagging more than this sends reads back to the primary.
    pub read_max_lag_seconds: f64,
    /// How long a SQLite writer of another process (the CLI) waits for the lock. The server's own
    /// writers queue in-process at the write gate and never reach the busy handler.
    pub sqlite_busy_timeout_ms: u64,
    pub host: String,
    pub port: u16,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    pub debug: bool,
    pub environment: String,
    pub api_v1_prefix: String,
    pub log_level: String,
    pub log_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// Most runs or step reports in one bulk request.
    pub bulk_max_items: usize,
    pub app_name: String,
    pub shutdown_timeout_seconds: u64,
    /// Signs bearer tokens. Secret: never logged or printed.
    pub secret_key: Option<String>,
    /// Tokens on or off; unset means on exactly when SECRET_KEY is set.
    pub tokens_enabled: Option<bool>,
    pub access_token_expire_minutes: i64,
    pub rate_limit_enabled: bool,
    pub rate_limit_requests: u32,
    pub rate_limit_period: u64,
    pub rate_limit_admin_requests: u32,
    pub rate_limit_store: RateLimitStoreKind,
    /// Redis for shared rate limits. Secret when it carries a password: shown redacted.
    pub redis_url: String,
    /// Prefix of the rate-limit keys in Redis.
    pub rate_limit_redis_prefix: String,
    /// Comma-separated list or JSON array of origins; "*" only when set explicitly.
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: String,
    pub hsts_enabled: bool,
    /// Comma-separated list or JSON array of proxy IPs whose X-Forwarded-For is honoured.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: String,
    pub request_log_retention_days: i64,
    pub request_log_buffer: usize,
    /// Becomes an admin key at start when no key exists yet. Secret.
    pub bootstrap_admin_key: Option<String>,
    pub usage_flush_seconds: u64,
    /// Neutralize due runs automatically.
    pub auto_neutralize: bool,
    pub auto_neutralize_batch: u64,
    /// Metadata keys kept by neutralization (comma-separated or JSON array).
    #[serde(deserialize_with = "string_or_list")]
    pub neutralize_keep_fields: String,
    /// Change-log rows older than this move to the archive table.
    pub audit_retention_months: u32,
    pub neutralize_interval_seconds: u64,
    pub archive_interval_seconds: u64,
    pub purge_interval_seconds: u64,
    pub seal_interval_seconds: u64,
    /// Interval of the `kpi_rollups` job (1..=10 seconds).
    pub kpi_interval_seconds: u64,
    /// Names this instance in job claims; random when unset.
    pub instance_id: Option<String>,
    pub max_restore_bytes: usize,
    /// Lets `GET /runs/search` without process_id look into every process's metadata.
    pub search_all_meta: bool,
    /// A running run is stuck after its process's p95 completion time × this.
    pub stuck_factor: f64,
    /// ... but never before this many seconds.
    pub stuck_min_seconds: u64,
    /// A pending run is late after this many seconds.
    pub late_after_seconds: u64,
    /// How long the per-process stuck limits are reused; 0 computes them on every request.
    pub health_cache_seconds: u64,
    /// How long a computed overview or process dashboard is reused while no audited write has
    /// happened since; 0 computes them on every request.
    pub dashboard_cache_seconds: u64,
    /// Hosts reruns and webhooks may call: exact hosts or `.suffix` entries (comma-separated or
    /// a JSON array). Private, loopback and link-local addresses need an exact entry.
    #[serde(deserialize_with = "string_or_list")]
    pub outbound_allowed_hosts: String,
    /// Base URL of the automation server the `automation_server` rerun adapter calls.
    pub automation_server_url: Option<String>,
    /// Bearer token for the automation server. Secret: never logged or printed.
    pub automation_server_token: Option<String>,
    /// How often the dispatcher looks for due deliveries, in milliseconds.
    pub dispatch_poll_millis: u64,
    /// Interval of the `stuck_events` job that raises run.stuck webhook events.
    pub stuck_events_interval_seconds: u64,
    /// How long a POST's Idempotency-Key replays its first response (1..=720 hours).
    pub idempotency_ttl_hours: u32,
    /// How far back `GET /events` replays after a reconnect (Last-Event-ID).
    pub events_retention_minutes: u32,
    /// Interval of the keep-alive comment on an idle event stream.
    pub events_heartbeat_seconds: u64,
    /// Open event streams allowed per API key; one more is a 429.
    pub events_max_connections_per_key: usize,
    /// How often the event poller reads the change log when no notification wakes it.
    pub events_poll_millis: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/procdash.db".to_owned(),
            database_max_connections: 10,
            database_read_url: None,
            read_max_lag_seconds: 5.0,
            sqlite_busy_timeout_ms: 10_000,
            host: "127.0.0.1".to_owned(),
            port: 8000,
            workers: 0,
            debug: false,
            environment: "production".to_owned(),
            api_v1_prefix: "/api/v1".to_owned(),
            log_level: "info".to_owned(),
            log_file: None,
            log_format: LogFormat::Text,
            max_body_bytes: 1024 * 1024,
            bulk_max_items: 10_000,
            app_name: "procdash".to_owned(),
            shutdown_timeout_seconds: 30,
            secret_key: None,
            tokens_enabled: None,
            access_token_expire_minutes: 30,
            rate_limit_enabled: true,
            rate_limit_requests: 6000,
            rate_limit_period: 60,
            rate_limit_admin_requests: 30000,
            rate_limit_store: RateLimitStoreKind::Memory,
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            rate_limit_redis_prefix: "procdash".to_owned(),
            cors_origins: String::new(),
            hsts_enabled: false,
            trusted_proxies: String::new(),
            request_log_retention_days: 90,
            request_log_buffer: 10_000,
            bootstrap_admin_key: None,
            usage_flush_seconds: 5,
            auto_neutralize: false,
            auto_neutralize_batch: 100,
            neutralize_keep_fields: procdash_domain::lifecycle::DEFAULT_KEEP_FIELDS.join(","),
            audit_retention_months: 12,
            neutralize_interval_seconds: 3600,
            archive_interval_seconds: 3600,
            purge_interval_seconds: 3600,
            seal_interval_seconds: 5,
            kpi_interval_seconds: 5,
            instance_id: None,
            max_restore_bytes: 1024 * 1024 * 1024,
            search_all_meta: false,
            stuck_factor: 3.0,
            stuck_min_seconds: 600,
            late_after_seconds: 900,
            health_cache_seconds: 30,
            dashboard_cache_seconds: 5,
            outbound_allowed_hosts: String::new(),
            automation_server_url: None,
            automation_server_token: None,
            dispatch_poll_millis: 1000,
            stuck_events_interval_seconds: 60,
            idempotency_ttl_hours: 24,
            events_retention_minutes: 60,
            events_heartbeat_seconds: 15,
            events_max_connections_per_key: 5,
            events_poll_millis: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Defaults, then the TOML file (if given or present as ./procdash.toml), then environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(SettingsError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("procdash.toml").exists() => {
                figment = figment.merge(Toml::file_exact("procdash.toml"));
            }
            None => {}
        }
        figment = figment.merge(
            Env::raw()
                .only(&ENV_KEYS)
                .map(|k| k.as_str().to_lowercase().into()),
        );
        let settings: Settings = figment
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// OUTBOUND_ALLOWED_HOSTS parsed.
    pub fn outbound_policy(&self) -> Result<procdash_domain::outbound::OutboundPolicy, String> {
        procdash_domain::outbound::OutboundPolicy::new(&parse_list(&self.outbound_allowed_hosts)?)
    }

    /// The config as TOML, with secrets redacted, for `procdash config`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = redact_url(&self.database_url);
        shown.redis_url = redact_url(&self.redis_url);
        shown.database_read_url = self.database_read_url.as_deref().map(redact_url);
        shown.secret_key = self.secret_key.as_ref().map(|_| "***".to_owned());
        shown.bootstrap_admin_key = self.bootstrap_admin_key.as_ref().map(|_| "***".to_owned());
        shown.automation_server_token = self
            .automation_server_token
            .as_ref()
            .map(|_| "***".to_owned());
        toml_string(&shown)
    }
}

fn toml_string(settings: &Settings) -> String {
    // Every field is a scalar, so a line per field is valid TOML.
    let value = serde_json::to_value(settings).unwrap_or_default();
    let mut out = String::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            if !v.is_null() {
                out.push_str(&format!("{k} = {v}\n"));
            }
        }
    }
    out
}

/// List settings arrive as a string (comma-separated or a JSON array) or, from TOML or an
/// environment value that figment reads as an array, as a sequence.
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(s) => s,
        Raw::Many(items) => serde_json::to_string(&items).unwrap_or_default(),
    })
}

/// A comma-separated list or a JSON array of strings.
pub fn parse_list(raw: &str) -> Result<Vec<String>, String> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(raw)
            .map_err(|e| format!("is not a JSON array of strings: {e}"));
    }
    Ok(raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Hides the password of a database URL, in the user info and in a `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let redacted = redact_userinfo(url);
    match redacted.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => redacted,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_redacted_toml())
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail closures return its large error type"
)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_match_the_documentation() {
        let s = Settings::default();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8000));
        assert_eq!(s.database_url, "sqlite://data/procdash.db");
        assert_eq!(s.api_v1_prefix, "/api/v1");
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file("procdash.toml", "port = 9000\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("PORT", "9100");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.port, 9100);
            assert_eq!(s.host, "0.0.0.0");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_its_key() {
        Jail::expect_with(|jail| {
            jail.set_env("PORT", "eighty");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("PORT"), "{err}");
            jail.set_env("PORT", "80");
            jail.set_env("API_V1_PREFIX", "api");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("API_V1_PREFIX"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        Jail::expect_with(|jail| {
            jail.create_file("procdash.toml", "prot = 9000\n")?;
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn lists_are_comma_separated_or_json() {
        assert_eq!(parse_list("a, b").unwrap(), ["a", "b"]);
        assert_eq!(
            parse_list(r#"["http://x","http://y"]"#).unwrap(),
            ["http://x", "http://y"]
        );
        assert!(parse_list("[oops").is_err());
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn list_settings_accept_json_arrays_from_the_environment_and_toml() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "CORS_ORIGINS",
                r#"["https://a.example","https://b.example"]"#,
            );
            jail.set_env("TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2");
            jail.create_file(
                "procdash.toml",
                "neutralize_keep_fields = [\"region\", \"clinic\"]\n",
            )?;
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                parse_list(&s.cors_origins).unwrap(),
                ["https://a.example", "https://b.example"]
            );
            assert_eq!(
                parse_list(&s.trusted_proxies).unwrap(),
                ["10.0.0.1", "10.0.0.2"]
            );
            assert_eq!(
                parse_list(&s.neutralize_keep_fields).unwrap(),
                ["region", "clinic"]
            );
            Ok(())
        });
    }

    #[test]
    fn tokens_require_a_secret_outside_debug() {
        Jail::expect_with(|jail| {
            jail.set_env("TOKENS_ENABLED", "true");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("SECRET_KEY"), "{err}");
            jail.set_env("DEBUG", "true");
            assert!(Settings::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Settings {
            secret_key: Some("k".repeat(40)),
            bootstrap_admin_key: Some("pd_boot".into()),
            automation_server_token: Some("as-token-secret".into()),
            ..Settings::default()
        };
        let shown = s.to_redacted_toml();
        assert!(
            !shown.contains(&"k".repeat(40))
                && !shown.contains("pd_boot")
                && !shown.contains("as-token-secret"),
            "{shown}"
        );
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/pd"),
            "postgres://app:***@db:5432/pd"
        );
        assert_eq!(
            redact_url("postgres://db/pd?user=a&password=s3cret"),
            "postgres://db/pd?user=a&password=***"
        );
        let s = Settings {
            database_url: "postgres://app:s3cret@db/pd".into(),
            ..Settings::default()
        };
        assert!(!s.to_redacted_toml().contains("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
