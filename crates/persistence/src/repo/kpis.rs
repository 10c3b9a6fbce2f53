//! KPI rollups. `kpi_run_facts` holds what each live run contributes (its created bucket, its
//! outcome with its finished bucket and duration bin); `kpi_rollups` holds one row per process,
//! bucket kind and bucket with the counts and the duration histogram. Reads touch rollup rows
//! only. [`refresh`] (the `kpi_rollups` job) folds in the runs whose `updated_at` moved past its
//! watermark and recomputes exactly the buckets they left and entered; [`rebuild`] recomputes a
//! process (or all) from the runs.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use procdash_domain::RunStatus;
use procdash_domain::analytics::anomalies::WINDOW;
use procdash_domain::analytics::kpis::{
    BucketCounts, DurationHistogram, KpiBucket, RunFact, fill, floor_secs, with_anomalies,
};
use procdash_domain::analytics::{BucketKind, BucketRange};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use tracing::instrument;

use crate::entities::{kpi_rollup, kpi_run_fact, kpi_watermark, process_run};
use crate::repo::{kpi_rebuild, processes};
use crate::{PersistenceError, clock, tx};

/// Tables derived from the runs: a database restore empties them and the job refills them.
pub const DERIVED_TABLES: [&str; 3] = ["kpi_rollups", "kpi_run_facts", "kpi_watermarks"];
/// How far before its watermark the job looks again, so a write whose transaction committed
/// after a later one (its `updated_at` is older than the watermark) is still folded in.
pub const OVERLAP_SECONDS: i64 = 60;
const CHUNK: u64 = 500;
const WATERMARK: &str = "kpi_rollups";
const ACTOR: &str = "system:kpi_rollups";
/// PostgreSQL advisory lock held by the job and by rebuilds while they write rollups.
const LOCK_KEY: i64 = 0x7064_6173_2000;

/// A range of KPI buckets with their anomalies, and how fresh the rollups are.
#[derive(Debug, Clone)]
pub struct KpiSeries {
    pub process_id: i64,
    pub range: BucketRange,
    pub buckets: Vec<KpiBucket>,
    /// Run changes up to this instant are folded in (`None` before the job's first run).
    pub fresh_as_of: Option<DateTime<Utc>>,
}

/// What a refresh or rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupSummary {
    pub runs_seen: u64,
    pub buckets_recomputed: u64,
}

fn counts_of(row: &kpi_rollup::Model) -> Result<BucketCounts, PersistenceError> {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(BucketCounts {
        runs_started: n(row.runs_started),
        runs_completed: n(row.runs_completed),
        runs_failed: n(row.runs_failed),
        runs_cancelled: n(row.runs_cancelled),
        durations: DurationHistogram::decode(&row.duration_bins).ok_or_else(|| {
            PersistenceError::Corrupt(format!("kpi rollup {} has a bad histogram", row.id))
        })?,
    })
}

async fn rollup_rows(
    db: &impl ConnectionTrait,
    process_id: i64,
    kind: BucketKind,
    first: i64,
    last: i64,
) -> Result<BTreeMap<i64, BucketCounts>, PersistenceError> {
    let rows = kpi_rollup::Entity::find()
        .filter(kpi_rollup::Column::ProcessId.eq(process_id))
        .filter(kpi_rollup::Column::BucketKind.eq(kind.as_str()))
        .filter(kpi_rollup::Column::BucketStart.between(first, last))
        .all(db)
        .await?;
    rows.iter()
        .map(|r| Ok((r.bucket_start, counts_of(r)?)))
        .collect()
}

