use procdash_domain::{StepStatus, derive_run_status};
use serde_json::json;

use crate::helpers::{id, spawn_app, step_run_ids};

/// Fires 240 concurrent PATCHes at the step runs of four runs, then checks that every run's
/// stored status is the rule applied to its final step statuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_step_updates_never_leave_a_stale_run_status() {
    let app = spawn_app().await;
    let p = app.create_process("p", 6).await;
    let mut runs = Vec::new();
    for i in 0..4 {
        runs.push(app.create_run(id(&p), &format!("E{i}"), None).await);
    }
    let step_runs: Vec<i64> = runs.iter().flat_map(step_run_ids).collect();
    let statuses = StepStatus::ALL;
    let mut seed: u64 = 0x5eed;
    let requests: Vec<(i64, StepStatus)> = (0..240)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let sr = step_runs[(seed >> 33) as usize % step_runs.len()];
            let st = statuses[(seed >> 17) as usize % statuses.len()];
            (sr, st)
        })
        .collect();
    let client = app.client.clone();
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(sr, st)| {
            let client = client.clone();
            let url = app.api(&format!("/step-runs/{sr}"));
            tokio::spawn(async move {
                client
                    .patch(url)
                    .json(&json!({"status": st.as_str()}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), 200);
    }
    for run in &runs {
        let stored = app.run(id(run)).await;
        let finals: Vec<StepStatus> = stored["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::from_value(s["status"].clone()).unwrap())
            .collect();
        let expected = derive_run_status(&finals);
        assert_eq!(
            stored["status"],
            expected.as_str(),
            "run {} with {finals:?}",
            id(run)
        );
    }
}

/// With SQLite's busy timeout at zero, any writer that met another at the write lock would fail
/// at once with "database is locked". The in-process write gate queues the server's writers
/// (requests, the request-log writer, the usage flusher and the jobs) so that none ever does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_writers_never_meet_at_the_sqlite_lock() {
    let app = crate::helpers::spawn_with(|s| {
        s.sqlite_busy_timeout_ms = 0;
        s.request_log_buffer = 1;
        s.usage_flush_seconds = 1;
        s.seal_interval_seconds = 1;
        s.kpi_interval_seconds = 1;
    })
    .await;
    let p = app.create_process("p", 3).await;
    let process_id = id(&p);
    let handles: Vec<_> = (0..160)
        .map(|i| {
            let client = app.client.clone();
            let runs = app.api("/runs/");
            let base = app.api("/step-runs/");
            tokio::spawn(async move {
                let created = client
                    .post(runs)
                    .json(&json!({"process_id": process_id, "entity_id": format!("E{i}")}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if created.status() != 201 {
                    return Err(format!("create: {}", created.status()));
                }
                let run: serde_json::Value = created.json().await.map_err(|e| e.to_string())?;
                for sr in step_run_ids(&run) {
                    let patched = client
                        .patch(format!("{base}{sr}"))
                        .json(&json!({"status": "success"}))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if patched.status() != 200 {
                        return Err(format!("patch: {}", patched.status()));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        if let Err(e) = h.await.unwrap() {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} writes failed: {failures:?}",
        failures.len()
    );
    let listed = app.get("/runs/?status=completed&size=1").await;
    let body: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(body["total"], 160);
}
