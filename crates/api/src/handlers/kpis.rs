//! Process KPIs: buckets with anomalies, a forecast, and the export. Every number is read from
//! the KPI rollups (docs/dashboards.md).

use actix_web::{HttpResponse, web};
use procdash_domain::FieldError;
use procdash_domain::analytics::forecast::{self, MIN_HISTORY};
use procdash_domain::analytics::kpis::KpiBucket;
use procdash_domain::analytics::{BucketKind, BucketRange};
use procdash_persistence::clock;
use procdash_persistence::repo::kpis;

use crate::auth::{AnyRole, Auth};
use crate::dto::kpis::{
    ForecastPointResponse, ForecastQuery, ForecastResponse, KpiExportQuery, KpiQuery, KpiResponse,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::{file_stream, kpis as kpi_export};
use crate::responses;
use crate::state::AppState;

/// Seasons of history a forecast is fitted on, at most.
const FORECAST_SEASONS: i64 = 16;

fn range(from: Option<&str>, to: Option<&str>, bucket: Option<&str>) -> ApiResult<BucketRange> {
    BucketRange::parse(from, to, bucket, clock::now()).map_err(ApiError::Validation)
}

/// The KPIs of a process per day or hour: run counts, success rate, duration percentiles and
/// anomalies, every bucket of the range zero-filled.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/kpis", tag = "kpis",
    params(("process_id" = i64, Path, description = "Process id"), KpiQuery),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every bucket from `from` to `to`", body = KpiResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer, from/to is not an ISO date or date-time, from is after to, bucket is not day or hour, or the range spans more than 10,000 buckets", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn process_kpis(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<KpiQuery>,
) -> ApiResult<web::Json<KpiResponse>> {
    let range = range(
        params.from.as_deref(),
        params.to.as_deref(),
        params.bucket.as_deref(),
    )?;
    let series = kpis::read(state.read_db(), path.into_inner(), range).await?;
    Ok(web::Json(KpiResponse::from(series)))
}

/// The same buckets as `GET /processes/{process_id}/kpis`, as CSV or XLSX.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/kpis/export", tag = "kpis",
    params(("process_id" = i64, Path, description = "Process id"), KpiExportQuery),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "CSV (format=csv) or an XLSX workbook (format=xlsx), as an attachment",
            content(
                (String = "text/csv"),
                (responses::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("Content-Disposition" = String, description = "attachment; filename=kpis.csv or kpis.xlsx")),
        ),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "format is not csv or xlsx, or the range is invalid (as for the KPI listing)", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn export_process_kpis(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<KpiExportQuery>,
) -> ApiResult<HttpResponse> {
    let format = params.format.as_deref().unwrap_or("csv");
    if !matches!(format, "csv" | "xlsx") {
        return Err(ApiError::field("format", "must be csv or xlsx"));
    }
    let range = range(
        params.from.as_deref(),
        params.to.as_deref(),
        params.bucket.as_deref(),
    )?;
    let series = kpis::read(state.read_db(), path.into_inner(), range).await?;
    if format == "csv" {
        let chunks = kpi_export::csv_chunks(&series.buckets)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"kpis.csv\""))
            .streaming(body));
    }
    let file = kpi_export::xlsx_file(series.buckets)
        .await
        .map_err(ApiError::Internal)?;
    let body = file_stream::stream_file(file)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Content-Disposition", "attachment; filename=\"kpis.xlsx\""))
        .streaming(body))
}

fn metric_series(metric: &str, buckets: &[KpiBucket]) -> Vec<f64> {
    match metric {
        "runs_failed" => buckets.iter().map(|b| b.runs_failed as f64).collect(),
        "success_rate" => {
            // From the first bucket with a finished run on; a bucket without one carries the
            // previous rate forward.
            let mut last = None;
            buckets
                .iter()
                .filter_map(|b| {
                    last = b.success_rate.or(last);
                    last
                })
                .collect()
        }
        _ => buckets.iter().map(|b| b.runs_started as f64).collect(),
    }
}

/// A forecast of a KPI with a 95 % interval: MSTL with an AutoETS trend (augurs), with weekly
/// seasonality for days and daily seasonality for hours, fitted on the complete buckets since the
/// first run.
#[utoipa::path(
    get, path = "/api/v1/processes/{process_id}/kpis/forecast", tag = "kpis",
    params(("process_id" = i64, Path, description = "Process id"), ForecastQuery),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The next `horizon` buckets after the last complete one", body = ForecastResponse),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "The id is not an integer, metric or bucket is unknown, horizon is outside 1..=90, or the process has fewer than 14 buckets of history (the message says how many it has)", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn forecast_process_kpi(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<ForecastQuery>,
) -> ApiResult<web::Json<ForecastResponse>> {
    let mut errors = Vec::new();
    let metric = params.metric.as_deref().unwrap_or("runs_started");
    if !matches!(metric, "runs_started" | "runs_failed" | "success_rate") {
        errors.push(FieldError::new(
            "metric",
            "must be runs_started, runs_failed or success_rate",
        ));
    }
    let horizon = params.horizon.unwrap_or(14);
    let horizon = match usize::try_from(horizon) {
        Ok(h) if (1..=forecast::MAX_HORIZON).contains(&h) => h,
        _ => {
            errors.push(FieldError::new("horizon", "must be between 1 and 90"));
            1
        }
    };
    let kind = match params.bucket.as_deref().map(BucketKind::parse) {
        None => BucketKind::Day,
        Some(Ok(kind)) => kind,
        Some(Err(e)) => {
            errors.push(e);
            BucketKind::Day
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let last = kind.floor(clock::now()) - kind.seconds();
    let season = i64::try_from(kind.season()).unwrap_or(7);
    let buckets = kpis::history(
        state.read_db(),
        path.into_inner(),
        kind,
        last,
        FORECAST_SEASONS * season,
    )
    .await?;
    let series = metric_series(metric, &buckets);
    if series.len() < MIN_HISTORY {
        return Err(ApiError::field(
            "history",
            format!(
                "a forecast needs at least {MIN_HISTORY} complete {} buckets of history; the process has {}",
                kind.as_str(),
                series.len()
            ),
        ));
    }
    let bounds = if metric == "success_rate" {
        (0.0, 100.0)
    } else {
        (0.0, f64::MAX)
    };
    let fitted = forecast::forecast(&series, kind.season(), horizon, bounds)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let points = (1i64..)
        .zip(&fitted.points)
        .map(|(h, p)| ForecastPointResponse::new(last + h * kind.seconds(), p))
        .collect();
    Ok(web::Json(ForecastResponse {
        metric: metric.to_owned(),
        bucket: kind.as_str().to_owned(),
        model: fitted.model.name().to_owned(),
        history_buckets: series.len(),
        points,
    }))
}
