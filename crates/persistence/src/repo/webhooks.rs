//! Webhooks: subscriptions to events, and the events themselves, enqueued in the outbox in the
//! transaction of the change that raised them. An event carries ids and statuses only, never
//! an entity name or meta values: receivers fetch the run with their own key.

use procdash_domain::reruns::{FailureCondition, RetryPolicy};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};
use tracing::instrument;

use crate::audit::{self, Change};
use crate::entities::{outbox as outbox_row, process, process_run, webhook};
use crate::repo::outbox::{self, NewDelivery};
use crate::{Actor, PersistenceError, clock, tx};

/// Every event a webhook may subscribe to.
pub const EVENTS: [&str; 6] = [
    "run.failed",
    "run.completed",
    "run.cancelled",
    "run.stuck",
    "step_run.failed",
    "rerun.dispatch_failed",
];

/// Webhook deliveries retry for about 2.5 hours: 10 s, 1 min, 5 min, 30 min, 2 h.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        retry_delays: vec![10.0, 60.0, 300.0, 1800.0, 7200.0],
        timeout_seconds: 10.0,
        failure_conditions: FailureCondition::ALL.to_vec(),
    }
}

/// A validated subscription.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub process_id: Option<i64>,
}

/// A subscription as callers see it: never with its secret.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub process_id: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn view(m: &webhook::Model) -> Webhook {
    Webhook {
        id: m.id,
        url: m.url.clone(),
        events: serde_json::from_value(m.events.clone()).unwrap_or_default(),
        process_id: m.process_id,
        created_at: m.created_at,
    }
}

fn snapshot(m: &webhook::Model) -> Value {
    json!({
        "id": m.id, "url": m.url, "events": m.events, "process_id": m.process_id,
        "deleted_at": m.deleted_at,
    })
}

