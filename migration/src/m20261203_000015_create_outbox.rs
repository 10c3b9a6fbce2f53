use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, integer_null, json_binary, json_binary_null, string_len,
    string_len_null, text, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::audit_columns::with_audit_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One outbound HTTP delivery (a rerun dispatch or a webhook event) and its tries.
#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Kind,
    SubjectId,
    EventType,
    DeliveryId,
    Method,
    Target,
    Payload,
    Policy,
    State,
    NextAttemptAt,
    LeaseUntil,
    ClaimedBy,
    Tries,
    TryCount,
    LastStatus,
    DedupeKey,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Outbox::Table)
            .if_not_exists()
            .col(big_pk_auto(Outbox::Id))
            .col(string_len(Outbox::Kind, 32))
            .col(big_integer(Outbox::SubjectId))
            .col(string_len_null(Outbox::EventType, 64))
            .col(string_len(Outbox::DeliveryId, 36))
            .col(string_len(Outbox::Method, 8))
            .col(text(Outbox::Target))
            .col(json_binary(Outbox::Payload))
            .col(json_binary(Outbox::Policy))
            .col(string_len(Outbox::State, 16))
            .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
            .col(timestamp_with_time_zone_null(Outbox::LeaseUntil))
            .col(string_len_null(Outbox::ClaimedBy, 64))
            .col(json_binary_null(Outbox::Tries))
            .col(integer(Outbox::TryCount).default(0))
            .col(integer_null(Outbox::LastStatus))
            .col(string_len_null(Outbox::DedupeKey, 128))
            .col(timestamp_with_time_zone_null(Outbox::FinishedAt));
        manager
            .create_table(with_audit_columns(&mut table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_subject")
                    .table(Outbox::Table)
                    .col(Outbox::Kind)
                    .col(Outbox::SubjectId)
                    .to_owned(),
            )
            .await?;
        // One delivery per webhook and event key (a run is reported stuck once per webhook).
        manager
            .create_index(
                Index::create()
                    .name("ux_outbox_dedupe")
                    .table(Outbox::Table)
                    .col(Outbox::SubjectId)
                    .col(Outbox::DedupeKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
