//! ETag, If-None-Match (304) and If-Match (412) on processes, steps, runs and step runs.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, spawn_with, step_run_ids};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    header: Option<(&str, &str)>,
    body: Option<Value>,
) -> Response {
    let mut req = app.client.request(method, app.api(path));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request sent")
}

fn etag_of(res: &Response) -> String {
    res.headers()
        .get("etag")
        .expect("an ETag header")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn etag(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    etag_of(&res)
}

#[tokio::test]
async fn every_single_resource_get_has_a_strong_etag_and_answers_304_while_it_holds() {
    let app = spawn_app().await;
    let process = app.create_process("p", 2).await;
    let run = app.create_run(id(&process), "E-1", None).await;
    let step_run = step_run_ids(&run)[0];
    let step = process["steps"][0]["id"].as_i64().unwrap();
    let paths = [
        format!("/processes/{}", id(&process)),
        format!("/steps/{step}"),
        format!("/runs/{}", id(&run)),
        format!("/step-runs/{step_run}"),
        format!("/step-runs/run/{}/step/{step}", id(&run)),
    ];
    for path in &paths {
        let tag = etag(&app, path).await;
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/"),
            "{path}: {tag}"
        );
        assert_eq!(etag(&app, path).await, tag, "{path}: stable");
        for sent in [
            tag.clone(),
            format!("W/{tag}"),
            "*".into(),
            format!("\"x\", {tag}"),
        ] {
            let res = send(
                &app,
                Method::GET,
                path,
                Some(("if-none-match", &sent)),
                None,
            )
            .await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path} {sent}");
            assert_eq!(etag_of(&res), tag);
            assert!(res.bytes().await.unwrap().is_empty());
        }
        let res = send(
            &app,
            Method::GET,
            path,
            Some(("if-none-match", "\"x\"")),
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.json::<Value>().await.unwrap()["id"].is_i64());
    }
    // The step run's tag is the same through both paths to it.
    assert_eq!(etag(&app, &paths[3]).await, etag(&app, &paths[4]).await);
}

