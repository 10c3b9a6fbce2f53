use crate::paging::{self, SortSpec};
use procdash_domain::{Paging, SortDirection};
use sea_orm::sea_query::Expr;
use std::collections::HashMap;

use procdash_domain::{NewProcess, Page, Process, ProcessChanges, ProcessStep};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_step};
use crate::repo::preconditions::{self, Precondition};
use crate::repo::steps;
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Creates a process and its inline steps in one transaction.
#[instrument(skip(db, actor, new), fields(name = %new.name))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewProcess,
) -> Result<Process, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let now = clock::now();
    let model = process::ActiveModel {
        name: Set(new.name),
        meta: Set(new.meta),
        retention_months: Set(new.retention_months),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let change = Change {
        entity: "process",
        record_id: model.id,
        operation: "create",
        before: None,
        after: Some(snapshot::process(&model)),
    };
    audit::record(&txn, actor, change).await?;
    let mut created_steps = Vec::with_capacity(new.steps.len());
    for step in new.steps {
        created_steps.push(steps::insert(&txn, actor, model.id, step).await?);
    }
    created_steps.sort_by_key(|s| s.index);
    txn.commit().await?;
    Ok(convert::process(model, created_steps))
}

/// A live (not soft-deleted) process row.
pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<process::Model, PersistenceError> {
    process::Entity::find_by_id(id)
        .filter(process::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", id))
}

/// A live process row, locked for the rest of the transaction on PostgreSQL (SQLite's write
/// transactions are exclusive already).
pub(crate) async fn lock_live(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<process::Model, PersistenceError> {
    let mut query = process::Entity::find_by_id(id).filter(process::Column::DeletedAt.is_null());
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", id))
}

#[instrument(skip(db))]
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Process, PersistenceError> {
    let model = find_live(db, id).await?;
    let steps = steps::list_live(db, id, false).await?;
    Ok(convert::process(model, steps))
}

/// Live processes, id ascending, each with its live steps (one query for all steps of the page).
#[instrument(skip(db))]
pub async fn list(
    db: &impl ConnectionTrait,
    paging: &Paging,
) -> Result<Page<Process>, PersistenceError> {
    let query = process::Entity::find().filter(process::Column::DeletedAt.is_null());
    let sort = SortSpec::by_id(Expr::col(process::Column::Id), SortDirection::Asc);
    let (query, total) = paging::window(db, query, &sort, paging).await?;
    let models = query.all(db).await?;
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let mut by_process: HashMap<i64, Vec<ProcessStep>> = HashMap::new();
    let step_rows = process_step::Entity::find()
        .filter(process_step::Column::ProcessId.is_in(ids))
        .filter(process_step::Column::DeletedAt.is_null())
        .order_by_asc(process_step::Column::StepIndex)
        .all(db)
        .await?;
    for s in step_rows {
        by_process
            .entry(s.process_id)
            .or_default()
            .push(convert::step(s));
    }
    let items = models
        .into_iter()
        .map(|m| {
            let steps = by_process.remove(&m.id).unwrap_or_default();
            convert::process(m, steps)
        })
        .collect();
    Ok(paging::page(items, total, paging))
}

/// Changes a live process's name and metadata, when `pre` (If-Match) holds.
#[instrument(skip(db, actor, changes, pre))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    changes: ProcessChanges,
    pre: Option<&Precondition>,
) -> Result<Process, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = lock_live(&txn, id).await?;
    preconditions::process(&txn, id, pre).await?;
    let before = snapshot::process(&current);
    let mut model: process::ActiveModel = current.into();
    if let Some(name) = changes.name {
        model.name = Set(name);
    }
    if let Some(meta) = changes.meta {
        model.meta = Set(meta);
    }
    model.updated_at = Set(clock::now());
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let change = Change {
        entity: "process",
        record_id: id,
        operation: "update",
        before: Some(before),
        after: Some(snapshot::process(&saved)),
    };
    audit::record(&txn, actor, change).await?;
    let process = get(&txn, id).await?;
    txn.commit().await?;
    Ok(process)
}

/// Id and metadata of every live process (the dashboards' per-process settings).
pub async fn live_metas(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i64, serde_json::Value)>, PersistenceError> {
    Ok(process::Entity::find()
        .filter(process::Column::DeletedAt.is_null())
        .order_by_asc(process::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.meta))
        .collect())
}

/// Id and name of every live process.
pub async fn live_names(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, PersistenceError> {
    Ok(process::Entity::find()
        .filter(process::Column::DeletedAt.is_null())
        .order_by_asc(process::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}
