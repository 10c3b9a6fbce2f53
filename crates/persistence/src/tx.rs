use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Starts a transaction that will write.
///
/// On SQLite it is an IMMEDIATE transaction: it takes the write lock at BEGIN, so two writers
/// never both read a stale snapshot and then race to upgrade (the busy timeout queues them).
/// PostgreSQL ignores the mode; there the callers lock the rows they recompute.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
