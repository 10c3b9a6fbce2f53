use sea_orm_migration::prelude::*;

use crate::audit_columns::{Pipe, with_audit_columns_owned as with_audit_columns};
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, json_binary, json_binary_null, string_len,
    string_len_null, timestamp_with_time_zone,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeLog {
    Id,
    OccurredAt,
    Entity,
    RecordId,
    Operation,
    ActorId,
    Actor,
    OnBehalfOf,
    RequestId,
    Before,
    After,
    ChangedFields,
    Redacted,
    PayloadHash,
    ChainSeq,
    ChainHash,
}

/// The change log and its archive share one shape; the archive keeps the hashes so the chain
/// verifies across both.
fn table(name: &str) -> TableCreateStatement {
    Table::create()
        .table(Alias::new(name))
        .if_not_exists()
        .col(big_pk_auto(ChangeLog::Id))
        .col(timestamp_with_time_zone(ChangeLog::OccurredAt))
        .col(string_len(ChangeLog::Entity, 32))
        .col(big_integer(ChangeLog::RecordId))
        .col(string_len(ChangeLog::Operation, 32))
        .col(big_integer_null(ChangeLog::ActorId))
        .col(string_len_null(ChangeLog::Actor, 255))
        .col(string_len_null(ChangeLog::OnBehalfOf, 255))
        .col(string_len_null(ChangeLog::RequestId, 128))
        .col(json_binary_null(ChangeLog::Before))
        .col(json_binary_null(ChangeLog::After))
        .col(json_binary(ChangeLog::ChangedFields))
        .col(boolean(ChangeLog::Redacted).default(false))
        .col(string_len(ChangeLog::PayloadHash, 64))
        .col(big_integer_null(ChangeLog::ChainSeq).unique_key())
        .col(string_len_null(ChangeLog::ChainHash, 64))
        .to_owned()
        .pipe(with_audit_columns)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["change_log", "change_log_archive"] {
            manager.create_table(table(name)).await?;
            let indexes: [(&str, Vec<ChangeLog>); 3] = [
                (
                    "entity_record",
                    vec![ChangeLog::Entity, ChangeLog::RecordId],
                ),
                ("occurred_at", vec![ChangeLog::OccurredAt]),
                ("actor_id", vec![ChangeLog::ActorId]),
            ];
            for (suffix, cols) in indexes {
                let mut index = Index::create();
                index
                    .name(format!("ix_{name}_{suffix}"))
                    .table(Alias::new(name));
                for col in cols {
                    index.col(col);
                }
                manager.create_index(index.to_owned()).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["change_log", "change_log_archive"] {
            manager
                .drop_table(Table::drop().table(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
