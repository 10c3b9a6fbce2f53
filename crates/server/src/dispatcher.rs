//! The outbox dispatcher: claims due deliveries (rerun dispatches and webhook events), sends
//! them, and records each try. On PostgreSQL rows are claimed `FOR UPDATE SKIP LOCKED` with a
//! lease; on SQLite each poll tick is first claimed through the coordinated-job table, so only
//! one instance polls a tick. Either way two instances never send one delivery at once, and a
//! delivery left behind by a stopped instance is picked up when its lease runs out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use procdash_api::AppState;
use procdash_domain::outbound::OutboundPolicy;
use procdash_domain::reruns::{RetryPolicy, TryOutcome};
use procdash_persistence::entities::outbox as outbox_row;
use procdash_persistence::repo::outbox::{self, Next, TryRecord};
use procdash_persistence::repo::{jobs, webhooks};
use procdash_persistence::{Actor, DbBackend};

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What the dispatcher needs from the configuration.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub instance: String,
    pub poll: Duration,
    pub policy: OutboundPolicy,
    pub automation_token: Option<Secret>,
    pub batch: u64,
}

const JOB: &str = "dispatch_outbox";

/// Starts the dispatcher loop; abort the handle to stop it (a send cut short is retried by
/// whichever instance claims the row when its lease runs out).
pub fn spawn(state: Arc<AppState>, settings: DispatchSettings) -> tokio::task::AbortHandle {
    let task = tokio::spawn(async move {
        let period = settings.poll.as_millis().max(1);
        loop {
            let now = u128::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
            let wait = period - now % period;
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1000))).await;
            let tick = i64::try_from((now + wait) / period).unwrap_or(0);
            poll(&state, &settings, tick).await;
        }
    });
    task.abort_handle()
}

async fn poll(state: &AppState, settings: &DispatchSettings, tick: i64) {
    if state.db.get_database_backend() != DbBackend::Postgres {
        match jobs::claim_tick(&state.db, JOB, tick, &settings.instance).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "dispatcher cannot claim its tick");
                return;
            }
        }
        if tick % 100 == 0 {
            let _ = jobs::forget_old_ticks(&state.db, JOB, tick - 1000).await;
        }
    }
    // The lease outlives the longest send (300 s timeout) with room to record the try.
    let lease = chrono::Duration::seconds(330);
    let rows = match outbox::claim_due(&state.db, &settings.instance, lease, settings.batch).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "dispatcher cannot claim deliveries");
            return;
        }
    };
    let sends = rows.into_iter().map(|row| deliver(state, settings, row));
    futures_util::future::join_all(sends).await;
}

/// Sends one delivery and records the try.
async fn deliver(state: &AppState, settings: &DispatchSettings, row: outbox_row::Model) {
    let actor = Actor::system("dispatcher");
    let policy = match outbox::policy(&row) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(delivery = row.id, error = %e, "unreadable retry policy");
            return;
        }
    };
    let started = Instant::now();
    let at = procdash_persistence::clock::now();
    let (outcome, http_status, error) = send(state, settings, &row, &policy).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let tries = u32::try_from(row.try_count).unwrap_or(0).saturating_add(1);
    let next = match outcome {
        TryOutcome::Delivered => Next::Delivered,
        other => match policy.next_delay(tries, other) {
            Some(seconds) => Next::RetryAt(
                Utc::now() + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64),
            ),
            None => Next::Failed,
        },
    };
    let record = TryRecord {
        at,
        http_status,
        error,
        duration_ms,
    };
    tracing::info!(
        delivery = row.id, kind = %row.kind, try_number = tries, status = ?record.http_status,
        duration_ms, next = ?next, "delivery try"
    );
    if let Err(e) =
        outbox::record_try(&state.db, &actor, row.id, &settings.instance, record, next).await
    {
        tracing::error!(delivery = row.id, error = %e, "cannot record a delivery try");
    }
}

