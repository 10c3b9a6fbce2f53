//! A business entity's journey: its runs across processes, newest first.

use actix_web::{HttpResponse, web};
use maud::html;
use procdash_api::AppState;

use crate::layout::{self, NoParams, PageData};
use crate::session::SignedIn;

pub async fn page(
    SignedIn(viewer): SignedIn,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: web::Query<NoParams>,
) -> HttpResponse {
    let entity = path.into_inner();
    let body = html! {
        h1 { "Entity " (entity) }
        p id="error" class="error" role="alert" hidden {}
        (layout::csv_button("journey"))
        div class="scroll" {
            table id="journey" {
                thead { tr {
                    th scope="col" { "Created" }
                    th scope="col" { "Process" }
                    th scope="col" class="num" { "Run" }
                    th scope="col" { "Status" }
                    th scope="col" { "Started" }
                    th scope="col" { "Finished" }
                } }
                tbody {}
            }
        }
        button type="button" id="next-page" class="secondary" hidden { "Next page" }
    };
    layout::page(
        &viewer,
        "Entity",
        PageData {
            page: "entity",
            id: Some(entity),
            api: &state.info.prefix,
        },
        body,
    )
}
