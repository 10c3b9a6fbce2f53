use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app, step_run_ids};

async fn page(app: &TestApp, query: &str) -> (Value, reqwest::header::HeaderMap) {
    let res = app.get(&format!("/entities/{query}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    (res.json().await.unwrap(), headers)
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_journey_lists_live_runs_across_processes_newest_first() {
    let app = spawn_app().await;
    let a = app.create_process("Onboarding", 2).await;
    let b = app.create_process("Billing", 3).await;
    let c = app.create_process("Archived", 1).await;

    // Onboarding: s0 failed, then a manual rerun of s0 succeeded; s1 succeeded: no failure.
    let first = app.create_run(id(&a), "CUST-1", Some("Acme")).await;
    let srs = step_run_ids(&first);
    app.set_step(
        srs[0],
        json!({"status": "failed", "failure": {"error": "old"}}),
    )
    .await;
    let rerun = app
        .post(
            "/step-runs/",
            &json!({"run_id": id(&first), "step_id": first["steps"][0]["step_id"], "status": "success"}),
        )
        .await;
    assert_eq!(rerun.status(), StatusCode::CREATED);
    app.set_step(srs[1], json!({"status": "success"})).await;

    // Billing: s2 and s1 failed; the first failed step is the lower index, s1.
    let second = app.create_run(id(&b), "CUST-1", Some("Acme")).await;
    let srs = step_run_ids(&second);
    app.set_step(srs[0], json!({"status": "success"})).await;
    app.set_step(
        srs[2],
        json!({"status": "failed", "failure": {"error": "late"}}),
    )
    .await;
    app.set_step(
        srs[1],
        json!({"status": "failed", "failure": {"error": "timeout"}}),
    )
    .await;

    // Not listed: another entity, a deleted run, a run of a deleted process.
    app.create_run(id(&a), "CUST-2", None).await;
    let deleted = app.create_run(id(&a), "CUST-1", None).await;
    let res = app
        .client
        .delete(app.api(&format!("/runs/{}", id(&deleted))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.create_run(id(&c), "CUST-1", None).await;
    let res = app
        .client
        .delete(app.api(&format!("/processes/{}", id(&c))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let (body, headers) = page(&app, "CUST-1/runs").await;
    assert_eq!(body["total"], 2, "{body}");
    assert_eq!(headers["x-total-count"], "2");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let (billing, onboarding) = (&items[0], &items[1]);
    assert_eq!(billing["run_id"], id(&second));
    assert_eq!(billing["process_id"], id(&b));
    assert_eq!(billing["process_name"], "Billing");
    assert_eq!(billing["status"], "failed");
    assert_eq!(
        billing["first_failed_step"],
        json!({"step_id": second["steps"][1]["step_id"], "name": "s1", "failure": {"error": "timeout"}})
    );
    let run = app.run(id(&second)).await;
    let expected = (instant(&run["finished_at"]) - instant(&run["started_at"]))
        .num_microseconds()
        .unwrap() as f64
        / 1e6;
    assert_eq!(billing["duration_seconds"].as_f64(), Some(expected));
    assert_eq!(billing["started_at"], run["started_at"]);

    assert_eq!(onboarding["run_id"], id(&first));
    assert_eq!(onboarding["process_name"], "Onboarding");
    assert_eq!(onboarding["status"], "completed");
    assert!(
        onboarding["first_failed_step"].is_null(),
        "a rerun supersedes the failure: {onboarding}"
    );
    assert!(onboarding["duration_seconds"].is_number());

    // A pending run has no duration.
    let pending = app.create_run(id(&a), "CUST-1", None).await;
    let (body, _) = page(&app, "CUST-1/runs?size=1").await;
    assert_eq!(body["items"][0]["run_id"], id(&pending));
    assert!(body["items"][0]["duration_seconds"].is_null());
    assert!(body["items"][0]["started_at"].is_null());
    assert!(body["items"][0]["first_failed_step"].is_null());
}

#[tokio::test]
async fn the_journey_is_paginated_with_links() {
    let app = spawn_app().await;
    let p = app.create_process("p", 0).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id(&app.create_run(id(&p), "E/1 x", None).await));
    }
    let (body, headers) = page(&app, "E%2F1%20x/runs?page=2&size=2").await;
    assert_eq!(body["total"], 3);
    assert_eq!(body["pages"], 2);
    assert_eq!(body["page"], 2);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["run_id"], ids[0], "oldest last");
    assert_eq!(headers["x-total-pages"], "2");
    assert_eq!(headers["x-page"], "2");
    assert_eq!(headers["x-page-size"], "2");
    let link = headers["link"].to_str().unwrap();
    assert!(link.contains("rel=\"prev\""), "{link}");
    assert!(!link.contains("rel=\"next\""), "{link}");
    let (body, _) = page(&app, "E%2F1%20x/runs?size=2").await;
    let got: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["run_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[2], ids[1]]);
}

#[tokio::test]
async fn unknown_entities_are_empty_and_bad_input_is_422() {
    let app = spawn_app().await;
    let (body, _) = page(&app, "NOBODY/runs").await;
    assert_eq!(
        body,
        json!({"items": [], "total": 0, "page": 1, "size": 50, "pages": 0, "next_cursor": null})
    );
    assert_error(
        app.get("/entities/X/runs?size=0").await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.get("/entities/X/runs?page=0").await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.get("/entities/X/runs?size=abc").await,
        422,
        "validation_error",
    )
    .await;
    let blank = assert_error(app.get("/entities/%20/runs").await, 422, "validation_error").await;
    assert_eq!(blank["errors"][0]["field"], "entity_id");
    let long = "x".repeat(101);
    let both = assert_error(
        app.get(&format!("/entities/{long}/runs?size=0")).await,
        422,
        "validation_error",
    )
    .await;
    let fields: Vec<&str> = both["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["entity_id", "size"]);
}

#[tokio::test]
async fn any_role_may_read_a_journey() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    app.create_run(id(&p), "CUST-9", None).await;
    let user = create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .get(app.api("/entities/CUST-9/runs"))
        .header("x-api-key", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["total"], 1);
    let res = app
        .anonymous
        .get(app.api("/entities/CUST-9/runs"))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn the_request_log_keeps_no_entity_id_from_the_path() {
    let app = spawn_app().await;
    let res = app.get("/entities/CPR-0101901234/runs?size=5").await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut logged = Value::Null;
    for _ in 0..50 {
        let page: Value = app.get("/audit-logs/?size=100").await.json().await.unwrap();
        if let Some(entry) = page["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|i| i["route"] == "/api/v1/entities/{entity_id}/runs")
        }) {
            logged = entry.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(logged["path"], "/api/v1/entities/***/runs", "{logged}");
    assert_eq!(logged["query"], "size=5");
    assert!(!logged.to_string().contains("CPR-0101901234"));
}
