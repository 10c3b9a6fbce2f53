//! Retention: a process's retention period and the deletion schedule of its runs.

use procdash_domain::Process;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Set, Statement};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::process;
use crate::repo::preconditions::{self, Precondition};
use crate::repo::processes;
use crate::{Actor, PersistenceError, clock, tx};

/// Sets a process's retention and reschedules its non-neutralized runs in one statement.
/// Returns the process and how many runs were rescheduled.
#[instrument(skip(db, actor, pre))]
pub async fn set_retention(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    months: Option<i32>,
    pre: Option<&Precondition>,
) -> Result<(Process, u64), PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let current = processes::lock_live(&txn, id).await?;
    preconditions::process(&txn, id, pre).await?;
    let before = snapshot::process(&current);
    let mut model: process::ActiveModel = current.into();
    model.retention_months = Set(months);
    model.updated_at = Set(clock::now());
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "process",
            record_id: id,
            operation: "retention_change",
            before: Some(before),
            after: Some(snapshot::process(&saved)),
        },
    )
    .await?;
    let rescheduled = reschedule(&txn, id, months).await?;
    let process = processes::get(&txn, id).await?;
    txn.commit().await?;
    Ok((process, rescheduled))
}

/// created_at + months in calendar months, clamped to the month's end, at millisecond
/// precision: the same instant as `lifecycle::scheduled_deletion` computes for new runs.
async fn reschedule(
    db: &impl ConnectionTrait,
    process_id: i64,
    months: Option<i32>,
) -> Result<u64, PersistenceError> {
    let backend = db.get_database_backend();
    let value = match (months, backend) {
        (None, _) => "NULL".to_owned(),
        (Some(m), DbBackend::Postgres) => format!(
            "date_trunc('milliseconds', (created_at AT TIME ZONE 'UTC') + make_interval(months => {m})) AT TIME ZONE 'UTC'"
        ),
        (Some(m), _) => {
            format!("strftime('%Y-%m-%dT%H:%M:%f', created_at, '+{m} months', 'floor') || '+00:00'")
        }
    };
    let sql = format!(
        "UPDATE process_runs SET scheduled_deletion_at = {value} WHERE process_id = {process_id} AND is_neutralized = false"
    );
    let result = db.execute_raw(Statement::from_string(backend, sql)).await?;
    Ok(result.rows_affected())
}
