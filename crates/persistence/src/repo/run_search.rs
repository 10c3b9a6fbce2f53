//! Global run search. The exact condition is a case-insensitive substring test on entity_id,
//! entity_name, the status and the metadata in scope; an index-served superset narrows the rows
//! first: trigram GIN indexes on PostgreSQL, the FTS5 trigram table `run_search` on SQLite
//! (kept in step with the runs by triggers, see the migration).

use procdash_domain::meta_filter::MetaPath;
use procdash_domain::search::{MetaScope, SearchText};
use procdash_domain::{Page, Paging, ProcessRun, SortDirection};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};
use tracing::instrument;

use crate::PersistenceError;
use crate::entities::process_run;
use crate::paging::{KeyKind, SortSpec};
use crate::repo::{run_filters, runs};

/// What to search for and where.
#[derive(Debug, Clone)]
pub struct RunSearch {
    pub text: SearchText,
    pub process_id: Option<i64>,
    pub meta: MetaScope,
}

/// Live runs matching the search, newest first.
#[instrument(skip(db, search), fields(process_id = search.process_id))]
pub async fn search(
    db: &impl ConnectionTrait,
    search: &RunSearch,
    paging: &Paging,
) -> Result<Page<ProcessRun>, PersistenceError> {
    let backend = db.get_database_backend();
    let mut query = process_run::Entity::find()
        .filter(process_run::Column::DeletedAt.is_null())
        .filter(matches(backend, search));
    if let Some(id) = search.process_id {
        query = query.filter(process_run::Column::ProcessId.eq(id));
    }
    let sort = SortSpec {
        key: Some((
            Expr::col((process_run::Entity, process_run::Column::CreatedAt)),
            KeyKind::Timestamp,
        )),
        nullable: false,
        id: Expr::col((process_run::Entity, process_run::Column::Id)),
        direction: SortDirection::Desc,
    };
    runs::page_of(db, query, &sort, paging, None).await
}

fn lower_like(column: process_run::Column, pattern: &str) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// The exact condition, with the backend's index-served prefilter where one applies.
pub(crate) fn matches(backend: DbBackend, search: &RunSearch) -> Condition {
    let pattern = search.text.like_pattern();
    let lower = search.text.lower();
    let mut text_fields = Condition::any()
        .add(lower_like(process_run::Column::EntityId, &pattern))
        .add(lower_like(process_run::Column::EntityName, &pattern));
    match &search.meta {
        MetaScope::None => {}
        MetaScope::Keys(keys) => {
            for key in keys {
                if let Ok(path) = MetaPath::parse(key) {
                    text_fields =
                        text_fields.add(run_filters::meta_key_contains(backend, &path, &pattern));
                }
            }
        }
        MetaScope::AllScalars => {
            let exact = run_filters::any_meta_contains(backend, &pattern);
            let plain = !lower
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control());
            text_fields = text_fields.add(if backend == DbBackend::Postgres && plain {
                Condition::all()
                    .add(run_filters::meta_document_contains(&pattern))
                    .add(exact)
            } else {
                Condition::all().add(exact)
            });
        }
    }
    // The FTS5 trigram table answers substrings of 3 characters or more.
    // FTS5's query syntax cannot hold control characters, even inside a quoted phrase.
    let fts_safe = !search.text.as_str().chars().any(char::is_control);
    if backend == DbBackend::Sqlite && fts_safe && search.text.as_str().chars().count() >= 3 {
        text_fields = Condition::all()
            .add(run_filters::search_document_matches(search.text.as_str()))
            .add(text_fields);
    }
    let statuses: Vec<&str> = search
        .text
        .matching_statuses()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut any = Condition::any().add(text_fields);
    if !statuses.is_empty() {
        any = any.add(process_run::Column::Status.is_in(statuses));
    }
    any
}
