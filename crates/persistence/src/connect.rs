use std::path::Path;
use std::time::Duration;

use procdash_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// How to reach the database; built by the server from its config.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub sqlite_busy_timeout: Duration,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the pool. SQLite gets WAL, a busy timeout and foreign keys, and its folder is created.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::from_url(&config.url).ok_or_else(|| {
        DbErr::Custom("DATABASE_URL must start with sqlite:, postgres:// or postgresql://".into())
    })?;
    if backend == Backend::Sqlite {
        create_sqlite_folder(&config.url)?;
    }
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .sqlx_logging(false);
    let busy = config.sqlite_busy_timeout;
    options.map_sqlx_sqlite_opts(move |o| {
        o.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy)
            .foreign_keys(true)
    });
    Database::connect(options).await
}

fn create_sqlite_folder(url: &str) -> Result<(), DbErr> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create database folder {}: {e}",
                dir.display()
            ))
        }),
        _ => Ok(()),
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// A cheap round trip used by the health check.
pub async fn ping(db: &DatabaseConnection) -> bool {
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), "SELECT 1");
    db.execute_raw(stmt).await.is_ok()
}

pub fn backend_of(db: &DatabaseConnection) -> Backend {
    match db.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_read_from_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/x.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
    }
}
