//! Soft delete and restore. A deletion marks every row it removes with its own id, so a restore
//! brings back exactly those rows and not ones deleted separately before.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_run, process_step, step_run};
use crate::{Actor, PersistenceError, clock, tx};

fn new_deletion_id() -> Result<String, PersistenceError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| PersistenceError::Corrupt(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

fn locked<E: EntityTrait>(mut q: sea_orm::Select<E>, backend: DbBackend) -> sea_orm::Select<E> {
    if backend == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q
}

/// Deletes a live process with its steps, runs and their step runs, in one transaction.
#[instrument(skip(db, actor))]
pub async fn delete_process(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let q = process::Entity::find_by_id(id).filter(process::Column::DeletedAt.is_null());
    let current = locked(q, backend)
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", id))?;
    let deletion = new_deletion_id()?;
    let now = clock::now();
    let steps = process_step::Entity::update_many()
        .col_expr(process_step::Column::DeletedAt, Expr::value(now))
        .col_expr(
            process_step::Column::DeletionId,
            Expr::value(deletion.clone()),
        )
        .col_expr(process_step::Column::UpdatedAt, Expr::value(now))
        .col_expr(process_step::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(process_step::Column::ProcessId.eq(id))
        .filter(process_step::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let runs = process_run::Entity::update_many()
        .col_expr(process_run::Column::DeletedAt, Expr::value(now))
        .col_expr(
            process_run::Column::DeletionId,
            Expr::value(deletion.clone()),
        )
        .col_expr(process_run::Column::UpdatedAt, Expr::value(now))
        .col_expr(process_run::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(process_run::Column::ProcessId.eq(id))
        .filter(process_run::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let step_runs = mark_step_runs_of_deletion(&txn, actor, &deletion, now).await?;
    let before = snapshot::process(&current);
    let mut model: process::ActiveModel = current.into();
    model.deleted_at = Set(Some(now));
    model.deletion_id = Set(Some(deletion));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let mut after = snapshot::process(&saved);
    after["cascade"] = json!({"steps": steps, "runs": runs, "step_runs": step_runs});
    audit::record(
        &txn,
        actor,
        Change {
            entity: "process",
            record_id: id,
            operation: "delete",
            before: Some(before),
            after: Some(after),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Marks the live step runs of the runs this deletion removed.
async fn mark_step_runs_of_deletion(
    db: &impl ConnectionTrait,
    actor: &Actor,
    deletion: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, PersistenceError> {
    let runs_of_deletion = Query::select()
        .column(process_run::Column::Id)
        .from(process_run::Entity)
        .and_where(Expr::col(process_run::Column::DeletionId).eq(deletion))
        .to_owned();
    Ok(step_run::Entity::update_many()
        .col_expr(step_run::Column::DeletedAt, Expr::value(now))
        .col_expr(
            step_run::Column::DeletionId,
            Expr::value(deletion.to_owned()),
        )
        .col_expr(step_run::Column::UpdatedAt, Expr::value(now))
        .col_expr(step_run::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(step_run::Column::RunId.in_subquery(runs_of_deletion))
        .filter(step_run::Column::DeletedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Brings back what the deletion of this process removed. A live process is a conflict.
#[instrument(skip(db, actor))]
pub async fn restore_process(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let current = locked(process::Entity::find_by_id(id), backend)
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", id))?;
    if current.deleted_at.is_none() {
        return Err(PersistenceError::Conflict(format!(
            "process {id} is not deleted"
        )));
    }
    let now = clock::now();
    if let Some(deletion) = current.deletion_id.clone() {
        restore_marked(&txn, actor, &deletion, now).await?;
    }
    let before = snapshot::process(&current);
    let mut model: process::ActiveModel = current.into();
    model.deleted_at = Set(None);
    model.deletion_id = Set(None);
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "process",
            record_id: id,
            operation: "restore",
            before: Some(before),
            after: Some(snapshot::process(&saved)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Clears the marks of one deletion on steps, runs and step runs.
async fn restore_marked(
    db: &impl ConnectionTrait,
    actor: &Actor,
    deletion: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), PersistenceError> {
    let null_time: Option<chrono::DateTime<chrono::Utc>> = None;
    let null_id: Option<String> = None;
    process_step::Entity::update_many()
        .col_expr(process_step::Column::DeletedAt, Expr::value(null_time))
        .col_expr(
            process_step::Column::DeletionId,
            Expr::value(null_id.clone()),
        )
        .col_expr(process_step::Column::UpdatedAt, Expr::value(now))
        .col_expr(process_step::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(process_step::Column::DeletionId.eq(deletion))
        .exec(db)
        .await
        .map_err(|e| {
            PersistenceError::conflict_on_unique(
                e,
                "a live step now uses the index of a deleted step",
            )
        })?;
    process_run::Entity::update_many()
        .col_expr(process_run::Column::DeletedAt, Expr::value(null_time))
        .col_expr(
            process_run::Column::DeletionId,
            Expr::value(null_id.clone()),
        )
        .col_expr(process_run::Column::UpdatedAt, Expr::value(now))
        .col_expr(process_run::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(process_run::Column::DeletionId.eq(deletion))
        .exec(db)
        .await?;
    step_run::Entity::update_many()
        .col_expr(step_run::Column::DeletedAt, Expr::value(null_time))
        .col_expr(step_run::Column::DeletionId, Expr::value(null_id))
        .col_expr(step_run::Column::UpdatedAt, Expr::value(now))
        .col_expr(step_run::Column::UpdatedBy, Expr::value(actor.label()))
        .filter(step_run::Column::DeletionId.eq(deletion))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a live run with its live step runs.
#[instrument(skip(db, actor))]
pub async fn delete_run(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let q = process_run::Entity::find_by_id(id).filter(process_run::Column::DeletedAt.is_null());
    let current = locked(q, backend)
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", id))?;
    let deletion = new_deletion_id()?;
    let now = clock::now();
    let before = snapshot::run(&current);
    let mut model: process_run::ActiveModel = current.into();
    model.deleted_at = Set(Some(now));
    model.deletion_id = Set(Some(deletion.clone()));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let step_runs = mark_step_runs_of_deletion(&txn, actor, &deletion, now).await?;
    let mut after = snapshot::run(&saved);
    after["cascade"] = json!({"step_runs": step_runs});
    audit::record(
        &txn,
        actor,
        Change {
            entity: "run",
            record_id: id,
            operation: "delete",
            before: Some(before),
            after: Some(after),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Brings back a run deleted on its own. A live run is a conflict, and so is a run whose
/// process is deleted (restore the process instead).
#[instrument(skip(db, actor))]
pub async fn restore_run(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let current = locked(process_run::Entity::find_by_id(id), backend)
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", id))?;
    if current.deleted_at.is_none() {
        return Err(PersistenceError::Conflict(format!(
            "run {id} is not deleted"
        )));
    }
    let process_live = process::Entity::find_by_id(current.process_id)
        .filter(process::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .is_some();
    if !process_live {
        return Err(PersistenceError::Conflict(format!(
            "the process of run {id} is deleted; restore the process"
        )));
    }
    let now = clock::now();
    if let Some(deletion) = current.deletion_id.clone() {
        restore_marked(&txn, actor, &deletion, now).await?;
    }
    let before = snapshot::run(&current);
    let mut model: process_run::ActiveModel = current.into();
    model.deleted_at = Set(None);
    model.deletion_id = Set(None);
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "run",
            record_id: id,
            operation: "restore",
            before: Some(before),
            after: Some(snapshot::run(&saved)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
