use sea_orm_migration::prelude::*;

use crate::audit_columns::{Pipe, with_audit_columns_owned as with_audit_columns};
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer_null, string_len, string_len_null, text_null,
    timestamp_with_time_zone,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One row per (API key, Idempotency-Key): the unique index is the claim, so two instances
/// receiving the same key at once cannot both run the request.
#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    ApiKeyId,
    IdemKey,
    RequestHash,
    State,
    ResponseStatus,
    ResponseContentType,
    ResponseBody,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(big_pk_auto(IdempotencyKeys::Id))
                    .col(big_integer(IdempotencyKeys::ApiKeyId))
                    .col(string_len(IdempotencyKeys::IdemKey, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(string_len(IdempotencyKeys::State, 16))
                    .col(integer_null(IdempotencyKeys::ResponseStatus))
                    .col(string_len_null(IdempotencyKeys::ResponseContentType, 255))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_keys_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ApiKeyId)
                    .col(IdempotencyKeys::IdemKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_expires")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
