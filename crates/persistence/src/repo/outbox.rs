//! The outbox: one row per outbound delivery (a rerun dispatch or a webhook event), inserted in
//! the transaction of the change that caused it, then claimed and sent by the dispatcher.
//! Rows are claimed with a lease, so an instance that dies mid-send gives the row back when the
//! lease runs out, and two instances never send one row at the same time (PostgreSQL: the
//! candidates are locked `FOR UPDATE SKIP LOCKED`; SQLite: the IMMEDIATE write transaction).

use chrono::{DateTime, Duration, Utc};
use procdash_domain::reruns::RetryPolicy;
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{self, Change};
use crate::entities::outbox;
use crate::{Actor, PersistenceError, clock, tx};

pub const KIND_RERUN_HTTP: &str = "rerun_http";
pub const KIND_RERUN_AUTOMATION: &str = "rerun_automation_server";
pub const KIND_WEBHOOK: &str = "webhook";
pub const RERUN_KINDS: [&str; 2] = [KIND_RERUN_HTTP, KIND_RERUN_AUTOMATION];

pub const STATE_PENDING: &str = "pending";
pub const STATE_DELIVERED: &str = "delivered";
pub const STATE_FAILED: &str = "failed";

/// A delivery to enqueue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub kind: &'static str,
    pub subject_id: i64,
    /// Sent as Procdash-Delivery (and as a webhook body's id): see [`new_delivery_id`].
    pub delivery_id: String,
    pub event_type: Option<String>,
    pub method: &'static str,
    pub target: String,
    pub payload: Value,
    pub policy: RetryPolicy,
    /// Deliveries with the same subject and key are enqueued once.
    pub dedupe_key: Option<String>,
}

