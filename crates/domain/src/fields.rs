//! Field discovery: which run fields a client can filter and sort on, and the rules for
//! reporting metadata keys (declared in the process, or observed in its runs).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::{RunOrderField, RunStatus};

/// Distinct values are listed for a field with at most this many of them.
pub const MAX_LISTED_VALUES: usize = 50;

/// The type of a JSON value, as `jsonb_typeof` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JsonType {
    Array,
    Boolean,
    Null,
    Number,
    Object,
    String,
}

impl JsonType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Array => "array",
            Self::Boolean => "boolean",
            Self::Null => "null",
            Self::Number => "number",
            Self::Object => "object",
            Self::String => "string",
        }
    }

    /// From a PostgreSQL `jsonb_typeof` or SQLite `json_type` name.
    pub fn from_sql_name(name: &str) -> Option<Self> {
        Some(match name {
            "array" => Self::Array,
            "boolean" | "true" | "false" => Self::Boolean,
            "null" => Self::Null,
            "number" | "integer" | "real" => Self::Number,
            "object" => Self::Object,
            "string" | "text" => Self::String,
            _ => return None,
        })
    }

    /// Scalars (strings, numbers, booleans) are the values a `meta_filter` can match.
    pub fn is_filter_scalar(self) -> bool {
        matches!(self, Self::Boolean | Self::Number | Self::String)
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A standard column of a run, with how the run list filters and sorts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardField {
    pub name: &'static str,
    pub field_type: &'static str,
    pub description: &'static str,
    pub sortable: bool,
    /// The run-list query parameters that filter on this field.
    pub filters: &'static [&'static str],
    /// The closed set of values, where there is one.
    pub allowed_values: Option<Vec<&'static str>>,
}

impl StandardField {
    pub fn filterable(&self) -> bool {
        !self.filters.is_empty()
    }
}

/// The run list's standard filters and sorts.
pub fn standard_fields() -> Vec<StandardField> {
    let field = |name, field_type, description, filters| StandardField {
        name,
        field_type,
        description,
        sortable: RunOrderField::ALL.iter().any(|f| f.as_str() == name),
        filters,
        allowed_values: None,
    };
    vec![
        field("id", "integer", "The run id", &[]),
        field(
            "entity_id",
            "string",
            "The business entity's id (exact match)",
            &["entity_id"],
        ),
        field(
            "entity_name",
            "string",
            "The business entity's name (case-insensitive substring)",
            &["entity_name"],
        ),
        StandardField {
            allowed_values: Some(RunStatus::ALL.map(RunStatus::as_str).to_vec()),
            ..field("status", "string", "The run status", &["status"])
        },
        field(
            "created_at",
            "datetime",
            "When the run was created",
            &["created_after", "created_before"],
        ),
        field("updated_at", "datetime", "When the run last changed", &[]),
        field(
            "started_at",
            "datetime",
            "When the first step started",
            &["started_after", "started_before"],
        ),
        field(
            "finished_at",
            "datetime",
            "When the run finished",
            &["finished_after", "finished_before"],
        ),
    ]
}

/// A metadata key declared in a process's `meta.run_metadata_schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredField {
    pub name: String,
    pub field_type: Option<String>,
    pub description: Option<String>,
}

/// The keys of `meta.run_metadata_schema`: an object mapping each key to a type name or to
/// `{"type": …, "description": …}`. Anything else declares nothing.
pub fn declared_fields(process_meta: &Value) -> Vec<DeclaredField> {
    let Some(schema) = process_meta
        .get("run_metadata_schema")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    schema
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, spec)| {
            let text = |v: Option<&Value>| {
                v.and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let (field_type, description) = match spec {
                Value::String(_) => (text(Some(spec)), None),
                Value::Object(o) => (text(o.get("type")), text(o.get("description"))),
                _ => (None, None),
            };
            DeclaredField {
                name: name.clone(),
                field_type: field_type.map(|t| t.to_lowercase()),
                description,
            }
        })
        .collect()
}

/// The type reported for a metadata key: the declared type if any; else the one observed type,
/// ignoring `null` when the key also holds another type; `mixed` when values disagree;
/// `unknown` for a declared key with no type and no observations.
pub fn reported_type(declared: Option<&str>, observed: &BTreeSet<JsonType>) -> String {
    if let Some(t) = declared {
        return t.to_owned();
    }
    let non_null: Vec<_> = observed.iter().filter(|t| **t != JsonType::Null).collect();
    match (non_null.as_slice(), observed.is_empty()) {
        (_, true) => "unknown".to_owned(),
        ([], false) => JsonType::Null.as_str().to_owned(),
        ([one], false) => one.as_str().to_owned(),
        _ => "mixed".to_owned(),
    }
}

