//! Reruns: attempts, the rules that refuse a rerun, what may be rerun, and bulk reruns.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_with, step_run_ids};
use crate::receiver::Receiver;

/// Loopback targets must be listed exactly; the dispatcher polls fast in tests.
pub fn outbound(s: &mut procdash_server::Settings) {
    s.outbound_allowed_hosts = "127.0.0.1".into();
    s.dispatch_poll_millis = 20;
}

/// A run of a two-step process whose second step (with `config`) failed.
/// Returns (run id, first step run id, failed step run id).
pub async fn failed_run(app: &TestApp, config: Value, rerunnable: bool) -> (i64, i64, i64) {
    let body = json!({"name": format!("p-{}", uuid::Uuid::new_v4()), "steps": [
        {"index": 0, "name": "extract"},
        {"index": 1, "name": "load", "is_rerunnable": rerunnable, "rerun_config": config},
    ]});
    let res = app.post("/processes/", &body).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let process: Value = res.json().await.unwrap();
    let run = app.create_run(id(&process), "E-1", Some("Jane Doe")).await;
    let ids = step_run_ids(&run);
    app.set_step(ids[0], json!({"status": "success"})).await;
    app.set_step(
        ids[1],
        json!({"status": "failed", "failure": {"error_code": "X"}}),
    )
    .await;
    (id(&run), ids[0], ids[1])
}

pub async fn rerun(app: &TestApp, step_run_id: i64, body: Value) -> reqwest::Response {
    app.post(&format!("/step-runs/{step_run_id}/rerun"), &body)
        .await
}

