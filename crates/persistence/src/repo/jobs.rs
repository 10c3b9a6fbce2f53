//! Coordination of periodic jobs between instances: one row per job and tick.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::entities::job_run;
use crate::{PersistenceError, clock};

/// Claims `tick` of `job` for this instance; false when another instance already has it.
pub async fn claim_tick(
    db: &impl ConnectionTrait,
    job: &str,
    tick: i64,
    instance: &str,
) -> Result<bool, PersistenceError> {
    let row = job_run::ActiveModel {
        job: Set(job.to_owned()),
        tick: Set(tick),
        instance: Set(instance.to_owned()),
        started_at: Set(clock::now()),
        ..Default::default()
    };
    match row.insert(db).await {
        Ok(_) => Ok(true),
        Err(e) => match PersistenceError::conflict_on_unique(e, "claimed") {
            PersistenceError::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// Deletes claims older than `keep` ticks of a job, so the table stays small.
pub async fn forget_old_ticks(
    db: &impl ConnectionTrait,
    job: &str,
    before_tick: i64,
) -> Result<u64, PersistenceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let res = job_run::Entity::delete_many()
        .filter(job_run::Column::Job.eq(job))
        .filter(job_run::Column::Tick.lt(before_tick))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
