use std::collections::HashMap;

use procdash_domain::lifecycle::scheduled_deletion;
use procdash_domain::{
    NewRun, Page, Paging, ProcessRun, RunFilter, RunOrder, RunOrderField, RunSortKey, RunStatus,
    StepRun, StepStatus,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_run, step_run};
use crate::paging::{self, KeyKind, SortSpec};
use crate::repo::steps;
use crate::repo::{run_filters, status_counts};
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Starts a run: the run and one pending step run per live step, in one transaction.
#[instrument(skip(db, actor, new), fields(process_id = new.process_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewRun,
) -> Result<ProcessRun, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let mut process_query =
        process::Entity::find_by_id(new.process_id).filter(process::Column::DeletedAt.is_null());
    if txn.get_database_backend() == DbBackend::Postgres {
        // Keeps the process (and so its steps) from being deleted under us.
        process_query = process_query.lock_shared();
    }
    let process = process_query
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("process", new.process_id))?;
    let steps = steps::list_live(&txn, new.process_id, false).await?;
    let now = clock::now();
    let run = process_run::ActiveModel {
        process_id: Set(new.process_id),
        entity_id: Set(new.entity_id),
        entity_name: Set(new.entity_name),
        external_id: Set(new.external_id),
        status: Set(RunStatus::Pending.as_str().to_owned()),
        meta: Set(new.meta),
        scheduled_deletion_at: Set(scheduled_deletion(now, process.retention_months)),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        PersistenceError::conflict_on_unique(
            e,
            format!(
                "process {} already has a live run with this external_id",
                new.process_id
            ),
        )
    })?;
    // RETURNING gives the created rows back, so nothing is read again after the writes, and the
    // change rows go in one statement: 7 round trips on PostgreSQL whatever the number of steps.
    let mut created = if steps.is_empty() {
        Vec::new()
    } else {
        let rows = steps.iter().map(|s| step_run::ActiveModel {
            run_id: Set(run.id),
            step_id: Set(s.id),
            step_index: Set(s.index),
            status: Set(StepStatus::Pending.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            created_by: Set(actor.label()),
            updated_by: Set(actor.label()),
            ..Default::default()
        });
        step_run::Entity::insert_many(rows)
            .exec_with_returning(&txn)
            .await?
    };
    created.sort_by_key(|m| (m.step_index, m.id));
    let mut changes = Vec::with_capacity(created.len() + 1);
    changes.push(Change {
        entity: "run",
        record_id: run.id,
        operation: "create",
        before: None,
        after: Some(snapshot::run(&run)),
    });
    changes.extend(created.iter().map(|m| Change {
        entity: "step_run",
        record_id: m.id,
        operation: "create",
        before: None,
        after: Some(snapshot::step_run(m)),
    }));
    audit::record_many(&txn, actor, changes).await?;
    txn.commit().await?;
    let step_runs = created
        .into_iter()
        .map(convert::step_run)
        .collect::<Result<Vec<_>, _>>()?;
    convert::run(run, step_runs)
}

