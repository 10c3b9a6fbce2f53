use actix_web::{HttpRequest, HttpResponse, web};
use procdash_domain::FieldError;
use procdash_persistence::repo::run_export;

use crate::auth::{AnyRole, Auth};
use crate::dto::dashboards::DashboardParams;
use crate::dto::run::RunListParams;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::runs::{RunExport, csv_stream, xlsx_file};
use crate::export::{dashboard, file_stream};
use crate::handlers::{dashboards, search};
use crate::query::{single, with_taken};
use crate::responses;
use crate::state::AppState;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn attachment(name: &str) -> (&'static str, String) {
    (
        "Content-Disposition",
        format!("attachment; filename=\"{name}\""),
    )
}

/// Export the runs of `GET /runs/` (every filter) as CSV or XLSX, optionally narrowed by the
/// `q` of search: one row per run, ordered by id, with one column per step name holding the
/// status of the run's step run. Streamed, read in batches. Cells starting with `= + - @`, tab
/// or CR are prefixed with `'`. User keys get entity_id, entity_name and meta redacted.
#[utoipa::path(
    get, path = "/api/v1/runs/export", tag = "runs",
    params(
        ("format" = Option<String>, Query, description = "csv (default) or xlsx", example = "xlsx"),
        ("q" = Option<String>, Query, description = "Only runs matching this search text, as in GET /runs/search"),
        ("process_id" = Option<i64>, Query, description = "As in GET /runs/; also picks the step columns (without it, the step names of every live process)"),
        ("entity_id" = Option<String>, Query, description = "As in GET /runs/"),
        ("entity_name" = Option<String>, Query, description = "As in GET /runs/"),
        ("status" = Option<String>, Query, description = "As in GET /runs/ (also run_status)"),
        ("created_after" = Option<String>, Query, description = "As in GET /runs/"),
        ("created_before" = Option<String>, Query, description = "As in GET /runs/"),
        ("started_after" = Option<String>, Query, description = "As in GET /runs/"),
        ("started_before" = Option<String>, Query, description = "As in GET /runs/"),
        ("finished_after" = Option<String>, Query, description = "As in GET /runs/"),
        ("finished_before" = Option<String>, Query, description = "As in GET /runs/"),
        ("failed_at" = Option<i64>, Query, description = "As in GET /runs/"),
        ("health" = Option<String>, Query, description = "As in GET /runs/"),
        ("meta_filter" = Option<Vec<String>>, Query, explode, description = "As in GET /runs/, repeatable"),
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "CSV (format=csv) or an XLSX workbook (format=xlsx), as an attachment",
            content(
                (String = "text/csv"),
                (responses::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "attachment; filename=runs.csv or runs.xlsx")),
        ),
        (status = 400, description = "A meta_filter item is malformed", body = ErrorBody),
        (status = 404, description = "q with a process_id that names no live process", body = ErrorBody),
        (status = 422, description = "Unknown format, invalid filter or q, a paging or order parameter (the export is by id), or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn export_runs(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (params, taken): (RunListParams, _) = with_taken(&req, &["meta_filter", "format", "q"])?;
    let mut taken = taken.into_iter();
    let meta_items = taken.next().unwrap_or_default();
    let format = single("format", taken.next().unwrap_or_default())?;
    let q = single("q", taken.next().unwrap_or_default())?;
    let mut errors = Vec::new();
    let listing_only = [
        ("page", params.page.is_some()),
        ("size", params.size.is_some()),
        ("cursor", params.cursor.is_some()),
        ("order_by", params.order_by.is_some()),
        ("sort_direction", params.sort_direction.is_some()),
    ];
    for (name, given) in listing_only {
        if given {
            errors.push(FieldError::new(
                name,
                "not supported by the export (it is ordered by id)",
            ));
        }
    }
    let xlsx = match format.as_deref() {
        None | Some("csv") => false,
        Some("xlsx") => true,
        Some(_) => {
            errors.push(FieldError::new("format", "must be csv or xlsx"));
            false
        }
    };
    let (mut filter, _) = match params.parse(&meta_items) {
        Ok(parsed) if errors.is_empty() => parsed,
        Ok(_) => return Err(ApiError::Validation(errors)),
        Err(e) => {
            return Err(crate::error::merge(
                Some(ApiError::Validation(errors)),
                Some(e),
            ));
        }
    };
    if let Some(health) = filter.health.as_ref().and_then(|h| h.health) {
        filter.health = Some(state.health.rules(state.read_db()).await?.condition(health));
    }
    let search = match q {
        Some(q) => Some(search::run_search_for(&state, &q, filter.process_id).await?),
        None => None,
    };
    let steps = run_export::steps(state.read_db(), filter.process_id).await?;
    let export = RunExport::new(filter, search, !auth.is_admin(), &steps);
    if xlsx {
        let file = xlsx_file(state.read_db(), &export)
            .await
            .map_err(ApiError::Internal)?;
        let body = file_stream::stream_file(file)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header(attachment("runs.xlsx"))
            .streaming(body));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment("runs.csv"))
        .streaming(csv_stream(state.read_db().clone(), export)))
}

/// The process dashboard's tables as CSV: statistics, steps and the latest 50 runs, each under
/// a line with its name. User keys get entity ids and names redacted.
#[utoipa::path(
    get, path = "/api/v1/dashboard/process/{process_id}/export", tag = "dashboards",
    params(
        ("process_id" = i64, Path, description = "Process id"),
        ("format" = Option<String>, Query, description = "csv (the default and only format)", example = "csv"),
        DashboardParams,
    ),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The dashboard as CSV, as an attachment", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "attachment; filename=dashboard-<id>.csv"))),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Bad id, since or until, a format other than csv, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn export_process_dashboard(
    auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (params, mut taken): (DashboardParams, _) = with_taken(&req, &["format"])?;
    match single("format", taken.pop().unwrap_or_default())?.as_deref() {
        None | Some("csv") => {}
        Some(_) => return Err(ApiError::field("format", "must be csv")),
    }
    let id = path.into_inner();
    let board = dashboards::dashboard_of(&state, id, &params).await?;
    let body =
        dashboard::csv(&board, !auth.is_admin()).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment(&format!("dashboard-{id}.csv")))
        .body(body))
}
