//! No input breaks a worker: extreme numeric parameters on every paginated route answer 2xx or a
//! 422 naming the parameter, and the server keeps serving.

use procdash_domain::page::MAX_PAGE;
use serde_json::Value;

use crate::helpers::{TestApp, id, spawn_app, step_run_ids};

/// Every operation of the served document that takes `page`, with its path filled with real ids.
async fn paginated_paths(app: &TestApp, ids: &[(&str, i64)]) -> Vec<String> {
    let spec = crate::openapi::spec(app).await;
    let mut paths = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let takes_page = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "page"));
        if takes_page {
            let mut concrete = path.clone();
            for (name, value) in ids {
                concrete = concrete.replace(&format!("{{{name}}}"), &value.to_string());
            }
            assert!(!concrete.contains('{'), "no id for {path}");
            // Required query parameters (the search text) get a plain value.
            let required: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| format!("{}=x&", p["name"].as_str().unwrap()))
                .collect();
            paths.push(format!("{concrete}?{}", required.concat()));
        }
    }
    paths
}

#[tokio::test]
async fn every_paginated_route_bounds_page_and_size() {
    let app = spawn_app().await;
    let process = app.create_process("bounds", 1).await;
    let run = app.create_run(id(&process), "e-1", None).await;
    let step_run = step_run_ids(&run)[0];
    let ids = [
        ("process_id", id(&process)),
        ("run_id", id(&run)),
        ("step_run_id", step_run),
        ("entity_id", 1),
    ];
    let paths = paginated_paths(&app, &ids).await;
    assert!(paths.len() >= 11, "{paths:?}");

    let max = MAX_PAGE.to_string();
    let over = (MAX_PAGE + 1).to_string();
    let i64_max = i64::MAX.to_string();
    let near_max = (i64::MAX - 1).to_string();
    let i64_min = i64::MIN.to_string();
    let cases: [(&str, &str, bool); 11] = [
        // (page, size, page is out of range)
        (&near_max, "50", true),
        (&i64_max, "100", true),
        (&i64_min, "50", true),
        ("0", "50", true),
        ("-1", "50", true),
        (&over, "1", true),
        (&max, "100", false),
        (&max, "1", false),
        ("1", &i64_max, false),
        ("99999999999999999999999", "50", false),
        ("1", "-99999999999999999999", false),
    ];
    for path in &paths {
        for (page, size, page_out_of_range) in cases {
            let url = format!("{}{path}page={page}&size={size}", app.base);
            let res = app.client.get(&url).send().await.expect("answered");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json body");
            assert!(
                status == 200 || status == 422,
                "{path} page={page} size={size}: {status} {body}"
            );
            if page_out_of_range {
                assert_eq!(status, 422, "{path} page={page}: {body}");
                let fields: Vec<&str> = body["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|e| e["field"].as_str())
                    .collect();
                assert!(fields.contains(&"page"), "{path} page={page}: {body}");
            }
            if status == 422 {
                assert_eq!(body["error_type"], "validation_error", "{body}");
            }
        }
        // The last allowed page is an empty page, not an error.
        let url = format!("{}{path}page={max}&size=1", app.base);
        let body: Value = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The seed's overview nests its page under `runs`.
        let items = body.get("runs").unwrap_or(&body)["items"]
            .as_array()
            .map(Vec::len);
        assert_eq!(items, Some(0), "{path}");
    }
    // The server is still whole: a normal listing works.
    assert_eq!(app.get("/runs/").await.status().as_u16(), 200);
}

#[tokio::test]
async fn out_of_range_dates_and_numbers_are_422_not_500() {
    let app = spawn_app().await;
    let process = app.create_process("dates", 1).await;
    let run = app.create_run(id(&process), "e-1", None).await;
    let step_run = step_run_ids(&run)[0];
    for query in [
        "/runs/?created_after=-5000-01-01T00:00:00Z",
        "/runs/?finished_before=+10000-01-01T00:00:00Z",
        "/audit/changes?since=-5000-01-01T00:00:00Z",
        "/audit/changes/export?until=%2B20000-01-01T00:00:00Z",
        "/audit-logs/?since=-5000-01-01T00:00:00Z",
        "/audit-logs/?min_duration=NaN",
        "/audit-logs/?min_duration=-1",
        "/audit-logs/?min_duration=inf",
    ] {
        let res = app.get(query).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 422, "{query}: {body}");
    }
    let res = app
        .patch(
            &format!("/step-runs/{step_run}"),
            &serde_json::json!({"status": "running", "started_at": "-5000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    let res = app
        .post(
            "/api-keys/",
            &serde_json::json!({"name": "far", "expires_at": "+10000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    // Nothing was changed by the refused update.
    let run = app.run(id(&run)).await;
    assert_eq!(run["steps"][0]["status"], "pending");
}

/// NUL is refused everywhere with a 4xx: PostgreSQL cannot store it in text or jsonb, so a NUL
/// that reached the database was a 500 there.
#[tokio::test]
async fn nul_characters_are_refused_not_500() {
    let app = spawn_app().await;
    let process = app.create_process("nul", 1).await;
    let p = id(&process);
    let run = app.create_run(p, "e-1", None).await;
    let step_run = step_run_ids(&run)[0];
    let bodies = [
        ("/processes/", serde_json::json!({"name": "a\u{0}b"})),
        (
            "/processes/",
            serde_json::json!({"name": "ok", "meta": {"k": "v\u{0}"}}),
        ),
        (
            "/runs/",
            serde_json::json!({"process_id": p, "entity_id": "x\u{0}"}),
        ),
        (
            "/runs/",
            serde_json::json!({"process_id": p, "entity_id": "x", "meta": {"a\u{0}": 1}}),
        ),
        (
            "/runs/",
            serde_json::json!({"process_id": p, "entity_id": "x", "entity_name": "\u{0}"}),
        ),
        ("/api-keys/", serde_json::json!({"name": "k\u{0}"})),
        (
            "/steps/",
            serde_json::json!({"process_id": p, "index": 5, "name": "s", "rerun_config": {"x": "\u{0}"}}),
        ),
    ];
    for (path, body) in bodies {
        let res = app.post(path, &body).await;
        assert_eq!(res.status().as_u16(), 422, "{path} {body}");
    }
    let res = app
        .patch(
            &format!("/step-runs/{step_run}"),
            &serde_json::json!({"status": "failed", "failure": {"m": "\u{0}"}}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    for query in [
        "/runs/?entity_name=a%00",
        "/runs/?entity_id=%00",
        "/runs/search?q=ab%00cd",
        "/audit/changes?actor=%00",
        "/audit-logs/?path=%00",
    ] {
        let res = app.get(query).await;
        assert_eq!(res.status().as_u16(), 422, "{query}");
    }
    // Control characters other than NUL are just text: searched, not refused.
    let res = app.get("/runs/search?q=%1F%26X%C2%95t").await;
    assert_eq!(res.status().as_u16(), 200);
    let run = app.run(id(&run)).await;
    assert_eq!(run["steps"][0]["status"], "pending");
}

/// A query parameter no route knows is a 422 naming it, on every kind of route: never ignored.
#[tokio::test]
async fn unknown_query_parameters_are_refused_everywhere() {
    let app = spawn_app().await;
    let p = id(&app.create_process("unknown", 1).await);
    for path in [
        "/processes/?clinic=x".to_owned(),
        "/api-keys/?clinic=x".to_owned(),
        "/audit-logs/?clinic=x".to_owned(),
        "/audit/changes?clinic=x".to_owned(),
        "/admin/cleanup/stats?clinic=x".to_owned(),
        format!("/processes/{p}/history?clinic=x"),
        format!("/processes/{p}/kpis?clinic=x"),
        format!("/processes/{p}/kpis/forecast?clinic=x"),
        format!("/dashboard/overview/{p}?clinic=x"),
    ] {
        let res = app.get(&path).await;
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 422, "{path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("clinic"),
            "{path}: {body}"
        );
    }
}
