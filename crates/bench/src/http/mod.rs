//! `procdash-bench run`: loads the HTTP API one scenario after the other.

pub mod fixture;
pub mod scenario;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use serde_json::json;

use crate::Error;
use crate::load::{self, Window};
use crate::meta::{REGIONS, run_meta};
use crate::rng::Rng;
use crate::stats::Outcome;
use crate::table::Row;
use fixture::{Fixture, PAGE_SIZE};
use scenario::Scenario;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The server's base URL, without `/api/v1`.
    pub url: String,
    pub key: String,
    pub clients: usize,
    pub seconds: u64,
    pub warmup: u64,
    pub scenarios: Vec<Scenario>,
    /// Which page the deep-cursor scenario reads.
    pub deep_page: u64,
}

/// Measures every scenario in turn and returns one row per scenario.
pub async fn run(options: &RunOptions) -> Result<Vec<Row>, Error> {
    let client = client(&options.key, options.clients)?;
    let api = format!("{}/api/v1", options.url.trim_end_matches('/'));
    let needs_deep = options.scenarios.contains(&Scenario::PageDeep);
    let fixture = fixture::discover(
        &client,
        &api,
        if needs_deep { options.deep_page } else { 1 },
    )
    .await?;
    let target = Arc::new(Target {
        client,
        api,
        fixture,
    });
    let window = Window {
        clients: options.clients,
        warmup: Duration::from_secs(options.warmup),
        measure: Duration::from_secs(options.seconds.max(1)),
    };
    let mut rows = Vec::with_capacity(options.scenarios.len());
    for scenario in &options.scenarios {
        let scenario = *scenario;
        let t = Arc::clone(&target);
        // On stderr, so the table stays clean: the time span of each scenario lets a database
        // log be cut per scenario (crates/bench/scripts/explain-reads.sh).
        eprintln!("procdash-bench: {} from {}", scenario.name(), stamp());
        let sample = load::drive(window, move |client, i| {
            let request = t.request(scenario, client, i);
            send(request)
        })
        .await;
        eprintln!("procdash-bench: {} until {}", scenario.name(), stamp());
        rows.push(Row {
            scenario: scenario.name().to_owned(),
            note: target.note(scenario, options.deep_page),
            sample,
        });
    }
    Ok(rows)
}

/// Now, in UTC to the millisecond, as PostgreSQL's `%m` log prefix writes it.
fn stamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.3f UTC")
        .to_string()
}

fn client(key: &str, clients: usize) -> Result<Client, Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse()?);
    Ok(Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(clients.max(1))
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Sends, reads the whole body (its transfer is part of the latency) and classifies.
async fn send(request: RequestBuilder) -> Outcome {
    let began = std::time::Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.bytes().await;
            match body {
                Ok(_) if status.is_success() => Outcome::Ok(began.elapsed()),
                Ok(_) => Outcome::Failed(status.as_u16().to_string()),
                Err(_) => Outcome::Failed("body cut off".to_owned()),
            }
        }
        Err(e) if e.is_timeout() => Outcome::Failed("timeout".to_owned()),
        Err(e) if e.is_connect() => Outcome::Failed("connect error".to_owned()),
        Err(_) => Outcome::Failed("transport error".to_owned()),
    }
}

struct Target {
    client: Client,
    api: String,
    fixture: Fixture,
}

/// Picks one of `items` for a client's iteration, spread so clients do not move in step.
fn pick<T: Clone + Default>(items: &[T], client: usize, iteration: u64) -> T {
    let mut rng = Rng::new(((client as u64) << 40) ^ iteration);
    let i = usize::try_from(rng.below(items.len() as u64)).unwrap_or(0);
    items.get(i).cloned().unwrap_or_default()
}

impl Target {
    fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.api))
    }

    fn request(&self, scenario: Scenario, client: usize, i: u64) -> RequestBuilder {
        let f = &self.fixture;
        let process = pick(&f.processes, client, i);
        match scenario {
            Scenario::CreateRun => self
                .client
                .post(format!("{}/runs/", self.api))
                .json(&json!({
                    "process_id": process,
                    "entity_id": format!("BENCH-{client}-{i}"),
                    "entity_name": format!("Bench customer {client}"),
                    "meta": run_meta(&mut Rng::new(i), i),
                })),
            Scenario::PatchStepRun => {
                let id = pick(&f.step_runs, client, i);
                let status = if i.is_multiple_of(2) {
                    "running"
                } else {
                    "success"
                };
                self.client
                    .patch(format!("{}/step-runs/{id}", self.api))
                    .json(&json!({"status": status, "last_modified_by": "bench"}))
            }
            Scenario::GetRun => self.get(&format!("/runs/{}", pick(&f.runs, client, i))),
            Scenario::ListTwoFilters => self.get(&format!(
                "/runs/?process_id={process}&status=failed&size={PAGE_SIZE}"
            )),
            Scenario::ListMetaFilter => {
                let region = REGIONS.get(usize::try_from(i % 5).unwrap_or(0)).copied();
                self.get(&format!(
                    "/runs/?process_id={process}&meta_filter=region:{}&size={PAGE_SIZE}",
                    region.unwrap_or("north")
                ))
            }
            Scenario::ListMetaSort => self.get(&format!(
                "/runs/?process_id={process}&order_by=meta.priority&size={PAGE_SIZE}"
            )),
            Scenario::Search => {
                let q = pick(&f.entities, client, i);
                self.get(&format!(
                    "/runs/search?process_id={process}&size={PAGE_SIZE}"
                ))
                .query(&[("q", q)])
            }
            Scenario::SearchableFields => {
                self.get(&format!("/processes/{process}/searchable-fields"))
            }
            Scenario::ProcessDashboard => self.get(&format!("/dashboard/process/{process}")),
            Scenario::Overview => self.get("/dashboard/overview"),
            Scenario::Kpis => self.get(&format!("/processes/{process}/kpis")),
            Scenario::EntityJourney => {
                let entity = pick(&f.entities, client, i);
                self.get(&format!("/entities/{entity}/runs?size=20"))
            }
            Scenario::Page1 => self.get(&format!("/runs/?size={PAGE_SIZE}")),
            Scenario::PageDeep => match &f.deep {
                Some((cursor, _)) => self
                    .get(&format!("/runs/?size={PAGE_SIZE}"))
                    .query(&[("cursor", cursor)]),
                None => self.get(&format!("/runs/?size={PAGE_SIZE}")),
            },
        }
    }

    fn note(&self, scenario: Scenario, wanted: u64) -> String {
        if scenario != Scenario::PageDeep {
            return String::new();
        }
        match &self.fixture.deep {
            Some((_, page)) if *page >= wanted => format!("page {page} by cursor"),
            Some((_, page)) => format!("page {page} by cursor (deepest; {wanted} does not exist)"),
            None => "page 1 (no second page exists)".to_owned(),
        }
    }
}
