//! The live change feed: server-sent events from the change log.

use std::time::Duration;

use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_with, step_run_ids};

/// One received event.
#[derive(Debug, Clone)]
struct Frame {
    id: Option<i64>,
    event: String,
    data: Value,
}

/// A client reading an event stream.
struct Sse {
    res: reqwest::Response,
    buf: String,
    /// Everything received, to check what never appears in it.
    raw: String,
}

impl Sse {
    async fn open(client: &reqwest::Client, url: &str, last_event_id: Option<i64>) -> Sse {
        let mut req = client.get(url);
        if let Some(last) = last_event_id {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut sse = Sse {
            res,
            buf: String::new(),
            raw: String::new(),
        };
        // The opening comment: the stream is subscribed from here on.
        sse.read_until(|b| b.contains(": connected"), Duration::from_secs(5))
            .await;
        sse
    }

    async fn read_until(&mut self, done: impl Fn(&str) -> bool, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(&self.buf) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.res.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    let text = String::from_utf8_lossy(&chunk).into_owned();
                    self.raw.push_str(&text);
                    self.buf.push_str(&text);
                }
                _ => return false,
            }
        }
        true
    }

    /// The next event (comments and the retry line skipped), or None within `limit`.
    async fn next(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(frame) = parse(&block) {
                    return Some(frame);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !self.read_until(|b| b.contains("\n\n"), left).await {
                return None;
            }
        }
    }

    async fn expect(&mut self) -> Frame {
        self.next(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }
}

fn parse(block: &str) -> Option<Frame> {
    let mut frame = Frame {
        id: None,
        event: String::new(),
        data: Value::Null,
    };
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            frame.id = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            frame.event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            frame.data = serde_json::from_str(v).unwrap();
        }
    }
    (!frame.event.is_empty()).then_some(frame)
}

async fn fast_app() -> TestApp {
    spawn_with(|s| s.events_poll_millis = 100).await
}

