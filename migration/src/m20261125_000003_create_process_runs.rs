use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, json_binary, string_len, string_len_null,
    timestamp_with_time_zone_null,
};

use crate::audit_columns::{Audit, with_audit_columns};
use crate::m20261125_000001_create_processes::Processes;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ProcessRuns {
    Table,
    Id,
    ProcessId,
    EntityId,
    EntityName,
    Status,
    Meta,
    StartedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ProcessRuns::Table)
            .if_not_exists()
            .col(big_pk_auto(ProcessRuns::Id))
            .col(big_integer(ProcessRuns::ProcessId))
            .col(string_len(ProcessRuns::EntityId, 100))
            .col(string_len_null(ProcessRuns::EntityName, 255))
            .col(string_len(ProcessRuns::Status, 16).default("pending"))
            .col(json_binary(ProcessRuns::Meta))
            .col(timestamp_with_time_zone_null(ProcessRuns::StartedAt))
            .col(timestamp_with_time_zone_null(ProcessRuns::FinishedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_process_runs_process")
                    .from(ProcessRuns::Table, ProcessRuns::ProcessId)
                    .to(Processes::Table, Processes::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            );
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await?;
        let indexes: [(&str, Vec<DynIden>); 5] = [
            (
                "ix_process_runs_process_created",
                vec![
                    ProcessRuns::ProcessId.into_iden(),
                    Audit::CreatedAt.into_iden(),
                ],
            ),
            (
                "ix_process_runs_created_at",
                vec![Audit::CreatedAt.into_iden()],
            ),
            (
                "ix_process_runs_entity_id",
                vec![ProcessRuns::EntityId.into_iden()],
            ),
            (
                "ix_process_runs_status",
                vec![ProcessRuns::Status.into_iden()],
            ),
            (
                "ix_process_runs_deleted_at",
                vec![Audit::DeletedAt.into_iden()],
            ),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table(ProcessRuns::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProcessRuns::Table).to_owned())
            .await
    }
}
