use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app};

async fn run_with_meta(app: &TestApp, meta: Value) -> Value {
    let p = app.create_process("p", 1).await;
    let body = json!({"process_id": id(&p), "entity_id": "E-1", "meta": meta});
    let res = app.post("/runs/", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn run_updates(app: &TestApp, run_id: i64) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/audit/changes?entity=run&record_id={run_id}&operation=update"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn change_log_rows(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM change_log",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn existing_keys_are_merged_and_recorded() {
    let app = spawn_app().await;
    let run = run_with_meta(
        &app,
        json!({"priority": "high", "ticket": "T-1", "region": "EMEA"}),
    )
    .await;
    let run_id = id(&run);
    let res = app
        .patch(
            &format!("/runs/{run_id}/metadata"),
            &json!({"meta": {"priority": "low", "ticket": null}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["meta"],
        json!({"priority": "low", "ticket": null, "region": "EMEA"})
    );
    let fetched = app.run(run_id).await;
    assert_eq!(fetched, body, "the answer is the run body");
    assert_eq!(fetched["steps"].as_array().map(Vec::len), Some(1));

    let updates = run_updates(&app, run_id).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    let change = &updates[0];
    assert_eq!(
        change["before"]["meta"],
        json!({"priority": "high", "ticket": "T-1", "region": "EMEA"})
    );
    assert_eq!(change["after"]["meta"], body["meta"]);
    assert_eq!(change["changed_fields"], json!(["meta"]));
    assert!(change["actor"].as_str().unwrap().starts_with("api_key:"));
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], true);
}

#[tokio::test]
async fn an_empty_or_unchanged_update_writes_nothing() {
    let app = spawn_app().await;
    let run = run_with_meta(&app, json!({"priority": "high"})).await;
    let run_id = id(&run);
    let before = change_log_rows(&app).await;
    for meta in [json!({}), json!({"priority": "high"})] {
        let res = app
            .patch(&format!("/runs/{run_id}/metadata"), &json!({"meta": meta}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["meta"], json!({"priority": "high"}));
        assert_eq!(body["updated_at"], run["updated_at"]);
    }
    assert_eq!(change_log_rows(&app).await, before);
}

#[tokio::test]
async fn unknown_keys_are_a_400_naming_keys_but_not_values() {
    let app = spawn_app().await;
    let run = run_with_meta(
        &app,
        json!({"email": "jane@example.com", "priority": "high"}),
    )
    .await;
    let run_id = id(&run);
    let before = change_log_rows(&app).await;
    let res = app
        .patch(
            &format!("/runs/{run_id}/metadata"),
            &json!({"meta": {"priority": "secret-new-value", "colour": "x", "size": 1}}),
        )
        .await;
    let body = assert_error(res, 400, "bad_request").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("'colour', 'size'"), "{detail}");
    assert!(detail.contains("'email', 'priority'"), "{detail}");
    assert!(!body.to_string().contains("jane@example.com"), "{body}");
    assert!(!body.to_string().contains("secret-new-value"), "{body}");
    assert_eq!(
        app.run(run_id).await["meta"],
        run["meta"],
        "nothing changed"
    );
    assert_eq!(change_log_rows(&app).await, before);
}

#[tokio::test]
async fn bad_bodies_are_422() {
    let app = spawn_app().await;
    let run = run_with_meta(&app, json!({"a": 1})).await;
    let path = format!("/runs/{}/metadata", id(&run));
    for bad in [
        json!({}),
        json!({"meta": [1]}),
        json!({"meta": "x"}),
        json!({"meta": null}),
        json!({"meta": {}, "other": 1}),
    ] {
        assert_error(app.patch(&path, &bad).await, 422, "validation_error").await;
    }
    assert_error(
        app.patch("/runs/abc/metadata", &json!({"meta": {}})).await,
        422,
        "validation_error",
    )
    .await;
    let res = app
        .client
        .patch(app.api(&path))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn missing_deleted_and_neutralized_runs_are_404() {
    let app = spawn_app().await;
    assert_error(
        app.patch("/runs/9999/metadata", &json!({"meta": {}})).await,
        404,
        "not_found",
    )
    .await;
    let deleted = id(&run_with_meta(&app, json!({"a": 1})).await);
    let res = app
        .client
        .delete(app.api(&format!("/runs/{deleted}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.patch(
            &format!("/runs/{deleted}/metadata"),
            &json!({"meta": {"a": 2}}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let neutralized = id(&run_with_meta(&app, json!({"department": "Sales"})).await);
    let res = app
        .post(&format!("/runs/{neutralized}/neutralize"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_error(
        app.patch(
            &format!("/runs/{neutralized}/metadata"),
            &json!({"meta": {"department": "Legal"}}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.run(neutralized).await["meta"],
        json!({"department": "Sales"})
    );
}

#[tokio::test]
async fn only_admins_may_edit_metadata() {
    let app = spawn_app().await;
    let run = run_with_meta(&app, json!({"a": 1})).await;
    let path = app.api(&format!("/runs/{}/metadata", id(&run)));
    let user = create_key(&app.db, "user", None).await;
    let res = app
        .anonymous
        .patch(&path)
        .header("x-api-key", &user)
        .json(&json!({"meta": {"a": 2}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "forbidden").await;
    let res = app
        .anonymous
        .patch(&path)
        .json(&json!({"meta": {"a": 2}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized").await;
    assert_eq!(app.run(id(&run)).await["meta"], json!({"a": 1}));
}
