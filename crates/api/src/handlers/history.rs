use actix_web::{HttpRequest, HttpResponse, web};
use procdash_persistence::audit::query::{self, ChangeFilter};
use procdash_persistence::repo::{processes, runs, step_runs};

use crate::auth::{AnyRole, Auth};
use crate::dto::change::{ChangeResponse, HistoryParams};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageResponse};
use crate::responses;
use crate::state::AppState;

async fn history(
    auth: &Auth<AnyRole>,
    req: &HttpRequest,
    state: &AppState,
    entity: &str,
    record_id: i64,
    params: &HistoryParams,
) -> ApiResult<HttpResponse> {
    let page = pagination::paging(
        req,
        state,
        params.page,
        params.size,
        params.cursor.as_deref(),
        procdash_domain::page::MAX_PAGE_SIZE,
    )?;
    let filter = ChangeFilter {
        entity: Some(entity.to_owned()),
        record_id: Some(record_id),
        ..ChangeFilter::default()
    };
    let found = query::list(state.read_db(), &filter, &page).await?;
    let next = pagination::next_cursor(req, state, &found, |c| pagination::by_id(c.id));
    let admin = auth.is_admin();
    let body = PageResponse::from_page(found, |r| {
        let change = ChangeResponse::from(r);
        if admin { change } else { change.redact_pii() }
    })
    .with_next(next);
    Ok(pagination::respond(req, body))
}

/// The change history of a process, newest first.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/history", tag = "history",
    params(("process_id" = i64, Path, description = "Process id"), HistoryParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Changes, newest first; personal data redacted for user keys", body = PageResponse<ChangeResponse>),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Invalid id or page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn process_history(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<HistoryParams>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    processes::get(state.read_db(), id).await?;
    history(&auth, &req, &state, "process", id, &params).await
}

/// The change history of a run, newest first.
#[utoipa::path(
    get, path = "/api/v1/runs/{run_id}/history", tag = "history",
    params(("run_id" = i64, Path, description = "Run id"), HistoryParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Changes, newest first; personal data redacted for user keys", body = PageResponse<ChangeResponse>),
        (status = 404, description = "No such live run", body = ErrorBody),
        (status = 422, description = "Invalid id or page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn run_history(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<HistoryParams>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    runs::get(state.read_db(), id).await?;
    history(&auth, &req, &state, "run", id, &params).await
}

/// The change history of a step run, newest first.
#[utoipa::path(
    get, path = "/api/v1/step-runs/{step_run_id}/history", tag = "history",
    params(("step_run_id" = i64, Path, description = "Step run id"), HistoryParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Changes, newest first; personal data redacted for user keys", body = PageResponse<ChangeResponse>),
        (status = 404, description = "No such live step run", body = ErrorBody),
        (status = 422, description = "Invalid id or page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn step_run_history(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<HistoryParams>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    step_runs::get(state.read_db(), id).await?;
    history(&auth, &req, &state, "step_run", id, &params).await
}
