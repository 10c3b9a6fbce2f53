//! Storage rows to domain values. Stored statuses are parsed; a bad one is corruption, not input.

use procdash_domain::{Process, ProcessRun, ProcessStep, RunStatus, StepRun, StepStatus};

use crate::PersistenceError;
use crate::entities::{process, process_run, process_step, step_run};

pub fn step(m: process_step::Model) -> ProcessStep {
    ProcessStep {
        id: m.id,
        process_id: m.process_id,
        index: m.step_index,
        name: m.name,
        is_rerunnable: m.is_rerunnable,
        rerun_config: m.rerun_config,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub fn process(m: process::Model, steps: Vec<ProcessStep>) -> Process {
    Process {
        id: m.id,
        name: m.name,
        meta: m.meta,
        retention_months: m.retention_months,
        steps,
        created_at: m.created_at,
        updated_at: m.updated_at,
        created_by: m.created_by,
        updated_by: m.updated_by,
    }
}

pub fn step_status(raw: &str) -> Result<StepStatus, PersistenceError> {
    raw.parse()
        .map_err(|_| PersistenceError::Corrupt(format!("unknown step status {raw:?}")))
}

pub fn run_status(raw: &str) -> Result<RunStatus, PersistenceError> {
    raw.parse()
        .map_err(|_| PersistenceError::Corrupt(format!("unknown run status {raw:?}")))
}

pub fn step_run(m: step_run::Model) -> Result<StepRun, PersistenceError> {
    Ok(StepRun {
        id: m.id,
        run_id: m.run_id,
        step_id: m.step_id,
        step_index: m.step_index,
        status: step_status(&m.status)?,
        started_at: m.started_at,
        finished_at: m.finished_at,
        failure: m.failure,
        last_modified_by: m.last_modified_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
        original_step_run_id: m.original_step_run_id,
        attempt: m.attempt,
        superseded: m.superseded_at.is_some(),
    })
}

pub fn run(m: process_run::Model, steps: Vec<StepRun>) -> Result<ProcessRun, PersistenceError> {
    Ok(ProcessRun {
        id: m.id,
        process_id: m.process_id,
        status: run_status(&m.status)?,
        entity_id: m.entity_id,
        entity_name: m.entity_name,
        meta: m.meta,
        started_at: m.started_at,
        finished_at: m.finished_at,
        scheduled_deletion_at: m.scheduled_deletion_at,
        is_neutralized: m.is_neutralized,
        neutralized_at: m.neutralized_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        created_by: m.created_by,
        updated_by: m.updated_by,
        steps,
    })
}
