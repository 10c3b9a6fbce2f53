//! Writing generated batches: multi-row INSERTs, each batch in one write transaction, so a
//! failure leaves whole batches only.

use procdash_persistence::entities::{change_log, process_run, step_run};
use procdash_persistence::tx;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel};

use crate::seed::rows::Batch;

/// Rows per statement: below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters for the
/// widest tables (change_log 21 columns, step_runs 19).
const RUNS_PER_STATEMENT: usize = 1_000;
const STEP_RUNS_PER_STATEMENT: usize = 1_500;
const CHANGES_PER_STATEMENT: usize = 1_000;

pub async fn write(db: &DatabaseConnection, batch: Batch) -> Result<u64, DbErr> {
    let runs = batch.runs.len() as u64;
    let txn = tx::begin_write(db).await?;
    // Parents first: step runs and change rows point at runs.
    insert::<process_run::Entity, _>(&txn, batch.runs, RUNS_PER_STATEMENT).await?;
    insert::<step_run::Entity, _>(&txn, batch.step_runs, STEP_RUNS_PER_STATEMENT).await?;
    insert::<change_log::Entity, _>(&txn, batch.changes, CHANGES_PER_STATEMENT).await?;
    txn.commit().await?;
    Ok(runs)
}

async fn insert<E, M>(
    txn: &sea_orm::DatabaseTransaction,
    rows: Vec<M>,
    per_statement: usize,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        // `reset_all` marks every column as set, so the ids we assigned are written too.
        let chunk: Vec<E::ActiveModel> = rows
            .by_ref()
            .take(per_statement)
            .map(|m| m.into_active_model().reset_all())
            .collect();
        E::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}
