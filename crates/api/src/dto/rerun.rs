//! Bodies of the rerun routes: one rerun, bulk reruns, attempts and dispatch status.

use chrono::{DateTime, Utc};
use procdash_domain::DomainError;
use procdash_persistence::repo::outbox::TryRecord;
use procdash_persistence::repo::reruns::{BulkOutcome, BulkSelection, Rerun};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::step_run::StepStatusDto;
use crate::error::{ApiError, ApiResult};

/// Optional body of `POST /step-runs/{id}/rerun`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"meta": {"rerun_reason": "Temporary network issue resolved", "initiated_by": "admin.user"}}))]
pub struct RerunRequest {
    /// Stored with the new attempt and sent to an http adapter.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// Checks rerun meta: an object without NUL characters.
pub fn check_meta(meta: Option<Value>) -> ApiResult<Option<Value>> {
    match meta {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => {
            procdash_domain::validation::check_json_no_nul("meta", &v)
                .map_err(DomainError::from)?;
            if v.to_string().len() > 16 * 1024 {
                return Err(ApiError::field("meta", "must be at most 16 KiB of JSON"));
            }
            Ok(Some(v))
        }
        Some(_) => Err(ApiError::field("meta", "must be a JSON object")),
    }
}

/// The dispatch of a rerun to its target system.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchSummary {
    /// pending, delivered or failed.
    #[schema(example = "pending")]
    pub state: String,
    /// automation_server or http.
    #[schema(example = "http")]
    pub adapter: String,
}

/// A rerun that was initiated.
#[derive(Debug, Serialize, ToSchema)]
pub struct RerunResponse {
    #[schema(example = 156)]
    pub id: i64,
    #[schema(example = 123)]
    pub original_step_run_id: Option<i64>,
    #[schema(example = 2)]
    pub attempt: i32,
    pub status: StepStatusDto,
    pub created_at: DateTime<Utc>,
    #[schema(example = "Step rerun initiated successfully")]
    pub message: String,
    pub dispatch: DispatchSummary,
}

impl From<Rerun> for RerunResponse {
    fn from(r: Rerun) -> Self {
        Self {
            id: r.attempt.id,
            original_step_run_id: r.attempt.original_step_run_id,
            attempt: r.attempt.attempt,
            status: r.attempt.status.into(),
            created_at: r.attempt.created_at,
            message: "Step rerun initiated successfully".to_owned(),
            dispatch: DispatchSummary {
                state: r.dispatch_state,
                adapter: r.adapter.to_owned(),
            },
        }
    }
}

/// `POST /step-runs/rerun`: either `step_run_ids` or a filter with `process_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"process_id": 1, "failed_since": "2026-12-01T00:00:00Z", "dry_run": true}))]
pub struct BulkRerunRequest {
    /// At most 1,000 ids.
    pub step_run_ids: Option<Vec<i64>>,
    pub process_id: Option<i64>,
    pub step_id: Option<i64>,
    pub failed_since: Option<DateTime<Utc>>,
    pub failed_until: Option<DateTime<Utc>>,
    /// Defaults to true: report what would be rerun without doing it.
    #[serde(default = "yes")]
    pub dry_run: bool,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

fn yes() -> bool {
    true
}

impl BulkRerunRequest {
    pub fn into_domain(self) -> ApiResult<(BulkSelection, bool, Option<Value>)> {
        let meta = check_meta(self.meta)?;
        let check = procdash_domain::validation::check_instant;
        let failed_since = check("failed_since", self.failed_since).map_err(DomainError::from)?;
        let failed_until = check("failed_until", self.failed_until).map_err(DomainError::from)?;
        let filter_given = self.process_id.is_some()
            || self.step_id.is_some()
            || failed_since.is_some()
            || failed_until.is_some();
        let selection = match (self.step_run_ids, filter_given) {
            (Some(_), true) => {
                return Err(ApiError::field(
                    "step_run_ids",
                    "give either step_run_ids or a filter, not both",
                ));
            }
            (Some(ids), false) if ids.is_empty() => {
                return Err(ApiError::field("step_run_ids", "must not be empty"));
            }
            (Some(ids), false)
                if ids.len() as u64 > procdash_persistence::repo::reruns::BULK_LIMIT =>
            {
                return Err(ApiError::field(
                    "step_run_ids",
                    "at most 1000 step runs per call",
                ));
            }
            (Some(mut ids), false) => {
                ids.sort_unstable();
                ids.dedup();
                BulkSelection::Ids(ids)
            }
            (None, true) => {
                let Some(process_id) = self.process_id else {
                    return Err(ApiError::field("process_id", "is required by the filter"));
                };
                if let (Some(a), Some(b)) = (failed_since, failed_until)
                    && a > b
                {
                    return Err(ApiError::field(
                        "failed_until",
                        "must not be before failed_since",
                    ));
                }
                BulkSelection::Filter {
                    process_id,
                    step_id: self.step_id,
                    failed_since,
                    failed_until,
                }
            }
            (None, false) => {
                return Err(ApiError::field(
                    "body",
                    "give step_run_ids or a filter with process_id",
                ));
            }
        };
        Ok((selection, self.dry_run, meta))
    }
}

/// One step run that was (or, on a dry run, would be) rerun.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRerunItem {
    pub step_run_id: i64,
    /// The new attempt; null on a dry run.
    pub new_step_run_id: Option<i64>,
    pub attempt: i32,
    pub adapter: String,
}

/// One step run that was skipped.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedRerun {
    pub step_run_id: i64,
    /// not_found, not_rerunnable, superseded, not_failed, max_reruns_reached or no_target.
    #[schema(example = "max_reruns_reached")]
    pub reason: String,
}

/// The answer of a bulk rerun.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRerunResponse {
    pub dry_run: bool,
    pub rerun: Vec<BulkRerunItem>,
    pub skipped: Vec<SkippedRerun>,
}

impl BulkRerunResponse {
    pub fn new(dry_run: bool, outcome: BulkOutcome) -> Self {
        Self {
            dry_run,
            rerun: outcome
                .rerun
                .into_iter()
                .map(|r| BulkRerunItem {
                    step_run_id: r.step_run_id,
                    new_step_run_id: r.new_step_run_id,
                    attempt: r.attempt,
                    adapter: r.adapter.to_owned(),
                })
                .collect(),
            skipped: outcome
                .skipped
                .into_iter()
                .map(|(step_run_id, reason)| SkippedRerun {
                    step_run_id,
                    reason,
                })
                .collect(),
        }
    }
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct TryResponse {
    pub at: DateTime<Utc>,
    #[schema(example = 503)]
    pub http_status: Option<u16>,
    #[schema(example = "the target answered HTTP 503")]
    pub error: Option<String>,
    #[schema(example = 42)]
    pub duration_ms: u64,
}

impl From<TryRecord> for TryResponse {
    fn from(t: TryRecord) -> Self {
        Self {
            at: t.at,
            http_status: t.http_status,
            error: t.error,
            duration_ms: t.duration_ms,
        }
    }
}

/// The dispatch of one rerun attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchResponse {
    /// pending, delivered or failed.
    pub state: String,
    pub adapter: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub tries: Vec<TryResponse>,
}

/// `GET /step-runs/run/{run_id}`: superseded attempts only on request.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StepRunListParams {
    /// Also list the attempts that reruns superseded.
    pub include_attempts: Option<bool>,
}
