//! Many step-run status reports at once (`POST /step-runs/bulk`): one write transaction per
//! run, holding that run's lock while its reports are applied in the order given, and the run
//! status recomputed once at the end. A run's reports stand or fall together: if one of them is
//! invalid or its step run is gone, that run's transaction rolls back and every report of the
//! run is reported; the other runs are applied.

use std::collections::{BTreeMap, HashMap};

use procdash_domain::{FieldError, RunStatus, StepUpdate};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use tracing::instrument;

use crate::audit;
use crate::entities::step_run;
use crate::repo::bulk_runs::BulkFailure;
use crate::repo::{runs, step_runs};
use crate::{Actor, PersistenceError, clock, convert, tx};

const LOOKUP_CHUNK: usize = 500;

/// One report as the caller read it: the update, or the field errors that made it invalid.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub row: usize,
    pub step_run_id: i64,
    pub update: Result<(StepUpdate, Option<String>), Vec<FieldError>>,
}

/// What happened to one run's reports.
#[derive(Debug, Clone)]
pub struct RunGroup {
    pub run_id: i64,
    pub rows: Vec<usize>,
    /// The run's status after the reports, when they were applied.
    pub status: Option<RunStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct BulkStepOutcome {
    pub applied: usize,
    pub groups: Vec<RunGroup>,
    pub failed: Vec<BulkFailure>,
}

/// Applies the reports, run by run (in run id order).
#[instrument(skip(db, actor, reports), fields(reports = reports.len()))]
pub async fn apply(
    db: &DatabaseConnection,
    actor: &Actor,
    reports: Vec<StepReport>,
) -> Result<BulkStepOutcome, PersistenceError> {
    let owners = run_ids(db, &reports).await?;
    let mut outcome = BulkStepOutcome::default();
    let mut by_run: BTreeMap<i64, Vec<StepReport>> = BTreeMap::new();
    for report in reports {
        match owners.get(&report.step_run_id) {
            Some(run_id) => by_run.entry(*run_id).or_default().push(report),
            None => outcome.failed.push(failure(
                report.row,
                "step_run_id",
                format!("step run {} not found", report.step_run_id),
            )),
        }
    }
    for (run_id, group) in by_run {
        let rows: Vec<usize> = group.iter().map(|r| r.row).collect();
        let mut invalid: Vec<BulkFailure> = Vec::new();
        for r in &group {
            if let Err(errors) = &r.update {
                invalid.extend(
                    errors
                        .iter()
                        .map(|e| failure(r.row, &e.field, e.message.clone())),
                );
            }
        }
        let result = if invalid.is_empty() {
            apply_group(db, actor, run_id, group).await?
        } else {
            Err(invalid)
        };
        match result {
            Ok(status) => {
                outcome.applied += rows.len();
                outcome.groups.push(RunGroup {
                    run_id,
                    rows,
                    status: Some(status),
                });
            }
            Err(mut failed) => {
                let named: Vec<usize> = failed.iter().map(|f| f.row).collect();
                for row in rows.iter().filter(|r| !named.contains(r)) {
                    failed.push(failure(
                        *row,
                        "run",
                        format!("not applied: another report of run {run_id} failed"),
                    ));
                }
                outcome.failed.extend(failed);
                outcome.groups.push(RunGroup {
                    run_id,
                    rows,
                    status: None,
                });
            }
        }
    }
    outcome.failed.sort_by_key(|f| f.row);
    Ok(outcome)
}

fn failure(row: usize, field: &str, message: String) -> BulkFailure {
    BulkFailure {
        row,
        field: field.to_owned(),
        message,
    }
}

/// Step run id → run id, for the live step runs among the reports. A step run never moves to
/// another run, so this can be read before the run is locked.
async fn run_ids(
    db: &impl ConnectionTrait,
    reports: &[StepReport],
) -> Result<HashMap<i64, i64>, PersistenceError> {
    let mut ids: Vec<i64> = reports.iter().map(|r| r.step_run_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut owners = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let found: Vec<(i64, i64)> = step_run::Entity::find()
            .select_only()
            .column(step_run::Column::Id)
            .column(step_run::Column::RunId)
            .filter(step_run::Column::Id.is_in(chunk.to_vec()))
            .filter(step_run::Column::DeletedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        owners.extend(found);
    }
    Ok(owners)
}

/// One run's reports in one transaction; the run's failures (rolled back) or its new status.
async fn apply_group(
    db: &DatabaseConnection,
    actor: &Actor,
    run_id: i64,
    group: Vec<StepReport>,
) -> Result<Result<RunStatus, Vec<BulkFailure>>, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let run = match runs::lock_live(&txn, run_id).await {
        Ok(run) => run,
        Err(PersistenceError::NotFound { .. }) => {
            let rows = group.iter().map(|r| r.row);
            return Ok(Err(rows
                .map(|row| failure(row, "step_run_id", format!("run {run_id} not found")))
                .collect()));
        }
        Err(e) => return Err(e),
    };
    let now = clock::now();
    let process_id = run.process_id;
    let mut changes = Vec::new();
    for report in group {
        let Ok((update, modified_by)) = report.update else {
            continue;
        };
        let current = match step_runs::find_live(&txn, report.step_run_id).await {
            Ok(current) => current,
            // Deleted since the lookup; dropping the transaction rolls the run back.
            Err(PersistenceError::NotFound { .. }) => {
                return Ok(Err(vec![failure(
                    report.row,
                    "step_run_id",
                    format!("step run {} not found", report.step_run_id),
                )]));
            }
            Err(e) => return Err(e),
        };
        let (_, change) =
            step_runs::apply_report(&txn, actor, process_id, current, update, modified_by, now)
                .await?;
        changes.push(change);
    }
    changes.extend(step_runs::recompute_change(&txn, actor, run, now).await?);
    // Every change row of the run in one statement.
    audit::record_many(&txn, actor, changes).await?;
    let status = convert::run_status(&runs::find_live(&txn, run_id).await?.status)?;
    txn.commit().await?;
    Ok(Ok(status))
}
