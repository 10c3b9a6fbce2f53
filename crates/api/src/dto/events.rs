//! The live feed's query and the `data:` of each event.

use chrono::{DateTime, Utc};
use procdash_domain::events::Event;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Which events to receive.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events of this process's runs.
    pub process_id: Option<i64>,
    /// Comma-separated event types: run.created, run.status_changed, step_run.updated,
    /// rerun.created. Default: all. An unknown type is a 422.
    #[param(example = "run.created,run.status_changed")]
    pub types: Option<String>,
}

/// The `data:` line of an event: ids and statuses only, never entity names, meta or failure
/// texts. The same value is the `id:` line.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventData {
    /// The change-log id of the change; increases with every write.
    #[schema(example = 1042)]
    pub id: i64,
    /// run.created, run.status_changed, step_run.updated or rerun.created (also the SSE
    /// `event:` name).
    #[serde(rename = "type")]
    #[schema(example = "run.status_changed")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub run_id: i64,
    pub process_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_run_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<i64>,
    #[schema(example = "running")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "pending")]
    pub previous_status: Option<String>,
}

impl From<&Event> for EventData {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            kind: e.kind.as_str().to_owned(),
            occurred_at: e.occurred_at,
            run_id: e.run_id,
            process_id: e.process_id,
            step_run_id: e.step_run_id,
            step_id: e.step_id,
            status: e.status.clone(),
            previous_status: e.previous_status.clone(),
        }
    }
}

/// One event of the stream as a client's SSE parser sees it (`id:`, `event:` and `data:`
/// lines). `data` is the JSON text of an [`EventData`]. The stream also carries `retry:` and
/// comment lines (heartbeats), which are not events.
#[derive(Debug, Serialize, ToSchema)]
pub struct SseEvent {
    /// The change-log id, also `EventData.id`; send it back as `Last-Event-ID`.
    #[schema(example = "1042")]
    pub id: String,
    /// run.created, run.status_changed, step_run.updated, rerun.created, or reset.
    #[schema(example = "run.created")]
    pub event: String,
    /// The JSON text of an EventData.
    #[schema(
        example = r#"{"id":1042,"type":"run.created","occurred_at":"2026-12-03T08:00:00Z","run_id":7,"process_id":1,"status":"pending"}"#
    )]
    pub data: String,
}