/// One HTTP request: the allow-list and the address rule are checked again at send time, and
/// the connection goes to the address that was checked.
async fn send(
    state: &AppState,
    settings: &DispatchSettings,
    row: &outbox_row::Model,
    policy: &RetryPolicy,
) -> (TryOutcome, Option<u16>, Option<String>) {
    let Ok(url) = url::Url::parse(&row.target) else {
        return (
            TryOutcome::Refused,
            None,
            Some("the target is not a valid URL".to_owned()),
        );
    };
    let Some(host) = url.host_str().map(str::to_owned) else {
        return (
            TryOutcome::Refused,
            None,
            Some("the target names no host".to_owned()),
        );
    };
    if !settings.policy.allows_host(&host) {
        return (
            TryOutcome::Refused,
            None,
            Some(format!("host {host} is not in OUTBOUND_ALLOWED_HOSTS")),
        );
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => a.collect(),
        Err(_) => {
            return (
                TryOutcome::NetworkError,
                None,
                Some(format!("cannot resolve {host}")),
            );
        }
    };
    let addr = match checked_address(&settings.policy, &host, &addrs) {
        Ok(a) => a,
        Err((outcome, why)) => return (outcome, None, Some(why)),
    };
    let body = match body_of(row) {
        Ok(b) => b,
        Err(e) => return (TryOutcome::Refused, None, Some(e)),
    };
    let timeout = Duration::from_millis((policy.timeout_seconds * 1000.0).round() as u64);
    let client = match reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
    {
        Ok(c) => c,
        Err(_) => {
            return (
                TryOutcome::NetworkError,
                None,
                Some("cannot build the HTTP client".into()),
            );
        }
    };
    let method = if row.method == "PUT" {
        reqwest::Method::PUT
    } else {
        reqwest::Method::POST
    };
    let mut request = client
        .request(method, url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Procdash-Delivery", &row.delivery_id);
    match row.kind.as_str() {
        outbox::KIND_RERUN_AUTOMATION => {
            if let Some(token) = &settings.automation_token {
                request = request.bearer_auth(token.expose());
            }
        }
        outbox::KIND_WEBHOOK => {
            let secret = match webhooks::signing_secret(&state.db, row.subject_id).await {
                Ok(Some(s)) => s,
                Ok(None) => {
                    return (
                        TryOutcome::Refused,
                        None,
                        Some("the webhook was deleted".to_owned()),
                    );
                }
                Err(_) => {
                    return (
                        TryOutcome::NetworkError,
                        None,
                        Some("cannot read the webhook".to_owned()),
                    );
                }
            };
            let signature =
                procdash_domain::signature::sign(&secret, Utc::now().timestamp(), &body);
            request = request
                .header("Procdash-Event", row.event_type.clone().unwrap_or_default())
                .header("Procdash-Signature", signature);
        }
        _ => {}
    }
    match request.body(body).send().await {
        Ok(res) if res.status().is_success() => {
            (TryOutcome::Delivered, Some(res.status().as_u16()), None)
        }
        Ok(res) => {
            let code = res.status().as_u16();
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0);
            (
                TryOutcome::Status { code, retry_after },
                Some(code),
                Some(format!("the target answered HTTP {code}")),
            )
        }
        Err(e) if e.is_timeout() => (TryOutcome::Timeout, None, Some("timed out".to_owned())),
        Err(_) => (
            TryOutcome::NetworkError,
            None,
            Some("connection failed".to_owned()),
        ),
    }
}

/// The address to connect to: the first one DNS gave, provided none of them is a private,
/// loopback or link-local address that the allow-list does not name exactly.
fn checked_address(
    policy: &OutboundPolicy,
    host: &str,
    addrs: &[SocketAddr],
) -> Result<SocketAddr, (TryOutcome, String)> {
    let Some(first) = addrs.first().copied() else {
        return Err((TryOutcome::NetworkError, format!("cannot resolve {host}")));
    };
    if let Some(bad) = addrs.iter().find(|a| policy.refuses_address(host, a.ip())) {
        return Err((
            TryOutcome::Refused,
            format!(
                "{host} resolves to {}, a private, loopback or link-local address that is not listed",
                bad.ip()
            ),
        ));
    }
    Ok(first)
}

fn body_of(row: &outbox_row::Model) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&row.payload).map_err(|_| "unreadable payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        let owned: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        OutboundPolicy::new(&owned).unwrap()
    }

    #[test]
    fn a_name_resolving_to_a_private_address_is_refused_unless_listed_exactly() {
        let private: Vec<SocketAddr> = vec!["10.1.2.3:443".parse().unwrap()];
        let mixed: Vec<SocketAddr> = vec![
            "93.184.216.34:443".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        ];
        let by_suffix = policy(&[".corp.example"]);
        let refused = checked_address(&by_suffix, "db.corp.example", &private);
        assert!(
            matches!(refused, Err((TryOutcome::Refused, _))),
            "{refused:?}"
        );
        // Every resolved address counts, not only the first.
        let refused = checked_address(&by_suffix, "db.corp.example", &mixed);
        assert!(
            matches!(refused, Err((TryOutcome::Refused, _))),
            "{refused:?}"
        );
        let exact = policy(&["db.corp.example"]);
        assert_eq!(
            checked_address(&exact, "db.corp.example", &private).ok(),
            Some(private[0])
        );
        let by_ip = policy(&[".corp.example", "10.1.2.3"]);
        assert_eq!(
            checked_address(&by_ip, "db.corp.example", &private).ok(),
            Some(private[0])
        );
        let public: Vec<SocketAddr> = vec!["93.184.216.34:443".parse().unwrap()];
        assert_eq!(
            checked_address(&by_suffix, "api.corp.example", &public).ok(),
            Some(public[0])
        );
        assert!(matches!(
            checked_address(&by_suffix, "x.corp.example", &[]),
            Err((TryOutcome::NetworkError, _))
        ));
    }
}
