use std::net::IpAddr;
use std::time::Instant;

use procdash_persistence::DatabaseConnection;

use crate::aggregate_cache::AggregateCache;
use crate::auth::rate_limit::{RateLimitConfig, RateLimitStore, RedisStoreSettings};
use crate::auth::{KeyStore, TokenService};
use crate::request_log::RequestLogSink;
use procdash_persistence::replica::ReadHandle;

/// Facts about this deployment that the API reports.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub name: String,
    pub version: String,
    pub environment: String,
    /// Prefix of the versioned API, e.g. `/api/v1`.
    pub prefix: String,
    pub max_body_bytes: usize,
    /// BULK_MAX_ITEMS: most rows or reports in one bulk request.
    pub bulk_max_items: usize,
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
            bulk_max_items: 10_000,
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
    /// Keep allowances in Redis, shared by every instance (RATE_LIMIT_STORE=redis).
    pub rate_limit_redis: Option<RedisStoreSettings>,
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
    /// The primary: every write, and every read that follows a write.
    pub db: DatabaseConnection,
    /// Replica-safe reads (lists, search, dashboards, KPIs, exports, histories): use [`Self::read_db`].
    pub reads: ReadHandle,
    pub info: ServiceInfo,
    pub security: SecuritySettings,
    pub keys: KeyStore,
    pub tokens: Option<TokenService>,
    /// Web dashboard sessions, signed with SECRET_KEY or a random per-process key.
    pub sessions: crate::auth::session::SessionService,
    pub limiter: Option<RateLimitStore>,
    pub request_log: RequestLogSink,
    pub lifecycle: LifecycleSettings,
    /// The late/stuck rule and its per-process limits, cached briefly.
    pub health: crate::health::HealthService,
    /// OUTBOUND_ALLOWED_HOSTS and AUTOMATION_SERVER_URL, for rerun and webhook targets.
    pub dispatch: procdash_persistence::repo::reruns::DispatchTargets,
    pub idempotency: crate::idempotency::IdempotencySettings,
    /// The live change feed of this instance.
    pub events: crate::events::EventHub,
    /// Computed dashboards, reused while the data version stands (DASHBOARD_CACHE_SECONDS).
    pub aggregates: Aggregates,
    pub started: Instant,
}

/// The aggregates kept by [`crate::aggregate_cache`]; the default TTL is 5 seconds.
pub struct Aggregates {
    pub overview: AggregateCache<crate::dto::dashboards::Overview>,
    pub process_dashboards: AggregateCache<crate::dto::dashboards::ProcessDashboard>,
    /// Searchable fields per process and access (admin or not).
    pub fields: AggregateCache<crate::dto::fields::SearchableFieldsResponse>,
}

impl Aggregates {
    pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            overview: AggregateCache::new(ttl),
            process_dashboards: AggregateCache::new(ttl),
            fields: AggregateCache::new(ttl),
        }
    }
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
        let limiter = security
            .rate_limit
            .map(|c| RateLimitStore::new(c, security.rate_limit_redis.as_ref()));
        let sessions =
            crate::auth::session::SessionService::new(security.session_secret.as_deref());
        if sessions.ephemeral {
            tracing::warn!(
                "SECRET_KEY is unset: web sessions are signed with a random per-process key and end when this process stops"
            );
        }
        Self {
            keys: KeyStore::new(db.clone()),
            reads: ReadHandle::primary_only(db.clone()),
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
            aggregates: Aggregates::new(Aggregates::DEFAULT_TTL),
            started: Instant::now(),
        }
    }

    /// Sends replica-safe reads through `reads` (a read replica).
    pub fn with_reads(mut self, reads: ReadHandle) -> Self {
        self.reads = reads;
        self
    }

    /// Where a replica-safe read goes now: the replica while it is up and within the allowed
    /// lag, else the primary.
    pub fn read_db(&self) -> &DatabaseConnection {
        self.reads.conn()
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

    /// How long a computed dashboard may be reused at an unchanged data version; zero never.
    pub fn with_aggregate_cache(mut self, ttl: std::time::Duration) -> Self {
        self.aggregates = Aggregates::new(ttl);
        self
    }

    pub fn with_lifecycle(mut self, lifecycle: LifecycleSettings) -> Self {
        self.lifecycle = lifecycle;
        self
    }
}
