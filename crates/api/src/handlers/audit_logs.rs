use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use procdash_persistence::repo::request_logs::{self, RequestLogFilter};

use crate::auth::{Admin, Auth};
use crate::dto::request_log::{
    RequestLogParams, RequestLogResponse, RequestStatsResponse, StatsParams,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::pagination::{self, PageResponse};
use crate::responses;
use crate::state::AppState;

/// A day: no request takes longer, and NaN or infinity never reach a query.
const MAX_DURATION_MS: f64 = 86_400_000.0;

/// The request log, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit-logs/", tag = "audit-logs",
    params(RequestLogParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of logged requests", body = PageResponse<RequestLogResponse>),
        (status = 422, description = "Invalid filter or page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::Paged,
    )
)]
pub async fn list_request_logs(
    _auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<RequestLogParams>,
) -> ApiResult<HttpResponse> {
    let page = pagination::paging(
        &req,
        &state,
        params.page,
        params.size,
        params.cursor.as_deref(),
        procdash_domain::page::MAX_PAGE_SIZE,
    )?;
    crate::dto::change::window(params.since, params.until)?;
    if params
        .min_duration
        .is_some_and(|d| !(0.0..=MAX_DURATION_MS).contains(&d))
    {
        return Err(ApiError::field(
            "min_duration",
            format!("must be a number of milliseconds between 0 and {MAX_DURATION_MS}"),
        ));
    }
    let p = params.into_inner();
    let filter = RequestLogFilter {
        api_key_id: p.api_key_id,
        method: p.method,
        path_contains: p.path,
        status_code: p.status_code,
        min_duration_ms: p.min_duration,
        since: p.since,
        until: p.until,
    };
    let found = request_logs::list(state.read_db(), &filter, &page).await?;
    let next = pagination::next_cursor(&req, &state, &found, |r| {
        pagination::by_time(r.occurred_at, r.id)
    });
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(found, RequestLogResponse::from).with_next(next),
    ))
}

/// Aggregates over the request log for the last `hours`.
#[utoipa::path(
    get, path = "/api/v1/audit-logs/stats", tag = "audit-logs",
    params(StatsParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Request statistics", body = RequestStatsResponse),
        (status = 422, description = "hours out of range", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn request_stats(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    params: web::Query<StatsParams>,
) -> ApiResult<web::Json<RequestStatsResponse>> {
    let hours = params.hours.unwrap_or(24);
    if !(1..=8760).contains(&hours) {
        return Err(ApiError::field("hours", "must be between 1 and 8760"));
    }
    let stats = request_logs::stats(state.read_db(), Utc::now() - Duration::hours(hours)).await?;
    Ok(web::Json(RequestStatsResponse::new(hours, stats)))
}
