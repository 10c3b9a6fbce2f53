use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, boolean, integer, json_binary_null, string_len,
};

use crate::audit_columns::with_audit_columns;
use crate::m20261125_000001_create_processes::Processes;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ProcessSteps {
    Table,
    Id,
    ProcessId,
    StepIndex,
    Name,
    IsRerunnable,
    RerunConfig,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ProcessSteps::Table)
            .if_not_exists()
            .col(big_pk_auto(ProcessSteps::Id))
            .col(big_integer(ProcessSteps::ProcessId))
            .col(integer(ProcessSteps::StepIndex))
            .col(string_len(ProcessSteps::Name, 255))
            .col(boolean(ProcessSteps::IsRerunnable).default(false))
            .col(json_binary_null(ProcessSteps::RerunConfig))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_process_steps_process")
                    .from(ProcessSteps::Table, ProcessSteps::ProcessId)
                    .to(Processes::Table, Processes::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            );
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await?;
        // Partial unique index: a deleted step frees its position. Both backends accept this SQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_process_steps_process_index \
                 ON process_steps (process_id, step_index) WHERE deleted_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProcessSteps::Table).to_owned())
            .await
    }
}