/// The KPIs of a live process over `range`, read from its rollup rows (plus the
/// [`WINDOW`] buckets before the range, the anomalies' history).
#[instrument(skip(db))]
pub async fn read(
    db: &impl ConnectionTrait,
    process_id: i64,
    range: BucketRange,
) -> Result<KpiSeries, PersistenceError> {
    processes::find_live(db, process_id).await?;
    let window = i64::try_from(WINDOW).unwrap_or(14);
    let lookback = BucketRange {
        first: range.first - window * range.kind.seconds(),
        ..range
    };
    let rows = rollup_rows(db, process_id, range.kind, lookback.first, lookback.last).await?;
    let buckets = with_anomalies(fill(&lookback, &rows), WINDOW);
    Ok(KpiSeries {
        process_id,
        range,
        buckets,
        fresh_as_of: watermark(db).await?,
    })
}

/// The history of a live process for a forecast: every bucket from its first rollup row (at
/// most `max_len` buckets back) to `last`, zero-filled. Empty when it has no rollup row.
#[instrument(skip(db))]
pub async fn history(
    db: &impl ConnectionTrait,
    process_id: i64,
    kind: BucketKind,
    last: i64,
    max_len: i64,
) -> Result<Vec<KpiBucket>, PersistenceError> {
    processes::find_live(db, process_id).await?;
    let first: Option<i64> = kpi_rollup::Entity::find()
        .select_only()
        .column_as(kpi_rollup::Column::BucketStart.min(), "first")
        .filter(kpi_rollup::Column::ProcessId.eq(process_id))
        .filter(kpi_rollup::Column::BucketKind.eq(kind.as_str()))
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    let Some(first) = first else {
        return Ok(Vec::new());
    };
    let first = std::cmp::max(first, last - (max_len - 1) * kind.seconds());
    if first > last {
        return Ok(Vec::new());
    }
    let range = BucketRange { kind, first, last };
    let rows = rollup_rows(db, process_id, kind, first, last).await?;
    Ok(fill(&range, &rows))
}

/// The job's watermark.
pub async fn watermark(
    db: &impl ConnectionTrait,
) -> Result<Option<DateTime<Utc>>, PersistenceError> {
    Ok(kpi_watermark::Entity::find_by_id(WATERMARK.to_owned())
        .one(db)
        .await?
        .map(|w| w.watermark))
}

async fn set_watermark(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    let now = clock::now();
    let row = kpi_watermark::ActiveModel {
        name: Set(WATERMARK.to_owned()),
        watermark: Set(at),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(ACTOR.to_owned())),
        updated_by: Set(Some(ACTOR.to_owned())),
        deleted_at: Set(None),
    };
    kpi_watermark::Entity::insert(row)
        .on_conflict(
            OnConflict::column(kpi_watermark::Column::Name)
                .update_columns([
                    kpi_watermark::Column::Watermark,
                    kpi_watermark::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

async fn lock(db: &impl ConnectionTrait) -> Result<(), PersistenceError> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"),
        ))
        .await?;
    }
    Ok(())
}

/// A fact as stored: what is compared to decide whether a run's buckets changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredFact {
    process_id: i64,
    created_hour: i64,
    created_day: i64,
    outcome: Option<String>,
    finished_hour: Option<i64>,
    finished_day: Option<i64>,
    duration_bin: Option<i32>,
}

impl StoredFact {
    fn of(fact: &RunFact) -> Self {
        let o = fact.outcome.as_ref();
        Self {
            process_id: fact.process_id,
            created_hour: floor_secs(BucketKind::Hour, fact.created_at),
            created_day: floor_secs(BucketKind::Day, fact.created_at),
            outcome: o.map(|o| o.status.as_str().to_owned()),
            finished_hour: o.map(|o| floor_secs(BucketKind::Hour, o.finished_at)),
            finished_day: o.map(|o| floor_secs(BucketKind::Day, o.finished_at)),
            duration_bin: o.and_then(|o| o.duration_bin).map(i32::from),
        }
    }

    fn from_row(row: &kpi_run_fact::Model) -> Self {
        Self {
            process_id: row.process_id,
            created_hour: row.created_hour,
            created_day: row.created_day,
            outcome: row.outcome.clone(),
            finished_hour: row.finished_hour,
            finished_day: row.finished_day,
            duration_bin: row.duration_bin,
        }
    }

