//! The OpenAPI document. Paths are written with the default prefix and rewritten to the
//! configured one when served.

use utoipa::OpenApi;

use crate::conditional::OpenApiDoc as ConditionalDoc;
use crate::dto::{
    api_key, bulk as bulk_dto, change, dashboards as dashboards_dto, entities as entities_dto,
    events as events_dto, fields as fields_dto, kpis as kpis_dto, lifecycle as lifecycle_dto,
    process, request_log, rerun as rerun_dto, run, run_metadata as run_metadata_dto,
    search as search_dto, step, step_run, system, webhook as webhook_dto,
};
use crate::error::{ErrorBody, FieldErrorBody};
use crate::handlers::{
    api_keys, audit, audit_logs, auth, bulk_runs, bulk_step_runs, cleanup, dashboards, db_admin,
    entities, events, exports, fields, history, kpis, lifecycle, processes, reruns, run_metadata,
    runs, search, step_runs, steps, system as system_handlers, webhooks,
};
use crate::idempotency::OpenApiDoc as IdempotencyDoc;
use crate::pagination::PageResponse;

pub const DEFAULT_PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "procdash",
        description = "Monitoring and management of business processes: processes with ordered \
                       steps, runs for one business entity, step runs whose statuses roll up into \
                       the run's status. Every error answers with the ErrorBody shape.",
    ),
    paths(
        system_handlers::health, system_handlers::info,
        processes::create_process, processes::list_processes, processes::get_process,
        processes::update_process,
        steps::create_step, steps::get_step, steps::list_process_steps, steps::list_rerunnable_steps,
        runs::create_run, runs::list_runs, runs::get_run, search::search_runs,
        step_runs::create_step_run, step_runs::update_step_run, step_runs::get_step_run, step_runs::list_run_step_runs,
        step_runs::get_run_step_run,
        api_keys::create_api_key, api_keys::list_api_keys, api_keys::list_api_keys_admin,
        api_keys::get_api_key, api_keys::toggle_api_key, api_keys::revoke_api_key,
        dashboards::process_dashboard, dashboards::process_overview, dashboards::overview,
        auth::verify, auth::me, auth::usage_stats, auth::issue_token,
        audit_logs::list_request_logs, audit_logs::request_stats,
        lifecycle::delete_process, lifecycle::restore_process, lifecycle::set_retention,
        lifecycle::delete_run, lifecycle::restore_run, lifecycle::neutralize_run,
        history::process_history, history::run_history, history::step_run_history,
        audit::list_changes, audit::export_changes, audit::verify_chain,
        cleanup::cleanup_stats, cleanup::cleanup_neutralize,
        db_admin::export_zip, db_admin::backup_sqlite, db_admin::restore_sqlite,
        fields::searchable_fields, fields::filter_metadata,
        run_metadata::update_run_metadata,
        entities::entity_runs,
        kpis::process_kpis, kpis::forecast_process_kpi, kpis::export_process_kpis,
        reruns::rerun_step_run, reruns::bulk_rerun, reruns::list_attempts,
        reruns::list_rerunnable_step_runs, reruns::get_dispatch,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook,
        webhooks::delete_webhook, webhooks::list_deliveries, webhooks::test_webhook,
        bulk_runs::bulk_create_runs, bulk_step_runs::bulk_update_step_runs,
        exports::export_runs, exports::export_process_dashboard,
        events::stream_events,
    ),
    components(schemas(
        ErrorBody, FieldErrorBody,
        process::ProcessResponse, process::CreateProcessRequest, process::UpdateProcessRequest,
        step::StepResponse, step::CreateStepRequest, step::InlineStepRequest,
        run::RunResponse, run::CreateRunRequest, run::RunStatusDto,
        dashboards_dto::ProcessDashboard, dashboards_dto::DashboardProcess,
        dashboards_dto::DashboardRun, dashboards_dto::DashboardStatistics,
        dashboards_dto::DashboardStep, dashboards_dto::ProcessOverview,
        dashboards_dto::Overview, dashboards_dto::OverviewProcess, run::RunHealthDto,
        search_dto::SearchHitResponse, search_dto::SearchMatchResponse,
        PageResponse<search_dto::SearchHitResponse>,
        step_run::StepRunResponse, step_run::UpdateStepRunRequest, step_run::CreateStepRunRequest,
        step_run::StepStatusDto,
        system::HealthResponse, system::InfoResponse,
        PageResponse<process::ProcessResponse>, PageResponse<run::RunResponse>,
        api_key::ApiKeyResponse, api_key::CreatedApiKeyResponse, api_key::CreateApiKeyRequest,
        api_key::VerifyResponse, api_key::KeyInfo, api_key::UsageStatsResponse,
        api_key::EndpointCount, api_key::TokenResponse,
        request_log::RequestLogResponse, request_log::RequestStatsResponse,
        request_log::NamedCount, request_log::KeyCount,
        PageResponse<api_key::ApiKeyResponse>, PageResponse<request_log::RequestLogResponse>,
        change::ChangeResponse, change::VerifyChainResponse, PageResponse<change::ChangeResponse>,
        lifecycle_dto::RetentionRequest, lifecycle_dto::RetentionResponse,
        lifecycle_dto::NeutralizeResponse, lifecycle_dto::CleanupStatsResponse,
        lifecycle_dto::CleanupResponse, lifecycle_dto::RestoreResponse, lifecycle_dto::RestoreUpload,
        fields_dto::SearchableFieldsResponse, fields_dto::SearchableFields,
        fields_dto::StandardFieldInfo, fields_dto::MetadataFieldInfo, fields_dto::FieldCount,
        fields_dto::FilteringHelp,
        run_metadata_dto::UpdateRunMetadataRequest,
        entities_dto::EntityRunResponse, entities_dto::FailedStepResponse,
        PageResponse<entities_dto::EntityRunResponse>,
        kpis_dto::KpiResponse, kpis_dto::KpiBucketResponse, kpis_dto::AnomalyResponse,
        kpis_dto::ForecastResponse, kpis_dto::ForecastPointResponse,
        rerun_dto::RerunRequest, rerun_dto::RerunResponse, rerun_dto::DispatchSummary,
        rerun_dto::BulkRerunRequest, rerun_dto::BulkRerunResponse, rerun_dto::BulkRerunItem,
        rerun_dto::SkippedRerun, rerun_dto::TryResponse, rerun_dto::DispatchResponse,
        webhook_dto::CreateWebhookRequest, webhook_dto::WebhookResponse,
        webhook_dto::CreatedWebhookResponse, webhook_dto::DeliveryResponse,
        bulk_dto::BulkRunItem, bulk_dto::BulkRunsRequest, bulk_dto::BulkRunsUpload,
        bulk_dto::BulkRunsResponse, bulk_dto::BulkFailureResponse, bulk_dto::BulkDuplicateResponse,
        bulk_dto::BulkStepReport, bulk_dto::BulkRunGroupResponse, bulk_dto::BulkStepRunsResponse,
        events_dto::EventData, events_dto::SseEvent,
    )),
    modifiers(&SecuritySchemes, &IdempotencyDoc, &ConditionalDoc, &FixedSiblings),
    tags(
        (name = "processes", description = "Business processes and their definitions"),
        (name = "steps", description = "Ordered steps of a process"),
        (name = "runs", description = "Runs of a process for one business entity"),
        (name = "step-runs", description = "Progress of each step within a run"),
        (name = "system", description = "Health and service information"),
        (name = "api-keys", description = "API key management (admin)"),
        (name = "auth", description = "The calling credential, its usage, and bearer tokens"),
        (name = "audit-logs", description = "The request log (admin)"),
        (name = "lifecycle", description = "Soft delete, restore, retention and neutralization (admin)"),
        (name = "dashboards", description = "Process dashboards, the overview of every process, late and stuck runs"),
        (name = "history", description = "The change history of one record"),
        (name = "audit", description = "The change log, its export and its hash chain (admin)"),
        (name = "database", description = "Export, backup and restore (admin)"),
        (name = "kpis", description = "Process KPIs, anomalies, forecasts and their export"),
        (name = "webhooks", description = "Signed event notifications (admin)"),
        (name = "events", description = "The live change feed (server-sent events)"),
    )
)]
pub struct ApiDoc;

