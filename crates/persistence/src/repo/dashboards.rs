//! Dashboard aggregates: counts per status, completion and step durations, per-step breakdowns
//! and the late/stuck counts, all as SQL aggregates over live rows (never by loading runs).
//! Percentiles use the nearest-rank method with window functions, the same on both backends.
//! Without a time window, status counts come from the live counters ([`status_counts`]) and the
//! rest from partial indexes on live rows (migration 000050), so nothing counts every run.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};

use crate::PersistenceError;
use crate::repo::status_counts;
use crate::sql::Sql;

/// Seconds between two timestamp columns.
fn seconds_between(backend: DbBackend, from: &str, to: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({to} - {from}))::float8"),
        _ => format!("((julianday({to}) - julianday({from})) * 86400.0)"),
    }
}

/// Which runs count: one process or all, created in an optional window.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunScope {
    pub process_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl RunScope {
    /// No time window: every live run of the scope counts, so the counters answer.
    fn unwindowed(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// `AND ...` conditions on the runs table aliased `r`.
    fn conditions(&self, sql: &mut Sql) -> String {
        let mut out = String::from(" r.deleted_at IS NULL");
        if let Some(p) = self.process_id {
            out.push_str(&format!(" AND r.process_id = {}", sql.bind(p)));
        }
        if let Some(s) = self.since {
            out.push_str(&format!(" AND r.created_at >= {}", sql.bind(s)));
        }
        if let Some(u) = self.until {
            out.push_str(&format!(" AND r.created_at <= {}", sql.bind(u)));
        }
        out
    }
}

/// Counts of one process's runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct RunCounts {
    pub process_id: i64,
    pub pending: i64,
    pub running: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Created since `recent_since`.
    pub recent_runs: i64,
    /// Failed with finished_at since `recent_since`.
    pub recent_failures: i64,
    /// Still pending and created before `late_before`.
    pub late: i64,
}

impl RunCounts {
    pub fn total(&self) -> i64 {
        self.pending + self.running + self.completed + self.failed + self.cancelled
    }
}

/// Counts per process for the scope: from the counters and three indexed counts without a
/// window, in one grouped query over the window's runs with one.
pub async fn run_counts(
    db: &impl ConnectionTrait,
    scope: &RunScope,
    recent_since: DateTime<Utc>,
    late_before: DateTime<Utc>,
) -> Result<Vec<RunCounts>, PersistenceError> {
    if scope.unwindowed() {
        counted_run_counts(db, scope, recent_since, late_before).await
    } else {
        grouped_run_counts(db, scope, recent_since, late_before).await
    }
}

async fn counted_run_counts(
    db: &impl ConnectionTrait,
    scope: &RunScope,
    recent_since: DateTime<Utc>,
    late_before: DateTime<Utc>,
) -> Result<Vec<RunCounts>, PersistenceError> {
    let statuses = status_counts::runs_by_process(db, scope.process_id).await?;
    let recent = count_where(db, scope, "r.created_at >= ", recent_since).await?;
    let recent_failures = count_where(
        db,
        scope,
        "r.status = 'failed' AND r.finished_at >= ",
        recent_since,
    )
    .await?;
    let late = count_where(
        db,
        scope,
        "r.status = 'pending' AND r.created_at < ",
        late_before,
    )
    .await?;
    let of = |map: &HashMap<i64, i64>, id: i64| map.get(&id).copied().unwrap_or(0);
    Ok(statuses
        .into_iter()
        .map(|(process_id, by_status)| {
            let n = |s: &str| by_status.get(s).copied().unwrap_or(0);
            RunCounts {
                process_id,
                pending: n("pending"),
                running: n("running"),
                completed: n("completed"),
                failed: n("failed"),
                cancelled: n("cancelled"),
                recent_runs: of(&recent, process_id),
                recent_failures: of(&recent_failures, process_id),
                late: of(&late, process_id),
            }
        })
        .collect())
}

/// Live runs of the scope per process that meet `condition` followed by the bound `value`.
async fn count_where(
    db: &impl ConnectionTrait,
    scope: &RunScope,
    condition: &str,
    value: DateTime<Utc>,
) -> Result<HashMap<i64, i64>, PersistenceError> {
    let mut sql = Sql::new(db.get_database_backend());
    let conditions = scope.conditions(&mut sql);
    let v = sql.bind(value);
    sql.text = format!(
        "SELECT r.process_id AS grp, CAST(COUNT(*) AS BIGINT) AS n FROM process_runs r \
         WHERE{conditions} AND {condition}{v} GROUP BY r.process_id"
    );
    counts_by_group(db, sql).await
}

