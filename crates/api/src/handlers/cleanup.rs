use actix_web::web;
use chrono::Utc;
use procdash_persistence::repo::neutralization;

use crate::auth::{Admin, Auth};
use crate::dto::lifecycle::{
    CleanupParams, CleanupResponse, CleanupStatsParams, CleanupStatsResponse,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

fn limit(value: Option<u64>, default: u64) -> ApiResult<u64> {
    let limit = value.unwrap_or(default);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::field("limit", "must be between 1 and 1000"))
    }
}

/// How many runs are due for neutralization, with a sample of their ids.
#[utoipa::path(
    get, path = "/api/v1/admin/cleanup/stats", tag = "lifecycle",
    params(CleanupStatsParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The real count and up to `limit` ids", body = CleanupStatsResponse),
        (status = 422, description = "limit out of range", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn cleanup_stats(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    params: web::Query<CleanupStatsParams>,
) -> ApiResult<web::Json<CleanupStatsResponse>> {
    let (total, ids) = neutralization::due(&state.db, Utc::now(), limit(params.limit, 10)?).await?;
    Ok(web::Json(CleanupStatsResponse {
        total_due_for_neutralization: total,
        sample_run_ids: ids,
    }))
}

/// Neutralize due runs, each in its own transaction (dry run by default).
#[utoipa::path(
    post, path = "/api/v1/admin/cleanup/neutralize", tag = "lifecycle",
    params(CleanupParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "What was (or would be) neutralized", body = CleanupResponse),
        (status = 422, description = "limit out of range", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn cleanup_neutralize(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    params: web::Query<CleanupParams>,
) -> ApiResult<web::Json<CleanupResponse>> {
    let dry_run = params.dry_run.unwrap_or(true);
    let batch = neutralization::neutralize_due(
        &state.db,
        &auth.actor(),
        limit(params.limit, 100)?,
        dry_run,
        &state.lifecycle.neutralize_keep_fields,
        |_, _| {},
    )
    .await?;
    Ok(web::Json(CleanupResponse {
        dry_run,
        neutralized_count: batch.neutralized.len(),
        failed_count: batch.failed.len(),
        neutralized_run_ids: batch.neutralized,
        failed_run_ids: batch.failed,
    }))
}
