//! The run export (`GET /runs/export`): the runs of the listing's filter, optionally narrowed
//! by a search, read in keyset batches by id so no export holds the whole result.

use procdash_domain::{ProcessRun, ProcessStep, RunFilter};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tracing::instrument;

use crate::entities::{process, process_run, process_step};
use crate::repo::run_search::{self, RunSearch};
use crate::repo::runs;
use crate::{PersistenceError, convert};

/// Up to `limit` matching runs with id above `after`, by id, each with its live step runs.
#[instrument(skip(db, filter, search))]
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &RunFilter,
    search: Option<&RunSearch>,
    after: i64,
    limit: u64,
) -> Result<Vec<ProcessRun>, PersistenceError> {
    let backend = db.get_database_backend();
    let mut query = runs::filtered(filter, backend);
    if let Some(search) = search {
        query = query.filter(run_search::matches(backend, search));
        if let Some(id) = search.process_id {
            query = query.filter(process_run::Column::ProcessId.eq(id));
        }
    }
    let rows = query
        .filter(process_run::Column::Id.gt(after))
        .order_by_asc(process_run::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    runs::with_step_runs(db, rows).await
}

/// The live steps of one live process, or of every live process, by process then index: the
/// step columns of an export.
pub async fn steps(
    db: &impl ConnectionTrait,
    process_id: Option<i64>,
) -> Result<Vec<ProcessStep>, PersistenceError> {
    let mut live = process::Entity::find()
        .select_only()
        .column(process::Column::Id)
        .filter(process::Column::DeletedAt.is_null());
    if let Some(id) = process_id {
        live = live.filter(process::Column::Id.eq(id));
    }
    let ids: Vec<i64> = live.into_tuple().all(db).await?;
    let rows = process_step::Entity::find()
        .filter(process_step::Column::ProcessId.is_in(ids))
        .filter(process_step::Column::DeletedAt.is_null())
        .order_by_asc(process_step::Column::ProcessId)
        .order_by_asc(process_step::Column::StepIndex)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(convert::step).collect())
}
