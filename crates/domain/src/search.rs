//! Global run search: the validated query text, which statuses it matches, and the match
//! annotations of a found run. Matching is a case-insensitive substring test; `%`, `_` and `\`
//! are ordinary characters.

use serde_json::Value;

use crate::{DomainError, ProcessRun, RunStatus};

pub const MAX_QUERY_CHARS: usize = 200;

/// Where a search looks in a run's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaScope {
    /// Not at all.
    None,
    /// These top-level keys (a process's `run_metadata_schema`).
    Keys(Vec<String>),
    /// Every top-level scalar value.
    AllScalars,
}

/// A search text of 1..=200 characters, kept with its lowercase form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    raw: String,
    lower: String,
}

impl SearchText {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let count = raw.chars().count();
        if raw.contains('\0') {
            return Err(DomainError::field(
                "q",
                "must not contain the NUL character",
            ));
        }
        if count == 0 || count > MAX_QUERY_CHARS || raw.trim().is_empty() {
            return Err(DomainError::field(
                "q",
                format!("must be 1 to {MAX_QUERY_CHARS} characters, not only spaces"),
            ));
        }
        Ok(Self {
            raw: raw.to_owned(),
            lower: raw.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn lower(&self) -> &str {
        &self.lower
    }

    /// A LIKE pattern for the lowercase text with `\` as the escape character.
    pub fn like_pattern(&self) -> String {
        let mut out = String::with_capacity(self.lower.len() + 2);
        out.push('%');
        for c in self.lower.chars() {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('%');
        out
    }

    /// The statuses whose name contains the text: a status match becomes `status IN (...)`,
    /// which an index answers, instead of a substring test on every row.
    pub fn matching_statuses(&self) -> Vec<RunStatus> {
        RunStatus::ALL
            .into_iter()
            .filter(|s| s.as_str().contains(&self.lower))
            .collect()
    }

    fn hits(&self, text: &str) -> bool {
        text.to_lowercase().contains(&self.lower)
    }
}

/// One field of a run that contains the search text, with its value as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchMatch {
    /// `entity_id`, `entity_name`, `status` or `meta.<key>`.
    pub field: String,
    pub value: Value,
}

/// The text of a JSON scalar, as the filters compare it; None for objects and arrays.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Every field of `run` that contains the text, in a fixed order: entity_id, entity_name,
/// status, then metadata keys as the scope lists them (alphabetical for all scalars).
pub fn annotate(run: &ProcessRun, text: &SearchText, scope: &MetaScope) -> Vec<SearchMatch> {
    let mut out = Vec::new();
    if text.hits(&run.entity_id) {
        out.push(SearchMatch {
            field: "entity_id".into(),
            value: Value::String(run.entity_id.clone()),
        });
    }
    if let Some(name) = run.entity_name.as_deref().filter(|n| text.hits(n)) {
        out.push(SearchMatch {
            field: "entity_name".into(),
            value: Value::String(name.to_owned()),
        });
    }
    if text.hits(run.status.as_str()) {
        out.push(SearchMatch {
            field: "status".into(),
            value: Value::String(run.status.as_str().to_owned()),
        });
    }
    let Some(meta) = run.meta.as_object() else {
        return out;
    };
    let keys: Vec<&String> = match scope {
        MetaScope::None => Vec::new(),
        MetaScope::Keys(keys) => keys.iter().collect(),
        MetaScope::AllScalars => meta.keys().collect(),
    };
    for key in keys {
        let Some(value) = meta.get(key) else { continue };
        if scalar_text(value).is_some_and(|t| text.hits(&t)) {
            out.push(SearchMatch {
                field: format!("meta.{key}"),
                value: value.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(raw: &str) -> SearchText {
        SearchText::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn length_is_bounded() {
        assert!(SearchText::parse("").is_err());
        assert!(SearchText::parse("   ").is_err());
        assert!(SearchText::parse(&"x".repeat(201)).is_err());
        assert!(SearchText::parse(&"ø".repeat(200)).is_ok());
    }

    #[test]
    fn wildcards_are_literal_in_the_pattern() {
        assert_eq!(text("50%_A\\b").like_pattern(), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn statuses_are_matched_by_name() {
        assert_eq!(text("fail").matching_statuses(), vec![RunStatus::Failed]);
        assert_eq!(text("ED").matching_statuses().len(), 3);
        assert!(text("xyz").matching_statuses().is_empty());
    }

    #[test]
    fn scalars_have_their_filter_text() {
        assert_eq!(scalar_text(&json!(5)), Some("5".into()));
        assert_eq!(scalar_text(&json!(true)), Some("true".into()));
        assert_eq!(scalar_text(&json!(null)), Some("null".into()));
        assert_eq!(scalar_text(&json!({"a": 1})), None);
    }
}
