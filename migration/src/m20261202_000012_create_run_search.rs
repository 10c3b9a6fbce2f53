//! Indexes for the global run search (case-insensitive substrings).
//! - PostgreSQL: pg_trgm GIN indexes on lower(entity_id), lower(entity_name) and lower(meta::text);
//!   `LIKE '%q%'` on those expressions is answered by a bitmap index scan.
//! - SQLite: an FTS5 table with the trigram tokenizer holding one search document per run
//!   (entity id, entity name, top-level scalar metadata values). Triggers keep it in step with
//!   `process_runs` on every insert, update of those columns and delete, whichever code path
//!   writes, and the table is filled from the existing runs here.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_process_runs_entity_id_trgm \
     ON process_runs USING gin (lower(entity_id) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_process_runs_entity_name_trgm \
     ON process_runs USING gin (lower(entity_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_process_runs_meta_trgm \
     ON process_runs USING gin (lower(meta::text) gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ix_process_runs_meta_trgm",
    "DROP INDEX IF EXISTS ix_process_runs_entity_name_trgm",
    "DROP INDEX IF EXISTS ix_process_runs_entity_id_trgm",
];

/// The search document of the row `r` (NEW, OLD or the table itself).
fn document(r: &str) -> String {
    format!(
        "{r}.entity_id || char(10) || coalesce({r}.entity_name, '') || char(10) || coalesce(\
         (SELECT group_concat(CASE je.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
         WHEN 'null' THEN 'null' ELSE CAST(je.value AS TEXT) END, char(10)) \
         FROM json_each({r}.meta) AS je WHERE je.type NOT IN ('object', 'array')), '')"
    )
}

fn sqlite_up() -> Vec<String> {
    vec![
        "CREATE VIRTUAL TABLE IF NOT EXISTS run_search USING fts5(body, tokenize = 'trigram')"
            .to_owned(),
        format!(
            "CREATE TRIGGER IF NOT EXISTS run_search_insert AFTER INSERT ON process_runs BEGIN \
             INSERT INTO run_search(rowid, body) VALUES (NEW.id, {}); END",
            document("NEW")
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS run_search_update \
             AFTER UPDATE OF entity_id, entity_name, meta ON process_runs BEGIN \
             DELETE FROM run_search WHERE rowid = OLD.id; \
             INSERT INTO run_search(rowid, body) VALUES (NEW.id, {}); END",
            document("NEW")
        ),
        "CREATE TRIGGER IF NOT EXISTS run_search_delete AFTER DELETE ON process_runs BEGIN \
         DELETE FROM run_search WHERE rowid = OLD.id; END"
            .to_owned(),
        format!(
            "INSERT INTO run_search(rowid, body) SELECT id, {} FROM process_runs",
            document("process_runs")
        ),
    ]
}

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS run_search_delete",
    "DROP TRIGGER IF EXISTS run_search_update",
    "DROP TRIGGER IF EXISTS run_search_insert",
    "DROP TABLE IF EXISTS run_search",
];

async fn run_all(manager: &SchemaManager<'_>, statements: &[String]) -> Result<(), DbErr> {
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

fn owned(statements: &[&str]) -> Vec<String> {
    statements.iter().map(|s| (*s).to_owned()).collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => run_all(manager, &owned(POSTGRES_UP)).await,
            _ => run_all(manager, &sqlite_up()).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => run_all(manager, &owned(POSTGRES_DOWN)).await,
            _ => run_all(manager, &owned(SQLITE_DOWN)).await,
        }
    }
}
