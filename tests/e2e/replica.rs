//! A streaming read replica (DATABASE_READ_URL): replica-safe reads go to it while it is up and
//! within READ_MAX_LAG_SECONDS, and back to the primary when it lags or is down.
//!
//! Needs TEST_POSTGRES_URL and TEST_POSTGRES_REPLICA_URL (a streaming replica of that server;
//! `.ci/replica` makes one on port 5433). On SQLite only the configuration check applies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::helpers::{TestApp, id, spawn_with};

/// A TCP forwarder to the replica that the test can cut, as if the replica went down.
struct Cuttable {
    addr: std::net::SocketAddr,
    cut: Arc<Notify>,
}

impl Cuttable {
    async fn to(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(Notify::new());
        let stop = cut.clone();
        tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    () = stop.notified() => {
                        conns.abort_all();
                        return;
                    }
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let target = target.clone();
                        conns.spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                }
            }
        });
        Self { addr, cut }
    }

    fn cut(&self) {
        self.cut.notify_one();
    }
}

/// Resumes WAL replay on the replica even when the test fails half-way.
struct ReplayPaused(String);

impl Drop for ReplayPaused {
    fn drop(&mut self) {
        let url = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let db = Database::connect(url.as_str()).await.ok()?;
                db.execute_unprepared("SELECT pg_wal_replay_resume()")
                    .await
                    .ok()
            })
        })
        .join();
    }
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

fn with_host_port(url: &str, host_port: &str) -> String {
    let old = self::host_port(url);
    url.replacen(&old, host_port, 1)
}

async fn replica_health(app: &TestApp) -> Value {
    let health: Value = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["read_replica"].clone()
}

async fn wait_for(app: &TestApp, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let r = replica_health(app).await;
        if want(&r) {
            return r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waited for {what}; replica: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn listed_ids(app: &TestApp, process_id: i64) -> Vec<i64> {
    let page: Value = app
        .get(&format!("/runs/?process_id={process_id}&size=100"))
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().iter().map(id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_follow_the_replica_and_fall_back_to_the_primary() {
    let Some(replica_server) = std::env::var("TEST_POSTGRES_REPLICA_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return configuration_check_on_sqlite().await;
    };
    let proxy = Cuttable::to(host_port(&replica_server)).await;
    let proxy_addr = proxy.addr.to_string();
    let app = spawn_with(|s| {
        s.database_read_url = Some(with_host_port(&s.database_url, &proxy_addr));
        s.read_max_lag_seconds = 3.0;
    })
    .await;
    let direct_replica: DatabaseConnection = Database::connect(replica_server.as_str())
        .await
        .expect("TEST_POSTGRES_REPLICA_URL is set but the replica does not answer");
    wait_for(&app, "the replica to serve reads", |r| {
        r["serving_reads"] == true
    })
    .await;

    let p = app.create_process("p", 1).await;
    let first = app.create_run(id(&p), "E1", None).await;
    // Visible through the replica once replayed.
    let started = Instant::now();
    while !listed_ids(&app, id(&p)).await.contains(&id(&first)) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never replayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Replay paused: a write through the primary is not in the replica's lists yet, while a
    // read that follows a write (the run itself) comes from the primary.
    direct_replica
        .execute_unprepared("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    let paused = ReplayPaused(replica_server.clone());
    let second = app.create_run(id(&p), "E2", None).await;
    assert_eq!(app.run(id(&second)).await["id"], id(&second));
    assert_eq!(
        listed_ids(&app, id(&p)).await,
        [id(&first)],
        "read from the replica"
    );

    // Lagging more than READ_MAX_LAG_SECONDS sends reads back to the primary.
    let lagging = wait_for(&app, "the lag to exceed the maximum", |r| {
        r["serving_reads"] == false
    })
    .await;
    assert_eq!(lagging["database"], "connected");
    assert!(lagging["lag_seconds"].as_f64().unwrap() > 3.0, "{lagging}");
    let mut both = listed_ids(&app, id(&p)).await;
    both.sort_unstable();
    assert_eq!(both, [id(&first), id(&second)], "read from the primary");

    drop(paused);
    let caught_up = wait_for(&app, "the replica to catch up", |r| {
        r["serving_reads"] == true
    })
    .await;
    assert!(caught_up["lag_seconds"].as_f64().unwrap() <= 3.0);

    // The replica goes away: reads (and the service) carry on on the primary.
    proxy.cut();
    let down = wait_for(&app, "the replica to be seen down", |r| {
        r["database"] == "disconnected"
    })
    .await;
    assert_eq!(down["serving_reads"], false);
    let third = app.create_run(id(&p), "E3", None).await;
    assert!(listed_ids(&app, id(&p)).await.contains(&id(&third)));
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(
        health.status(),
        200,
        "a replica down is not an unhealthy service"
    );
}

/// A replica needs a PostgreSQL primary: on SQLite, DATABASE_READ_URL is a configuration error.
async fn configuration_check_on_sqlite() {
    let database = procdash_persistence::testing::TestDatabase::create().await;
    if database.is_postgres() {
        panic!("TEST_POSTGRES_URL is set: set TEST_POSTGRES_REPLICA_URL too (see .ci/replica)");
    }
    let mut settings = procdash_server::Settings {
        database_url: database.url.clone(),
        ..procdash_server::Settings::default()
    };
    settings.database_read_url = Some("postgres://postgres@127.0.0.1:5433/x".to_owned());
    let err = settings
        .validate()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("DATABASE_READ_URL"), "{err}");
}
