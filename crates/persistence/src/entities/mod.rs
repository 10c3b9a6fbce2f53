//! sea-orm entities, one per table. They mirror the migrations and never leave this crate's
//! repositories: callers get domain types.

pub mod api_key;
pub mod change_log;
pub mod change_log_archive;
pub mod idempotency_key;
pub mod job_run;
pub mod kpi_rollup;
pub mod kpi_run_fact;
pub mod kpi_watermark;
pub mod outbox;
pub mod process;
pub mod process_run;
pub mod process_step;
pub mod request_log;
pub mod step_run;
pub mod webhook;
