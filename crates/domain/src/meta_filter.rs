//! Metadata filters and paths: `field:value` items from the query string, parsed at the edge.
//! Field names never reach SQL as text: the persistence layer binds a [`MetaPath`] as a JSON
//! path argument.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Longest accepted field path and value, in characters.
pub const MAX_PATH_CHARS: usize = 200;
pub const MAX_VALUE_CHARS: usize = 500;
/// Most `meta_filter` items in one request.
pub const MAX_ITEMS: usize = 20;
/// Deepest accepted nesting (`a.b.c` is 3).
pub const MAX_DEPTH: usize = 8;

/// Why a metadata filter or path was refused; the message names the bad item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetaFilterError(pub String);

/// A metadata field: top-level key, or nested keys joined by dots (`address.city`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetaPath(Vec<String>);

impl MetaPath {
    /// Splits on dots. Every segment must be non-empty and free of double quotes and control
    /// characters (they cannot be spelled in a JSON path argument on every backend).
    pub fn parse(raw: &str) -> Result<Self, MetaFilterError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(MetaFilterError("the field name is empty".into()));
        }
        if raw.chars().count() > MAX_PATH_CHARS {
            return Err(MetaFilterError(format!(
                "the field name is longer than {MAX_PATH_CHARS} characters"
            )));
        }
        let segments: Vec<String> = raw.split('.').map(str::to_owned).collect();
        if segments.len() > MAX_DEPTH {
            return Err(MetaFilterError(format!(
                "field '{raw}' nests deeper than {MAX_DEPTH} levels"
            )));
        }
        if segments.iter().any(String::is_empty) {
            return Err(MetaFilterError(format!(
                "field '{raw}' has an empty segment (dots separate nested keys)"
            )));
        }
        if segments
            .iter()
            .any(|s| s.chars().any(|c| c == '"' || c.is_control()))
        {
            return Err(MetaFilterError(format!(
                "field '{raw}' contains a double quote or a control character"
            )));
        }
        Ok(Self(segments))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The dotted form, as the client wrote it.
    pub fn dotted(&self) -> String {
        self.0.join(".")
    }

    /// SQLite JSON1 path: every key quoted, so dots, brackets and `$` inside keys stay literal.
    pub fn sqlite_path(&self) -> String {
        let mut out = String::from("$");
        for s in &self.0 {
            out.push_str(".\"");
            out.push_str(s);
            out.push('"');
        }
        out
    }

    /// PostgreSQL text[] literal for `#>`/`#>>`: elements quoted, backslashes escaped.
    pub fn postgres_array(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("\"{}\"", s.replace('\\', "\\\\")))
            .collect();
        format!("{{{}}}", items.join(","))
    }

    /// `{"a": {"b": leaf}}` for the path `a.b`: the document a containment test looks for.
    pub fn nest(&self, leaf: Value) -> Value {
        self.0.iter().rev().fold(leaf, |inner, key| {
            let mut map = Map::new();
            map.insert(key.clone(), inner);
            Value::Object(map)
        })
    }
}

/// Every JSON scalar whose text is `value`: the string always, plus the number, boolean or null
/// spelled the same way. `5` → "5" and 5; `true` → "true" and true; `null` → "null" and null.
pub fn spellings(value: &str) -> Vec<Value> {
    let mut out = vec![Value::String(value.to_owned())];
    match value {
        "true" => out.push(Value::Bool(true)),
        "false" => out.push(Value::Bool(false)),
        "null" => out.push(Value::Null),
        _ => {
            if let Ok(n) = value.parse::<serde_json::Number>()
                && n.to_string() == value
            {
                out.push(Value::Number(n));
            }
        }
    }
    out
}

/// Metadata filters given as `field:value`: values of one field are OR'd, fields are AND'd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaFilter {
    fields: BTreeMap<MetaPath, Vec<String>>,
}

