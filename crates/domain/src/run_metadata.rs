//! Editing a run's metadata: a shallow merge that may only change keys the run already has.

use serde_json::{Map, Value};

use crate::DomainError;

/// A parsed metadata update: top-level keys and their new values (`null` allowed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaUpdate {
    changes: Map<String, Value>,
}

impl MetaUpdate {
    /// The update must be a JSON object.
    pub fn parse(field: &str, raw: Value) -> Result<Self, DomainError> {
        match raw {
            Value::Object(changes) => {
                let doc = Value::Object(changes);
                crate::validation::check_json_no_nul(field, &doc)?;
                match doc {
                    Value::Object(changes) => Ok(Self { changes }),
                    _ => Err(DomainError::field(field, "must be a JSON object")),
                }
            }
            _ => Err(DomainError::field(field, "must be a JSON object")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Applies the update to `existing`. Keys the run does not have are refused, naming them
    /// and the keys it has (never the values: metadata may be personal data).
    pub fn apply(&self, existing: &Value) -> Result<Value, UnknownKeys> {
        let empty = Map::new();
        let current = existing.as_object().unwrap_or(&empty);
        let unknown: Vec<String> = self
            .changes
            .keys()
            .filter(|k| !current.contains_key(*k))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(UnknownKeys {
                unknown,
                existing: current.keys().cloned().collect(),
            });
        }
        let mut merged = current.clone();
        for (k, v) in &self.changes {
            merged.insert(k.clone(), v.clone());
        }
        Ok(Value::Object(merged))
    }
}

/// Keys in an update that the run's metadata does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown metadata key(s): {}; the run's metadata has: {}",
    list(.unknown),
    list(.existing)
)]
pub struct UnknownKeys {
    pub unknown: Vec<String>,
    pub existing: Vec<String>,
}

fn list(keys: &[String]) -> String {
    if keys.is_empty() {
        return "no keys".to_owned();
    }
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_existing_keys_only() {
        let existing = json!({"a": 1, "b": {"x": 1}, "c": "keep"});
        let update = MetaUpdate::parse("meta", json!({"a": null, "b": {"y": 2}}));
        let merged = update.map(|u| u.apply(&existing));
        assert_eq!(
            merged,
            Ok(Ok(json!({"a": null, "b": {"y": 2}, "c": "keep"})))
        );
    }

    #[test]
    fn unknown_keys_are_named_with_the_existing_ones() {
        let existing = json!({"a": "secret value"});
        let update = MetaUpdate::parse("meta", json!({"zz": 1, "a": 2})).unwrap_or_default();
        let err = update.apply(&existing).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("unknown metadata key(s): 'zz'; the run's metadata has: 'a'")
        );
        let none = update.apply(&json!({})).err().map(|e| e.to_string());
        assert!(none.is_some_and(|m| m.ends_with("has: no keys")));
    }

    #[test]
    fn the_update_must_be_an_object() {
        assert!(MetaUpdate::parse("meta", json!([1])).is_err());
        assert!(MetaUpdate::parse("meta", json!(null)).is_err());
        assert!(MetaUpdate::parse("meta", json!({})).is_ok_and(|u| u.is_empty()));
    }
}
