//! The dashboard's pages. Each is a shell the page's script fills from the JSON API.

pub mod entity;
pub mod process;
pub mod processes;
pub mod run;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use crate::layout;

/// `/ui` without the slash: the pages' relative links assume `/ui/`.
pub async fn to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET {
        return layout::message_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "This address does not accept that method.",
        );
    }
    layout::message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no dashboard page at this address.",
    )
}
