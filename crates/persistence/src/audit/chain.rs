//! Linking committed change-log rows into the hash chain, and verifying it.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde::Serialize;

use crate::audit::{payload_hash_of, sha256_hex};
use crate::entities::{change_log, change_log_archive};
use crate::{PersistenceError, tx};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const BATCH: u64 = 500;
/// Advisory lock key of the sealer on PostgreSQL.
const SEAL_LOCK: i64 = 0x7064_6173_0001;

/// chain_hash = SHA-256(previous chain_hash ‖ payload_hash ‖ row metadata).
pub fn link(previous: &str, row: &change_log::Model, seq: i64) -> String {
    let meta = format!(
        "{}|{}|{}|{}|{}|{}",
        row.id,
        seq,
        row.occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        row.entity,
        row.record_id,
        row.operation
    );
    sha256_hex(&format!("{previous}{}{meta}", row.payload_hash))
}

async fn head(db: &impl ConnectionTrait) -> Result<(i64, String), PersistenceError> {
    let live: Option<(i64, Option<String>)> = change_log::Entity::find()
        .select_only()
        .column(change_log::Column::ChainSeq)
        .column(change_log::Column::ChainHash)
        .filter(change_log::Column::ChainSeq.is_not_null())
        .order_by_desc(change_log::Column::ChainSeq)
        .into_tuple()
        .one(db)
        .await?;
    let archived: Option<(i64, Option<String>)> = change_log_archive::Entity::find()
        .select_only()
        .column(change_log_archive::Column::ChainSeq)
        .column(change_log_archive::Column::ChainHash)
        .filter(change_log_archive::Column::ChainSeq.is_not_null())
        .order_by_desc(change_log_archive::Column::ChainSeq)
        .into_tuple()
        .one(db)
        .await?;
    let best = [live, archived]
        .into_iter()
        .flatten()
        .max_by_key(|(seq, _)| *seq);
    Ok(best.map_or((0, GENESIS.to_owned()), |(seq, hash)| {
        (seq, hash.unwrap_or_default())
    }))
}

/// One `UPDATE ... FROM (VALUES ...)` for a batch (both backends name the columns column1..3).
/// Every value is an integer or a hex digest we computed, so inlining them is safe.
fn batch_update(links: &[(i64, i64, String)]) -> String {
    let values: Vec<String> = links
        .iter()
        .map(|(id, seq, hash)| format!("({id}, {seq}, '{hash}')"))
        .collect();
    format!(
        "UPDATE change_log SET chain_seq = v.column2, chain_hash = v.column3 \
         FROM (VALUES {}) AS v WHERE change_log.id = v.column1",
        values.join(", ")
    )
}

/// Links every committed, unsealed row into the chain; returns how many were sealed.
pub async fn seal(db: &DatabaseConnection) -> Result<u64, PersistenceError> {
    let mut sealed = 0;
    loop {
        let txn = tx::begin_write(db).await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            // One sealer at a time across instances; writers of changes never take this lock.
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({SEAL_LOCK})"))
                .await?;
        }
        let (mut seq, mut previous) = head(&txn).await?;
        let rows = change_log::Entity::find()
            .filter(change_log::Column::ChainSeq.is_null())
            .order_by_asc(change_log::Column::Id)
            .limit(BATCH)
            .all(&txn)
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(sealed);
        }
        let mut links = Vec::with_capacity(rows.len());
        for row in &rows {
            seq += 1;
            let hash = link(&previous, row, seq);
            links.push((row.id, seq, hash.clone()));
            previous = hash;
        }
        // One statement per batch: the write lock is held for milliseconds, not per row.
        let backend = txn.get_database_backend();
        txn.execute_raw(Statement::from_string(backend, batch_update(&links)))
            .await?;
        sealed += u64::try_from(links.len()).unwrap_or(0);
        txn.commit().await?;
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checked: u64,
    pub first_broken_id: Option<i64>,
}

