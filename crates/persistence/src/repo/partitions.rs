//! Partition maintenance of the history tables on PostgreSQL: months created ahead, whole months
//! archived by moving their partition and purged by dropping it. SQLite (and a PostgreSQL
//! database not partitioned yet) has nothing to do here: the row-by-row paths apply.

use chrono::{DateTime, Datelike, Utc};
use procdash_migration::MONTHS_AHEAD;
use procdash_migration::partitions::{self, Month};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::{PersistenceError, tx};

fn month_of(at: DateTime<Utc>) -> Month {
    Month::new(at.year(), at.month())
}

/// The months of `table`'s partitions that end at or before `before`, oldest first.
async fn months_ending_by(
    db: &impl ConnectionTrait,
    table: &str,
    before: DateTime<Utc>,
) -> Result<Vec<Month>, PersistenceError> {
    let cutoff = month_of(before);
    let mut months: Vec<Month> = partitions::partition_names(db, table)
        .await?
        .iter()
        .filter_map(|n| Month::of_partition(table, n))
        // A month ends by `before` when the next month starts at or before it.
        .filter(|m| m.next() <= cutoff)
        .collect();
    months.sort();
    Ok(months)
}

/// Creates the partitions of the current month and MONTHS_AHEAD more, for every partitioned
/// history table; returns how many it created.
pub async fn maintain(db: &DatabaseConnection) -> Result<u32, PersistenceError> {
    let mut created = 0;
    // Not the archive: its months arrive whole from the change log.
    for table in ["change_log", "request_logs"] {
        if !partitions::is_partitioned(db, table).await? {
            continue;
        }
        let mut month = month_of(Utc::now());
        for _ in 0..=MONTHS_AHEAD {
            if partitions::ensure_month(db, table, month).await? {
                created += 1;
            }
            month = month.next();
        }
    }
    Ok(created)
}

async fn count(db: &impl ConnectionTrait, sql: String) -> Result<i64, PersistenceError> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// Moves every whole month of the change log that ended before `before`, and whose rows are all
/// sealed, to the archive by detaching its partition and attaching it there: no row is copied or
/// deleted, and the hashes go along, so the chain verifies across both. Returns the rows moved.
///
/// If the archive cannot take the partition (its default partition already holds rows of that
/// month, moved row by row earlier), the month's rows are copied and the partition dropped.
pub async fn archive_months(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
) -> Result<u64, PersistenceError> {
    if !partitions::is_partitioned(db, "change_log").await?
        || !partitions::is_partitioned(db, "change_log_archive").await?
    {
        return Ok(0);
    }
    let mut moved = 0;
    let in_archive = partitions::partition_names(db, "change_log_archive").await?;
    for month in months_ending_by(db, "change_log", before).await? {
        let live = month.partition_of("change_log");
        let archived = month.partition_of("change_log_archive");
        if in_archive.contains(&archived) {
            // The archive has this month already (converted with data): add to it.
            moved += copy_then_drop(db, &live).await?;
            continue;
        }
        let txn = tx::begin_write(db).await?;
        // Locks the partition against redaction and sealing while it moves.
        txn.execute_unprepared(&format!("LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE"))
            .await?;
        let unsealed = count(
            &txn,
            format!("SELECT COUNT(*) AS n FROM {live} WHERE chain_seq IS NULL"),
        )
        .await?;
        if unsealed > 0 {
            // The sealer has not reached it yet; next time.
            txn.rollback().await?;
            continue;
        }
        let rows = count(&txn, format!("SELECT COUNT(*) AS n FROM {live}")).await?;
        txn.execute_unprepared(&format!("ALTER TABLE change_log DETACH PARTITION {live}"))
            .await?;
        txn.execute_unprepared(&format!("ALTER TABLE {live} RENAME TO {archived}"))
            .await?;
        let attach = format!(
            "ALTER TABLE change_log_archive ATTACH PARTITION {archived} \
             FOR VALUES FROM ('{}') TO ('{}')",
            month.start(),
            month.next().start()
        );
        if txn.execute_unprepared(&attach).await.is_ok() {
            txn.commit().await?;
            moved += u64::try_from(rows).unwrap_or(0);
        } else {
            txn.rollback().await?;
            moved += copy_then_drop(db, &live).await?;
        }
    }
    Ok(moved)
}

/// Copies a sealed month into the archive and drops its partition; returns the rows copied.
async fn copy_then_drop(db: &DatabaseConnection, live: &str) -> Result<u64, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    txn.execute_unprepared(&format!("LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE"))
        .await?;
    let unsealed = count(
        &txn,
        format!("SELECT COUNT(*) AS n FROM {live} WHERE chain_seq IS NULL"),
    )
    .await?;
    if unsealed > 0 {
        txn.rollback().await?;
        return Ok(0);
    }
    txn.execute_unprepared(&format!("ALTER TABLE change_log DETACH PARTITION {live}"))
        .await?;
    let copied = txn
        .execute_unprepared(&format!(
            "INSERT INTO change_log_archive SELECT * FROM {live}"
        ))
        .await?
        .rows_affected();
    txn.execute_unprepared(&format!("DROP TABLE {live}"))
        .await?;
    txn.commit().await?;
    Ok(copied)
}

/// Drops the partitions of `table` whose whole month ended before `before`; returns the rows
/// they held. Rows of the month `before` falls in are left to the caller's row-wise purge.
pub async fn drop_months(
    db: &DatabaseConnection,
    table: &str,
    before: DateTime<Utc>,
) -> Result<u64, PersistenceError> {
    if !partitions::is_partitioned(db, table).await? {
        return Ok(0);
    }
    let mut dropped = 0;
    for month in months_ending_by(db, table, before).await? {
        let name = month.partition_of(table);
        let txn = tx::begin_write(db).await?;
        let rows = count(&txn, format!("SELECT COUNT(*) AS n FROM {name}")).await?;
        txn.execute_unprepared(&format!("DROP TABLE {name}"))
            .await?;
        txn.commit().await?;
        dropped += u64::try_from(rows).unwrap_or(0);
    }
    Ok(dropped)
}
