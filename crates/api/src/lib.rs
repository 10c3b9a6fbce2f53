//! procdash HTTP API: actix-web handlers, request/response bodies, error mapping and the OpenAPI
//! document. [`app`] is the one app factory shared by the binary and the tests.

pub mod access_log;
pub mod aggregate_cache;
pub mod auth;
pub mod bulk;
pub mod conditional;
pub mod cursor;
pub mod docs_ui;
pub mod dto;
pub mod error;
pub mod events;
pub mod export;
pub mod extractors;
pub mod handlers;
pub mod health;
pub mod idempotency;
pub mod openapi;
pub mod openapi_headers;
pub mod pagination;
pub mod panic_boundary;
pub mod query;
pub mod request_id;
pub mod request_log;
pub mod responses;
pub mod routes;
pub mod security_headers;
pub mod state;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};

pub use state::{AppState, LifecycleSettings, SecuritySettings, ServiceInfo};

/// The whole application: system routes, the versioned API, docs, and the error shape for
/// everything else.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let prefix = state.info.prefix.clone();
    let limit = state.info.max_body_bytes;
    let doc = openapi::document(&prefix);
    let cors = security_headers::cors(&state.security.cors_origins);
    let headers = security_headers::default_headers(state.security.hsts);
    App::new()
        .app_data(state)
        .app_data(extractors::json_config(limit))
        .app_data(extractors::query_config())
        .app_data(extractors::path_config())
        // Outermost last: request id, panic boundary, access log, headers, CORS, request log,
        // auth + rate limit. Each resource has its own panic boundary around its handlers.
        .wrap(from_fn(extractors::refuse_nul_in_query))
        .wrap(from_fn(auth::middleware))
        .wrap(from_fn(request_log::middleware))
        .wrap(cors)
        .wrap(headers)
        .wrap(from_fn(access_log::middleware))
        .wrap(from_fn(panic_boundary::outer))
        .wrap(from_fn(request_id::middleware))
        .wrap(from_fn(routes::trim_trailing_slash))
        .service(guarded("/health").route(web::get().to(handlers::system::health)))
        .service(guarded("/").route(web::get().to(handlers::system::info)))
        .configure(|cfg| docs_ui::configure(cfg, doc))
        .configure(|cfg| routes::register(cfg, &prefix, routes::api_routes()))
        .default_service(web::to(routes::not_found))
}

/// A resource behind its own panic boundary.
pub fn guarded(
    path: &str,
) -> actix_web::Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(from_fn(panic_boundary::middleware))
}
