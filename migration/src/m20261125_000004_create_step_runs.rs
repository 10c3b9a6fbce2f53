use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, json_binary_null, string_len, string_len_null,
    timestamp_with_time_zone_null,
};

use crate::audit_columns::with_audit_columns;
use crate::m20261125_000002_create_process_steps::ProcessSteps;
use crate::m20261125_000003_create_process_runs::ProcessRuns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StepRuns {
    Table,
    Id,
    RunId,
    StepId,
    StepIndex,
    Status,
    StartedAt,
    FinishedAt,
    Failure,
    LastModifiedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(StepRuns::Table)
            .if_not_exists()
            .col(big_pk_auto(StepRuns::Id))
            .col(big_integer(StepRuns::RunId))
            .col(big_integer(StepRuns::StepId))
            .col(integer(StepRuns::StepIndex))
            .col(string_len(StepRuns::Status, 16).default("pending"))
            .col(timestamp_with_time_zone_null(StepRuns::StartedAt))
            .col(timestamp_with_time_zone_null(StepRuns::FinishedAt))
            .col(json_binary_null(StepRuns::Failure))
            .col(string_len_null(StepRuns::LastModifiedBy, 255))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_step_runs_run")
                    .from(StepRuns::Table, StepRuns::RunId)
                    .to(ProcessRuns::Table, ProcessRuns::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_step_runs_step")
                    .from(StepRuns::Table, StepRuns::StepId)
                    .to(ProcessSteps::Table, ProcessSteps::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            );
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_step_runs_run_index")
                    .table(StepRuns::Table)
                    .col(StepRuns::RunId)
                    .col(StepRuns::StepIndex)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_step_runs_step")
                    .table(StepRuns::Table)
                    .col(StepRuns::StepId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StepRuns::Table).to_owned())
            .await
    }
}
