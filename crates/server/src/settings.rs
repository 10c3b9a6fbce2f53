//! Configuration: built-in defaults < `procdash.toml` < environment variables (the seed's names).

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every environment variable procdash reads, lowercased as keys of [`Settings`].
pub const ENV_KEYS: [&str; 14] = [
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
    pub app_name: String,
    pub shutdown_timeout_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/procdash.db".to_owned(),
            database_max_connections: 10,
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
            app_name: "procdash".to_owned(),
            shutdown_timeout_seconds: 30,
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

    fn validate(&self) -> Result<(), SettingsError> {
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
        if self.max_body_bytes == 0 {
            return bad("MAX_BODY_BYTES", "must be greater than 0");
        }
        if self.database_max_connections == 0 {
            return bad("DATABASE_MAX_CONNECTIONS", "must be greater than 0");
        }
        Ok(())
    }

    /// The config as TOML, with secrets redacted, for `procdash config`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = redact_url(&self.database_url);
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

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
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
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/pd"),
            "postgres://app:***@db:5432/pd"
        );
        let s = Settings {
            database_url: "postgres://app:s3cret@db/pd".into(),
            ..Settings::default()
        };
        assert!(!s.to_redacted_toml().contains("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
