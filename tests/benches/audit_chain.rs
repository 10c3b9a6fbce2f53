//! Cost of the change-log hash chain on concurrent step-run updates: PATCH throughput with the
//! sealer running every second versus the sealer idle, then how long sealing and verifying the
//! produced rows take. Run: `cargo bench -p procdash-tests --bench audit_chain`.

use std::time::{Duration, Instant};

use procdash_persistence::audit::chain;
use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use serde_json::{Value, json};

const CLIENTS: usize = 32;
const SECONDS: u64 = 8;
const STATUSES: [&str; 4] = ["running", "success", "failed", "pending"];

async fn patch_load(base: &str, key: &str, step_runs: &[i64]) -> f64 {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, base, key, ids) = (
                client.clone(),
                base.to_owned(),
                key.to_owned(),
                step_runs.to_vec(),
            );
            tokio::spawn(async move {
                let mut ok = 0u64;
                let mut i = c;
                while Instant::now() < deadline {
                    let id = ids[i % ids.len()];
                    let status = STATUSES[(i / ids.len() + c) % STATUSES.len()];
                    let res = client
                        .patch(format!("{base}/api/v1/step-runs/{id}"))
                        .header("x-api-key", &key)
                        .json(&json!({"status": status}))
                        .send()
                        .await;
                    if res.is_ok_and(|r| r.status().is_success()) {
                        ok += 1;
                    }
                    i += 7;
                }
                ok
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / SECONDS as f64
}

async fn scenario(seal_every: u64) -> (f64, u64, Duration, Duration) {
    let database = TestDatabase::create().await;
    let settings = Settings {
        database_url: database.url.clone(),
        port: 0,
        log_level: "warn".into(),
        rate_limit_enabled: false,
        seal_interval_seconds: seal_every,
        ..Settings::default()
    };
    let running = procdash_server::start(&settings, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://{}", running.addr);
    let db = running.db.clone();
    tokio::spawn(running.server);
    let new = procdash_domain::api_key::NewApiKey::new("bench", None, "admin", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, key) = procdash_persistence::repo::api_keys::create(
        &db,
        &procdash_persistence::Actor::system("bench"),
        new,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    let steps: Vec<Value> = (0..6)
        .map(|i| json!({"index": i, "name": format!("s{i}")}))
        .collect();
    let process: Value = client
        .post(format!("{base}/api/v1/processes/"))
        .header("x-api-key", &key)
        .json(&json!({"name": "bench", "steps": steps}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let mut step_runs = Vec::new();
    for r in 0..20 {
        let run: Value = client
            .post(format!("{base}/api/v1/runs/"))
            .header("x-api-key", &key)
            .json(&json!({"process_id": process["id"], "entity_id": format!("E{r}")}))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        step_runs.extend(
            run["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["id"].as_i64()),
        );
    }
    let rps = patch_load(&base, &key, &step_runs).await;
    let started = Instant::now();
    let sealed = chain::seal(&db).await.unwrap_or(0);
    let seal_time = started.elapsed();
    let started = Instant::now();
    let verified = chain::verify(&db).await.map(|v| v.checked).unwrap_or(0);
    let verify_time = started.elapsed();
    let _ = sealed;
    (rps, verified, seal_time, verify_time)
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#[tokio::main]
async fn main() {
    // One scenario per process, so neither inherits the other's warm-up or background work.
    let seal_every: u64 = std::env::var("BENCH_SEAL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (rps, verified, seal_time, verify_time) = scenario(seal_every).await;
    println!("clients={CLIENTS} seconds={SECONDS} step runs=120 seal every {seal_every} s");
    println!("PATCH throughput:  {rps:>8.0} req/s");
    println!("sealing what was left after the load: {seal_time:?}");
    println!("verify of {verified} rows: {verify_time:?}");
}
