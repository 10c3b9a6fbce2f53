use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{HttpServer, web};
use procdash_api::{AppState, ServiceInfo, app};
use procdash_persistence::{DatabaseConnection, DbConfig, connect, migrate};

use crate::settings::Settings;

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
}

/// A started server: where it listens, and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub server: Server,
    pub handle: ServerHandle,
    pub db: DatabaseConnection,
}

pub fn db_config(settings: &Settings) -> DbConfig {
    let mut config = DbConfig::new(settings.database_url.clone());
    config.max_connections = settings.database_max_connections;
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

/// Opens the database, applies migrations unless told not to, and binds the server. The returned
/// server future must be awaited (or spawned) to serve.
pub async fn start(settings: &Settings, run_migrations: bool) -> Result<Running, StartError> {
    let db = open_database(settings, run_migrations).await?;
    let mut info = ServiceInfo::new(
        &settings.app_name,
        &settings.environment,
        &settings.api_v1_prefix,
    );
    info.max_body_bytes = settings.max_body_bytes;
    let state = web::Data::new(AppState::new(db.clone(), info));
    let addr = format!("{}:{}", settings.host, settings.port);
    let mut http = HttpServer::new(move || app(state.clone()))
        .shutdown_timeout(settings.shutdown_timeout_seconds);
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
    })
}

/// Serves until SIGINT/SIGTERM, then lets in-flight requests finish and closes the pool.
pub async fn serve(
    settings: &Settings,
    run_migrations: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let running = start(settings, run_migrations).await?;
    tracing::info!(addr = %running.addr, database = %crate::settings::redact_url(&settings.database_url), "procdash listening");
    running.server.await?;
    tracing::info!("server stopped; closing the database pool");
    let _ = tokio::time::timeout(Duration::from_secs(5), running.db.close()).await;
    Ok(())
}
