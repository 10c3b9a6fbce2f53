//! The command line.

use clap::{Parser, Subcommand};

use crate::direct::DirectOptions;
use crate::http::RunOptions;
use crate::http::scenario::ScenarioList;
use crate::seed::SeedOptions;
use crate::{Error, direct, http, rss, seed, table};

/// procdash-bench: seed a database at scale, then measure the API and the repositories.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and fill it with processes, runs, step runs and change-log rows.
    Seed {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long)]
        runs: u64,
        #[arg(long, default_value_t = 20)]
        processes: u32,
        #[arg(long, default_value_t = 5)]
        steps: u32,
        /// Spread the runs' creation times over this many days, ending an hour ago.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Runs per write transaction.
        #[arg(long, default_value_t = 1000)]
        batch: u64,
        /// Concurrent writer transactions on PostgreSQL (SQLite uses one).
        #[arg(long, default_value_t = 3)]
        writers: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Load the HTTP API scenario by scenario and print requests/s and p50/p95/p99.
    Run {
        /// Base URL of the server, e.g. http://127.0.0.1:8000.
        #[arg(long)]
        url: String,
        /// API key (admin: the write scenarios need a key that may write).
        #[arg(long, env = "PROCDASH_BENCH_KEY")]
        key: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Measuring window per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Warm-up per scenario, not measured.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// The server's process id: its peak RSS (VmHWM) is printed at the end.
        #[arg(long)]
        pid: Option<u32>,
        /// Comma-separated scenario names, or all, reads, writes.
        #[arg(long, default_value = "all", value_parser = ScenarioList::parse)]
        scenarios: ScenarioList,
        /// The page the deep-cursor scenario reads (the walk to it runs once, up front).
        #[arg(long, default_value_t = 10_000)]
        deep_page: u64,
        /// Exit with an error when a scenario got a non-2xx answer or none at all (CI).
        #[arg(long)]
        strict: bool,
    },
    /// The create-run and patch-step-run transactions through the repositories, without HTTP.
    Direct {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        warmup: u64,
    },
}

/// Every scenario answered, and only with 2xx.
pub fn check(rows: &[table::Row]) -> Result<(), Error> {
    let bad: Vec<&str> = rows
        .iter()
        .filter(|r| r.sample.failed() > 0 || r.sample.latencies_us.is_empty())
        .map(|r| r.scenario.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("scenarios with non-2xx answers or none: {}", bad.join(", ")).into())
    }
}

/// Runs a parsed command; what it prints is the report.
#[expect(clippy::print_stdout, reason = "the report is the tool's output")]
pub async fn execute(command: Command) -> Result<(), Error> {
    match command {
        Command::Seed {
            database_url,
            runs,
            processes,
            steps,
            days,
            batch,
            writers,
            quiet,
        } => {
            let report = seed::seed(&SeedOptions {
                database_url,
                runs,
                processes,
                steps,
                days,
                batch,
                writers,
                progress: !quiet,
            })
            .await?;
            println!(
                "seeded {} runs x {steps} steps: insert {:.1} s, KPI rollups {:.1} s, analyze {:.1} s",
                report.runs,
                report.insert.as_secs_f64(),
                report.kpis.as_secs_f64(),
                report.analyze.as_secs_f64()
            );
        }
        Command::Run {
            url,
            key,
            clients,
            seconds,
            warmup,
            pid,
            scenarios,
            deep_page,
            strict,
        } => {
            let rows = http::run(&RunOptions {
                url,
                key,
                clients,
                seconds,
                warmup,
                scenarios: scenarios.0,
                deep_page,
            })
            .await?;
            print!("{}", table::render(&rows));
            if let Some(pid) = pid {
                match rss::peak_of(pid) {
                    Some(kb) => println!(
                        "\nserver peak RSS (VmHWM of {pid}): {:.1} MB",
                        kb as f64 / 1024.0
                    ),
                    None => println!("\nserver peak RSS: /proc/{pid}/status is not readable"),
                }
            }
            if strict {
                check(&rows)?;
            }
        }
        Command::Direct {
            database_url,
            clients,
            seconds,
            warmup,
        } => {
            let rows = direct::run(&DirectOptions {
                database_url,
                clients,
                seconds,
                warmup,
            })
            .await?;
            print!("{}", table::render(&rows));
        }
    }
    Ok(())
}
