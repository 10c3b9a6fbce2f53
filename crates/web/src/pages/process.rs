//! One process: KPI charts with anomalies and the forecast band, the step breakdown, and the run
//! list with its filters, search, paging and export links.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use procdash_api::AppState;

use crate::layout::{self, NoParams, PageData};
use crate::session::SignedIn;

fn chart(id: &str, title: &str) -> Markup {
    html! {
        figure class="chart" {
            figcaption { (title) }
            div id=(id) class="plot" role="img" aria-label=(title) {}
            button type="button" class="secondary" data-png=(id) { "Save " (title) " as PNG" }
        }
    }
}

fn filters() -> Markup {
    html! {
        form id="run-filters" class="filters" {
            div {
                label for="f-status" { "Status" }
                select id="f-status" name="status" {
                    option value="" { "Any" }
                    @for s in ["pending", "running", "completed", "failed", "cancelled"] {
                        option value=(s) { (s) }
                    }
                }
            }
            div {
                label for="f-q" { "Search" }
                input type="search" id="f-q" name="q" maxlength="200" placeholder="entity, name or metadata";
            }
            div {
                label for="f-from" { "Created from" }
                input type="date" id="f-from" name="from";
            }
            div {
                label for="f-to" { "Created until" }
                input type="date" id="f-to" name="to";
            }
            div {
                label for="f-field" { "Metadata field" }
                select id="f-field" name="field" { option value="" { "None" } }
            }
            div {
                label for="f-value" { "Value" }
                input type="text" id="f-value" name="value" maxlength="200";
            }
            div class="actions" {
                button type="submit" { "Apply filters" }
                button type="reset" class="secondary" { "Clear" }
            }
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
        h1 id="title" { "Process " (id) }
        p id="error" class="error" role="alert" hidden {}
        section aria-labelledby="kpi-h" {
            h2 id="kpi-h" { "KPIs, last 30 days" }
            p class="hint" { "Anomalies are marked with a ring; the shaded band is the 95 % forecast of runs started." }
            div class="charts" {
                (chart("chart-runs", "Runs per day by outcome"))
                (chart("chart-failure", "Failure rate (%)"))
                (chart("chart-duration", "Median and p95 duration (s)"))
            }
            p id="forecast-note" class="hint" {}
        }
        section aria-labelledby="steps-h" {
            h2 id="steps-h" { "Steps: where runs fail" }
            (layout::csv_button("steps"))
            div class="scroll" {
                table id="steps" {
                    thead { tr {
                        th scope="col" class="num" { "#" }
                        th scope="col" { "Step" }
                        th scope="col" class="num" { "Success" }
                        th scope="col" class="num" { "Failed" }
                        th scope="col" class="num" { "Running" }
                        th scope="col" class="num" { "Pending" }
                        th scope="col" class="num" { "Failure rate" }
                        th scope="col" class="num" { "p50 (s)" }
                        th scope="col" class="num" { "p95 (s)" }
                    } }
                    tbody {}
                }
            }
        }
        section aria-labelledby="runs-h" {
            h2 id="runs-h" { "Runs" }
            (filters())
            p class="exports" {
                a id="export-csv" href="#" { "Export runs as CSV" }
                " · "
                a id="export-xlsx" href="#" { "Export runs as XLSX" }
                " · "
                (layout::csv_button("runs"))
            }
            p id="runs-count" role="status" aria-live="polite" {}
            div class="scroll" {
                table id="runs" {
                    thead { tr {
                        th scope="col" class="num" { "Run" }
                        th scope="col" { "Entity" }
                        th scope="col" { "Status" }
                        th scope="col" { "Health" }
                        th scope="col" { "Started" }
                        th scope="col" { "Finished" }
                    } }
                    tbody {}
                }
            }
            button type="button" id="next-page" class="secondary" hidden { "Next page" }
        }
    };
    layout::page(
        &viewer,
        "Process",
        PageData {
            page: "process",
            id: Some(id.to_string()),
            api: &state.info.prefix,
        },
        body,
    )
}
