use sea_orm_migration::prelude::*;

use crate::audit_columns::{Pipe, with_audit_columns_owned as with_audit_columns};
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, integer_null, string_len, string_len_null, text,
    timestamp_with_time_zone,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What each live run contributes to the KPIs, as the KPI job last saw it: so a change can
/// recompute both the buckets the run left and the ones it entered.
#[derive(DeriveIden)]
enum KpiRunFacts {
    Table,
    RunId,
    ProcessId,
    CreatedHour,
    CreatedDay,
    Outcome,
    FinishedHour,
    FinishedDay,
    DurationBin,
}

/// One row per (process, bucket kind, bucket start) with anything in it.
#[derive(DeriveIden)]
enum KpiRollups {
    Table,
    Id,
    ProcessId,
    BucketKind,
    BucketStart,
    RunsStarted,
    RunsCompleted,
    RunsFailed,
    RunsCancelled,
    DurationBins,
}

/// The KPI job's watermark: the latest run `updated_at` it has folded in.
#[derive(DeriveIden)]
enum KpiWatermarks {
    Table,
    Name,
    Watermark,
}

#[derive(DeriveIden)]
enum ProcessRuns {
    Table,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KpiRunFacts::Table)
                    .if_not_exists()
                    .col(big_integer(KpiRunFacts::RunId).primary_key())
                    .col(big_integer(KpiRunFacts::ProcessId))
                    .col(big_integer(KpiRunFacts::CreatedHour))
                    .col(big_integer(KpiRunFacts::CreatedDay))
                    .col(string_len_null(KpiRunFacts::Outcome, 16))
                    .col(big_integer_null(KpiRunFacts::FinishedHour))
                    .col(big_integer_null(KpiRunFacts::FinishedDay))
                    .col(integer_null(KpiRunFacts::DurationBin))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_kpi_run_facts_created_hour",
                [KpiRunFacts::ProcessId, KpiRunFacts::CreatedHour],
            ),
            (
                "ix_kpi_run_facts_created_day",
                [KpiRunFacts::ProcessId, KpiRunFacts::CreatedDay],
            ),
            (
                "ix_kpi_run_facts_finished_hour",
                [KpiRunFacts::ProcessId, KpiRunFacts::FinishedHour],
            ),
            (
                "ix_kpi_run_facts_finished_day",
                [KpiRunFacts::ProcessId, KpiRunFacts::FinishedDay],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(KpiRunFacts::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(KpiRollups::Table)
                    .if_not_exists()
                    .col(big_pk_auto(KpiRollups::Id))
                    .col(big_integer(KpiRollups::ProcessId))
                    .col(string_len(KpiRollups::BucketKind, 8))
                    .col(big_integer(KpiRollups::BucketStart))
                    .col(big_integer(KpiRollups::RunsStarted))
                    .col(big_integer(KpiRollups::RunsCompleted))
                    .col(big_integer(KpiRollups::RunsFailed))
                    .col(big_integer(KpiRollups::RunsCancelled))
                    .col(text(KpiRollups::DurationBins))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_kpi_rollups_bucket")
                    .table(KpiRollups::Table)
                    .col(KpiRollups::ProcessId)
                    .col(KpiRollups::BucketKind)
                    .col(KpiRollups::BucketStart)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KpiWatermarks::Table)
                    .if_not_exists()
                    .col(string_len(KpiWatermarks::Name, 64).primary_key())
                    .col(timestamp_with_time_zone(KpiWatermarks::Watermark))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        // The KPI job reads the runs changed since its watermark.
        manager
            .create_index(
                Index::create()
                    .name("ix_process_runs_updated")
                    .table(ProcessRuns::Table)
                    .col(ProcessRuns::UpdatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_process_runs_updated")
                    .table(ProcessRuns::Table)
                    .to_owned(),
            )
            .await?;
        for table in [
            KpiWatermarks::Table.into_iden(),
            KpiRollups::Table.into_iden(),
            KpiRunFacts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
