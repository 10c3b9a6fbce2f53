//! Admin actions posted from the pages: CSRF-checked, admin-only, and carried out by the same
//! repository calls as the API's lifecycle endpoints.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::html;
use procdash_api::AppState;
use procdash_persistence::PersistenceError;
use procdash_persistence::repo::{deletion, neutralization, reruns};

use crate::layout;
use crate::pages::run::action_form;
use crate::session::AdminAction;

/// The page for a failed action: the cause is logged, the person sees what they can do.
fn failed(e: &PersistenceError) -> HttpResponse {
    match e {
        PersistenceError::NotFound { .. } => layout::message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such run (it may have been deleted already).",
        ),
        PersistenceError::Conflict(_) => layout::message_page(
            StatusCode::CONFLICT,
            "Not possible",
            "The run or step run is not in a state that allows this (for a rerun: not the current failed attempt, not rerunnable, or no reruns left). Nothing was changed.",
        ),
        PersistenceError::Invalid(_) => layout::message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not possible",
            "The step has no rerun target configured. Nothing was changed.",
        ),
        other => {
            tracing::error!(error = %other, "dashboard action failed");
            layout::message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                "The action failed and nothing was changed.",
            )
        }
    }
}

fn to(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub async fn delete_run(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    action: AdminAction,
) -> HttpResponse {
    let id = path.into_inner();
    if let Err(e) = deletion::delete_run(&state.db, &action.actor, id, None).await {
        return failed(&e);
    }
    // The run is gone from every listing; this page is where it can be brought back.
    let body = html! {
        main id="main" class="narrow" {
            h1 { "Run " (id) " deleted" }
            p role="status" { "The run and its step runs are deleted. Restore them to undo." }
            (action_form(&action.viewer, &format!("/ui/runs/{id}/restore"), "Restore run",
                "Restore this run and its step runs?", "restore-run"))
            p { a href="/ui/" { "Back to the processes" } }
        }
    };
    layout::bare(StatusCode::OK, "Run deleted", body)
}

pub async fn restore_run(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    action: AdminAction,
) -> HttpResponse {
    let id = path.into_inner();
    match deletion::restore_run(&state.db, &action.actor, id).await {
        Ok(()) => to(format!("/ui/runs/{id}")),
        Err(e) => failed(&e),
    }
}

pub async fn neutralize_run(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    action: AdminAction,
) -> HttpResponse {
    let id = path.into_inner();
    let keep = &state.lifecycle.neutralize_keep_fields;
    match neutralization::neutralize_run(&state.db, &action.actor, id, keep, false).await {
        Ok(_) => to(format!("/ui/runs/{id}")),
        Err(e) => failed(&e),
    }
}

/// Reruns a failed step run: the same rules and dispatch as `POST /step-runs/{id}/rerun`.
pub async fn rerun_step_run(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    action: AdminAction,
) -> HttpResponse {
    let id = path.into_inner();
    match reruns::rerun(&state.db, &action.actor, id, None, &state.dispatch).await {
        Ok(rerun) => to(format!("/ui/runs/{}", rerun.attempt.run_id)),
        Err(e) => failed(&e),
    }
}
