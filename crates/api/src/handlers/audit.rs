use actix_web::{HttpRequest, HttpResponse, web};
use procdash_persistence::audit::{chain, query};

use crate::auth::{Admin, Auth};
use crate::dto::change::{ChangeParams, ChangeResponse, ExportParams, VerifyChainResponse};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::{changes, file_stream};
use crate::pagination::{self, PageResponse};
use crate::responses;
use crate::state::AppState;

/// The change log, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit/changes", tag = "audit",
    params(ChangeParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of changes", body = PageResponse<ChangeResponse>),
        (status = 422, description = "Invalid filter or page", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly, responses::Paged,
    )
)]
pub async fn list_changes(
    _auth: Auth<Admin>,
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<ChangeParams>,
) -> ApiResult<HttpResponse> {
    let paging = pagination::paging(
        &req,
        &state,
        params.page,
        params.size,
        params.cursor.as_deref(),
        1000,
    )?;
    let found = query::list(state.read_db(), &params.filter()?, &paging).await?;
    let next = pagination::next_cursor(&req, &state, &found, |c| pagination::by_id(c.id));
    Ok(pagination::respond(
        &req,
        PageResponse::from_page(found, ChangeResponse::from).with_next(next),
    ))
}

/// The filtered change log as CSV or XLSX, streamed.
#[utoipa::path(
    get, path = "/api/v1/audit/changes/export", tag = "audit",
    params(ExportParams),
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "CSV (format=csv) or an XLSX workbook (format=xlsx), as an attachment",
            content(
                (String = "text/csv"),
                (responses::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "attachment; filename=changes.csv or changes.xlsx")),
        ),
        (status = 422, description = "format is not csv or xlsx", body = ErrorBody),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn export_changes(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
    params: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let filter = params.filter()?;
    match params.format.as_deref().unwrap_or("csv") {
        "csv" => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                "attachment; filename=\"changes.csv\"",
            ))
            .streaming(changes::csv_stream(state.read_db().clone(), filter))),
        "xlsx" => {
            let file = changes::xlsx_file(state.read_db(), &filter)
                .await
                .map_err(ApiError::Internal)?;
            let body = file_stream::stream_file(file)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(HttpResponse::Ok()
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .insert_header((
                    "Content-Disposition",
                    "attachment; filename=\"changes.xlsx\"",
                ))
                .streaming(body))
        }
        _ => Err(ApiError::field("format", "must be csv or xlsx")),
    }
}

/// Seal pending rows, then walk the hash chain across the archive and the live log.
#[utoipa::path(
    get, path = "/api/v1/audit/verify", tag = "audit",
    security(("api_key" = ["admin"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "ok, rows checked, and the first broken row if any", body = VerifyChainResponse),
        responses::Common, responses::Authenticated, responses::AdminOnly,
    )
)]
pub async fn verify_chain(
    _auth: Auth<Admin>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<VerifyChainResponse>> {
    let v = chain::verify(&state.db).await?;
    Ok(web::Json(VerifyChainResponse {
        ok: v.ok,
        checked: v.checked,
        first_broken_id: v.first_broken_id,
    }))
}
