use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use procdash_api::auth::rate_limit::{RateLimitConfig, RedisStoreSettings};
use procdash_api::request_log::{RequestLogSink, run_writer};
use procdash_api::{AppState, LifecycleSettings, SecuritySettings, ServiceInfo, app};
use procdash_domain::api_key::NewApiKey;
use procdash_persistence::replica::ReadHandle;
use procdash_persistence::repo::api_keys;
use procdash_persistence::{Actor, DatabaseConnection, DbConfig, connect, migrate};

use crate::jobs;
use crate::settings::{RateLimitStoreKind, Settings, parse_list};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Database(String),
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// A started server: where it listens, and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub server: Server,
    pub handle: ServerHandle,
    pub db: DatabaseConnection,
    pub state: web::Data<AppState>,
    /// How often this instance ran each coordinated job.
    pub job_counts: std::sync::Arc<jobs::JobCounts>,
    /// Tells the request-log writer to write what is buffered and stop.
    pub stop_log: tokio::sync::watch::Sender<bool>,
    pub log_writer: tokio::task::JoinHandle<()>,
    /// The outbox dispatcher; abort it to stop sending.
    pub dispatcher: tokio::task::AbortHandle,
}

pub fn db_config(settings: &Settings) -> DbConfig {
    let mut config = DbConfig::new(settings.database_url.clone());
    config.max_connections = settings.database_max_connections;
    config.sqlite_busy_timeout = std::time::Duration::from_millis(settings.sqlite_busy_timeout_ms);
    config
}

pub async fn open_database(
    settings: &Settings,
    run_migrations: bool,
) -> Result<DatabaseConnection, StartError> {
    let db = connect(&db_config(settings))
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    if run_migrations {
        migrate(&db)
            .await
            .map_err(|e| StartError::Migrate(e.to_string()))?;
    }
    Ok(db)
}

fn security(settings: &Settings) -> Result<SecuritySettings, StartError> {
    let tokens_on = settings
        .tokens_enabled
        .unwrap_or(settings.secret_key.is_some());
    let secret_key = match (&settings.secret_key, tokens_on) {
        (_, false) => None,
        (Some(key), true) => Some(key.as_bytes().to_vec()),
        (None, true) if settings.debug => {
            tracing::warn!(
                "DEBUG: tokens are signed with a random per-process secret; they die with this process"
            );
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| StartError::Config(format!("no randomness: {e}")))?;
            Some(secret)
        }
        (None, true) => {
            return Err(StartError::Config(
                "SECRET_KEY is required when tokens are enabled".into(),
            ));
        }
    };
    let trusted_proxies = parse_list(&settings.trusted_proxies)
        .map_err(StartError::Config)?
        .iter()
        .map(|p| {
            p.parse()
                .map_err(|_| StartError::Config(format!("TRUSTED_PROXIES: {p} is not an IP")))
        })
        .collect::<Result<_, _>>()?;
    Ok(SecuritySettings {
        secret_key,
        token_minutes: settings.access_token_expire_minutes,
        session_secret: settings.secret_key.as_ref().map(|k| k.as_bytes().to_vec()),
        rate_limit: settings.rate_limit_enabled.then_some(RateLimitConfig {
            requests: settings.rate_limit_requests,
            period: Duration::from_secs(settings.rate_limit_period),
            admin_requests: settings.rate_limit_admin_requests,
        }),
        rate_limit_redis: (settings.rate_limit_store == RateLimitStoreKind::Redis).then(|| {
            RedisStoreSettings {
                url: settings.redis_url.clone(),
                prefix: settings.rate_limit_redis_prefix.clone(),
            }
        }),
        cors_origins: parse_list(&settings.cors_origins).map_err(StartError::Config)?,
        hsts: settings.hsts_enabled,
        trusted_proxies,
    })
}

/// Makes BOOTSTRAP_ADMIN_KEY an admin key when no key exists yet. The value is never logged.
async fn bootstrap_admin(db: &DatabaseConnection, settings: &Settings) -> Result<(), StartError> {
    let Some(key) = settings.bootstrap_admin_key.as_deref() else {
        return Ok(());
    };
    let existing = api_keys::count(db)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    if existing > 0 {
        return Ok(());
    }
    if key.len() < 32 {
        return Err(StartError::Config(
            "BOOTSTRAP_ADMIN_KEY must be at least 32 characters".into(),
        ));
    }
    let new = NewApiKey::new(
        "bootstrap admin",
        Some("created from BOOTSTRAP_ADMIN_KEY"),
        "admin",
        None,
    )
    .map_err(|e| StartError::Config(e.to_string()))?;
    match api_keys::create_with_plaintext(db, &Actor::system("bootstrap"), new, key).await {
        Ok(_) => tracing::info!("bootstrap admin key created from BOOTSTRAP_ADMIN_KEY"),
        // Another instance starting at the same moment stored the same key first.
        Err(procdash_persistence::PersistenceError::Conflict(_)) => {}
        Err(e) => return Err(StartError::Database(e.to_string())),
    }
    Ok(())
}

