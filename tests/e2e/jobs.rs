use std::collections::HashMap;
use std::time::Duration;

use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{id, spawn_with};

/// The instances that claimed each tick of `job`, from `job_runs`.
pub async fn claims_per_tick(
    db: &sea_orm::DatabaseConnection,
    job: &str,
) -> HashMap<i64, Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "SELECT tick, instance FROM job_runs WHERE job = $1"
                }
                _ => "SELECT tick, instance FROM job_runs WHERE job = ?",
            },
            [job.into()],
        ))
        .await
        .unwrap();
    let mut per_tick: HashMap<i64, Vec<String>> = HashMap::new();
    for r in rows {
        per_tick
            .entry(r.try_get("", "tick").unwrap())
            .or_default()
            .push(r.try_get("", "instance").unwrap());
    }
    per_tick
}

/// Two instances on one database: each coordinated job runs once per tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_run_each_job_once_per_tick() {
    let database = TestDatabase::create().await;
    let settings = |name: &str| Settings {
        database_url: database.url.clone(),
        port: 0,
        workers: 1,
        seal_interval_seconds: 1,
        instance_id: Some(name.to_owned()),
        ..Settings::default()
    };
    let a = procdash_server::start(&settings("instance-a"), true)
        .await
        .unwrap();
    let b = procdash_server::start(&settings("instance-b"), false)
        .await
        .unwrap();
    let (ha, hb) = (a.handle.clone(), b.handle.clone());
    tokio::spawn(a.server);
    tokio::spawn(b.server);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    // Read the counts before the claims: an execution is counted only after its claim is stored.
    let seal = procdash_server::jobs::Job::Seal;
    let executions = a.job_counts.runs(seal) + b.job_counts.runs(seal);
    let per_tick = claims_per_tick(&a.db, "seal_change_log").await;
    assert!(per_tick.len() >= 3, "{per_tick:?}");
    // The instances together ran the job once per claimed tick, not once each.
    let claimed = u64::try_from(per_tick.len()).unwrap();
    assert!(
        executions <= claimed && executions + 1 >= claimed,
        "{executions} runs for {claimed} ticks"
    );
    assert!(
        per_tick.values().all(|v| v.len() == 1),
        "a tick ran twice: {per_tick:?}"
    );
    assert!(
        per_tick
            .values()
            .flatten()
            .all(|i| i == "instance-a" || i == "instance-b")
    );
    ha.stop(false).await;
    hb.stop(false).await;
}

#[tokio::test]
async fn auto_neutralization_runs_when_enabled() {
    let app = spawn_with(|s| {
        s.auto_neutralize = true;
        s.neutralize_interval_seconds = 1;
    })
    .await;
    let pid = id(&app.create_process("p", 0).await);
    let run = app.create_run(pid, "PII-1", Some("Someone")).await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE process_runs SET created_at = '2020-01-15T00:00:00+00:00' WHERE id = {}",
            id(&run)
        ))
        .await
        .unwrap();
    app.client
        .put(app.api(&format!("/processes/{pid}/retention")))
        .json(&json!({"retention_months": 1}))
        .send()
        .await
        .unwrap();
    let mut neutralized = false;
    for _ in 0..40 {
        let r: Value = app.run(id(&run)).await;
        if r["is_neutralized"] == true {
            neutralized = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(neutralized, "the job did not neutralize the due run");
}
