//! The page shell: head, navigation with sign-out, and the data the page's script reads.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::session::Viewer;

/// Pages that take no query parameter refuse any (never silently ignored).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · procdash" }
            link rel="stylesheet" href="/ui/assets/uPlot.min.css";
            link rel="stylesheet" href="/ui/assets/app.css";
            script src="/ui/assets/uPlot.iife.min.js" defer {}
            script src="/ui/assets/app.js" defer {}
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // Pages show live, per-key data: never cached.
        .insert_header(("Cache-Control", "no-store"))
        .body(markup.into_string())
}

/// A page without navigation (sign-in, errors before sign-in).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    respond(
        status,
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body data-page="bare" {
                    a class="skip" href="#main" { "Skip to content" }
                    header class="top" { span class="brand" { "procdash" } }
                    (body)
                }
            }
        },
    )
}

/// What the page's script needs: which page, which record, the API prefix and the role.
pub struct PageData<'a> {
    pub page: &'a str,
    pub id: Option<String>,
    pub api: &'a str,
}

/// A signed-in page.
pub fn page(viewer: &Viewer, title: &str, data: PageData<'_>, body: Markup) -> HttpResponse {
    let role = if viewer.is_admin() { "admin" } else { "user" };
    respond(
        StatusCode::OK,
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body data-page=(data.page) data-id=[data.id.as_deref()] data-api=(data.api)
                    data-role=(role) data-csrf=(viewer.csrf) {
                    a class="skip" href="#main" { "Skip to content" }
                    header class="top" {
                        nav aria-label="Main" {
                            a class="brand" href="/ui/" { "procdash" }
                            a href="/ui/" { "Processes" }
                        }
                        div class="who" {
                            span id="who" { (viewer.principal.name) " (" (role) ")" }
                            span id="live" class="live" role="status" aria-live="polite" { "" }
                            form method="post" action="/ui/logout" class="inline" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" id="sign-out" { "Sign out" }
                            }
                        }
                    }
                    main id="main" { (body) }
                }
            }
        },
    )
}

pub fn message_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    bare(
        status,
        title,
        html! {
            main id="main" class="narrow" {
                h1 { (title) }
                p role="alert" { (message) }
                p { a href="/ui/" { "Back to the dashboard" } }
            }
        },
    )
}

pub fn forbidden(message: &str) -> HttpResponse {
    message_page(StatusCode::FORBIDDEN, "Forbidden", message)
}

/// A "download this table as CSV" button for the table with the given id (app.js does it).
pub fn csv_button(table_id: &str) -> Markup {
    html! {
        button type="button" class="secondary" data-csv=(table_id) { "Export table as CSV" }
    }
}
