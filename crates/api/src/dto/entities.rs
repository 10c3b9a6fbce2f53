//! Bodies of an entity's journey across processes.

use chrono::{DateTime, Utc};
use procdash_domain::entity_journey::{FailedStep, JourneyRun};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::dto::run::RunStatusDto;

/// The first failed step of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedStepResponse {
    #[schema(example = 3)]
    pub step_id: i64,
    #[schema(example = "Credit check")]
    pub name: String,
    #[schema(value_type = Option<Object>, example = json!({"error": "timeout"}))]
    pub failure: Option<Value>,
}

impl From<FailedStep> for FailedStepResponse {
    fn from(f: FailedStep) -> Self {
        Self {
            step_id: f.step_id,
            name: f.name,
            failure: f.failure,
        }
    }
}

/// One run in an entity's journey.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityRunResponse {
    #[schema(example = 42)]
    pub run_id: i64,
    #[schema(example = 1)]
    pub process_id: i64,
    #[schema(example = "Customer onboarding")]
    pub process_name: String,
    pub status: RunStatusDto,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// `finished_at - started_at` in seconds, when the run has both.
    #[schema(example = 90.5)]
    pub duration_seconds: Option<f64>,
    /// The lowest-index current failed step run, or null.
    pub first_failed_step: Option<FailedStepResponse>,
}

impl From<JourneyRun> for EntityRunResponse {
    fn from(r: JourneyRun) -> Self {
        Self {
            duration_seconds: r.duration_seconds(),
            run_id: r.run_id,
            process_id: r.process_id,
            process_name: r.process_name,
            status: r.status.into(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            created_at: r.created_at,
            first_failed_step: r.first_failed_step.map(Into::into),
        }
    }
}
