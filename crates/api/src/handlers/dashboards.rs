use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use procdash_domain::dashboard::{hms, percent};
use procdash_domain::{PageRequest, Paging, RunFilter, RunOrder};
use procdash_persistence::audit;
use procdash_persistence::repo::dashboards::{self, RunCounts, RunScope};
use procdash_persistence::repo::{processes, runs};

use crate::auth::{AnyRole, Auth};
use crate::dto::change::window;
use crate::dto::dashboards::{
    DashboardParams, DashboardProcess, DashboardRun, DashboardStatistics, DashboardStep, Overview,
    OverviewParams, OverviewProcess, ProcessDashboard, ProcessOverview,
};
use crate::dto::process::ProcessResponse;
use crate::dto::run::RunResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::health::HealthRules;
use crate::pagination::{self, PageResponse};
use crate::responses;
use crate::state::AppState;

/// How many of the latest runs the process dashboard lists.
const LATEST_RUNS: u64 = 50;

/// The counts of one process (zero when it has no runs in scope).
async fn counts_of(
    state: &AppState,
    rules: &HealthRules,
    scope: &RunScope,
) -> ApiResult<Vec<(RunCounts, i64)>> {
    let recent = rules.now - Duration::hours(24);
    let counts =
        dashboards::run_counts(state.read_db(), scope, recent, rules.late_before()).await?;
    let stuck = dashboards::stuck_counts(state.read_db(), scope, &rules.stuck_before()).await?;
    Ok(counts
        .into_iter()
        .map(|c| {
            let s = stuck.get(&c.process_id).copied().unwrap_or(0);
            (c, s)
        })
        .collect())
}

fn finished(c: &RunCounts) -> i64 {
    c.completed + c.failed + c.cancelled
}

/// One process: its latest runs, statistics and the step breakdown.
///
/// A computed dashboard is reused until the next audited write, for at most
/// `DASHBOARD_CACHE_SECONDS` (default 5).
#[utoipa::path(
    get, path = "/api/v1/dashboard/process/{process_id}", tag = "dashboards",
    params(("process_id" = i64, Path, description = "Process id"), DashboardParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The process dashboard", body = ProcessDashboard),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Bad id, since or until, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn process_dashboard(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<DashboardParams>,
) -> ApiResult<HttpResponse> {
    let board = dashboard_of(&state, path.into_inner(), &params).await?;
    Ok(HttpResponse::Ok().json(&*board))
}

/// The dashboard of one process: what `GET /dashboard/process/{id}` answers and its CSV export
/// holds. Reused while the data version stands (see [`crate::aggregate_cache`]).
pub(crate) async fn dashboard_of(
    state: &AppState,
    process_id: i64,
    params: &DashboardParams,
) -> ApiResult<Arc<ProcessDashboard>> {
    window(params.since, params.until)?;
    let version = audit::version::data_version(state.read_db()).await?;
    let key = format!("{process_id}|{:?}|{:?}", params.since, params.until);
    state
        .aggregates
        .process_dashboards
        .get_or_compute(&key, version, compute_dashboard(state, process_id, params))
        .await
}

async fn compute_dashboard(
    state: &AppState,
    process_id: i64,
    params: &DashboardParams,
) -> ApiResult<ProcessDashboard> {
    let process = processes::get(state.read_db(), process_id).await?;
    let scope = RunScope {
        process_id: Some(process.id),
        since: params.since,
        until: params.until,
    };
    let rules = state.health.rules(state.read_db()).await?;
    let (counts, stuck) = counts_of(state, &rules, &scope)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let completion = dashboards::completion_times(state.read_db(), &scope)
        .await?
        .remove(&process.id)
        .unwrap_or_default();
    let filter = RunFilter {
        process_id: Some(process.id),
        created_after: params.since,
        created_before: params.until,
        ..RunFilter::default()
    };
    let latest = PageRequest::new(Some(1), Some(LATEST_RUNS as i64))?;
    let page = runs::list(
        state.read_db(),
        &filter,
        &RunOrder::default(),
        &Paging::Offset(latest),
    )
    .await?;
    let ids: Vec<i64> = page.items.iter().map(|r| r.id).collect();
    let success = dashboards::step_success(state.read_db(), &ids).await?;
    let runs = page
        .items
        .iter()
        .map(|r| {
            let (n, ok) = success.get(&r.id).copied().unwrap_or((0, 0));
            DashboardRun {
                id: r.id,
                entity_id: r.entity_id.clone(),
                entity_name: r.entity_name.clone(),
                status: r.status.into(),
                health: rules.of(r).into(),
                started_at: r.started_at,
                finished_at: r.finished_at,
                success_rate: percent(ok, n),
            }
        })
        .collect();
    let by_step = dashboards::step_status_counts(state.read_db(), &scope).await?;
    let durations = dashboards::step_durations(state.read_db(), &scope).await?;
    let empty = HashMap::new();
    let steps = process
        .steps
        .iter()
        .map(|s| {
            let c = by_step.get(&s.id).unwrap_or(&empty);
            let n = |status: &str| c.get(status).copied().unwrap_or(0);
            let ended = n("success") + n("failed") + n("cancelled") + n("optional");
            let d = durations.get(&s.id).copied().unwrap_or_default();
            DashboardStep {
                step_id: s.id,
                name: s.name.clone(),
                index: s.index,
                pending: n("pending"),
                running: n("running"),
                success: n("success"),
                failed: n("failed"),
                cancelled: n("cancelled"),
                optional: n("optional"),
                failure_rate: percent(n("failed"), ended),
                p50_duration_seconds: d.p50,
                p95_duration_seconds: d.p95,
            }
        })
        .collect();
    Ok(ProcessDashboard {
        process: DashboardProcess {
            id: process.id,
            name: process.name.clone(),
            total_steps: process.steps.len() as u64,
        },
        runs,
        statistics: DashboardStatistics {
            total_runs: counts.total(),
            pending_runs: counts.pending,
            running_runs: counts.running,
            completed_runs: counts.completed,
            failed_runs: counts.failed,
            cancelled_runs: counts.cancelled,
            late_runs: counts.late,
            stuck_runs: stuck,
            success_rate: percent(counts.completed, finished(&counts)),
            average_completion_time: completion.mean.map(hms),
            p50_completion_seconds: completion.p50,
            p95_completion_seconds: completion.p95,
        },
        steps,
    })
}

