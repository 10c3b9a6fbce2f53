//! The route table: every API route is listed once here. The same list registers the routes
//! with actix and is compared with the OpenAPI document in tests, so neither can drift.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};

use crate::error::ApiError;
use crate::handlers::{
    api_keys, audit, audit_logs, auth, cleanup, db_admin, history, lifecycle, processes, runs,
    step_runs, steps,
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
    t.add(Method::GET, "/runs/{run_id}", runs::get_run);
    t.add(Method::POST, "/step-runs/", step_runs::create_step_run);
    t.add(
        Method::PATCH,
        "/step-runs/{step_run_id}",
        step_runs::update_step_run,
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
    t
}

/// Both spellings of a path: with and without the trailing slash.
pub fn with_and_without_slash(path: &str) -> Vec<String> {
    let bare = path.trim_end_matches('/');
    if bare.is_empty() {
        vec!["/".to_owned()]
    } else {
        vec![bare.to_owned(), format!("{bare}/")]
    }
}

/// Registers the table under `prefix`, one resource per path so a wrong method is a 405.
pub fn register(cfg: &mut web::ServiceConfig, prefix: &str, table: RouteTable) {
    let mut paths: Vec<&'static str> = Vec::new();
    for (_, path, _) in &table.entries {
        if !paths.contains(path) {
            paths.push(path);
        }
    }
    let mut entries: Vec<_> = table.entries.into_iter().map(Some).collect();
    for path in paths {
        let mut resource = web::resource(with_and_without_slash(&format!("{prefix}{path}")))
            .default_service(web::to(method_not_allowed));
        for slot in &mut entries {
            if slot.as_ref().is_some_and(|(_, p, _)| *p == path)
                && let Some((_, _, route)) = slot.take()
            {
                resource = resource.route(route);
            }
        }
        cfg.service(resource);
    }
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