/// Replica-safe reads go to DATABASE_READ_URL when it is set (checked and measured every second).
async fn read_handle(
    db: &DatabaseConnection,
    settings: &Settings,
) -> Result<ReadHandle, StartError> {
    let Some(url) = settings.database_read_url.as_deref() else {
        return Ok(ReadHandle::primary_only(db.clone()));
    };
    ReadHandle::with_replica(
        db.clone(),
        url,
        settings.database_max_connections,
        Duration::from_secs_f64(settings.read_max_lag_seconds),
    )
    .await
    .map_err(|e| StartError::Database(format!("DATABASE_READ_URL: {e}")))
}

/// Opens the database, applies migrations unless told not to, starts the background jobs and
/// binds the server. The returned server future must be awaited (or spawned) to serve.
pub async fn start(settings: &Settings, run_migrations: bool) -> Result<Running, StartError> {
    procdash_api::panic_boundary::install_hook();
    let db = open_database(settings, run_migrations).await?;
    bootstrap_admin(&db, settings).await?;
    let mut info = ServiceInfo::new(
        &settings.app_name,
        &settings.environment,
        &settings.api_v1_prefix,
    );
    info.max_body_bytes = settings.max_body_bytes;
    info.bulk_max_items = settings.bulk_max_items;
    let (sink, rx) = RequestLogSink::new(settings.request_log_buffer);
    info.max_restore_bytes = settings.max_restore_bytes;
    info.search_all_meta = settings.search_all_meta;
    let lifecycle = LifecycleSettings {
        neutralize_keep_fields: jobs::keep_fields(settings),
    };
    let reads = read_handle(&db, settings).await?;
    let dispatch = procdash_persistence::repo::reruns::DispatchTargets {
        policy: settings.outbound_policy().map_err(StartError::Config)?,
        automation_server_url: settings.automation_server_url.clone(),
    };
    let state = web::Data::new(
        AppState::new(db.clone(), info, security(settings)?, sink)
            .with_reads(reads)
            .with_lifecycle(lifecycle)
            .with_dispatch(dispatch)
            .with_aggregate_cache(Duration::from_secs(settings.dashboard_cache_seconds))
            .with_events(procdash_api::events::EventSettings {
                retention: chrono::Duration::minutes(i64::from(settings.events_retention_minutes)),
                heartbeat: Duration::from_secs(settings.events_heartbeat_seconds),
                max_connections_per_key: settings.events_max_connections_per_key,
                poll_interval: Duration::from_millis(settings.events_poll_millis),
            })
            .with_idempotency(procdash_api::idempotency::IdempotencySettings {
                ttl: chrono::Duration::hours(i64::from(settings.idempotency_ttl_hours)),
                ..Default::default()
            })
            .with_health(
                procdash_domain::health::HealthSettings {
                    stuck_factor: settings.stuck_factor,
                    stuck_min_seconds: settings.stuck_min_seconds,
                    late_after_seconds: settings.late_after_seconds,
                },
                Duration::from_secs(settings.health_cache_seconds),
            ),
    );
    state.keys.follow_notices();
    let (stop_log, stop_log_rx) = tokio::sync::watch::channel(false);
    let log_writer = tokio::spawn(run_writer(rx, db.clone(), stop_log_rx));
    let job_counts = jobs::spawn_all(state.clone().into_inner(), settings);
    let dispatcher = crate::dispatcher::spawn(
        state.clone().into_inner(),
        crate::dispatcher::DispatchSettings {
            instance: jobs::job_settings(settings).instance,
            poll: Duration::from_millis(settings.dispatch_poll_millis),
            policy: settings.outbound_policy().map_err(StartError::Config)?,
            automation_token: settings
                .automation_server_token
                .clone()
                .map(crate::dispatcher::Secret::new),
            batch: 20,
        },
    );
    state.events.start(db.clone());
    let addr = format!("{}:{}", settings.host, settings.port);
    let app_state = state.clone();
    // Signals are handled in `serve`, so that SIGINT is as graceful as SIGTERM.
    let mut http = HttpServer::new(move || app(app_state.clone()).service(procdash_web::scope()))
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        .disable_signals();
    if settings.workers > 0 {
        http = http.workers(settings.workers);
    }
    let http = http.bind(&addr).map_err(|source| StartError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let bound = http
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartError::Bind {
            addr: addr.clone(),
            source: std::io::Error::other("no address bound"),
        })?;
    let server = http.run();
    let handle = server.handle();
    Ok(Running {
        addr: bound,
        server,
        handle,
        db,
        state,
        job_counts,
        stop_log,
        log_writer,
        dispatcher,
    })
}

/// Serves until SIGINT/SIGTERM, then lets in-flight requests finish, flushes usage counts and
/// closes the pool.
pub async fn serve(
    settings: &Settings,
    run_migrations: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let running = start(settings, run_migrations).await?;
    tracing::info!(addr = %running.addr, database = %crate::settings::redact_url(&settings.database_url), "procdash listening");
    let handle = running.handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
        handle.stop(true).await;
    });
    running.server.await?;
    tracing::info!("server stopped; flushing usage counts and closing the database pool");
    running.state.keys.flush_usage().await;
    let _ = running.stop_log.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), running.log_writer).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), running.db.close()).await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
