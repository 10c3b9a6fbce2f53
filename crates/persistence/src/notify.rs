//! Change notices between instances on one PostgreSQL database: `pg_notify` inside the writing
//! transaction (delivered only when it commits), `LISTEN` on a dedicated connection elsewhere.
//!
//! Notices are a wake-up, not a source of truth: one missed while a listener reconnects is
//! covered by telling the subscriber [`Notice::Resync`], and by the subscriber's own expiry. SQLite
//! has no notices; a second process on the same file relies on that expiry alone.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::mpsc;

use crate::PersistenceError;

/// API keys changed: the payload is the key id.
pub const KEYS_CHANNEL: &str = "procdash_keys";

/// Change-log rows were committed (the statement trigger of migration `notify_change_log`):
/// the live feed's wake-up, with an empty payload.
pub const CHANGES_CHANNEL: &str = "procdash_changes";

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// One notice's payload.
    Message(String),
    /// The listening connection was (re)established: notices may have been missed meanwhile.
    Resync,
}

/// Sends a notice on `channel` when the caller's transaction commits (PostgreSQL); nothing on
/// SQLite.
pub async fn publish(
    db: &impl ConnectionTrait,
    channel: &str,
    payload: &str,
) -> Result<(), PersistenceError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), payload.into()],
    );
    db.execute_raw(stmt).await?;
    Ok(())
}

/// Listens on `channel` for as long as the returned receiver lives; `None` on SQLite.
///
/// The listener holds one connection outside the pool and reconnects on its own (with a pause of a
/// second between failed attempts), sending [`Notice::Resync`] after every (re)connection.
pub fn subscribe(db: &DatabaseConnection, channel: &'static str) -> Option<mpsc::Receiver<Notice>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    // A pool of its own (one connection, same options), so the listener never takes a
    // connection from the requests' pool.
    let options = (*db.get_postgres_connection_pool().connect_options()).clone();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .connect_lazy_with(options);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        while !tx.is_closed() {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(channel, error = %e, "cannot listen for notices; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(channel).await {
                tracing::warn!(channel, error = %e, "LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            if tx.send(Notice::Resync).await.is_err() {
                return;
            }
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    got = listener.try_recv() => match got {
                        Ok(Some(n)) => {
                            if tx.send(Notice::Message(n.payload().to_owned())).await.is_err() {
                                return;
                            }
                        }
                        // The connection dropped; start over (and resync) with a new one.
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(channel, error = %e, "notice listener failed; reconnecting");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    }
                }
            }
        }
    });
    Some(rx)
}
