//! Repositories: one module per resource. Functions that change several rows open their own
//! write transaction; lookups accept any connection so they can join one.

pub mod api_keys;
pub mod bulk_runs;
pub mod bulk_step_runs;
pub mod dashboards;
pub mod deletion;
pub mod entities;
pub mod fields;
pub mod idempotency;
pub mod jobs;
pub(crate) mod kpi_rebuild;
pub mod kpis;
pub mod neutralization;
pub mod outbox;
pub mod partitions;
pub mod preconditions;
pub mod processes;
pub mod request_logs;
pub mod reruns;
pub mod retention;
pub mod run_export;
pub(crate) mod run_filters;
pub mod run_metadata;
pub mod run_search;
pub mod runs;
pub mod status_counts;
pub mod step_runs;
pub mod steps;
pub mod webhooks;
