//! A business entity's journey across processes.

use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::validation::check_entity_id;
use procdash_persistence::repo::entities;

use crate::auth::{AnyRole, Auth};
use crate::dto::entities::EntityRunResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::pagination::{self, PageParams, PageResponse};
use crate::responses;
use crate::state::AppState;

/// Every live run of one business entity across live processes, newest first.
#[utoipa::path(
    get, path = "/api/v1/entities/{entity_id}/runs", tag = "runs",
    params(("entity_id" = String, Path, description = "The business entity's id", max_length = 100), PageParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One page of the entity's runs, created_at then id descending; Link and X-Total-Count headers", body = PageResponse<EntityRunResponse>),
        (status = 404, description = "Not returned for an unknown entity (that is an empty page); listed because the path has a parameter", body = ErrorBody),
        (status = 422, description = "Blank or over-long entity id, or invalid page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::Paged,
    )
)]
pub async fn entity_runs(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let entity_id = check_entity_id("entity_id", &path.into_inner());
    let (entity_id, page) = match (entity_id, params.paging(&req, &state)) {
        (Ok(entity_id), Ok(page)) => (entity_id, page),
        (entity_id, page) => {
            return Err(crate::error::merge(
                entity_id.err().map(|e| ApiError::Validation(vec![e])),
                page.err(),
            ));
        }
    };
    let found = entities::journey(state.read_db(), &entity_id, &page).await?;
    let next = pagination::next_cursor(&req, &state, &found, |r| {
        pagination::by_time(r.created_at, r.run_id)
    });
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(found, EntityRunResponse::from).with_next(next),
    ))
}
