//! Reruns of failed step runs: a rerun is a new step run (the next attempt) linked to the first
//! attempt, the previous attempt marked superseded, and an outbox delivery that dispatches the
//! rerun to the target system, all in one transaction.

use chrono::{DateTime, Utc};
use procdash_domain::outbound::OutboundPolicy;
use procdash_domain::reruns::{
    Adapter, RerunCandidate, RerunConfig, RerunRefusal, automation_server_target, check_rerunnable,
};
use procdash_domain::{DomainError, StepRun, StepStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{outbox as outbox_row, process_run, process_step, step_run};
use crate::repo::outbox::{self, NewDelivery};
use crate::repo::step_runs::find_live;
use crate::repo::{runs, step_runs, webhooks};
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Most step runs one bulk call may rerun.
pub const BULK_LIMIT: u64 = 1000;

/// Where reruns may be dispatched: the allow-list and AUTOMATION_SERVER_URL.
#[derive(Debug, Clone, Default)]
pub struct DispatchTargets {
    pub policy: OutboundPolicy,
    pub automation_server_url: Option<String>,
}

/// A rerun that was created.
#[derive(Debug, Clone)]
pub struct Rerun {
    pub previous_id: i64,
    pub attempt: StepRun,
    pub adapter: &'static str,
    pub dispatch_state: String,
}

/// The outbox delivery a rerun needs, decided before anything is written.
struct Dispatch {
    kind: &'static str,
    adapter: &'static str,
    method: &'static str,
    target: String,
    config: RerunConfig,
}

async fn load_step(
    db: &impl ConnectionTrait,
    step_id: i64,
) -> Result<process_step::Model, PersistenceError> {
    process_step::Entity::find_by_id(step_id)
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::Corrupt(format!("step {step_id} of a step run is gone")))
}

/// The latest live step run of the same step in the same run: only it may be rerun.
async fn is_current(
    db: &impl ConnectionTrait,
    sr: &step_run::Model,
) -> Result<bool, PersistenceError> {
    if sr.superseded_at.is_some() {
        return Ok(false);
    }
    let latest: Option<i64> = step_run::Entity::find()
        .select_only()
        .column(step_run::Column::Id)
        .filter(step_run::Column::RunId.eq(sr.run_id))
        .filter(step_run::Column::StepId.eq(sr.step_id))
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_desc(step_run::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest == Some(sr.id))
}

/// The rerun rule and the dispatch target for one step run.
async fn evaluate(
    db: &impl ConnectionTrait,
    sr: &step_run::Model,
    targets: &DispatchTargets,
) -> Result<Result<Dispatch, RerunRefusal>, PersistenceError> {
    let step = load_step(db, sr.step_id).await?;
    let config =
        match RerunConfig::parse("rerun_config", step.rerun_config.as_ref(), &targets.policy) {
            Ok(c) => c,
            Err(errors) => {
                let why = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Ok(Err(RerunRefusal::NoTarget(why)));
            }
        };
    let candidate = RerunCandidate {
        step_is_rerunnable: step.is_rerunnable && step.deleted_at.is_none(),
        status: convert::step_status(&sr.status)?,
        is_current: is_current(db, sr).await?,
        attempt: sr.attempt,
    };
    if let Err(refusal) = check_rerunnable(candidate, config.max_reruns) {
        return Ok(Err(refusal));
    }
    Ok(dispatch_for(config, targets))
}

fn dispatch_for(config: RerunConfig, targets: &DispatchTargets) -> Result<Dispatch, RerunRefusal> {
    match config.adapter.clone() {
        None => Err(RerunRefusal::NoTarget(
            "rerun_config needs adapter with workitem_id (automation_server) or api_endpoint (http)"
                .to_owned(),
        )),
        Some(Adapter::AutomationServer { workitem_id }) => {
            let Some(base) = targets.automation_server_url.as_deref() else {
                return Err(RerunRefusal::NoTarget(
                    "the automation_server adapter needs AUTOMATION_SERVER_URL, which is not set"
                        .to_owned(),
                ));
            };
            let target =
                automation_server_target(base, &workitem_id).map_err(RerunRefusal::NoTarget)?;
            Ok(Dispatch {
                kind: outbox::KIND_RERUN_AUTOMATION,
                adapter: "automation_server",
                method: "PUT",
                target,
                config,
            })
        }
        Some(Adapter::Http { api_endpoint }) => Ok(Dispatch {
            kind: outbox::KIND_RERUN_HTTP,
            adapter: "http",
            method: "POST",
            target: api_endpoint,
            config,
        }),
    }
}

