use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::etag;
use procdash_persistence::repo::step_runs;

use crate::auth::{AnyRole, Auth};
use crate::conditional;
use crate::dto::rerun::StepRunListParams;
use crate::dto::step_run::{CreateStepRunRequest, StepRunResponse, UpdateStepRunRequest};
use crate::error::{ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Report progress of a step run; the run's status and timestamps are recomputed with it.
#[utoipa::path(
    patch, path = "/api/v1/step-runs/{step_run_id}", tag = "step-runs",
    params(("step_run_id" = i64, Path, description = "Step run id")),
    request_body = UpdateStepRunRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The updated step run", body = StepRunResponse),
        (status = 404, description = "No such live step run (or its run is deleted)", body = ErrorBody),
        (status = 422, description = "Invalid status or field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn update_step_run(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<UpdateStepRunRequest>,
) -> ApiResult<HttpResponse> {
    let (update, modified_by) = body.into_inner().into_domain()?;
    let pre = conditional::precondition(&req)?;
    let saved = step_runs::update(
        &state.db,
        &auth.actor(),
        path.into_inner(),
        update,
        modified_by,
        pre.as_ref(),
    )
    .await?;
    let tag = conditional::tag(etag::step_run_tag(&saved))?;
    Ok(conditional::written(&tag, &StepRunResponse::from(saved)))
}

/// One live step run (any attempt), with its ETag.
#[utoipa::path(
    get, path = "/api/v1/step-runs/{step_run_id}", tag = "step-runs",
    params(("step_run_id" = i64, Path, description = "Step run id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The step run", body = StepRunResponse),
        (status = 404, description = "No such live step run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_step_run(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let found = step_runs::get(&state.db, path.into_inner()).await?;
    let tag = conditional::tag(etag::step_run_tag(&found))?;
    conditional::tagged(&req, &tag, &StepRunResponse::from(found))
}

/// Create a step run by hand for a run and a step of its process; the run is recomputed.
#[utoipa::path(
    post, path = "/api/v1/step-runs/", tag = "step-runs",
    request_body = CreateStepRunRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The created step run", body = StepRunResponse),
        (status = 404, description = "No such live run or step", body = ErrorBody),
        (status = 422, description = "Invalid field, or the step belongs to another process", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn create_step_run(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<CreateStepRunRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain()?;
    let saved = step_runs::create(&state.db, &auth.actor(), new).await?;
    Ok(HttpResponse::Created().json(StepRunResponse::from(saved)))
}

/// The live step runs of a run, by step index: the current attempts, or every attempt with
/// include_attempts=true.
#[utoipa::path(
    get, path = "/api/v1/step-runs/run/{run_id}", tag = "step-runs",
    params(("run_id" = i64, Path, description = "Run id"), StepRunListParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Step runs by step index", body = Vec<StepRunResponse>),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_run_step_runs(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<StepRunListParams>,
) -> ApiResult<web::Json<Vec<StepRunResponse>>> {
    let found = if params.include_attempts == Some(true) {
        procdash_persistence::repo::reruns::all_attempts_for_run(&state.db, path.into_inner())
            .await?
    } else {
        step_runs::list_for_run(&state.db, path.into_inner()).await?
    };
    Ok(web::Json(
        found.into_iter().map(StepRunResponse::from).collect(),
    ))
}

/// The current step run of one step in a run.
#[utoipa::path(
    get, path = "/api/v1/step-runs/run/{run_id}/step/{step_id}", tag = "step-runs",
    params(
        ("run_id" = i64, Path, description = "Run id"),
        ("step_id" = i64, Path, description = "Step id"),
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The step run", body = StepRunResponse),
        (status = 404, description = "No such live run, or no step run for this step", body = ErrorBody),
        (status = 422, description = "An id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_run_step_run(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (run_id, step_id) = path.into_inner();
    let found = step_runs::get_for_run_step(&state.db, run_id, step_id).await?;
    let tag = conditional::tag(etag::step_run_tag(&found))?;
    conditional::tagged(&req, &tag, &StepRunResponse::from(found))
}
