use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessRuns {
    Table,
    ExternalId,
}

/// `external_id`: the caller's own id for a run, so a repeated bulk upload does not start the
/// same run twice. Unique per process among live runs: a partial index, so a deleted run frees
/// its id, and runs without one (NULL) never collide. Both backends accept this SQL.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessRuns::Table)
                    .add_column(
                        ColumnDef::new(ProcessRuns::ExternalId)
                            .string_len(100)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_process_runs_process_external \
                 ON process_runs (process_id, external_id) \
                 WHERE deleted_at IS NULL AND external_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_process_runs_process_external")
                    .table(ProcessRuns::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessRuns::Table)
                    .drop_column(ProcessRuns::ExternalId)
                    .to_owned(),
            )
            .await
    }
}
