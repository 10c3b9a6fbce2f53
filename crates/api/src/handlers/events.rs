use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::events::EventFilter;

use crate::auth::{AnyRole, Auth};
use crate::dto::events::{EventsQuery, SseEvent};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::events::sse::{self, Stream};
use crate::responses;
use crate::state::AppState;

/// The live change feed, as server-sent events.
///
/// Events: `run.created`, `run.status_changed`, `step_run.updated`, `rerun.created`, each with
/// an `id:` line (the change-log id) and a JSON `data:` line of ids and statuses. Reconnect with
/// `Last-Event-ID` to get exactly the events missed, if they are younger than
/// EVENTS_RETENTION_MINUTES; otherwise the stream starts with `event: reset`. A comment line
/// is sent every EVENTS_HEARTBEAT_SECONDS while idle.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header,
            description = "The last event id received: the missed events are replayed first"),
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "An endless text/event-stream; each event's data is an EventData",
            content_type = "text/event-stream", body = SseEvent),
        (status = 422, description = "Unknown event type, invalid process_id or Last-Event-ID, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
        (status = 429, description = "Rate limit exceeded, or EVENTS_MAX_CONNECTIONS_PER_KEY streams are already open for this key", body = ErrorBody),
    )
)]
pub async fn stream_events(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<EventsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let filter = EventFilter::new(query.process_id, query.types.as_deref())?;
    let last_event_id = last_event_id(&req)?;
    let hub = &state.events;
    let guard = hub.open_stream(auth.principal.key_id)?;
    // Subscribe before reading the replay, so no event falls between the two.
    let rx = hub.subscribe();
    let start = sse::start_for(&state.db, last_event_id, hub.settings.retention).await?;
    let stream = Stream::new(
        state.db.clone(),
        filter,
        rx,
        hub.settings.heartbeat,
        start,
        guard,
    );
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        // Proxies such as nginx would otherwise buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

fn last_event_id(req: &HttpRequest) -> ApiResult<Option<i64>> {
    let Some(raw) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    raw.to_str()
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| ApiError::field("Last-Event-ID", "must be a non-negative integer event id"))
}
