//! Rewriting stored snapshots when data must be forgotten (neutralization). The rows are marked
//! redacted; their payload_hash, and so the chain, is kept.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::Value;

use crate::PersistenceError;
use crate::entities::change_log;

/// Applies `redact` to the before/after snapshots of every change-log row (live and archived)
/// of these records.
pub async fn redact_records(
    db: &impl ConnectionTrait,
    entity: &str,
    record_ids: &[i64],
    redact: impl Fn(&mut Value),
) -> Result<u64, PersistenceError> {
    if record_ids.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let mut changed = 0;
    for table in ["change_log", "change_log_archive"] {
        let select = Query::select()
            .column(Asterisk)
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new("entity")).eq(entity))
            .and_where(Expr::col(Alias::new("record_id")).is_in(record_ids.iter().copied()))
            .to_owned();
        let rows = change_log::Model::find_by_statement(backend.build(&select))
            .all(db)
            .await?;
        for row in rows {
            let mut before = row.before.clone();
            let mut after = row.after.clone();
            before.iter_mut().chain(after.iter_mut()).for_each(&redact);
            let update = Query::update()
                .table(Alias::new(table))
                .value(Alias::new("before"), before)
                .value(Alias::new("after"), after)
                .value(Alias::new("redacted"), true)
                .and_where(Expr::col(Alias::new("id")).eq(row.id))
                .to_owned();
            db.execute(&update).await?;
            changed += 1;
        }
    }
    Ok(changed)
}
