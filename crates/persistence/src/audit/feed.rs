//! Reading the change log as the live feed's source: rows after an id, in id order, turned into
//! events ([`procdash_domain::events`]). Only columns that neither sealing nor redaction
//! rewrite are used, so an event replayed later is the event sent live.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use procdash_domain::events::{self, ChangeRow, Event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::PersistenceError;
use crate::entities::{change_log, process_run};

/// Rows read after an id: every row id (the poller tracks gaps with them) and the events.
#[derive(Debug, Clone, Default)]
pub struct FeedPage {
    pub ids: Vec<i64>,
    pub events: Vec<Event>,
}

/// The newest change-log id, 0 when the log is empty.
pub async fn head(db: &impl ConnectionTrait) -> Result<i64, PersistenceError> {
    let id: Option<i64> = change_log::Entity::find()
        .select_only()
        .column(change_log::Column::Id)
        .order_by_desc(change_log::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(id.unwrap_or(0))
}

/// Whether a change after `after_id` is older than `cutoff`: an event a client missed and the
/// feed no longer replays.
pub async fn missed_before(
    db: &impl ConnectionTrait,
    after_id: i64,
    cutoff: DateTime<Utc>,
) -> Result<bool, PersistenceError> {
    let found: Option<i64> = change_log::Entity::find()
        .select_only()
        .column(change_log::Column::Id)
        .filter(change_log::Column::Id.gt(after_id))
        .filter(change_log::Column::OccurredAt.lt(cutoff))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Up to `limit` rows with an id above `after_id`, as events.
pub async fn read_after(
    db: &impl ConnectionTrait,
    after_id: i64,
    limit: u64,
) -> Result<FeedPage, PersistenceError> {
    let rows = change_log::Entity::find()
        .filter(change_log::Column::Id.gt(after_id))
        .order_by_asc(change_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids = rows.iter().map(|r| r.id).collect();
    let mut events: Vec<Event> = rows
        .iter()
        .filter_map(|r| {
            events::from_change(ChangeRow {
                id: r.id,
                occurred_at: r.occurred_at,
                entity: &r.entity,
                record_id: r.record_id,
                operation: &r.operation,
                before: r.before.as_ref(),
                after: r.after.as_ref(),
            })
        })
        .collect();
    fill_process_ids(db, &mut events).await?;
    Ok(FeedPage { ids, events })
}

/// Step-run snapshots name only their run; a run's process never changes, so it is looked up.
async fn fill_process_ids(
    db: &impl ConnectionTrait,
    events: &mut [Event],
) -> Result<(), PersistenceError> {
    let mut missing: Vec<i64> = events
        .iter()
        .filter(|e| e.process_id.is_none())
        .map(|e| e.run_id)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    missing.dedup();
    let found: Vec<(i64, i64)> = process_run::Entity::find()
        .select_only()
        .column(process_run::Column::Id)
        .column(process_run::Column::ProcessId)
        .filter(process_run::Column::Id.is_in(missing))
        .into_tuple()
        .all(db)
        .await?;
    let by_run: HashMap<i64, i64> = found.into_iter().collect();
    for e in events.iter_mut().filter(|e| e.process_id.is_none()) {
        e.process_id = by_run.get(&e.run_id).copied();
    }
    Ok(())
}
