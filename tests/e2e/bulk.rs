//! `POST /runs/bulk`, `external_id` on runs, and `POST /step-runs/bulk`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app, spawn_with, step_run_ids};

async fn bulk(app: &TestApp, query: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.api(&format!("/runs/bulk{query}")))
        .json(body)
        .send()
        .await
        .expect("request sent")
}

async fn bulk_csv(app: &TestApp, query: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.api(&format!("/runs/bulk{query}")))
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .expect("request sent")
}

async fn run_count(app: &TestApp) -> i64 {
    let page: Value = app.get("/runs/?size=1").await.json().await.expect("json");
    page["total"].as_i64().expect("total")
}

async fn change_count(app: &TestApp, entity: &str) -> i64 {
    let page: Value = app
        .get(&format!("/audit/changes?entity={entity}&size=1"))
        .await
        .json()
        .await
        .expect("json");
    page["total"].as_i64().expect("total")
}

/// (row, field) of each reported failure.
fn failures(out: &Value) -> Vec<(i64, String)> {
    out["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| {
            (
                f["row"].as_i64().expect("row"),
                f["field"].as_str().expect("field").to_owned(),
            )
        })
        .collect()
}

fn fields(error: &Value) -> Vec<String> {
    error["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn one_bad_row_refuses_the_whole_upload_listing_every_bad_row() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 2).await);
    let body = json!({"runs": [
        {"process_id": p, "entity_id": "E1"},
        {"process_id": p, "entity_id": ""},
        {"process_id": 999_999, "entity_id": "E3"},
        {"process_id": p, "entity_id": "E4", "colour": "red"},
    ]});
    let error = assert_error(bulk(&app, "", &body).await, 422, "validation_error").await;
    assert_eq!(
        fields(&error),
        ["rows[2].entity_id", "rows[3].process_id", "rows[4].colour"]
    );
    assert_eq!(run_count(&app).await, 0);
    assert_eq!(change_count(&app, "run").await, 0);
}

#[tokio::test]
async fn json_upload_stores_runs_like_single_creates() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 2).await);
    let body = json!({"runs": [
        {"process_id": p, "entity_id": "E1", "entity_name": "Acme", "external_id": "X1", "meta": {"k": 1}},
        {"process_id": p, "entity_id": "E2"},
    ]});
    let res = bulk(&app, "", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["inserted"], 2);
    assert_eq!(out["duplicates"], 0);
    assert_eq!(out["failed"], 0);
    let ids: Vec<i64> = out["run_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_i64().expect("id"))
        .collect();
    let first = app.run(ids[0]).await;
    assert_eq!(first["entity_name"], "Acme");
    assert_eq!(first["external_id"], "X1");
    assert_eq!(first["meta"], json!({"k": 1}));
    assert_eq!(first["status"], "pending");
    assert_eq!(step_run_ids(&first).len(), 2);
    assert_eq!(app.run(ids[1]).await["entity_id"], "E2");
    // Every write is in the change log: two runs, four step runs.
    assert_eq!(change_count(&app, "run").await, 2);
    assert_eq!(change_count(&app, "step_run").await, 4);
    let verify: Value = app.get("/audit/verify").await.json().await.expect("json");
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["checked"], 10);
}

#[tokio::test]
async fn partial_mode_stores_the_valid_rows_and_reports_the_rest() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 1).await);
    let body = json!({"runs": [
        {"process_id": p, "entity_id": "E1"},
        {"process_id": p, "entity_id": "x".repeat(101)},
        {"process_id": 999_999, "entity_id": "E3"},
        {"process_id": p, "entity_id": "E4"},
    ]});
    let res = bulk(&app, "?mode=partial", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["inserted"], 2);
    assert_eq!(out["failed"], 2);
    let failures = failures(&out);
    assert_eq!(
        failures,
        [(2, "entity_id".to_owned()), (3, "process_id".to_owned())]
    );
    assert_eq!(run_count(&app).await, 2);
}

#[tokio::test]
async fn duplicates_in_the_database_and_in_the_file_are_reported_not_inserted() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 1).await);
    let other = id(&app.create_process("other", 1).await);
    let existing = app
        .post(
            "/runs/",
            &json!({"process_id": p, "entity_id": "E0", "external_id": "X0"}),
        )
        .await;
    assert_eq!(existing.status(), StatusCode::CREATED);
    let existing: Value = existing.json().await.expect("json");
    assert_eq!(existing["external_id"], "X0");
    let body = json!({"runs": [
        {"process_id": p, "entity_id": "E1", "external_id": "X0"},
        {"process_id": p, "entity_id": "E2", "external_id": "X2"},
        {"process_id": p, "entity_id": "E3", "external_id": "X2"},
        // The same external id in another process is another run.
        {"process_id": other, "entity_id": "E4", "external_id": "X0"},
    ]});
    let out: Value = bulk(&app, "", &body).await.json().await.expect("json");
    assert_eq!(out["inserted"], 2, "{out}");
    assert_eq!(out["duplicates"], 2);
    let stored = out["run_ids"][0].as_i64().expect("id");
    assert_eq!(
        out["duplicate_rows"],
        json!([{"row": 1, "run_id": id(&existing)}, {"row": 3, "run_id": stored}])
    );
    // Repeating the upload stores nothing again.
    let again: Value = bulk(&app, "", &body).await.json().await.expect("json");
    assert_eq!(again["inserted"], 0);
    assert_eq!(again["duplicates"], 4);
    assert_eq!(run_count(&app).await, 3);
}

