//! The in-process scheduler. Per-instance work (usage flush, limiter upkeep) runs everywhere;
//! coordinated jobs run once per tick across all instances sharing a database: an instance
//! runs a tick only if it claims the (job, tick) row first, and on PostgreSQL it also holds an
//! advisory lock for the job while it runs, so a slow run never overlaps the next one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Months, Utc};
use procdash_api::AppState;
use procdash_persistence::audit::chain;
use procdash_persistence::repo::{idempotency, jobs, kpis, neutralization, request_logs};
use procdash_persistence::{Actor, ConnectionTrait, DbBackend, TransactionTrait};

use crate::settings::{Settings, parse_list};

/// The coordinated jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Seal,
    Archive,
    PurgeRequestLog,
    AutoNeutralize,
    KpiRollups,
    StuckEvents,
    PurgeIdempotencyKeys,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Self::Seal => "seal_change_log",
            Self::Archive => "archive_change_log",
            Self::PurgeRequestLog => "purge_request_log",
            Self::AutoNeutralize => "auto_neutralize",
            Self::KpiRollups => "kpi_rollups",
            Self::StuckEvents => "stuck_events",
            Self::PurgeIdempotencyKeys => "purge_idempotency_keys",
        }
    }

    fn lock_key(self) -> i64 {
        0x7064_6173_1000 + self as i64
    }
}

/// How many times this instance has run each coordinated job.
#[derive(Debug, Default)]
pub struct JobCounts {
    runs: [std::sync::atomic::AtomicU64; 7],
}

impl JobCounts {
    pub fn runs(&self, job: Job) -> u64 {
        self.runs[job as usize].load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self, job: Job) {
        self.runs[job as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What a coordinated job needs from the configuration.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub instance: String,
    pub audit_retention_months: u32,
    pub request_log_retention_days: i64,
    pub auto_neutralize_batch: u64,
}

/// Runs one job now (the scheduler's body, also used by the CLI).
pub async fn run_job(state: &AppState, job: Job, settings: &JobSettings) {
    let actor = Actor::system(job.name());
    let result = match job {
        Job::Seal => chain::seal(&state.db)
            .await
            .map(|n| format!("{n} rows sealed")),
        Job::Archive => {
            let cutoff = Utc::now()
                .checked_sub_months(Months::new(settings.audit_retention_months))
                .unwrap_or_else(Utc::now);
            chain::archive(&state.db, cutoff)
                .await
                .map(|n| format!("{n} rows archived"))
        }
        Job::PurgeRequestLog => {
            let cutoff =
                Utc::now() - chrono::Duration::days(settings.request_log_retention_days.max(1));
            request_logs::purge(&state.db, cutoff)
                .await
                .map(|n| format!("{n} rows purged"))
        }
        Job::AutoNeutralize => neutralization::neutralize_due(
            &state.db,
            &actor,
            settings.auto_neutralize_batch,
            false,
            &state.lifecycle.neutralize_keep_fields,
            |_, _| {},
        )
        .await
        .map(|b| {
            format!(
                "{} neutralized, {} failed",
                b.neutralized.len(),
                b.failed.len()
            )
        }),
        Job::KpiRollups => kpis::refresh(&state.db).await.map(|s| {
            format!(
                "{} runs folded in, {} buckets recomputed",
                s.runs_seen, s.buckets_recomputed
            )
        }),
        Job::StuckEvents => stuck_events(state, &actor)
            .await
            .map(|n| format!("{n} run.stuck events queued")),
        Job::PurgeIdempotencyKeys => idempotency::purge_expired(&state.db, Utc::now())
            .await
            .map(|n| format!("{n} expired idempotency keys purged")),
    };
    match result {
        Ok(summary) => tracing::debug!(job = job.name(), %summary, "job done"),
        Err(e) => tracing::warn!(job = job.name(), error = %e, "job failed"),
    }
}

/// Raises run.stuck (once per run and webhook) for running runs past their process's limit.
async fn stuck_events(
    state: &AppState,
    actor: &Actor,
) -> Result<usize, procdash_persistence::PersistenceError> {
    let running = procdash_persistence::repo::webhooks::running_runs_if_watched(&state.db).await?;
    if running.is_empty() {
        return Ok(0);
    }
    let Ok(rules) = state.health.rules(&state.db).await else {
        return Err(procdash_persistence::PersistenceError::Corrupt(
            "cannot compute the stuck limits".to_owned(),
        ));
    };
    let condition = rules.condition(procdash_domain::health::RunHealth::Stuck);
    let stuck: Vec<(i64, i64)> = running
        .into_iter()
        .filter(|(_, process_id, started_at)| {
            let cutoff = condition
                .stuck_before
                .iter()
                .find(|(p, _)| p == process_id)
                .map_or(condition.default_stuck_before, |(_, c)| *c);
            started_at.is_some_and(|s| s < cutoff)
        })
        .map(|(id, process_id, _)| (id, process_id))
        .collect();
    procdash_persistence::repo::webhooks::runs_stuck(&state.db, actor, &stuck).await
}

/// Runs one tick: on PostgreSQL under the job's advisory lock (a slow run never overlaps the
/// next), and only if this instance claims the (job, tick) row first.
async fn run_tick(
    state: &AppState,
    job: Job,
    tick: i64,
    settings: &JobSettings,
    counts: &JobCounts,
) {
    let claim = || async {
        match jobs::claim_tick(&state.db, job.name(), tick, &settings.instance).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(job = job.name(), error = %e, "cannot claim tick");
                false
            }
        }
    };
    if state.db.get_database_backend() == DbBackend::Postgres {
        let Ok(lock) = state.db.begin().await else {
            return;
        };
        let sql = format!("SELECT pg_try_advisory_xact_lock({})", job.lock_key());
        let got = lock
            .query_one_raw(procdash_persistence::Statement::from_string(
                DbBackend::Postgres,
                sql,
            ))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get_by_index::<bool>(0).ok())
            .unwrap_or(false);
        if got && claim().await {
            counts.count(job);
            run_job(state, job, settings).await;
        }
        let _ = lock.commit().await;
    } else if claim().await {
        counts.count(job);
        run_job(state, job, settings).await;
    }
    if tick % 100 == 0 {
        let _ = jobs::forget_old_ticks(&state.db, job.name(), tick - 1000).await;
    }
}

