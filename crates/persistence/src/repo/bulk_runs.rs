//! Many runs in one transaction: the path of `POST /runs/bulk` and `procdash import runs`.
//!
//! The work is done in a few multi-row statements, whatever the number of runs: one lookup of
//! the processes and their live steps, one of the external ids already taken, then multi-row
//! inserts of the runs, their step runs and their change-log rows. A run is stored exactly as
//! `runs::create` stores it (pending, one pending step run per live step, the same snapshots).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use procdash_domain::lifecycle::scheduled_deletion;
use procdash_domain::{NewRun, ProcessStep, RunStatus, StepStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::{process, process_run, process_step, step_run};
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Rows per multi-row `INSERT` of runs (15 values each) and step runs (8 values each), and ids
/// per `IN (...)` lookup: all well under the parameter limits of both backends.
const RUN_CHUNK: usize = 1000;
const STEP_RUN_CHUNK: usize = 2000;
const LOOKUP_CHUNK: usize = 500;

/// One run to store, with its row number in the upload (from 1) for the report.
#[derive(Debug, Clone)]
pub struct BulkRun {
    pub row: usize,
    pub run: NewRun,
}

/// A row that was refused, by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkFailure {
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// A row whose external id is taken: by a live run (its id), or by an earlier row of the same
/// upload (that row's run id once stored; None when nothing was stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkDuplicate {
    pub row: usize,
    pub run_id: Option<i64>,
}

/// What one bulk insert did.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    /// Whether the transaction committed: always in partial mode; in all-or-nothing mode only
    /// when no row failed (`inserted` is then every valid row, otherwise empty).
    pub committed: bool,
    /// (row, run id) of the stored runs, in row order.
    pub inserted: Vec<(usize, i64)>,
    pub duplicates: Vec<BulkDuplicate>,
    pub failed: Vec<BulkFailure>,
}

/// How a bulk insert treats failed rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// Nothing is stored if any row failed, here or before (`rejected` rows the caller refused
    /// while parsing).
    AllOrNothing { rejected: usize },
    /// The valid rows are stored and the others reported.
    Partial,
}

/// Stores the runs in one write transaction. Rows whose process is missing fail; rows whose
/// external id is taken are duplicates, not failures (a repeated upload stores nothing twice).
#[instrument(skip(db, actor, rows), fields(rows = rows.len()))]
pub async fn insert(
    db: &DatabaseConnection,
    actor: &Actor,
    rows: Vec<BulkRun>,
    mode: BulkMode,
) -> Result<BulkOutcome, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let processes = live_processes(&txn, &rows).await?;
    let taken = taken_external_ids(&txn, &rows).await?;
    let mut outcome = BulkOutcome::default();
    let mut accepted = Vec::with_capacity(rows.len());
    // The row that claimed each (process, external id) first in this upload.
    let mut claimed: HashMap<(i64, String), usize> = HashMap::new();
    // (index in `outcome.duplicates`, first row) of duplicates inside the upload, resolved to
    // the first row's run id once it is stored.
    let mut in_upload = Vec::new();
    for row in rows {
        if !processes.contains_key(&row.run.process_id) {
            outcome.failed.push(BulkFailure {
                row: row.row,
                field: "process_id".to_owned(),
                message: format!("process {} not found", row.run.process_id),
            });
            continue;
        }
        if let Some(external) = &row.run.external_id {
            let key = (row.run.process_id, external.clone());
            if let Some(existing) = taken.get(&key) {
                outcome.duplicates.push(BulkDuplicate {
                    row: row.row,
                    run_id: Some(*existing),
                });
                continue;
            }
            if let Some(first) = claimed.get(&key) {
                in_upload.push((outcome.duplicates.len(), *first));
                outcome.duplicates.push(BulkDuplicate {
                    row: row.row,
                    run_id: None,
                });
                continue;
            }
            claimed.insert(key, row.row);
        }
        accepted.push(row);
    }
    let refused = match mode {
        BulkMode::AllOrNothing { rejected } => rejected + outcome.failed.len() > 0,
        BulkMode::Partial => false,
    };
    if refused {
        // Dropping the transaction rolls it back; nothing was written.
        return Ok(outcome);
    }
    let now = clock::now();
    let stored = insert_runs(&txn, actor, &accepted, &processes, now).await?;
    insert_step_runs(&txn, actor, &stored, &processes, now).await?;
    txn.commit().await?;
    outcome.inserted = accepted
        .iter()
        .map(|r| r.row)
        .zip(stored.iter().map(|m| m.id))
        .collect();
    let by_row: HashMap<usize, i64> = outcome.inserted.iter().copied().collect();
    for (index, first) in in_upload {
        if let Some(d) = outcome.duplicates.get_mut(index) {
            d.run_id = by_row.get(&first).copied();
        }
    }
    outcome.committed = true;
    Ok(outcome)
}

/// A live process and its live steps.
struct Target {
    retention_months: Option<i32>,
    steps: Vec<ProcessStep>,
}

