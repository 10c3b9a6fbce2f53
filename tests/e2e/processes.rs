use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app};

#[tokio::test]
async fn create_with_inline_steps_returns_them_by_index() {
    let app = spawn_app().await;
    let body = json!({
        "name": "Customer Onboarding",
        "meta": {"department": "Sales"},
        "retention_months": 12,
        "steps": [{"index": 1, "name": "second"}, {"index": 0, "name": "first", "is_rerunnable": true, "rerun_config": {"max_retries": 3}}]
    });
    let res = app.post("/processes/", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["name"], "Customer Onboarding");
    assert_eq!(created["meta"]["department"], "Sales");
    assert_eq!(created["retention_months"], 12);
    assert_eq!(created["steps"][0]["name"], "first");
    assert_eq!(created["steps"][0]["rerun_config"]["max_retries"], 3);
    assert_eq!(created["steps"][1]["index"], 1);
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    let fetched: Value = app
        .get(&format!("/processes/{}", id(&created)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn invalid_process_lists_every_field_and_stores_nothing() {
    let app = spawn_app().await;
    let body = json!({"name": "", "retention_months": 0, "meta": [1], "steps": [{"index": -1, "name": "x"}]});
    let res = app.post("/processes/", &body).await;
    let err = assert_error(res, 422, "validation_error").await;
    let fields: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "meta", "retention_months", "steps[0].index"]
    );
    let list: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn list_is_paginated_by_id_with_link_headers() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_process(&format!("p{i}"), 0).await;
    }
    let res = app
        .client
        .get(app.api("/processes/?page=2&size=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["x-total-count"], "5");
    assert_eq!(h["x-page"], "2");
    assert_eq!(h["x-page-size"], "2");
    assert_eq!(h["x-total-pages"], "3");
    let link = h["link"].to_str().unwrap();
    assert!(
        link.contains("/api/v1/processes/?page=1&size=2>; rel=\"first\""),
        "{link}"
    );
    assert!(link.contains("page=3&size=2>; rel=\"last\""), "{link}");
    assert!(link.contains("page=1&size=2>; rel=\"prev\""), "{link}");
    assert!(link.contains("page=3&size=2>; rel=\"next\""), "{link}");
    let body: Value = res.json().await.unwrap();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p2", "p3"]);
    assert_eq!(
        (
            body["total"].as_u64(),
            body["page"].as_u64(),
            body["size"].as_u64(),
            body["pages"].as_u64()
        ),
        (Some(5), Some(2), Some(2), Some(3))
    );
}

#[tokio::test]
async fn page_parameters_are_validated() {
    let app = spawn_app().await;
    assert_error(
        app.get("/processes/?size=101").await,
        422,
        "validation_error",
    )
    .await;
    assert_error(app.get("/processes/?page=0").await, 422, "validation_error").await;
    assert_error(app.get("/processes/?page=x").await, 422, "validation_error").await;
    let empty = app.get("/processes/").await;
    let link = empty.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("page=1&size=50>; rel=\"last\""), "{link}");
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["pages"], 0);
}

#[tokio::test]
async fn patch_changes_name_and_meta_only() {
    let app = spawn_app().await;
    let p = app.create_process("before", 1).await;
    let res = app
        .patch(&format!("/processes/{}", id(&p)), &json!({"name": "after"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["name"], "after");
    assert_eq!(updated["meta"], p["meta"]);
    assert_eq!(updated["steps"].as_array().unwrap().len(), 1);
    let res = app
        .patch(
            &format!("/processes/{}", id(&p)),
            &json!({"meta": {"k": "v"}}),
        )
        .await;
    let updated: Value = res.json().await.unwrap();
    assert_eq!(
        (updated["name"].as_str(), updated["meta"]["k"].as_str()),
        (Some("after"), Some("v"))
    );
    assert_error(
        app.patch("/processes/999", &json!({"name": "x"})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&format!("/processes/{}", id(&p)), &json!({"name": " "}))
            .await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn missing_process_is_404_and_trailing_slash_is_optional() {
    let app = spawn_app().await;
    assert_error(app.get("/processes/424242").await, 404, "not_found").await;
    let p = app.create_process("slash", 0).await;
    let with = app.get(&format!("/processes/{}/", id(&p))).await;
    assert_eq!(with.status(), StatusCode::OK);
    let without = app.client.get(app.api("/processes")).send().await.unwrap();
    assert_eq!(without.status(), StatusCode::OK);
}
