//! The change log: one row per change, written in the transaction of the change, with a
//! SHA-256 hash chain for tamper evidence.
//!
//! Rows get their `payload_hash` at insert. The chain is linked afterwards by [`chain::seal`]:
//! it takes committed, unsealed rows in id order and gives each the next `chain_seq` and
//! `chain_hash`. Writers therefore never contend on a chain head; only the sealer serializes.

pub mod chain;
pub mod feed;
pub mod query;
pub mod redact;
pub mod snapshot;
pub mod version;

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::entities::change_log;
use crate::{Actor, PersistenceError, clock};

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change {
    pub entity: &'static str,
    pub record_id: i64,
    pub operation: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Top-level keys whose values differ between the snapshots.
pub fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The canonical payload whose SHA-256 is `payload_hash` (serde_json maps are key-sorted).
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the stored columns one to one"
)]
pub fn canonical_payload(
    occurred_at: DateTime<Utc>,
    entity: &str,
    record_id: i64,
    operation: &str,
    actor_id: Option<i64>,
    actor: Option<&str>,
    on_behalf_of: Option<&str>,
    request_id: Option<&str>,
    before: Option<&Value>,
    after: Option<&Value>,
    changed: &Value,
) -> String {
    json!({
        "occurred_at": occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "entity": entity,
        "record_id": record_id,
        "operation": operation,
        "actor_id": actor_id,
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "request_id": request_id,
        "before": before,
        "after": after,
        "changed_fields": changed,
    })
    .to_string()
}

pub fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// The payload hash a stored row should have.
pub fn payload_hash_of(row: &change_log::Model) -> String {
    sha256_hex(&canonical_payload(
        row.occurred_at,
        &row.entity,
        row.record_id,
        &row.operation,
        row.actor_id,
        row.actor.as_deref(),
        row.on_behalf_of.as_deref(),
        row.request_id.as_deref(),
        row.before.as_ref(),
        row.after.as_ref(),
        &row.changed_fields,
    ))
}

/// Writes one change-log row on the caller's connection, so it commits or rolls back with the
/// change it describes.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    change: Change,
) -> Result<i64, PersistenceError> {
    let inserted = row_for(actor, change, clock::now()).insert(db).await?;
    Ok(inserted.id)
}

/// Change-log rows per multi-row `INSERT`: 20 bound values each, well under the parameter
/// limits of both backends (SQLite 32,766, PostgreSQL 65,535).
const RECORD_MANY_CHUNK: usize = 1000;

/// Writes many change-log rows on the caller's connection with multi-row inserts: the same
/// rows [`record`] writes one by one, for bulk writes where a round trip per row dominates.
pub async fn record_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    changes: Vec<Change>,
) -> Result<(), PersistenceError> {
    let occurred_at = clock::now();
    let mut rows = changes
        .into_iter()
        .map(|c| row_for(actor, c, occurred_at))
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(RECORD_MANY_CHUNK).collect();
        change_log::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The change-log row of one change, with its payload hash.
fn row_for(actor: &Actor, change: Change, occurred_at: DateTime<Utc>) -> change_log::ActiveModel {
    let changed = Value::from(changed_fields(
        change.before.as_ref(),
        change.after.as_ref(),
    ));
    let mut row = change_log::Model {
        id: 0,
        occurred_at,
        entity: change.entity.to_owned(),
        record_id: change.record_id,
        operation: change.operation.to_owned(),
        actor_id: actor.key_id(),
        actor: actor.label(),
        on_behalf_of: actor.on_behalf_of(),
        request_id: actor.request_id(),
        before: change.before,
        after: change.after,
        changed_fields: changed,
        redacted: false,
        payload_hash: String::new(),
        chain_seq: None,
        chain_hash: None,
        created_at: occurred_at,
        updated_at: occurred_at,
        created_by: actor.label(),
        updated_by: actor.label(),
        deleted_at: None,
    };
    row.payload_hash = payload_hash_of(&row);
    change_log::ActiveModel {
        occurred_at: Set(row.occurred_at),
        entity: Set(row.entity),
        record_id: Set(row.record_id),
        operation: Set(row.operation),
        actor_id: Set(row.actor_id),
        actor: Set(row.actor),
        on_behalf_of: Set(row.on_behalf_of),
        request_id: Set(row.request_id),
        before: Set(row.before),
        after: Set(row.after),
        changed_fields: Set(row.changed_fields),
        redacted: Set(false),
        payload_hash: Set(row.payload_hash),
        chain_seq: Set(None),
        chain_hash: Set(None),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
        created_by: Set(row.created_by),
        updated_by: Set(row.updated_by),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_are_the_differing_keys() {
        let before = json!({"a": 1, "b": 2, "c": 3});
        let after = json!({"a": 1, "b": 5, "d": 4});
        assert_eq!(changed_fields(Some(&before), Some(&after)), ["b", "c", "d"]);
        assert_eq!(changed_fields(None, Some(&json!({"x": 1}))), ["x"]);
    }

    #[test]
    fn canonical_payload_is_stable_and_key_sorted() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap_or_default();
        let p = canonical_payload(
            at,
            "run",
            1,
            "update",
            None,
            None,
            None,
            None,
            None,
            Some(&json!({"z": 1, "a": 2})),
            &json!(["a"]),
        );
        assert!(
            p.starts_with(r#"{"actor":null,"actor_id":null,"after":{"a":2,"z":1}"#),
            "{p}"
        );
        assert!(p.contains("2023-11-14T22:13:20.123456Z"));
        assert_eq!(sha256_hex(&p), sha256_hex(&p.clone()));
    }
}
