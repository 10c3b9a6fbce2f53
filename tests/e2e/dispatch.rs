//! Dispatch of reruns through the outbox: adapters, retries, final failure, restart and two
//! instances, against local receivers on port 0.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, id, spawn_with};
use crate::receiver::Receiver;
use crate::reruns::{failed_run, outbound, rerun};

/// Polls the dispatch until it is no longer pending.
pub async fn settled(app: &TestApp, step_run_id: i64, within: Duration) -> Value {
    let deadline = std::time::Instant::now() + within;
    loop {
        let d: Value = app
            .get(&format!("/step-runs/{step_run_id}/dispatch"))
            .await
            .json()
            .await
            .unwrap();
        if d["state"] != "pending" {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {d}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn start_rerun(app: &TestApp, config: Value) -> (i64, i64, i64) {
    let (run_id, _, failed) = failed_run(app, config, true).await;
    let res = rerun(app, failed, json!({"meta": {"rerun_reason": "r"}})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (run_id, failed, id(&body))
}

#[tokio::test]
async fn the_http_adapter_delivers_on_the_first_try() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![]).await;
    let (run_id, failed, attempt) =
        start_rerun(&app, json!({"api_endpoint": target.url("/rerun")})).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "delivered");
    assert_eq!(d["adapter"], "http");
    assert_eq!(d["tries"].as_array().unwrap().len(), 1);
    assert_eq!(d["tries"][0]["http_status"], 200);
    assert!(d["tries"][0]["duration_ms"].is_u64());
    let got = target.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/rerun");
    let body = got[0].json();
    assert_eq!(body["run_id"], run_id);
    assert_eq!(body["step_run_id"], attempt);
    assert_eq!(body["original_step_run_id"], failed);
    assert_eq!(body["attempt"], 2);
    assert_eq!(body["meta"]["rerun_reason"], "r");
    // The attempt stays pending: the robot reports its progress as usual.
    let sr: Value = app
        .get(&format!("/step-runs/{attempt}/attempts"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sr[1]["status"], "pending");
    // A first attempt was never dispatched.
    crate::helpers::assert_error(
        app.get(&format!("/step-runs/{failed}/dispatch")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_automation_server_adapter_sets_the_work_item_to_new_with_the_token() {
    let target = Receiver::start(vec![]).await;
    let base = target.url("/api");
    let app = spawn_with(|s| {
        outbound(s);
        s.automation_server_url = Some(base);
        s.automation_server_token = Some("as-secret-token-123".into());
    })
    .await;
    let (_, _, attempt) = start_rerun(&app, json!({"workitem_id": "wi 42"})).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["adapter"], "automation_server");
    let got = target.received();
    assert_eq!(got[0].method, "PUT");
    assert_eq!(got[0].path, "/api/workitems/wi%2042/status");
    assert_eq!(got[0].json(), json!({"status": "new"}));
    assert_eq!(
        got[0].header("authorization"),
        Some("Bearer as-secret-token-123")
    );
    // The token is in no response and no change-log entry.
    let changes = app
        .get("/audit/changes?size=1000")
        .await
        .text()
        .await
        .unwrap();
    assert!(!changes.contains("as-secret-token-123"));
    assert!(!d.to_string().contains("as-secret-token-123"));
}

#[tokio::test]
async fn retries_follow_retry_delays_then_succeed() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![(503, None), (502, None)]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [0.3, 0.6]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "delivered", "{d}");
    let statuses: Vec<u64> = d["tries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["http_status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 502, 200]);
    let got = target.received();
    assert!(got[1].at - got[0].at >= Duration::from_millis(300));
    assert!(got[2].at - got[1].at >= Duration::from_millis(600));
    // Every try carries the same delivery id, so the target can deduplicate.
    assert_eq!(
        got[0].header("procdash-delivery"),
        got[2].header("procdash-delivery")
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![(429, Some("1"))]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [0.01]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "delivered", "{d}");
    let got = target.received();
    assert!(got[1].at - got[0].at >= Duration::from_millis(950));
}

#[tokio::test]
async fn when_every_try_fails_the_attempt_fails_with_the_failure_object() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![(500, None), (500, None), (503, None)]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [0.05, 0.05]});
    let (run_id, _, attempt) = start_rerun(&app, config).await;
    assert_eq!(app.run(run_id).await["status"], "running");
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(d["tries"].as_array().unwrap().len(), 3);
    let run = app.run(run_id).await;
    assert_eq!(run["status"], "failed");
    let step = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| id(s) == attempt)
        .unwrap()
        .clone();
    assert_eq!(step["status"], "failed");
    assert_eq!(
        step["failure"],
        json!({"error": "Rerun dispatch failed", "adapter": "http", "last_status": 503,
               "message": "the target answered HTTP 503"})
    );
}

