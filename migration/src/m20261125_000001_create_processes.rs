use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_pk_auto, integer_null, json_binary, string_len};

use crate::audit_columns::with_audit_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Processes {
    Table,
    Id,
    Name,
    Meta,
    RetentionMonths,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Processes::Table)
            .if_not_exists()
            .col(big_pk_auto(Processes::Id))
            .col(string_len(Processes::Name, 255))
            .col(json_binary(Processes::Meta))
            .col(integer_null(Processes::RetentionMonths));
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_processes_deleted_at")
                    .table(Processes::Table)
                    .col(Processes::DeletedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Processes::Table).to_owned())
            .await
    }
}