#[tokio::test]
async fn single_create_refuses_a_taken_external_id_with_409() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 1).await);
    let body = json!({"process_id": p, "entity_id": "E", "external_id": "X"});
    assert_eq!(
        app.post("/runs/", &body).await.status(),
        StatusCode::CREATED
    );
    assert_error(app.post("/runs/", &body).await, 409, "conflict").await;
    let long = json!({"process_id": p, "entity_id": "E", "external_id": "x".repeat(101)});
    let error = assert_error(app.post("/runs/", &long).await, 422, "validation_error").await;
    assert_eq!(fields(&error), ["external_id"]);
    // A deleted run frees its external id.
    let page: Value = app.get("/runs/").await.json().await.expect("json");
    let run = id(&page["items"][0]);
    let deleted = app
        .client
        .delete(app.api(&format!("/runs/{run}")))
        .send()
        .await
        .expect("sent");
    assert!(deleted.status().is_success());
    assert_eq!(
        app.post("/runs/", &body).await.status(),
        StatusCode::CREATED
    );
    // Restoring the deleted run would make two live runs with the id.
    let restore = app.post(&format!("/runs/{run}/restore"), &json!({})).await;
    assert_error(restore, 409, "conflict").await;
}

#[tokio::test]
async fn csv_bodies_and_multipart_files_are_read_alike() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 2).await);
    let csv = format!(
        "process_id,entity_id,entity_name,external_id,meta.city,meta.address.zip\n\
         {p},E1,Acme,X1,Aarhus,8000\n\
         {p},E2,,,,\n"
    );
    let res = bulk_csv(&app, "", &csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["inserted"], 2);
    let first = app.run(out["run_ids"][0].as_i64().expect("id")).await;
    assert_eq!(
        first["meta"],
        json!({"city": "Aarhus", "address": {"zip": "8000"}})
    );
    assert_eq!(first["external_id"], "X1");
    let second = app.run(out["run_ids"][1].as_i64().expect("id")).await;
    assert_eq!(second["entity_name"], Value::Null);
    assert_eq!(second["meta"], json!({}));

    let file = reqwest::multipart::Part::text(format!(
        "process_id,entity_id,external_id\n{p},E3,X1\n{p},E4,X4\n"
    ))
    .file_name("runs.csv")
    .mime_str("text/csv")
    .expect("mime");
    let form = reqwest::multipart::Form::new().part("file", file);
    let res = app
        .client
        .post(app.api("/runs/bulk"))
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["inserted"], 1);
    assert_eq!(out["duplicates"], 1);

    let json_file = reqwest::multipart::Part::text(
        json!({"runs": [{"process_id": p, "entity_id": "E5"}]}).to_string(),
    )
    .mime_str("application/json")
    .expect("mime");
    let res = app
        .client
        .post(app.api("/runs/bulk"))
        .multipart(reqwest::multipart::Form::new().part("file", json_file))
        .send()
        .await
        .expect("sent");
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["inserted"], 1, "{out}");
    assert_eq!(run_count(&app).await, 4);
}

