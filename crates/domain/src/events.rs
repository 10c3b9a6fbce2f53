//! The live change feed's events, derived from change-log rows: which changes are events, and
//! what an event may carry. Only ids and statuses: never entity names, meta or failure texts,
//! which are personal data. The fields read here (entity, record id, operation, and the ids and
//! statuses of the snapshots) are never rewritten by redaction or sealing.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{DomainError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    RunCreated,
    RunStatusChanged,
    StepRunUpdated,
    RerunCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        Self::RunCreated,
        Self::RunStatusChanged,
        Self::StepRunUpdated,
        Self::RerunCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunCreated => "run.created",
            Self::RunStatusChanged => "run.status_changed",
            Self::StepRunUpdated => "step_run.updated",
            Self::RerunCreated => "rerun.created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event. `id` is the change-log row's id, increasing with every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub run_id: i64,
    /// Filled in by the reader for step-run events (their snapshot holds only the run id).
    pub process_id: Option<i64>,
    pub step_run_id: Option<i64>,
    pub step_id: Option<i64>,
    pub status: Option<String>,
    pub previous_status: Option<String>,
}

/// The parts of a change-log row an event is made of.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRow<'a> {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub entity: &'a str,
    pub record_id: i64,
    pub operation: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

fn field<'a>(snapshot: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    snapshot.and_then(|s| s.get(key))
}

fn text(snapshot: Option<&Value>, key: &str) -> Option<String> {
    field(snapshot, key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn int(snapshot: Option<&Value>, key: &str) -> Option<i64> {
    field(snapshot, key).and_then(Value::as_i64)
}

/// The event a change-log row stands for, if any: a run created; any other change of a run
/// whose status differs between the snapshots; a step run updated; a step run recorded with
/// the operation `rerun`.
pub fn from_change(row: ChangeRow<'_>) -> Option<Event> {
    let status = text(row.after, "status");
    let previous_status = text(row.before, "status");
    let base = |kind, run_id| Event {
        id: row.id,
        kind,
        occurred_at: row.occurred_at,
        run_id,
        process_id: None,
        step_run_id: None,
        step_id: None,
        status: status.clone(),
        previous_status: previous_status.clone(),
    };
    match (row.entity, row.operation) {
        ("run", "create") => Some(Event {
            process_id: int(row.after, "process_id"),
            previous_status: None,
            ..base(EventKind::RunCreated, row.record_id)
        }),
        ("run", _) if row.before.is_some() && status.is_some() && status != previous_status => {
            Some(Event {
                process_id: int(row.after, "process_id"),
                ..base(EventKind::RunStatusChanged, row.record_id)
            })
        }
        ("step_run", op @ ("update" | "rerun")) => {
            let kind = if op == "rerun" {
                EventKind::RerunCreated
            } else {
                EventKind::StepRunUpdated
            };
            let run_id = int(row.after, "run_id")?;
            Some(Event {
                step_run_id: Some(row.record_id),
                step_id: int(row.after, "step_id"),
                ..base(kind, run_id)
            })
        }
        _ => None,
    }
}

/// Which events a subscriber wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub process_id: Option<i64>,
    /// Empty: every kind.
    pub kinds: Vec<EventKind>,
}

impl EventFilter {
    /// `types` is a comma-separated list of event names; an unknown name is a field error.
    pub fn new(process_id: Option<i64>, types: Option<&str>) -> Result<Self, DomainError> {
        let mut kinds = Vec::new();
        let mut errors = Vec::new();
        for name in types.into_iter().flat_map(|t| t.split(',')).map(str::trim) {
            match EventKind::parse(name) {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "types",
                    format!(
                        "unknown event type; expected a comma-separated list of {}",
                        EventKind::ALL.map(EventKind::as_str).join(", ")
                    ),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        Ok(Self { process_id, kinds })
    }

    pub fn matches(&self, event: &Event) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&event.kind))
            && self.process_id.is_none_or(|p| event.process_id == Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row<'a>(
        entity: &'a str,
        operation: &'a str,
        before: Option<&'a Value>,
        after: Option<&'a Value>,
    ) -> ChangeRow<'a> {
        ChangeRow {
            id: 7,
            occurred_at: DateTime::<Utc>::default(),
            entity,
            record_id: 3,
            operation,
            before,
            after,
        }
    }

    #[test]
    fn run_changes_become_events_only_when_the_status_changes() {
        let a = json!({"process_id": 1, "status": "pending", "entity_name": "Ann"});
        let b = json!({"process_id": 1, "status": "running", "entity_name": "Ann"});
        let created = from_change(row("run", "create", None, Some(&a))).unwrap();
        assert_eq!(created.kind, EventKind::RunCreated);
        assert_eq!(created.process_id, Some(1));
        let changed = from_change(row("run", "recompute", Some(&a), Some(&b))).unwrap();
        assert_eq!(changed.kind, EventKind::RunStatusChanged);
        assert_eq!(changed.previous_status.as_deref(), Some("pending"));
        assert!(from_change(row("run", "update", Some(&a), Some(&a))).is_none());
        assert!(from_change(row("process", "create", None, Some(&a))).is_none());
    }

    #[test]
    fn step_run_updates_and_reruns_carry_their_ids() {
        let s = json!({"run_id": 3, "step_id": 9, "status": "failed", "failure": {"message": "x"}});
        let e = from_change(row("step_run", "update", Some(&s), Some(&s))).unwrap();
        assert_eq!(
            (e.kind, e.run_id, e.step_run_id, e.step_id),
            (EventKind::StepRunUpdated, 3, Some(3), Some(9))
        );
        let r = from_change(row("step_run", "rerun", None, Some(&s))).unwrap();
        assert_eq!(r.kind, EventKind::RerunCreated);
        assert!(from_change(row("step_run", "create", None, Some(&s))).is_none());
    }

    #[test]
    fn filters_parse_types_and_refuse_unknown_ones() {
        let f = EventFilter::new(Some(2), Some("run.created, step_run.updated")).unwrap();
        assert_eq!(f.kinds.len(), 2);
        assert!(EventFilter::new(None, Some("run.deleted")).is_err());
        assert!(EventFilter::new(None, Some("")).is_err());
    }
}
