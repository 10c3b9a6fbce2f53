use chrono::{DateTime, Utc};
use procdash_domain::{
    DomainError, RunTimes, StepRun, StepRunState, StepStatus, StepUpdate, apply_run_status,
    apply_step_update, derive_run_status,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process_run, process_step, step_run};
use crate::repo::preconditions::{self, Precondition};
use crate::repo::{runs, webhooks};
use crate::{Actor, PersistenceError, clock, convert, tx};

/// A manual step run for an existing run and a live step of the same process.
#[derive(Debug, Clone)]
pub struct NewStepRun {
    pub run_id: i64,
    pub step_id: i64,
    pub update: StepUpdate,
    pub last_modified_by: Option<String>,
}

pub(crate) async fn find_live(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<step_run::Model, PersistenceError> {
    step_run::Entity::find_by_id(id)
        .filter(step_run::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("step run", id))
}

/// Applies a status report to a step run and recomputes its run, in one transaction with the run
/// row locked, so concurrent reports for one run never leave a stale run status.
#[instrument(skip(db, actor, update, last_modified_by, pre), fields(status = %update.status))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    update: StepUpdate,
    last_modified_by: Option<String>,
    pre: Option<&Precondition>,
) -> Result<StepRun, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let Some(run) = runs::lock_live_of_step_run(&txn, id).await? else {
        // Only on the error path: tell a missing step run from a deleted run.
        let run_id = find_live(&txn, id).await?.run_id;
        return Err(PersistenceError::not_found("run", run_id));
    };
    let current = find_live(&txn, id).await?;
    preconditions::step_run(&current, pre)?;
    let now = clock::now();
    let process_id = run.process_id;
    let (saved, change) = apply_report(
        &txn,
        actor,
        process_id,
        current,
        update,
        last_modified_by,
        now,
    )
    .await?;
    let mut changes = vec![change];
    changes.extend(recompute_change(&txn, actor, run, now).await?);
    // Both change rows in one statement: 8 round trips on PostgreSQL, BEGIN and COMMIT included.
    audit::record_many(&txn, actor, changes).await?;
    txn.commit().await?;
    convert::step_run(saved)
}

/// Applies one status report to a step run the caller has read under the run's lock (and queues
/// the step_run.failed webhook when it fails). Returns the saved row and its change, which the
/// caller records (batched with the run's recompute) and then recomputes the run.
pub(crate) async fn apply_report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    process_id: i64,
    current: step_run::Model,
    update: StepUpdate,
    last_modified_by: Option<String>,
    now: DateTime<Utc>,
) -> Result<(step_run::Model, Change), PersistenceError> {
    let state = StepRunState {
        status: convert::step_status(&current.status)?,
        started_at: current.started_at,
        finished_at: current.finished_at,
        failure: current.failure.clone(),
    };
    let next = apply_step_update(&state, precise(update), now);
    let before = snapshot::step_run(&current);
    let previous_status = current.status.clone();
    let mut model: step_run::ActiveModel = current.into();
    model.status = Set(next.status.as_str().to_owned());
    model.started_at = Set(next.started_at);
    model.finished_at = Set(next.finished_at);
    model.failure = Set(next.failure);
    if last_modified_by.is_some() {
        model.last_modified_by = Set(last_modified_by);
    }
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(db).await?;
    let change = Change {
        entity: "step_run",
        record_id: saved.id,
        operation: "update",
        before: Some(before),
        after: Some(snapshot::step_run(&saved)),
    };
    webhooks::step_run_changed(db, actor, process_id, &saved, Some(&previous_status)).await?;
    Ok((saved, change))
}

