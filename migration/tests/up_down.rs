//! Every migration applies, reverts and applies again on a fresh database.
#![cfg(test)]

use procdash_migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::Database;

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
    let db = Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let applied = Migrator::get_applied_migrations(&db).await.unwrap().len();
    assert_eq!(applied, Migrator::migrations().len());
    Migrator::down(&db, None).await.unwrap();
    assert!(
        Migrator::get_applied_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
    Migrator::up(&db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn every_table_carries_the_audit_mixin() {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
    let db = Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let backend = db.get_database_backend();
    // run_search and its shadow tables are the FTS5 search index, derived from process_runs;
    // the *_status_counts tables are counters that triggers keep inside the writing statement,
    // where no actor exists (migration 000050).
    let tables = db
        .query_all_raw(Statement::from_string(backend, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' AND name NOT LIKE 'run_search%' AND name NOT LIKE '%_status_counts'"))
        .await
        .unwrap();
    // Nine data and log tables, the three KPI tables (kpi_run_facts, kpi_rollups,
    // kpi_watermarks), outbox, webhooks and idempotency_keys.
    assert_eq!(tables.len(), 15);
    for t in tables {
        let name: String = t.try_get("", "name").unwrap();
        let columns: Vec<String> = db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT name FROM pragma_table_info('{name}')"),
            ))
            .await
            .unwrap()
            .iter()
            .map(|c| c.try_get::<String>("", "name").unwrap())
            .collect();
        for mixin in [
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "deleted_at",
        ] {
            assert!(columns.iter().any(|c| c == mixin), "{name} lacks {mixin}");
        }
    }
}
