use sea_orm_migration::prelude::*;

use crate::audit_columns::{Pipe, with_audit_columns_owned as with_audit_columns};
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_len, timestamp_with_time_zone};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One row per job and tick: the unique key is how several instances agree who runs a tick.
#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    Job,
    Tick,
    Instance,
    StartedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .if_not_exists()
                    .col(big_pk_auto(JobRuns::Id))
                    .col(string_len(JobRuns::Job, 64))
                    .col(big_integer(JobRuns::Tick))
                    .col(string_len(JobRuns::Instance, 64))
                    .col(timestamp_with_time_zone(JobRuns::StartedAt))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_job_runs_job_tick")
                    .table(JobRuns::Table)
                    .col(JobRuns::Job)
                    .col(JobRuns::Tick)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobRuns::Table).to_owned())
            .await
    }
}
