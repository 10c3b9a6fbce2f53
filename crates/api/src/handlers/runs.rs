use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::PageRequest;
use procdash_persistence::repo::runs;

use crate::auth::{AnyRole, Auth};
use crate::dto::run::{CreateRunRequest, RunListParams, RunResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageResponse};
use crate::query::with_repeated;
use crate::responses;
use crate::state::AppState;

/// Start a run of a process: one pending step run per live step.
#[utoipa::path(
    post, path = "/api/v1/runs/", tag = "runs",
    request_body = CreateRunRequest,
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The run, pending, with its step runs", body = RunResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::JsonBody,
    )
)]
pub async fn create_run(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: web::Json<CreateRunRequest>,
) -> ApiResult<HttpResponse> {
    let new = body.into_inner().into_domain()?;
    let run = runs::create(&state.db, &auth.actor(), new).await?;
    Ok(HttpResponse::Created().json(RunResponse::from(run)))
}

/// List live runs with filters, sorting and pagination.
#[utoipa::path(
    get, path = "/api/v1/runs/", tag = "runs",
    params(
        RunListParams,
        ("meta_filter" = Option<Vec<String>>, Query, explode,
            description = "`field:value`, repeatable. Split on the first colon, both sides trimmed. \
                Values of one field are OR'ed, fields AND'ed. The value compares with the text of \
                the JSON scalar (`n:5` matches 5 and \"5\", `flag:true`, `x:null`); objects and \
                arrays never match. Dots address nested fields (`address.city:Aarhus`).",
            example = json!(["clinic:Viby"])),
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of runs; Link and X-Total-Count headers", body = PageResponse<RunResponse>),
        (status = 400, description = "A meta_filter item is malformed (no colon, empty field or segment); the message names it", body = ErrorBody),
        (status = 422, description = "Invalid filter, order or page, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn list_runs(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (params, meta_items): (RunListParams, _) = with_repeated(&req, "meta_filter")?;
    let page = PageRequest::new(params.page, params.size);
    let parsed = params.parse(&meta_items);
    let (page, (filter, order)) = match (page, parsed) {
        (Ok(page), Ok(parsed)) => (page, parsed),
        (page, parsed) => {
            return Err(crate::error::merge(
                page.err().map(Into::into),
                parsed.err(),
            ));
        }
    };
    let found = runs::list(&state.db, &filter, order, page).await?;
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(found, RunResponse::from),
    ))
}

/// Get one live run with its step runs.
#[utoipa::path(
    get, path = "/api/v1/runs/{run_id}", tag = "runs",
    params(("run_id" = i64, Path, description = "Run id")),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The run", body = RunResponse),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "The id is not an integer", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn get_run(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<web::Json<RunResponse>> {
    Ok(web::Json(
        runs::get(&state.db, path.into_inner()).await?.into(),
    ))
}