/// `(grp, n)` rows of a grouped count, as a map.
async fn counts_by_group(
    db: &impl ConnectionTrait,
    sql: Sql,
) -> Result<HashMap<i64, i64>, PersistenceError> {
    #[derive(FromQueryResult)]
    struct Row {
        grp: i64,
        n: i64,
    }
    let rows = Row::find_by_statement(sql.statement()).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.grp, r.n)).collect())
}

async fn grouped_run_counts(
    db: &impl ConnectionTrait,
    scope: &RunScope,
    recent_since: DateTime<Utc>,
    late_before: DateTime<Utc>,
) -> Result<Vec<RunCounts>, PersistenceError> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let recent = sql.bind(recent_since);
    let recent_failed = sql.bind(recent_since);
    let late = sql.bind(late_before);
    let count = |status: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END), 0) AS BIGINT) AS {status}"
        )
    };
    let statuses: Vec<String> = ["pending", "running", "completed", "failed", "cancelled"]
        .iter()
        .map(|s| count(s))
        .collect();
    let conditions = scope.conditions(&mut sql);
    sql.text = format!(
        "SELECT r.process_id, {}, \
         CAST(COALESCE(SUM(CASE WHEN r.created_at >= {recent} THEN 1 ELSE 0 END), 0) AS BIGINT) AS recent_runs, \
         CAST(COALESCE(SUM(CASE WHEN r.status = 'failed' AND r.finished_at >= {recent_failed} THEN 1 ELSE 0 END), 0) AS BIGINT) AS recent_failures, \
         CAST(COALESCE(SUM(CASE WHEN r.status = 'pending' AND r.created_at < {late} THEN 1 ELSE 0 END), 0) AS BIGINT) AS late \
         FROM process_runs r JOIN processes p ON p.id = r.process_id AND p.deleted_at IS NULL \
         WHERE{conditions} GROUP BY r.process_id",
        statuses.join(", ")
    );
    Ok(RunCounts::find_by_statement(sql.statement())
        .all(db)
        .await?)
}

/// Running runs started before their process's cutoff, per process.
pub async fn stuck_counts(
    db: &impl ConnectionTrait,
    scope: &RunScope,
    cutoffs: &HashMap<i64, DateTime<Utc>>,
) -> Result<HashMap<i64, i64>, PersistenceError> {
    if cutoffs.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    // Bound in the order the placeholders appear: SQLite's `?` are positional.
    let conditions = scope.conditions(&mut sql);
    let mut branches = Vec::new();
    for (process_id, cutoff) in cutoffs {
        let p = sql.bind(*process_id);
        let c = sql.bind(*cutoff);
        branches.push(format!("(r.process_id = {p} AND r.started_at < {c})"));
    }
    sql.text = format!(
        "SELECT r.process_id AS grp, CAST(COUNT(*) AS BIGINT) AS n FROM process_runs r \
         WHERE{conditions} AND r.status = 'running' AND ({}) GROUP BY r.process_id",
        branches.join(" OR ")
    );
    counts_by_group(db, sql).await
}

/// Nearest-rank p50 and p95 of durations, grouped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub count: i64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}

/// `durations` must select `grp` and `d` (seconds); ranks are computed per group.
async fn percentiles(
    db: &impl ConnectionTrait,
    mut sql: Sql,
    durations: String,
) -> Result<HashMap<i64, Percentiles>, PersistenceError> {
    sql.text = format!(
        "SELECT grp, rn, n, d, avg_d FROM (SELECT grp, d, \
         ROW_NUMBER() OVER (PARTITION BY grp ORDER BY d) AS rn, \
         COUNT(*) OVER (PARTITION BY grp) AS n, AVG(d) OVER (PARTITION BY grp) AS avg_d \
         FROM ({durations}) AS x) AS y \
         WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100"
    );
    #[derive(FromQueryResult)]
    struct Row {
        grp: i64,
        rn: i64,
        n: i64,
        d: f64,
        avg_d: f64,
    }
    let rows = Row::find_by_statement(sql.statement()).all(db).await?;
    let mut out: HashMap<i64, Percentiles> = HashMap::new();
    for r in rows {
        let entry = out.entry(r.grp).or_default();
        entry.count = r.n;
        entry.mean = Some(r.avg_d);
        if r.rn == (r.n * 50 + 99) / 100 {
            entry.p50 = Some(r.d);
        }
        if r.rn == (r.n * 95 + 99) / 100 {
            entry.p95 = Some(r.d);
        }
    }
    Ok(out)
}

