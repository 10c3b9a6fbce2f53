//! The late/stuck rule at request time. A process's stuck limit needs the p95 completion time of
//! its completed runs, an aggregate over all of them; the limits are computed for every live
//! process in two grouped queries and kept for HEALTH_CACHE_SECONDS (default 30), so run bodies
//! and the `health` filter cost nothing per run. One request computes while the others go on
//! with the kept limits, and expired limits whose data version (the newest change-log id) has
//! not moved are kept on without computing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use procdash_domain::ProcessRun;
use procdash_domain::health::{HealthSettings, RunHealth, expected_duration, health, stuck_after};
use procdash_domain::run_query::HealthCondition;
use procdash_persistence::repo::{dashboards, processes};
use procdash_persistence::{DatabaseConnection, audit};

use crate::error::ApiResult;

struct Kept {
    at: Instant,
    version: i64,
    limits: Arc<HashMap<i64, f64>>,
}

pub struct HealthService {
    pub settings: HealthSettings,
    cache_for: Duration,
    /// Stuck limit in seconds per live process, when it was computed (or last found current)
    /// and the data version it was computed at.
    limits: Mutex<Option<Kept>>,
    /// Held by the one request that computes the limits.
    computing: tokio::sync::Mutex<()>,
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
            computing: tokio::sync::Mutex::new(()),
        }
    }

    /// The kept limits, and whether they are still fresh.
    fn kept(&self) -> Option<(bool, Arc<HashMap<i64, f64>>)> {
        let guard = self.limits.lock().ok()?;
        guard
            .as_ref()
            .map(|k| (k.at.elapsed() < self.cache_for, Arc::clone(&k.limits)))
    }

    /// Expired limits computed at `version` stay when the data is still at that version: the
    /// limits follow from completed runs and process metadata, which only audited writes change.
    fn renew_if_current(&self, version: i64) -> Option<Arc<HashMap<i64, f64>>> {
        let mut guard = self.limits.lock().ok()?;
        let kept = guard.as_mut().filter(|k| k.version == version)?;
        kept.at = Instant::now();
        Some(Arc::clone(&kept.limits))
    }

    /// One request computes; while kept limits exist the others go on with them, so the
    /// aggregate over every completed run (seconds at 1,000,000 runs) runs once per
    /// HEALTH_CACHE_SECONDS and not once per concurrent request.
    async fn limits(&self, db: &DatabaseConnection) -> ApiResult<Arc<HashMap<i64, f64>>> {
        if self.cache_for.is_zero() {
            return self.compute(db).await;
        }
        match self.kept() {
            Some((true, limits)) => Ok(limits),
            Some((false, stale)) => match self.computing.try_lock() {
                Ok(_computing) => {
                    let version = audit::version::data_version(db).await?;
                    match self.renew_if_current(version) {
                        Some(limits) => Ok(limits),
                        None => self.compute(db).await,
                    }
                }
                Err(_) => Ok(stale),
            },
            None => {
                let _computing = self.computing.lock().await;
                match self.kept() {
                    Some((_, limits)) => Ok(limits),
                    None => self.compute(db).await,
                }
            }
        }
    }

    async fn compute(&self, db: &DatabaseConnection) -> ApiResult<Arc<HashMap<i64, f64>>> {
        // Read first: a write after it moves the version, and the next check computes again.
        let version = audit::version::data_version(db).await?;
        let p95 = dashboards::completion_times(db, &dashboards::RunScope::default()).await?;
        let metas = processes::live_metas(db).await?;
        let limits: Arc<HashMap<i64, f64>> = Arc::new(
            metas
                .into_iter()
                .map(|(id, meta)| {
                    let p = p95.get(&id).and_then(|c| c.p95);
                    (id, stuck_after(&self.settings, p, expected_duration(&meta)))
                })
                .collect(),
        );
        if let Ok(mut guard) = self.limits.lock() {
            *guard = Some(Kept {
                at: Instant::now(),
                version,
                limits: Arc::clone(&limits),
            });
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
    limits: Arc<HashMap<i64, f64>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_kept(cache_for: Duration, age: Duration, version: i64) -> HealthService {
        let service = HealthService::new(HealthSettings::default(), cache_for);
        *service.limits.lock().unwrap() = Some(Kept {
            at: Instant::now() - age,
            version,
            limits: Arc::new(HashMap::from([(1, 600.0)])),
        });
        service
    }

    #[test]
    fn kept_limits_are_fresh_within_the_cache_time_only() {
        let fresh = with_kept(Duration::from_secs(30), Duration::from_secs(1), 7);
        assert_eq!(fresh.kept().map(|(f, _)| f), Some(true));
        let expired = with_kept(Duration::from_secs(30), Duration::from_secs(31), 7);
        assert_eq!(expired.kept().map(|(f, _)| f), Some(false));
    }

    #[test]
    fn expired_limits_are_renewed_only_at_the_same_data_version() {
        let expired = with_kept(Duration::from_secs(30), Duration::from_secs(31), 7);
        assert!(expired.renew_if_current(8).is_none());
        assert_eq!(expired.kept().map(|(f, _)| f), Some(false));
        let renewed = expired.renew_if_current(7).unwrap();
        assert_eq!(renewed.get(&1), Some(&600.0));
        assert_eq!(expired.kept().map(|(f, _)| f), Some(true));
    }
}
