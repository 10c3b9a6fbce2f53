//! Request and response bodies. They are not storage rows: each maps from a domain value.

pub mod api_key;
pub mod change;
pub mod dashboards;
pub mod entities;
pub mod events;
pub mod fields;
pub mod kpis;
pub mod lifecycle;
pub mod process;
pub mod request_log;
pub mod rerun;
pub mod run;
pub mod run_metadata;
pub mod search;
pub mod step;
pub mod step_run;
pub mod system;
pub mod webhook;
