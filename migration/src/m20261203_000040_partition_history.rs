//! Range-partitions the history tables by month on PostgreSQL, converting tables that already
//! hold data. SQLite keeps plain tables.
//!
//! Per table: rename the old one aside, create the partitioned parent with the same columns,
//! create one partition per month from the oldest row to three months ahead plus a default
//! partition, copy the rows, drop the old table, then add the keys and indexes on the parent
//! (PostgreSQL creates them on every partition). A primary key of a partitioned table must
//! contain the partition key, so it becomes (id, occurred_at); `chain_seq` loses its unique
//! constraint for the same reason and keeps an index: the sealer, serialized by an advisory
//! lock, is what hands out sequence numbers, and `/audit/verify` checks them.
//! PostgreSQL 15 has no identity columns on partitioned tables, so ids come from a sequence
//! that continues after the largest existing id.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::partitions::{self, Month};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Months created ahead of the current one at migration time (the scheduler keeps it so).
pub const MONTHS_AHEAD: u32 = 3;

struct Shape {
    table: &'static str,
    /// Whether inserts take a generated id (the archive always receives explicit ids).
    generated_id: bool,
    /// Whether months are created ahead. Not for the archive: its months arrive as whole
    /// partitions detached from the change log.
    ahead: bool,
    indexes: &'static [(&'static str, &'static str)],
}

const SHAPES: [Shape; 3] = [
    Shape {
        table: "change_log",
        generated_id: true,
        ahead: true,
        indexes: &[
            ("ix_change_log_entity_record", "entity, record_id"),
            ("ix_change_log_occurred_at", "occurred_at"),
            ("ix_change_log_actor_id", "actor_id"),
            ("ix_change_log_chain_seq", "chain_seq"),
        ],
    },
    Shape {
        table: "change_log_archive",
        generated_id: false,
        ahead: false,
        indexes: &[
            ("ix_change_log_archive_entity_record", "entity, record_id"),
            ("ix_change_log_archive_occurred_at", "occurred_at"),
            ("ix_change_log_archive_actor_id", "actor_id"),
            ("ix_change_log_archive_chain_seq", "chain_seq"),
        ],
    },
    Shape {
        table: "request_logs",
        generated_id: true,
        ahead: true,
        indexes: &[
            ("ix_request_logs_occurred_at", "occurred_at"),
            ("ix_request_logs_key_occurred", "api_key_id, occurred_at"),
        ],
    },
];

async fn month_of(db: &impl ConnectionTrait, expr: &str) -> Result<Option<Month>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT CAST(EXTRACT(YEAR FROM t) AS INTEGER) AS y, \
                 CAST(EXTRACT(MONTH FROM t) AS INTEGER) AS m FROM (SELECT {expr} AS t) s \
                 WHERE t IS NOT NULL"
            ),
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let year: i32 = row.try_get("", "y")?;
    let month: i32 = row.try_get("", "m")?;
    Ok(<u32 as std::convert::TryFrom<i32>>::try_from(month)
        .ok()
        .map(|m| Month::new(year, m)))
}

/// The definitions of the triggers on `table` (such as the change log's NOTIFY), so they can be
/// created again on the table that replaces it.
async fn triggers_of(db: &impl ConnectionTrait, table: &str) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid \
             WHERE c.relname = $1 AND NOT t.tgisinternal ORDER BY t.tgname",
            [table.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "def"))
        .collect()
}

