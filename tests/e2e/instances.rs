//! Several instances on one database behave as one service.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{create_key, id, spawn_app, spawn_peer};

/// A key revoked through one instance is refused by another that had it cached, within a second:
/// a PostgreSQL notice evicts it there (SQLite instances poll the keys' latest change instead).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_revoked_on_one_instance_is_refused_on_the_others_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_peer(&a, |_| {}).await;
    let c = spawn_peer(&a, |_| {}).await;
    let user_key = create_key(&a.db, "user", None).await;
    let key_id = {
        let listed: Value = a.get("/api-keys/").await.json().await.unwrap();
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["role"] == "user")
            .map(id)
            .unwrap()
    };
    let probe = |app_base: String| {
        let key = user_key.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{app_base}/api/v1/processes/"))
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Both peers have the key cached now (the cache lives 30 s).
    assert_eq!(probe(b.base.clone()).await, 200);
    assert_eq!(probe(c.base.clone()).await, 200);
    // Let the listeners settle before the notice is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let revoked = a
        .client
        .delete(a.api(&format!("/api-keys/{key_id}")))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let started = Instant::now();
    for peer in [&b, &c] {
        loop {
            let status = probe(peer.base.clone()).await;
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(
                started.elapsed() < Duration::from_millis(1500),
                "still accepted {:?} after the revocation",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    eprintln!("refused everywhere after {:?}", started.elapsed());
}

/// Concurrent reports for the same runs through three instances, round-robin, never leave a
/// stale run status: the run row lock (PostgreSQL) or the write lock (SQLite) spans instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_round_robin_never_leave_a_stale_run_status() {
    let a = spawn_app().await;
    let b = spawn_peer(&a, |_| {}).await;
    let c = spawn_peer(&a, |_| {}).await;
    let p = a.create_process("p", 4).await;
    let mut runs = Vec::new();
    for i in 0..3 {
        runs.push(a.create_run(id(&p), &format!("E{i}"), None).await);
    }
    let step_runs: Vec<i64> = runs.iter().flat_map(crate::helpers::step_run_ids).collect();
    let statuses = [
        "pending",
        "running",
        "success",
        "failed",
        "cancelled",
        "optional",
    ];
    let apps = [&a, &b, &c];
    let mut handles = Vec::new();
    for i in 0..150_usize {
        let app = apps[i % 3];
        let sr = step_runs[(i * 7) % step_runs.len()];
        let status = statuses[(i * 5) % statuses.len()];
        let client = app.client.clone();
        let url = app.api(&format!("/step-runs/{sr}"));
        handles.push(tokio::spawn(async move {
            client
                .patch(url)
                .json(&json!({"status": status}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), 200);
    }
    for run in &runs {
        let stored = c.run(id(run)).await;
        let finals: Vec<procdash_domain::StepStatus> = stored["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::from_value(s["status"].clone()).unwrap())
            .collect();
        assert_eq!(
            stored["status"],
            procdash_domain::derive_run_status(&finals).as_str()
        );
    }
}
