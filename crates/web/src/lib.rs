//! The web dashboard under `/ui/`: server-rendered page shells (maud) whose small scripts read
//! the same JSON API as every other client, with the browser session cookie as the credential.
//! Admin actions are CSRF-checked form posts that call the same repositories as the API.

mod actions;
mod assets;
mod headers;
mod layout;
mod pages;
mod session;

use actix_web::{Scope, web};

/// Where the dashboard is mounted.
pub const UI_PREFIX: &str = "/ui";

/// The dashboard's routes, to be added to the app that holds the API's `AppState`.
pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(UI_PREFIX)
        .wrap(headers::ui_headers())
        .app_data(web::FormConfig::default().limit(16 * 1024).error_handler(|err, _| {
            let page = layout::message_page(
                actix_web::http::StatusCode::BAD_REQUEST,
                "Bad request",
                "The form could not be read (an unknown or malformed field). Nothing was changed.",
            );
            actix_web::error::InternalError::from_response(err, page).into()
        }))
        .route("", web::get().to(pages::to_index))
        .route("/", web::get().to(pages::processes::page))
        .route("/login", web::get().to(session::login_form))
        .route("/login", web::post().to(session::login))
        .route("/logout", web::post().to(session::logout))
        .route("/processes/{process_id}", web::get().to(pages::process::page))
        .route("/runs/{run_id}", web::get().to(pages::run::page))
        .route("/runs/{run_id}/delete", web::post().to(actions::delete_run))
        .route("/runs/{run_id}/restore", web::post().to(actions::restore_run))
        .route(
            "/runs/{run_id}/neutralize",
            web::post().to(actions::neutralize_run),
        )
        .route(
            "/step-runs/{step_run_id}/rerun",
            web::post().to(actions::rerun_step_run),
        )
        .route("/entities/{entity_id}", web::get().to(pages::entity::page))
        .route("/assets/{name}", web::get().to(assets::serve))
        .default_service(web::to(pages::not_found))
}