/// Stores a subscription with the secret the caller generated.
#[instrument(skip(db, actor, new, secret))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewWebhook,
    secret: &str,
) -> Result<Webhook, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    if let Some(pid) = new.process_id {
        process::Entity::find_by_id(pid)
            .filter(process::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
            .ok_or_else(|| PersistenceError::not_found("process", pid))?;
    }
    let now = clock::now();
    let saved = webhook::ActiveModel {
        url: Set(new.url),
        secret: Set(secret.to_owned()),
        events: Set(json!(new.events)),
        process_id: Set(new.process_id),
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
            entity: "webhook",
            record_id: saved.id,
            operation: "create",
            before: None,
            after: Some(snapshot(&saved)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(view(&saved))
}

async fn find_live(db: &impl ConnectionTrait, id: i64) -> Result<webhook::Model, PersistenceError> {
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(|| PersistenceError::not_found("webhook", id))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Webhook, PersistenceError> {
    Ok(view(&find_live(db, id).await?))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Webhook>, PersistenceError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::DeletedAt.is_null())
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// The signing secret of a live webhook, for the dispatcher only.
pub async fn signing_secret(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<String>, PersistenceError> {
    Ok(webhook::Entity::find_by_id(id)
        .filter(webhook::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(|m| m.secret))
}

/// Soft-deletes a subscription; its pending deliveries stop (the dispatcher finds no secret).
#[instrument(skip(db, actor))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = find_live(&txn, id).await?;
    let before = snapshot(&current);
    let now = clock::now();
    let mut model: webhook::ActiveModel = current.into();
    model.deleted_at = Set(Some(now));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "webhook",
            record_id: id,
            operation: "delete",
            before: Some(before),
            after: Some(snapshot(&saved)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Enqueues a test event (`webhook.test`) for one webhook.
#[instrument(skip(db, actor))]
pub async fn send_test(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<outbox_row::Model, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let hook = find_live(&txn, id).await?;
    let delivery = insert_delivery(
        &txn,
        actor,
        &hook,
        "webhook.test",
        json!({"webhook_id": id}),
        None,
    )
    .await?
    .ok_or_else(|| PersistenceError::Conflict("test event already queued".to_owned()))?;
    txn.commit().await?;
    Ok(delivery)
}

async fn insert_delivery(
    db: &impl ConnectionTrait,
    actor: &Actor,
    hook: &webhook::Model,
    event_type: &str,
    data: Value,
    dedupe_key: Option<String>,
) -> Result<Option<outbox_row::Model>, PersistenceError> {
    let delivery_id = outbox::new_delivery_id();
    let payload = json!({
        "id": delivery_id, "type": event_type, "occurred_at": clock::now(), "data": data,
    });
    outbox::insert(
        db,
        actor,
        NewDelivery {
            kind: outbox::KIND_WEBHOOK,
            subject_id: hook.id,
            delivery_id,
            event_type: Some(event_type.to_owned()),
            method: "POST",
            target: hook.url.clone(),
            payload,
            policy: retry_policy(),
            dedupe_key,
        },
    )
    .await
}

/// Enqueues `event_type` for every live webhook that subscribes to it and to `process_id`.
/// `dedupe_key` makes the event once-only per webhook (a stuck run is reported once).
pub async fn enqueue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    event_type: &str,
    process_id: i64,
    data: Value,
    dedupe_key: Option<String>,
) -> Result<usize, PersistenceError> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    let mut queued = 0;
    for hook in hooks.iter().filter(|h| matches(h, event_type, process_id)) {
        if insert_delivery(
            db,
            actor,
            hook,
            event_type,
            data.clone(),
            dedupe_key.clone(),
        )
        .await?
        .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}

fn matches(hook: &webhook::Model, event_type: &str, process_id: i64) -> bool {
    let subscribed = hook
        .events
        .as_array()
        .is_some_and(|e| e.iter().any(|v| v.as_str() == Some(event_type)));
    subscribed && hook.process_id.is_none_or(|p| p == process_id)
}

/// The hook in the run status recomputation: a run that just became failed, completed or
/// cancelled raises its event in the same transaction.
pub(crate) async fn run_status_changed(
    db: &impl ConnectionTrait,
    actor: &Actor,
    run: &process_run::Model,
    previous_status: &str,
) -> Result<(), PersistenceError> {
    if run.status == previous_status {
        return Ok(());
    }
    let event = match run.status.as_str() {
        "failed" => "run.failed",
        "completed" => "run.completed",
        "cancelled" => "run.cancelled",
        _ => return Ok(()),
    };
    let data = json!({
        "run_id": run.id, "process_id": run.process_id, "status": run.status,
        "previous_status": previous_status, "finished_at": run.finished_at,
    });
    enqueue(db, actor, event, run.process_id, data, None).await?;
    Ok(())
}

/// The hook in step-run writes: a step run that just became failed raises step_run.failed.
pub(crate) async fn step_run_changed(
    db: &impl ConnectionTrait,
    actor: &Actor,
    process_id: i64,
    step_run: &crate::entities::step_run::Model,
    previous_status: Option<&str>,
) -> Result<(), PersistenceError> {
    if step_run.status != "failed" || previous_status == Some("failed") {
        return Ok(());
    }
    let data = json!({
        "run_id": step_run.run_id, "process_id": process_id, "step_run_id": step_run.id,
        "step_id": step_run.step_id, "step_index": step_run.step_index,
        "attempt": step_run.attempt, "status": step_run.status,
    });
    enqueue(db, actor, "step_run.failed", process_id, data, None).await?;
    Ok(())
}

/// Raises run.stuck once per run and webhook for the given stuck runs.
pub async fn runs_stuck(
    db: &DatabaseConnection,
    actor: &Actor,
    stuck: &[(i64, i64)],
) -> Result<usize, PersistenceError> {
    let mut queued = 0;
    for &(run_id, process_id) in stuck {
        let txn = tx::begin_write(db).await?;
        let data = json!({"run_id": run_id, "process_id": process_id, "status": "running", "health": "stuck"});
        queued += enqueue(
            &txn,
            actor,
            "run.stuck",
            process_id,
            data,
            Some(format!("run.stuck:{run_id}")),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(queued)
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn generate_secret() -> Result<String, PersistenceError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|e| PersistenceError::Corrupt(format!("no randomness: {e}")))?;
    Ok(format!("whsec_{}", hex::encode(random)))
}

/// Running live runs (id, process, started_at), when some webhook subscribes to run.stuck;
/// empty otherwise, so the stuck job costs nothing without subscribers.
pub async fn running_runs_if_watched(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)>, PersistenceError> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    if !hooks.iter().any(|h| {
        h.events
            .as_array()
            .is_some_and(|e| e.iter().any(|v| v.as_str() == Some("run.stuck")))
    }) {
        return Ok(Vec::new());
    }
    use sea_orm::QuerySelect;
    Ok(process_run::Entity::find()
        .select_only()
        .column(process_run::Column::Id)
        .column(process_run::Column::ProcessId)
        .column(process_run::Column::StartedAt)
        .filter(process_run::Column::DeletedAt.is_null())
        .filter(process_run::Column::Status.eq("running"))
        .into_tuple()
        .all(db)
        .await?)
}