/// Maps a refusal to the API's answer: a rule (409) or a missing target (422).
fn refusal_error(refusal: RerunRefusal) -> PersistenceError {
    match refusal {
        RerunRefusal::NoTarget(_) => DomainError::field("rerun_config", refusal.to_string()).into(),
        other => PersistenceError::Conflict(other.to_string()),
    }
}

/// Reruns a failed step run (`POST /step-runs/{id}/rerun`).
#[instrument(skip(db, actor, meta, targets))]
pub async fn rerun(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    meta: Option<Value>,
    targets: &DispatchTargets,
) -> Result<Rerun, PersistenceError> {
    rerun_checked(db, actor, id, meta, targets)
        .await?
        .map_err(refusal_error)
}

/// A rerun, or why the rules refuse it.
async fn rerun_checked(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    meta: Option<Value>,
    targets: &DispatchTargets,
) -> Result<Result<Rerun, RerunRefusal>, PersistenceError> {
    let run_id = find_live(db, id).await?.run_id;
    let txn = tx::begin_write(db).await?;
    let run = runs::lock_live(&txn, run_id).await?;
    let previous = find_live(&txn, id).await?;
    let dispatch = match evaluate(&txn, &previous, targets).await? {
        Ok(d) => d,
        Err(refusal) => {
            txn.rollback().await?;
            return Ok(Err(refusal));
        }
    };
    let now = clock::now();
    let before = snapshot::step_run(&previous);
    let mut superseded: step_run::ActiveModel = previous.clone().into();
    superseded.superseded_at = Set(Some(now));
    superseded.updated_at = Set(now);
    superseded.updated_by = Set(actor.label());
    let superseded = superseded.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "step_run",
            record_id: superseded.id,
            operation: "supersede",
            before: Some(before),
            after: Some(snapshot::step_run(&superseded)),
        },
    )
    .await?;
    let attempt = step_run::ActiveModel {
        run_id: Set(previous.run_id),
        step_id: Set(previous.step_id),
        step_index: Set(previous.step_index),
        status: Set(StepStatus::Pending.as_str().to_owned()),
        original_step_run_id: Set(Some(previous.original_step_run_id.unwrap_or(previous.id))),
        attempt: Set(previous.attempt.saturating_add(1)),
        rerun_meta: Set(meta.clone()),
        last_modified_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "step_run",
            record_id: attempt.id,
            operation: "rerun",
            before: None,
            after: Some(snapshot::step_run(&attempt)),
        },
    )
    .await?;
    let payload = match dispatch.kind {
        outbox::KIND_RERUN_AUTOMATION => json!({"status": "new"}),
        _ => json!({
            "run_id": run.id, "process_id": run.process_id, "step_id": attempt.step_id,
            "step_index": attempt.step_index, "step_run_id": attempt.id,
            "original_step_run_id": attempt.original_step_run_id, "attempt": attempt.attempt,
            "meta": meta.unwrap_or_else(|| json!({})),
        }),
    };
    let delivery = outbox::insert(
        &txn,
        actor,
        NewDelivery {
            kind: dispatch.kind,
            subject_id: attempt.id,
            delivery_id: outbox::new_delivery_id(),
            event_type: None,
            method: dispatch.method,
            target: dispatch.target,
            payload,
            policy: dispatch.config.retry.clone(),
            dedupe_key: None,
        },
    )
    .await?;
    step_runs::recompute_run(&txn, actor, run, now).await?;
    txn.commit().await?;
    Ok(Ok(Rerun {
        previous_id: previous.id,
        attempt: convert::step_run(attempt)?,
        adapter: dispatch.adapter,
        dispatch_state: delivery.map_or_else(|| outbox::STATE_PENDING.to_owned(), |d| d.state),
    }))
}