    fn buckets(&self, into: &mut BTreeSet<(i64, BucketKind, i64)>) {
        into.insert((self.process_id, BucketKind::Hour, self.created_hour));
        into.insert((self.process_id, BucketKind::Day, self.created_day));
        if let Some(h) = self.finished_hour {
            into.insert((self.process_id, BucketKind::Hour, h));
        }
        if let Some(d) = self.finished_day {
            into.insert((self.process_id, BucketKind::Day, d));
        }
    }

    fn row(&self, run_id: i64, now: DateTime<Utc>) -> kpi_run_fact::ActiveModel {
        kpi_run_fact::ActiveModel {
            run_id: Set(run_id),
            process_id: Set(self.process_id),
            created_hour: Set(self.created_hour),
            created_day: Set(self.created_day),
            outcome: Set(self.outcome.clone()),
            finished_hour: Set(self.finished_hour),
            finished_day: Set(self.finished_day),
            duration_bin: Set(self.duration_bin),
            created_at: Set(now),
            updated_at: Set(now),
            created_by: Set(Some(ACTOR.to_owned())),
            updated_by: Set(Some(ACTOR.to_owned())),
            deleted_at: Set(None),
        }
    }
}

/// The fact of a run as it is now: `None` when it is deleted.
fn fact_of(run: &process_run::Model) -> Result<Option<StoredFact>, PersistenceError> {
    if run.deleted_at.is_some() {
        return Ok(None);
    }
    let status = RunStatus::from_str(&run.status).map_err(|_| {
        PersistenceError::Corrupt(format!("run {} has status {:?}", run.id, run.status))
    })?;
    let fact = RunFact::of_run(
        run.id,
        run.process_id,
        status,
        run.created_at,
        run.started_at,
        run.finished_at,
    );
    Ok(Some(StoredFact::of(&fact)))
}

/// Brings the facts of `runs` up to date; returns the buckets whose numbers may have changed.
async fn apply(
    db: &impl ConnectionTrait,
    runs: &[process_run::Model],
) -> Result<BTreeSet<(i64, BucketKind, i64)>, PersistenceError> {
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let old: BTreeMap<i64, StoredFact> = kpi_run_fact::Entity::find()
        .filter(kpi_run_fact::Column::RunId.is_in(ids))
        .all(db)
        .await?
        .iter()
        .map(|row| (row.run_id, StoredFact::from_row(row)))
        .collect();
    let now = clock::now();
    let mut touched = BTreeSet::new();
    for run in runs {
        let new = fact_of(run)?;
        let before = old.get(&run.id);
        if before == new.as_ref() {
            continue;
        }
        if let Some(before) = before {
            before.buckets(&mut touched);
            kpi_run_fact::Entity::delete_by_id(run.id).exec(db).await?;
        }
        if let Some(new) = new {
            new.buckets(&mut touched);
            kpi_run_fact::Entity::insert(new.row(run.id, now))
                .exec(db)
                .await?;
        }
    }
    Ok(touched)
}

