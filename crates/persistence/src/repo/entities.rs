//! One business entity's journey: its live runs across live processes, newest first, with the
//! first failed step of each. A page costs three queries (count, runs joined to processes, the
//! failed step runs of those runs), whatever its size.

use crate::paging::{self, KeyKind, SortSpec};
use procdash_domain::{Paging, SortDirection};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use procdash_domain::entity_journey::{FailedStep, JourneyRun};
use procdash_domain::{Page, StepStatus};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationDef,
};
use serde_json::Value;
use tracing::instrument;

use crate::entities::{process, process_run, process_step, step_run};
use crate::{PersistenceError, convert};

#[derive(Debug, FromQueryResult)]
struct RunRow {
    id: i64,
    process_id: i64,
    process_name: String,
    status: String,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct FailedRow {
    run_id: i64,
    step_id: i64,
    name: String,
    failure: Option<Value>,
}

fn run_process() -> RelationDef {
    process_run::Entity::belongs_to(process::Entity)
        .from(process_run::Column::ProcessId)
        .to(process::Column::Id)
        .into()
}

fn step_run_step() -> RelationDef {
    step_run::Entity::belongs_to(process_step::Entity)
        .from(step_run::Column::StepId)
        .to(process_step::Column::Id)
        .into()
}

/// The live runs of `entity_id` in live processes, `created_at` then id descending. The
/// entity id is personal data: it is not recorded in the span.
#[instrument(skip(db, entity_id))]
pub async fn journey(
    db: &impl ConnectionTrait,
    entity_id: &str,
    paging: &Paging,
) -> Result<Page<JourneyRun>, PersistenceError> {
    let query = process_run::Entity::find()
        .join(JoinType::InnerJoin, run_process())
        .filter(process_run::Column::EntityId.eq(entity_id))
        .filter(process_run::Column::DeletedAt.is_null())
        .filter(process::Column::DeletedAt.is_null());
    let sort = SortSpec {
        key: Some((
            Expr::col((process_run::Entity, process_run::Column::CreatedAt)),
            KeyKind::Timestamp,
        )),
        nullable: false,
        id: Expr::col((process_run::Entity, process_run::Column::Id)),
        direction: SortDirection::Desc,
    };
    let (query, total) = paging::window(db, query, &sort, paging).await?;
    let rows: Vec<RunRow> = query
        .select_only()
        .column(process_run::Column::Id)
        .column(process_run::Column::ProcessId)
        .column_as(process::Column::Name, "process_name")
        .column(process_run::Column::Status)
        .column(process_run::Column::StartedAt)
        .column(process_run::Column::FinishedAt)
        .column(process_run::Column::CreatedAt)
        .into_model()
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut failed = first_failed_steps(db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(JourneyRun {
                first_failed_step: failed.remove(&r.id),
                run_id: r.id,
                process_id: r.process_id,
                process_name: r.process_name,
                status: convert::run_status(&r.status)?,
                started_at: r.started_at,
                finished_at: r.finished_at,
                created_at: r.created_at,
            })
        })
        .collect::<Result<Vec<_>, PersistenceError>>()?;
    Ok(paging::page(items, total, paging))
}

/// For each run, its lowest-index current failed step run. "Current" is the latest live step
/// run of a step: a later step run of the same step supersedes a failure.
async fn first_failed_steps(
    db: &impl ConnectionTrait,
    run_ids: &[i64],
) -> Result<HashMap<i64, FailedStep>, PersistenceError> {
    if run_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let later = Alias::new("later");
    let superseded = Query::select()
        .expr(Expr::val(1))
        .from_as(step_run::Entity, later.clone())
        .and_where(
            Expr::col((later.clone(), step_run::Column::RunId))
                .equals((step_run::Entity, step_run::Column::RunId)),
        )
        .and_where(
            Expr::col((later.clone(), step_run::Column::StepId))
                .equals((step_run::Entity, step_run::Column::StepId)),
        )
        .and_where(Expr::col((later.clone(), step_run::Column::DeletedAt)).is_null())
        .and_where(
            Expr::col((later, step_run::Column::Id))
                .gt(Expr::col((step_run::Entity, step_run::Column::Id))),
        )
        .to_owned();
    let rows: Vec<FailedRow> = step_run::Entity::find()
        .join(JoinType::InnerJoin, step_run_step())
        .filter(step_run::Column::RunId.is_in(run_ids.iter().copied()))
        .filter(step_run::Column::DeletedAt.is_null())
        .filter(step_run::Column::Status.eq(StepStatus::Failed.as_str()))
        .filter(Expr::exists(superseded).not())
        .select_only()
        .column(step_run::Column::RunId)
        .column(step_run::Column::StepId)
        .column(process_step::Column::Name)
        .column(step_run::Column::Failure)
        .order_by_asc(step_run::Column::RunId)
        .order_by_asc(step_run::Column::StepIndex)
        .order_by_asc(step_run::Column::Id)
        .into_model()
        .all(db)
        .await?;
    let mut first = HashMap::new();
    for row in rows {
        first.entry(row.run_id).or_insert(FailedStep {
            step_id: row.step_id,
            name: row.name,
            failure: row.failure,
        });
    }
    Ok(first)
}
