//! The request log: every request under the API prefix is recorded, written asynchronously in
//! batches. A full buffer drops entries (counted, reported in /health) rather than block.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use procdash_persistence::DatabaseConnection;
use procdash_persistence::repo::request_logs::{self, RequestLog};
use tokio::sync::mpsc;

use procdash_domain::secrets::mask_keys;

use crate::auth::{AuthOutcome, client_ip};
use crate::request_id::RequestId;
use crate::state::AppState;

const BATCH: usize = 1000;
/// Query parameters whose values are personal data (entity filters, search terms).
const PERSONAL: [&str; 4] = ["entity_id", "entity_name", "q", "meta_filter"];
/// Path parameters whose values are personal data (`/entities/{entity_id}/runs`).
const PERSONAL_SEGMENTS: [&str; 1] = ["{entity_id}"];
const GATHER: std::time::Duration = std::time::Duration::from_millis(250);

/// The sending side of the log buffer.
#[derive(Clone)]
pub struct RequestLogSink {
    tx: mpsc::Sender<RequestLog>,
    dropped: Arc<AtomicU64>,
}

impl RequestLogSink {
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<RequestLog>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }

    fn record(&self, entry: RequestLog) {
        if self.tx.try_send(entry).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Writes buffered entries in batches until told to stop, then writes what is left.
pub async fn run_writer(
    mut rx: mpsc::Receiver<RequestLog>,
    db: DatabaseConnection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
                write(&db, std::mem::take(&mut batch)).await;
                // Let the buffer fill: a few large inserts cost far less than many small ones.
                tokio::select! {
                    () = tokio::time::sleep(GATHER) => {}
                    _ = stop.changed() => {}
                }
            }
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            while let Ok(entry) = rx.try_recv() {
                batch.push(entry);
                if batch.len() == BATCH {
                    write(&db, std::mem::take(&mut batch)).await;
                }
            }
            write(&db, std::mem::take(&mut batch)).await;
            return;
        }
    }
}

async fn write(db: &DatabaseConnection, rows: Vec<RequestLog>) {
    if rows.is_empty() {
        return;
    }
    if let Err(e) = request_logs::insert_batch(db, rows).await {
        tracing::warn!(error = %e, "request log batch lost");
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let logged = state
        .as_ref()
        .is_some_and(|s| req.path().starts_with(&s.info.prefix));
    let started = Instant::now();
    let res = next.call(req).await?;
    if let (true, Some(state)) = (logged, state) {
        state.request_log.record(entry(&res, started, &state));
    }
    Ok(res)
}

fn entry<B>(res: &ServiceResponse<B>, started: Instant, state: &AppState) -> RequestLog {
    let req = res.request();
    let principal = req
        .extensions()
        .get::<AuthOutcome>()
        .and_then(|o| o.0.clone().ok());
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = res.status().as_u16();
    RequestLog {
        id: 0,
        occurred_at: procdash_persistence::clock::now(),
        method: req.method().to_string(),
        route: req
            .match_pattern()
            .unwrap_or_else(|| "<unmatched>".to_owned()),
        path: mask_keys(&redact_path(req.path(), req.match_pattern().as_deref())),
        query: Some(redact_query(req.query_string())).filter(|q| !q.is_empty()),
        status: i32::from(status),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        api_key_id: principal.as_ref().map(|p| p.key_id),
        api_key_name: principal.map(|p| p.name),
        client_ip: client_ip(req, &state.security.trusted_proxies).map(|ip| ip.to_string()),
        user_agent: header("user-agent"),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        error_message: (status >= 400)
            .then(crate::request_id::recorded_error)
            .flatten(),
    }
}

/// Replaces the path segments that a personal path parameter matched with `***`.
fn redact_path(path: &str, pattern: Option<&str>) -> String {
    let Some(pattern) = pattern.filter(|p| PERSONAL_SEGMENTS.iter().any(|s| p.contains(s))) else {
        return path.to_owned();
    };
    let mut template = pattern.trim_end_matches('/').split('/');
    path.split('/')
        .map(|segment| match template.next() {
            Some(t) if PERSONAL_SEGMENTS.contains(&t) => "***",
            _ => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Keys never reach the log, even when a client wrongly puts one in the query string.
fn redact_query(query: &str) -> String {
    let pairs = url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
        let name = k.to_ascii_lowercase();
        // Secrets, and the personal data a filter can carry: the log never needs the values.
        let secret = name.contains("key")
            || name.contains("token")
            || v.contains("pd_")
            || PERSONAL.contains(&name.as_str());
        (
            k.into_owned(),
            if secret {
                "***".to_owned()
            } else {
                v.into_owned()
            },
        )
    });
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_path_segments_are_redacted() {
        let pattern = Some("/api/v1/entities/{entity_id}/runs");
        assert_eq!(
            super::redact_path("/api/v1/entities/CPR%2F1/runs", pattern),
            "/api/v1/entities/***/runs"
        );
        assert_eq!(
            super::redact_path("/api/v1/runs/7", Some("/api/v1/runs/{run_id}")),
            "/api/v1/runs/7"
        );
        assert_eq!(super::redact_path("/x/y", None), "/x/y");
    }

    #[test]
    fn secrets_in_query_strings_are_redacted() {
        let q = super::redact_query(
            "status=failed&api_key=pd_abc&x=pd_secret&token=t&entity_id=CPR1&entity_name=Jane+Doe",
        );
        assert_eq!(
            q,
            "status=failed&api_key=***&x=***&token=***&entity_id=***&entity_name=***"
        );
    }
}
