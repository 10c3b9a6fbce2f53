//! Coordination of periodic jobs between instances: one row per job and tick.

use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use crate::entities::job_run;
use crate::{PersistenceError, clock, tx};

/// Claims `tick` of `job` for this instance; false when another instance already has it.
pub async fn claim_tick(
    db: &DatabaseConnection,
    job: &str,
    tick: i64,
    instance: &str,
) -> Result<bool, PersistenceError> {
    let row = job_run::ActiveModel {
        job: Set(job.to_owned()),
        tick: Set(tick),
        instance: Set(instance.to_owned()),
        started_at: Set(clock::now()),
        created_at: Set(clock::now()),
        updated_at: Set(clock::now()),
        created_by: Set(Some(format!("system:{instance}"))),
        ..Default::default()
    };
    // ON CONFLICT DO NOTHING keeps losing claims out of the database server's error log.
    let on_conflict = OnConflict::columns([job_run::Column::Job, job_run::Column::Tick])
        .do_nothing()
        .to_owned();
    let txn = tx::begin_write(db).await?;
    let inserted = job_run::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(inserted == 1)
}

/// Deletes claims older than `keep` ticks of a job, so the table stays small.
pub async fn forget_old_ticks(
    db: &DatabaseConnection,
    job: &str,
    before_tick: i64,
) -> Result<u64, PersistenceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let txn = tx::begin_write(db).await?;
    let res = job_run::Entity::delete_many()
        .filter(job_run::Column::Job.eq(job))
        .filter(job_run::Column::Tick.lt(before_tick))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(res.rows_affected)
}
