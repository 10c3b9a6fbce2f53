//! The procdash schema. Migrations are the only place tables, keys and indexes are defined.

pub use sea_orm_migration::prelude::*;

pub use m20261203_000040_partition_history::MONTHS_AHEAD;

mod audit_columns;
mod m20261125_000001_create_processes;
mod m20261125_000002_create_process_steps;
mod m20261125_000003_create_process_runs;
mod m20261125_000004_create_step_runs;
mod m20261125_000005_create_api_keys;
mod m20261125_000006_create_request_logs;
mod m20261125_000007_add_lifecycle_columns;
mod m20261125_000008_create_change_log;
mod m20261125_000009_create_job_runs;
mod m20261126_000010_add_runs_entity_index;
mod m20261202_000011_index_run_meta;
mod m20261202_000012_create_run_search;
mod m20261202_000013_create_kpi_rollups;
mod m20261203_000014_add_step_run_attempts;
mod m20261203_000015_create_outbox;
mod m20261203_000016_create_webhooks;
mod m20261203_000020_add_run_external_id;
mod m20261203_000025_create_idempotency_keys;
mod m20261203_000026_notify_change_log;
mod m20261203_000040_partition_history;
mod m20261206_000050_create_status_counts;
pub mod partitions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_processes::Migration),
            Box::new(m20261125_000002_create_process_steps::Migration),
            Box::new(m20261125_000003_create_process_runs::Migration),
            Box::new(m20261125_000004_create_step_runs::Migration),
            Box::new(m20261125_000005_create_api_keys::Migration),
            Box::new(m20261125_000006_create_request_logs::Migration),
            Box::new(m20261125_000007_add_lifecycle_columns::Migration),
            Box::new(m20261125_000008_create_change_log::Migration),
            Box::new(m20261125_000009_create_job_runs::Migration),
            Box::new(m20261126_000010_add_runs_entity_index::Migration),
            Box::new(m20261202_000011_index_run_meta::Migration),
            Box::new(m20261202_000012_create_run_search::Migration),
            Box::new(m20261202_000013_create_kpi_rollups::Migration),
            Box::new(m20261203_000014_add_step_run_attempts::Migration),
            Box::new(m20261203_000015_create_outbox::Migration),
            Box::new(m20261203_000016_create_webhooks::Migration),
            Box::new(m20261203_000020_add_run_external_id::Migration),
            Box::new(m20261203_000025_create_idempotency_keys::Migration),
            Box::new(m20261203_000026_notify_change_log::Migration),
            // The partitioning test migrates to just before it, with data.
            Box::new(m20261203_000040_partition_history::Migration),
            Box::new(m20261206_000050_create_status_counts::Migration),
        ]
    }
}