impl MetaFilter {
    /// Splits each item on its first colon and trims both sides; values may hold colons and
    /// commas (`company:Acme, Inc`).
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, MetaFilterError> {
        let mut fields: BTreeMap<MetaPath, Vec<String>> = BTreeMap::new();
        let mut count = 0;
        for item in raw {
            count += 1;
            if count > MAX_ITEMS {
                return Err(MetaFilterError(format!(
                    "at most {MAX_ITEMS} meta_filter items are accepted"
                )));
            }
            let Some((field, value)) = item.split_once(':') else {
                return Err(MetaFilterError(format!(
                    "meta_filter '{item}' is not field:value"
                )));
            };
            let path = MetaPath::parse(field)
                .map_err(|e| MetaFilterError(format!("meta_filter '{item}': {}", e.0)))?;
            let value = value.trim();
            if value.contains('\0') {
                return Err(MetaFilterError(format!(
                    "meta_filter for '{}' has a NUL character in its value",
                    path.dotted()
                )));
            }
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(MetaFilterError(format!(
                    "meta_filter for '{}' has a value longer than {MAX_VALUE_CHARS} characters",
                    path.dotted()
                )));
            }
            let values = fields.entry(path).or_default();
            if !values.iter().any(|v| v == value) {
                values.push(value.to_owned());
            }
        }
        Ok(Self { fields })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = (&MetaPath, &[String])> {
        self.fields.iter().map(|(k, v)| (k, v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(items: &[&str]) -> Vec<(String, Vec<String>)> {
        MetaFilter::parse(items.iter().copied())
            .unwrap_or_default()
            .fields()
            .map(|(k, v)| (k.dotted(), v.to_vec()))
            .collect()
    }

    #[test]
    fn groups_values_by_field_and_splits_on_the_first_colon() {
        let got = parsed(&[
            "priority:high",
            " env : prod ",
            "priority:low",
            "url:http://x:80",
            "company:Acme, Inc",
        ]);
        assert_eq!(got[0], ("company".to_owned(), vec!["Acme, Inc".to_owned()]));
        assert_eq!(got[1], ("env".to_owned(), vec!["prod".to_owned()]));
        assert_eq!(got[2].1, vec!["high".to_owned(), "low".to_owned()]);
        assert_eq!(got[3].1, vec!["http://x:80".to_owned()]);
    }

    #[test]
    fn rejects_malformed_items_naming_them() {
        for bad in ["nocolon", ":v", " :v", "a..b:v", ".a:v", "a\"b:v"] {
            let err = MetaFilter::parse([bad]).err();
            assert!(err.is_some(), "{bad}");
        }
        let Err(e) = MetaFilter::parse(["nocolon"]) else {
            panic!("expected an error")
        };
        assert!(e.0.contains("nocolon"));
        assert!(MetaFilter::parse([]).is_ok_and(|f| f.is_empty()));
    }

    #[test]
    fn paths_quote_every_key() {
        let p = MetaPath::parse("address.city").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.sqlite_path(), "$.\"address\".\"city\"");
        assert_eq!(p.postgres_array(), "{\"address\",\"city\"}");
        assert_eq!(p.nest(json!("x")), json!({"address": {"city": "x"}}));
        let odd = MetaPath::parse("a$[0]'--;\\").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(odd.postgres_array(), "{\"a$[0]'--;\\\\\"}");
    }

    #[test]
    fn spellings_cover_number_boolean_and_null() {
        assert_eq!(spellings("5"), vec![json!("5"), json!(5)]);
        assert_eq!(spellings("2.5"), vec![json!("2.5"), json!(2.5)]);
        assert_eq!(spellings("true"), vec![json!("true"), json!(true)]);
        assert_eq!(spellings("null"), vec![json!("null"), Value::Null]);
        assert_eq!(spellings("05"), vec![json!("05")]);
        assert_eq!(spellings("Aarhus"), vec![json!("Aarhus")]);
    }
}
