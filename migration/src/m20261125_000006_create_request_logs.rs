use sea_orm_migration::prelude::*;

use crate::audit_columns::{Pipe, with_audit_columns_owned as with_audit_columns};
use sea_orm_migration::schema::{
    big_integer_null, big_pk_auto, double, integer, string_len, string_len_null, text, text_null,
    timestamp_with_time_zone,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The request log is append-only; it still carries the audit mixin like every table.
#[derive(DeriveIden)]
enum RequestLogs {
    Table,
    Id,
    OccurredAt,
    Method,
    Route,
    Path,
    Query,
    Status,
    DurationMs,
    ApiKeyId,
    ApiKeyName,
    ClientIp,
    UserAgent,
    RequestId,
    ErrorMessage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RequestLogs::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RequestLogs::Id))
                    .col(timestamp_with_time_zone(RequestLogs::OccurredAt))
                    .col(string_len(RequestLogs::Method, 16))
                    .col(string_len(RequestLogs::Route, 255))
                    .col(text(RequestLogs::Path))
                    .col(text_null(RequestLogs::Query))
                    .col(integer(RequestLogs::Status))
                    .col(double(RequestLogs::DurationMs))
                    .col(big_integer_null(RequestLogs::ApiKeyId))
                    .col(string_len_null(RequestLogs::ApiKeyName, 100))
                    .col(string_len_null(RequestLogs::ClientIp, 64))
                    .col(text_null(RequestLogs::UserAgent))
                    .col(string_len_null(RequestLogs::RequestId, 128))
                    .col(text_null(RequestLogs::ErrorMessage))
                    .to_owned()
                    .pipe(with_audit_columns),
            )
            .await?;
        for (name, cols) in [
            ("ix_request_logs_occurred_at", vec![RequestLogs::OccurredAt]),
            (
                "ix_request_logs_key_occurred",
                vec![RequestLogs::ApiKeyId, RequestLogs::OccurredAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(RequestLogs::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RequestLogs::Table).to_owned())
            .await
    }
}