/// The live processes the rows name, with their live steps, locked `FOR SHARE` on PostgreSQL so
/// they cannot be deleted under the insert (as `runs::create` does).
async fn live_processes(
    db: &impl ConnectionTrait,
    rows: &[BulkRun],
) -> Result<HashMap<i64, Target>, PersistenceError> {
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.run.process_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut query = process::Entity::find()
            .filter(process::Column::Id.is_in(chunk.to_vec()))
            .filter(process::Column::DeletedAt.is_null());
        if db.get_database_backend() == DbBackend::Postgres {
            query = query.lock_shared();
        }
        for p in query.all(db).await? {
            found.insert(
                p.id,
                Target {
                    retention_months: p.retention_months,
                    steps: Vec::new(),
                },
            );
        }
        let steps = process_step::Entity::find()
            .filter(process_step::Column::ProcessId.is_in(chunk.to_vec()))
            .filter(process_step::Column::DeletedAt.is_null())
            .order_by_asc(process_step::Column::ProcessId)
            .order_by_asc(process_step::Column::StepIndex)
            .all(db)
            .await?;
        for s in steps {
            if let Some(target) = found.get_mut(&s.process_id) {
                target.steps.push(convert::step(s));
            }
        }
    }
    Ok(found)
}

/// (process id, external id) → id of the live run that holds it, for the rows' external ids.
async fn taken_external_ids(
    db: &impl ConnectionTrait,
    rows: &[BulkRun],
) -> Result<HashMap<(i64, String), i64>, PersistenceError> {
    let wanted: Vec<String> = rows
        .iter()
        .filter_map(|r| r.run.external_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut taken = HashMap::new();
    for chunk in wanted.chunks(LOOKUP_CHUNK) {
        let found: Vec<(i64, i64, Option<String>)> = process_run::Entity::find()
            .select_only()
            .column(process_run::Column::Id)
            .column(process_run::Column::ProcessId)
            .column(process_run::Column::ExternalId)
            .filter(process_run::Column::ExternalId.is_in(chunk.to_vec()))
            .filter(process_run::Column::DeletedAt.is_null())
            .into_tuple()
            .all(db)
            .await?;
        for (id, process_id, external) in found {
            if let Some(external) = external {
                taken.insert((process_id, external), id);
            }
        }
    }
    Ok(taken)
}

/// Inserts the runs and their change-log rows; returns the stored rows in the order given.
async fn insert_runs(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: &[BulkRun],
    processes: &HashMap<i64, Target>,
    now: DateTime<Utc>,
) -> Result<Vec<process_run::Model>, PersistenceError> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(RUN_CHUNK) {
        let models = chunk.iter().map(|r| {
            let retention = processes
                .get(&r.run.process_id)
                .and_then(|t| t.retention_months);
            process_run::ActiveModel {
                process_id: Set(r.run.process_id),
                entity_id: Set(r.run.entity_id.clone()),
                entity_name: Set(r.run.entity_name.clone()),
                external_id: Set(r.run.external_id.clone()),
                status: Set(RunStatus::Pending.as_str().to_owned()),
                meta: Set(r.run.meta.clone()),
                scheduled_deletion_at: Set(scheduled_deletion(now, retention)),
                created_at: Set(now),
                updated_at: Set(now),
                created_by: Set(actor.label()),
                updated_by: Set(actor.label()),
                ..Default::default()
            }
        });
        let mut inserted = process_run::Entity::insert_many(models)
            .exec_with_returning(db)
            .await
            .map_err(|e| {
                PersistenceError::conflict_on_unique(
                    e,
                    "a run with one of these external ids was started meanwhile; retry the upload",
                )
            })?;
        // RETURNING promises no order. The rows are inserted in VALUES order and take
        // increasing ids (SQLite holds the write lock; PostgreSQL calls nextval row by row), so
        // ascending ids are the VALUES order.
        inserted.sort_by_key(|m| m.id);
        stored.extend(inserted);
    }
    let changes = stored
        .iter()
        .map(|run| Change {
            entity: "run",
            record_id: run.id,
            operation: "create",
            before: None,
            after: Some(snapshot::run(run)),
        })
        .collect();
    audit::record_many(db, actor, changes).await?;
    Ok(stored)
}

/// One pending step run per live step of each run's process, with their change-log rows.
async fn insert_step_runs(
    db: &impl ConnectionTrait,
    actor: &Actor,
    runs: &[process_run::Model],
    processes: &HashMap<i64, Target>,
    now: DateTime<Utc>,
) -> Result<(), PersistenceError> {
    let pairs: Vec<(i64, &ProcessStep)> = runs
        .iter()
        .flat_map(|run| {
            processes
                .get(&run.process_id)
                .map(|t| t.steps.as_slice())
                .unwrap_or_default()
                .iter()
                .map(move |s| (run.id, s))
        })
        .collect();
    for chunk in pairs.chunks(STEP_RUN_CHUNK) {
        let models = chunk.iter().map(|(run_id, s)| step_run::ActiveModel {
            run_id: Set(*run_id),
            step_id: Set(s.id),
            step_index: Set(s.index),
            status: Set(StepStatus::Pending.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            created_by: Set(actor.label()),
            updated_by: Set(actor.label()),
            ..Default::default()
        });
        let mut inserted = step_run::Entity::insert_many(models)
            .exec_with_returning(db)
            .await?;
        // In id order, as `runs::create` records them.
        inserted.sort_by_key(|m| m.id);
        let changes = inserted
            .iter()
            .map(|created| Change {
                entity: "step_run",
                record_id: created.id,
                operation: "create",
                before: None,
                after: Some(snapshot::step_run(created)),
            })
            .collect();
        audit::record_many(db, actor, changes).await?;
    }
    Ok(())
}
