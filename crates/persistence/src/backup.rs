//! SQLite backup and restore, and table dumps for export.

use std::collections::BTreeMap;
use std::path::Path;

use sea_orm::sqlx::{self, Row};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::PersistenceError;

/// Every table in restore order: parents before children.
pub const TABLES: [&str; 12] = [
    "processes",
    "process_steps",
    "process_runs",
    "step_runs",
    "webhooks",
    "outbox",
    "api_keys",
    "change_log",
    "change_log_archive",
    "request_logs",
    "job_runs",
    "seaql_migrations",
];

fn quoted_path(path: &Path) -> String {
    path.display().to_string().replace('\'', "''")
}

fn sqlite_only(db: &DatabaseConnection) -> Result<(), PersistenceError> {
    match db.get_database_backend() {
        DbBackend::Sqlite => Ok(()),
        _ => Err(PersistenceError::Unsupported("online backup and restore exist for SQLite only; use pg_dump and pg_restore for PostgreSQL (docs/operations.md)".into())),
    }
}

/// A consistent copy of the live database, written while it serves (VACUUM INTO).
pub async fn backup_to(db: &DatabaseConnection, path: &Path) -> Result<(), PersistenceError> {
    sqlite_only(db)?;
    let sql = format!("VACUUM INTO '{}'", quoted_path(path));
    db.execute_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?;
    Ok(())
}

/// What an uploaded database file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub integrity_ok: Option<bool>,
    pub schema_version: String,
    pub schema_matches: bool,
    pub tables: BTreeMap<String, u64>,
}

async fn migrations(
    conn: &mut sqlx::SqliteConnection,
    schema: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {schema}.seaql_migrations ORDER BY version"
    )))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
}

fn invalid(message: impl Into<String>) -> PersistenceError {
    PersistenceError::Invalid(procdash_domain::DomainError::field("file", message))
}

/// Attaches the file read-only next to the live database and checks it: SQLite header,
/// optional integrity check, and the same migrations as the live schema.
pub async fn inspect(
    db: &DatabaseConnection,
    path: &Path,
    integrity: bool,
) -> Result<Inspection, PersistenceError> {
    sqlite_only(db)?;
    let mut header = [0u8; 16];
    let read =
        std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if read.is_err() || &header != b"SQLite format 3\0" {
        return Err(invalid("is not an SQLite database"));
    }
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(db_err)?
        // Out of the pool: if this future is dropped mid-way, closing the connection rolls
        // back and detaches, and no pooled connection is left inside a write transaction.
        .detach();
    let attach = format!(
        "ATTACH DATABASE 'file:{}?mode=ro' AS src",
        quoted_path(path)
    );
    sqlx::query(sqlx::AssertSqlSafe(attach.clone()))
        .execute(&mut conn)
        .await
        .map_err(|e| invalid(format!("cannot open the upload: {e}")))?;
    let result = inspect_attached(&mut conn, integrity).await;
    let _ = sqlx::query("DETACH DATABASE src").execute(&mut conn).await;
    result
}

async fn inspect_attached(
    conn: &mut sqlx::SqliteConnection,
    integrity: bool,
) -> Result<Inspection, PersistenceError> {
    let integrity_ok = if integrity {
        let row = sqlx::query("PRAGMA src.integrity_check")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| invalid(format!("integrity check failed: {e}")))?;
        Some(row.try_get::<String, _>(0).map_err(db_err)? == "ok")
    } else {
        None
    };
    let theirs = migrations(conn, "src")
        .await
        .map_err(|_| invalid("has no procdash schema"))?;
    let ours = migrations(conn, "main").await.map_err(db_err)?;
    let mut tables = BTreeMap::new();
    for table in TABLES {
        let count = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM src.{table}"
        )))
        .fetch_one(&mut *conn)
        .await;
        if let Ok(row) = count {
            tables.insert(
                table.to_owned(),
                u64::try_from(row.try_get::<i64, _>(0).unwrap_or(0)).unwrap_or(0),
            );
        }
    }
    Ok(Inspection {
        integrity_ok,
        schema_version: theirs.last().cloned().unwrap_or_default(),
        schema_matches: theirs == ours,
        tables,
    })
}