#[tokio::test]
async fn a_tag_changes_with_anything_its_representation_shows() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let pid = id(&process);
    let run = app.create_run(pid, "E-1", None).await;
    let run_path = format!("/runs/{}", id(&run));
    let process_path = format!("/processes/{pid}");

    // A process shows its steps: a new step changes its tag.
    let before = etag(&app, &process_path).await;
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": pid, "index": 5, "name": "late step"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_ne!(etag(&app, &process_path).await, before);

    // A run shows its step runs: a step-run report changes the run's tag.
    let before = etag(&app, &run_path).await;
    app.set_step(step_run_ids(&run)[0], json!({"status": "running"}))
        .await;
    let after = etag(&app, &run_path).await;
    assert_ne!(after, before);
    let res = send(
        &app,
        Method::GET,
        &run_path,
        Some(("if-none-match", &before)),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_run_tag_follows_its_health_verdict_which_changes_with_time_alone() {
    let app = spawn_with(|s| s.late_after_seconds = 1).await;
    let process = app.create_process("p", 1).await;
    let run = app.create_run(id(&process), "E-1", None).await;
    let path = format!("/runs/{}", id(&run));
    let res = app.get(&path).await;
    let tag = etag_of(&res);
    assert_eq!(res.json::<Value>().await.unwrap()["health"], "ok");
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let res = send(
        &app,
        Method::GET,
        &path,
        Some(("if-none-match", &tag)),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "late is a new representation");
    assert_ne!(etag_of(&res), tag);
    assert_eq!(res.json::<Value>().await.unwrap()["health"], "late");
    // And a write with the tag of the "ok" run is refused.
    let res = send(&app, Method::DELETE, &path, Some(("if-match", &tag)), None).await;
    assert_error(res, 412, "precondition_failed").await;
}

#[tokio::test]
async fn if_match_guards_each_write_and_a_stale_tag_changes_nothing() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let pid = id(&process);
    let path = format!("/processes/{pid}");
    let first = etag(&app, &path).await;

    let res = send(
        &app,
        Method::PATCH,
        &path,
        Some(("if-match", &first)),
        Some(json!({"name": "renamed"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let second = etag_of(&res);
    assert_ne!(second, first);
    assert_eq!(
        etag(&app, &path).await,
        second,
        "the write answers the new tag"
    );

    // The old tag, a weak copy of the current one, and an unrelated tag all fail.
    for stale in [first.clone(), format!("W/{second}"), "\"nope\"".into()] {
        let res = send(
            &app,
            Method::PATCH,
            &path,
            Some(("if-match", &stale)),
            Some(json!({"name": "lost"})),
        )
        .await;
        let body = assert_error(res, 412, "precondition_failed").await;
        assert!(body["detail"].as_str().unwrap().contains("changed"));
    }
    let res = send(
        &app,
        Method::PUT,
        &format!("{path}/retention"),
        Some(("if-match", &first)),
        Some(json!({"retention_months": 6})),
    )
    .await;
    assert_error(res, 412, "precondition_failed").await;
    let res = send(
        &app,
        Method::DELETE,
        &path,
        Some(("if-match", &first)),
        None,
    )
    .await;
    assert_error(res, 412, "precondition_failed").await;
    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(now["name"], "renamed");
    assert!(now["retention_months"].is_null());
    assert_eq!(etag(&app, &path).await, second, "nothing changed");

    // The current tag and "*" pass.
    let res = send(
        &app,
        Method::PUT,
        &format!("{path}/retention"),
        Some(("if-match", &second)),
        Some(json!({"retention_months": 6})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let third = etag_of(&res);
    assert_eq!(etag(&app, &path).await, third);
    let res = send(&app, Method::DELETE, &path, Some(("if-match", "*")), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn runs_and_step_runs_refuse_a_stale_if_match() {
    let app = spawn_app().await;
    let process = app.create_process("p", 2).await;
    let body = json!({"process_id": id(&process), "entity_id": "E-1", "meta": {"priority": "low"}});
    let res = app.post("/runs/", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let run: Value = res.json().await.unwrap();
    let run_path = format!("/runs/{}", id(&run));
    let steps = step_run_ids(&run);
    let step_path = format!("/step-runs/{}", steps[0]);

    let run_tag = etag(&app, &run_path).await;
    let step_tag = etag(&app, &step_path).await;
    let res = send(
        &app,
        Method::PATCH,
        &step_path,
        Some(("if-match", &step_tag)),
        Some(json!({"status": "running"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag_of(&res), etag(&app, &step_path).await);
    let res = send(
        &app,
        Method::PATCH,
        &step_path,
        Some(("if-match", &step_tag)),
        Some(json!({"status": "failed"})),
    )
    .await;
    assert_error(res, 412, "precondition_failed").await;
    let now: Value = app.get(&step_path).await.json().await.unwrap();
    assert_eq!(now["status"], "running");

    // The step run's report changed the run: its old tag guards nothing any more.
    let meta = json!({"meta": {"priority": "high"}});
    let res = send(
        &app,
        Method::PATCH,
        &format!("{run_path}/metadata"),
        Some(("if-match", &run_tag)),
        Some(meta.clone()),
    )
    .await;
    assert_error(res, 412, "precondition_failed").await;
    let res = send(
        &app,
        Method::DELETE,
        &run_path,
        Some(("if-match", &run_tag)),
        None,
    )
    .await;
    assert_error(res, 412, "precondition_failed").await;
    let body: Value = app.get(&run_path).await.json().await.unwrap();
    assert_eq!(body["meta"]["priority"], "low");

    let current = etag(&app, &run_path).await;
    let res = send(
        &app,
        Method::PATCH,
        &format!("{run_path}/metadata"),
        Some(("if-match", &current)),
        Some(meta),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = etag_of(&res);
    assert_eq!(after, etag(&app, &run_path).await);
    let res = send(
        &app,
        Method::DELETE,
        &run_path,
        Some(("if-match", &after)),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn writers_racing_with_one_tag_see_exactly_one_success() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let run = app.create_run(id(&process), "E-1", None).await;
    let path = format!("/step-runs/{}", step_run_ids(&run)[0]);
    let tag = etag(&app, &path).await;
    let statuses = [
        "running", "success", "failed", "running", "success", "failed",
    ];
    let answers = futures_util::future::join_all(statuses.iter().map(|s| {
        send(
            &app,
            Method::PATCH,
            &path,
            Some(("if-match", &tag)),
            Some(json!({"status": s})),
        )
    }))
    .await;
    let codes: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 412).count(), 5, "{codes:?}");
}

#[tokio::test]
async fn a_malformed_tag_list_is_a_400_and_changes_nothing() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let path = format!("/processes/{}", id(&process));
    for bad in ["abc", "\"open", "W/abc", ","] {
        let res = send(
            &app,
            Method::PATCH,
            &path,
            Some(("if-match", bad)),
            Some(json!({"name": "x"})),
        )
        .await;
        let body = assert_error(res, 400, "bad_request").await;
        assert!(body["detail"].as_str().unwrap().contains("If-Match"));
        let res = send(&app, Method::GET, &path, Some(("if-none-match", bad)), None).await;
        assert_error(res, 400, "bad_request").await;
    }
    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(now["name"], "p");
}

#[tokio::test]
async fn a_write_without_if_match_is_unconditional_and_missing_resources_stay_404() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let path = format!("/processes/{}", id(&process));
    let res = app.patch(&path, &json!({"name": "free"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("etag"));
    for path in [
        "/processes/999999",
        "/steps/999999",
        "/runs/999999",
        "/step-runs/999999",
    ] {
        let res = send(&app, Method::GET, path, Some(("if-none-match", "*")), None).await;
        assert_error(res, 404, "not_found").await;
    }
    let res = send(
        &app,
        Method::DELETE,
        "/runs/999999",
        Some(("if-match", "*")),
        None,
    )
    .await;
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_conditional_headers() {
    let app = spawn_app().await;
    let spec = crate::openapi::spec(&app).await;
    let param = |op: &Value, name: &str| {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name && p["in"] == "header")
    };
    let reads = [
        "/processes/{process_id}",
        "/steps/{step_id}",
        "/runs/{run_id}",
        "/step-runs/{step_run_id}",
        "/step-runs/run/{run_id}/step/{step_id}",
    ];
    for path in reads {
        let op = &spec["paths"][format!("/api/v1{path}")]["get"];
        assert!(param(op, "If-None-Match"), "GET {path}");
        assert!(
            op["responses"]["200"]["headers"]["ETag"].is_object(),
            "GET {path}"
        );
        assert!(
            op["responses"]["304"]["headers"]["ETag"].is_object(),
            "GET {path}"
        );
        assert!(op["responses"]["400"].is_object(), "GET {path}");
    }
    let writes = [
        ("patch", "/processes/{process_id}"),
        ("delete", "/processes/{process_id}"),
        ("put", "/processes/{process_id}/retention"),
        ("patch", "/runs/{run_id}/metadata"),
        ("delete", "/runs/{run_id}"),
        ("patch", "/step-runs/{step_run_id}"),
    ];
    for (method, path) in writes {
        let op = &spec["paths"][format!("/api/v1{path}")][method];
        assert!(param(op, "If-Match"), "{method} {path}");
        assert_eq!(
            op["responses"]["412"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{method} {path}"
        );
    }
}