/// Every attempt of the chain the step run belongs to, first attempt first.
#[instrument(skip(db))]
pub async fn attempts(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<StepRun>, PersistenceError> {
    let sr = find_live(db, id).await?;
    runs::find_live(db, sr.run_id).await?;
    let original = sr.original_step_run_id.unwrap_or(sr.id);
    step_run::Entity::find()
        .filter(
            Condition::any()
                .add(step_run::Column::Id.eq(original))
                .add(step_run::Column::OriginalStepRunId.eq(original)),
        )
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_asc(step_run::Column::Attempt)
        .order_by_asc(step_run::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(convert::step_run)
        .collect()
}

/// Every live step run of a live run, superseded attempts included.
#[instrument(skip(db))]
pub async fn all_attempts_for_run(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Vec<StepRun>, PersistenceError> {
    runs::find_live(db, run_id).await?;
    step_run::Entity::find()
        .filter(step_run::Column::RunId.eq(run_id))
        .filter(step_run::Column::DeletedAt.is_null())
        .order_by_asc(step_run::Column::StepIndex)
        .order_by_asc(step_run::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(convert::step_run)
        .collect()
}

/// Current attempts of a run that are failed, rerunnable and have reruns left.
#[instrument(skip(db, targets))]
pub async fn rerunnable_for_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    targets: &DispatchTargets,
) -> Result<Vec<StepRun>, PersistenceError> {
    runs::find_live(db, run_id).await?;
    let failed = step_run::Entity::find()
        .filter(step_run::Column::RunId.eq(run_id))
        .filter(step_run::Column::DeletedAt.is_null())
        .filter(step_run::Column::SupersededAt.is_null())
        .filter(step_run::Column::Status.eq(StepStatus::Failed.as_str()))
        .order_by_asc(step_run::Column::StepIndex)
        .order_by_asc(step_run::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for sr in failed {
        if evaluate(db, &sr, targets).await?.is_ok() {
            out.push(convert::step_run(sr)?);
        }
    }
    Ok(out)
}

/// What a bulk rerun applies to.
#[derive(Debug, Clone)]
pub enum BulkSelection {
    Ids(Vec<i64>),
    Filter {
        process_id: i64,
        step_id: Option<i64>,
        failed_since: Option<DateTime<Utc>>,
        failed_until: Option<DateTime<Utc>>,
    },
}

/// One step run that was (or would be) rerun.
#[derive(Debug, Clone)]
pub struct BulkRerun {
    pub step_run_id: i64,
    /// The new attempt; None on a dry run.
    pub new_step_run_id: Option<i64>,
    pub attempt: i32,
    pub adapter: &'static str,
}

/// The answer of a bulk rerun.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    pub rerun: Vec<BulkRerun>,
    /// (step run id, reason)
    pub skipped: Vec<(i64, String)>,
}

async fn select(
    db: &impl ConnectionTrait,
    selection: &BulkSelection,
) -> Result<Vec<i64>, PersistenceError> {
    let BulkSelection::Filter {
        process_id,
        step_id,
        failed_since,
        failed_until,
    } = selection
    else {
        return Ok(match selection {
            BulkSelection::Ids(ids) => ids.clone(),
            BulkSelection::Filter { .. } => Vec::new(),
        });
    };
    let live_runs = Query::select()
        .column(process_run::Column::Id)
        .from(process_run::Entity)
        .and_where(Expr::col(process_run::Column::ProcessId).eq(*process_id))
        .and_where(Expr::col(process_run::Column::DeletedAt).is_null())
        .to_owned();
    let mut query = step_run::Entity::find()
        .select_only()
        .column(step_run::Column::Id)
        .filter(step_run::Column::RunId.in_subquery(live_runs))
        .filter(step_run::Column::DeletedAt.is_null())
        .filter(step_run::Column::SupersededAt.is_null())
        .filter(step_run::Column::Status.eq(StepStatus::Failed.as_str()));
    if let Some(step_id) = step_id {
        query = query.filter(step_run::Column::StepId.eq(*step_id));
    }
    if let Some(since) = failed_since {
        query = query.filter(step_run::Column::FinishedAt.gte(*since));
    }
    if let Some(until) = failed_until {
        query = query.filter(step_run::Column::FinishedAt.lte(*until));
    }
    let ids: Vec<i64> = query
        .order_by_asc(step_run::Column::Id)
        .limit(BULK_LIMIT + 1)
        .into_tuple()
        .all(db)
        .await?;
    if ids.len() as u64 > BULK_LIMIT {
        return Err(DomainError::field(
            "filter",
            format!("matches more than {BULK_LIMIT} failed step runs; narrow it"),
        )
        .into());
    }
    Ok(ids)
}

/// Reruns (or, on a dry run, checks) many step runs; each rerun is its own transaction, so
/// one refusal or error never undoes the others.
#[instrument(skip(db, actor, selection, meta, targets))]
pub async fn bulk(
    db: &DatabaseConnection,
    actor: &Actor,
    selection: BulkSelection,
    dry_run: bool,
    meta: Option<Value>,
    targets: &DispatchTargets,
) -> Result<BulkOutcome, PersistenceError> {
    let ids = select(db, &selection).await?;
    let mut outcome = BulkOutcome::default();
    for id in ids {
        let Some(sr) = step_run::Entity::find_by_id(id)
            .filter(step_run::Column::DeletedAt.is_null())
            .one(db)
            .await?
        else {
            outcome.skipped.push((id, "not_found".to_owned()));
            continue;
        };
        match runs::find_live(db, sr.run_id).await {
            Ok(_) => {}
            Err(PersistenceError::NotFound { .. }) => {
                outcome.skipped.push((id, "not_found".to_owned()));
                continue;
            }
            Err(e) => return Err(e),
        }
        if dry_run {
            match evaluate(db, &sr, targets).await? {
                Ok(d) => outcome.rerun.push(BulkRerun {
                    step_run_id: id,
                    new_step_run_id: None,
                    attempt: sr.attempt.saturating_add(1),
                    adapter: d.adapter,
                }),
                Err(r) => outcome.skipped.push((id, r.code().to_owned())),
            }
            continue;
        }
        match rerun_checked(db, actor, id, meta.clone(), targets).await {
            Ok(Ok(r)) => outcome.rerun.push(BulkRerun {
                step_run_id: id,
                new_step_run_id: Some(r.attempt.id),
                attempt: r.attempt.attempt,
                adapter: r.adapter,
            }),
            Ok(Err(refusal)) => outcome.skipped.push((id, refusal.code().to_owned())),
            // Deleted between the selection and the rerun.
            Err(PersistenceError::NotFound { .. }) => {
                outcome.skipped.push((id, "not_found".to_owned()));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}

/// Called in the transaction that records a rerun dispatch's final failure: the attempt, if it
/// is still the current one and nothing picked it up, becomes failed with the failure object.
pub(crate) async fn dispatch_failed(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    delivery: &outbox_row::Model,
    last_error: Option<String>,
) -> Result<(), PersistenceError> {
    // A step run or run deleted since the rerun: nothing left to fail.
    let sr = match find_live(txn, delivery.subject_id).await {
        Ok(sr) => sr,
        Err(PersistenceError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let run = match runs::lock_live(txn, sr.run_id).await {
        Ok(run) => run,
        Err(PersistenceError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let sr = find_live(txn, sr.id).await?;
    if sr.superseded_at.is_some() || sr.status != StepStatus::Pending.as_str() {
        return Ok(());
    }
    let adapter = if delivery.kind == outbox::KIND_RERUN_AUTOMATION {
        "automation_server"
    } else {
        "http"
    };
    let message = match (&last_error, delivery.last_status) {
        (Some(e), _) => e.clone(),
        (None, Some(status)) => format!("the target answered HTTP {status}"),
        (None, None) => "the target could not be reached".to_owned(),
    };
    let now = clock::now();
    let before = snapshot::step_run(&sr);
    let mut model: step_run::ActiveModel = sr.into();
    model.status = Set(StepStatus::Failed.as_str().to_owned());
    model.finished_at = Set(Some(now));
    model.failure = Set(Some(json!({
        "error": "Rerun dispatch failed", "adapter": adapter,
        "last_status": delivery.last_status, "message": message,
    })));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(txn).await?;
    audit::record(
        txn,
        actor,
        Change {
            entity: "step_run",
            record_id: saved.id,
            operation: "dispatch_failed",
            before: Some(before),
            after: Some(snapshot::step_run(&saved)),
        },
    )
    .await?;
    let data = json!({
        "run_id": run.id, "process_id": run.process_id, "step_run_id": saved.id,
        "step_id": saved.step_id, "attempt": saved.attempt, "adapter": adapter,
        "last_status": delivery.last_status,
    });
    webhooks::enqueue(
        txn,
        actor,
        "rerun.dispatch_failed",
        run.process_id,
        data,
        None,
    )
    .await?;
    step_runs::recompute_run(txn, actor, run, now).await
}