fn spawn_coordinated(
    state: Arc<AppState>,
    job: Job,
    every: Duration,
    settings: JobSettings,
    counts: Arc<JobCounts>,
) {
    tokio::spawn(async move {
        let period = every.as_millis().max(1);
        loop {
            // Sleep to the next tick boundary so every instance agrees on tick numbers.
            let now = u128::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
            let wait = period - now % period;
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1000))).await;
            let tick = i64::try_from((now + wait) / period).unwrap_or(0);
            run_tick(&state, job, tick, &settings, &counts).await;
        }
    });
}

pub fn job_settings(settings: &Settings) -> JobSettings {
    JobSettings {
        instance: settings.instance_id.clone().unwrap_or_else(random_instance),
        audit_retention_months: settings.audit_retention_months,
        request_log_retention_days: settings.request_log_retention_days,
        auto_neutralize_batch: settings.auto_neutralize_batch,
    }
}

fn random_instance() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    format!(
        "instance-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub fn keep_fields(settings: &Settings) -> Vec<String> {
    parse_list(&settings.neutralize_keep_fields).unwrap_or_default()
}

/// Starts every job; the returned counts tell how often this instance ran each one.
pub fn spawn_all(state: Arc<AppState>, settings: &Settings) -> Arc<JobCounts> {
    let counts = Arc::new(JobCounts::default());
    let flush_every = Duration::from_secs(settings.usage_flush_seconds.max(1));
    let local = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        loop {
            tick.tick().await;
            local.keys.flush_usage().await;
            if let Some(limiter) = &local.limiter {
                limiter.shrink();
            }
        }
    });
    let js = job_settings(settings);
    let secs = Duration::from_secs;
    spawn_coordinated(
        state.clone(),
        Job::Seal,
        secs(settings.seal_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    spawn_coordinated(
        state.clone(),
        Job::Archive,
        secs(settings.archive_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    spawn_coordinated(
        state.clone(),
        Job::PurgeRequestLog,
        secs(settings.purge_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    spawn_coordinated(
        state.clone(),
        Job::PurgeIdempotencyKeys,
        secs(settings.purge_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    spawn_coordinated(
        state.clone(),
        Job::KpiRollups,
        secs(settings.kpi_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    spawn_coordinated(
        state.clone(),
        Job::StuckEvents,
        secs(settings.stuck_events_interval_seconds),
        js.clone(),
        counts.clone(),
    );
    if settings.auto_neutralize {
        spawn_coordinated(
            state,
            Job::AutoNeutralize,
            secs(settings.neutralize_interval_seconds),
            js,
            counts.clone(),
        );
    }
    counts
}
