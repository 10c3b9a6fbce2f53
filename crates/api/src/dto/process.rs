use chrono::{DateTime, Utc};
use procdash_domain::{NewProcess, Process, ProcessChanges, StepInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::dto::step::{InlineStepRequest, StepResponse};
use crate::error::ApiResult;

/// A business process with its live steps, by index.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessResponse {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "Customer Onboarding")]
    pub name: String,
    #[schema(value_type = Object, example = json!({"department": "Customer Success"}))]
    pub meta: Value,
    /// Months a run is kept before it is due for neutralization; null keeps runs until cleaned up.
    #[schema(example = 12)]
    pub retention_months: Option<i32>,
    pub steps: Vec<StepResponse>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Process> for ProcessResponse {
    fn from(p: Process) -> Self {
        Self {
            id: p.id,
            name: p.name,
            meta: p.meta,
            retention_months: p.retention_months,
            steps: p.steps.into_iter().map(StepResponse::from).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Creates a process, optionally with its steps.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Customer Onboarding",
    "meta": {"department": "Customer Success", "owner": "system.automation"},
    "retention_months": 12,
    "steps": [{"index": 0, "name": "Validate customer data"}, {"index": 1, "name": "Create account", "is_rerunnable": true}]
}))]
pub struct CreateProcessRequest {
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    #[schema(minimum = 1, maximum = 1200)]
    pub retention_months: Option<i64>,
    #[serde(default)]
    pub steps: Vec<InlineStepRequest>,
}

impl CreateProcessRequest {
    pub fn into_domain(self) -> ApiResult<NewProcess> {
        let steps = self
            .steps
            .into_iter()
            .map(|s| StepInput {
                index: s.index,
                name: s.name,
                is_rerunnable: s.is_rerunnable,
                rerun_config: s.rerun_config,
            })
            .collect();
        Ok(NewProcess::new(
            &self.name,
            self.meta,
            self.retention_months,
            steps,
        )?)
    }
}

/// Changes a process's name and/or metadata; absent fields are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Customer Onboarding v2", "meta": {"department": "Sales"}}))]
pub struct UpdateProcessRequest {
    pub name: Option<String>,
    /// Replaces the whole metadata object.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

impl UpdateProcessRequest {
    pub fn into_domain(self) -> ApiResult<ProcessChanges> {
        Ok(ProcessChanges::new(self.name.as_deref(), self.meta)?)
    }
}
