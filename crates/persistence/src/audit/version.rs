//! A version of the audited data: the newest change-log id. Every audited write (processes,
//! steps, runs, step runs, and what deletes, restores or neutralizes them) inserts its change
//! rows inside its own transaction, so the id moves with every such commit. One backward step of
//! the primary-key index (per partition on PostgreSQL).

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

use crate::PersistenceError;

/// The newest change-log id, 0 when there is none.
pub async fn data_version(db: &impl ConnectionTrait) -> Result<i64, PersistenceError> {
    #[derive(FromQueryResult)]
    struct Row {
        v: i64,
    }
    let row = Row::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS v FROM change_log",
    ))
    .one(db)
    .await?;
    Ok(row.map_or(0, |r| r.v))
}
