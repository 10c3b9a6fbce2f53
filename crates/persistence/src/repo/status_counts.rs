//! Reads of the live status counters (`run_status_counts`, `step_status_counts`; migration
//! 000050). Triggers keep them inside every writing statement, so a read here is exact and
//! costs a few dozen rows however many runs there are. Counter rows are sharded; every read
//! sums the shards.

use std::collections::HashMap;

use procdash_domain::{RunFilter, RunStatus};
use sea_orm::{ConnectionTrait, FromQueryResult};

use crate::PersistenceError;
use crate::sql::Sql;

#[derive(FromQueryResult)]
struct Row {
    grp: i64,
    status: String,
    n: i64,
}

/// Live runs per process and status, of live processes (one process or all).
pub async fn runs_by_process(
    db: &impl ConnectionTrait,
    process_id: Option<i64>,
) -> Result<HashMap<i64, HashMap<String, i64>>, PersistenceError> {
    let mut sql = Sql::new(db.get_database_backend());
    let only = match process_id {
        Some(p) => format!(" AND c.process_id = {}", sql.bind(p)),
        None => String::new(),
    };
    sql.text = format!(
        "SELECT c.process_id AS grp, c.status AS status, CAST(SUM(c.n) AS BIGINT) AS n \
         FROM run_status_counts c JOIN processes p ON p.id = c.process_id AND p.deleted_at IS NULL \
         WHERE 1 = 1{only} GROUP BY c.process_id, c.status"
    );
    grouped(db, sql).await
}

/// Live step runs per step and status, of one process's steps (or every step).
pub async fn step_runs_by_step(
    db: &impl ConnectionTrait,
    process_id: Option<i64>,
) -> Result<HashMap<i64, HashMap<String, i64>>, PersistenceError> {
    let mut sql = Sql::new(db.get_database_backend());
    let only = match process_id {
        Some(p) => format!(
            " WHERE c.step_id IN (SELECT id FROM process_steps WHERE process_id = {})",
            sql.bind(p)
        ),
        None => String::new(),
    };
    sql.text = format!(
        "SELECT c.step_id AS grp, c.status AS status, CAST(SUM(c.n) AS BIGINT) AS n \
         FROM step_status_counts c{only} GROUP BY c.step_id, c.status"
    );
    grouped(db, sql).await
}

async fn grouped(
    db: &impl ConnectionTrait,
    sql: Sql,
) -> Result<HashMap<i64, HashMap<String, i64>>, PersistenceError> {
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for r in Row::find_by_statement(sql.statement()).all(db).await? {
        if r.n != 0 {
            out.entry(r.grp).or_default().insert(r.status, r.n);
        }
    }
    Ok(out)
}

/// Whether the counters answer how many live runs `filter` selects: only a process and a
/// status narrow it (any other filter needs the rows).
pub fn can_count(filter: &RunFilter) -> bool {
    *filter
        == RunFilter {
            process_id: filter.process_id,
            status: filter.status,
            ..RunFilter::default()
        }
}

/// How many live runs have the process and status given (None: any).
pub async fn live_runs(
    db: &impl ConnectionTrait,
    process_id: Option<i64>,
    status: Option<RunStatus>,
) -> Result<u64, PersistenceError> {
    let mut sql = Sql::new(db.get_database_backend());
    let mut conditions = Vec::new();
    if let Some(p) = process_id {
        conditions.push(format!("process_id = {}", sql.bind(p)));
    }
    if let Some(s) = status {
        conditions.push(format!("status = {}", sql.bind(s.as_str())));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    sql.text =
        format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM run_status_counts{filter}");
    #[derive(FromQueryResult)]
    struct Total {
        n: i64,
    }
    let total = Total::find_by_statement(sql.statement())
        .one(db)
        .await?
        .map_or(0, |t| t.n);
    // A counter sum below zero would be a broken trigger; never report it as a count.
    u64::try_from(total)
        .map_err(|_| PersistenceError::Corrupt(format!("run counters sum to {total}")))
}
