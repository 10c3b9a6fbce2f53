//! KPIs, anomalies, forecast and export: the endpoint against a direct computation over the
//! same runs, kept current by the `kpi_rollups` job or by a rebuild.

use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Span, TimeZone, Utc, Weekday};
use procdash_persistence::entities::process_run;
use procdash_persistence::repo::kpis;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, spawn_with, step_run_ids};

/// Creates a run and drives its two steps to `outcome`: completed, failed, cancelled, running
/// or pending.
async fn run_with(app: &TestApp, pid: i64, entity: &str, outcome: &str) -> (i64, Vec<i64>) {
    let run = app.create_run(pid, entity, None).await;
    let steps = step_run_ids(&run);
    let set = |i: usize, s: &str| (steps[i], json!({"status": s}));
    let updates: Vec<(i64, Value)> = match outcome {
        "completed" => vec![set(0, "success"), set(1, "success")],
        "failed" => vec![set(0, "success"), set(1, "failed")],
        "cancelled" => vec![set(0, "cancelled")],
        "running" => vec![set(0, "running")],
        _ => vec![],
    };
    for (step, body) in updates {
        app.set_step(step, body).await;
    }
    (id(&run), steps)
}

/// Moves a run's timestamps: created at `created`, started then, finished `seconds` later (when
/// it is finished). `updated_at` becomes now, as any write would set it.
async fn backdate(app: &TestApp, run_id: i64, created: DateTime<Utc>, seconds: i64) {
    let run = process_run::Entity::find_by_id(run_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let finished = run.finished_at.map(|_| created + Span::seconds(seconds));
    let started = run.started_at.map(|_| created);
    process_run::Entity::update_many()
        .col_expr(process_run::Column::CreatedAt, Expr::value(created))
        .col_expr(process_run::Column::StartedAt, Expr::value(started))
        .col_expr(process_run::Column::FinishedAt, Expr::value(finished))
        .col_expr(process_run::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(process_run::Column::Id.eq(run_id))
        .exec(&app.db)
        .await
        .unwrap();
}

/// One bucket computed directly from the runs table.
#[derive(Debug, PartialEq)]
struct Direct {
    started: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
    durations: Vec<f64>,
}

fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

async fn direct(app: &TestApp, pid: i64, start: DateTime<Utc>, width: Span) -> Direct {
    let runs = process_run::Entity::find()
        .filter(process_run::Column::ProcessId.eq(pid))
        .filter(process_run::Column::DeletedAt.is_null())
        .all(&app.db)
        .await
        .unwrap();
    let end = start + width;
    let inside = |t: DateTime<Utc>| t >= start && t < end;
    let mut d = Direct {
        started: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        durations: vec![],
    };
    for r in runs {
        if inside(r.created_at) {
            d.started += 1;
        }
        let Some(finished) = r.finished_at.filter(|t| inside(*t)) else {
            continue;
        };
        match r.status.as_str() {
            "completed" => {
                d.completed += 1;
                let began = r.started_at.unwrap_or(r.created_at);
                d.durations
                    .push((finished - began).num_microseconds().unwrap() as f64 / 1e6);
            }
            "failed" => d.failed += 1,
            "cancelled" => d.cancelled += 1,
            _ => {}
        }
    }
    d.durations.sort_by(f64::total_cmp);
    d
}

fn close(api: &Value, exact: Option<f64>) -> bool {
    match (api.as_f64(), exact) {
        (None, None) => true,
        (Some(a), Some(e)) => (a - e).abs() <= (e.abs() * 0.05).max(0.001),
        _ => false,
    }
}

/// Whether every bucket of the response matches the direct computation.
async fn matches(app: &TestApp, pid: i64, body: &Value) -> Result<(), String> {
    let width = if body["bucket"] == "hour" {
        Span::hours(1)
    } else {
        Span::days(1)
    };
    for b in body["buckets"].as_array().unwrap() {
        let start: DateTime<Utc> = b["bucket"].as_str().unwrap().parse().unwrap();
        let d = direct(app, pid, start, width).await;
        let finished = d.completed + d.failed + d.cancelled;
        let rate = (finished > 0).then(|| d.completed as f64 * 100.0 / finished as f64);
        let ok = b["runs_started"] == d.started
            && b["runs_completed"] == d.completed
            && b["runs_failed"] == d.failed
            && b["runs_cancelled"] == d.cancelled
            && close(&b["success_rate"], rate)
            && close(
                &b["median_duration_seconds"],
                nearest_rank(&d.durations, 0.5),
            )
            && close(&b["p95_duration_seconds"], nearest_rank(&d.durations, 0.95));
        if !ok {
            return Err(format!("bucket {b} differs from {d:?}"));
        }
    }
    Ok(())
}

/// Polls the KPIs (up to ~10 s) until they match the direct computation.
async fn eventually_matches(app: &TestApp, pid: i64, query: &str) -> Value {
    let mut last = String::new();
    for _ in 0..50 {
        let res = app.get(&format!("/processes/{pid}/kpis?{query}")).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        match matches(app, pid, &body).await {
            Ok(()) => return body,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("KPIs never matched the runs: {last}");
}

fn day(offset: i64) -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    today + Span::days(offset)
}

fn totals(body: &Value, field: &str) -> u64 {
    body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[field].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn kpis_follow_step_updates_deletes_restores_and_neutralization() {
    let app = spawn_with(|s| s.kpi_interval_seconds = 1).await;
    let pid = id(&app.create_process("kpi", 2).await);
    let mut runs = vec![];
    for (i, outcome) in [
        "completed",
        "completed",
        "completed",
        "failed",
        "cancelled",
        "running",
    ]
    .iter()
    .enumerate()
    {
        let (run, steps) = run_with(&app, pid, &format!("e{i}"), outcome).await;
        runs.push((run, steps));
    }
    // Two runs three days ago with real durations, one today as it happened.
    backdate(&app, runs[0].0, day(-3) + Span::hours(9), 120).await;
    backdate(&app, runs[1].0, day(-3) + Span::hours(10), 3_600).await;
    backdate(&app, runs[3].0, day(-2) + Span::hours(23), 7_200).await;

    let body = eventually_matches(&app, pid, "").await;
    assert_eq!(body["buckets"].as_array().unwrap().len(), 30);
    assert_eq!(body["bucket"], "day");
    assert_eq!(totals(&body, "runs_started"), 6);
    assert!(body["fresh_as_of"].is_string());
    let since = day(-5).format("%Y-%m-%dT%H:%M:%SZ");
    let hours = eventually_matches(&app, pid, &format!("bucket=hour&from={since}")).await;
    assert!(hours["buckets"].as_array().unwrap().len() > 5 * 24);
    let mid = day(-3).format("%Y-%m-%d").to_string();
    eventually_matches(&app, pid, &format!("from={mid}&to={mid}&bucket=hour")).await;

    // A step update turns the running run into a failed one, and a completed one back to running.
    app.set_step(runs[5].1[0], json!({"status": "failed"}))
        .await;
    app.set_step(runs[2].1[1], json!({"status": "running"}))
        .await;
    let body = eventually_matches(&app, pid, "").await;
    assert_eq!(totals(&body, "runs_failed"), 2);
    assert_eq!(totals(&body, "runs_completed"), 2);

    // A deleted run stops counting; restored, it counts again.
    let res = app
        .client
        .delete(app.api(&format!("/runs/{}", runs[1].0)))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let body = eventually_matches(&app, pid, "").await;
    assert_eq!(totals(&body, "runs_started"), 5);
    let res = app
        .post(&format!("/runs/{}/restore", runs[1].0), &json!({}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let body = eventually_matches(&app, pid, "").await;
    assert_eq!(totals(&body, "runs_started"), 6);

    // A neutralized run still counts.
    let res = app
        .post(&format!("/runs/{}/neutralize", runs[0].0), &json!({}))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let body = eventually_matches(&app, pid, "").await;
    assert_eq!(totals(&body, "runs_started"), 6);
    assert_eq!(totals(&body, "runs_completed"), 2);
}

#[tokio::test]
async fn rebuild_recomputes_from_the_runs() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("rebuild", 2).await);
    for (i, outcome) in ["completed", "failed", "completed", "pending"]
        .iter()
        .enumerate()
    {
        let (run, _) = run_with(&app, pid, &format!("r{i}"), outcome).await;
        backdate(
            &app,
            run,
            day(-1) + Span::hours(i as i64 * 5),
            10 + i as i64 * 100,
        )
        .await;
    }
    let summary = kpis::rebuild(&app.db, Some(pid), |_, _| {}).await.unwrap();
    assert_eq!(summary.runs_seen, 4);
    let res = app.get(&format!("/processes/{pid}/kpis")).await;
    let body: Value = res.json().await.unwrap();
    matches(&app, pid, &body).await.unwrap();
    let yesterday = &body["buckets"][28];
    assert_eq!(yesterday["runs_started"], 4);
    assert_eq!(yesterday["success_rate"], json!(2.0 * 100.0 / 3.0));
    let all = kpis::rebuild(&app.db, None, |_, _| {}).await.unwrap();
    assert_eq!(all.runs_seen, 4);
    // A rebuild of every process moves the watermark past its runs: the next refresh folds
    // only what changed since (the overlap window re-reads the newest), not every run again.
    let newest = process_run::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.updated_at)
        .max()
        .unwrap();
    assert_eq!(kpis::watermark(&app.db).await.unwrap(), Some(newest));
    assert!(
        kpis::rebuild(&app.db, Some(424_242), |_, _| {})
            .await
            .is_err()
    );
}

#[tokio::test]
async fn kpi_parameters_are_checked() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("params", 1).await);
    for query in [
        "from=yesterday",
        "to=2026-13-01",
        "bucket=week",
        "from=2026-11-03&to=2026-11-02",
        "from=2020-01-01&to=2026-01-01&bucket=hour",
    ] {
        let res = app.get(&format!("/processes/{pid}/kpis?{query}")).await;
        assert_error(res, 422, "validation_error").await;
        let res = app
            .get(&format!("/processes/{pid}/kpis/export?{query}"))
            .await;
        assert_error(res, 422, "validation_error").await;
    }
    let res = app
        .get(&format!("/processes/{pid}/kpis/export?format=pdf"))
        .await;
    assert_error(res, 422, "validation_error").await;
    let res = app
        .get(&format!(
            "/processes/{pid}/kpis?from=2026-11-01&to=2026-11-30"
        ))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["buckets"].as_array().unwrap().len(), 30);
    assert_eq!(body["from"], "2026-11-01T00:00:00Z");
    assert_eq!(body["buckets"][0]["success_rate"], Value::Null);
    assert_eq!(body["buckets"][0]["anomalies"], json!([]));
    assert_error(app.get("/processes/424242/kpis").await, 404, "not_found").await;
    let res = app
        .client
        .delete(app.api(&format!("/processes/{pid}")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    for path in ["kpis", "kpis/forecast", "kpis/export"] {
        let res = app.get(&format!("/processes/{pid}/{path}")).await;
        assert_error(res, 404, "not_found").await;
    }
}

#[tokio::test]
async fn a_failure_spike_is_an_anomaly() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("spiky", 2).await);
    // 20 quiet days: 4 runs a day, 0 or 1 failed; then a day with every run failed.
    for d in 0..21i64 {
        for r in 0..4i64 {
            let failed = if d == 20 { true } else { d % 2 == 1 && r == 0 };
            let outcome = if failed { "failed" } else { "completed" };
            let (run, _) = run_with(&app, pid, &format!("d{d}r{r}"), outcome).await;
            backdate(&app, run, day(d - 21) + Span::hours(8 + r), 60).await;
        }
    }
    kpis::rebuild(&app.db, Some(pid), |_, _| {}).await.unwrap();
    let res = app.get(&format!("/processes/{pid}/kpis")).await;
    let body: Value = res.json().await.unwrap();
    let buckets = body["buckets"].as_array().unwrap();
    let spike = &buckets[28];
    assert_eq!(spike["runs_failed"], 4);
    let anomalies = spike["anomalies"].as_array().unwrap();
    assert_eq!(anomalies.len(), 1, "{spike}");
    assert_eq!(anomalies[0]["metric"], "failure_rate");
    assert_eq!(anomalies[0]["value"], 100.0);
    assert!(anomalies[0]["z_score"].as_f64().unwrap() > 3.0);
    assert!((anomalies[0]["expected"].as_f64().unwrap() - 12.5).abs() < 5.0);
    let flagged = buckets
        .iter()
        .filter(|b| !b["anomalies"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(flagged, 1);

    let csv = app
        .get(&format!("/processes/{pid}/kpis/export?format=csv"))
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("bucket"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows[28].get(3), Some("4"));
    assert!(rows[28].get(9).unwrap().starts_with("failure_rate 100"));
    let xlsx = app
        .get(&format!(
            "/processes/{pid}/kpis/export?format=xlsx&bucket=hour&from={}",
            day(-2).format("%Y-%m-%d")
        ))
        .await;
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert!(
        archive
            .file_names()
            .any(|n| n.is_ok_and(|n| n.starts_with("xl/worksheets/")))
    );
}

#[tokio::test]
async fn forecast_follows_the_weekly_pattern() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("weekly", 1).await);
    let res = app.get(&format!("/processes/{pid}/kpis/forecast")).await;
    let body = assert_error(res, 422, "validation_error").await;
    assert!(body.to_string().contains("at least 14"), "{body}");
    // Eight weeks: Fridays are busy.
    for d in -56..0i64 {
        let date = day(d);
        let n = match date.weekday() {
            Weekday::Fri => 6,
            Weekday::Sat | Weekday::Sun => 1,
            _ => 3,
        };
        for r in 0..n {
            let run = app.create_run(pid, &format!("w{d}r{r}"), None).await;
            backdate(&app, id(&run), date + Span::hours(9 + r), 0).await;
        }
    }
    kpis::rebuild(&app.db, Some(pid), |_, _| {}).await.unwrap();
    let res = app
        .get(&format!(
            "/processes/{pid}/kpis/forecast?metric=runs_started&horizon=14"
        ))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["model"], "mstl_ets");
    assert_eq!(body["history_buckets"], 56);
    let points = body["points"].as_array().unwrap();
    assert_eq!(points.len(), 14);
    let first: DateTime<Utc> = points[0]["bucket"].as_str().unwrap().parse().unwrap();
    assert_eq!(first, Utc.from_utc_datetime(&day(0).naive_utc()));
    let peak = points[..7]
        .iter()
        .max_by(|a, b| {
            a["value"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["value"].as_f64().unwrap())
        })
        .unwrap();
    let peak_day: DateTime<Utc> = peak["bucket"].as_str().unwrap().parse().unwrap();
    assert_eq!(peak_day.weekday(), Weekday::Fri);
    for p in points {
        let (v, lo, hi) = (
            p["value"].as_f64().unwrap(),
            p["lower"].as_f64().unwrap(),
            p["upper"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi && lo >= 0.0);
    }
    for query in ["horizon=0", "horizon=91", "metric=latency", "bucket=week"] {
        let res = app
            .get(&format!("/processes/{pid}/kpis/forecast?{query}"))
            .await;
        assert_error(res, 422, "validation_error").await;
    }
    let res = app
        .get(&format!(
            "/processes/{pid}/kpis/forecast?metric=success_rate&bucket=hour"
        ))
        .await;
    assert_error(res, 422, "validation_error").await;
    assert_error(
        app.get("/processes/424242/kpis/forecast").await,
        404,
        "not_found",
    )
    .await;
}
