use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::etag;
use procdash_persistence::repo::processes;

use crate::auth::{AnyRole, Auth};
use crate::conditional;
use crate::dto::process::{CreateProcessRequest, ProcessResponse, UpdateProcessRequest};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageParams, PageResponse};
use crate::responses;
use crate::state::AppState;

/// Create a process, optionally with its steps.
#[utoipa::path(
    post, path = "/api/v1/processes/", tag = "processes",
    request_body = CreateProcessRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The created process with its steps", body = ProcessResponse),
        (status = 422, description = "Invalid field, or an invalid steps[i].rerun_config", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn create_process(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<CreateProcessRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain()?;
    let mut errors = Vec::new();
    for (i, step) in new.steps.iter().enumerate() {
        let field = format!("steps[{i}].rerun_config");
        if let Err(mut e) = crate::dto::step::check_rerun_config(
            &field,
            step.rerun_config.as_ref(),
            &state.dispatch.policy,
        ) {
            errors.append(&mut e);
        }
    }
    if !errors.is_empty() {
        return Err(crate::error::ApiError::Validation(errors));
    }
    let process = processes::create(&state.db, &auth.actor(), new).await?;
    Ok(HttpResponse::Created().json(ProcessResponse::from(process)))
}

/// List live processes, id ascending.
#[utoipa::path(
    get, path = "/api/v1/processes/", tag = "processes",
    params(PageParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of processes; Link and X-Total-Count headers", body = PageResponse<ProcessResponse>),
        (status = 422, description = "Invalid page or size", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn list_processes(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = processes::list(state.read_db(), &params.paging(&req, &state)?).await?;
    let next = pagination::next_cursor(&req, &state, &page, |p| pagination::by_id(p.id));
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(page, ProcessResponse::from).with_next(next),
    ))
}

/// Get one live process with its steps.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}", tag = "processes",
    params(("process_id" = i64, Path, description = "Process id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The process", body = ProcessResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_process(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let process = processes::get(&state.db, path.into_inner()).await?;
    let tag = conditional::tag(etag::process_tag(&process))?;
    conditional::tagged(&req, &tag, &ProcessResponse::from(process))
}

/// Change a process's name and/or metadata.
#[utoipa::path(
    patch, path = "/api/v1/processes/{process_id}", tag = "processes",
    params(("process_id" = i64, Path, description = "Process id")),
    request_body = UpdateProcessRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The updated process", body = ProcessResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn update_process(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<UpdateProcessRequest>,
) -> ApiResult<HttpResponse> {
    let changes = body.into_inner().into_domain()?;
    let pre = conditional::precondition(&req)?;
    let id = path.into_inner();
    let process = processes::update(&state.db, &auth.actor(), id, changes, pre.as_ref()).await?;
    let tag = conditional::tag(etag::process_tag(&process))?;
    Ok(conditional::written(&tag, &ProcessResponse::from(process)))
}
