use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, boolean, string_len, string_len_null, string_len_uniq,
    timestamp_with_time_zone_null,
};

use crate::audit_columns::with_audit_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Description,
    Role,
    KeyHash,
    KeyPrefix,
    IsActive,
    ExpiresAt,
    UsageCount,
    LastUsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ApiKeys::Table)
            .if_not_exists()
            .col(big_pk_auto(ApiKeys::Id))
            .col(string_len(ApiKeys::Name, 100))
            .col(string_len_null(ApiKeys::Description, 500))
            .col(string_len(ApiKeys::Role, 16))
            // Only the SHA-256 of a key is stored; the plaintext is shown once at creation.
            .col(string_len_uniq(ApiKeys::KeyHash, 64))
            .col(string_len(ApiKeys::KeyPrefix, 16))
            .col(boolean(ApiKeys::IsActive).default(true))
            .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
            .col(big_integer(ApiKeys::UsageCount).default(0))
            .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
            .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt));
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await
    }
}