/// Why a metadata field's distinct values are, or are not, listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValuesListing {
    /// Every distinct value is listed.
    Listed,
    /// A declared field with more than the maximum: the first ones are listed.
    Truncated,
    /// An undeclared field with more than the maximum: none are listed.
    TooMany,
    /// The caller may not see this field's values (neutralization removes them).
    Hidden,
    /// The key never holds a scalar value, so nothing can be listed.
    NotScalar,
}

impl ValuesListing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listed => "listed",
            Self::Truncated => "truncated",
            Self::TooMany => "too_many",
            Self::Hidden => "hidden",
            Self::NotScalar => "not_scalar",
        }
    }

    /// Whether the field appears in the list of distinct values.
    pub fn shows_values(self) -> bool {
        matches!(self, Self::Listed | Self::Truncated)
    }
}

/// Decides the listing of a field from what the bounded distinct query found (at most
/// `MAX_LISTED_VALUES + 1` values) and keeps the values to show.
pub fn listing(declared: bool, found: Vec<Value>) -> (ValuesListing, Vec<Value>) {
    if found.len() <= MAX_LISTED_VALUES {
        (ValuesListing::Listed, found)
    } else if declared {
        let mut shown = found;
        shown.truncate(MAX_LISTED_VALUES);
        (ValuesListing::Truncated, shown)
    } else {
        (ValuesListing::TooMany, Vec::new())
    }
}

/// Orders distinct values for display: booleans, then numbers, then strings, each ascending.
pub fn sort_values(values: &mut [Value]) {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Bool(_) => 0,
            Value::Number(_) => 1,
            _ => 2,
        }
    }
    values.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
            (Value::String(x), Value::String(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        })
    });
}

/// The `order_by` value that sorts runs by a metadata key.
pub fn meta_sort_key(key: &str) -> String {
    format!("meta.{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_entries_are_type_names_or_objects() {
        let meta = json!({"run_metadata_schema": {
            "department": "String",
            "priority": {"type": "number", "description": "1 is the highest"},
            "odd": 7,
        }});
        let fields = declared_fields(&meta);
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0].name, "department");
        assert_eq!(fields[0].field_type.as_deref(), Some("string"));
        assert_eq!(fields[2].name, "priority");
        assert_eq!(fields[2].description.as_deref(), Some("1 is the highest"));
        assert_eq!(fields[1].field_type, None);
        assert!(declared_fields(&json!({"run_metadata_schema": []})).is_empty());
    }

    #[test]
    fn types_prefer_the_declaration_then_agreement() {
        let set = |ts: &[JsonType]| ts.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(
            reported_type(Some("date"), &set(&[JsonType::String])),
            "date"
        );
        assert_eq!(
            reported_type(None, &set(&[JsonType::String, JsonType::Null])),
            "string"
        );
        assert_eq!(
            reported_type(None, &set(&[JsonType::String, JsonType::Number])),
            "mixed"
        );
        assert_eq!(reported_type(None, &set(&[JsonType::Null])), "null");
        assert_eq!(reported_type(None, &set(&[])), "unknown");
    }

    #[test]
    fn listing_is_bounded() {
        let many: Vec<Value> = (0..=MAX_LISTED_VALUES).map(|i| json!(i)).collect();
        assert_eq!(listing(false, many.clone()).0, ValuesListing::TooMany);
        let (l, shown) = listing(true, many);
        assert_eq!(
            (l, shown.len()),
            (ValuesListing::Truncated, MAX_LISTED_VALUES)
        );
        assert_eq!(listing(false, vec![json!("a")]).0, ValuesListing::Listed);
    }

    #[test]
    fn values_sort_by_kind_then_value() {
        let mut v = vec![
            json!("b"),
            json!(10),
            json!(true),
            json!(2.5),
            json!("a"),
            json!(false),
        ];
        sort_values(&mut v);
        assert_eq!(
            v,
            vec![
                json!(false),
                json!(true),
                json!(2.5),
                json!(10),
                json!("a"),
                json!("b")
            ]
        );
    }

    #[test]
    fn standard_fields_match_the_run_list() {
        let fields = standard_fields();
        assert_eq!(fields.len(), 8);
        assert!(fields.iter().all(|f| f.sortable));
        let created = fields.iter().find(|f| f.name == "created_at");
        assert_eq!(
            created.map(|f| f.filters),
            Some(&["created_after", "created_before"][..])
        );
        assert_eq!(JsonType::from_sql_name("integer"), Some(JsonType::Number));
        assert_eq!(JsonType::from_sql_name("true"), Some(JsonType::Boolean));
    }
}
