//! Every live process: counts per status, success rate, the last 24 h, late and stuck badges,
//! most failures first (from `GET /dashboard/overview`).

use actix_web::{HttpResponse, web};
use maud::html;
use procdash_api::AppState;

use crate::layout::{self, NoParams, PageData};
use crate::session::SignedIn;

pub async fn page(
    SignedIn(viewer): SignedIn,
    state: web::Data<AppState>,
    _: web::Query<NoParams>,
) -> HttpResponse {
    let body = html! {
        h1 { "Processes" }
        p class="hint" { "Most failures in the last 24 hours first. Counts update live." }
        (layout::csv_button("processes"))
        div class="scroll" {
            table id="processes" {
                caption class="sr-only" { "Live processes" }
                thead { tr {
                    th scope="col" { "Process" }
                    th scope="col" class="num" { "Total" }
                    th scope="col" class="num" { "Pending" }
                    th scope="col" class="num" { "Running" }
                    th scope="col" class="num" { "Completed" }
                    th scope="col" class="num" { "Failed" }
                    th scope="col" class="num" { "Cancelled" }
                    th scope="col" class="num" { "Success rate" }
                    th scope="col" class="num" { "Runs 24 h" }
                    th scope="col" class="num" { "Failures 24 h" }
                    th scope="col" { "Health" }
                } }
                tbody { tr { td colspan="11" { "Loading…" } } }
            }
        }
    };
    layout::page(
        &viewer,
        "Processes",
        PageData {
            page: "processes",
            id: None,
            api: &state.info.prefix,
        },
        body,
    )
}
