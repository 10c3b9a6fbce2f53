//! Reading the change log: filtered listings, a record's history, and export pages.

use chrono::{DateTime, Utc};
use procdash_domain::{Page, PageRequest};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::PersistenceError;
use crate::entities::change_log;

pub use crate::entities::change_log::Model as ChangeRecord;

#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    pub entity: Option<String>,
    pub record_id: Option<i64>,
    /// Matches the actor label (`api_key:<id>:<name>`) by substring.
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn filtered(f: &ChangeFilter) -> Select<change_log::Entity> {
    use change_log::Column as C;
    let mut q = change_log::Entity::find();
    if let Some(e) = &f.entity {
        q = q.filter(C::Entity.eq(e.as_str()));
    }
    if let Some(id) = f.record_id {
        q = q.filter(C::RecordId.eq(id));
    }
    if let Some(a) = &f.actor {
        q = q.filter(C::Actor.contains(a));
    }
    if let Some(o) = &f.operation {
        q = q.filter(C::Operation.eq(o.as_str()));
    }
    if let Some(s) = f.since {
        q = q.filter(C::OccurredAt.gte(s));
    }
    if let Some(u) = f.until {
        q = q.filter(C::OccurredAt.lte(u));
    }
    q
}

/// Newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ChangeFilter,
    page: PageRequest,
) -> Result<Page<ChangeRecord>, PersistenceError> {
    let q = filtered(filter);
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(change_log::Column::Id)
        .offset(page.offset())
        .limit(page.size())
        .all(db)
        .await?;
    Ok(Page::new(rows, total, page))
}

/// The next `limit` rows after `after_id`, oldest first: export reads the log with this keyset.
pub async fn export_page(
    db: &impl ConnectionTrait,
    filter: &ChangeFilter,
    after_id: i64,
    limit: u64,
) -> Result<Vec<ChangeRecord>, PersistenceError> {
    Ok(filtered(filter)
        .filter(change_log::Column::Id.gt(after_id))
        .order_by_asc(change_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