/// Recomputes one bucket's rollup row from the facts.
async fn recompute(
    db: &impl ConnectionTrait,
    (process_id, kind, start): (i64, BucketKind, i64),
) -> Result<(), PersistenceError> {
    use kpi_run_fact::Column as F;
    let (created, finished) = match kind {
        BucketKind::Hour => (F::CreatedHour, F::FinishedHour),
        BucketKind::Day => (F::CreatedDay, F::FinishedDay),
    };
    let started = kpi_run_fact::Entity::find()
        .filter(F::ProcessId.eq(process_id))
        .filter(created.eq(start))
        .count(db)
        .await?;
    let outcomes: Vec<(Option<String>, Option<i32>, i64)> = kpi_run_fact::Entity::find()
        .select_only()
        .column(F::Outcome)
        .column(F::DurationBin)
        .column_as(Expr::col(F::RunId).count(), "n")
        .filter(F::ProcessId.eq(process_id))
        .filter(finished.eq(start))
        .group_by(F::Outcome)
        .group_by(F::DurationBin)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts = BucketCounts {
        runs_started: started,
        ..BucketCounts::default()
    };
    for (outcome, bin, n) in outcomes {
        add_outcome(&mut counts, outcome.as_deref(), bin, n)?;
    }
    kpi_rollup::Entity::delete_many()
        .filter(kpi_rollup::Column::ProcessId.eq(process_id))
        .filter(kpi_rollup::Column::BucketKind.eq(kind.as_str()))
        .filter(kpi_rollup::Column::BucketStart.eq(start))
        .exec(db)
        .await?;
    if counts.is_empty() {
        return Ok(());
    }
    kpi_rollup::Entity::insert(rollup_row(process_id, kind, start, &counts))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds `n` facts of one outcome and duration bin to a bucket's counts.
pub(crate) fn add_outcome(
    counts: &mut BucketCounts,
    outcome: Option<&str>,
    bin: Option<i32>,
    n: i64,
) -> Result<(), PersistenceError> {
    let n = u64::try_from(n).unwrap_or(0);
    match outcome.map(RunStatus::from_str) {
        Some(Ok(RunStatus::Completed)) => {
            counts.runs_completed += n;
            if let Some(bin) = bin.and_then(|b| u16::try_from(b).ok()) {
                counts.durations.add(bin, n);
            }
        }
        Some(Ok(RunStatus::Failed)) => counts.runs_failed += n,
        Some(Ok(RunStatus::Cancelled)) => counts.runs_cancelled += n,
        _ => {
            return Err(PersistenceError::Corrupt(format!(
                "kpi fact outcome {outcome:?}"
            )));
        }
    }
    Ok(())
}

/// The rollup row of one bucket.
pub(crate) fn rollup_row(
    process_id: i64,
    kind: BucketKind,
    start: i64,
    counts: &BucketCounts,
) -> kpi_rollup::ActiveModel {
    let now = clock::now();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    kpi_rollup::ActiveModel {
        process_id: Set(process_id),
        bucket_kind: Set(kind.as_str().to_owned()),
        bucket_start: Set(start),
        runs_started: Set(n(counts.runs_started)),
        runs_completed: Set(n(counts.runs_completed)),
        runs_failed: Set(n(counts.runs_failed)),
        runs_cancelled: Set(n(counts.runs_cancelled)),
        duration_bins: Set(counts.durations.encode()),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(ACTOR.to_owned())),
        updated_by: Set(Some(ACTOR.to_owned())),
        deleted_at: Set(None),
        ..Default::default()
    }
}

/// One tick of the `kpi_rollups` job: folds in every run whose `updated_at` is after the
/// watermark minus [`OVERLAP_SECONDS`], in chunks, each chunk in its own write transaction
/// that also advances the watermark.
#[instrument(skip(db))]
pub async fn refresh(db: &DatabaseConnection) -> Result<RollupSummary, PersistenceError> {
    let mut summary = RollupSummary::default();
    let mut cursor: Option<(DateTime<Utc>, i64)> = None;
    loop {
        let txn = tx::begin_write(db).await?;
        lock(&txn).await?;
        let mark = watermark(&txn).await?;
        let since = mark
            .map(|m| m - Duration::seconds(OVERLAP_SECONDS))
            .unwrap_or(DateTime::UNIX_EPOCH);
        let mut query = process_run::Entity::find();
        query = match cursor {
            None => query.filter(process_run::Column::UpdatedAt.gt(since)),
            Some((at, id)) => query.filter(
                process_run::Column::UpdatedAt
                    .gt(at)
                    .or(process_run::Column::UpdatedAt
                        .eq(at)
                        .and(process_run::Column::Id.gt(id))),
            ),
        };
        let runs = query
            .order_by_asc(process_run::Column::UpdatedAt)
            .order_by_asc(process_run::Column::Id)
            .limit(CHUNK)
            .all(&txn)
            .await?;
        let Some(last) = runs.last() else {
            txn.commit().await?;
            return Ok(summary);
        };
        cursor = Some((last.updated_at, last.id));
        let touched = apply(&txn, &runs).await?;
        for bucket in &touched {
            recompute(&txn, *bucket).await?;
        }
        let next = mark.map_or(last.updated_at, |m| std::cmp::max(m, last.updated_at));
        set_watermark(&txn, next).await?;
        txn.commit().await?;
        summary.runs_seen += runs.len() as u64;
        summary.buckets_recomputed += touched.len() as u64;
        if (runs.len() as u64) < CHUNK {
            return Ok(summary);
        }
    }
}