/// A live run row.
pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<process_run::Model, PersistenceError> {
    process_run::Entity::find_by_id(id)
        .filter(process_run::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", id))
}

/// The live run of a step run, locked like [`lock_live`], found in one round trip (a step run
/// never moves to another run). `None` when the step run or its run does not exist.
pub(crate) async fn lock_live_of_step_run(
    db: &impl ConnectionTrait,
    step_run_id: i64,
) -> Result<Option<process_run::Model>, PersistenceError> {
    let run_id = Query::select()
        .column(step_run::Column::RunId)
        .from(step_run::Entity)
        .and_where(step_run::Column::Id.eq(step_run_id))
        .to_owned();
    let mut query = process_run::Entity::find()
        .filter(process_run::Column::Id.in_subquery(run_id))
        .filter(process_run::Column::DeletedAt.is_null());
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    Ok(query.one(db).await?)
}

/// A live run row, locked for the rest of the transaction on PostgreSQL. SQLite needs no row
/// lock: write transactions there are IMMEDIATE and so already exclusive.
pub(crate) async fn lock_live(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<process_run::Model, PersistenceError> {
    let mut query =
        process_run::Entity::find_by_id(id).filter(process_run::Column::DeletedAt.is_null());
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", id))
}

/// Live step runs of a run, by step index then id.
pub(crate) async fn live_step_runs(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Vec<StepRun>, PersistenceError> {
    step_run::Entity::find()
        .filter(step_run::Column::RunId.eq(run_id))
        .filter(step_run::Column::DeletedAt.is_null())
        // Current attempts only; GET /step-runs/run/{id}?include_attempts=true shows the rest.
        .filter(step_run::Column::SupersededAt.is_null())
        .order_by_asc(step_run::Column::StepIndex)
        .order_by_asc(step_run::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(convert::step_run)
        .collect()
}

#[instrument(skip(db))]
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<ProcessRun, PersistenceError> {
    let run = find_live(db, id).await?;
    let steps = live_step_runs(db, id).await?;
    convert::run(run, steps)
}

/// Live runs matching the filter, in the requested order with id as tie-break.
#[instrument(skip(db))]
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &RunFilter,
    order: &RunOrder,
    paging: &Paging,
) -> Result<Page<ProcessRun>, PersistenceError> {
    let backend = db.get_database_backend();
    let key = match &order.field {
        RunSortKey::Column(RunOrderField::Id) => None,
        RunSortKey::Column(field) => Some((Expr::col(order_column(*field)), key_kind(*field))),
        RunSortKey::Meta(path) => Some((
            run_filters::meta_sort_key(backend, path),
            KeyKind::Meta(backend),
        )),
    };
    let nullable = match &order.field {
        RunSortKey::Column(field) => matches!(
            field,
            RunOrderField::StartedAt | RunOrderField::FinishedAt | RunOrderField::EntityName
        ),
        RunSortKey::Meta(_) => true,
    };
    let sort = SortSpec {
        key,
        nullable,
        id: Expr::col((process_run::Entity, process_run::Column::Id)),
        direction: order.direction,
    };
    // A listing narrowed by process and status alone is counted by the live counters.
    let known_total = match paging {
        Paging::Offset(_) if status_counts::can_count(filter) => {
            Some(status_counts::live_runs(db, filter.process_id, filter.status).await?)
        }
        _ => None,
    };
    page_of(db, filtered(filter, backend), &sort, paging, known_total).await
}

fn key_kind(field: RunOrderField) -> KeyKind {
    match field {
        RunOrderField::Id => KeyKind::Integer,
        RunOrderField::CreatedAt
        | RunOrderField::UpdatedAt
        | RunOrderField::StartedAt
        | RunOrderField::FinishedAt => KeyKind::Timestamp,
        RunOrderField::EntityId | RunOrderField::EntityName | RunOrderField::Status => {
            KeyKind::Text
        }
    }
}

/// One page of the runs `query` selects in the `sort` order, each with its live step runs:
/// two queries besides the count (none when paging by keyset, or when `known_total` gives it),
/// whatever the page size.
pub(crate) async fn page_of(
    db: &impl ConnectionTrait,
    query: Select<process_run::Entity>,
    sort: &SortSpec,
    paging: &Paging,
    known_total: Option<u64>,
) -> Result<Page<ProcessRun>, PersistenceError> {
    let (query, total) = paging::window_with_total(db, query, sort, paging, known_total).await?;
    let items = with_step_runs(db, query.all(db).await?).await?;
    Ok(paging::page(items, total, paging))
}

/// The runs with their live step runs, loaded in one query.
pub(crate) async fn with_step_runs(
    db: &impl ConnectionTrait,
    rows: Vec<process_run::Model>,
) -> Result<Vec<ProcessRun>, PersistenceError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut by_run: HashMap<i64, Vec<StepRun>> = HashMap::new();
    let step_rows = step_run::Entity::find()
        .filter(step_run::Column::RunId.is_in(ids))
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_asc(step_run::Column::StepIndex)
        .order_by_asc(step_run::Column::Id)
        .all(db)
        .await?;
    for s in step_rows {
        by_run
            .entry(s.run_id)
            .or_default()
            .push(convert::step_run(s)?);
    }
    rows.into_iter()
        .map(|r| {
            let steps = by_run.remove(&r.id).unwrap_or_default();
            convert::run(r, steps)
        })
        .collect()
}

fn order_column(field: RunOrderField) -> process_run::Column {
    use process_run::Column as C;
    match field {
        RunOrderField::Id => C::Id,
        RunOrderField::CreatedAt => C::CreatedAt,
        RunOrderField::UpdatedAt => C::UpdatedAt,
        RunOrderField::StartedAt => C::StartedAt,
        RunOrderField::FinishedAt => C::FinishedAt,
        RunOrderField::EntityId => C::EntityId,
        RunOrderField::EntityName => C::EntityName,
        RunOrderField::Status => C::Status,
    }
}

pub(crate) fn filtered(f: &RunFilter, backend: DbBackend) -> Select<process_run::Entity> {
    use process_run::Column as C;
    let mut q = process_run::Entity::find().filter(C::DeletedAt.is_null());
    if let Some(id) = f.process_id {
        q = q.filter(C::ProcessId.eq(id));
    }
    if let Some(entity_id) = &f.entity_id {
        q = q.filter(C::EntityId.eq(entity_id.as_str()));
    }
    if let Some(name) = &f.entity_name {
        let pattern = format!("%{}%", escape_like(&name.to_lowercase()));
        q = q.filter(
            Expr::expr(Func::lower(Expr::col(C::EntityName)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    if let Some(status) = f.status {
        q = q.filter(C::Status.eq(status.as_str()));
    }
    for (path, values) in f.meta.fields() {
        q = q.filter(run_filters::meta_condition(backend, path, values));
    }
    if let Some(step_id) = f.failed_at {
        q = q.filter(run_filters::failed_at(backend, step_id));
    }
    if let Some(h) = &f.health {
        q = q.filter(run_filters::health(h));
    }
    let ranges = [
        (C::CreatedAt, f.created_after, f.created_before),
        (C::StartedAt, f.started_after, f.started_before),
        (C::FinishedAt, f.finished_after, f.finished_before),
    ];
    for (column, after, before) in ranges {
        if let Some(after) = after {
            q = q.filter(column.gte(after));
        }
        if let Some(before) = before {
            q = q.filter(column.lte(before));
        }
    }
    q
}

pub(crate) fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
