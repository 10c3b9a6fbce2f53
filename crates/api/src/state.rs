use std::net::IpAddr;
use std::time::Instant;

use procdash_persistence::DatabaseConnection;

use crate::auth::rate_limit::{Limiter, RateLimitConfig};
use crate::auth::{KeyStore, TokenService};
use crate::request_log::RequestLogSink;

/// Facts about this deployment that the API reports.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub name: String,
    pub version: String,
    pub environment: String,
    /// Prefix of the versioned API, e.g. `/api/v1`.
    pub prefix: String,
    pub max_body_bytes: usize,
    /// Largest database file accepted by the restore endpoint.
    pub max_restore_bytes: usize,
    /// SEARCH_ALL_META: search every process's metadata when no process_id is given.
    pub search_all_meta: bool,
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
            max_restore_bytes: 1024 * 1024 * 1024,
            search_all_meta: false,
        }
    }
}

/// Request governance settings, built by the server from its configuration.
#[derive(Debug, Clone, Default)]
pub struct SecuritySettings {
    /// Signing secret for bearer tokens; tokens are disabled without it.
    pub secret_key: Option<Vec<u8>>,
    pub token_minutes: i64,
    /// SECRET_KEY, for web sessions, whether or not tokens are enabled.
    pub session_secret: Option<Vec<u8>>,
    pub rate_limit: Option<RateLimitConfig>,
    /// Allowed CORS origins; `["*"]` allows any origin without credentials.
    pub cors_origins: Vec<String>,
    pub hsts: bool,
    pub trusted_proxies: Vec<IpAddr>,
}

/// Data lifecycle settings.
#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    /// Metadata keys a neutralized run keeps, unless its process overrides them.
    pub neutralize_keep_fields: Vec<String>,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            neutralize_keep_fields: procdash_domain::lifecycle::DEFAULT_KEEP_FIELDS
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

/// Shared by every handler.
pub struct AppState {
    pub db: DatabaseConnection,
    pub info: ServiceInfo,
    pub security: SecuritySettings,
    pub keys: KeyStore,
    pub tokens: Option<TokenService>,
    /// Web dashboard sessions, signed with SECRET_KEY or a random per-process key.
    pub sessions: crate::auth::session::SessionService,
    pub limiter: Option<Limiter>,
    pub request_log: RequestLogSink,
    pub lifecycle: LifecycleSettings,
    /// The late/stuck rule and its per-process limits, cached briefly.
    pub health: crate::health::HealthService,
    /// OUTBOUND_ALLOWED_HOSTS and AUTOMATION_SERVER_URL, for rerun and webhook targets.
    pub dispatch: procdash_persistence::repo::reruns::DispatchTargets,
    pub idempotency: crate::idempotency::IdempotencySettings,
    /// The live change feed of this instance.
    pub events: crate::events::EventHub,
    pub started: Instant,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        info: ServiceInfo,
        security: SecuritySettings,
        request_log: RequestLogSink,
    ) -> Self {
        let tokens = security
            .secret_key
            .as_deref()
            .map(|s| TokenService::new(s, security.token_minutes));
        let limiter = security.rate_limit.map(Limiter::new);
        let sessions =
            crate::auth::session::SessionService::new(security.session_secret.as_deref());
        if sessions.ephemeral {
            tracing::warn!(
                "SECRET_KEY is unset: web sessions are signed with a random per-process key and end when this process stops"
            );
        }
        Self {
            keys: KeyStore::new(db.clone()),
            db,
            info,
            security,
            tokens,
            sessions,
            limiter,
            request_log,
            lifecycle: LifecycleSettings::default(),
            health: crate::health::HealthService::default(),
            dispatch: procdash_persistence::repo::reruns::DispatchTargets::default(),
            idempotency: crate::idempotency::IdempotencySettings::default(),
            events: crate::events::EventHub::new(crate::events::EventSettings::default()),
            started: Instant::now(),
        }
    }

    pub fn with_health(
        mut self,
        settings: procdash_domain::health::HealthSettings,
        cache_for: std::time::Duration,
    ) -> Self {
        self.health = crate::health::HealthService::new(settings, cache_for);
        self
    }

    pub fn with_dispatch(
        mut self,
        dispatch: procdash_persistence::repo::reruns::DispatchTargets,
    ) -> Self {
        self.dispatch = dispatch;
        self
    }

    pub fn with_idempotency(mut self, settings: crate::idempotency::IdempotencySettings) -> Self {
        self.idempotency = settings;
        self
    }

    pub fn with_events(mut self, settings: crate::events::EventSettings) -> Self {
        self.events = crate::events::EventHub::new(settings);
        self
    }

    pub fn with_lifecycle(mut self, lifecycle: LifecycleSettings) -> Self {
        self.lifecycle = lifecycle;
        self
    }
}
