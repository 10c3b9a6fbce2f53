use procdash_domain::{NewStep, ProcessStep};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_step};
use crate::repo::processes;
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Inserts one step; the partial unique index turns a duplicate live index into a conflict.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    actor: &Actor,
    process_id: i64,
    step: NewStep,
) -> Result<ProcessStep, PersistenceError> {
    let now = clock::now();
    let index = step.index;
    let model = process_step::ActiveModel {
        process_id: Set(process_id),
        step_index: Set(step.index),
        name: Set(step.name),
        is_rerunnable: Set(step.is_rerunnable),
        rerun_config: Set(step.rerun_config),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| {
        PersistenceError::conflict_on_unique(
            e,
            format!("process {process_id} already has a step with index {index}"),
        )
    })?;
    let change = Change {
        entity: "step",
        record_id: model.id,
        operation: "create",
        before: None,
        after: Some(snapshot::step(&model)),
    };
    audit::record(db, actor, change).await?;
    Ok(convert::step(model))
}

/// Adds a step to a live process.
#[instrument(skip(db, actor, step))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    process_id: i64,
    step: NewStep,
) -> Result<ProcessStep, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    // FOR SHARE on PostgreSQL: a concurrent delete of the process waits for this step.
    let mut process =
        process::Entity::find_by_id(process_id).filter(process::Column::DeletedAt.is_null());
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        process = process.lock_shared();
    }
    process
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", process_id))?;
    let created = insert(&txn, actor, process_id, step).await?;
    txn.commit().await?;
    Ok(created)
}

/// Live steps of a process by index.
pub(crate) async fn list_live(
    db: &impl ConnectionTrait,
    process_id: i64,
    only_rerunnable: bool,
) -> Result<Vec<ProcessStep>, PersistenceError> {
    let mut query = process_step::Entity::find()
        .filter(process_step::Column::ProcessId.eq(process_id))
        .filter(process_step::Column::DeletedAt.is_null());
    if only_rerunnable {
        query = query.filter(process_step::Column::IsRerunnable.eq(true));
    }
    let rows = query
        .order_by_asc(process_step::Column::StepIndex)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(convert::step).collect())
}

/// One live step.
#[instrument(skip(db))]
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<ProcessStep, PersistenceError> {
    let row = process_step::Entity::find_by_id(id)
        .filter(process_step::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("step", id))?;
    Ok(convert::step(row))
}

/// Live steps of a live process; a missing or deleted process is a 404.
#[instrument(skip(db))]
pub async fn list_for_process(
    db: &impl ConnectionTrait,
    process_id: i64,
    only_rerunnable: bool,
) -> Result<Vec<ProcessStep>, PersistenceError> {
    processes::find_live(db, process_id).await?;
    list_live(db, process_id, only_rerunnable).await
}
