//! One run: the step timeline, failure objects, attempts, the change history and, for admin
//! keys, the delete, neutralize and rerun actions.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use procdash_api::AppState;

use crate::layout::{self, NoParams, PageData};
use crate::session::{SignedIn, Viewer};

/// A form posting one admin action; app.js asks for confirmation before it is sent.
pub fn action_form(viewer: &Viewer, action: &str, label: &str, confirm: &str, id: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" data-confirm=(confirm) {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button type="submit" class="danger" id=(id) { (label) }
        }
    }
}

pub async fn page(
    SignedIn(viewer): SignedIn,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _: web::Query<NoParams>,
) -> HttpResponse {
    let id = path.into_inner();
    let body = html! {
        h1 id="title" { "Run " (id) }
        p id="error" class="error" role="alert" hidden {}
        dl id="summary" class="summary" {}
        @if viewer.is_admin() {
            div class="admin-actions" {
                (action_form(&viewer, &format!("/ui/runs/{id}/neutralize"), "Neutralize personal data",
                    "Remove this run's personal data for good?", "neutralize-run"))
                (action_form(&viewer, &format!("/ui/runs/{id}/delete"), "Delete run",
                    "Delete this run? It can be restored afterwards.", "delete-run"))
            }
        }
        section aria-labelledby="timeline-h" {
            h2 id="timeline-h" { "Step timeline" }
            div id="timeline" class="timeline" role="list" aria-label="Steps over time" {}
            ul class="legend" aria-label="Status colours" {
                @for s in ["pending", "running", "success", "failed", "cancelled", "optional"] {
                    li { span class=(format!("swatch s-{s}")) {} (s) }
                }
            }
        }
        section aria-labelledby="steps-h" {
            h2 id="steps-h" { "Step runs" }
            (layout::csv_button("step-runs"))
            div class="scroll" {
                table id="step-runs" {
                    thead { tr {
                        th scope="col" class="num" { "#" }
                        th scope="col" { "Status" }
                        th scope="col" { "Started" }
                        th scope="col" { "Finished" }
                        th scope="col" { "Failure" }
                        th scope="col" { "Actions" }
                    } }
                    tbody {}
                }
            }
        }
        section aria-labelledby="attempts-h" {
            h2 id="attempts-h" { "Attempts and dispatch" }
            p class="hint" { "Steps that were rerun: every attempt, and each try to dispatch it." }
            (layout::csv_button("attempts"))
            div class="scroll" {
                table id="attempts" {
                    thead { tr {
                        th scope="col" class="num" { "Step" }
                        th scope="col" class="num" { "Attempt" }
                        th scope="col" { "Status" }
                        th scope="col" { "Started" }
                        th scope="col" { "Finished" }
                        th scope="col" { "Dispatch" }
                    } }
                    tbody {}
                }
            }
        }
        section aria-labelledby="history-h" {
            h2 id="history-h" { "Change history" }
            (layout::csv_button("history"))
            div class="scroll" {
                table id="history" {
                    thead { tr {
                        th scope="col" { "When" }
                        th scope="col" { "Record" }
                        th scope="col" { "Action" }
                        th scope="col" { "Who" }
                        th scope="col" { "Fields" }
                    } }
                    tbody {}
                }
            }
        }
    };
    layout::page(
        &viewer,
        "Run",
        PageData {
            page: "run",
            id: Some(id.to_string()),
            api: &state.info.prefix,
        },
        body,
    )
}