#[tokio::test]
async fn unreadable_unsupported_and_oversized_uploads_change_nothing() {
    let app = spawn_with(|s| {
        s.bulk_max_items = 2;
        s.max_body_bytes = 2048;
    })
    .await;
    let p = id(&app.create_process("bulk", 1).await);
    let raw = |content_type: &'static str, body: String| {
        app.client
            .post(app.api("/runs/bulk"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_error(
        raw("application/json", "{\"runs\": [".into())
            .await
            .expect("sent"),
        400,
        "bad_request",
    )
    .await;
    assert_error(
        raw("text/csv", format!("process_id,entity_id\n{p}\n"))
            .await
            .expect("sent"),
        400,
        "bad_request",
    )
    .await;
    assert_error(
        raw("text/plain", "x".into()).await.expect("sent"),
        415,
        "unsupported_media_type",
    )
    .await;
    let no_type = app
        .client
        .post(app.api("/runs/bulk"))
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_error(no_type, 415, "unsupported_media_type").await;
    let three = json!({"runs": [
        {"process_id": p, "entity_id": "A"},
        {"process_id": p, "entity_id": "B"},
        {"process_id": p, "entity_id": "C"},
    ]});
    assert_error(bulk(&app, "", &three).await, 413, "payload_too_large").await;
    let csv = format!("process_id,entity_id\n{p},A\n{p},B\n{p},C\n");
    assert_error(bulk_csv(&app, "", &csv).await, 413, "payload_too_large").await;
    let big =
        json!({"runs": [{"process_id": p, "entity_id": "A", "meta": {"x": "y".repeat(4000)}}]});
    assert_error(bulk(&app, "", &big).await, 413, "payload_too_large").await;
    let error = assert_error(
        bulk_csv(&app, "", "entity_id,colour\nA,red\n").await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(fields(&error), ["header"]);
    let one = json!({"runs": [{"process_id": p, "entity_id": "A"}]});
    assert_error(bulk(&app, "?mode=all", &one).await, 422, "validation_error").await;
    assert_error(
        bulk(&app, "?dry_run=true", &one).await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        bulk(&app, "", &json!({"items": []})).await,
        422,
        "validation_error",
    )
    .await;
    let user = create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .post(app.api("/runs/bulk"))
        .header("x-api-key", user)
        .json(&one)
        .send()
        .await
        .expect("sent");
    assert_error(res, 403, "forbidden").await;
    assert_eq!(run_count(&app).await, 0);
}

#[tokio::test]
async fn row_errors_never_echo_the_values_sent() {
    let app = spawn_app().await;
    let body = json!({"runs": [{"process_id": "Jane Doe", "entity_id": "E", "meta": 5}]});
    let res = bulk(&app, "", &body).await;
    let text = res.text().await.expect("body");
    assert!(text.contains("rows[1]"), "{text}");
    assert!(!text.contains("Jane Doe"), "{text}");
}

async fn recomputes(app: &TestApp, run: i64) -> i64 {
    let page: Value = app
        .get(&format!(
            "/audit/changes?entity=run&record_id={run}&operation=recompute&size=1"
        ))
        .await
        .json()
        .await
        .expect("json");
    page["total"].as_i64().expect("total")
}

#[tokio::test]
async fn step_reports_apply_per_run_with_one_recompute_and_bad_runs_roll_back() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bulk", 2).await);
    let good = app.create_run(p, "E1", None).await;
    let bad = app.create_run(p, "E2", None).await;
    let (g, b) = (step_run_ids(&good), step_run_ids(&bad));
    let body = json!([
        {"step_run_id": g[0], "status": "success", "last_modified_by": "robot"},
        {"step_run_id": b[0], "status": "success"},
        {"step_run_id": g[1], "status": "success"},
        {"step_run_id": b[1], "status": "finished"},
        {"step_run_id": 999_999, "status": "success"},
        {"status": "success"},
    ]);
    let res = app.post("/step-runs/bulk", &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.expect("json");
    assert_eq!(out["applied"], 2, "{out}");
    assert_eq!(out["failed"], 4);
    assert_eq!(
        out["runs"],
        json!([
            {"run_id": id(&good), "applied": true, "rows": [1, 3], "status": "completed"},
            {"run_id": id(&bad), "applied": false, "rows": [2, 4], "status": null},
        ])
    );
    let failures = failures(&out);
    assert_eq!(
        failures,
        [
            (2, "run".to_owned()),
            (4, "status".to_owned()),
            (5, "step_run_id".to_owned()),
            (6, "step_run_id".to_owned()),
        ]
    );
    let good = app.run(id(&good)).await;
    assert_eq!(good["status"], "completed");
    assert_eq!(good["steps"][0]["last_modified_by"], "robot");
    // Both reports of the run, one recomputation (pending → completed, not via running).
    assert_eq!(recomputes(&app, id(&good)).await, 1);
    let bad = app.run(id(&bad)).await;
    assert_eq!(bad["status"], "pending");
    assert_eq!(bad["steps"][0]["status"], "pending");
    assert_eq!(recomputes(&app, id(&bad)).await, 0);
}

#[tokio::test]
async fn step_report_limits_and_unknown_fields() {
    let app = spawn_with(|s| s.bulk_max_items = 1).await;
    let p = id(&app.create_process("bulk", 1).await);
    let run = app.create_run(p, "E1", None).await;
    let s = step_run_ids(&run)[0];
    let two =
        json!([{"step_run_id": s, "status": "running"}, {"step_run_id": s, "status": "success"}]);
    assert_error(
        app.post("/step-runs/bulk", &two).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_error(
        app.post("/step-runs/bulk", &json!({"step_run_id": s}))
            .await,
        422,
        "validation_error",
    )
    .await;
    let res = app
        .client
        .post(app.api("/step-runs/bulk"))
        .header("content-type", "text/csv")
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_error(res, 415, "unsupported_media_type").await;
    let unknown = json!([{"step_run_id": s, "status": "success", "colour": "red"}]);
    let out: Value = app
        .post("/step-runs/bulk", &unknown)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(out["failures"][0]["field"], "colour", "{out}");
    assert_eq!(app.run(id(&run)).await["status"], "pending");
}
