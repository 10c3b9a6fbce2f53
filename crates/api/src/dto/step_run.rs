use chrono::{DateTime, Utc};
use procdash_domain::validation::check_instant;
use procdash_domain::{DomainError, StepRun, StepStatus, StepUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiResult;

/// Status of one step of a run.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatusDto {
    Pending,
    Running,
    Success,
    Failed,
    Cancelled,
    Optional,
}

impl From<StepStatus> for StepStatusDto {
    fn from(s: StepStatus) -> Self {
        match s {
            StepStatus::Pending => Self::Pending,
            StepStatus::Running => Self::Running,
            StepStatus::Success => Self::Success,
            StepStatus::Failed => Self::Failed,
            StepStatus::Cancelled => Self::Cancelled,
            StepStatus::Optional => Self::Optional,
        }
    }
}

/// The execution of one step within a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepRunResponse {
    #[schema(example = 123)]
    pub id: i64,
    #[schema(example = 42)]
    pub run_id: i64,
    #[schema(example = 7)]
    pub step_id: i64,
    #[schema(example = 0)]
    pub step_index: i32,
    pub status: StepStatusDto,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What went wrong, as the reporting robot describes it.
    #[schema(value_type = Option<Object>, example = json!({"error_code": "TIMEOUT", "message": "upstream timed out"}))]
    pub failure: Option<Value>,
    #[schema(example = "robot-7")]
    pub last_modified_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The first attempt this one reruns; null on a first attempt.
    #[schema(example = json!(null))]
    pub original_step_run_id: Option<i64>,
    /// 1, then previous + 1 for each rerun.
    #[schema(example = 1)]
    pub attempt: i32,
    /// A rerun replaced this attempt; listed only with include_attempts=true.
    pub superseded: bool,
}

impl From<StepRun> for StepRunResponse {
    fn from(s: StepRun) -> Self {
        Self {
            id: s.id,
            run_id: s.run_id,
            step_id: s.step_id,
            step_index: s.step_index,
            status: s.status.into(),
            started_at: s.started_at,
            finished_at: s.finished_at,
            failure: s.failure,
            last_modified_by: s.last_modified_by,
            created_at: s.created_at,
            updated_at: s.updated_at,
            original_step_run_id: s.original_step_run_id,
            attempt: s.attempt,
            superseded: s.superseded,
        }
    }
}

/// A progress report for one step run. Timestamps are stamped by the server unless supplied.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "failed", "failure": {"error_code": "TIMEOUT", "message": "upstream timed out"}, "last_modified_by": "robot-7"}))]
pub struct UpdateStepRunRequest {
    /// pending, running, success, failed, cancelled or optional.
    #[schema(example = "success")]
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Object>)]
    pub failure: Option<Value>,
    #[schema(example = "robot-7")]
    pub last_modified_by: Option<String>,
}

fn parse_update(
    status: &str,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    failure: Option<Value>,
) -> ApiResult<StepUpdate> {
    let status: StepStatus = status.parse()?;
    let started_at = check_instant("started_at", started_at).map_err(DomainError::from)?;
    let finished_at = check_instant("finished_at", finished_at).map_err(DomainError::from)?;
    let failure = match failure {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            procdash_domain::validation::check_json_no_nul("failure", &v)
                .map_err(DomainError::from)?;
            Some(v)
        }
        Some(_) => return Err(DomainError::field("failure", "must be a JSON object").into()),
    };
    Ok(StepUpdate {
        status,
        started_at,
        finished_at,
        failure,
    })
}

fn check_modified_by(value: Option<String>) -> ApiResult<Option<String>> {
    if let Some(v) = &value {
        procdash_domain::validation::check_no_nul("last_modified_by", v)
            .map_err(DomainError::from)?;
    }
    match value {
        Some(v) if v.chars().count() > 255 => {
            Err(DomainError::field("last_modified_by", "must be at most 255 characters").into())
        }
        other => Ok(other),
    }
}

impl UpdateStepRunRequest {
    pub fn into_domain(self) -> ApiResult<(StepUpdate, Option<String>)> {
        let update = parse_update(
            &self.status,
            self.started_at,
            self.finished_at,
            self.failure,
        )?;
        Ok((update, check_modified_by(self.last_modified_by)?))
    }
}

/// Creates a step run by hand for a run and a step of the same process.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"run_id": 42, "step_id": 7, "status": "pending"}))]
pub struct CreateStepRunRequest {
    pub run_id: i64,
    pub step_id: i64,
    /// Defaults to pending.
    #[serde(default = "pending")]
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Object>)]
    pub failure: Option<Value>,
    pub last_modified_by: Option<String>,
}

fn pending() -> String {
    "pending".to_owned()
}

impl CreateStepRunRequest {
    pub fn into_domain(self) -> ApiResult<procdash_persistence::repo::step_runs::NewStepRun> {
        let update = parse_update(
            &self.status,
            self.started_at,
            self.finished_at,
            self.failure,
        )?;
        Ok(procdash_persistence::repo::step_runs::NewStepRun {
            run_id: self.run_id,
            step_id: self.step_id,
            update,
            last_modified_by: check_modified_by(self.last_modified_by)?,
        })
    }
}
