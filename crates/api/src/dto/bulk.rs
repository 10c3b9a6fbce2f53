//! Bodies of the bulk endpoints: `POST /runs/bulk` and `POST /step-runs/bulk`.

use procdash_persistence::repo::bulk_runs::{BulkDuplicate, BulkFailure, BulkOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::run::RunStatusDto;
use crate::dto::step_run::UpdateStepRunRequest;

/// `?mode=`: all-or-nothing (`strict`, the default) or `partial`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BulkRunsParams {
    /// `strict` (default): one bad row is a 422 listing every bad row, and nothing is stored.
    /// `partial`: the valid rows are stored and the others reported in `failures`.
    #[param(example = "partial")]
    pub mode: Option<String>,
}

/// One run of an upload: the fields of `POST /runs/`. Unknown fields are refused. Over HTTP
/// `process_id` is required; the import command's `--process` fills it in.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"process_id": 1, "entity_id": "CUST-1", "entity_name": "Acme", "external_id": "ORDER-7781", "meta": {"region": "north"}}))]
pub struct BulkRunItem {
    pub process_id: Option<i64>,
    #[schema(max_length = 100)]
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    #[schema(max_length = 100)]
    pub external_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

/// A JSON upload of runs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRunsRequest {
    /// At most BULK_MAX_ITEMS runs.
    pub runs: Vec<BulkRunItem>,
}

/// A CSV upload as a multipart form.
#[derive(ToSchema)]
pub struct BulkRunsUpload {
    /// CSV with a header of `process_id,entity_id,entity_name,external_id,meta.<key>...`
    /// (any order; `entity_id` required), or JSON when the part's type is application/json.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A refused row: its number (from 1; for CSV the first line after the header), the field
/// and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkFailureResponse {
    #[schema(example = 3)]
    pub row: usize,
    #[schema(example = "entity_id")]
    pub field: String,
    #[schema(example = "must not be empty")]
    pub message: String,
}

impl From<BulkFailure> for BulkFailureResponse {
    fn from(f: BulkFailure) -> Self {
        Self {
            row: f.row,
            field: f.field,
            message: f.message,
        }
    }
}

/// A row not stored because its external id is taken, with the run that holds it (a live run,
/// or the run of an earlier row of the same upload).
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDuplicateResponse {
    #[schema(example = 4)]
    pub row: usize,
    #[schema(example = 17)]
    pub run_id: Option<i64>,
}

impl From<BulkDuplicate> for BulkDuplicateResponse {
    fn from(d: BulkDuplicate) -> Self {
        Self {
            row: d.row,
            run_id: d.run_id,
        }
    }
}

/// What a bulk upload stored: counts, the new run ids in row order, and the rows not stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRunsResponse {
    pub inserted: usize,
    pub duplicates: usize,
    pub failed: usize,
    /// Ids of the stored runs, in row order.
    pub run_ids: Vec<i64>,
    pub duplicate_rows: Vec<BulkDuplicateResponse>,
    pub failures: Vec<BulkFailureResponse>,
}

impl BulkRunsResponse {
    pub fn new(outcome: BulkOutcome, mut parse_failures: Vec<BulkFailure>) -> Self {
        parse_failures.extend(outcome.failed);
        parse_failures.sort_by_key(|f| f.row);
        let mut failed_rows: Vec<usize> = parse_failures.iter().map(|f| f.row).collect();
        failed_rows.dedup();
        Self {
            inserted: outcome.inserted.len(),
            duplicates: outcome.duplicates.len(),
            failed: failed_rows.len(),
            run_ids: outcome.inserted.iter().map(|(_, id)| *id).collect(),
            duplicate_rows: outcome.duplicates.into_iter().map(Into::into).collect(),
            failures: parse_failures.into_iter().map(Into::into).collect(),
        }
    }
}

/// One status report of `POST /step-runs/bulk`: the step run and the fields of
/// `PATCH /step-runs/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"step_run_id": 12, "status": "success"}))]
pub struct BulkStepReport {
    pub step_run_id: i64,
    #[serde(flatten)]
    pub report: UpdateStepRunRequest,
}

/// What happened to one run's reports: applied together, or rolled back together.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRunGroupResponse {
    pub run_id: i64,
    pub applied: bool,
    /// The report numbers (from 1) of this run.
    pub rows: Vec<usize>,
    /// The run's status after the reports; absent when they were rolled back.
    pub status: Option<RunStatusDto>,
}

/// The outcome of a bulk status report.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkStepRunsResponse {
    /// Reports applied.
    pub applied: usize,
    /// Reports not applied: invalid, for an unknown step run, or in a run whose group rolled
    /// back.
    pub failed: usize,
    pub runs: Vec<BulkRunGroupResponse>,
    pub failures: Vec<BulkFailureResponse>,
}
