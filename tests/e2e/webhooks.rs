//! Webhooks: subscriptions, signed deliveries with ids and statuses only, and the recipe from
//! docs/webhooks.md.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_with, step_run_ids};
use crate::receiver::Receiver;
use crate::reruns::outbound;

// The receiver recipe of docs/webhooks.md, compiled here so the document stays true.
// --- recipe start ---
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Verifies `Procdash-Signature: t=<unix>,v1=<hex>` over "t.body"; refuses stale timestamps.
fn verify_procdash_signature(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > 300 {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok() // constant-time comparison
}
// --- recipe end ---

#[tokio::test]
async fn webhooks_are_signed_and_carry_no_personal_data() {
    let app = spawn_with(outbound).await;
    let hook_target = Receiver::start(vec![]).await;
    let res = app
        .post("/webhooks/", &json!({"url": hook_target.url("/hook"), "events": ["run.failed", "step_run.failed", "run.completed"]}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let hook_id = id(&created);
    // The secret is shown once.
    let listed = app.get("/webhooks/").await.text().await.unwrap();
    assert!(!listed.contains(&secret) && listed.contains("/hook"));
    let one = app
        .get(&format!("/webhooks/{hook_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!one.contains(&secret));

    let process = app
        .post("/processes/", &json!({"name": "hooked", "meta": {"owner": "secret-owner"}, "steps": [{"index": 0, "name": "a"}]}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let run = app
        .create_run(id(&process), "ENT-9", Some("Jane Doe"))
        .await;
    let sr = step_run_ids(&run)[0];
    app.set_step(
        sr,
        json!({"status": "failed", "failure": {"message": "Jane Doe's card"}}),
    )
    .await;

    let got = hook_target.wait_for(2, Duration::from_secs(10)).await;
    let mut types = Vec::new();
    for r in &got {
        let header = r.header("procdash-signature").unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!(
            verify_procdash_signature(&secret, header, &r.body, now),
            "{header}"
        );
        assert!(!verify_procdash_signature(
            "whsec_wrong",
            header,
            &r.body,
            now
        ));
        let body = r.json();
        assert_eq!(r.header("procdash-event"), body["type"].as_str());
        assert_eq!(r.header("procdash-delivery"), body["id"].as_str());
        assert!(body["occurred_at"].is_string());
        assert_eq!(body["data"]["run_id"], id(&run));
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(
            !text.contains("Jane") && !text.contains("ENT-9") && !text.contains("secret-owner"),
            "{text}"
        );
        types.push(body["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, vec!["run.failed", "step_run.failed"]);

    let deliveries: Value = app
        .get(&format!("/webhooks/{hook_id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    // Sent: wait for both to be recorded as delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d: Value = app
            .get(&format!("/webhooks/{hook_id}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        if d.as_array()
            .unwrap()
            .iter()
            .all(|x| x["state"] == "delivered")
        {
            assert_eq!(d[0]["tries"][0]["http_status"], 200);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{d}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // The secret is in no change-log entry.
    let changes = app
        .get("/audit/changes?entity=webhook")
        .await
        .text()
        .await
        .unwrap();
    assert!(changes.contains("\"webhook\"") && !changes.contains(&secret));

    let res = app
        .post(&format!("/webhooks/{hook_id}/test"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let got = hook_target.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(got[2].json()["type"], "webhook.test");

    let res = app
        .client
        .delete(app.api(&format!("/webhooks/{hook_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&format!("/webhooks/{hook_id}")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_process_filter_and_the_allow_list_apply() {
    let app = spawn_with(outbound).await;
    let hook_target = Receiver::start(vec![]).await;
    let watched = app.create_process("watched", 1).await;
    let other = app.create_process("other", 1).await;
    let res = app
        .post("/webhooks/", &json!({"url": hook_target.url("/h"), "events": ["run.completed"], "process_id": id(&watched)}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for p in [&other, &watched] {
        let run = app.create_run(id(p), "E", None).await;
        app.set_step(step_run_ids(&run)[0], json!({"status": "success"}))
            .await;
    }
    let got = hook_target.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook_target.received().len(), 1);
    assert_eq!(got[0].json()["data"]["process_id"], id(&watched));
    assert_eq!(got[0].json()["data"]["status"], "completed");

    for bad in [
        json!({"url": "https://elsewhere.example/h", "events": ["run.failed"]}),
        json!({"url": "http://10.1.2.3/h", "events": ["run.failed"]}),
        json!({"url": hook_target.url("/h"), "events": []}),
        json!({"url": hook_target.url("/h"), "events": ["run.exploded"]}),
        json!({"url": hook_target.url("/h"), "events": ["run.failed"], "extra": 1}),
    ] {
        assert_error(app.post("/webhooks/", &bad).await, 422, "validation_error").await;
    }
    let res = app
        .post(
            "/webhooks/",
            &json!({"url": hook_target.url("/h"), "events": ["run.failed"], "process_id": 99999}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    let user = crate::helpers::create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .get(app.api("/webhooks/"))
        .header("x-api-key", user)
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "forbidden").await;
}

#[tokio::test]
async fn a_failed_rerun_dispatch_raises_its_event() {
    let app = spawn_with(outbound).await;
    let hook_target = Receiver::start(vec![]).await;
    app.post(
        "/webhooks/",
        &json!({"url": hook_target.url("/h"), "events": ["rerun.dispatch_failed"]}),
    )
    .await;
    let target = Receiver::start(vec![(500, None)]).await;
    let (_, _, failed) =
        crate::reruns::failed_run(&app, json!({"api_endpoint": target.url("/r")}), true).await;
    let attempt = id(&crate::reruns::rerun(&app, failed, json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap());
    let got = hook_target.wait_for(1, Duration::from_secs(10)).await;
    let body = got[0].json();
    assert_eq!(body["type"], "rerun.dispatch_failed");
    assert_eq!(body["data"]["step_run_id"], attempt);
    assert_eq!(body["data"]["last_status"], 500);
}

#[tokio::test]
async fn a_stuck_run_is_reported_once() {
    let app = spawn_with(|s| {
        outbound(s);
        s.stuck_events_interval_seconds = 1;
        s.stuck_min_seconds = 0;
        s.health_cache_seconds = 0;
    })
    .await;
    let hook_target = Receiver::start(vec![]).await;
    app.post(
        "/webhooks/",
        &json!({"url": hook_target.url("/h"), "events": ["run.stuck"]}),
    )
    .await;
    let process = app
        .post("/processes/", &json!({"name": "slow", "meta": {"expected_duration_seconds": 1}, "steps": [{"index": 0, "name": "a"}]}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let run = app.create_run(id(&process), "E", None).await;
    app.set_step(step_run_ids(&run)[0], json!({"status": "running"}))
        .await;
    let got = hook_target.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got[0].json()["type"], "run.stuck");
    assert_eq!(got[0].json()["data"]["run_id"], id(&run));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hook_target.received().len(), 1, "reported once");
}

/// The Rust recipe in docs/webhooks.md is the function compiled above, character for character.
#[test]
fn the_documented_rust_recipe_is_the_tested_one() {
    let doc = include_str!("../../docs/webhooks.md");
    let block = doc
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust block in docs/webhooks.md");
    let this = include_str!("webhooks.rs");
    let recipe = this
        .split("// --- recipe start ---\n")
        .nth(1)
        .and_then(|rest| rest.split("// --- recipe end ---").next())
        .expect("recipe markers");
    assert_eq!(block.trim(), recipe.trim());
}
