//! One client's event stream: the replay of what it missed (from the database), then the live
//! events of the instance's poller, with a comment line as heartbeat.

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::web::Bytes;
use procdash_domain::events::{Event, EventFilter};
use procdash_persistence::DatabaseConnection;
use procdash_persistence::audit::feed;
use tokio::sync::broadcast::{self, error::RecvError};

use super::StreamGuard;
use crate::dto::events::EventData;

const REPLAY_PAGE: u64 = 500;

/// Where a new stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Live events only.
    Live,
    /// Replay every event after this id, then live.
    After(i64),
    /// The client's Last-Event-ID is older than the retention (or unknown): it gets an
    /// `event: reset` carrying the current head as its id, and live events after it.
    Reset(i64),
}

/// `id:`, `event:` and `data:` lines of one event.
pub fn frame(event: &Event) -> String {
    let data = serde_json::to_string(&EventData::from(event)).unwrap_or_default();
    format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.id,
        event.kind.as_str()
    )
}

fn reset_frame(head: i64) -> String {
    format!(
        "id: {head}\nevent: reset\ndata: {{\"reason\":\"events after Last-Event-ID are no longer kept; reload the current state\"}}\n\n"
    )
}

enum Phase {
    Opening,
    Replay { after: i64 },
    Live,
}

/// The state a stream carries from one chunk to the next.
pub struct Stream {
    db: DatabaseConnection,
    filter: EventFilter,
    rx: broadcast::Receiver<Arc<Event>>,
    heartbeat: tokio::time::Interval,
    start: Start,
    phase: Phase,
    /// Ids sent by the replay, so the live events that overlap it are not sent twice.
    replayed: HashSet<i64>,
    /// Nothing at or below this id is sent live (the client has it, or it was reset).
    floor: i64,
    _guard: StreamGuard,
}

impl Stream {
    pub fn new(
        db: DatabaseConnection,
        filter: EventFilter,
        rx: broadcast::Receiver<Arc<Event>>,
        heartbeat: std::time::Duration,
        start: Start,
        guard: StreamGuard,
    ) -> Self {
        let mut interval = tokio::time::interval(heartbeat);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; the opening chunk stands in for it.
        interval.reset();
        Self {
            db,
            filter,
            rx,
            heartbeat: interval,
            start,
            phase: Phase::Opening,
            replayed: HashSet::new(),
            floor: 0,
            _guard: guard,
        }
    }

    /// The next chunk, or None to end the stream.
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            let chunk = match self.phase {
                Phase::Opening => self.open(),
                Phase::Replay { after } => self.replay(after).await?,
                Phase::Live => self.live().await?,
            };
            // A replay page whose events the filter drops is empty: go on to the next one.
            if !chunk.is_empty() {
                return Some(Bytes::from(chunk));
            }
        }
    }

    fn open(&mut self) -> String {
        let mut out = String::from("retry: 3000\n: connected\n\n");
        match self.start {
            Start::Live => self.phase = Phase::Live,
            Start::After(id) => {
                self.floor = id;
                self.phase = Phase::Replay { after: id };
            }
            Start::Reset(head) => {
                self.floor = head;
                out.push_str(&reset_frame(head));
                self.phase = Phase::Live;
            }
        }
        out
    }

    /// One page of missed events; an empty page ends the replay.
    async fn replay(&mut self, after: i64) -> Option<String> {
        let page = match feed::read_after(&self.db, after, REPLAY_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                // The client reconnects with its Last-Event-ID and the replay starts over.
                tracing::warn!(error = %e, "event replay cannot read the change log");
                return None;
            }
        };
        let Some(&last) = page.ids.last() else {
            self.phase = Phase::Live;
            return Some(String::new());
        };
        let mut out = String::new();
        for event in page.events.iter().filter(|e| self.filter.matches(e)) {
            self.replayed.insert(event.id);
            out.push_str(&frame(event));
        }
        self.phase = Phase::Replay { after: last };
        Some(out)
    }

    async fn live(&mut self) -> Option<String> {
        loop {
            tokio::select! {
                received = self.rx.recv() => match received {
                    Ok(event) => {
                        if event.id > self.floor
                            && !self.replayed.contains(&event.id)
                            && self.filter.matches(&event)
                        {
                            self.heartbeat.reset();
                            return Some(frame(&event));
                        }
                    }
                    // Too slow to keep up, or the hub is gone: end the stream; the client
                    // reconnects with Last-Event-ID and the replay fills in exactly what it missed.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
                _ = self.heartbeat.tick() => return Some(": heartbeat\n\n".to_owned()),
            }
        }
    }
}

/// Decides where a stream with this Last-Event-ID starts.
pub async fn start_for(
    db: &DatabaseConnection,
    last_event_id: Option<i64>,
    retention: chrono::Duration,
) -> Result<Start, procdash_persistence::PersistenceError> {
    let Some(last) = last_event_id else {
        return Ok(Start::Live);
    };
    let head = feed::head(db).await?;
    let cutoff = procdash_persistence::clock::now() - retention;
    if last > head || feed::missed_before(db, last, cutoff).await? {
        return Ok(Start::Reset(head));
    }
    Ok(Start::After(last))
}
