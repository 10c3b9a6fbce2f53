//! PostgreSQL LISTEN for the change-log notifications (migration `notify_change_log`): a
//! wake-up for the live feed's poller, which then reads the rows itself.

use sea_orm::sqlx::postgres::PgListener;

use crate::PersistenceError;

/// The channel the change-log trigger notifies.
pub const CHANNEL: &str = "procdash_changes";

/// A dedicated connection listening on [`CHANNEL`].
pub struct ChangeListener {
    inner: PgListener,
}

impl ChangeListener {
    /// Connects with its own connection (not one of the pool's) and starts listening.
    pub async fn connect(url: &str) -> Result<Self, PersistenceError> {
        let mut inner = PgListener::connect(url).await.map_err(db_err)?;
        inner.listen(CHANNEL).await.map_err(db_err)?;
        Ok(Self { inner })
    }

    /// Waits for the next notification. After a lost connection sqlx reconnects and listens
    /// again; notifications sent meanwhile are lost, which the poller's timer covers.
    pub async fn wait(&mut self) -> Result<(), PersistenceError> {
        self.inner.recv().await.map_err(db_err)?;
        Ok(())
    }
}

fn db_err(e: sea_orm::sqlx::Error) -> PersistenceError {
    PersistenceError::Database(sea_orm::DbErr::Custom(e.to_string()))
}
