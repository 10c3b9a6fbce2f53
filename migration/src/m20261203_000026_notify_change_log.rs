use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// PostgreSQL: every statement that inserts change-log rows sends a NOTIFY on
/// `procdash_changes` when its transaction commits, which wakes the live feed's poller on every
/// instance at once. The payload is empty: the poller reads the rows itself. SQLite has no
/// notifications; the poller polls there.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION procdash_notify_change() RETURNS trigger AS $$ \
             BEGIN PERFORM pg_notify('procdash_changes', ''); RETURN NULL; END $$ \
             LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER change_log_notify AFTER INSERT ON change_log \
             FOR EACH STATEMENT EXECUTE FUNCTION procdash_notify_change()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS change_log_notify ON change_log")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS procdash_notify_change()")
            .await?;
        Ok(())
    }
}
