//! Dashboard bodies. Every number is explained in docs/dashboards.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::process::ProcessResponse;
use crate::dto::run::{RunHealthDto, RunResponse, RunStatusDto};
use crate::pagination::PageResponse;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardParams {
    /// Only runs created at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only runs created at or before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub size: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardProcess {
    pub id: i64,
    pub name: String,
    pub total_steps: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardRun {
    pub id: i64,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub status: RunStatusDto,
    pub health: RunHealthDto,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Successful step runs / step runs × 100; null for a run without step runs.
    #[schema(example = 60.0)]
    pub success_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardStatistics {
    pub total_runs: i64,
    pub pending_runs: i64,
    pub running_runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    pub cancelled_runs: i64,
    pub late_runs: i64,
    pub stuck_runs: i64,
    /// Completed / finished (completed + failed + cancelled) × 100; null when none finished.
    pub success_rate: Option<f64>,
    /// Mean finished − started of completed runs, as HH:MM:SS; null when none completed.
    #[schema(example = "00:04:31")]
    pub average_completion_time: Option<String>,
    pub p50_completion_seconds: Option<f64>,
    pub p95_completion_seconds: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardStep {
    pub step_id: i64,
    pub name: String,
    pub index: i32,
    pub pending: i64,
    pub running: i64,
    pub success: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub optional: i64,
    /// Failed / step runs that ended (success, failed, cancelled, optional) × 100; null when
    /// none ended.
    pub failure_rate: Option<f64>,
    /// Of successful step runs with both timestamps.
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
}

/// GET /dashboard/process/{process_id}.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessDashboard {
    pub process: DashboardProcess,
    /// The latest 50 live runs, newest first.
    pub runs: Vec<DashboardRun>,
    pub statistics: DashboardStatistics,
    pub steps: Vec<DashboardStep>,
}

/// GET /dashboard/overview/{process_id}: the seed's shape, with `runs` paginated.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessOverview {
    pub process: ProcessResponse,
    pub runs: PageResponse<RunResponse>,
    pub total_runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    pub running_runs: i64,
    pub cancelled_runs: i64,
    pub pending_runs: i64,
}

/// One live process in GET /dashboard/overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewProcess {
    pub process_id: i64,
    pub name: String,
    pub total_runs: i64,
    pub pending_runs: i64,
    pub running_runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    pub cancelled_runs: i64,
    /// Completed / finished × 100; null when none finished.
    pub success_rate: Option<f64>,
    /// Runs created in the last 24 hours.
    pub runs_last_24h: i64,
    /// Runs that failed (finished_at) in the last 24 hours.
    pub failures_last_24h: i64,
    pub late_runs: i64,
    pub stuck_runs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub generated_at: DateTime<Utc>,
    /// Most failures in the last 24 hours first, then by name.
    pub processes: Vec<OverviewProcess>,
}