/// One try as recorded and shown.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TryRecord {
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What the change log keeps of a delivery: never the payload (the receiver's copy) and never a
/// secret (those are added at send time).
fn snapshot(m: &outbox::Model) -> Value {
    json!({
        "id": m.id, "kind": m.kind, "subject_id": m.subject_id, "event_type": m.event_type,
        "delivery_id": m.delivery_id, "state": m.state, "try_count": m.try_count,
        "last_status": m.last_status, "next_attempt_at": m.next_attempt_at,
        "finished_at": m.finished_at,
    })
}

/// A fresh delivery id.
pub fn new_delivery_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Inserts a delivery on the caller's transaction. Returns None when the dedupe key was taken.
pub async fn insert(
    db: &impl ConnectionTrait,
    actor: &Actor,
    new: NewDelivery,
) -> Result<Option<outbox::Model>, PersistenceError> {
    let now = clock::now();
    let policy = serde_json::to_value(&new.policy)
        .map_err(|e| PersistenceError::Corrupt(format!("retry policy: {e}")))?;
    let row = outbox::ActiveModel {
        kind: Set(new.kind.to_owned()),
        subject_id: Set(new.subject_id),
        event_type: Set(new.event_type),
        delivery_id: Set(new.delivery_id),
        method: Set(new.method.to_owned()),
        target: Set(new.target),
        payload: Set(new.payload),
        policy: Set(policy),
        state: Set(STATE_PENDING.to_owned()),
        next_attempt_at: Set(now),
        tries: Set(Some(json!([]))),
        try_count: Set(0),
        dedupe_key: Set(new.dedupe_key.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    };
    let saved = if new.dedupe_key.is_some() {
        let on_conflict =
            OnConflict::columns([outbox::Column::SubjectId, outbox::Column::DedupeKey])
                .do_nothing()
                .to_owned();
        let inserted = outbox::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_with_returning(db)
            .await;
        match inserted {
            Ok(m) => m,
            Err(sea_orm::DbErr::RecordNotInserted) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    } else {
        row.insert(db).await?
    };
    let change = Change {
        entity: "outbox",
        record_id: saved.id,
        operation: "create",
        before: None,
        after: Some(snapshot(&saved)),
    };
    audit::record(db, actor, change).await?;
    Ok(Some(saved))
}

/// Claims up to `limit` due rows for `instance` until `now + lease`.
pub async fn claim_due(
    db: &DatabaseConnection,
    instance: &str,
    lease: Duration,
    limit: u64,
) -> Result<Vec<outbox::Model>, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let now = clock::now();
    let mut due = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::State.eq(STATE_PENDING))
        .filter(outbox::Column::DeletedAt.is_null())
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(outbox::Column::LeaseUntil.is_null())
                .add(outbox::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<i64> = due.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(now + lease),
        )
        .col_expr(
            outbox::Column::ClaimedBy,
            sea_orm::sea_query::Expr::value(instance.to_owned()),
        )
        .filter(outbox::Column::Id.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(ids))
        .order_by_asc(outbox::Column::Id)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}

/// How a try ended, as the dispatcher decided it.
#[derive(Debug, Clone)]
pub enum Next {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Records one try and the next state, in one transaction. A final failure of a rerun dispatch
/// fails the attempt too (see [`crate::repo::reruns::dispatch_failed`]).
pub async fn record_try(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    instance: &str,
    record: TryRecord,
    next: Next,
) -> Result<(), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let Some(current) = outbox::Entity::find_by_id(id).one(&txn).await? else {
        return Err(PersistenceError::not_found("delivery", id));
    };
    // Someone else took the row over after our lease ran out: their try counts, not ours.
    if current.claimed_by.as_deref() != Some(instance) || current.state != STATE_PENDING {
        txn.rollback().await?;
        return Ok(());
    }
    let before = snapshot(&current);
    let mut tries: Vec<TryRecord> = current
        .tries
        .clone()
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_default();
    let status = record.http_status;
    tries.push(record);
    let now = clock::now();
    let tries_json = serde_json::to_value(&tries)
        .map_err(|e| PersistenceError::Corrupt(format!("tries: {e}")))?;
    let mut model: outbox::ActiveModel = current.clone().into();
    model.tries = Set(Some(tries_json));
    model.try_count = Set(current.try_count.saturating_add(1));
    model.last_status = Set(status.map(i32::from));
    model.lease_until = Set(None);
    model.claimed_by = Set(None);
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let operation = match &next {
        Next::Delivered => {
            model.state = Set(STATE_DELIVERED.to_owned());
            model.finished_at = Set(Some(now));
            "deliver"
        }
        Next::RetryAt(at) => {
            model.next_attempt_at = Set(*at);
            "retry"
        }
        Next::Failed => {
            model.state = Set(STATE_FAILED.to_owned());
            model.finished_at = Set(Some(now));
            "fail"
        }
    };
    let saved = model.update(&txn).await?;
    let change = Change {
        entity: "outbox",
        record_id: saved.id,
        operation,
        before: Some(before),
        after: Some(snapshot(&saved)),
    };
    audit::record(&txn, actor, change).await?;
    if matches!(next, Next::Failed) && RERUN_KINDS.contains(&saved.kind.as_str()) {
        let last_error = tries.last().and_then(|t| t.error.clone());
        crate::repo::reruns::dispatch_failed(&txn, actor, &saved, last_error).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The latest rerun dispatch of a step run.
pub async fn for_step_run(
    db: &impl ConnectionTrait,
    step_run_id: i64,
) -> Result<Option<outbox::Model>, PersistenceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Kind.is_in(RERUN_KINDS))
        .filter(outbox::Column::SubjectId.eq(step_run_id))
        .filter(outbox::Column::DeletedAt.is_null())
        .order_by_desc(outbox::Column::Id)
        .one(db)
        .await?)
}

/// The deliveries of one webhook, newest first.
pub async fn for_webhook(
    db: &impl ConnectionTrait,
    webhook_id: i64,
    limit: u64,
) -> Result<Vec<outbox::Model>, PersistenceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Kind.eq(KIND_WEBHOOK))
        .filter(outbox::Column::SubjectId.eq(webhook_id))
        .filter(outbox::Column::DeletedAt.is_null())
        .order_by_desc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The tries of a row, oldest first.
pub fn tries(m: &outbox::Model) -> Vec<TryRecord> {
    m.tries
        .clone()
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_default()
}

/// The retry policy a row was created with.
pub fn policy(m: &outbox::Model) -> Result<RetryPolicy, PersistenceError> {
    serde_json::from_value(m.policy.clone())
        .map_err(|e| PersistenceError::Corrupt(format!("outbox {} policy: {e}", m.id)))
}
