use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_with};

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_body() {
    let app = spawn_app().await;
    let res = app.client.get(app.api("/nope")).send().await.unwrap();
    assert_error(res, 404, "not_found").await;
    let res = app.client.delete(app.api("/runs/")).send().await.unwrap();
    assert_error(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn bad_json_is_422_with_the_field() {
    let app = spawn_app().await;
    let res = app.post("/runs/", &json!({"entity_id": "x"})).await;
    let body = assert_error(res, 422, "validation_error").await;
    assert_eq!(body["errors"][0]["field"], "process_id");
    let res = app
        .client
        .post(app.api("/processes/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_error").await;
}

#[tokio::test]
async fn non_json_body_is_415() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("/processes/"))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_and_changes_nothing() {
    let app = spawn_with(|s| s.max_body_bytes = 1024).await;
    let res = app
        .post(
            "/processes/",
            &json!({"name": "big", "meta": {"blob": "x".repeat(2000)}}),
        )
        .await;
    assert_error(res, 413, "payload_too_large").await;
    let list: serde_json::Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn path_ids_must_be_integers() {
    let app = spawn_app().await;
    let res = app.get("/runs/abc").await;
    assert_error(res, 422, "validation_error").await;
}

#[tokio::test]
async fn internal_errors_are_opaque() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let run = app
        .create_run(process["id"].as_i64().unwrap(), "E", None)
        .await;
    let run_id = run["id"].as_i64().unwrap();
    // Corrupt a stored status behind the API's back.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("UPDATE step_runs SET status = 'bogus-secret'")
        .await
        .unwrap();
    let res = app.get(&format!("/runs/{run_id}")).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = res.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["detail"], "Internal server error");
    assert_eq!(body["error_type"], "internal_error");
    assert!(body["request_id"].is_string());
    assert!(!text.contains("bogus"), "{text}");
}
