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

/// Three instances behind a round-robin balancer: each coordinated job tick runs on exactly one
/// of them, and each webhook event and each rerun dispatch is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_claim_each_job_once_and_deliver_each_event_and_rerun_once() {
    let adjust = |name: &'static str| {
        move |s: &mut procdash_server::Settings| {
            crate::reruns::outbound(s);
            s.seal_interval_seconds = 1;
            s.instance_id = Some(name.to_owned());
        }
    };
    let first = crate::helpers::spawn_with(adjust("instance-0")).await;
    let second = spawn_peer(&first, adjust("instance-1")).await;
    let third = spawn_peer(&first, adjust("instance-2")).await;
    let apps = [&first, &second, &third];
    let hooks = crate::receiver::Receiver::start(vec![]).await;
    let reruns = crate::receiver::Receiver::start(vec![]).await;
    let res = second
        .post(
            "/webhooks/",
            &json!({"url": hooks.url("/hook"), "events": ["step_run.failed"]}),
        )
        .await;
    assert_eq!(res.status(), 201);

    // Six failures and their reruns, each through the next instance.
    let mut attempts = Vec::new();
    for i in 0..6 {
        let app = apps[i % 3];
        let config = json!({"api_endpoint": reruns.url("/rerun")});
        let (_, _, failed) = crate::reruns::failed_run(app, config, true).await;
        let res = crate::reruns::rerun(apps[(i + 1) % 3], failed, json!({})).await;
        assert_eq!(res.status(), 201);
        attempts.push(id(&res.json::<Value>().await.unwrap()));
    }
    for a in &attempts {
        let d = crate::dispatch::settled(apps[0], *a, Duration::from_secs(20)).await;
        assert_eq!(d["state"], "delivered", "{d}");
    }
    hooks.wait_for(6, Duration::from_secs(20)).await;
    // Anything sent twice would arrive within the dispatchers' 20 ms polls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (what, target) in [("webhook events", &hooks), ("rerun dispatches", &reruns)] {
        let mut ids: Vec<String> = target
            .received()
            .iter()
            .map(|r| r.header("procdash-delivery").unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids.len(), 6, "{what}: {ids:?}");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 6, "{what} each sent once");
    }

    // The sealing job: one claim per tick, and the three instances ran it once per claim.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let seal = procdash_server::jobs::Job::Seal;
    let executions: u64 = apps.iter().map(|a| a.job_counts.runs(seal)).sum();
    let per_tick = crate::jobs::claims_per_tick(&first.db, "seal_change_log").await;
    assert!(per_tick.len() >= 3, "{per_tick:?}");
    assert!(per_tick.values().all(|v| v.len() == 1), "{per_tick:?}");
    let claimed = u64::try_from(per_tick.len()).unwrap();
    // Counts were read before the claims: a claim stored in between is the one tick of slack.
    assert!(
        executions <= claimed && executions + 1 >= claimed,
        "{executions} executions for {claimed} claimed ticks"
    );
}
