//! Monthly range partitions of the history tables on PostgreSQL (`change_log`,
//! `change_log_archive`, `request_logs`), by `occurred_at`.
//!
//! A month's partition is `<table>_pYYYYMM` and holds [first of the month, first of the next)
//! in UTC. Each table also has a `<table>_default` partition, so an insert never fails for want
//! of a partition; the scheduler creates months ahead so that it stays empty.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The partitioned history tables.
pub const TABLES: [&str; 3] = ["change_log", "change_log_archive", "request_logs"];

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Self {
        Self { year, month }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self::new(self.year + 1, 1)
        } else {
            Self::new(self.year, self.month + 1)
        }
    }

    /// `YYYY-MM-01 00:00:00+00`, the inclusive lower bound.
    pub fn start(self) -> String {
        format!("{:04}-{:02}-01 00:00:00+00", self.year, self.month)
    }

    pub fn partition_of(self, table: &str) -> String {
        format!("{table}_p{:04}{:02}", self.year, self.month)
    }

    /// The month a partition name stands for (`change_log_p202612` → 2026-12).
    pub fn of_partition(table: &str, name: &str) -> Option<Self> {
        let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = digits[..4].parse().ok()?;
        let month = digits[4..].parse().ok()?;
        (1..=12).contains(&month).then(|| Self::new(year, month))
    }
}

/// Creates the month's partition of `table` if it does not exist yet; true when it created it.
pub async fn ensure_month(
    db: &impl ConnectionTrait,
    table: &str,
    month: Month,
) -> Result<bool, DbErr> {
    let name = month.partition_of(table);
    if partition_names(db, table).await?.contains(&name) {
        return Ok(false);
    }
    // Table names come from TABLES and digits only: nothing user-supplied is interpolated.
    db.execute_unprepared(&format!(
        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} \
         FOR VALUES FROM ('{}') TO ('{}')",
        month.start(),
        month.next().start()
    ))
    .await?;
    Ok(true)
}

/// The partitions of `table`, by name.
pub async fn partition_names(db: &impl ConnectionTrait, table: &str) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT c.relname AS name FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = $1 ORDER BY c.relname",
            [table.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect()
}

/// Whether `table` is partitioned (false on SQLite, and before the migration on PostgreSQL).
pub async fn is_partitioned(db: &impl ConnectionTrait, table: &str) -> Result<bool, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table t JOIN pg_class c \
             ON c.oid = t.partrelid WHERE c.relname = $1) AS partitioned",
            [table.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "partitioned"))
        .transpose()?
        .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_and_names_round_trip() {
        assert_eq!(Month::new(2026, 12).next(), Month::new(2027, 1));
        assert_eq!(Month::new(2026, 3).start(), "2026-03-01 00:00:00+00");
        let name = Month::new(2026, 3).partition_of("change_log");
        assert_eq!(name, "change_log_p202603");
        assert_eq!(
            Month::of_partition("change_log", &name),
            Some(Month::new(2026, 3))
        );
        assert_eq!(
            Month::of_partition("change_log", "change_log_default"),
            None
        );
        assert_eq!(
            Month::of_partition("change_log", "change_log_archive_p202603"),
            None
        );
    }
}
