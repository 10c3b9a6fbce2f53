//! Soft delete and restore. A deletion marks every row it removes with its own id, so a restore
//! brings back exactly those rows and not ones deleted separately before.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_run};
use crate::repo::preconditions::{self, Precondition};
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

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

/// Sets (`Some(deletion)`) or clears (`None`) the deletion mark of the rows of `table` that
/// match `rows`; returns how many rows changed.
async fn mark(
    db: &impl ConnectionTrait,
    table: &str,
    deletion: Option<&str>,
    actor: &Actor,
    now: DateTime<Utc>,
    rows: Condition,
) -> Result<u64, sea_orm::DbErr> {
    let deleted_at = deletion.map(|_| now);
    let stmt = Query::update()
        .table(Alias::new(table))
        .values([
            (Alias::new("deleted_at"), Expr::value(deleted_at)),
            (
                Alias::new("deletion_id"),
                Expr::value(deletion.map(str::to_owned)),
            ),
            (Alias::new("updated_at"), Expr::value(now)),
            (Alias::new("updated_by"), Expr::value(actor.label())),
        ])
        .cond_where(rows)
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}

fn live_of(parent_column: &str, parent_id: i64) -> Condition {
    Condition::all()
        .add(col(parent_column).eq(parent_id))
        .add(col("deleted_at").is_null())
}

/// The runs one deletion marked.
fn runs_of(deletion: &str) -> SelectStatement {
    Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("process_runs"))
        .and_where(col("deletion_id").eq(deletion))
        .to_owned()
}

/// Marks the live step runs of the runs this deletion removed.
async fn mark_step_runs(
    db: &impl ConnectionTrait,
    actor: &Actor,
    deletion: &str,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let rows = Condition::all()
        .add(col("run_id").in_subquery(runs_of(deletion)))
        .add(col("deleted_at").is_null());
    mark(db, "step_runs", Some(deletion), actor, now, rows).await
}

/// Deletes a live process with its steps, runs and their step runs, in one transaction.
#[instrument(skip(db, actor, pre))]
pub async fn delete_process(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    pre: Option<&Precondition>,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let q = process::Entity::find_by_id(id).filter(process::Column::DeletedAt.is_null());
    let current = locked(q, txn.get_database_backend())
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", id))?;
    preconditions::process(&txn, id, pre).await?;
    let deletion = new_deletion_id()?;
    let now = clock::now();
    let steps = mark(
        &txn,
        "process_steps",
        Some(&deletion),
        actor,
        now,
        live_of("process_id", id),
    )
    .await?;
    let runs = mark(
        &txn,
        "process_runs",
        Some(&deletion),
        actor,
        now,
        live_of("process_id", id),
    )
    .await?;
    let step_runs = mark_step_runs(&txn, actor, &deletion, now).await?;
    let before = snapshot::process(&current);
    let mut model: process::ActiveModel = current.into();
    model.deleted_at = Set(Some(now));
    model.deletion_id = Set(Some(deletion));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let mut after = snapshot::process(&saved);
    after["cascade"] = json!({"steps": steps, "runs": runs, "step_runs": step_runs});
    let change = Change {
        entity: "process",
        record_id: id,
        operation: "delete",
        before: Some(before),
        after: Some(after),
    };
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(())
}

/// Clears the marks of one deletion on steps, runs and step runs.
async fn restore_marked(
    db: &impl ConnectionTrait,
    actor: &Actor,
    deletion: &str,
    now: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    let marked = || Condition::all().add(col("deletion_id").eq(deletion));
    mark(db, "process_steps", None, actor, now, marked())
        .await
        .map_err(|e| {
            PersistenceError::conflict_on_unique(
                e,
                "a live step now uses the index of a deleted step",
            )
        })?;
    mark(db, "process_runs", None, actor, now, marked())
        .await
        .map_err(|e| {
            PersistenceError::conflict_on_unique(
                e,
                "a live run now holds the external_id of a deleted run",
            )
        })?;
    mark(db, "step_runs", None, actor, now, marked()).await?;
    Ok(())
}

/// Brings back what the deletion of this process removed. A live process is a conflict.
#[instrument(skip(db, actor))]
pub async fn restore_process(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = locked(process::Entity::find_by_id(id), txn.get_database_backend())
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
    let change = Change {
        entity: "process",
        record_id: id,
        operation: "restore",
        before: Some(before),
        after: Some(snapshot::process(&saved)),
    };
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes a live run with its live step runs.
#[instrument(skip(db, actor, pre))]
pub async fn delete_run(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    pre: Option<&Precondition>,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let q = process_run::Entity::find_by_id(id).filter(process_run::Column::DeletedAt.is_null());
    let current = locked(q, txn.get_database_backend())
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", id))?;
    preconditions::run(&txn, id, pre).await?;
    let deletion = new_deletion_id()?;
    let now = clock::now();
    let before = snapshot::run(&current);
    let mut model: process_run::ActiveModel = current.into();
    model.deleted_at = Set(Some(now));
    model.deletion_id = Set(Some(deletion.clone()));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let step_runs = mark_step_runs(&txn, actor, &deletion, now).await?;
    let mut after = snapshot::run(&saved);
    after["cascade"] = json!({"step_runs": step_runs});
    let change = Change {
        entity: "run",
        record_id: id,
        operation: "delete",
        before: Some(before),
        after: Some(after),
    };
    audit::record(&txn, actor, change).await?;
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
    let current = locked(
        process_run::Entity::find_by_id(id),
        txn.get_database_backend(),
    )
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
    let saved = model.update(&txn).await.map_err(|e| {
        PersistenceError::conflict_on_unique(
            e,
            format!("a live run now holds the external_id of run {id}"),
        )
    })?;
    let change = Change {
        entity: "run",
        record_id: id,
        operation: "restore",
        before: Some(before),
        after: Some(snapshot::run(&saved)),
    };
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(())
}
