use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, string_len_null, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessRuns {
    Table,
    ScheduledDeletionAt,
    IsNeutralized,
    NeutralizedAt,
}

#[derive(DeriveIden)]
enum Lifecycle {
    DeletionId,
}

/// Tables whose rows a cascading soft delete marks with the id of that deletion, so a restore
/// brings back exactly what the deletion removed.
const CASCADED: [&str; 4] = ["processes", "process_steps", "process_runs", "step_runs"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let columns = [
            timestamp_with_time_zone_null(ProcessRuns::ScheduledDeletionAt),
            boolean(ProcessRuns::IsNeutralized)
                .default(false)
                .to_owned(),
            timestamp_with_time_zone_null(ProcessRuns::NeutralizedAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProcessRuns::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for table in CASCADED {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(string_len_null(Lifecycle::DeletionId, 36))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_process_runs_due")
                    .table(ProcessRuns::Table)
                    .col(ProcessRuns::IsNeutralized)
                    .col(ProcessRuns::ScheduledDeletionAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_process_runs_due")
                    .table(ProcessRuns::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            ProcessRuns::ScheduledDeletionAt,
            ProcessRuns::IsNeutralized,
            ProcessRuns::NeutralizedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProcessRuns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in CASCADED {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Lifecycle::DeletionId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
