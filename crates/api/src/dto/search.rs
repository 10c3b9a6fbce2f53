//! Bodies of the global run search.

use procdash_domain::search::{MetaScope, SearchMatch};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::run::RunResponse;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// 1..200 characters; a case-insensitive substring. `%`, `_` and `\` are literal.
    #[param(min_length = 1, max_length = 200, example = "acme")]
    pub q: String,
    /// Also search this process's metadata fields: the keys of its
    /// `meta.run_metadata_schema`, or else every top-level scalar field.
    pub process_id: Option<i64>,
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}

/// One field of the run that contains the search text.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchMatchResponse {
    /// entity_id, entity_name, status or meta.<key>.
    #[schema(example = "meta.clinic")]
    pub field: String,
    /// The value as stored: numbers stay numbers (any JSON scalar).
    #[schema(example = json!("Viby"))]
    pub value: Value,
}

impl From<SearchMatch> for SearchMatchResponse {
    fn from(m: SearchMatch) -> Self {
        Self {
            field: m.field,
            value: m.value,
        }
    }
}

/// A found run with what matched in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitResponse {
    pub run: RunResponse,
    pub matches: Vec<SearchMatchResponse>,
}

/// The metadata keys a process declares in `meta.run_metadata_schema` (an object of key →
/// type, or an array of names), or every scalar field when it declares none.
pub fn process_scope(process_meta: &Value) -> MetaScope {
    match process_meta.get("run_metadata_schema") {
        Some(Value::Object(fields)) if !fields.is_empty() => {
            MetaScope::Keys(fields.keys().cloned().collect())
        }
        Some(Value::Array(names)) if !names.is_empty() => MetaScope::Keys(
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => MetaScope::AllScalars,
    }
}
