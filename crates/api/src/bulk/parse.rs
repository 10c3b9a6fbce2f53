//! An upload of runs, JSON (`{"runs": [...]}`) or CSV, as validated rows and the rows refused.
//! A body that cannot be read at all is a 400; a well-formed body whose rows break the rules
//! gives per-row failures (row numbers from 1, for CSV the first line after the header).

use procdash_domain::{DomainError, NewRun};
use procdash_persistence::repo::bulk_runs::{BulkFailure, BulkRun};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// How the upload is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The rows of an upload: the valid ones, and every refused one with its reasons.
#[derive(Debug, Default)]
pub struct ParsedRuns {
    pub rows: Vec<BulkRun>,
    pub failed: Vec<BulkFailure>,
}

/// One row as read, before validation.
pub use crate::dto::bulk::BulkRunItem as RawRun;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUpload {
    runs: Vec<Value>,
}

/// Parses and validates an upload of at most `max_items` rows. `process`, when given (the
/// import command's `--process`), is the process of rows that name none; a row naming
/// another process is refused.
pub fn parse_runs(
    bytes: &[u8],
    format: Format,
    process: Option<i64>,
    max_items: usize,
) -> ApiResult<ParsedRuns> {
    let raw = match format {
        Format::Json => json_rows(bytes, max_items)?,
        Format::Csv => crate::bulk::csv_rows::rows(bytes, max_items)?,
    };
    let mut parsed = ParsedRuns::default();
    for (row, item) in (1usize..).zip(raw) {
        match item.and_then(|raw| validate(raw, process)) {
            Ok(run) => parsed.rows.push(BulkRun { row, run }),
            Err(errors) => parsed
                .failed
                .extend(errors.into_iter().map(|(field, message)| BulkFailure {
                    row,
                    field,
                    message,
                })),
        }
    }
    Ok(parsed)
}

/// A row's (field, message) errors.
pub type RowErrors = Vec<(String, String)>;

fn json_rows(bytes: &[u8], max_items: usize) -> ApiResult<Vec<Result<RawRun, RowErrors>>> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    // The shape is checked before the rows, so a row's error never refuses the whole upload.
    let upload: JsonUpload = serde_json::from_value(value)
        .map_err(|_| ApiError::field("body", "must be an object {\"runs\": [...]}"))?;
    if upload.runs.len() > max_items {
        return Err(ApiError::TooManyItems(max_items));
    }
    Ok(upload
        .runs
        .into_iter()
        .map(|item| serde_json::from_value::<RawRun>(item).map_err(|e| vec![item_error(&e)]))
        .collect())
}

/// The (field, message) of an item that does not deserialize. serde's own message can quote
/// the offending value, which may be personal data, so only the field name is kept.
pub fn item_error(e: &serde_json::Error) -> (String, String) {
    let message = e.to_string();
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(field) = named("missing field `") {
        (field, "is required".to_owned())
    } else if let Some(field) = named("unknown field `") {
        (field, "is not a known field".to_owned())
    } else {
        (
            "row".to_owned(),
            "a field has the wrong type or format (see the schema)".to_owned(),
        )
    }
}

fn validate(raw: RawRun, process: Option<i64>) -> Result<NewRun, RowErrors> {
    let mut errors = RowErrors::new();
    let process_id = match (raw.process_id, process) {
        (Some(id), Some(given)) if id != given => {
            errors.push((
                "process_id".to_owned(),
                format!("is {id}, but the import is for process {given}"),
            ));
            None
        }
        (Some(id), _) | (None, Some(id)) => Some(id),
        (None, None) => {
            errors.push(("process_id".to_owned(), "is required".to_owned()));
            None
        }
    };
    let entity_id = raw.entity_id.unwrap_or_default();
    let run = NewRun::with_external_id(
        process_id.unwrap_or(0),
        &entity_id,
        raw.entity_name.as_deref(),
        raw.meta,
        raw.external_id.as_deref(),
    );
    match run {
        Ok(run) if errors.is_empty() => Ok(run),
        Ok(_) => Err(errors),
        Err(DomainError::Validation(found)) => {
            errors.extend(found.into_iter().map(|e| (e.field, e.message)));
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_validated_one_by_one() {
        let body = br#"{"runs": [
            {"process_id": 1, "entity_id": "A", "external_id": "x1"},
            {"process_id": 1, "entity_id": ""},
            {"process_id": 1, "entity_id": "C", "colour": "red"}
        ]}"#;
        let parsed = parse_runs(body, Format::Json, None, 10).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].run.external_id.as_deref(), Some("x1"));
        let failed: Vec<_> = parsed
            .failed
            .iter()
            .map(|f| (f.row, f.field.as_str()))
            .collect();
        assert_eq!(failed, [(2, "entity_id"), (3, "colour")]);
        let typed = br#"{"runs": [{"process_id": "Alice Smith", "entity_id": "A"}]}"#;
        let parsed = parse_runs(typed, Format::Json, None, 10).unwrap();
        assert!(
            !parsed.failed[0].message.contains("Alice"),
            "{:?}",
            parsed.failed
        );
    }

    #[test]
    fn the_import_process_fills_and_checks_rows() {
        let body = br#"{"runs": [{"entity_id": "A"}, {"process_id": 2, "entity_id": "B"}]}"#;
        let parsed = parse_runs(body, Format::Json, Some(1), 10).unwrap();
        assert_eq!(parsed.rows[0].run.process_id, 1);
        assert_eq!(parsed.failed[0].row, 2);
        let without = parse_runs(body, Format::Json, None, 10).unwrap();
        assert_eq!(without.failed[0].field, "process_id");
    }

    #[test]
    fn unreadable_and_oversized_uploads_are_refused_whole() {
        assert!(matches!(
            parse_runs(b"{", Format::Json, None, 10),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_runs(br#"{"rows": []}"#, Format::Json, None, 10),
            Err(ApiError::Validation(_))
        ));
        let body = br#"{"runs": [{}, {}, {}]}"#;
        assert!(matches!(
            parse_runs(body, Format::Json, None, 2),
            Err(ApiError::TooManyItems(2))
        ));
    }
}
