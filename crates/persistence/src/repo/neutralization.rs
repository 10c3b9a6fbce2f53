//! GDPR neutralization of runs: irreversible removal of personal data from the run, its step
//! runs and the change log. The request log never stores entity filter values, so it holds
//! nothing to remove.

use chrono::{DateTime, Utc};
use procdash_domain::lifecycle::{
    keep_fields, neutralize_meta, neutralized_entity_id, neutralized_failure,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::Value;
use tracing::instrument;

use crate::audit::{self, Change, redact, snapshot};
use crate::entities::{process, process_run, step_run};
use crate::{Actor, PersistenceError, clock, tx};

/// The result of neutralizing one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neutralized {
    pub run_id: i64,
    pub was_already_neutralized: bool,
    pub neutralized_at: Option<DateTime<Utc>>,
}

/// Neutralizes a run in one transaction. `include_deleted` lets the retention job reach
/// soft-deleted runs too: their personal data must go as well.
#[instrument(skip(db, actor, default_keep))]
pub async fn neutralize_run(
    db: &DatabaseConnection,
    actor: &Actor,
    run_id: i64,
    default_keep: &[String],
    include_deleted: bool,
) -> Result<Neutralized, PersistenceError> {
    let txn = tx::begin_write(db).await?;
    let mut q = process_run::Entity::find_by_id(run_id);
    if !include_deleted {
        q = q.filter(process_run::Column::DeletedAt.is_null());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    let run = q
        .one(&txn)
        .await?
        .ok_or_else(|| PersistenceError::not_found("run", run_id))?;
    if run.is_neutralized {
        return Ok(Neutralized {
            run_id,
            was_already_neutralized: true,
            neutralized_at: run.neutralized_at,
        });
    }
    let process_meta = process::Entity::find_by_id(run.process_id)
        .one(&txn)
        .await?
        .map(|p| p.meta)
        .unwrap_or(Value::Null);
    let keep = keep_fields(&process_meta, default_keep);
    let new_entity_id = neutralized_entity_id(run_id);
    let scrub_run = |v: &mut Value| {
        if let Some(obj) = v.as_object_mut() {
            if obj.contains_key("entity_id") {
                obj.insert("entity_id".into(), Value::String(new_entity_id.clone()));
            }
            if obj.contains_key("entity_name") {
                obj.insert("entity_name".into(), Value::Null);
            }
            if let Some(meta) = obj.get("meta").cloned() {
                obj.insert("meta".into(), neutralize_meta(&meta, &keep));
            }
        }
    };
    let scrub_step_run = |v: &mut Value| {
        if let Some(failure) = v.get_mut("failure").filter(|f| !Value::is_null(f)) {
            *failure = neutralized_failure();
        }
    };
    let now = clock::now();
    let mut before = snapshot::run(&run);
    scrub_run(&mut before);
    let meta = neutralize_meta(&run.meta, &keep);
    let mut model: process_run::ActiveModel = run.into();
    model.entity_id = Set(new_entity_id.clone());
    model.entity_name = Set(None);
    model.meta = Set(meta);
    model.is_neutralized = Set(true);
    model.neutralized_at = Set(Some(now));
    model.updated_at = Set(now);
    model.updated_by = Set(actor.label());
    let saved = model.update(&txn).await?;
    let step_runs: Vec<i64> = step_run::Entity::find()
        .select_only()
        .column(step_run::Column::Id)
        .filter(step_run::Column::RunId.eq(run_id))
        .into_tuple()
        .all(&txn)
        .await?;
    step_run::Entity::update_many()
        .col_expr(
            step_run::Column::Failure,
            Expr::value(neutralized_failure()),
        )
        .filter(step_run::Column::RunId.eq(run_id))
        .filter(step_run::Column::Failure.is_not_null())
        .exec(&txn)
        .await?;
    redact::redact_records(&txn, "run", &[run_id], scrub_run).await?;
    redact::redact_records(&txn, "step_run", &step_runs, scrub_step_run).await?;
    audit::record(
        &txn,
        actor,
        Change {
            entity: "run",
            record_id: run_id,
            operation: "neutralize",
            before: Some(before),
            after: Some(snapshot::run(&saved)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Neutralized {
        run_id,
        was_already_neutralized: false,
        neutralized_at: Some(now),
    })
}

/// How many runs are due for neutralization at `now`, and the first `limit` of their ids.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<(u64, Vec<i64>), PersistenceError> {
    let query = process_run::Entity::find()
        .filter(process_run::Column::IsNeutralized.eq(false))
        .filter(process_run::Column::ScheduledDeletionAt.lte(now));
    let total = query.clone().count(db).await?;
    let ids = query
        .select_only()
        .column(process_run::Column::Id)
        .order_by_asc(process_run::Column::ScheduledDeletionAt)
        .order_by_asc(process_run::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok((total, ids))
}

/// The outcome of a cleanup batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub dry_run: bool,
    pub neutralized: Vec<i64>,
    pub failed: Vec<i64>,
}

/// Neutralizes up to `limit` due runs, each in its own transaction; a failure does not stop the
/// batch. A dry run only lists what it would neutralize.
pub async fn neutralize_due(
    db: &DatabaseConnection,
    actor: &Actor,
    limit: u64,
    dry_run: bool,
    default_keep: &[String],
    mut progress: impl FnMut(usize, usize),
) -> Result<Batch, PersistenceError> {
    let (_, ids) = due(db, clock::now(), limit).await?;
    if dry_run {
        return Ok(Batch {
            dry_run,
            neutralized: ids,
            failed: Vec::new(),
        });
    }
    let mut batch = Batch {
        dry_run,
        ..Batch::default()
    };
    for (i, id) in ids.iter().enumerate() {
        match neutralize_run(db, actor, *id, default_keep, true).await {
            Ok(_) => batch.neutralized.push(*id),
            Err(e) => {
                tracing::warn!(run_id = id, error = %e, "neutralization failed");
                batch.failed.push(*id);
            }
        }
        progress(i + 1, ids.len());
    }
    Ok(batch)
}
