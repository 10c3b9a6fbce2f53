//! Metadata filters on PostgreSQL: a GIN index with `jsonb_path_ops` on the runs' meta answers
//! the containment prefilter (`meta @> '{"clinic":"Viby"}'`) of every `meta_filter`. SQLite has
//! no such index type; there the filters run on the rows that the other conditions (process,
//! dates, status) select through their B-tree indexes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS ix_process_runs_meta \
                     ON process_runs USING gin (meta jsonb_path_ops)",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP INDEX IF EXISTS ix_process_runs_meta")
                .await?;
        }
        Ok(())
    }
}
