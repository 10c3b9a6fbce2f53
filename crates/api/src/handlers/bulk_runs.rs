use actix_web::{HttpRequest, web};
use procdash_domain::FieldError;
use procdash_persistence::repo::bulk_runs::{self, BulkMode};

use crate::auth::{Admin, Auth};
use crate::bulk::{self, upload};
use crate::dto::bulk::{BulkRunsParams, BulkRunsRequest, BulkRunsResponse, BulkRunsUpload};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Start many runs from a JSON or CSV upload. All-or-nothing unless `mode=partial`; a row whose
/// external_id a live run of its process holds (or an earlier row of the upload) is reported
/// as a duplicate and not stored, so an upload can be repeated safely.
#[utoipa::path(
    post, path = "/api/v1/runs/bulk", tag = "runs",
    params(BulkRunsParams),
    request_body(
        description = "JSON `{\"runs\": [...]}`, a `text/csv` body, or a multipart form with a \
                       `file` field. CSV columns: process_id, entity_id, entity_name, external_id, \
                       meta.<key> (dots nest).",
        content(
            (BulkRunsRequest = "application/json"),
            (String = "text/csv"),
            (BulkRunsUpload = "multipart/form-data"),
        )
    ),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "What was stored, the duplicates, and (partial mode) the refused rows", body = BulkRunsResponse),
        (status = 400, description = "The JSON or CSV cannot be parsed, or the multipart body is malformed", body = ErrorBody),
        (status = 409, description = "A run with one of the external ids was started while the upload was stored; nothing was stored", body = ErrorBody),
        (status = 413, description = "Body over MAX_BODY_BYTES, or more rows than BULK_MAX_ITEMS", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json, text/csv or multipart/form-data", body = ErrorBody),
        (status = 422, description = "Strict mode: every bad row (`rows[N].field`, N from 1) and nothing stored; or a bad header, body shape, mode or parameter", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn bulk_create_runs(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<BulkRunsParams>,
    payload: web::Payload,
) -> ApiResult<web::Json<BulkRunsResponse>> {
    let partial = match params.mode.as_deref() {
        None | Some("strict") => false,
        Some("partial") => true,
        Some(_) => return Err(ApiError::field("mode", "must be strict or partial")),
    };
    let (bytes, format) = upload::read(&req, payload, state.info.max_body_bytes).await?;
    let max = state.info.bulk_max_items;
    let parsed = web::block(move || bulk::parse_runs(&bytes, format, None, max))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mode = if partial {
        BulkMode::Partial
    } else {
        BulkMode::AllOrNothing {
            rejected: parsed.failed.len(),
        }
    };
    let outcome = bulk_runs::insert(&state.db, &auth.actor(), parsed.rows, mode).await?;
    if !outcome.committed {
        let mut failures = parsed.failed;
        failures.extend(outcome.failed);
        failures.sort_by_key(|f| f.row);
        return Err(ApiError::Validation(
            failures
                .into_iter()
                .map(|f| FieldError::new(format!("rows[{}].{}", f.row, f.field), f.message))
                .collect(),
        ));
    }
    Ok(web::Json(BulkRunsResponse::new(outcome, parsed.failed)))
}
