use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, big_pk_auto, json_binary, string_len, text};

use crate::audit_columns::with_audit_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Secret,
    Events,
    ProcessId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Webhooks::Table)
            .if_not_exists()
            .col(big_pk_auto(Webhooks::Id))
            .col(text(Webhooks::Url))
            // The signing secret: needed in clear to sign, never returned after creation and
            // never part of a change-log snapshot.
            .col(string_len(Webhooks::Secret, 128))
            .col(json_binary(Webhooks::Events))
            .col(big_integer_null(Webhooks::ProcessId));
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}
