//! End-to-end tests: the real server on port 0 over HTTP, each test with its own database
//! (SQLite, or PostgreSQL when TEST_POSTGRES_URL is set).

#[cfg(test)]
mod audit_trail;
#[cfg(test)]
mod auth;
#[cfg(test)]
mod bulk;
#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod conditional;
#[cfg(test)]
mod cursors;
#[cfg(test)]
mod dashboard_cache;
#[cfg(test)]
mod dashboards;
#[cfg(test)]
mod database;
#[cfg(test)]
mod dispatch;
#[cfg(test)]
mod entities;
#[cfg(test)]
mod errors;
#[cfg(test)]
mod events;
#[cfg(test)]
mod exports;
#[cfg(test)]
mod fields;
#[cfg(test)]
mod governance;
#[cfg(test)]
mod hardening;
#[cfg(test)]
mod helpers;
#[cfg(test)]
mod idempotency;
#[cfg(test)]
mod import;
#[cfg(test)]
mod instances;
#[cfg(test)]
mod jobs;
#[cfg(test)]
mod kpis;
#[cfg(test)]
mod lifecycle;
#[cfg(test)]
mod meta_filters;
#[cfg(test)]
mod neutralization;
#[cfg(test)]
mod openapi;
#[cfg(test)]
mod processes;
#[cfg(test)]
mod receiver;
#[cfg(test)]
mod replica;
#[cfg(test)]
mod reruns;
#[cfg(test)]
mod run_metadata;
#[cfg(test)]
mod runs;
#[cfg(test)]
mod search;
#[cfg(test)]
mod step_runs;
#[cfg(test)]
mod steps;
#[cfg(test)]
mod system;
#[cfg(test)]
mod ui;
#[cfg(test)]
mod webhooks;
