//! Reads that may go to a streaming replica (DATABASE_READ_URL): lists, search, dashboards, KPIs,
//! exports and histories. Everything else, and every read that follows a write, uses the primary.
//!
//! A monitor measures the replica's lag every second. When the replica is down, or lags more than
//! the allowed maximum, reads go back to the primary until it recovers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Replay lag in milliseconds: zero when everything received is replayed (an idle primary is
/// not lag), else the age of the last replayed transaction.
const LAG_SQL: &str = "SELECT CAST(CASE \
    WHEN NOT pg_is_in_recovery() THEN 0 \
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) \
    END AS BIGINT) AS lag_ms";

/// The connection reads go to, and what is known of the replica.
#[derive(Clone)]
pub struct ReadHandle {
    primary: DatabaseConnection,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    db: DatabaseConnection,
    max_lag: Duration,
    up: AtomicBool,
    /// -1 until the first measurement.
    lag_ms: AtomicI64,
}

/// What `/health` shows of the replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaStatus {
    pub up: bool,
    pub lag_seconds: Option<f64>,
    /// Whether reads go to it right now.
    pub serving_reads: bool,
}

impl ReadHandle {
    /// Every read on the primary.
    pub fn primary_only(primary: DatabaseConnection) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// Reads on the replica at `url` while it is up and within `max_lag`. The pool connects
    /// lazily: a replica that is down at start only means reads on the primary for now. Call
    /// inside the runtime (it starts the monitor).
    pub async fn with_replica(
        primary: DatabaseConnection,
        url: &str,
        max_connections: u32,
        max_lag: Duration,
    ) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(2))
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy(true)
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        let replica = Arc::new(Replica {
            db,
            max_lag,
            up: AtomicBool::new(false),
            lag_ms: AtomicI64::new(-1),
        });
        tokio::spawn(monitor(Arc::downgrade(&replica)));
        Ok(Self {
            primary,
            replica: Some(replica),
        })
    }

    /// Where a replica-safe read goes now.
    pub fn conn(&self) -> &DatabaseConnection {
        match &self.replica {
            Some(r) if r.serving() => &r.db,
            _ => &self.primary,
        }
    }

    pub fn primary(&self) -> &DatabaseConnection {
        &self.primary
    }

    /// None when no replica is configured.
    pub fn replica_status(&self) -> Option<ReplicaStatus> {
        self.replica.as_ref().map(|r| {
            let lag = r.lag_ms.load(Ordering::Relaxed);
            ReplicaStatus {
                up: r.up.load(Ordering::Relaxed),
                lag_seconds: (lag >= 0).then(|| lag as f64 / 1000.0),
                serving_reads: r.serving(),
            }
        })
    }
}

impl Replica {
    fn serving(&self) -> bool {
        let lag = self.lag_ms.load(Ordering::Relaxed);
        self.up.load(Ordering::Relaxed)
            && lag >= 0
            && u128::try_from(lag).unwrap_or(u128::MAX) <= self.max_lag.as_millis()
    }
}

/// Measures the lag every second for as long as the handle lives.
async fn monitor(replica: std::sync::Weak<Replica>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tick.tick().await;
        let Some(r) = replica.upgrade() else {
            return;
        };
        let stmt = Statement::from_string(r.db.get_database_backend(), LAG_SQL);
        let measured = tokio::time::timeout(CHECK_EVERY, r.db.query_one_raw(stmt)).await;
        let lag = match measured {
            Ok(Ok(Some(row))) => row.try_get::<i64>("", "lag_ms").ok(),
            _ => None,
        };
        let was_up = r.up.swap(lag.is_some(), Ordering::Relaxed);
        match lag {
            Some(ms) => r.lag_ms.store(ms, Ordering::Relaxed),
            None => {
                r.lag_ms.store(-1, Ordering::Relaxed);
                if was_up {
                    tracing::warn!("read replica unreachable; reads go to the primary");
                }
            }
        }
    }
}
