//! What the scenarios address, found through the API before the load starts: processes, a
//! sample of runs with their step runs and entities, and the cursor of a deep page.

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use crate::Error;

/// Rows per page of the cursor scenarios, and of the walk's last step.
pub const PAGE_SIZE: u64 = 50;
/// The walk moves with the largest page the API allows.
const WALK_SIZE: u64 = 100;

#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub processes: Vec<i64>,
    pub runs: Vec<i64>,
    pub step_runs: Vec<i64>,
    pub entities: Vec<String>,
    /// The cursor of the deepest page reached and that page's number (of `PAGE_SIZE` rows).
    pub deep: Option<(String, u64)>,
}

async fn get_json(request: RequestBuilder) -> Result<Value, Error> {
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        // The path only: a cursor or key never goes into the message.
        return Err(format!("GET {}: {status}", response.url().path()).into());
    }
    Ok(response.json().await?)
}

fn items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}

pub async fn discover(client: &Client, api: &str, deep_page: u64) -> Result<Fixture, Error> {
    let mut fixture = Fixture::default();
    let body = get_json(client.get(format!("{api}/processes/?size=100"))).await?;
    fixture.processes = items(&body)
        .iter()
        .filter_map(|p| p["id"].as_i64())
        .collect();
    if fixture.processes.is_empty() {
        return Err("the server has no process: seed it first".into());
    }
    for process in fixture.processes.iter().take(20) {
        let url = format!("{api}/runs/?process_id={process}&size=100&sort_direction=asc");
        for run in items(&get_json(client.get(url)).await?) {
            fixture.runs.extend(run["id"].as_i64());
            if let Some(entity) = run["entity_id"].as_str() {
                fixture.entities.push(entity.to_owned());
            }
            let steps = run["steps"].as_array().map_or(&[][..], Vec::as_slice);
            fixture
                .step_runs
                .extend(steps.iter().filter_map(|s| s["id"].as_i64()));
        }
    }
    if fixture.runs.is_empty() || fixture.step_runs.is_empty() {
        return Err("the server's processes have no runs with step runs: seed it first".into());
    }
    fixture.deep = walk(client, api, deep_page).await?;
    Ok(fixture)
}

/// Follows `next_cursor` of `GET /runs/` from the first row to the start of page `page` (or of
/// the deepest page that exists), 100 rows a step. `None` when every row fits on page 1.
async fn walk(client: &Client, api: &str, page: u64) -> Result<Option<(String, u64)>, Error> {
    let target = page.saturating_sub(1) * PAGE_SIZE;
    let mut walked = 0u64;
    let mut cursor: Option<String> = None;
    let mut deepest: Option<(String, u64)> = None;
    while walked < target {
        let size = (target - walked).min(WALK_SIZE);
        let mut request = client.get(format!("{api}/runs/?size={size}"));
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c)]);
        }
        let body = get_json(request).await?;
        let n = items(&body).len() as u64;
        if n == 0 {
            break;
        }
        walked += n;
        let Some(next) = body["next_cursor"].as_str() else {
            break;
        };
        cursor = Some(next.to_owned());
        // Only a cursor on a page boundary names a page of the scenario's size.
        if walked.is_multiple_of(PAGE_SIZE) {
            deepest = Some((next.to_owned(), walked / PAGE_SIZE + 1));
        }
    }
    Ok(deepest)
}
