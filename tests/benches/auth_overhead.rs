//! Throughput of an authenticated `GET /runs/{id}` through the full app versus the same handler
//! in an app assembled here without the auth, rate-limit and request-log layers (a principal is
//! injected instead). Run: `cargo bench -p procdash-tests --bench auth_overhead`.

use std::time::{Duration, Instant};

use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer};
use procdash_api::auth::{AuthOutcome, Principal};
use procdash_domain::api_key::{NewApiKey, Role};
use procdash_persistence::Actor;
use procdash_persistence::repo::api_keys;
use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use serde_json::json;

const CLIENTS: usize = 32;
const SECONDS: u64 = 8;

async fn load(url: String, key: &str) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, key) = (client.clone(), url.clone(), key.to_owned());
            tokio::spawn(async move {
                let mut ok = 0u64;
                while Instant::now() < deadline {
                    if let Ok(res) = client.get(&url).header("x-api-key", &key).send().await
                        && res.status().is_success()
                        && res.bytes().await.is_ok()
                    {
                        ok += 1;
                    }
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

async fn inject(
    req: actix_web::dev::ServiceRequest,
    next: Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let principal = Principal {
        key_id: 1,
        name: "bench".into(),
        role: Role::Admin,
        via_token: false,
    };
    req.extensions_mut().insert(AuthOutcome(Ok(principal)));
    next.call(req).await
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#[tokio::main]
async fn main() {
    let database = TestDatabase::create().await;
    let mut settings = Settings {
        database_url: database.url.clone(),
        port: 0,
        log_level: "warn".into(),
        // The limiter runs on every request but must not refuse: we measure its cost.
        rate_limit_requests: 100_000_000,
        rate_limit_admin_requests: 100_000_000,
        ..Settings::default()
    };
    // Knobs to attribute the cost while investigating; the reported run uses neither.
    if let Ok(buffer) = std::env::var("BENCH_LOG_BUFFER") {
        settings.request_log_buffer = buffer.parse().unwrap_or(settings.request_log_buffer);
    }
    if std::env::var("BENCH_NO_RATE_LIMIT").is_ok() {
        settings.rate_limit_enabled = false;
    }
    let running = procdash_server::start(&settings, true)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let state = running.state.clone();
    let base = format!("http://{}", running.addr);
    tokio::spawn(running.server);
    let new = NewApiKey::new("bench", None, "admin", None).unwrap_or_else(|e| panic!("{e}"));
    let (_, key) = api_keys::create(&state.db, &Actor::system("bench"), new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    let process: serde_json::Value = client.post(format!("{base}/api/v1/processes/")).header("x-api-key", &key)
        .json(&json!({"name": "bench", "steps": [{"index": 0, "name": "a"}, {"index": 1, "name": "b"}]}))
        .send().await.and_then(|r| r.error_for_status()).unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_default();
    let run: serde_json::Value = client
        .post(format!("{base}/api/v1/runs/"))
        .header("x-api-key", &key)
        .json(&json!({"process_id": process["id"], "entity_id": "E-1"}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    let path = format!("/api/v1/runs/{}", run["id"]);

    let bare_state = state.clone();
    let bare = HttpServer::new(move || {
        // The real app's router and every layer except auth, rate limiting and the request
        // log; a principal is injected so the handlers' role checks pass.
        App::new()
            .app_data(bare_state.clone())
            .app_data(procdash_api::extractors::path_config())
            .wrap(from_fn(inject))
            .wrap(procdash_api::security_headers::cors(&[]))
            .wrap(procdash_api::security_headers::default_headers(false))
            .wrap(from_fn(procdash_api::access_log::middleware))
            .wrap(from_fn(procdash_api::request_id::middleware))
            .wrap(from_fn(procdash_api::routes::trim_trailing_slash))
            .configure(|cfg| {
                procdash_api::routes::register(cfg, "/api/v1", procdash_api::routes::api_routes())
            })
    })
    .bind("127.0.0.1:0")
    .unwrap_or_else(|e| panic!("{e}"));
    let bare_addr = bare.addrs()[0];
    tokio::spawn(bare.run());

    let bare_url = format!("http://{bare_addr}{path}");
    let full_url = format!("{base}{path}");
    if let Ok(seconds) = std::env::var("BENCH_SERVE_SECONDS") {
        // For an external load generator (wrk): print the targets and keep serving.
        println!("key={key}");
        println!("bare={bare_url}");
        println!("full={full_url}");
        let seconds = seconds.parse().unwrap_or(60);
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        return;
    }
    let bare_rps = load(bare_url, &key).await;
    let full_rps = load(full_url, &key).await;
    let cost = (1.0 - full_rps / bare_rps) * 100.0;
    println!("clients={CLIENTS} seconds={SECONDS}");
    println!("bare handler:           {bare_rps:>9.0} req/s");
    println!("full app (auth+rl+log): {full_rps:>9.0} req/s");
    println!("governance cost:        {cost:>8.1} %");
}
