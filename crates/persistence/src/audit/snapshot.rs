//! Snapshots of rows as the change log stores them. Key hashes are never part of a snapshot.

use serde_json::{Value, json};

use crate::entities::{api_key, process, process_run, process_step, step_run};

pub fn process(m: &process::Model) -> Value {
    json!({
        "id": m.id, "name": m.name, "meta": m.meta, "retention_months": m.retention_months,
        "deleted_at": m.deleted_at,
    })
}

pub fn step(m: &process_step::Model) -> Value {
    json!({
        "id": m.id, "process_id": m.process_id, "index": m.step_index, "name": m.name,
        "is_rerunnable": m.is_rerunnable, "rerun_config": m.rerun_config, "deleted_at": m.deleted_at,
    })
}

pub fn run(m: &process_run::Model) -> Value {
    json!({
        "id": m.id, "process_id": m.process_id, "entity_id": m.entity_id,
        "entity_name": m.entity_name, "status": m.status, "meta": m.meta,
        "started_at": m.started_at, "finished_at": m.finished_at,
        "scheduled_deletion_at": m.scheduled_deletion_at, "is_neutralized": m.is_neutralized,
        "neutralized_at": m.neutralized_at, "deleted_at": m.deleted_at,
    })
}

pub fn step_run(m: &step_run::Model) -> Value {
    json!({
        "id": m.id, "run_id": m.run_id, "step_id": m.step_id, "step_index": m.step_index,
        "status": m.status, "started_at": m.started_at, "finished_at": m.finished_at,
        "failure": m.failure, "last_modified_by": m.last_modified_by, "deleted_at": m.deleted_at,
        "original_step_run_id": m.original_step_run_id, "attempt": m.attempt,
        "superseded_at": m.superseded_at,
    })
}

pub fn api_key(m: &api_key::Model) -> Value {
    json!({
        "id": m.id, "name": m.name, "description": m.description, "role": m.role,
        "is_active": m.is_active, "expires_at": m.expires_at, "key_prefix": m.key_prefix,
        "revoked_at": m.revoked_at,
    })
}