/// Sealed rows of the live table and the archive, ordered by chain position.
async fn page_after(
    db: &impl ConnectionTrait,
    after_seq: i64,
) -> Result<Vec<change_log::Model>, PersistenceError> {
    let sealed = |table: &str| {
        Query::select()
            .column(Asterisk)
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new("chain_seq")).gt(after_seq))
            .to_owned()
    };
    let mut union = sealed("change_log");
    union.union(UnionType::All, sealed("change_log_archive"));
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(union, Alias::new("chain"))
        .order_by(Alias::new("chain_seq"), Order::Asc)
        .limit(BATCH)
        .to_owned();
    let stmt = db.get_database_backend().build(&query);
    Ok(change_log::Model::find_by_statement(stmt).all(db).await?)
}

/// Seals what is pending, then walks the chain across the archive and the live table.
pub async fn verify(db: &DatabaseConnection) -> Result<Verification, PersistenceError> {
    seal(db).await?;
    let txn = db.begin().await?;
    let mut previous = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let rows = page_after(&txn, expected_seq - 1).await?;
        if rows.is_empty() {
            return Ok(Verification {
                ok: true,
                checked,
                first_broken_id: None,
            });
        }
        for row in rows {
            let seq = row.chain_seq.unwrap_or_default();
            let content_ok = row.redacted || payload_hash_of(&row) == row.payload_hash;
            let link_ok = row.chain_hash.as_deref() == Some(link(&previous, &row, seq).as_str());
            if seq != expected_seq || !content_ok || !link_ok {
                return Ok(Verification {
                    ok: false,
                    checked,
                    first_broken_id: Some(row.id),
                });
            }
            previous = row.chain_hash.unwrap_or_default();
            expected_seq += 1;
            checked += 1;
        }
    }
}

/// Moves sealed rows older than `before` to the archive, hashes included, in batches. On
/// PostgreSQL each batch locks its rows first, so a neutralization that is redacting them
/// either finishes before the copy or waits and then redacts the archived copies.
pub async fn archive(
    db: &DatabaseConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, PersistenceError> {
    // On partitioned PostgreSQL, whole months move as partitions; the rows left (the month
    // `before` falls in, or everything on SQLite) move row by row.
    let mut moved = crate::repo::partitions::archive_months(db, before).await?;
    loop {
        let txn = tx::begin_write(db).await?;
        let mut due = change_log::Entity::find()
            .select_only()
            .column(change_log::Column::Id)
            .filter(change_log::Column::ChainSeq.is_not_null())
            .filter(change_log::Column::OccurredAt.lt(before))
            .order_by_asc(change_log::Column::Id)
            .limit(BATCH);
        if txn.get_database_backend() == DbBackend::Postgres {
            due = due.lock_exclusive();
        }
        let ids: Vec<i64> = due.into_tuple().all(&txn).await?;
        if ids.is_empty() {
            txn.commit().await?;
            return Ok(moved);
        }
        let of_batch = || Expr::col(Alias::new("id")).is_in(ids.iter().copied());
        let rows = Query::select()
            .columns(COLUMNS.map(Alias::new))
            .from(Alias::new("change_log"))
            .and_where(of_batch())
            .to_owned();
        let copy = Query::insert()
            .into_table(Alias::new("change_log_archive"))
            .columns(COLUMNS.map(Alias::new))
            .select_from(rows)
            .map_err(|e| PersistenceError::Corrupt(e.to_string()))?
            .to_owned();
        txn.execute(&copy).await?;
        txn.execute(
            &Query::delete()
                .from_table(Alias::new("change_log"))
                .and_where(of_batch())
                .to_owned(),
        )
        .await?;
        txn.commit().await?;
        moved += u64::try_from(ids.len()).unwrap_or(0);
    }
}

const COLUMNS: [&str; 21] = [
    "id",
    "occurred_at",
    "entity",
    "record_id",
    "operation",
    "actor_id",
    "actor",
    "on_behalf_of",
    "request_id",
    "before",
    "after",
    "changed_fields",
    "redacted",
    "payload_hash",
    "chain_seq",
    "chain_hash",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
];
