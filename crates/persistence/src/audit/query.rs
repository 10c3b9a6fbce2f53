//! Reading the change log: filtered listings, a record's history, and export pages.

use crate::paging::{self, SortSpec};
use chrono::{DateTime, Utc};
use procdash_domain::Page;
use procdash_domain::{Paging, SortDirection};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
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
    paging: &Paging,
) -> Result<Page<ChangeRecord>, PersistenceError> {
    let sort = SortSpec::by_id(Expr::col(change_log::Column::Id), SortDirection::Desc);
    let (q, total) = paging::window(db, filtered(filter), &sort, paging).await?;
    Ok(paging::page(q.all(db).await?, total, paging))
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
