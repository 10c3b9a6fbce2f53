//! The route table: every API route is listed once here. The same list registers the routes
//! with actix and is compared with the OpenAPI document in tests, so neither can drift.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};

use crate::error::ApiError;
use crate::handlers::{
    api_keys, audit, audit_logs, auth, bulk_runs, bulk_step_runs, cleanup, dashboards, db_admin,
    entities, events, exports, fields, history, kpis, lifecycle, processes, reruns, run_metadata,
    runs, search, step_runs, steps, webhooks,
};

/// Collects (method, path relative to the API prefix, route).
#[derive(Default)]
pub struct RouteTable {
    pub entries: Vec<(Method, &'static str, Route)>,
}

impl RouteTable {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.entries
            .push((method.clone(), path, web::method(method).to(handler)));
    }
}

/// Every route under the API prefix.
pub fn api_routes() -> RouteTable {
    let mut t = RouteTable::default();
    t.add(Method::POST, "/processes/", processes::create_process);
    t.add(Method::GET, "/processes/", processes::list_processes);
    t.add(
        Method::GET,
        "/processes/{process_id}",
        processes::get_process,
    );
    t.add(
        Method::PATCH,
        "/processes/{process_id}",
        processes::update_process,
    );
    t.add(Method::POST, "/steps/", steps::create_step);
    t.add(Method::GET, "/steps/{step_id}", steps::get_step);
    t.add(
        Method::GET,
        "/steps/process/{process_id}",
        steps::list_process_steps,
    );
    t.add(
        Method::GET,
        "/steps/process/{process_id}/rerunnable",
        steps::list_rerunnable_steps,
    );
    t.add(Method::POST, "/runs/", runs::create_run);
    t.add(Method::GET, "/runs/", runs::list_runs);
    t.add(Method::POST, "/runs/bulk", bulk_runs::bulk_create_runs);
    // Before /runs/{run_id}, which would otherwise take "search" for an id.
    t.add(Method::GET, "/runs/search", search::search_runs);
    t.add(Method::GET, "/runs/export", exports::export_runs);
    t.add(Method::GET, "/runs/{run_id}", runs::get_run);
    t.add(
        Method::PATCH,
        "/runs/{run_id}/metadata",
        run_metadata::update_run_metadata,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/searchable-fields",
        fields::searchable_fields,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/filter-metadata",
        fields::filter_metadata,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/kpis",
        kpis::process_kpis,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/kpis/forecast",
        kpis::forecast_process_kpi,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/kpis/export",
        kpis::export_process_kpis,
    );
    t.add(
        Method::GET,
        "/entities/{entity_id}/runs",
        entities::entity_runs,
    );
    t.add(Method::POST, "/step-runs/", step_runs::create_step_run);
    // Before /step-runs/{step_run_id}, which would otherwise take "rerun" for an id.
    t.add(Method::POST, "/step-runs/rerun", reruns::bulk_rerun);
    t.add(
        Method::POST,
        "/step-runs/bulk",
        bulk_step_runs::bulk_update_step_runs,
    );
    t.add(
        Method::PATCH,
        "/step-runs/{step_run_id}",
        step_runs::update_step_run,
    );
    t.add(
        Method::GET,
        "/step-runs/{step_run_id}",
        step_runs::get_step_run,
    );
    t.add(
        Method::GET,
        "/step-runs/run/{run_id}",
        step_runs::list_run_step_runs,
    );
    t.add(
        Method::GET,
        "/step-runs/run/{run_id}/step/{step_id}",
        step_runs::get_run_step_run,
    );
    t.add(
        Method::POST,
        "/step-runs/{step_run_id}/rerun",
        reruns::rerun_step_run,
    );
    t.add(
        Method::GET,
        "/step-runs/{step_run_id}/attempts",
        reruns::list_attempts,
    );
    t.add(
        Method::GET,
        "/step-runs/{step_run_id}/dispatch",
        reruns::get_dispatch,
    );
    t.add(
        Method::GET,
        "/step-runs/run/{run_id}/rerunnable",
        reruns::list_rerunnable_step_runs,
    );
    t.add(Method::POST, "/webhooks/", webhooks::create_webhook);
    t.add(Method::GET, "/webhooks/", webhooks::list_webhooks);
    t.add(Method::GET, "/webhooks/{webhook_id}", webhooks::get_webhook);
    t.add(
        Method::DELETE,
        "/webhooks/{webhook_id}",
        webhooks::delete_webhook,
    );
    t.add(
        Method::GET,
        "/webhooks/{webhook_id}/deliveries",
        webhooks::list_deliveries,
    );
    t.add(
        Method::POST,
        "/webhooks/{webhook_id}/test",
        webhooks::test_webhook,
    );
    t.add(Method::POST, "/api-keys/", api_keys::create_api_key);
    t.add(Method::GET, "/api-keys/", api_keys::list_api_keys);
    t.add(
        Method::GET,
        "/admin/api-keys/",
        api_keys::list_api_keys_admin,
    );
    t.add(Method::GET, "/api-keys/{key_id}", api_keys::get_api_key);
    t.add(
        Method::DELETE,
        "/api-keys/{key_id}",
        api_keys::revoke_api_key,
    );
    t.add(
        Method::PATCH,
        "/api-keys/{key_id}/toggle",
        api_keys::toggle_api_key,
    );
    t.add(Method::GET, "/dashboard/overview", dashboards::overview);
    t.add(
        Method::GET,
        "/dashboard/overview/{process_id}",
        dashboards::process_overview,
    );
    t.add(
        Method::GET,
        "/dashboard/process/{process_id}",
        dashboards::process_dashboard,
    );
    t.add(
        Method::GET,
        "/dashboard/process/{process_id}/export",
        exports::export_process_dashboard,
    );
    t.add(Method::GET, "/auth/verify", auth::verify);
    t.add(Method::GET, "/auth/me", auth::me);
    t.add(Method::GET, "/auth/usage-stats", auth::usage_stats);
    t.add(Method::POST, "/auth/token", auth::issue_token);
    t.add(Method::GET, "/audit-logs/", audit_logs::list_request_logs);
    t.add(Method::GET, "/audit-logs/stats", audit_logs::request_stats);
    t.add(
        Method::DELETE,
        "/processes/{process_id}",
        lifecycle::delete_process,
    );
    t.add(
        Method::POST,
        "/processes/{process_id}/restore",
        lifecycle::restore_process,
    );
    t.add(
        Method::PUT,
        "/processes/{process_id}/retention",
        lifecycle::set_retention,
    );
    t.add(
        Method::GET,
        "/processes/{process_id}/history",
        history::process_history,
    );
    t.add(Method::DELETE, "/runs/{run_id}", lifecycle::delete_run);
    t.add(
        Method::POST,
        "/runs/{run_id}/restore",
        lifecycle::restore_run,
    );
    t.add(
        Method::POST,
        "/runs/{run_id}/neutralize",
        lifecycle::neutralize_run,
    );
    t.add(Method::GET, "/runs/{run_id}/history", history::run_history);
    t.add(
        Method::GET,
        "/step-runs/{step_run_id}/history",
        history::step_run_history,
    );
    t.add(Method::GET, "/audit/changes", audit::list_changes);
    t.add(Method::GET, "/audit/changes/export", audit::export_changes);
    t.add(Method::GET, "/audit/verify", audit::verify_chain);
    t.add(Method::GET, "/admin/cleanup/stats", cleanup::cleanup_stats);
    t.add(
        Method::POST,
        "/admin/cleanup/neutralize",
        cleanup::cleanup_neutralize,
    );
    t.add(Method::GET, "/admin/db/export.zip", db_admin::export_zip);
    t.add(
        Method::GET,
        "/admin/db/backup.sqlite",
        db_admin::backup_sqlite,
    );
    t.add(Method::POST, "/admin/db/restore", db_admin::restore_sqlite);
    t.add(Method::GET, "/events", events::stream_events);
    t
}

