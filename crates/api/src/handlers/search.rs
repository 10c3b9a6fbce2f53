use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::search::{MetaScope, SearchText, annotate};
use procdash_persistence::repo::processes;
use procdash_persistence::repo::run_search::{self, RunSearch};

use crate::auth::{AnyRole, Auth};
use crate::dto::run::RunResponse;
use crate::dto::search::{SearchHitResponse, SearchParams, process_scope};
use crate::error::{ApiResult, ErrorBody};
use crate::pagination::{self, PageResponse};
use crate::responses;
use crate::state::AppState;

/// The search for `q`, in the metadata the process declares (or, without a process, every
/// process's metadata when SEARCH_ALL_META is on). A missing process is a 404.
pub(crate) async fn run_search_for(
    state: &AppState,
    q: &str,
    process_id: Option<i64>,
) -> ApiResult<RunSearch> {
    let text = SearchText::parse(q)?;
    let meta = match process_id {
        Some(id) => process_scope(&processes::get(state.read_db(), id).await?.meta),
        None if state.info.search_all_meta => MetaScope::AllScalars,
        None => MetaScope::None,
    };
    Ok(RunSearch {
        text,
        process_id,
        meta,
    })
}

/// Search live runs by a substring of entity_id, entity_name, status and metadata, with the
/// fields that matched.
#[utoipa::path(
    get, path = "/api/v1/runs/search", tag = "runs",
    params(SearchParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of matches, newest first; Link and X-* headers", body = PageResponse<SearchHitResponse>),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "q missing, empty or over 200 characters; bad page; unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn search_runs(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let page = pagination::paging(
        &req,
        &state,
        params.page,
        params.size,
        params.cursor.as_deref(),
        procdash_domain::page::MAX_PAGE_SIZE,
    )?;
    let search = run_search_for(&state, &params.q, params.process_id).await?;
    let found = run_search::search(state.read_db(), &search, &page).await?;
    let rules = state.health.rules(state.read_db()).await?;
    let next = pagination::next_cursor(&req, &state, &found, |r| {
        pagination::by_time(r.created_at, r.id)
    });
    let body = PageResponse::from_page(found, |run| SearchHitResponse {
        matches: annotate(&run, &search.text, &search.meta)
            .into_iter()
            .map(Into::into)
            .collect(),
        run: {
            let health = rules.of(&run);
            RunResponse::new(run, health)
        },
    })
    .with_next(next);
    Ok(pagination::respond(&req, body))
}
