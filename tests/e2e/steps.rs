use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app};

#[tokio::test]
async fn steps_are_added_listed_and_filtered_by_rerunnable() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let pid = id(&p);
    let res = app.post("/steps/", &json!({"process_id": pid, "index": 5, "name": "retryable", "is_rerunnable": true, "rerun_config": {"max_retries": 2}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let step: Value = res.json().await.unwrap();
    assert_eq!(
        (step["index"].as_i64(), step["is_rerunnable"].as_bool()),
        (Some(5), Some(true))
    );
    let all: Value = app
        .get(&format!("/steps/process/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    let indexes: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 5]);
    let rerunnable: Value = app
        .get(&format!("/steps/process/{pid}/rerunnable"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rerunnable.as_array().unwrap().len(), 1);
    assert_eq!(rerunnable[0]["name"], "retryable");
}

#[tokio::test]
async fn duplicate_index_is_a_409_from_the_database() {
    let app = spawn_app().await;
    let p = app.create_process("p", 2).await;
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": id(&p), "index": 1, "name": "dup"}),
        )
        .await;
    assert_error(res, 409, "conflict").await;
    // The same index in another process is fine.
    let q = app.create_process("q", 0).await;
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": id(&q), "index": 1, "name": "ok"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_duplicate_steps_leave_exactly_one() {
    let app = spawn_app().await;
    let p = app.create_process("p", 0).await;
    let body = json!({"process_id": id(&p), "index": 3, "name": "race"});
    let results = futures_util::future::join_all((0..8).map(|_| app.post("/steps/", &body))).await;
    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r.status() == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7));
}

#[tokio::test]
async fn steps_of_a_missing_process_are_404() {
    let app = spawn_app().await;
    assert_error(app.get("/steps/process/99").await, 404, "not_found").await;
    assert_error(
        app.get("/steps/process/99/rerunnable").await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": 99, "index": 0, "name": "x"}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    let res = app
        .post(
            "/steps/",
            &json!({"process_id": 99, "index": -2, "name": "x"}),
        )
        .await;
    assert_error(res, 422, "validation_error").await;
}
