//! The per-instance poller: reads change-log rows after the last one it saw and publishes
//! their events.
//!
//! On PostgreSQL ids come from a sequence, so a transaction that took a lower id can commit
//! after one with a higher id. An id skipped over is therefore remembered as a gap for
//! [`GAP_WAIT`] and read again until it shows up (or is given up as a rolled-back one).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use procdash_persistence::audit::feed;
use procdash_persistence::notify;
use procdash_persistence::{DatabaseConnection, PersistenceError};
use tokio::sync::Notify;

use super::EventHub;

/// How long a skipped id may still commit.
const GAP_WAIT: Duration = Duration::from_secs(10);
/// Larger jumps (a sequence cache after a restart) are not tracked id by id.
const MAX_TRACKED_GAP: i64 = 1000;
const PAGE: u64 = 500;

pub(super) fn spawn(hub: EventHub, db: DatabaseConnection) {
    let wake = Arc::new(Notify::new());
    if let Some(notices) = notify::subscribe(&db, notify::CHANGES_CHANNEL) {
        tokio::spawn(listen(notices, wake.clone()));
    }
    tokio::spawn(async move {
        let mut poller = Poller {
            hub,
            db,
            cursor: 0,
            gaps: BTreeMap::new(),
        };
        poller.run(&wake).await;
    });
}

/// Turns each NOTIFY into a wake-up. After the listener (re)connects notices may have been
/// missed, so that wakes the poller too; between notices the poller's timer covers.
async fn listen(mut notices: tokio::sync::mpsc::Receiver<notify::Notice>, wake: Arc<Notify>) {
    while notices.recv().await.is_some() {
        wake.notify_one();
    }
}

struct Poller {
    hub: EventHub,
    db: DatabaseConnection,
    /// The highest id seen.
    cursor: i64,
    /// Ids below the cursor not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl Poller {
    async fn run(&mut self, wake: &Notify) {
        // Start at the head: older changes are for replays, which read the database.
        loop {
            match feed::head(&self.db).await {
                Ok(head) => {
                    self.cursor = head;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event poller cannot read the change log");
                    tokio::time::sleep(self.hub.settings.poll_interval).await;
                }
            }
        }
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(self.hub.settings.poll_interval) => {}
            }
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "event poller cannot read the change log");
            }
        }
    }

    /// Reads everything new (and any gap that has filled) and publishes it.
    async fn catch_up(&mut self) -> Result<(), PersistenceError> {
        let now = Instant::now();
        self.gaps
            .retain(|_, since| now.duration_since(*since) < GAP_WAIT);
        let mut after = self
            .gaps
            .keys()
            .next()
            .map_or(self.cursor, |first| (first - 1).min(self.cursor));
        loop {
            let page = feed::read_after(&self.db, after, PAGE).await?;
            let Some(&last) = page.ids.last() else {
                return Ok(());
            };
            let mut events = page.events.into_iter().peekable();
            for id in page.ids.iter().copied() {
                let fresh = self.see(id, now);
                while let Some(event) = events.next_if(|e| e.id <= id) {
                    if fresh && event.id == id {
                        self.hub.publish(event);
                    }
                }
            }
            if page.ids.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                return Ok(());
            }
            after = last;
        }
    }

    /// Records that row `id` is committed; true when it was not seen before.
    fn see(&mut self, id: i64, now: Instant) -> bool {
        if id <= self.cursor {
            return self.gaps.remove(&id).is_some();
        }
        if id - self.cursor <= MAX_TRACKED_GAP {
            for missing in self.cursor + 1..id {
                self.gaps.insert(missing, now);
            }
        }
        self.cursor = id;
        true
    }
}
