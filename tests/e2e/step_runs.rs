use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app, step_run_ids};

#[tokio::test]
async fn step_progress_rolls_up_into_the_run() {
    let app = spawn_app().await;
    let p = app.create_process("p", 2).await;
    let run = app.create_run(id(&p), "E", None).await;
    let (run_id, steps) = (id(&run), step_run_ids(&run));

    let s = app
        .set_step(
            steps[0],
            json!({"status": "running", "last_modified_by": "robot-1"}),
        )
        .await;
    assert!(s["started_at"].is_string());
    assert_eq!(s["last_modified_by"], "robot-1");
    let r = app.run(run_id).await;
    assert_eq!(r["status"], "running");
    let started = r["started_at"].clone();
    assert!(started.is_string() && r["finished_at"].is_null());

    app.set_step(steps[0], json!({"status": "success"})).await;
    assert_eq!(
        app.run(run_id).await["status"],
        "running",
        "one pending, one success"
    );

    let failed = app
        .set_step(
            steps[1],
            json!({"status": "failed", "failure": {"error": "timeout"}}),
        )
        .await;
    assert!(failed["finished_at"].is_string());
    assert_eq!(failed["failure"]["error"], "timeout");
    let r = app.run(run_id).await;
    assert_eq!(r["status"], "failed");
    assert!(r["finished_at"].is_string());
    assert_eq!(r["started_at"], started, "started_at is never re-stamped");

    let retried = app.set_step(steps[1], json!({"status": "running"})).await;
    assert!(retried["failure"].is_null() && retried["finished_at"].is_null());
    let r = app.run(run_id).await;
    assert_eq!(r["status"], "running");
    assert!(
        r["finished_at"].is_null(),
        "finished_at clears when the run leaves a terminal status"
    );

    app.set_step(steps[1], json!({"status": "optional"})).await;
    let r = app.run(run_id).await;
    assert_eq!(r["status"], "completed");
    assert!(r["finished_at"].is_string());
}

#[tokio::test]
async fn supplied_timestamps_win_and_repeats_restamp_nothing() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let run = app.create_run(id(&p), "E", None).await;
    let sr = step_run_ids(&run)[0];
    let s = app
        .set_step(
            sr,
            json!({"status": "running", "started_at": "2025-10-03T10:15:00Z"}),
        )
        .await;
    assert_eq!(s["started_at"], "2025-10-03T10:15:00Z");
    let again = app.set_step(sr, json!({"status": "running"})).await;
    assert_eq!(again["started_at"], "2025-10-03T10:15:00Z");
    let done = app
        .set_step(
            sr,
            json!({"status": "success", "finished_at": "2025-10-03T10:17:30Z"}),
        )
        .await;
    assert_eq!(done["finished_at"], "2025-10-03T10:17:30Z");
    let repeat = app.set_step(sr, json!({"status": "success"})).await;
    assert_eq!(repeat["finished_at"], "2025-10-03T10:17:30Z");
}

#[tokio::test]
async fn bad_updates_are_rejected_and_change_nothing() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let run = app.create_run(id(&p), "E", None).await;
    let sr = step_run_ids(&run)[0];
    let body = assert_error(
        app.patch(&format!("/step-runs/{sr}"), &json!({"status": "done"}))
            .await,
        422,
        "validation_error",
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pending, running")
    );
    assert_error(
        app.patch(&format!("/step-runs/{sr}"), &json!({})).await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.patch(
            &format!("/step-runs/{sr}"),
            &json!({"status": "failed", "failure": "text"}),
        )
        .await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.patch(
            &format!("/step-runs/{sr}"),
            &json!({"status": "running", "started_at": "noon"}),
        )
        .await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.patch("/step-runs/9999", &json!({"status": "running"}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.run(id(&run)).await, run);
}

#[tokio::test]
async fn manual_step_runs_recompute_the_run() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let other = app.create_process("other", 1).await;
    let run = app.create_run(id(&p), "E", None).await;
    let step_id = p["steps"][0]["id"].as_i64().unwrap();
    let res = app
        .post(
            "/step-runs/",
            &json!({"run_id": id(&run), "step_id": step_id, "status": "running"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["step_index"], 0);
    assert!(created["started_at"].is_string());
    assert_eq!(app.run(id(&run)).await["status"], "running");
    let current: Value = app
        .get(&format!("/step-runs/run/{}/step/{step_id}", id(&run)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        current["id"], created["id"],
        "the latest step run of a step is current"
    );
    let all: Value = app
        .get(&format!("/step-runs/run/{}", id(&run)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let foreign = other["steps"][0]["id"].as_i64().unwrap();
    let res = app
        .post(
            "/step-runs/",
            &json!({"run_id": id(&run), "step_id": foreign}),
        )
        .await;
    assert_error(res, 422, "validation_error").await;
    assert_error(
        app.post("/step-runs/", &json!({"run_id": 999, "step_id": step_id}))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(app.get("/step-runs/run/999").await, 404, "not_found").await;
    assert_error(
        app.get(&format!("/step-runs/run/{}/step/999", id(&run)))
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_newer_step_run_of_a_step_supersedes_the_older_one() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let run = app.create_run(id(&p), "E", None).await;
    app.set_step(step_run_ids(&run)[0], json!({"status": "failed"}))
        .await;
    assert_eq!(app.run(id(&run)).await["status"], "failed");
    let step_id = p["steps"][0]["id"].as_i64().unwrap();
    let res = app
        .post(
            "/step-runs/",
            &json!({"run_id": id(&run), "step_id": step_id, "status": "success"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        app.run(id(&run)).await["status"],
        "completed",
        "only the current step run counts"
    );
}
