//! Idempotency keys: the first request with a key claims it by inserting a row (the unique
//! index on (api_key_id, idem_key) decides between racing requests, on any instance), and the
//! finished response is stored on that row for repeats to replay.
//!
//! These rows are request bookkeeping like `job_runs`, not business data, so they are not in
//! the change log; they live at most IDEMPOTENCY_TTL_HOURS and are purged by a job.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::idempotency_key;
use crate::{Actor, PersistenceError, clock};

const IN_FLIGHT: &str = "in_flight";
const DONE: &str = "done";

/// Who is asking with which key, for which request.
#[derive(Debug, Clone)]
pub struct KeyClaim<'a> {
    pub api_key_id: i64,
    pub key: &'a str,
    /// SHA-256 (hex) of method, route and body.
    pub request_hash: &'a str,
    /// How long a stored response is replayed.
    pub ttl: Duration,
    /// An in-flight claim older than this was abandoned (its instance died or the client
    /// went away mid-request) and may be taken over.
    pub abandoned_after: Duration,
}

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request owns the key now and must complete or release it.
    Claimed,
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
    /// The first request finished; replay its response.
    Done(StoredResponse),
}

/// Claims the key, or reports what holds it.
pub async fn claim(
    db: &impl ConnectionTrait,
    actor: &Actor,
    claim: &KeyClaim<'_>,
) -> Result<Claim, PersistenceError> {
    // Two rounds: the second after removing an expired or abandoned row.
    for _ in 0..2 {
        if insert(db, actor, claim).await? {
            return Ok(Claim::Claimed);
        }
        let Some(row) = find(db, claim.api_key_id, claim.key).await? else {
            // Released between our insert and our read: try again.
            continue;
        };
        let now = clock::now();
        let abandoned = row.state == IN_FLIGHT && row.updated_at + claim.abandoned_after <= now;
        if row.expires_at <= now || abandoned {
            // Conditional on updated_at, so of several requests taking over only one wins.
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Id.eq(row.id))
                .filter(idempotency_key::Column::UpdatedAt.eq(row.updated_at))
                .exec(db)
                .await?;
            continue;
        }
        return Ok(outcome(row, claim.request_hash));
    }
    Ok(Claim::InFlight)
}

fn outcome(row: idempotency_key::Model, request_hash: &str) -> Claim {
    if row.request_hash != request_hash {
        return Claim::Mismatch;
    }
    match (row.state.as_str(), row.response_status, row.response_body) {
        (DONE, Some(status), Some(body)) => Claim::Done(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            content_type: row.response_content_type,
            body,
        }),
        _ => Claim::InFlight,
    }
}

async fn insert(
    db: &impl ConnectionTrait,
    actor: &Actor,
    claim: &KeyClaim<'_>,
) -> Result<bool, PersistenceError> {
    let now = clock::now();
    let row = idempotency_key::ActiveModel {
        api_key_id: Set(claim.api_key_id),
        idem_key: Set(claim.key.to_owned()),
        request_hash: Set(claim.request_hash.to_owned()),
        state: Set(IN_FLIGHT.to_owned()),
        response_status: Set(None),
        response_content_type: Set(None),
        response_body: Set(None),
        expires_at: Set(now + claim.ttl),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.label()),
        updated_by: Set(actor.label()),
        ..Default::default()
    };
    // ON CONFLICT DO NOTHING: a taken key is an answer, not an error in the server's log.
    let on_conflict = OnConflict::columns([
        idempotency_key::Column::ApiKeyId,
        idempotency_key::Column::IdemKey,
    ])
    .do_nothing()
    .to_owned();
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

async fn find(
    db: &impl ConnectionTrait,
    api_key_id: i64,
    key: &str,
) -> Result<Option<idempotency_key::Model>, PersistenceError> {
    Ok(idempotency_key::Entity::find()
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(key))
        .one(db)
        .await?)
}

/// Stores the response of a claimed key.
pub async fn complete(
    db: &impl ConnectionTrait,
    api_key_id: i64,
    key: &str,
    response: StoredResponse,
) -> Result<(), PersistenceError> {
    let model = idempotency_key::ActiveModel {
        state: Set(DONE.to_owned()),
        response_status: Set(Some(i32::from(response.status))),
        response_content_type: Set(response.content_type),
        response_body: Set(Some(response.body)),
        updated_at: Set(clock::now()),
        ..Default::default()
    };
    idempotency_key::Entity::update_many()
        .set(model)
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(key))
        .filter(idempotency_key::Column::State.eq(IN_FLIGHT))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives a claimed key up, so the request may be retried with it.
pub async fn release(
    db: &impl ConnectionTrait,
    api_key_id: i64,
    key: &str,
) -> Result<(), PersistenceError> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(key))
        .filter(idempotency_key::Column::State.eq(IN_FLIGHT))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes keys past their time to live.
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, PersistenceError> {
    let res = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
