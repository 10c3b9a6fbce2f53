use actix_web::web;
use procdash_domain::FieldError;
use procdash_persistence::repo::bulk_step_runs::{self, StepReport};
use serde_json::Value;

use crate::auth::{AnyRole, Auth};
use crate::bulk::parse::item_error;
use crate::dto::bulk::{BulkRunGroupResponse, BulkStepReport, BulkStepRunsResponse};
use crate::dto::step_run::UpdateStepRunRequest;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

const FIELDS: [&str; 6] = [
    "step_run_id",
    "status",
    "started_at",
    "finished_at",
    "failure",
    "last_modified_by",
];

/// Apply many step-run status reports: one transaction per run, with the run's status
/// recomputed once after its reports. If one report of a run is invalid (or its step run is
/// gone), none of that run's reports are applied and each is listed in `failures`; the other
/// runs are applied. A report whose step_run_id is unknown fails alone.
#[utoipa::path(
    post, path = "/api/v1/step-runs/bulk", tag = "step-runs",
    request_body(content = Vec<BulkStepReport>, description = "At most BULK_MAX_ITEMS reports, applied per run in the order given"),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Per run: applied or rolled back; every report not applied in failures (report numbers from 1)", body = BulkStepRunsResponse),
        (status = 413, description = "Body over MAX_BODY_BYTES, or more reports than BULK_MAX_ITEMS", body = ErrorBody),
        (status = 422, description = "The body is not a JSON array", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn bulk_update_step_runs(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<Vec<Value>>,
) -> ApiResult<web::Json<BulkStepRunsResponse>> {
    let items = body.into_inner();
    if items.len() > state.info.bulk_max_items {
        return Err(ApiError::TooManyItems(state.info.bulk_max_items));
    }
    let mut reports = Vec::with_capacity(items.len());
    let mut ungrouped = Vec::new();
    for (row, item) in (1usize..).zip(items) {
        match report(row, item) {
            Ok(r) => reports.push(r),
            Err(e) => ungrouped.push(procdash_persistence::repo::bulk_runs::BulkFailure {
                row,
                field: e.field,
                message: e.message,
            }),
        }
    }
    let mut outcome = bulk_step_runs::apply(&state.db, &auth.actor(), reports).await?;
    outcome.failed.extend(ungrouped);
    outcome.failed.sort_by_key(|f| f.row);
    let mut failed_rows: Vec<usize> = outcome.failed.iter().map(|f| f.row).collect();
    failed_rows.dedup();
    Ok(web::Json(BulkStepRunsResponse {
        applied: outcome.applied,
        failed: failed_rows.len(),
        runs: outcome
            .groups
            .into_iter()
            .map(|g| BulkRunGroupResponse {
                run_id: g.run_id,
                applied: g.status.is_some(),
                rows: g.rows,
                status: g.status.map(Into::into),
            })
            .collect(),
        failures: outcome.failed.into_iter().map(Into::into).collect(),
    }))
}

/// One report; an error only when it names no step run to group it by.
fn report(row: usize, item: Value) -> Result<StepReport, FieldError> {
    let Value::Object(mut fields) = item else {
        return Err(FieldError::new("row", "must be a JSON object"));
    };
    let step_run_id = fields
        .remove("step_run_id")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| FieldError::new("step_run_id", "is required and must be an integer"))?;
    let unknown: Vec<FieldError> = fields
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::new(k.clone(), "is not a known field"))
        .collect();
    let update = if unknown.is_empty() {
        serde_json::from_value::<UpdateStepRunRequest>(Value::Object(fields))
            .map_err(|e| {
                let (field, message) = item_error(&e);
                vec![FieldError::new(field, message)]
            })
            .and_then(|r| {
                r.into_domain().map_err(|e| match e {
                    ApiError::Validation(errors) => errors,
                    other => vec![FieldError::new("row", other.to_string())],
                })
            })
    } else {
        Err(unknown)
    };
    Ok(StepReport {
        row,
        step_run_id,
        update,
    })
}
