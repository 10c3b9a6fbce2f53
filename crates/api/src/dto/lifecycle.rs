use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::process::ProcessResponse;
use crate::error::{ApiError, ApiResult};

/// Sets how many months runs of the process are kept; null keeps them until cleaned up by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"retention_months": 12}))]
pub struct RetentionRequest {
    /// 1..=1200, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1200)]
    pub retention_months: Option<Value>,
}

/// Tells an explicit null (Some(Null)) from a missing field (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl RetentionRequest {
    pub fn months(&self) -> ApiResult<Option<i32>> {
        let invalid = || {
            ApiError::field(
                "retention_months",
                "must be an integer between 1 and 1200, or null",
            )
        };
        match &self.retention_months {
            None => Err(ApiError::field(
                "retention_months",
                "is required (a number of months or null)",
            )),
            Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|m| (1..=1200).contains(m))
                .and_then(|m| i32::try_from(m).ok())
                .map(Some)
                .ok_or_else(invalid),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionResponse {
    pub process: ProcessResponse,
    /// Non-neutralized runs whose scheduled_deletion_at was recomputed.
    pub rescheduled_runs: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NeutralizeResponse {
    pub run_id: i64,
    pub was_already_neutralized: bool,
    pub neutralized_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CleanupStatsParams {
    /// How many sample ids to return (1..=1000, default 10).
    #[param(minimum = 1, maximum = 1000, default = 10)]
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CleanupStatsResponse {
    pub total_due_for_neutralization: u64,
    pub sample_run_ids: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CleanupParams {
    /// 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<u64>,
    /// Default true: list what would be neutralized and change nothing.
    #[param(default = true)]
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CleanupResponse {
    pub dry_run: bool,
    pub neutralized_count: usize,
    pub failed_count: usize,
    pub neutralized_run_ids: Vec<i64>,
    pub failed_run_ids: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RestoreParams {
    /// Default true: validate the upload and change nothing.
    #[param(default = true)]
    pub dry_run: Option<bool>,
    /// Default true: run PRAGMA integrity_check on the upload.
    #[param(default = true)]
    pub integrity_check: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreResponse {
    pub dry_run: bool,
    pub integrity_ok: Option<bool>,
    pub schema_version: String,
    pub restored: bool,
    /// Rows per table in the upload.
    #[schema(value_type = Object)]
    pub tables: Value,
}

/// The multipart body of a restore: one file field named `file`.
#[derive(Debug, ToSchema)]
pub struct RestoreUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
