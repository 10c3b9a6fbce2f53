use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::etag;
use procdash_persistence::repo::steps;

use crate::auth::{AnyRole, Auth};
use crate::conditional;
use crate::dto::step::{CreateStepRequest, StepResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::responses;
use crate::state::AppState;

/// Add a step to a process. The index must be free among the process's live steps.
#[utoipa::path(
    post, path = "/api/v1/steps/", tag = "steps",
    request_body = CreateStepRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The created step", body = StepResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 409, description = "The process already has a live step at this index", body = ErrorBody),
        (status = 422, description = "Invalid field, or a rerun_config with an unknown key, an adapter without its target, or a target outside OUTBOUND_ALLOWED_HOSTS", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn create_step(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<CreateStepRequest>,
) -> ApiResult<HttpResponse> {
    let (process_id, step) = body.into_inner().into_domain()?;
    crate::dto::step::check_rerun_config(
        "rerun_config",
        step.rerun_config.as_ref(),
        &state.dispatch.policy,
    )
    .map_err(crate::error::ApiError::Validation)?;
    let created = steps::create(&state.db, &auth.actor(), process_id, step).await?;
    Ok(HttpResponse::Created().json(StepResponse::from(created)))
}

/// The live steps of a process, by index.
#[utoipa::path(
    get, path = "/api/v1/steps/process/{process_id}", tag = "steps",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Steps by index", body = Vec<StepResponse>),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_process_steps(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<Vec<StepResponse>>> {
    let found = steps::list_for_process(&state.db, path.into_inner(), false).await?;
    Ok(web::Json(
        found.into_iter().map(StepResponse::from).collect(),
    ))
}

/// The live steps of a process that may be rerun, by index.
#[utoipa::path(
    get, path = "/api/v1/steps/process/{process_id}/rerunnable", tag = "steps",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Rerunnable steps by index", body = Vec<StepResponse>),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_rerunnable_steps(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<Vec<StepResponse>>> {
    let found = steps::list_for_process(&state.db, path.into_inner(), true).await?;
    Ok(web::Json(
        found.into_iter().map(StepResponse::from).collect(),
    ))
}

/// One live step, with its ETag.
#[utoipa::path(
    get, path = "/api/v1/steps/{step_id}", tag = "steps",
    params(("step_id" = i64, Path, description = "Step id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The step", body = StepResponse),
        (status = 404, description = "No such live step", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_step(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let step = steps::get(&state.db, path.into_inner()).await?;
    let tag = conditional::tag(etag::step_tag(&step))?;
    conditional::tagged(&req, &tag, &StepResponse::from(step))
}
