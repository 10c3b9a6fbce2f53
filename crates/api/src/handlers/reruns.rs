//! Reruns of failed step runs: one, many, the attempt chain, what may be rerun, and dispatch.

use actix_web::{HttpRequest, HttpResponse, web};
use procdash_persistence::repo::{outbox, reruns};

use crate::auth::{Admin, AnyRole, Auth};
use crate::dto::rerun::{
    BulkRerunRequest, BulkRerunResponse, DispatchResponse, RerunRequest, RerunResponse,
    TryResponse, check_meta,
};
use crate::dto::step_run::StepRunResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// An optional JSON body: empty is the default, anything else must be JSON of the right shape.
fn optional_json<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::field("body", e.to_string()),
        _ => ApiError::BadRequest(format!("Invalid JSON body: {e}")),
    })
}

/// Rerun a failed step run: a new attempt is created and dispatched to the target system.
#[utoipa::path(
    post, path = "/api/v1/step-runs/{step_run_id}/rerun", tag = "step-runs",
    params(("step_run_id" = i64, Path, description = "Step run id (the current, failed attempt)")),
    request_body(content = Option<RerunRequest>, description = "Optional: meta stored with the new attempt"),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 201, description = "The new attempt", body = RerunResponse),
        (status = 404, description = "No such live step run (or its run is deleted)", body = ErrorBody),
        (status = 409, description = "The step is not rerunnable, the step run is not the current failed attempt, or the maximum reruns is reached", body = ErrorBody),
        (status = 422, description = "Invalid meta, or the step has no dispatch target (rerun_config or AUTOMATION_SERVER_URL)", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn rerun_step_run(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let request: RerunRequest = optional_json(&req, &body)?;
    let meta = check_meta(request.meta)?;
    let rerun = reruns::rerun(
        &state.db,
        &auth.actor(),
        path.into_inner(),
        meta,
        &state.dispatch,
    )
    .await?;
    Ok(HttpResponse::Created().json(RerunResponse::from(rerun)))
}

/// Rerun many failed step runs, by id or by filter; a dry run (the default) changes nothing.
#[utoipa::path(
    post, path = "/api/v1/step-runs/rerun", tag = "step-runs",
    request_body = BulkRerunRequest,
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "What was (or would be) rerun, and what was skipped and why", body = BulkRerunResponse),
        (status = 422, description = "Neither or both of step_run_ids and a filter, over 1,000 step runs, or an invalid field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::JsonBody,
    )
)]
pub async fn bulk_rerun(
    auth: Auth<Admin>,
    state: web::Data<AppState>,
    body: web::Json<BulkRerunRequest>,
) -> ApiResult<web::Json<BulkRerunResponse>> {
    let (selection, dry_run, meta) = body.into_inner().into_domain()?;
    let outcome = reruns::bulk(
        &state.db,
        &auth.actor(),
        selection,
        dry_run,
        meta,
        &state.dispatch,
    )
    .await?;
    Ok(web::Json(BulkRerunResponse::new(dry_run, outcome)))
}

/// Every attempt of the step run's chain, first attempt first.
#[utoipa::path(
    get, path = "/api/v1/step-runs/{step_run_id}/attempts", tag = "step-runs",
    params(("step_run_id" = i64, Path, description = "Any attempt of the chain")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The attempts", body = Vec<StepRunResponse>),
        (status = 404, description = "No such live step run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_attempts(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<Vec<StepRunResponse>>> {
    let found = reruns::attempts(&state.db, path.into_inner()).await?;
    Ok(web::Json(
        found.into_iter().map(StepRunResponse::from).collect(),
    ))
}

/// The current attempts of a run that are failed, rerunnable and have reruns left.
#[utoipa::path(
    get, path = "/api/v1/step-runs/run/{run_id}/rerunnable", tag = "step-runs",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Step runs that may be rerun", body = Vec<StepRunResponse>),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_rerunnable_step_runs(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<Vec<StepRunResponse>>> {
    let found = reruns::rerunnable_for_run(&state.db, path.into_inner(), &state.dispatch).await?;
    Ok(web::Json(
        found.into_iter().map(StepRunResponse::from).collect(),
    ))
}

/// The dispatch of a rerun attempt: its state and every try.
#[utoipa::path(
    get, path = "/api/v1/step-runs/{step_run_id}/dispatch", tag = "step-runs",
    params(("step_run_id" = i64, Path, description = "A rerun attempt")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The dispatch", body = DispatchResponse),
        (status = 404, description = "No such live step run, or it was not dispatched (a first attempt)", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_dispatch(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<DispatchResponse>> {
    let id = path.into_inner();
    procdash_persistence::repo::step_runs::get(&state.db, id).await?;
    let row = outbox::for_step_run(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Step run {id} has no dispatch")))?;
    let adapter = if row.kind == outbox::KIND_RERUN_AUTOMATION {
        "automation_server"
    } else {
        "http"
    };
    Ok(web::Json(DispatchResponse {
        adapter: adapter.to_owned(),
        next_attempt_at: (row.state == outbox::STATE_PENDING).then_some(row.next_attempt_at),
        tries: outbox::tries(&row)
            .into_iter()
            .map(TryResponse::from)
            .collect(),
        state: row.state,
    }))
}