async fn convert(db: &impl ConnectionTrait, shape: &Shape) -> Result<(), DbErr> {
    let t = shape.table;
    let old = format!("{t}_unpartitioned");
    let triggers = triggers_of(db, t).await?;
    db.execute_unprepared(&format!("ALTER TABLE {t} RENAME TO {old}"))
        .await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE {t} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)"
    ))
    .await?;
    if shape.generated_id {
        let seq = format!("{t}_id_seq_partitioned");
        db.execute_unprepared(&format!("CREATE SEQUENCE {seq}"))
            .await?;
        db.execute_unprepared(&format!(
            "SELECT setval('{seq}', COALESCE((SELECT MAX(id) FROM {old}), 0) + 1, false)"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE {t} ALTER COLUMN id SET DEFAULT nextval('{seq}')"
        ))
        .await?;
        db.execute_unprepared(&format!("ALTER SEQUENCE {seq} OWNED BY {t}.id"))
            .await?;
    }
    let now = month_of(db, "now()").await?.unwrap_or(Month::new(2026, 1));
    let oldest = month_of(db, &format!("(SELECT MIN(occurred_at) FROM {old})")).await?;
    let newest = month_of(db, &format!("(SELECT MAX(occurred_at) FROM {old})")).await?;
    let (first, mut last) = if shape.ahead {
        (oldest.unwrap_or(now).min(now), now)
    } else {
        match (oldest, newest) {
            (Some(o), Some(n)) => (o, n),
            // An empty archive gets no month: they arrive from the change log.
            _ => (now.next(), now),
        }
    };
    if shape.ahead {
        for _ in 0..MONTHS_AHEAD {
            last = last.next();
        }
    }
    let mut month = first;
    while month <= last {
        partitions::ensure_month(db, t, month).await?;
        month = month.next();
    }
    db.execute_unprepared(&format!(
        "CREATE TABLE {t}_default PARTITION OF {t} DEFAULT"
    ))
    .await?;
    db.execute_unprepared(&format!("INSERT INTO {t} SELECT * FROM {old}"))
        .await?;
    db.execute_unprepared(&format!("DROP TABLE {old}")).await?;
    db.execute_unprepared(&format!(
        "ALTER TABLE {t} ADD PRIMARY KEY (id, occurred_at)"
    ))
    .await?;
    for (name, cols) in shape.indexes {
        db.execute_unprepared(&format!("CREATE INDEX {name} ON {t} ({cols})"))
            .await?;
    }
    for def in triggers {
        db.execute_unprepared(&def).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for shape in &SHAPES {
            if !partitions::is_partitioned(db, shape.table).await? {
                convert(db, shape).await?;
            }
        }
        Ok(())
    }

    /// Back to plain tables, rows kept (the unique chain_seq constraint comes back too).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for shape in &SHAPES {
            let t = shape.table;
            if !partitions::is_partitioned(db, t).await? {
                continue;
            }
            let old = format!("{t}_partitioned");
            let triggers = triggers_of(db, t).await?;
            db.execute_unprepared(&format!("ALTER TABLE {t} RENAME TO {old}"))
                .await?;
            let identity = if shape.generated_id {
                " INCLUDING IDENTITY"
            } else {
                ""
            };
            db.execute_unprepared(&format!(
                "CREATE TABLE {t} (LIKE {old} INCLUDING DEFAULTS{identity})"
            ))
            .await?;
            if shape.generated_id {
                db.execute_unprepared(&format!("ALTER TABLE {t} ALTER COLUMN id DROP DEFAULT"))
                    .await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE {t} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY"
                ))
                .await?;
            }
            db.execute_unprepared(&format!("INSERT INTO {t} SELECT * FROM {old}"))
                .await?;
            if shape.generated_id {
                db.execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
                ))
                .await?;
            }
            db.execute_unprepared(&format!("DROP TABLE {old}")).await?;
            db.execute_unprepared(&format!("ALTER TABLE {t} ADD PRIMARY KEY (id)"))
                .await?;
            for (name, cols) in shape.indexes {
                if name.ends_with("_chain_seq") {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {t} ADD CONSTRAINT {t}_chain_seq_key UNIQUE (chain_seq)"
                    ))
                    .await?;
                } else {
                    db.execute_unprepared(&format!("CREATE INDEX {name} ON {t} ({cols})"))
                        .await?;
                }
            }
            for def in &triggers {
                db.execute_unprepared(def).await?;
            }
        }
        Ok(())
    }
}