/// Replaces every table's contents with the file's, in one transaction: a failure leaves the
/// live database as it was. The caller checked the file with [`inspect`] first.
pub async fn restore_from(db: &DatabaseConnection, path: &Path) -> Result<(), PersistenceError> {
    sqlite_only(db)?;
    // The restore is a writer like any other: it waits its turn at the write gate.
    let _permit = crate::tx::write_permit(db).await?;
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(db_err)?
        // Out of the pool: if this future is dropped mid-way, closing the connection rolls
        // back and detaches, and no pooled connection is left inside a write transaction.
        .detach();
    let attach = format!(
        "ATTACH DATABASE 'file:{}?mode=ro' AS src",
        quoted_path(path)
    );
    sqlx::query(sqlx::AssertSqlSafe(attach.clone()))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
    let result = copy_all(&mut conn).await;
    if result.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
    }
    let _ = sqlx::query("DETACH DATABASE src").execute(&mut conn).await;
    result
}

async fn copy_all(conn: &mut sqlx::SqliteConnection) -> Result<(), PersistenceError> {
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for table in TABLES.iter().rev() {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM main.{table}")))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO main.{table} SELECT * FROM src.{table}"
        )))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    // The KPI tables are derived from the runs: emptied, the KPI job refills them from the
    // restored runs (its watermark starts over).
    for table in crate::repo::kpis::DERIVED_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM main.{table}")))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("COMMIT")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

fn db_err(e: sqlx::Error) -> PersistenceError {
    PersistenceError::Database(sea_orm::DbErr::Custom(e.to_string()))
}

/// Tables an export contains, with the columns left out of each (secrets).
pub const EXPORTED: [(&str, &[&str]); 11] = [
    ("processes", &[]),
    ("process_steps", &[]),
    ("process_runs", &[]),
    ("step_runs", &[]),
    // The signing secret is returned once, at creation, and never again.
    ("webhooks", &["secret"]),
    ("outbox", &[]),
    ("api_keys", &["key_hash"]),
    ("change_log", &[]),
    ("change_log_archive", &[]),
    ("request_logs", &[]),
    ("job_runs", &[]),
];

async fn page_of<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    offset: u64,
    limit: u64,
) -> Result<(Vec<String>, Vec<serde_json::Value>), PersistenceError> {
    use sea_orm::{IdenStatic, Iterable, QueryOrder, QuerySelect};
    let columns = E::Column::iter().map(|c| c.as_str().to_owned()).collect();
    let rows = E::find()
        .order_by_asc(sea_orm::sea_query::Expr::col(
            sea_orm::sea_query::Alias::new("id"),
        ))
        .offset(offset)
        .limit(limit)
        .into_json()
        .all(db)
        .await?;
    Ok((columns, rows))
}

/// One page of a table as JSON rows, id ascending, with the table's column names.
pub async fn table_page(
    db: &DatabaseConnection,
    table: &str,
    offset: u64,
    limit: u64,
) -> Result<(Vec<String>, Vec<serde_json::Value>), PersistenceError> {
    use crate::entities::*;
    match table {
        "processes" => page_of::<process::Entity>(db, offset, limit).await,
        "process_steps" => page_of::<process_step::Entity>(db, offset, limit).await,
        "process_runs" => page_of::<process_run::Entity>(db, offset, limit).await,
        "step_runs" => page_of::<step_run::Entity>(db, offset, limit).await,
        "webhooks" => page_of::<webhook::Entity>(db, offset, limit).await,
        "outbox" => page_of::<outbox::Entity>(db, offset, limit).await,
        "api_keys" => page_of::<api_key::Entity>(db, offset, limit).await,
        "change_log" => page_of::<change_log::Entity>(db, offset, limit).await,
        "change_log_archive" => page_of::<change_log_archive::Entity>(db, offset, limit).await,
        "request_logs" => page_of::<request_log::Entity>(db, offset, limit).await,
        "job_runs" => page_of::<job_run::Entity>(db, offset, limit).await,
        other => Err(PersistenceError::Unsupported(format!("no table {other}"))),
    }
}
