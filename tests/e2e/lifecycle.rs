use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app, step_run_ids};

async fn delete(app: &crate::helpers::TestApp, path: &str) -> reqwest::Response {
    app.client.delete(app.api(path)).send().await.unwrap()
}

#[tokio::test]
async fn deleting_a_process_hides_it_and_everything_under_it() {
    let app = spawn_app().await;
    let p = app.create_process("p", 2).await;
    let pid = id(&p);
    let run = app.create_run(pid, "E", None).await;
    let rid = id(&run);
    let sr = step_run_ids(&run)[0];
    assert_eq!(
        delete(&app, &format!("/processes/{pid}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get(&format!("/processes/{pid}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.get(&format!("/runs/{rid}")).await, 404, "not_found").await;
    assert_error(
        app.get(&format!("/steps/process/{pid}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&format!("/step-runs/{sr}"), &json!({"status": "running"}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/runs/", &json!({"process_id": pid, "entity_id": "x"}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post(
            "/steps/",
            &json!({"process_id": pid, "index": 9, "name": "x"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let runs: Value = app.get("/runs/").await.json().await.unwrap();
    assert_eq!(runs["total"], 0);
    let processes: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(processes["total"], 0);
    assert_error(
        delete(&app, &format!("/processes/{pid}")).await,
        404,
        "not_found",
    )
    .await;
    assert_error(delete(&app, "/processes/424242").await, 404, "not_found").await;

    let restored = app
        .post(&format!("/processes/{pid}/restore"), &json!({}))
        .await;
    assert_eq!(restored.status(), StatusCode::OK);
    let restored: Value = restored.json().await.unwrap();
    assert_eq!(restored["steps"].as_array().unwrap().len(), 2);
    assert_eq!(app.run(rid).await["steps"].as_array().unwrap().len(), 2);
    assert_error(
        app.post(&format!("/processes/{pid}/restore"), &json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn restore_brings_back_exactly_what_the_delete_removed() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 1).await);
    let earlier = id(&app.create_run(pid, "E1", None).await);
    let later = id(&app.create_run(pid, "E2", None).await);
    assert_eq!(
        delete(&app, &format!("/runs/{earlier}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &format!("/processes/{pid}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.post(&format!("/runs/{later}/restore"), &json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
    app.post(&format!("/processes/{pid}/restore"), &json!({}))
        .await;
    assert_eq!(
        app.get(&format!("/runs/{later}")).await.status(),
        StatusCode::OK
    );
    assert_error(app.get(&format!("/runs/{earlier}")).await, 404, "not_found").await;
    let back = app
        .post(&format!("/runs/{earlier}/restore"), &json!({}))
        .await;
    assert_eq!(back.status(), StatusCode::OK);
    let back: Value = back.json().await.unwrap();
    assert_eq!(
        back["steps"].as_array().unwrap().len(),
        1,
        "its step runs come back with it"
    );
    assert_error(
        app.post(&format!("/runs/{earlier}/restore"), &json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.post("/runs/999/restore", &json!({})).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn retention_is_validated_and_reschedules_runs() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 1).await);
    let run = app.create_run(pid, "E", None).await;
    assert!(
        run["scheduled_deletion_at"].is_null(),
        "no retention, no schedule"
    );
    let path = format!("/processes/{pid}/retention");
    for bad in [
        json!({"retention_months": 0}),
        json!({"retention_months": 1201}),
        json!({"retention_months": "12"}),
        json!({}),
        json!({"retention_months": 1.5}),
    ] {
        let res = app
            .client
            .put(app.api(&path))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_error(res, 422, "validation_error").await;
    }
    let res: Value = app
        .client
        .put(app.api(&path))
        .json(&json!({"retention_months": 12}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["rescheduled_runs"], 1);
    assert_eq!(res["process"]["retention_months"], 12);
    let after = app.run(id(&run)).await;
    let created =
        chrono::DateTime::parse_from_rfc3339(after["created_at"].as_str().unwrap()).unwrap();
    let scheduled =
        chrono::DateTime::parse_from_rfc3339(after["scheduled_deletion_at"].as_str().unwrap())
            .unwrap();
    let expected = created.checked_add_months(chrono::Months::new(12)).unwrap();
    assert!(
        (scheduled - expected).num_milliseconds().abs() <= 1,
        "{scheduled} vs {expected}"
    );
    let fresh = app.create_run(pid, "F", None).await;
    assert!(fresh["scheduled_deletion_at"].is_string());
    let res: Value = app
        .client
        .put(app.api(&path))
        .json(&json!({"retention_months": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["rescheduled_runs"], 2);
    assert!(app.run(id(&run)).await["scheduled_deletion_at"].is_null());
    let res = app
        .client
        .put(app.api("/processes/999/retention"))
        .json(&json!({"retention_months": 1}))
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
}
