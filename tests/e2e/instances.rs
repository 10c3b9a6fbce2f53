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

/// Redis for the shared-limit tests: TEST_REDIS_URL (CI sets it; the machine runs Redis).
fn test_redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Sends `n` requests with `key`, alternating between the instances; returns the statuses.
async fn alternate(apps: &[&crate::helpers::TestApp], key: &str, n: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..n {
        let app = apps[i % apps.len()];
        let res = client
            .get(app.api("/processes/"))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

/// With RATE_LIMIT_STORE=redis the allowance holds for the sum of the instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_rate_limit_holds_for_the_sum_of_two_instances() {
    let Some(redis_url) = test_redis_url() else {
        eprintln!("TEST_REDIS_URL is not set; the shared-limit test needs a Redis");
        return;
    };
    let prefix = format!("procdash-test-{}", uuid::Uuid::new_v4());
    let limited = |s: &mut procdash_server::Settings| {
        s.rate_limit_enabled = true;
        s.rate_limit_requests = 6;
        s.rate_limit_period = 60;
        s.rate_limit_store = procdash_server::settings::RateLimitStoreKind::Redis;
        s.redis_url = redis_url.clone();
        s.rate_limit_redis_prefix = prefix.clone();
    };
    let a = crate::helpers::spawn_with(limited).await;
    let b = spawn_peer(&a, limited).await;
    let user_key = create_key(&a.db, "user", None).await;
    let statuses = alternate(&[&a, &b], &user_key, 10).await;
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 429, 429, 429, 429],
        "6 per minute across both instances"
    );
}

/// Redis being down never refuses all traffic: each instance limits on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_down_each_instance_limits_on_its_own() {
    let limited = |s: &mut procdash_server::Settings| {
        s.rate_limit_enabled = true;
        s.rate_limit_requests = 3;
        s.rate_limit_period = 60;
        s.rate_limit_store = procdash_server::settings::RateLimitStoreKind::Redis;
        // Nothing listens on port 1.
        s.redis_url = "redis://127.0.0.1:1".to_owned();
    };
    let a = crate::helpers::spawn_with(limited).await;
    let b = spawn_peer(&a, limited).await;
    let user_key = create_key(&a.db, "user", None).await;
    let statuses = alternate(&[&a, &b], &user_key, 8).await;
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 429, 429],
        "3 per minute on each instance"
    );
}