/// Recomputes the facts and rollups of one process, or of every process, from the runs, in one
/// write transaction. `progress(done, total)` is called after each page of runs. A rebuild of
/// every process also moves the watermark to the newest run it read, so the next `refresh`
/// starts there instead of folding every run again. Each bucket is recomputed once, where
/// `refresh` recomputes the buckets of each 500-run chunk: the fast way to fold a bulk load.
#[instrument(skip(db, progress))]
pub async fn rebuild(
    db: &DatabaseConnection,
    process_id: Option<i64>,
    mut progress: impl FnMut(u64, u64),
) -> Result<RollupSummary, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    lock(&txn).await?;
    if let Some(id) = process_id {
        processes::find_live(&txn, id).await?;
    }
    let scope_runs = || {
        let q = process_run::Entity::find().filter(process_run::Column::DeletedAt.is_null());
        match process_id {
            Some(id) => q.filter(process_run::Column::ProcessId.eq(id)),
            None => q,
        }
    };
    let total = scope_runs().count(&txn).await?;
    let mut facts = kpi_run_fact::Entity::delete_many();
    let mut rollups = kpi_rollup::Entity::delete_many();
    if let Some(id) = process_id {
        facts = facts.filter(kpi_run_fact::Column::ProcessId.eq(id));
        rollups = rollups.filter(kpi_rollup::Column::ProcessId.eq(id));
    }
    facts.exec(&txn).await?;
    rollups.exec(&txn).await?;
    let mut touched = BTreeSet::new();
    let mut after = 0i64;
    let mut done = 0u64;
    let mut newest: Option<DateTime<Utc>> = None;
    progress(0, total);
    loop {
        let runs = scope_runs()
            .filter(process_run::Column::Id.gt(after))
            .order_by_asc(process_run::Column::Id)
            .limit(1000)
            .all(&txn)
            .await?;
        let Some(last) = runs.last() else { break };
        after = last.id;
        newest = runs.iter().map(|r| r.updated_at).chain(newest).max();
        let now = clock::now();
        let mut rows = Vec::with_capacity(runs.len());
        for run in &runs {
            if let Some(fact) = fact_of(run)? {
                fact.buckets(&mut touched);
                rows.push(fact.row(run.id, now));
            }
        }
        if !rows.is_empty() {
            kpi_run_fact::Entity::insert_many(rows).exec(&txn).await?;
        }
        done += runs.len() as u64;
        progress(done, total);
    }
    // The rollups in scope were deleted above: each process's buckets are written afresh from
    // a few grouped statements, not one recompute (4 statements) per bucket.
    let processes: BTreeSet<i64> = touched.iter().map(|(p, _, _)| *p).collect();
    for process in processes {
        kpi_rebuild::write_process(&txn, process).await?;
    }
    if let (None, Some(newest)) = (process_id, newest) {
        let mark = watermark(&txn).await?;
        set_watermark(&txn, mark.map_or(newest, |m| std::cmp::max(m, newest))).await?;
    }
    txn.commit().await?;
    Ok(RollupSummary {
        runs_seen: done,
        buckets_recomputed: touched.len() as u64,
    })
}