#[tokio::test]
async fn a_4xx_outside_the_failure_conditions_is_not_retried() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![(400, None)]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [0.01, 0.01, 0.01]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(d["tries"].as_array().unwrap().len(), 1);
    // 503 is retried only when server_error is listed.
    let target = Receiver::start(vec![(503, None)]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [0.01], "failure_conditions": ["timeout"]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["tries"].as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(target.received().len(), 1);
}

#[tokio::test]
async fn a_network_error_is_retried_and_recorded() {
    let app = spawn_with(outbound).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config =
        json!({"api_endpoint": format!("http://127.0.0.1:{port}/r"), "retry_delays": [0.05]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "failed");
    let tries = d["tries"].as_array().unwrap();
    assert_eq!(tries.len(), 2);
    assert!(tries[0]["http_status"].is_null());
    assert_eq!(tries[0]["error"], "connection failed");
}

/// A second instance on the same database.
async fn second_instance(app: &TestApp) -> procdash_server::Running {
    let mut settings = procdash_server::Settings {
        database_url: app.database_url.clone(),
        port: 0,
        workers: 1,
        database_max_connections: 4,
        shutdown_timeout_seconds: 1,
        ..procdash_server::Settings::default()
    };
    outbound(&mut settings);
    procdash_server::start(&settings, true)
        .await
        .expect("second instance starts")
}

#[tokio::test]
async fn a_restart_mid_retry_resumes_the_delivery() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![(503, None)]).await;
    let config = json!({"api_endpoint": target.url("/r"), "retry_delays": [1.5]});
    let (_, _, attempt) = start_rerun(&app, config).await;
    target.wait_for(1, Duration::from_secs(10)).await;
    // Once the first try is recorded, the first instance stops; the retry is due in 1.5 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d: Value = app
            .get(&format!("/step-runs/{attempt}/dispatch"))
            .await
            .json()
            .await
            .unwrap();
        if d["tries"].as_array().is_some_and(|t| !t.is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.abort_dispatcher();
    let second = second_instance(&app).await;
    let got = target.wait_for(2, Duration::from_secs(10)).await;
    assert!(got[1].at - got[0].at >= Duration::from_millis(1400));
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "delivered");
    assert_eq!(d["tries"].as_array().unwrap().len(), 2);
    second.dispatcher.abort();
    drop(second.handle.stop(false));
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_rerun_once() {
    let app = spawn_with(outbound).await;
    let second = second_instance(&app).await;
    let target = Receiver::start(vec![]).await;
    let mut attempts = Vec::new();
    for _ in 0..8 {
        let (_, _, attempt) = start_rerun(&app, json!({"api_endpoint": target.url("/r")})).await;
        attempts.push(attempt);
    }
    for a in &attempts {
        assert_eq!(
            settled(&app, *a, Duration::from_secs(20)).await["state"],
            "delivered"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = target.received();
    let mut ids: Vec<String> = got
        .iter()
        .filter_map(|r| r.header("procdash-delivery").map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 8, "each delivery sent once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    second.dispatcher.abort();
    drop(second.handle.stop(false));
}

#[tokio::test]
async fn the_allow_list_is_checked_again_at_send_time() {
    // The first instance saves the rerun but never sends it.
    let app = spawn_with(|s| {
        outbound(s);
        s.dispatch_poll_millis = 60_000;
    })
    .await;
    app.abort_dispatcher();
    let target = Receiver::start(vec![]).await;
    let (_, _, attempt) = start_rerun(&app, json!({"api_endpoint": target.url("/r")})).await;
    // The second instance no longer allows 127.0.0.1.
    let mut settings = procdash_server::Settings {
        database_url: app.database_url.clone(),
        port: 0,
        workers: 1,
        database_max_connections: 4,
        shutdown_timeout_seconds: 1,
        outbound_allowed_hosts: "api.example.com".into(),
        dispatch_poll_millis: 20,
        ..procdash_server::Settings::default()
    };
    settings.instance_id = Some("narrow".into());
    let second = procdash_server::start(&settings, true).await.unwrap();
    let d = settled(&app, attempt, Duration::from_secs(10)).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(
        d["tries"].as_array().unwrap().len(),
        1,
        "a refusal is not retried"
    );
    assert_eq!(
        d["tries"][0]["error"],
        "host 127.0.0.1 is not in OUTBOUND_ALLOWED_HOSTS"
    );
    assert!(target.received().is_empty());
    second.dispatcher.abort();
    drop(second.handle.stop(false));
}
