//! Dashboards and the late/stuck rule, checked against numbers worked out by hand for a known
//! set of runs with controlled timestamps.

use chrono::{DateTime, Duration, Utc};
use procdash_persistence::entities::process_run;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_with, step_run_ids};

/// These tests set timestamps straight in the database, which no change-log row records, so
/// the dashboard cache (which only audited writes invalidate) is off here; its own tests are in
/// dashboard_cache.rs.
async fn app() -> TestApp {
    spawn_with(|s| {
        s.health_cache_seconds = 0;
        s.dashboard_cache_seconds = 0;
    })
    .await
}

/// Sets a run's timestamps directly: the API stamps them with the current time.
async fn set_times(
    app: &TestApp,
    run_id: i64,
    created: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
) {
    process_run::Entity::update_many()
        .col_expr(process_run::Column::CreatedAt, Expr::value(created))
        .col_expr(process_run::Column::StartedAt, Expr::value(started))
        .col_expr(process_run::Column::FinishedAt, Expr::value(finished))
        .filter(process_run::Column::Id.eq(run_id))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Two steps; runs: completed (100 s), completed (300 s), failed at step 0, running, pending,
/// and one deleted completed run that must not count.
async fn seeded(app: &TestApp) -> (Value, Vec<i64>) {
    let process = app.create_process("dash", 2).await;
    let p = id(&process);
    let now = Utc::now();
    let mut ids = Vec::new();
    for (i, outcome) in ["ok", "ok", "fail", "run", "pend", "deleted"]
        .iter()
        .enumerate()
    {
        let run = app.create_run(p, &format!("E-{i}"), Some("Name")).await;
        let steps = step_run_ids(&run);
        match *outcome {
            "ok" | "deleted" => {
                app.set_step(steps[0], json!({"status": "success"})).await;
                app.set_step(steps[1], json!({"status": "success"})).await;
            }
            "fail" => {
                app.set_step(steps[0], json!({"status": "failed"})).await;
            }
            "run" => {
                app.set_step(steps[0], json!({"status": "running"})).await;
            }
            _ => {}
        }
        ids.push(id(&run));
    }
    let created = now - Duration::seconds(500);
    set_times(
        app,
        ids[0],
        created,
        Some(created),
        Some(created + Duration::seconds(100)),
    )
    .await;
    set_times(
        app,
        ids[1],
        created,
        Some(created),
        Some(created + Duration::seconds(300)),
    )
    .await;
    let res = app
        .client
        .delete(app.api(&format!("/runs/{}", ids[5])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    (process, ids)
}

#[tokio::test]
async fn process_dashboard_counts_rates_and_durations() {
    let app = app().await;
    let (process, ids) = seeded(&app).await;
    let p = id(&process);
    let body = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(
        body["process"],
        json!({"id": p, "name": "dash", "total_steps": 2})
    );
    let s = &body["statistics"];
    assert_eq!(s["total_runs"], 5, "{s}");
    assert_eq!(
        [
            &s["completed_runs"],
            &s["failed_runs"],
            &s["running_runs"],
            &s["pending_runs"],
            &s["cancelled_runs"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(1), &json!(0)]
    );
    // 2 completed of 3 finished.
    assert_eq!(s["success_rate"], 66.67);
    assert_eq!(s["average_completion_time"], "00:03:20");
    assert_eq!(
        s["p50_completion_seconds"].as_f64().map(f64::round),
        Some(100.0)
    );
    assert_eq!(
        s["p95_completion_seconds"].as_f64().map(f64::round),
        Some(300.0)
    );
    // Newest first, deleted run absent; per-run success rate over its step runs.
    let runs = body["runs"].as_array().unwrap();
    let listed: Vec<i64> = runs.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(listed.len(), 5);
    assert!(!listed.contains(&ids[5]));
    let rate =
        |run_id: i64| runs.iter().find(|r| r["id"] == run_id).unwrap()["success_rate"].clone();
    assert_eq!(rate(ids[0]), 100.0);
    assert_eq!(rate(ids[2]), 0.0);
    // Step breakdown: step 0 has 2 success, 1 failed, 1 running, 1 pending.
    let step0 = &body["steps"][0];
    assert_eq!(
        [
            &step0["success"],
            &step0["failed"],
            &step0["running"],
            &step0["pending"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(1)]
    );
    assert_eq!(step0["failure_rate"], 33.33);
    assert_eq!(body["steps"][1]["failed"], 0);
    assert!(body["steps"][1]["failure_rate"] == 0.0);
    // A window that excludes everything, and bad input.
    let future = (Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let empty = json_of(&app, &format!("/dashboard/process/{p}?since={future}")).await;
    assert_eq!(empty["statistics"]["total_runs"], 0);
    assert!(empty["statistics"]["success_rate"].is_null());
    assert!(empty["statistics"]["average_completion_time"].is_null());
    assert_error(app.get("/dashboard/process/99999").await, 404, "not_found").await;
    assert_error(
        app.get(&format!("/dashboard/process/{p}?x=1")).await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn neutralized_runs_still_count() {
    let app = app().await;
    let (process, ids) = seeded(&app).await;
    let p = id(&process);
    let res = app
        .post(&format!("/runs/{}/neutralize", ids[2]), &json!({}))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let body = json_of(&app, &format!("/dashboard/process/{p}")).await;
    assert_eq!(body["statistics"]["failed_runs"], 1);
    assert_eq!(body["statistics"]["total_runs"], 5);
}

#[tokio::test]
async fn seed_overview_keeps_its_shape_with_paginated_runs() {
    let app = app().await;
    let (process, _) = seeded(&app).await;
    let p = id(&process);
    let res = app
        .get(&format!("/dashboard/overview/{p}?size=2&page=2"))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["x-total-count"], "5");
    assert!(
        res.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\"")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["process"]["id"], p);
    assert_eq!(
        [
            &body["total_runs"],
            &body["completed_runs"],
            &body["failed_runs"],
            &body["running_runs"],
            &body["pending_runs"],
            &body["cancelled_runs"]
        ],
        [
            &json!(5),
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(0)
        ]
    );
    assert_eq!(body["runs"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["runs"]["page"], 2);
    assert_eq!(body["runs"]["total"], 5);
    let res = app
        .client
        .delete(app.api(&format!("/processes/{p}")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_error(
        app.get(&format!("/dashboard/overview/{p}")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn overview_summarizes_every_live_process_most_failures_first() {
    let app = app().await;
    let quiet = id(&app.create_process("a-quiet", 1).await);
    let (process, ids) = seeded(&app).await;
    let p = id(&process);
    // The pending run is late, the running one stuck (no completed-run p95 beyond the minimum).
    let now = Utc::now();
    set_times(&app, ids[4], now - Duration::seconds(1000), None, None).await;
    set_times(
        &app,
        ids[3],
        now - Duration::seconds(2000),
        Some(now - Duration::seconds(1900)),
        None,
    )
    .await;
    let body = json_of(&app, "/dashboard/overview").await;
    let rows = body["processes"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["process_id"], p, "most failures first");
    assert_eq!(rows[0]["failures_last_24h"], 1);
    assert_eq!(rows[0]["late_runs"], 1);
    assert_eq!(rows[0]["stuck_runs"], 1);
    assert_eq!(rows[0]["total_runs"], 5);
    assert_eq!(rows[0]["success_rate"], 66.67);
    // Created in the last 24 hours: all five (the seeded ones are minutes old).
    assert_eq!(rows[0]["runs_last_24h"], 5);
    assert_eq!(rows[1]["process_id"], quiet);
    assert_eq!(rows[1]["total_runs"], 0);
    assert!(rows[1]["success_rate"].is_null());
}

#[tokio::test]
async fn late_and_stuck_follow_the_rule() {
    let app = app().await;
    let now = Utc::now();
    // Process with history: completed runs of 400 s, so the limit is 3 × 400 = 1200 s.
    let slow = app.create_process("slow", 1).await;
    let s = id(&slow);
    for i in 0..3 {
        let run = app.create_run(s, &format!("h{i}"), None).await;
        app.set_step(step_run_ids(&run)[0], json!({"status": "success"}))
            .await;
        let t = now - Duration::seconds(5000);
        set_times(&app, id(&run), t, Some(t), Some(t + Duration::seconds(400))).await;
    }
    let ok_running = app.create_run(s, "r-ok", None).await;
    app.set_step(step_run_ids(&ok_running)[0], json!({"status": "running"}))
        .await;
    set_times(
        &app,
        id(&ok_running),
        now - Duration::seconds(800),
        Some(now - Duration::seconds(700)),
        None,
    )
    .await;
    let stuck = app.create_run(s, "r-stuck", None).await;
    app.set_step(step_run_ids(&stuck)[0], json!({"status": "running"}))
        .await;
    set_times(
        &app,
        id(&stuck),
        now - Duration::seconds(1400),
        Some(now - Duration::seconds(1300)),
        None,
    )
    .await;
    // Process with an explicit expected duration of 60 s.
    let fast = app
        .post("/processes/", &json!({"name": "fast", "meta": {"expected_duration_seconds": 60}, "steps": [{"index": 0, "name": "s"}]}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let fast_run = app.create_run(id(&fast), "f", None).await;
    app.set_step(step_run_ids(&fast_run)[0], json!({"status": "running"}))
        .await;
    set_times(
        &app,
        id(&fast_run),
        now - Duration::seconds(90),
        Some(now - Duration::seconds(70)),
        None,
    )
    .await;
    // Late: pending beyond 900 s; a fresh pending run is ok.
    let late = app.create_run(s, "late", None).await;
    set_times(&app, id(&late), now - Duration::seconds(1000), None, None).await;
    let fresh = app.create_run(s, "fresh", None).await;

    let health = |v: &Value| v["health"].as_str().unwrap().to_owned();
    assert_eq!(health(&app.run(id(&ok_running)).await), "ok");
    assert_eq!(health(&app.run(id(&stuck)).await), "stuck");
    assert_eq!(health(&app.run(id(&fast_run)).await), "stuck");
    assert_eq!(health(&app.run(id(&late)).await), "late");
    assert_eq!(health(&app.run(id(&fresh)).await), "ok");

    let listed = |body: Value| -> Vec<String> {
        let mut v: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["entity_id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        listed(json_of(&app, "/runs/?health=stuck").await),
        ["f", "r-stuck"]
    );
    assert_eq!(listed(json_of(&app, "/runs/?health=late").await), ["late"]);
    assert_eq!(
        listed(json_of(&app, &format!("/runs/?health=stuck&process_id={s}")).await),
        ["r-stuck"]
    );
    let ok = listed(json_of(&app, "/runs/?health=ok").await);
    assert_eq!(ok, ["fresh", "h0", "h1", "h2", "r-ok"]);
    assert_error(app.get("/runs/?health=bad").await, 422, "validation_error").await;
    let dash = json_of(&app, &format!("/dashboard/process/{s}")).await;
    assert_eq!(dash["statistics"]["stuck_runs"], 1, "{dash}");
    assert_eq!(dash["statistics"]["late_runs"], 1, "{dash}");
}
