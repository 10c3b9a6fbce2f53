//! Turns run plans into the rows the service would have written: the run, its step runs and the
//! run's `create` change-log row. Ids are assigned here, and change rows are sealed into the hash
//! chain here (the same `payload_hash_of` and `chain::link` the service uses), so that after a
//! seed `GET /audit/verify` passes without the sealer job working through a million rows.

use chrono::{DateTime, Duration, Utc};
use procdash_domain::lifecycle::scheduled_deletion;
use procdash_domain::{RunStatus, StepStatus};
use procdash_persistence::Actor;
use procdash_persistence::audit::{chain, changed_fields, payload_hash_of, snapshot};
use procdash_persistence::entities::{change_log, process_run, step_run};
use serde_json::Value;

use crate::meta;
use crate::rng::Rng;
use crate::seed::plan::plan_run;

/// A process as the generator needs it.
#[derive(Debug, Clone)]
pub struct ProcessShape {
    pub id: i64,
    pub retention_months: Option<i32>,
    /// (step id, step index) of the live steps, by index.
    pub steps: Vec<(i64, i32)>,
}

/// Where the ids and the chain continue from.
#[derive(Debug, Clone)]
pub struct Start {
    pub run_id: i64,
    pub step_run_id: i64,
    pub change_id: i64,
    pub chain_seq: i64,
    pub chain_hash: String,
}

/// The rows of some runs, written together in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub runs: Vec<process_run::Model>,
    pub step_runs: Vec<step_run::Model>,
    pub changes: Vec<change_log::Model>,
}

/// Produces the rows of runs 0..total in id order.
pub struct Generator {
    rng: Rng,
    processes: Vec<ProcessShape>,
    next: Start,
    first_created: DateTime<Utc>,
    spacing_ms: i64,
    produced: u64,
    total: u64,
    entities: u64,
    actor: Actor,
}

impl Generator {
    /// `total` runs spread evenly over `days` days ending one hour ago (so no step stamp lies in
    /// the future), round-robin over the processes.
    pub fn new(
        processes: Vec<ProcessShape>,
        start: Start,
        total: u64,
        days: u32,
        seed: u64,
    ) -> Self {
        let span_ms = i64::from(days.max(1)) * 86_400_000;
        let end = procdash_persistence::clock::now() - Duration::hours(1);
        Self {
            rng: Rng::new(seed),
            processes,
            next: start,
            first_created: end - Duration::milliseconds(span_ms),
            spacing_ms: span_ms / i64::try_from(total.max(1)).unwrap_or(i64::MAX),
            produced: 0,
            total,
            // About four runs per customer, so an entity journey has several entries.
            entities: (total / 4).max(1),
            actor: Actor::system("bench"),
        }
    }

    pub fn remaining(&self) -> u64 {
        self.total - self.produced
    }

    /// The next `n` runs (fewer at the end).
    pub fn batch(&mut self, n: u64) -> Batch {
        let n = n.min(self.remaining());
        let mut batch = Batch::default();
        for _ in 0..n {
            self.one(&mut batch);
        }
        batch
    }

    fn one(&mut self, batch: &mut Batch) {
        let i = self.produced;
        self.produced += 1;
        let Some(process) = self
            .processes
            .get(usize::try_from(i % self.processes.len().max(1) as u64).unwrap_or(0))
            .cloned()
        else {
            return;
        };
        let offset = self
            .spacing_ms
            .saturating_mul(i64::try_from(i).unwrap_or(0));
        let created_at = self.first_created
            + Duration::milliseconds(offset + self.rng.between(0, self.spacing_ms.max(1) - 1));
        let plan = plan_run(&mut self.rng, created_at, process.steps.len());
        let (entity_id, entity_name) = meta::entity(&mut self.rng, self.entities);
        let run = process_run::Model {
            id: self.next.run_id,
            process_id: process.id,
            entity_id,
            entity_name: Some(entity_name),
            status: plan.status.as_str().to_owned(),
            meta: meta::run_meta(&mut self.rng, i),
            started_at: plan.started_at,
            finished_at: plan.finished_at,
            scheduled_deletion_at: scheduled_deletion(created_at, process.retention_months),
            is_neutralized: false,
            neutralized_at: None,
            external_id: None,
            created_at,
            updated_at: plan.updated_at,
            created_by: self.actor.label(),
            updated_by: self.actor.label(),
            deleted_at: None,
            deletion_id: None,
        };
        self.next.run_id += 1;
        for ((step_id, step_index), step) in process.steps.iter().zip(plan.steps) {
            batch.step_runs.push(step_run::Model {
                id: self.next.step_run_id,
                run_id: run.id,
                step_id: *step_id,
                step_index: *step_index,
                status: step.status.as_str().to_owned(),
                started_at: step.started_at,
                finished_at: step.finished_at,
                failure: step.failure,
                last_modified_by: (step.status != StepStatus::Pending)
                    .then(|| "robot-1".to_owned()),
                created_at,
                updated_at: step.finished_at.or(step.started_at).unwrap_or(created_at),
                created_by: self.actor.label(),
                updated_by: self.actor.label(),
                deleted_at: None,
                deletion_id: None,
                original_step_run_id: None,
                attempt: 1,
                superseded_at: None,
                rerun_meta: None,
            });
            self.next.step_run_id += 1;
        }
        batch.changes.push(self.create_change(&run));
        batch.runs.push(run);
    }

    /// The `create` row the service writes when the run is started: the run as it was then
    /// (pending, not started), sealed onto the chain.
    fn create_change(&mut self, run: &process_run::Model) -> change_log::Model {
        let as_created = process_run::Model {
            status: RunStatus::Pending.as_str().to_owned(),
            started_at: None,
            finished_at: None,
            updated_at: run.created_at,
            ..run.clone()
        };
        let after = snapshot::run(&as_created);
        let changed = Value::from(changed_fields(None, Some(&after)));
        let mut row = change_log::Model {
            id: self.next.change_id,
            occurred_at: run.created_at,
            entity: "run".to_owned(),
            record_id: run.id,
            operation: "create".to_owned(),
            actor_id: self.actor.key_id(),
            actor: self.actor.label(),
            on_behalf_of: None,
            request_id: None,
            before: None,
            after: Some(after),
            changed_fields: changed,
            redacted: false,
            payload_hash: String::new(),
            chain_seq: None,
            chain_hash: None,
            created_at: run.created_at,
            updated_at: run.created_at,
            created_by: self.actor.label(),
            updated_by: self.actor.label(),
            deleted_at: None,
        };
        row.payload_hash = payload_hash_of(&row);
        let seq = self.next.chain_seq + 1;
        let hash = chain::link(&self.next.chain_hash, &row, seq);
        row.chain_seq = Some(seq);
        row.chain_hash = Some(hash.clone());
        self.next.change_id += 1;
        self.next.chain_seq = seq;
        self.next.chain_hash = hash;
        row
    }
}