/// `api_key` (X-API-Key header) and `bearer` (token from POST /auth/token). An operation whose
/// requirement lists the scope `admin` needs an admin key.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key: pd_ followed by 43 characters",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::SESSION_COOKIE,
                "The web dashboard's session (POST /ui/login). It authenticates GET and HEAD \
                 requests only: a state-changing request needs a key or a token.",
            ))),
        );
        session_on_reads(openapi);
    }
}

/// Every authenticated GET also accepts the session cookie, with the same scopes as its key.
fn session_on_reads(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    for item in openapi.paths.paths.values_mut() {
        let Some(requirements) = item.get.as_mut().and_then(|op| op.security.as_mut()) else {
            continue;
        };
        // The requirement's fields are private; its JSON form is {"api_key": [scopes]}.
        let scopes = requirements.iter().find_map(|r| {
            let value = serde_json::to_value(r).ok()?;
            let scopes = value.get("api_key")?.as_array()?.clone();
            Some(
                scopes
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect::<Vec<_>>(),
            )
        });
        if let Some(scopes) = scopes {
            requirements.push(SecurityRequirement::new("session", scopes));
        }
    }
}

/// A path parameter can take the name of a fixed sibling route (`/runs/{run_id}` and
/// `/runs/bulk`); the router then picks the fixed route, which answers 405 to the methods it does
/// not have. Documents that 405 on each operation whose path such a sibling shadows.
struct FixedSiblings;