fn events_url(app: &TestApp, query: &str) -> String {
    app.api(&format!("/events{query}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_through_another_instance_reaches_the_stream() {
    let database = TestDatabase::create().await;
    let postgres = database.url.starts_with("postgres");
    // On PostgreSQL the poll timer is a minute: only the LISTEN/NOTIFY wake-up can deliver
    // within the test's time.
    let settings = Settings {
        database_url: database.url.clone(),
        port: 0,
        workers: 1,
        events_poll_millis: if postgres { 60_000 } else { 100 },
        shutdown_timeout_seconds: 1,
        ..Settings::default()
    };
    let a = procdash_server::start(&settings, true).await.unwrap();
    let b = procdash_server::start(&settings, false).await.unwrap();
    let (ha, hb) = (a.handle.clone(), b.handle.clone());
    tokio::spawn(a.server);
    tokio::spawn(b.server);
    let key = create_key(&a.db, "user", None).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let on_b = |path: &str| format!("http://{}/api/v1{path}", b.addr);
    let mut sse = Sse::open(&client, &format!("http://{}/api/v1/events", a.addr), None).await;
    // Let the poller of instance A read its starting point.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let process: Value = client
        .post(on_b("/processes/"))
        .json(&json!({"name": "p", "steps": [{"index": 0, "name": "s0"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run: Value = client
        .post(on_b("/runs/"))
        .json(&json!({"process_id": id(&process), "entity_id": "E-77",
            "entity_name": "Ann Secretname", "meta": {"ssn": "SECRET-META"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = sse.expect().await;
    assert_eq!(created.event, "run.created");
    assert_eq!(created.data["run_id"], id(&run));
    assert_eq!(created.data["process_id"], id(&process));
    assert_eq!(created.data["status"], "pending");
    assert_eq!(created.id, created.data["id"].as_i64());

    let step_run = step_run_ids(&run)[0];
    let res = client
        .patch(on_b(&format!("/step-runs/{step_run}")))
        .json(&json!({"status": "failed", "failure": {"message": "SECRET-FAILURE"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let updated = sse.expect().await;
    assert_eq!(updated.event, "step_run.updated");
    assert_eq!(updated.data["step_run_id"], step_run);
    assert_eq!(updated.data["run_id"], id(&run));
    assert_eq!(updated.data["process_id"], id(&process));
    assert_eq!(updated.data["status"], "failed");
    assert_eq!(updated.data["previous_status"], "pending");
    let changed = sse.expect().await;
    assert_eq!(changed.event, "run.status_changed");
    assert_eq!(changed.data["previous_status"], "pending");
    assert_eq!(changed.data["status"], "failed");
    assert!(created.id < updated.id && updated.id < changed.id);

    for secret in [
        "Ann Secretname",
        "SECRET-META",
        "SECRET-FAILURE",
        "E-77",
        "ssn",
    ] {
        assert!(!sse.raw.contains(secret), "{secret} in {}", sse.raw);
    }
    drop(sse);
    drop(ha.stop(false));
    drop(hb.stop(false));
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_replays_exactly_the_missed_events() {
    let app = fast_app().await;
    let process = app.create_process("p", 2).await;
    let mut sse = Sse::open(&app.client, &events_url(&app, ""), None).await;
    let run = app.create_run(id(&process), "E-1", None).await;
    let seen = sse.expect().await;
    assert_eq!(seen.event, "run.created");
    drop(sse);

    // Missed while disconnected: a step update (with the run's new status) and another run.
    let steps = step_run_ids(&run);
    app.set_step(steps[0], json!({"status": "running"})).await;
    let second = app.create_run(id(&process), "E-2", None).await;

    let mut sse = Sse::open(&app.client, &events_url(&app, ""), seen.id).await;
    let replayed: Vec<Frame> = vec![sse.expect().await, sse.expect().await, sse.expect().await];
    let kinds: Vec<&str> = replayed.iter().map(|f| f.event.as_str()).collect();
    assert_eq!(
        kinds,
        ["step_run.updated", "run.status_changed", "run.created"]
    );
    assert_eq!(replayed[0].data["step_run_id"], steps[0]);
    assert_eq!(replayed[2].data["run_id"], id(&second));
    assert!(replayed.windows(2).all(|w| w[0].id < w[1].id));
    assert!(replayed[0].id > seen.id);
    // Nothing else was missed: the next event is a new one, sent live.
    assert!(sse.next(Duration::from_millis(500)).await.is_none());
    app.set_step(steps[1], json!({"status": "running"})).await;
    let live = sse.expect().await;
    assert_eq!(live.event, "step_run.updated");
    assert_eq!(live.data["step_run_id"], steps[1]);
    assert!(live.id > replayed[2].id);
}

#[tokio::test]
async fn events_older_than_the_retention_answer_a_reset() {
    let app = fast_app().await;
    let process = app.create_process("p", 1).await;
    app.create_run(id(&process), "E-1", None).await;
    let backend = app.db.get_database_backend();
    let old = if backend == DbBackend::Postgres {
        "UPDATE change_log SET occurred_at = occurred_at - INTERVAL '2 hours'"
    } else {
        "UPDATE change_log SET occurred_at = strftime('%Y-%m-%dT%H:%M:%fZ', occurred_at, '-2 hours')"
    };
    app.db
        .execute_raw(Statement::from_string(backend, old))
        .await
        .unwrap();
    let mut sse = Sse::open(&app.client, &events_url(&app, ""), Some(0)).await;
    let reset = sse.expect().await;
    assert_eq!(reset.event, "reset");
    let head_id = reset.id.unwrap();
    assert!(head_id > 0);
    // A later change arrives live after the reset; the expired ones are not replayed.
    app.create_run(id(&process), "E-2", None).await;
    let next = sse.expect().await;
    assert_eq!(next.event, "run.created");
    assert!(next.id.unwrap() > head_id);
    // An id the server never issued resets too.
    let mut sse = Sse::open(&app.client, &events_url(&app, ""), Some(1_000_000)).await;
    assert_eq!(sse.expect().await.event, "reset");
}

#[tokio::test]
async fn filters_select_by_process_and_type_and_bad_ones_are_refused() {
    let app = fast_app().await;
    let p1 = app.create_process("p1", 1).await;
    let p2 = app.create_process("p2", 1).await;
    let mut only_p2 = Sse::open(
        &app.client,
        &events_url(&app, &format!("?process_id={}", id(&p2))),
        None,
    )
    .await;
    let mut only_updates = Sse::open(
        &app.client,
        &events_url(&app, "?types=step_run.updated"),
        None,
    )
    .await;
    let r1 = app.create_run(id(&p1), "E-1", None).await;
    let r2 = app.create_run(id(&p2), "E-2", None).await;
    app.set_step(step_run_ids(&r1)[0], json!({"status": "running"}))
        .await;
    app.set_step(step_run_ids(&r2)[0], json!({"status": "running"}))
        .await;
    let mut got = Vec::new();
    while let Some(f) = only_p2.next(Duration::from_millis(1500)).await {
        got.push(f);
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|f| f.data["process_id"] == id(&p2)));
    let mut updates = Vec::new();
    while let Some(f) = only_updates.next(Duration::from_millis(1000)).await {
        updates.push(f);
    }
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().all(|f| f.event == "step_run.updated"));

    for query in [
        "?types=run.deleted",
        "?types=",
        "?process=1",
        "?process_id=x",
    ] {
        let res = app
            .client
            .get(events_url(&app, query))
            .send()
            .await
            .unwrap();
        assert_error(res, 422, "validation_error").await;
    }
    let res = app
        .client
        .get(events_url(&app, ""))
        .header("Last-Event-ID", "abc")
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_error").await;
    let res = app
        .anonymous
        .get(events_url(&app, ""))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn streams_per_key_are_limited() {
    // The server notices a closed connection when it next writes: at the latest one heartbeat.
    let app = spawn_with(|s| {
        s.events_max_connections_per_key = 2;
        s.events_heartbeat_seconds = 1;
    })
    .await;
    let first = Sse::open(&app.client, &events_url(&app, ""), None).await;
    let _second = Sse::open(&app.client, &events_url(&app, ""), None).await;
    let res = app.client.get(events_url(&app, "")).send().await.unwrap();
    assert_error(res, 429, "rate_limited").await;
    // Another key has its own allowance.
    let other = create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .get(events_url(&app, ""))
        .header("x-api-key", other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Closing a stream frees its place.
    drop(first);
    let mut freed = false;
    for _ in 0..50 {
        let res = app.client.get(events_url(&app, "")).send().await.unwrap();
        if res.status() == StatusCode::OK {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "a closed stream still counts");
}

#[tokio::test]
async fn an_idle_stream_gets_heartbeats() {
    let app = spawn_with(|s| s.events_heartbeat_seconds = 1).await;
    let mut sse = Sse::open(&app.client, &events_url(&app, ""), None).await;
    assert!(
        sse.read_until(|b| b.contains(": heartbeat"), Duration::from_secs(3))
            .await
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_feed() {
    let app = fast_app().await;
    let spec = crate::openapi::spec(&app).await;
    let op = &spec["paths"]["/api/v1/events"]["get"];
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in ["process_id", "types", "Last-Event-ID"] {
        assert!(names.contains(&name), "{name}");
    }
    assert!(op["responses"]["200"]["content"]["text/event-stream"].is_object());
    assert!(op["responses"]["429"].is_object());
}
