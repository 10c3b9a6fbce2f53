//! Entities as the domain sees them, and the validated inputs that create them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::{
    check_entity_id, check_index, check_meta, check_name, check_optional_name, check_retention,
    collect,
};
use crate::{DomainError, FieldError, RunStatus, StepStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub id: i64,
    pub name: String,
    pub meta: Value,
    pub retention_months: Option<i32>,
    pub steps: Vec<ProcessStep>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStep {
    pub id: i64,
    pub process_id: i64,
    pub index: i32,
    pub name: String,
    pub is_rerunnable: bool,
    pub rerun_config: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRun {
    pub id: i64,
    pub process_id: i64,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub status: RunStatus,
    pub meta: Value,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub scheduled_deletion_at: Option<DateTime<Utc>>,
    pub is_neutralized: bool,
    pub neutralized_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub steps: Vec<StepRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub id: i64,
    pub run_id: i64,
    pub step_id: i64,
    pub step_index: i32,
    pub status: StepStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub failure: Option<Value>,
    pub last_modified_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The first attempt this one reruns; None on a first attempt.
    pub original_step_run_id: Option<i64>,
    /// 1, then previous + 1 for each rerun.
    pub attempt: i32,
    /// A rerun replaced this attempt: it no longer counts in the run status.
    pub superseded: bool,
}

/// A validated step definition.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    pub index: i32,
    pub name: String,
    pub is_rerunnable: bool,
    pub rerun_config: Option<Value>,
}

impl NewStep {
    pub fn new(
        index: i64,
        name: &str,
        is_rerunnable: bool,
        rerun_config: Option<Value>,
    ) -> Result<Self, DomainError> {
        Self::parse("", index, name, is_rerunnable, rerun_config).map_err(DomainError::Validation)
    }

    fn parse(
        prefix: &str,
        index: i64,
        name: &str,
        is_rerunnable: bool,
        rerun_config: Option<Value>,
    ) -> Result<Self, Vec<FieldError>> {
        let index = check_index(&format!("{prefix}index"), index);
        let name = check_name(&format!("{prefix}name"), name);
        let rerun_config = match rerun_config {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => {
                crate::validation::check_json_no_nul(&format!("{prefix}rerun_config"), &v)
                    .map(|()| Some(v))
            }
            Some(_) => Err(FieldError::new(
                format!("{prefix}rerun_config"),
                "must be an object",
            )),
        };
        let errors = collect([
            index.as_ref().err(),
            name.as_ref().err(),
            rerun_config.as_ref().err(),
        ]);
        match (index, name, rerun_config) {
            (Ok(index), Ok(name), Ok(rerun_config)) => Ok(Self {
                index,
                name,
                is_rerunnable,
                rerun_config,
            }),
            _ => Err(errors),
        }
    }
}

/// Raw step input, before validation, for inline steps of a new process.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub index: i64,
    pub name: String,
    pub is_rerunnable: bool,
    pub rerun_config: Option<Value>,
}

/// A validated process definition, optionally with its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProcess {
    pub name: String,
    pub meta: Value,
    pub retention_months: Option<i32>,
    pub steps: Vec<NewStep>,
}

impl NewProcess {
    pub fn new(
        name: &str,
        meta: Option<Value>,
        retention_months: Option<i64>,
        steps: Vec<StepInput>,
    ) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let name = check_name("name", name).map_err(|e| errors.push(e)).ok();
        let meta = check_meta("meta", meta).map_err(|e| errors.push(e)).ok();
        let retention = match retention_months {
            None => Some(None),
            Some(m) => check_retention("retention_months", m)
                .map(Some)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        let mut parsed = Vec::with_capacity(steps.len());
        for (i, s) in steps.into_iter().enumerate() {
            match NewStep::parse(
                &format!("steps[{i}]."),
                s.index,
                &s.name,
                s.is_rerunnable,
                s.rerun_config,
            ) {
                Ok(step) => {
                    if parsed.iter().any(|p: &NewStep| p.index == step.index) {
                        errors.push(FieldError::new(
                            format!("steps[{i}].index"),
                            "duplicate step index",
                        ));
                    }
                    parsed.push(step);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        match (name, meta, retention) {
            (Some(name), Some(meta), Some(retention_months)) if errors.is_empty() => Ok(Self {
                name,
                meta,
                retention_months,
                steps: parsed,
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

/// A validated change to a process's name and metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessChanges {
    pub name: Option<String>,
    pub meta: Option<Value>,
}

impl ProcessChanges {
    pub fn new(name: Option<&str>, meta: Option<Value>) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let name = name
            .map(|n| check_name("name", n))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let meta = match meta {
            None => None,
            Some(m) => check_meta("meta", Some(m)).map_err(|e| errors.push(e)).ok(),
        };
        if errors.is_empty() {
            Ok(Self { name, meta })
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// A validated request to start a run of a process for one business entity.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub process_id: i64,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub meta: Value,
}

impl NewRun {
    pub fn new(
        process_id: i64,
        entity_id: &str,
        entity_name: Option<&str>,
        meta: Option<Value>,
    ) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        let entity_id = check_entity_id("entity_id", entity_id)
            .map_err(|e| errors.push(e))
            .ok();
        let entity_name = check_optional_name("entity_name", entity_name)
            .map_err(|e| errors.push(e))
            .ok();
        let meta = check_meta("meta", meta).map_err(|e| errors.push(e)).ok();
        match (entity_id, entity_name, meta) {
            (Some(entity_id), Some(entity_name), Some(meta)) if errors.is_empty() => Ok(Self {
                process_id,
                entity_id,
                entity_name,
                meta,
            }),
            _ => Err(DomainError::Validation(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(index: i64, name: &str) -> StepInput {
        StepInput {
            index,
            name: name.into(),
            is_rerunnable: false,
            rerun_config: None,
        }
    }

    #[test]
    fn process_collects_every_field_error() {
        let err = NewProcess::new(" ", Some(json!([1])), Some(0), vec![step(-1, "")]).err();
        let Some(DomainError::Validation(errors)) = err else {
            panic!("expected errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "meta",
                "retention_months",
                "steps[0].index",
                "steps[0].name"
            ]
        );
    }

    #[test]
    fn inline_steps_must_have_distinct_indexes() {
        assert!(NewProcess::new("p", None, None, vec![step(0, "a"), step(0, "b")]).is_err());
        let ok = NewProcess::new("p", None, Some(12), vec![step(1, "b"), step(0, "a")]);
        assert_eq!(
            ok.map(|p| (p.steps.len(), p.meta, p.retention_months)).ok(),
            Some((2, json!({}), Some(12)))
        );
    }

    #[test]
    fn run_entity_id_is_bounded() {
        assert!(NewRun::new(1, &"x".repeat(100), None, None).is_ok());
        assert!(NewRun::new(1, &"x".repeat(101), None, None).is_err());
        assert!(NewRun::new(1, "", None, None).is_err());
        assert!(NewRun::new(1, "e", None, Some(json!("str"))).is_err());
    }

    #[test]
    fn step_rerun_config_must_be_an_object() {
        assert!(NewStep::new(0, "s", true, Some(json!(3))).is_err());
        assert!(NewStep::new(0, "s", true, Some(json!({"max_retries": 3}))).is_ok());
    }

    #[test]
    fn process_changes_validate_what_is_sent() {
        assert!(ProcessChanges::new(Some(""), None).is_err());
        assert_eq!(
            ProcessChanges::new(None, None).ok(),
            Some(ProcessChanges::default())
        );
    }
}
