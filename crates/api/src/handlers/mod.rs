//! HTTP handlers, one module per resource. Handlers parse, call one repository function and
//! shape the response; rules live in the domain and storage crates.

pub mod api_keys;
pub mod audit;
pub mod audit_logs;
pub mod auth;
pub mod bulk_runs;
pub mod bulk_step_runs;
pub mod cleanup;
pub mod dashboards;
pub mod db_admin;
pub mod entities;
pub mod events;
pub mod exports;
pub mod fields;
pub mod history;
pub mod kpis;
pub mod lifecycle;
pub mod processes;
pub mod reruns;
pub mod run_metadata;
pub mod runs;
pub mod search;
pub mod step_runs;
pub mod steps;
pub mod system;
pub mod webhooks;
