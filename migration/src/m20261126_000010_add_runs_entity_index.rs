use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessRuns {
    Table,
    EntityId,
    CreatedAt,
}

/// Runs by entity, newest first: the entity journey (`GET /entities/{entity_id}/runs`) reads
/// one entity's runs in `created_at` order. It also serves every lookup by entity id alone.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_process_runs_entity_created")
                    .table(ProcessRuns::Table)
                    .col(ProcessRuns::EntityId)
                    .col(ProcessRuns::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_process_runs_entity_created")
                    .table(ProcessRuns::Table)
                    .to_owned(),
            )
            .await
    }
}
