//! Writing every KPI rollup of a process from its facts in a few grouped statements: what a
//! rebuild needs after it has deleted the process's rollups. The job's incremental fold keeps
//! recomputing bucket by bucket (`kpis::recompute`), because it touches few buckets per chunk.

use std::collections::BTreeMap;

use procdash_domain::analytics::BucketKind;
use procdash_domain::analytics::kpis::BucketCounts;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::PersistenceError;
use crate::entities::{kpi_rollup, kpi_run_fact};
use crate::repo::kpis::{add_outcome, rollup_row};

/// Rollup rows per INSERT statement.
const ROWS_PER_INSERT: usize = 500;

/// Writes the rollups of both bucket kinds of one process; returns how many rows it wrote.
pub(crate) async fn write_process(
    db: &impl ConnectionTrait,
    process_id: i64,
) -> Result<u64, PersistenceError> {
    let mut written = 0;
    for kind in BucketKind::ALL {
        let buckets = bucket_counts(db, process_id, kind).await?;
        let rows: Vec<kpi_rollup::ActiveModel> = buckets
            .iter()
            .filter(|(_, counts)| !counts.is_empty())
            .map(|(start, counts)| rollup_row(process_id, kind, *start, counts))
            .collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            kpi_rollup::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
            written += chunk.len() as u64;
        }
    }
    Ok(written)
}

/// The counts of every bucket of `kind` that a fact of the process falls in: two grouped
/// queries (runs started per created bucket; outcomes and duration bins per finished bucket).
async fn bucket_counts(
    db: &impl ConnectionTrait,
    process_id: i64,
    kind: BucketKind,
) -> Result<BTreeMap<i64, BucketCounts>, PersistenceError> {
    use kpi_run_fact::Column as F;
    let (created, finished) = match kind {
        BucketKind::Hour => (F::CreatedHour, F::FinishedHour),
        BucketKind::Day => (F::CreatedDay, F::FinishedDay),
    };
    let mut buckets: BTreeMap<i64, BucketCounts> = BTreeMap::new();
    let started: Vec<(i64, i64)> = kpi_run_fact::Entity::find()
        .select_only()
        .column(created)
        .column_as(Expr::col(F::RunId).count(), "n")
        .filter(F::ProcessId.eq(process_id))
        .group_by(created)
        .into_tuple()
        .all(db)
        .await?;
    for (start, n) in started {
        buckets.entry(start).or_default().runs_started = u64::try_from(n).unwrap_or(0);
    }
    let outcomes: Vec<(i64, Option<String>, Option<i32>, i64)> = kpi_run_fact::Entity::find()
        .select_only()
        .column(finished)
        .column(F::Outcome)
        .column(F::DurationBin)
        .column_as(Expr::col(F::RunId).count(), "n")
        .filter(F::ProcessId.eq(process_id))
        .filter(finished.is_not_null())
        .group_by(finished)
        .group_by(F::Outcome)
        .group_by(F::DurationBin)
        .into_tuple()
        .all(db)
        .await?;
    for (start, outcome, bin, n) in outcomes {
        add_outcome(
            buckets.entry(start).or_default(),
            outcome.as_deref(),
            bin,
            n,
        )?;
    }
    Ok(buckets)
}
