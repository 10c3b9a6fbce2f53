use crate::paging::{self, KeyKind, SortSpec};
use chrono::{DateTime, Utc};
use procdash_domain::Page;
use procdash_domain::{Paging, SortDirection};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};

use crate::entities::request_log;
use crate::{PersistenceError, tx};
use sea_orm::DatabaseConnection;

/// One handled request, as the request-log middleware saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLog {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub method: String,
    pub route: String,
    pub path: String,
    pub query: Option<String>,
    pub status: i32,
    pub duration_ms: f64,
    pub api_key_id: Option<i64>,
    pub api_key_name: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub error_message: Option<String>,
}

impl From<request_log::Model> for RequestLog {
    fn from(m: request_log::Model) -> Self {
        Self {
            id: m.id,
            occurred_at: m.occurred_at,
            method: m.method,
            route: m.route,
            path: m.path,
            query: m.query,
            status: m.status,
            duration_ms: m.duration_ms,
            api_key_id: m.api_key_id,
            api_key_name: m.api_key_name,
            client_ip: m.client_ip,
            user_agent: m.user_agent,
            request_id: m.request_id,
            error_message: m.error_message,
        }
    }
}

/// Writes a batch in one statement (through the write gate: it is a writer like any other).
pub async fn insert_batch(
    db: &DatabaseConnection,
    batch: Vec<RequestLog>,
) -> Result<(), PersistenceError> {
    if batch.is_empty() {
        return Ok(());
    }
    let rows = batch.into_iter().map(|r| request_log::ActiveModel {
        id: NotSet,
        occurred_at: Set(r.occurred_at),
        method: Set(r.method),
        route: Set(r.route),
        path: Set(r.path),
        query: Set(r.query),
        status: Set(r.status),
        duration_ms: Set(r.duration_ms),
        api_key_id: Set(r.api_key_id),
        api_key_name: Set(r.api_key_name),
        client_ip: Set(r.client_ip),
        user_agent: Set(r.user_agent),
        request_id: Set(r.request_id),
        error_message: Set(r.error_message),
        created_at: Set(r.occurred_at),
        updated_at: Set(r.occurred_at),
        created_by: Set(Some("system:request_log".to_owned())),
        updated_by: Set(None),
        deleted_at: Set(None),
    });
    let txn = tx::begin_write(db).await?;
    request_log::Entity::insert_many(rows).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct RequestLogFilter {
    pub api_key_id: Option<i64>,
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub status_code: Option<i32>,
    pub min_duration_ms: Option<f64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn filtered(f: &RequestLogFilter) -> Select<request_log::Entity> {
    use request_log::Column as C;
    let mut q = request_log::Entity::find();
    if let Some(id) = f.api_key_id {
        q = q.filter(C::ApiKeyId.eq(id));
    }
    if let Some(m) = &f.method {
        q = q.filter(C::Method.eq(m.to_uppercase()));
    }
    if let Some(p) = &f.path_contains {
        q = q.filter(C::Path.contains(p));
    }
    if let Some(s) = f.status_code {
        q = q.filter(C::Status.eq(s));
    }
    if let Some(d) = f.min_duration_ms {
        q = q.filter(C::DurationMs.gte(d));
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
    filter: &RequestLogFilter,
    paging: &Paging,
) -> Result<Page<RequestLog>, PersistenceError> {
    let sort = SortSpec {
        key: Some((
            Expr::col(request_log::Column::OccurredAt),
            KeyKind::Timestamp,
        )),
        nullable: false,
        id: Expr::col(request_log::Column::Id),
        direction: SortDirection::Desc,
    };
    let (q, total) = paging::window(db, filtered(filter), &sort, paging).await?;
    let rows = q.all(db).await?;
    Ok(paging::page(
        rows.into_iter().map(RequestLog::from).collect(),
        total,
        paging,
    ))
}

/// Aggregates over the requests since a moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestStats {
    pub total: u64,
    pub successful: u64,
    pub errors: u64,
    pub average_duration_ms: f64,
    pub p95_duration_ms: f64,
    pub by_method: Vec<(String, u64)>,
    pub by_route: Vec<(String, u64)>,
    pub top_keys: Vec<(Option<i64>, Option<String>, u64)>,
}

pub async fn stats(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<RequestStats, PersistenceError> {
    use request_log::Column as C;
    let base = || request_log::Entity::find().filter(C::OccurredAt.gte(since));
    let total = base().count(db).await?;
    let successful = base().filter(C::Status.lt(400)).count(db).await?;
    let average: Option<f64> = base()
        .select_only()
        .column_as(Expr::col(C::DurationMs).avg(), "avg")
        .into_tuple::<Option<f64>>()
        .one(db)
        .await?
        .flatten();
    let p95 = match total {
        0 => 0.0,
        n => {
            // The nearest-rank 95th percentile, read as one row.
            let rank = (n * 95).div_ceil(100).saturating_sub(1);
            base()
                .select_only()
                .column(C::DurationMs)
                .order_by_asc(C::DurationMs)
                .offset(rank)
                .limit(1)
                .into_tuple::<f64>()
                .one(db)
                .await?
                .unwrap_or(0.0)
        }
    };
    let count_expr = Expr::col(C::Id).count();
    let by_method: Vec<(String, i64)> = base()
        .select_only()
        .column(C::Method)
        .column_as(count_expr.clone(), "n")
        .group_by(C::Method)
        .order_by_desc(count_expr.clone())
        .into_tuple()
        .all(db)
        .await?;
    let by_route: Vec<(String, i64)> = base()
        .select_only()
        .column(C::Route)
        .column_as(count_expr.clone(), "n")
        .group_by(C::Route)
        .order_by_desc(count_expr.clone())
        .limit(20)
        .into_tuple()
        .all(db)
        .await?;
    let top_keys: Vec<(Option<i64>, Option<String>, i64)> = base()
        .select_only()
        .column(C::ApiKeyId)
        .column(C::ApiKeyName)
        .column_as(count_expr.clone(), "n")
        .filter(C::ApiKeyId.is_not_null())
        .group_by(C::ApiKeyId)
        .group_by(C::ApiKeyName)
        .order_by_desc(count_expr)
        .limit(10)
        .into_tuple()
        .all(db)
        .await?;
    let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(RequestStats {
        total,
        successful,
        errors: total - successful,
        average_duration_ms: average.unwrap_or(0.0),
        p95_duration_ms: p95,
        by_method: by_method
            .into_iter()
            .map(|(m, n)| (m, unsigned(n)))
            .collect(),
        by_route: by_route
            .into_iter()
            .map(|(r, n)| (r, unsigned(n)))
            .collect(),
        top_keys: top_keys
            .into_iter()
            .map(|(id, name, n)| (id, name, unsigned(n)))
            .collect(),
    })
}

/// Requests of one key: in the last day, the last week, and its most used route templates.
pub async fn key_usage(
    db: &impl ConnectionTrait,
    key_id: i64,
    now: DateTime<Utc>,
) -> Result<(u64, u64, Vec<(String, u64)>), PersistenceError> {
    use request_log::Column as C;
    let of_key = || request_log::Entity::find().filter(C::ApiKeyId.eq(key_id));
    let daily = of_key()
        .filter(C::OccurredAt.gte(now - chrono::Duration::days(1)))
        .count(db)
        .await?;
    let weekly = of_key()
        .filter(C::OccurredAt.gte(now - chrono::Duration::days(7)))
        .count(db)
        .await?;
    let count_expr = Expr::col(C::Id).count();
    let top: Vec<(String, i64)> = of_key()
        .filter(C::OccurredAt.gte(now - chrono::Duration::days(7)))
        .select_only()
        .column(C::Route)
        .column_as(count_expr.clone(), "n")
        .group_by(C::Route)
        .order_by_desc(count_expr)
        .limit(10)
        .into_tuple()
        .all(db)
        .await?;
    Ok((
        daily,
        weekly,
        top.into_iter()
            .map(|(r, n)| (r, u64::try_from(n).unwrap_or(0)))
            .collect(),
    ))
}

/// Deletes rows older than `before`; returns how many.
pub async fn purge(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
) -> Result<u64, PersistenceError> {
    // Whole months go by dropping their partition (PostgreSQL); the rest row by row.
    let dropped = crate::repo::partitions::drop_months(db, "request_logs", before).await?;
    let txn = tx::begin_write(db).await?;
    let res = request_log::Entity::delete_many()
        .filter(request_log::Column::OccurredAt.lt(before))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(dropped + res.rows_affected)
}
