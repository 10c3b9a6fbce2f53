//! Editing the metadata of a run: a shallow merge over its existing keys, recorded in the
//! change log in the same transaction. Values never reach a log line or an error message.

use procdash_domain::ProcessRun;
use procdash_domain::run_metadata::{MetaUpdate, UnknownKeys};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use tracing::instrument;

use crate::audit::{self, Change, snapshot};
use crate::entities::process_run;
use crate::repo::preconditions::{self, Precondition};
use crate::repo::runs;
use crate::{Actor, PersistenceError, clock, convert, tx};

/// Why a metadata update was refused.
#[derive(Debug, thiserror::Error)]
pub enum MetadataUpdateError {
    #[error(transparent)]
    UnknownKeys(#[from] UnknownKeys),
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

impl From<sea_orm::DbErr> for MetadataUpdateError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Persistence(err.into())
    }
}

/// Applies `update` to the metadata of a live run that is not neutralized (neutralized
/// metadata is not editable: such a run is not found). An update that changes nothing writes
/// nothing, so it leaves no change-log row.
#[instrument(skip(db, actor, update, pre))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    run_id: i64,
    update: MetaUpdate,
    pre: Option<&Precondition>,
) -> Result<ProcessRun, MetadataUpdateError> {
    let txn = tx::begin_write(db).await?;
    let run = runs::lock_live(&txn, run_id).await?;
    preconditions::run(&txn, run_id, pre).await?;
    if run.is_neutralized || run.neutralized_at.is_some() {
        return Err(PersistenceError::not_found("run", run_id).into());
    }
    let merged = update.apply(&run.meta)?;
    let saved = if merged == run.meta {
        run
    } else {
        let before = snapshot::run(&run);
        let mut model: process_run::ActiveModel = run.into();
        model.meta = Set(merged);
        model.updated_at = Set(clock::now());
        model.updated_by = Set(actor.label());
        let saved = model.update(&txn).await?;
        let change = Change {
            entity: "run",
            record_id: saved.id,
            operation: "update",
            before: Some(before),
            after: Some(snapshot::run(&saved)),
        };
        audit::record(&txn, actor, change).await?;
        saved
    };
    let steps = runs::live_step_runs(&txn, run_id).await?;
    txn.commit().await?;
    Ok(convert::run(saved, steps)?)
}