/// The seed's overview of one process: counts per status and a page of its runs.
#[utoipa::path(
    get, path = "/api/v1/dashboard/overview/{process_id}", tag = "dashboards",
    params(("process_id" = i64, Path, description = "Process id"), OverviewParams),
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Counts and one page of runs; Link and X-* headers describe the page", body = ProcessOverview),
        (status = 404, description = "No such live process", body = ErrorBody),
        (status = 422, description = "Bad id, page or size, or an unknown parameter", body = ErrorBody),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn process_overview(
    _auth: Auth<AnyRole>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    params: web::Query<OverviewParams>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::new(params.page, params.size)?;
    let process = processes::get(state.read_db(), path.into_inner()).await?;
    let rules = state.health.rules(state.read_db()).await?;
    let scope = RunScope {
        process_id: Some(process.id),
        ..RunScope::default()
    };
    let (counts, _) = counts_of(&state, &rules, &scope)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let filter = RunFilter {
        process_id: Some(process.id),
        ..RunFilter::default()
    };
    let found = runs::list(
        state.read_db(),
        &filter,
        &RunOrder::default(),
        &Paging::Offset(page),
    )
    .await?;
    let runs = PageResponse::from_page(found, |run| {
        let health = rules.of(&run);
        RunResponse::new(run, health)
    });
    // The headers describe the runs page; the body keeps the seed's shape around it.
    let headers = pagination::respond(
        &req,
        PageResponse::<()> {
            items: Vec::new(),
            total: runs.total,
            page: runs.page,
            size: runs.size,
            pages: runs.pages,
            next_cursor: None,
        },
    );
    let body = ProcessOverview {
        process: ProcessResponse::from(process),
        runs,
        total_runs: counts.total(),
        completed_runs: counts.completed,
        failed_runs: counts.failed,
        running_runs: counts.running,
        cancelled_runs: counts.cancelled,
        pending_runs: counts.pending,
    };
    let mut res = HttpResponse::Ok();
    for (name, value) in headers.headers() {
        if name != actix_web::http::header::CONTENT_TYPE
            && name != actix_web::http::header::CONTENT_LENGTH
        {
            res.insert_header((name.clone(), value.clone()));
        }
    }
    Ok(res.json(body))
}

/// Every live process in one call, most failures in the last 24 hours first.
///
/// A computed overview is reused until the next audited write, for at most
/// `DASHBOARD_CACHE_SECONDS` (default 5); `generated_at` says when it was computed.
#[utoipa::path(
    get, path = "/api/v1/dashboard/overview", tag = "dashboards",
    security(("api_key" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One row per live process", body = Overview),
        responses::Common, responses::Authenticated,
    )
)]
pub async fn overview(_auth: Auth<AnyRole>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let version = audit::version::data_version(state.read_db()).await?;
    let overview = state
        .aggregates
        .overview
        .get_or_compute("overview", version, compute_overview(&state))
        .await?;
    Ok(HttpResponse::Ok().json(&*overview))
}

/// Every live process's counts, computed now.
async fn compute_overview(state: &AppState) -> ApiResult<Overview> {
    let rules = state.health.rules(state.read_db()).await?;
    let counts: HashMap<i64, (RunCounts, i64)> = counts_of(state, &rules, &RunScope::default())
        .await?
        .into_iter()
        .map(|(c, s)| (c.process_id, (c, s)))
        .collect();
    let names = processes::live_names(state.read_db()).await?;
    let mut rows: Vec<OverviewProcess> = names
        .into_iter()
        .map(|(id, name)| {
            let (c, stuck) = counts.get(&id).cloned().unwrap_or_default();
            OverviewProcess {
                process_id: id,
                name,
                total_runs: c.total(),
                pending_runs: c.pending,
                running_runs: c.running,
                completed_runs: c.completed,
                failed_runs: c.failed,
                cancelled_runs: c.cancelled,
                success_rate: percent(c.completed, finished(&c)),
                runs_last_24h: c.recent_runs,
                failures_last_24h: c.recent_failures,
                late_runs: c.late,
                stuck_runs: stuck,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.failures_last_24h
            .cmp(&a.failures_last_24h)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.process_id.cmp(&b.process_id))
    });
    Ok(Overview {
        generated_at: Utc::now(),
        processes: rows,
    })
}