/// Completion time (finished − started) of completed runs, per process.
pub async fn completion_times(
    db: &impl ConnectionTrait,
    scope: &RunScope,
) -> Result<HashMap<i64, Percentiles>, PersistenceError> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let conditions = scope.conditions(&mut sql);
    let d = seconds_between(backend, "r.started_at", "r.finished_at");
    let durations = format!(
        "SELECT r.process_id AS grp, {d} AS d FROM process_runs r WHERE{conditions} \
         AND r.status = 'completed' AND r.started_at IS NOT NULL AND r.finished_at IS NOT NULL"
    );
    percentiles(db, sql, durations).await
}

/// `FROM step_runs sr` continued up to `WHERE ... AND` (or `WHERE`) with the scope's runs.
/// Without a window the step runs are picked by their steps, through the live-step index: a
/// live step run belongs to a live run (deletion cascades), so the join would only cost.
fn step_runs_of(scope: &RunScope, sql: &mut Sql) -> String {
    if scope.unwindowed() {
        match scope.process_id {
            Some(p) => format!(
                "WHERE sr.step_id IN (SELECT id FROM process_steps WHERE process_id = {}) AND",
                sql.bind(p)
            ),
            None => "WHERE".to_owned(),
        }
    } else {
        let conditions = scope.conditions(sql);
        format!("JOIN process_runs r ON r.id = sr.run_id WHERE{conditions} AND")
    }
}

/// Durations of successful live step runs of the scope's runs, per step.
pub async fn step_durations(
    db: &impl ConnectionTrait,
    scope: &RunScope,
) -> Result<HashMap<i64, Percentiles>, PersistenceError> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let d = seconds_between(backend, "sr.started_at", "sr.finished_at");
    let durations = format!(
        "SELECT sr.step_id AS grp, {d} AS d FROM step_runs sr {} sr.deleted_at IS NULL \
         AND sr.status = 'success' AND sr.started_at IS NOT NULL AND sr.finished_at IS NOT NULL",
        step_runs_of(scope, &mut sql)
    );
    percentiles(db, sql, durations).await
}

/// Live step runs of the scope's runs by step and status (from the counters without a window).
pub async fn step_status_counts(
    db: &impl ConnectionTrait,
    scope: &RunScope,
) -> Result<HashMap<i64, HashMap<String, i64>>, PersistenceError> {
    if scope.unwindowed() {
        return status_counts::step_runs_by_step(db, scope.process_id).await;
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let conditions = scope.conditions(&mut sql);
    sql.text = format!(
        "SELECT sr.step_id AS grp, sr.status AS status, CAST(COUNT(*) AS BIGINT) AS n \
         FROM step_runs sr JOIN process_runs r ON r.id = sr.run_id \
         WHERE{conditions} AND sr.deleted_at IS NULL GROUP BY sr.step_id, sr.status"
    );
    #[derive(FromQueryResult)]
    struct Row {
        grp: i64,
        status: String,
        n: i64,
    }
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for r in Row::find_by_statement(sql.statement()).all(db).await? {
        out.entry(r.grp).or_default().insert(r.status, r.n);
    }
    Ok(out)
}

/// Per run: (live step runs, successful ones), for the given runs.
pub async fn step_success(
    db: &impl ConnectionTrait,
    run_ids: &[i64],
) -> Result<HashMap<i64, (i64, i64)>, PersistenceError> {
    if run_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let ids: Vec<String> = run_ids.iter().map(|id| sql.bind(*id)).collect();
    sql.text = format!(
        "SELECT run_id AS grp, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), 0) AS BIGINT) AS ok \
         FROM step_runs WHERE deleted_at IS NULL AND run_id IN ({}) GROUP BY run_id",
        ids.join(", ")
    );
    #[derive(FromQueryResult)]
    struct Row {
        grp: i64,
        n: i64,
        ok: i64,
    }
    let rows = Row::find_by_statement(sql.statement()).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.grp, (r.n, r.ok))).collect())
}