/// The first segment of a route path: routes are grouped into one scope per family so the
/// router compares a static prefix before it tries any pattern with parameters.
fn family(path: &str) -> &str {
    let rest = path.trim_start_matches('/');
    let end = rest.find('/').map_or(path.len(), |i| i + 1);
    &path[..end]
}

/// Registers the table under `prefix`: one scope per family, one resource per path (so a wrong
/// method is a 405). Paths are registered without a trailing slash; [`trim_trailing_slash`]
/// makes the slash optional for clients.
pub fn register(cfg: &mut web::ServiceConfig, prefix: &str, table: RouteTable) {
    let mut entries: Vec<_> = table.entries.into_iter().map(Some).collect();
    let mut families: Vec<&'static str> = Vec::new();
    let mut paths: Vec<&'static str> = Vec::new();
    for (_, path, _) in entries.iter().flatten() {
        let f = family(path);
        if !families.contains(&f) {
            families.push(f);
        }
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    for f in families {
        let mut scope = web::scope(&format!("{prefix}{f}")).default_service(web::to(not_found));
        for path in paths.iter().filter(|p| family(p) == f) {
            let rest = path[f.len()..].trim_end_matches('/');
            let mut resource = web::resource(rest).default_service(web::to(method_not_allowed));
            for slot in &mut entries {
                if slot.as_ref().is_some_and(|(_, p, _)| p == path)
                    && let Some((_, _, route)) = slot.take()
                {
                    resource = resource.route(route);
                }
            }
            // The idempotency layer wraps the panic boundary, so a panic's 500 releases the key.
            scope = scope.service(
                resource
                    .wrap(actix_web::middleware::from_fn(
                        crate::panic_boundary::middleware,
                    ))
                    .wrap(actix_web::middleware::from_fn(
                        crate::idempotency::middleware,
                    )),
            );
        }
        cfg.service(scope);
    }
}

/// The path as the client sent it, before the trailing slash was trimmed.
#[derive(Debug, Clone)]
pub struct RequestedPath(pub String);

/// Drops trailing slashes from API paths before routing, keeping the query string.
pub async fn trim_trailing_slash(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let in_api = req
        .app_data::<web::Data<crate::state::AppState>>()
        .is_some_and(|s| req.path().starts_with(&s.info.prefix));
    let path = req.path();
    if in_api && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let uri = match req.query_string() {
            "" => trimmed.to_owned(),
            q => format!("{trimmed}?{q}"),
        };
        if let Ok(uri) = uri.parse::<actix_web::http::Uri>() {
            use actix_web::HttpMessage;
            req.extensions_mut()
                .insert(RequestedPath(req.path().to_owned()));
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "No route for {} {}",
        req.method(),
        req.path()
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn families_are_first_segments() {
        assert_eq!(super::family("/runs/{run_id}/history"), "/runs");
        assert_eq!(super::family("/processes/"), "/processes");
        assert_eq!(super::family("/audit-logs/stats"), "/audit-logs");
    }
}
