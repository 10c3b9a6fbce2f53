use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, integer, json_binary_null, timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StepRuns {
    Table,
    OriginalStepRunId,
    Attempt,
    SupersededAt,
    RerunMeta,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement. Existing rows are first attempts.
        let columns = [
            big_integer_null(StepRuns::OriginalStepRunId),
            integer(StepRuns::Attempt).default(1).to_owned(),
            timestamp_with_time_zone_null(StepRuns::SupersededAt),
            json_binary_null(StepRuns::RerunMeta),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(StepRuns::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_step_runs_original")
                    .table(StepRuns::Table)
                    .col(StepRuns::OriginalStepRunId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_step_runs_original")
                    .table(StepRuns::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            StepRuns::OriginalStepRunId,
            StepRuns::Attempt,
            StepRuns::SupersededAt,
            StepRuns::RerunMeta,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(StepRuns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