/// Adds a step run by hand (the seed's manual endpoint) and recomputes the run.
#[instrument(skip(db, actor, new), fields(run_id = new.run_id, step_id = new.step_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewStepRun,
) -> Result<StepRun, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let run = runs::lock_live(&txn, new.run_id).await?;
    let step = process_step::Entity::find_by_id(new.step_id)
        .filter(process_step::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("step", new.step_id))?;
    if step.process_id != run.process_id {
        return Err(DomainError::field(
            "step_id",
            format!(
                "step {} belongs to process {}, not to the run's process {}",
                step.id, step.process_id, run.process_id
            ),
        )
        .into());
    }
    let now = clock::now();
    let blank = StepRunState {
        status: StepStatus::Pending,
        started_at: None,
        finished_at: None,
        failure: None,
    };
    let state = apply_step_update(&blank, precise(new.update), now);
    let saved = step_run::ActiveModel {
        run_id: Set(run.id),
        step_id: Set(step.id),
        step_index: Set(step.step_index),
        status: Set(state.status.as_str().to_owned()),
        started_at: Set(state.started_at),
        finished_at: Set(state.finished_at),
        failure: Set(state.failure),
        last_modified_by: Set(new.last_modified_by),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let change = Change {
        entity: "step_run",
        record_id: saved.id,
        operation: "create",
        before: None,
        after: Some(snapshot::step_run(&saved)),
    };
    audit::record(&txn, actor, change).await?;
    webhooks::step_run_changed(&txn, actor, run.process_id, &saved, None).await?;
    recompute_run(&txn, actor, run, now).await?;
    txn.commit().await?;
    convert::step_run(saved)
}

fn precise(update: StepUpdate) -> StepUpdate {
    StepUpdate {
        started_at: update.started_at.map(clock::at_storage_precision),
        finished_at: update.finished_at.map(clock::at_storage_precision),
        ..update
    }
}

/// Re-derives a run's status and timestamps from its live step runs and records the change.
/// The caller holds the lock.
pub(crate) async fn recompute_run(
    db: &impl ConnectionTrait,
    actor: &Actor,
    run: process_run::Model,
    now: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    if let Some(change) = recompute_change(db, actor, run, now).await? {
        audit::record(db, actor, change).await?;
    }
    Ok(())
}

/// Re-derives a run's status and timestamps and saves the run when they changed; returns the
/// change for the caller to record (so it can batch it with its own).
pub(crate) async fn recompute_change(
    db: &impl ConnectionTrait,
    actor: &Actor,
    run: process_run::Model,
    now: DateTime<Utc>,
) -> Result<Option<Change>, PersistenceError> {
    // Only the current (latest) live step run of each step counts: a manual step run for a
    // step supersedes the earlier one.
    let raw: Vec<(i64, String)> = step_run::Entity::find()
        .select_only()
        .column(step_run::Column::StepId)
        .column(step_run::Column::Status)
        .filter(step_run::Column::RunId.eq(run.id))
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_asc(step_run::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut current: std::collections::BTreeMap<i64, String> = std::collections::BTreeMap::new();
    for (step_id, status) in raw {
        current.insert(step_id, status);
    }
    let statuses = current
        .values()
        .map(|s| convert::step_status(s))
        .collect::<Result<Vec<_>, _>>()?;
    let previous = convert::run_status(&run.status)?;
    let next = derive_run_status(&statuses);
    let before = RunTimes {
        started_at: run.started_at,
        finished_at: run.finished_at,
    };
    let after = apply_run_status(previous, next, before, now);
    if previous == next && before == after {
        return Ok(None);
    }
    let before_snapshot = snapshot::run(&run);
    let mut model: process_run::ActiveModel = run.into();
    model.status = Set(next.as_str().to_owned());
    model.started_at = Set(after.started_at);
    model.finished_at = Set(after.finished_at);
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(db).await?;
    webhooks::run_status_changed(db, actor, &saved, previous.as_str()).await?;
    Ok(Some(Change {
        entity: "run",
        record_id: saved.id,
        operation: "recompute",
        before: Some(before_snapshot),
        after: Some(snapshot::run(&saved)),
    }))
}

/// One live step run.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<StepRun, PersistenceError> {
    convert::step_run(find_live(db, id).await?)
}

/// Live step runs of a live run.
#[instrument(skip(db))]
pub async fn list_for_run(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Vec<StepRun>, PersistenceError> {
    runs::find_live(db, run_id).await?;
    runs::live_step_runs(db, run_id).await
}

/// The current (latest) live step run of one step in a live run.
#[instrument(skip(db))]
pub async fn get_for_run_step(
    db: &impl ConnectionTrait,
    run_id: i64,
    step_id: i64,
) -> Result<StepRun, PersistenceError> {
    runs::find_live(db, run_id).await?;
    let row = step_run::Entity::find()
        .filter(step_run::Column::RunId.eq(run_id))
        .filter(step_run::Column::StepId.eq(step_id))
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_desc(step_run::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("step run for step", step_id))?;
    convert::step_run(row)
}
