use chrono::{DateTime, Utc};
use procdash_domain::{NewStep, ProcessStep};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiResult;

/// A step of a process.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepResponse {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = 1)]
    pub process_id: i64,
    /// Position of the step in the process, from 0.
    #[schema(example = 0)]
    pub index: i32,
    #[schema(example = "Validate customer data")]
    pub name: String,
    pub is_rerunnable: bool,
    #[schema(value_type = Option<Object>)]
    pub rerun_config: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ProcessStep> for StepResponse {
    fn from(s: ProcessStep) -> Self {
        Self {
            id: s.id,
            process_id: s.process_id,
            index: s.index,
            name: s.name,
            is_rerunnable: s.is_rerunnable,
            rerun_config: s.rerun_config,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A step given inline when a process is created.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"index": 0, "name": "Validate customer data", "is_rerunnable": true, "rerun_config": {"max_retries": 3}}))]
pub struct InlineStepRequest {
    #[schema(minimum = 0)]
    pub index: i64,
    pub name: String,
    #[serde(default)]
    pub is_rerunnable: bool,
    #[schema(value_type = Option<Object>)]
    pub rerun_config: Option<Value>,
}

/// Adds a step to a process.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"process_id": 1, "index": 2, "name": "Send welcome mail", "is_rerunnable": false}))]
pub struct CreateStepRequest {
    pub process_id: i64,
    #[schema(minimum = 0)]
    pub index: i64,
    pub name: String,
    #[serde(default)]
    pub is_rerunnable: bool,
    #[schema(value_type = Option<Object>)]
    pub rerun_config: Option<Value>,
}

impl CreateStepRequest {
    pub fn into_domain(self) -> ApiResult<(i64, NewStep)> {
        let step = NewStep::new(
            self.index,
            &self.name,
            self.is_rerunnable,
            self.rerun_config,
        )?;
        Ok((self.process_id, step))
    }
}

/// Checks a step's rerun_config as a value object: known keys, an adapter with its target, a
/// target inside OUTBOUND_ALLOWED_HOSTS.
pub fn check_rerun_config(
    field: &str,
    config: Option<&Value>,
    policy: &procdash_domain::outbound::OutboundPolicy,
) -> Result<(), Vec<procdash_domain::FieldError>> {
    procdash_domain::reruns::RerunConfig::parse(field, config, policy).map(|_| ())
}
