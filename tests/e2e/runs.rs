use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app, step_run_ids};

#[tokio::test]
async fn a_new_run_is_pending_with_one_step_run_per_live_step() {
    let app = spawn_app().await;
    let p = app.create_process("p", 3).await;
    let res = app.post("/runs/", &json!({"process_id": id(&p), "entity_id": "CUST-1", "entity_name": "Acme", "meta": {"priority": "high"}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "pending");
    assert_eq!(run["meta"]["priority"], "high");
    assert!(run["started_at"].is_null() && run["finished_at"].is_null());
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["step_index"], i);
        assert_eq!(s["step_id"], p["steps"][i]["id"]);
        assert_eq!(s["status"], "pending");
    }
    assert_eq!(app.run(id(&run)).await, run);
}

#[tokio::test]
async fn run_creation_is_validated() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let res = app
        .post("/runs/", &json!({"process_id": 777, "entity_id": "x"}))
        .await;
    assert_error(res, 404, "not_found").await;
    let res = app
        .post(
            "/runs/",
            &json!({"process_id": id(&p), "entity_id": "x".repeat(101)}),
        )
        .await;
    let body = assert_error(res, 422, "validation_error").await;
    assert_eq!(body["errors"][0]["field"], "entity_id");
    assert_error(app.get("/runs/555").await, 404, "not_found").await;
    let list: Value = app.get("/runs/").await.json().await.unwrap();
    assert_eq!(list["total"], 0);
}

async fn fixture(app: &crate::helpers::TestApp) -> (i64, i64, Vec<Value>) {
    let p1 = id(&app.create_process("one", 1).await);
    let p2 = id(&app.create_process("two", 1).await);
    let mut runs = Vec::new();
    for (pid, entity, name) in [
        (p1, "E-1", "Acme Corp"),
        (p1, "E-2", "Beta ACME"),
        (p2, "E-3", "Gamma"),
        (p2, "E-1", "Delta 50%"),
    ] {
        runs.push(app.create_run(pid, entity, Some(name)).await);
    }
    // Run 0 fails, run 2 succeeds.
    app.set_step(step_run_ids(&runs[0])[0], json!({"status": "failed"}))
        .await;
    app.set_step(step_run_ids(&runs[2])[0], json!({"status": "success"}))
        .await;
    (p1, p2, runs)
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(id).collect()
}

#[tokio::test]
async fn runs_are_filtered() {
    let app = spawn_app().await;
    let (p1, _, runs) = fixture(&app).await;
    let r: Vec<i64> = runs.iter().map(id).collect();
    let page: Value = app
        .get(&format!(
            "/runs/?process_id={p1}&order_by=id&sort_direction=asc"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[0], r[1]]);
    let page: Value = app
        .get("/runs/?entity_id=E-1&order_by=id&sort_direction=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[0], r[3]]);
    let page: Value = app
        .get("/runs/?entity_name=acme&order_by=id&sort_direction=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[0], r[1]]);
    let page: Value = app
        .get("/runs/?entity_name=50%25")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[3]], "% is matched literally");
    let page: Value = app.get("/runs/?status=failed").await.json().await.unwrap();
    assert_eq!(ids(&page), [r[0]]);
    let page: Value = app
        .get("/runs/?run_status=completed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[2]]);
    let page: Value = app
        .get("/runs/?finished_after=2000-01-01&order_by=id&sort_direction=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[0], r[2]]);
    let page: Value = app
        .get("/runs/?created_before=2000-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);
    let page: Value = app
        .get("/runs/?started_after=2000-01-01T00:00:00%2B02:00&started_before=2999-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
}

#[tokio::test]
async fn runs_are_ordered_with_id_as_tie_break() {
    let app = spawn_app().await;
    let (_, _, runs) = fixture(&app).await;
    let r: Vec<i64> = runs.iter().map(id).collect();
    let page: Value = app.get("/runs/").await.json().await.unwrap();
    assert_eq!(
        ids(&page),
        [r[3], r[2], r[1], r[0]],
        "default is created_at desc"
    );
    let page: Value = app
        .get("/runs/?order_by=entity_id&sort_direction=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[0], r[3], r[1], r[2]]);
    let page: Value = app
        .get("/runs/?order_by=entity_id&sort_direction=desc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), [r[2], r[1], r[3], r[0]]);
    let page: Value = app
        .get("/runs/?order_by=finished_at&sort_direction=desc")
        .await
        .json()
        .await
        .unwrap();
    let first_two: Vec<i64> = ids(&page)[..2].to_vec();
    assert!(
        first_two.contains(&r[0]) && first_two.contains(&r[2]),
        "unfinished runs sort last"
    );
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_problem() {
    let app = spawn_app().await;
    let body = assert_error(
        app.get("/runs/?order_by=password").await,
        422,
        "validation_error",
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "id, created_at, updated_at, started_at, finished_at, entity_id, entity_name, status"
        ),
        "{message}"
    );
    let body = assert_error(
        app.get("/runs/?created_after=last-tuesday").await,
        422,
        "validation_error",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "created_after");
    assert_error(app.get("/runs/?status=done").await, 422, "validation_error").await;
    assert_error(
        app.get("/runs/?sort_direction=sideways").await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.get("/runs/?process_id=abc").await,
        422,
        "validation_error",
    )
    .await;
    assert_error(app.get("/runs/?size=0").await, 422, "validation_error").await;
}

#[tokio::test]
async fn run_list_links_preserve_filters() {
    let app = spawn_app().await;
    let (p1, _, _) = fixture(&app).await;
    let res = app
        .get(&format!("/runs/?process_id={p1}&size=1&order_by=id"))
        .await;
    let link = res.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains(&format!(
            "page=2&size=1&process_id={p1}&order_by=id>; rel=\"next\""
        )),
        "{link}"
    );
    assert!(!link.contains("rel=\"prev\""));
}
