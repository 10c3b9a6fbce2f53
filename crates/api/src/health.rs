//! The late/stuck rule at request time. A process's stuck limit needs the p95 completion time of
//! its completed runs, an aggregate over all of them; the limits are computed for every live
//! process in two grouped queries and kept for HEALTH_CACHE_SECONDS (default 30), so run bodies
//! and the `health` filter cost nothing per run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use procdash_domain::ProcessRun;
use procdash_domain::health::{HealthSettings, RunHealth, expected_duration, health, stuck_after};
use procdash_domain::run_query::HealthCondition;
use procdash_persistence::DatabaseConnection;
use procdash_persistence::repo::{dashboards, processes};

use crate::error::ApiResult;

pub struct HealthService {
    pub settings: HealthSettings,
    cache_for: Duration,
    /// Stuck limit in seconds per live process, and when it was computed.
    limits: Mutex<Option<(Instant, HashMap<i64, f64>)>>,
}

impl Default for HealthService {
    fn default() -> Self {
        Self::new(HealthSettings::default(), Duration::from_secs(30))
    }
}

impl HealthService {
    pub fn new(settings: HealthSettings, cache_for: Duration) -> Self {
        Self {
            settings,
            cache_for,
            limits: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<HashMap<i64, f64>> {
        let guard = self.limits.lock().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.cache_for)
            .map(|(_, limits)| limits.clone())
    }

    async fn limits(&self, db: &DatabaseConnection) -> ApiResult<HashMap<i64, f64>> {
        if let Some(limits) = self.cached() {
            return Ok(limits);
        }
        let p95 = dashboards::completion_times(db, &dashboards::RunScope::default()).await?;
        let metas = processes::live_metas(db).await?;
        let limits: HashMap<i64, f64> = metas
            .into_iter()
            .map(|(id, meta)| {
                let p = p95.get(&id).and_then(|c| c.p95);
                (id, stuck_after(&self.settings, p, expected_duration(&meta)))
            })
            .collect();
        if let Ok(mut guard) = self.limits.lock() {
            *guard = Some((Instant::now(), limits.clone()));
        }
        Ok(limits)
    }

    /// The rule with every live process's limit, as of now.
    pub async fn rules(&self, db: &DatabaseConnection) -> ApiResult<HealthRules> {
        Ok(HealthRules {
            settings: self.settings,
            limits: self.limits(db).await?,
            now: Utc::now(),
        })
    }
}

/// The late/stuck rule with the limits of one moment.
pub struct HealthRules {
    settings: HealthSettings,
    limits: HashMap<i64, f64>,
    pub now: DateTime<Utc>,
}

impl HealthRules {
    fn limit(&self, process_id: i64) -> f64 {
        self.limits
            .get(&process_id)
            .copied()
            .unwrap_or_else(|| stuck_after(&self.settings, None, None))
    }

    pub fn of(&self, run: &ProcessRun) -> RunHealth {
        health(
            run.status,
            run.created_at,
            run.started_at,
            self.now,
            self.settings.late_after_seconds,
            self.limit(run.process_id),
        )
    }

    fn before(&self, seconds: f64) -> DateTime<Utc> {
        let millis = (seconds * 1000.0).round().clamp(0.0, 1.0e15) as i64;
        self.now - chrono::Duration::milliseconds(millis)
    }

    pub fn late_before(&self) -> DateTime<Utc> {
        self.before(self.settings.late_after_seconds as f64)
    }

    /// The started_at before which a running run of each process is stuck.
    pub fn stuck_before(&self) -> HashMap<i64, DateTime<Utc>> {
        self.limits
            .iter()
            .map(|(p, limit)| (*p, self.before(*limit)))
            .collect()
    }

    /// The rule as a list filter.
    pub fn condition(&self, health: RunHealth) -> HealthCondition {
        HealthCondition {
            health: Some(health),
            late_before: self.late_before(),
            stuck_before: self.stuck_before().into_iter().collect(),
            default_stuck_before: self.before(stuck_after(&self.settings, None, None)),
        }
    }
}

/// The body of one run with its health as of now.
pub async fn run_body(
    state: &crate::state::AppState,
    run: ProcessRun,
) -> ApiResult<crate::dto::run::RunResponse> {
    let rules = state.health.rules(&state.db).await?;
    let health = rules.of(&run);
    Ok(crate::dto::run::RunResponse::new(run, health))
}
