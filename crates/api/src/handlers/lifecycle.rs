use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::etag;
use procdash_persistence::repo::{deletion, neutralization, processes, retention, runs};

use crate::auth::{Admin, Auth};
use crate::conditional;
use crate::dto::lifecycle::{NeutralizeResponse, RetentionRequest, RetentionResponse};
use crate::dto::process::ProcessResponse;
use crate::dto::run::RunResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Soft-delete a process with its steps, runs and step runs.
#[utoipa::path(
    delete, path = "/api/v1/processes/{process_id}", tag = "lifecycle",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such live process (also when deleted twice)", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn delete_process(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let pre = conditional::precondition(&req)?;
    deletion::delete_process(&state.db, &auth.actor(), path.into_inner(), pre.as_ref()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restore exactly what the deletion of a process removed.
#[utoipa::path(
    post, path = "/api/v1/processes/{process_id}/restore", tag = "lifecycle",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The restored process", body = ProcessResponse),
        (status = 404, description = "No such process", body = ErrorBody),
        (status = 409, description = "The process is not deleted, a live step now holds a restored step's index, or a live run a restored run's external_id", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn restore_process(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<ProcessResponse>> {
    let id = path.into_inner();
    deletion::restore_process(&state.db, &auth.actor(), id).await?;
    Ok(web::Json(processes::get(&state.db, id).await?.into()))
}

/// Set a process's retention and reschedule its runs.
#[utoipa::path(
    put, path = "/api/v1/processes/{process_id}/retention", tag = "lifecycle",
    params(("process_id" = i64, Path, description = "Process id")),
    request_body = RetentionRequest,
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The process and how many runs were rescheduled", body = RetentionResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "retention_months is not 1..1200 or null", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn set_retention(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<RetentionRequest>,
) -> ApiResult<HttpResponse> {
    let months = body.months()?;
    let pre = conditional::precondition(&req)?;
    let (process, rescheduled) = retention::set_retention(
        &state.db,
        &auth.actor(),
        path.into_inner(),
        months,
        pre.as_ref(),
    )
    .await?;
    // The ETag is the process's, as GET /processes/{id} gives it.
    let tag = conditional::tag(etag::process_tag(&process))?;
    let body = RetentionResponse {
        process: process.into(),
        rescheduled_runs: rescheduled,
    };
    Ok(conditional::written(&tag, &body))
}

/// Soft-delete a run with its step runs.
#[utoipa::path(
    delete, path = "/api/v1/runs/{run_id}", tag = "lifecycle",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such live run (also when deleted twice)", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn delete_run(
    auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let pre = conditional::run_precondition(&req, &state, id).await?;
    deletion::delete_run(&state.db, &auth.actor(), id, pre.as_ref()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restore a run deleted on its own, with the step runs that deletion removed.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/restore", tag = "lifecycle",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The restored run", body = RunResponse),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 409, description = "The run is not deleted, its process is deleted, or a live run of the process now holds its external_id", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn restore_run(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<RunResponse>> {
    let id = path.into_inner();
    deletion::restore_run(&state.db, &auth.actor(), id).await?;
    let run = runs::get(&state.db, id).await?;
    Ok(web::Json(crate::health::run_body(&state, run).await?))
}

/// Irreversibly remove personal data from a run (idempotent).
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/neutralize", tag = "lifecycle",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Neutralized now, or already before", body = NeutralizeResponse),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn neutralize_run(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<NeutralizeResponse>> {
    let done = neutralization::neutralize_run(
        &state.db,
        &auth.actor(),
        path.into_inner(),
        &state.lifecycle.neutralize_keep_fields,
        false,
    )
    .await?;
    Ok(web::Json(NeutralizeResponse {
        run_id: done.run_id,
        was_already_neutralized: done.was_already_neutralized,
        neutralized_at: done.neutralized_at,
    }))
}