impl utoipa::Modify for FixedSiblings {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let paths: Vec<String> = doc.paths.paths.keys().cloned().collect();
        let methods = |item: &utoipa::openapi::PathItem| -> Vec<&'static str> {
            [
                ("get", item.get.is_some()),
                ("post", item.post.is_some()),
                ("put", item.put.is_some()),
                ("patch", item.patch.is_some()),
                ("delete", item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect()
        };
        for template in &paths {
            let shadowing: Vec<&String> = paths
                .iter()
                .filter(|fixed| *fixed != template && shadows(fixed, template))
                .collect();
            let Some(item) = doc.paths.paths.get(template) else {
                continue;
            };
            let mine = methods(item);
            let mut missing: Vec<(&'static str, String)> = Vec::new();
            for fixed in shadowing {
                let theirs = doc.paths.paths.get(fixed).map(methods).unwrap_or_default();
                for m in &mine {
                    if !theirs.contains(m) {
                        missing.push((m, fixed.clone()));
                    }
                }
            }
            for (method, fixed) in missing {
                if let Some(op) = crate::openapi_headers::operation(doc, method, template) {
                    crate::openapi_headers::error_response(
                        op,
                        "405",
                        &format!("Method not allowed: the path is the fixed route {fixed}"),
                    );
                }
            }
        }
    }
}

/// Whether the fixed path `fixed` (no parameter where `template` has one) is matched by
/// `template`: the same segments, with each of the template's parameters taking a literal.
fn shadows(fixed: &str, template: &str) -> bool {
    let (f, t): (Vec<&str>, Vec<&str>) =
        (fixed.split('/').collect(), template.split('/').collect());
    f.len() == t.len()
        && f.iter()
            .zip(&t)
            .any(|(a, b)| b.starts_with('{') && !a.starts_with('{'))
        && f.iter()
            .zip(&t)
            .all(|(a, b)| a == b || (b.starts_with('{') && !a.starts_with('{')))
}

/// The document with paths under `prefix` and the running version.
pub fn document(prefix: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    if prefix != DEFAULT_PREFIX {
        let paths = std::mem::take(&mut doc.paths.paths);
        for (path, item) in paths {
            let path = match path.strip_prefix(DEFAULT_PREFIX) {
                Some(rest) => format!("{prefix}{rest}"),
                None => path,
            };
            doc.paths.paths.insert(path, item);
        }
    }
    doc
}
