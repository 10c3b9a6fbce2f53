//! `procdash-bench seed`: processes and steps through the repositories, then runs, step runs and
//! their change-log rows in bulk, then what the service derives from them.
//!
//! Seed a database no server is using: the seeded change rows are sealed as they are generated,
//! so a sealer sealing other rows at the same time would take the same chain positions.

pub mod derive;
pub mod plan;
pub mod rows;
pub mod write;

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use procdash_domain::NewProcess;
use procdash_domain::model::StepInput;
use procdash_persistence::audit::chain;
use procdash_persistence::repo::processes;
use procdash_persistence::{Actor, DatabaseConnection, DbBackend, DbConfig, Statement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use serde_json::json;
use tokio::sync::mpsc;

use crate::Error;
use rows::{Batch, Generator, ProcessShape, Start};

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub database_url: String,
    pub runs: u64,
    pub processes: u32,
    pub steps: u32,
    pub days: u32,
    /// Runs per write transaction.
    pub batch: u64,
    /// Concurrent writer transactions (SQLite always uses one: it has one write lock).
    pub writers: usize,
    pub progress: bool,
}

/// How long each phase took.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub runs: u64,
    pub insert: Duration,
    pub kpis: Duration,
    pub analyze: Duration,
}

pub async fn seed(options: &SeedOptions) -> Result<SeedReport, Error> {
    let mut config = DbConfig::new(options.database_url.clone());
    config.max_connections = u32::try_from(options.writers).unwrap_or(4).clamp(1, 16) + 1;
    let db = procdash_persistence::connect(&config).await?;
    procdash_persistence::migrate(&db).await?;
    let shapes = create_processes(&db, options).await?;
    // The processes' own change rows go onto the chain first; the seeded rows continue it.
    chain::seal(&db).await?;
    let start = continue_from(&db).await?;
    let runs = i64::try_from(options.runs).unwrap_or(i64::MAX);
    derive::reserve_ids(
        &db,
        &[
            ("process_runs", start.run_id.saturating_add(runs)),
            (
                "step_runs",
                start
                    .step_run_id
                    .saturating_add(runs.saturating_mul(i64::from(options.steps))),
            ),
            ("change_log", start.change_id.saturating_add(runs)),
        ],
    )
    .await?;
    let began = Instant::now();
    let generator = Generator::new(shapes, start, options.runs, options.days, 0x5EED);
    let runs = load(&db, generator, options).await?;
    derive::advance_sequences(&db).await?;
    let insert = began.elapsed();
    // Statistics before the fold: it pages through the runs by id, and on a table never
    // analyzed the planner answers each page with a scan of every live run plus a sort, so
    // the fold grows with the square of the runs (measured: 5 minutes for under 1,000 pages).
    let began = Instant::now();
    derive::analyze(&db).await?;
    let mut analyze = began.elapsed();
    let began = Instant::now();
    derive::kpi_rollups(&db).await?;
    let kpis = began.elapsed();
    let began = Instant::now();
    derive::analyze(&db).await?;
    analyze += began.elapsed();
    db.close().await?;
    Ok(SeedReport {
        runs,
        insert,
        kpis,
        analyze,
    })
}

async fn create_processes(
    db: &DatabaseConnection,
    options: &SeedOptions,
) -> Result<Vec<ProcessShape>, Error> {
    let actor = Actor::system("bench");
    let mut shapes = Vec::new();
    for p in 0..options.processes.max(1) {
        let steps = (0..options.steps)
            .map(|s| StepInput {
                index: i64::from(s),
                name: format!("step {s}"),
                is_rerunnable: s % 2 == 1,
                rerun_config: None,
            })
            .collect();
        let name = format!(
            "bench process {p} {}",
            procdash_persistence::clock::now().timestamp()
        );
        let new = NewProcess::new(&name, Some(json!({"team": "bench"})), Some(24), steps)?;
        let created = processes::create(db, &actor, new).await?;
        shapes.push(ProcessShape {
            id: created.id,
            retention_months: created.retention_months,
            steps: created.steps.iter().map(|s| (s.id, s.index)).collect(),
        });
    }
    Ok(shapes)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<Option<QueryResult>, DbErr> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
}

async fn max_id(db: &DatabaseConnection, table: &str) -> Result<i64, Error> {
    let row = scalar(
        db,
        &format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"),
    )
    .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "m"))
        .transpose()?
        .unwrap_or(0))
}

/// The next free ids and the chain head (over the live table and the archive).
async fn continue_from(db: &DatabaseConnection) -> Result<Start, Error> {
    let mut head = (0i64, chain::GENESIS.to_owned());
    for table in ["change_log", "change_log_archive"] {
        let sql = format!(
            "SELECT chain_seq, chain_hash FROM {table} WHERE chain_seq IS NOT NULL \
             ORDER BY chain_seq DESC LIMIT 1"
        );
        if let Some(row) = scalar(db, &sql).await? {
            let seq: i64 = row.try_get("", "chain_seq")?;
            let hash: Option<String> = row.try_get("", "chain_hash")?;
            if seq > head.0 {
                head = (seq, hash.unwrap_or_default());
            }
        }
    }
    Ok(Start {
        run_id: max_id(db, "process_runs").await? + 1,
        step_run_id: max_id(db, "step_runs").await? + 1,
        change_id: max_id(db, "change_log")
            .await?
            .max(max_id(db, "change_log_archive").await?)
            + 1,
        chain_seq: head.0,
        chain_hash: head.1,
    })
}

/// One thread generates batches in id order (the chain must be computed in order); writer
/// tasks insert them concurrently.
async fn load(
    db: &DatabaseConnection,
    mut generator: Generator,
    options: &SeedOptions,
) -> Result<u64, Error> {
    let writers = match db.get_database_backend() {
        DbBackend::Postgres => options.writers.max(1),
        _ => 1,
    };
    let bar = progress_bar(options);
    let (tx, rx) = mpsc::channel::<Batch>(writers * 2);
    let size = options.batch.max(1);
    let producer = tokio::task::spawn_blocking(move || {
        while generator.remaining() > 0 {
            if tx.blocking_send(generator.batch(size)).is_err() {
                break;
            }
        }
    });
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let (db, rx, bar) = (db.clone(), rx.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let mut written = 0u64;
            loop {
                let next = rx.lock().await.recv().await;
                let Some(batch) = next else { break };
                let n = write::write(&db, batch).await?;
                written += n;
                bar.inc(n);
            }
            Ok::<u64, DbErr>(written)
        }));
    }
    // Only the writers hold the receiver now: if they all fail, the producer sees a closed
    // channel and stops instead of waiting forever.
    drop(rx);
    let mut written = 0;
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => written += n,
            Ok(Err(e)) => failure = Some(Error::from(e)),
            Err(e) => failure = Some(Error::from(e)),
        }
    }
    producer.await?;
    bar.finish_and_clear();
    match failure {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

fn progress_bar(options: &SeedOptions) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(options.runs);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
