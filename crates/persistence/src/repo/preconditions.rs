//! `If-Match` inside the write transactions: the current state is read after the row lock (on
//! SQLite the write gate is that lock), so no other writer can change it between the check and
//! the write, and two writers holding the same tag cannot both succeed.

use procdash_domain::etag::{self, EntityTag, TagList};
use procdash_domain::{Process, ProcessRun};
use sea_orm::ConnectionTrait;

use crate::PersistenceError;
use crate::convert;
use crate::entities::step_run;
use crate::repo::{processes, runs};

/// What the client's `If-Match` asks of the resource a write changes.
#[derive(Debug, Clone)]
pub struct Precondition {
    pub if_match: TagList,
    /// The read-time part of the representation (a run's health verdict), as the caller's
    /// read before the write saw it. A stale salt can only make the check fail, never pass:
    /// a tag only matches when the stored state is still the one the client saw.
    pub salt: String,
}

impl Precondition {
    pub fn new(if_match: TagList) -> Self {
        Self {
            if_match,
            salt: String::new(),
        }
    }
}

fn holds(
    pre: &Precondition,
    entity: &'static str,
    tag: Result<EntityTag, serde_json::Error>,
) -> Result<(), PersistenceError> {
    let tag = tag.map_err(|e| PersistenceError::Corrupt(e.to_string()))?;
    if pre.if_match.matches_strong(&tag) {
        Ok(())
    } else {
        Err(PersistenceError::PreconditionFailed { entity })
    }
}

/// Checks a live process (with its steps), which the caller has locked.
pub(crate) async fn process(
    db: &impl ConnectionTrait,
    id: i64,
    pre: Option<&Precondition>,
) -> Result<(), PersistenceError> {
    let Some(pre) = pre else { return Ok(()) };
    let current: Process = processes::get(db, id).await?;
    holds(pre, "process", etag::process_tag(&current))
}

/// Checks a live run (with its current step runs), which the caller has locked.
pub(crate) async fn run(
    db: &impl ConnectionTrait,
    id: i64,
    pre: Option<&Precondition>,
) -> Result<(), PersistenceError> {
    let Some(pre) = pre else { return Ok(()) };
    let current: ProcessRun = runs::get(db, id).await?;
    holds(pre, "run", etag::run_tag(&current, &pre.salt))
}

/// Checks a step run the caller has read under its run's lock.
pub(crate) fn step_run(
    current: &step_run::Model,
    pre: Option<&Precondition>,
) -> Result<(), PersistenceError> {
    let Some(pre) = pre else { return Ok(()) };
    let current = convert::step_run(current.clone())?;
    holds(pre, "step run", etag::step_run_tag(&current))
}