#[tokio::test]
async fn a_rerun_is_a_new_attempt_and_only_current_attempts_count() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![]).await;
    let config = json!({"api_endpoint": target.url("/rerun")});
    let (run_id, _, failed) = failed_run(&app, config, true).await;
    assert_eq!(app.run(run_id).await["status"], "failed");

    let meta = json!({"rerun_reason": "network fixed", "initiated_by": "admin.user"});
    let res = rerun(&app, failed, json!({"meta": meta})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["original_step_run_id"], failed);
    assert_eq!(body["attempt"], 2);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["message"], "Step rerun initiated successfully");
    assert_eq!(body["dispatch"]["adapter"], "http");
    assert_eq!(body["dispatch"]["state"], "pending");
    let second = id(&body);

    // failed -> rerun pending -> run running
    let run = app.run(run_id).await;
    assert_eq!(run["status"], "running");
    let listed: Vec<i64> = run["steps"].as_array().unwrap().iter().map(id).collect();
    assert!(
        listed.contains(&second) && !listed.contains(&failed),
        "{run}"
    );

    let all: Value = app
        .get(&format!("/step-runs/run/{run_id}?include_attempts=true"))
        .await
        .json()
        .await
        .unwrap();
    let old = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| id(s) == failed)
        .unwrap();
    assert_eq!(old["superseded"], true);
    assert_eq!(
        old["status"], "failed",
        "the previous attempt keeps its data"
    );
    assert_eq!(old["failure"]["error_code"], "X");
    let current: Value = app
        .get(&format!("/step-runs/run/{run_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current.as_array().unwrap().len(), 2);
    let res = app
        .get(&format!("/step-runs/run/{run_id}?include_attempt=true"))
        .await;
    assert_error(res, 422, "validation_error").await;

    // The chain from either end.
    for from in [failed, second] {
        let chain: Value = app
            .get(&format!("/step-runs/{from}/attempts"))
            .await
            .json()
            .await
            .unwrap();
        let attempts: Vec<i64> = chain
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["attempt"].as_i64().unwrap())
            .collect();
        assert_eq!(attempts, vec![1, 2]);
    }

    // The change log has the new attempt and the superseded one, as the live feed reads them.
    let changes: Value = app
        .get("/audit/changes?entity=step_run&operation=rerun")
        .await
        .json()
        .await
        .unwrap();
    let after = &changes["items"][0]["after"];
    assert_eq!(after["original_step_run_id"], failed);
    assert_eq!(after["attempt"], 2);
    let changes: Value = app
        .get(&format!(
            "/audit/changes?entity=step_run&operation=supersede&record_id={failed}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changes["items"].as_array().unwrap().len(), 1);

    // success of the current attempt completes the run, though attempt 1 stays failed.
    app.set_step(second, json!({"status": "success"})).await;
    assert_eq!(app.run(run_id).await["status"], "completed");
}

#[tokio::test]
async fn reruns_are_refused_by_the_rules() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![]).await;
    let config = json!({"api_endpoint": target.url("/rerun"), "max_reruns": 1});

    let (_, _, failed) = failed_run(&app, config.clone(), true).await;

    let res = rerun(&app, failed, json!({"meta": "x"})).await;
    assert_error(res, 422, "validation_error").await;
    let res = rerun(&app, failed, json!({"bogus": 1})).await;
    assert_error(res, 422, "validation_error").await;
    let user = crate::helpers::create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .post(app.api(&format!("/step-runs/{failed}/rerun")))
        .header("x-api-key", user)
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "forbidden").await;

    // No body at all is fine.
    let res = app
        .client
        .post(app.api(&format!("/step-runs/{failed}/rerun")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let second = id(&res.json::<Value>().await.unwrap());
    let body = assert_error(rerun(&app, second, json!({})).await, 409, "conflict").await;
    assert_eq!(
        body["detail"],
        "step run is pending, only a failed step run can be rerun"
    );
    let body = assert_error(rerun(&app, failed, json!({})).await, 409, "conflict").await;
    assert!(
        body["detail"].as_str().unwrap().contains("superseded"),
        "{body}"
    );
    app.set_step(second, json!({"status": "failed"})).await;
    let body = assert_error(rerun(&app, second, json!({})).await, 409, "conflict").await;
    assert_eq!(body["detail"], "maximum reruns reached (1)");

    let (_, _, not_rerunnable) = failed_run(&app, config, false).await;
    let body = assert_error(
        rerun(&app, not_rerunnable, json!({})).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(body["detail"], "step is not rerunnable");

    // A missing target is a 422 at rerun time, never a 500.
    let (_, _, no_target) = failed_run(&app, Value::Null, true).await;
    assert_error(
        rerun(&app, no_target, json!({})).await,
        422,
        "validation_error",
    )
    .await;
    let (_, _, no_server) = failed_run(&app, json!({"workitem_id": "w-1"}), true).await;
    let body = assert_error(
        rerun(&app, no_server, json!({})).await,
        422,
        "validation_error",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("AUTOMATION_SERVER_URL"),
        "{body}"
    );
    assert_error(rerun(&app, 999_999, json!({})).await, 404, "not_found").await;
}

#[tokio::test]
async fn rerun_configs_are_checked_when_a_step_is_saved() {
    let app =
        spawn_with(|s| s.outbound_allowed_hosts = "api.example.com,.corp.example".into()).await;
    let process = app.create_process("cfg", 0).await;
    let pid = id(&process);
    let cases = [
        json!({"adapter": "http"}),
        json!({"adapter": "automation_server"}),
        json!({"adapter": "ftp", "api_endpoint": "https://api.example.com/x"}),
        json!({"api_endpoint": "https://evil.example.net/x"}),
        json!({"api_endpoint": "http://10.0.0.5/x"}),
        json!({"api_endpoint": "http://169.254.169.254/latest"}),
        json!({"api_endpoint": "https://api.example.com/x", "retry_delays": [-1]}),
        json!({"api_endpoint": "https://api.example.com/x", "failure_conditions": ["always"]}),
        json!({"api_endpoint": "https://api.example.com/x", "unknown_key": 1}),
    ];
    for (i, config) in cases.iter().enumerate() {
        let body = json!({"process_id": pid, "index": i, "name": "s", "is_rerunnable": true, "rerun_config": config});
        let res = app.post("/steps/", &body).await;
        let err = assert_error(res, 422, "validation_error").await;
        assert!(
            err["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("rerun_config"),
            "{config}: {err}"
        );
    }
    let ok = json!({"api_endpoint": "https://jobs.corp.example/rerun", "retry_delays": [60, 120, 300],
                    "failure_conditions": ["network_error", "timeout", "rate_limit"], "subprocess_id": "x"});
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": pid, "index": 20, "name": "s", "rerun_config": ok}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post("/processes/", &json!({"name": "inline", "steps": [{"index": 0, "name": "a", "rerun_config": {"api_endpoint": "https://x.test/"}}]}))
        .await;
    let err = assert_error(res, 422, "validation_error").await;
    assert_eq!(
        err["errors"][0]["field"],
        "steps[0].rerun_config.api_endpoint"
    );
}

#[tokio::test]
async fn rerunnable_lists_failed_current_attempts_with_reruns_left() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![]).await;
    let config = json!({"api_endpoint": target.url("/r"), "max_reruns": 1});
    let (run_id, _, failed) = failed_run(&app, config, true).await;
    let listed = |v: Value| v.as_array().unwrap().iter().map(id).collect::<Vec<_>>();
    let path = format!("/step-runs/run/{run_id}/rerunnable");
    assert_eq!(
        listed(app.get(&path).await.json().await.unwrap()),
        vec![failed]
    );
    let second = id(&rerun(&app, failed, json!({}))
        .await
        .json::<Value>()
        .await
        .unwrap());
    assert!(listed(app.get(&path).await.json().await.unwrap()).is_empty());
    app.set_step(second, json!({"status": "failed"})).await;
    // Failed again, but its one rerun is used up.
    assert!(listed(app.get(&path).await.json().await.unwrap()).is_empty());
    assert_error(
        app.get("/step-runs/run/424242/rerunnable").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bulk_reruns_dry_run_first_then_for_real() {
    let app = spawn_with(outbound).await;
    let target = Receiver::start(vec![]).await;
    let config = json!({"api_endpoint": target.url("/r")});
    let (run_a, _, a) = failed_run(&app, config.clone(), true).await;
    let (_, ok_b, b) = failed_run(&app, config.clone(), true).await;
    let (_, _, no_rerun) = failed_run(&app, config, false).await;

    let body = json!({"step_run_ids": [a, b, ok_b, no_rerun, 777_777]});
    let res = app.post("/step-runs/rerun", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let dry: Value = res.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    let rerun_ids: Vec<i64> = dry["rerun"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["step_run_id"].as_i64().unwrap())
        .collect();
    assert_eq!(rerun_ids, vec![a, b]);
    assert!(dry["rerun"][0]["new_step_run_id"].is_null());
    let reasons: Vec<(i64, String)> = dry["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step_run_id"].as_i64().unwrap(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&(ok_b, "not_rerunnable".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(no_rerun, "not_rerunnable".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(777_777, "not_found".into())),
        "{reasons:?}"
    );
    // The dry run changed nothing.
    assert_eq!(app.run(run_a).await["status"], "failed");

    let process_id = app.run(run_a).await["process_id"].as_i64().unwrap();
    let res = app
        .post(
            "/step-runs/rerun",
            &json!({"process_id": process_id, "dry_run": false, "meta": {"rerun_reason": "bulk"}}),
        )
        .await;
    let real: Value = res.json().await.unwrap();
    assert_eq!(real["dry_run"], false);
    assert_eq!(real["rerun"].as_array().unwrap().len(), 1, "{real}");
    assert_eq!(real["rerun"][0]["step_run_id"], a);
    assert_eq!(real["rerun"][0]["attempt"], 2);
    assert!(real["rerun"][0]["new_step_run_id"].is_i64());
    assert_eq!(app.run(run_a).await["status"], "running");
    // Filter by time: nothing failed in the future.
    let res = app
        .post(
            "/step-runs/rerun",
            &json!({"process_id": process_id, "failed_since": "2999-01-01T00:00:00Z"}),
        )
        .await;
    let none: Value = res.json().await.unwrap();
    assert!(none["rerun"].as_array().unwrap().is_empty());

    for bad in [
        json!({}),
        json!({"dry_run": false}),
        json!({"step_run_ids": []}),
        json!({"step_run_ids": [a], "process_id": process_id}),
        json!({"step_run_ids": (0..1001).collect::<Vec<i64>>()}),
        json!({"step_id": 1}),
        json!({"process_id": process_id, "nope": true}),
        json!({"process_id": process_id, "failed_since": "+20000-01-01T00:00:00Z"}),
        json!({"process_id": process_id, "failed_since": "2026-02-01T00:00:00Z", "failed_until": "2026-01-01T00:00:00Z"}),
    ] {
        let res = app.post("/step-runs/rerun", &bad).await;
        assert_error(res, 422, "validation_error").await;
    }
}
