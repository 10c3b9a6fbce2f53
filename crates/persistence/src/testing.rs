//! Throw-away databases for tests: SQLite in a temporary folder, or a uniquely named database on
//! the PostgreSQL server named by `TEST_POSTGRES_URL` (created here, dropped when done).

use sea_orm::{ConnectionTrait, Database};

use crate::{DatabaseConnection, DbConfig, connect, migrate};

pub const POSTGRES_ENV: &str = "TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates an empty database. Panics with a clear message when TEST_POSTGRES_URL is set and
    /// the server cannot be reached: a PostgreSQL run must never silently fall back to SQLite.
    pub async fn create() -> Self {
        match std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) {
            Some(admin_url) => Self::postgres(admin_url).await,
            None => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let url = format!("sqlite://{}/procdash-test.db", dir.path().display());
        Self {
            url,
            _sqlite_dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!("procdash_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url.as_str())
            .await
            .unwrap_or_else(|e| {
                panic!("{POSTGRES_ENV} is set but PostgreSQL at {admin_url} is unreachable: {e}")
            });
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        let url = replace_database(&admin_url, &name);
        Self {
            url,
            _sqlite_dir: None,
            postgres: Some((admin_url, name)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A migrated pool on this database.
    pub async fn connect_migrated(&self) -> DatabaseConnection {
        let mut config = DbConfig::new(self.url.clone());
        config.max_connections = 8;
        let db = connect(&config)
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.url));
        migrate(&db)
            .await
            .unwrap_or_else(|e| panic!("cannot migrate {}: {e}", self.url));
        db
    }
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime we may block, so use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(admin_url.as_str()).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let result = admin.execute_unprepared(&sql).await;
                let _ = admin.close().await;
                result.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop a PostgreSQL test database");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "t"),
            "postgres://u@h/t?sslmode=disable"
        );
    }
}
