//! The live change feed (`GET /events`): one poller per instance reads new change-log rows and
//! fans their events out to every open stream through a tokio broadcast channel. On PostgreSQL
//! a LISTEN on the change-log trigger's NOTIFY wakes the poller as soon as a write commits, on
//! any instance; the poll timer is the fallback (and the only source on SQLite).

mod poller;
pub mod sse;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procdash_domain::events::Event;
use procdash_persistence::DatabaseConnection;
use tokio::sync::broadcast;

use crate::error::ApiError;

/// Feed settings, from the EVENTS_* configuration.
#[derive(Debug, Clone, Copy)]
pub struct EventSettings {
    /// How far back a reconnect with Last-Event-ID is replayed.
    pub retention: chrono::Duration,
    pub heartbeat: Duration,
    pub max_connections_per_key: usize,
    pub poll_interval: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            retention: chrono::Duration::minutes(60),
            heartbeat: Duration::from_secs(15),
            max_connections_per_key: 5,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Events a slow stream may fall behind before it is closed (it then reconnects and replays).
const CHANNEL_CAPACITY: usize = 4096;

/// The instance's feed: the broadcast channel and the open streams per API key.
#[derive(Clone)]
pub struct EventHub {
    pub settings: EventSettings,
    sender: broadcast::Sender<Arc<Event>>,
    open: Arc<Mutex<HashMap<i64, usize>>>,
}

impl EventHub {
    pub fn new(settings: EventSettings) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            settings,
            sender,
            open: Arc::default(),
        }
    }

    /// Starts the poller (and, on PostgreSQL, its LISTEN wake-up).
    pub fn start(&self, db: DatabaseConnection) {
        poller::spawn(self.clone(), db);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    fn publish(&self, event: Event) {
        // No receiver is not an error: nobody is listening right now.
        let _ = self.sender.send(Arc::new(event));
    }

    /// Counts a new stream for the key, or refuses it over the per-key limit.
    pub fn open_stream(&self, key_id: i64) -> Result<StreamGuard, ApiError> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| ApiError::Internal("event stream counter poisoned".into()))?;
        let count = open.entry(key_id).or_insert(0);
        if *count >= self.settings.max_connections_per_key {
            return Err(ApiError::TooManyStreams(format!(
                "At most {} event streams may be open per API key; close one first",
                self.settings.max_connections_per_key
            )));
        }
        *count += 1;
        Ok(StreamGuard {
            open: self.open.clone(),
            key_id,
        })
    }
}

/// Holds one stream's place in the per-key count; dropping it (the client went away) frees it.
pub struct StreamGuard {
    open: Arc<Mutex<HashMap<i64, usize>>>,
    key_id: i64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock()
            && let Some(count) = open.get_mut(&self.key_id)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key_id);
            }
        }
    }
}
