//! CSV rows of runs: a header of `process_id`, `entity_id`, `entity_name`, `external_id` and
//! `meta.<key>` columns (dots nest, as in `meta_filter`), in any order. Every cell is text; an
//! empty cell is an absent value. A header that cannot be used is a 422 for the whole upload;
//! a line that does not parse as CSV (or is not UTF-8) is a 400.

use serde_json::{Map, Value};

use crate::bulk::parse::{RawRun, RowErrors};
use crate::error::{ApiError, ApiResult};

enum Column {
    ProcessId,
    EntityId,
    EntityName,
    ExternalId,
    Meta(Vec<String>),
}

fn column(name: &str) -> Result<Column, String> {
    Ok(match name {
        "process_id" => Column::ProcessId,
        "entity_id" => Column::EntityId,
        "entity_name" => Column::EntityName,
        "external_id" => Column::ExternalId,
        other => {
            let path = other.strip_prefix("meta.").ok_or_else(|| {
                format!(
                    "unknown column '{other}'; expected process_id, entity_id, entity_name, \
                     external_id or meta.<key>"
                )
            })?;
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            if segments.iter().any(String::is_empty) {
                return Err(format!("column '{other}' has an empty metadata key"));
            }
            Column::Meta(segments)
        }
    })
}

/// The columns of the header, refusing unknown, repeated and overlapping ones.
fn header(names: &csv::StringRecord) -> ApiResult<Vec<Column>> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        if names.iter().take(i).any(|earlier| earlier.trim() == name) {
            errors.push(format!("column '{name}' appears twice"));
        }
        match column(name) {
            Ok(c) => columns.push(c),
            Err(e) => errors.push(e),
        }
    }
    let paths: Vec<&Vec<String>> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Meta(p) => Some(p),
            _ => None,
        })
        .collect();
    for a in &paths {
        for b in &paths {
            if a.len() < b.len() && b.starts_with(a) {
                errors.push(format!(
                    "columns 'meta.{}' and 'meta.{}' overlap",
                    a.join("."),
                    b.join(".")
                ));
            }
        }
    }
    if !columns.iter().any(|c| matches!(c, Column::EntityId)) {
        errors.push("an entity_id column is required".to_owned());
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(ApiError::Validation(
            errors
                .into_iter()
                .map(|e| procdash_domain::FieldError::new("header", e))
                .collect(),
        ))
    }
}

/// The rows of a CSV upload of at most `max_items` rows.
pub fn rows(bytes: &[u8], max_items: usize) -> ApiResult<Vec<Result<RawRun, RowErrors>>> {
    // Spreadsheet programs start UTF-8 CSV files with a byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let names = reader
        .headers()
        .map_err(|e| ApiError::BadRequest(format!("The CSV header cannot be read: {e}")))?
        .clone();
    let columns = header(&names)?;
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ApiError::BadRequest(format!("Invalid CSV: {e}")))?;
        if out.len() == max_items {
            return Err(ApiError::TooManyItems(max_items));
        }
        out.push(row(&columns, &record));
    }
    Ok(out)
}

fn row(columns: &[Column], record: &csv::StringRecord) -> Result<RawRun, RowErrors> {
    let mut raw = RawRun::default();
    let mut meta = Map::new();
    let mut errors = RowErrors::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::ProcessId => match cell.trim().parse::<i64>() {
                Ok(id) => raw.process_id = Some(id),
                Err(_) => errors.push(("process_id".to_owned(), "must be an integer".to_owned())),
            },
            Column::EntityId => raw.entity_id = Some(cell.to_owned()),
            Column::EntityName => raw.entity_name = Some(cell.to_owned()),
            Column::ExternalId => raw.external_id = Some(cell.to_owned()),
            Column::Meta(path) => insert_path(&mut meta, path, cell),
        }
    }
    if !meta.is_empty() {
        raw.meta = Some(Value::Object(meta));
    }
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}

/// Sets `path` (checked by [`header`] not to overlap another column) to the cell's text.
fn insert_path(meta: &mut Map<String, Value>, path: &[String], cell: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = meta;
    for key in parents {
        let entry = target
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = entry else { return };
        target = next;
    }
    target.insert(last.clone(), Value::String(cell.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_fields_and_nested_metadata() {
        let csv =
            "\u{feff}entity_id,meta.city,meta.address.zip,process_id\nE1,Aarhus,8000,3\nE2,,,\n";
        let rows = rows(csv.as_bytes(), 10).unwrap();
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.process_id, Some(3));
        assert_eq!(
            first.meta,
            Some(serde_json::json!({"city": "Aarhus", "address": {"zip": "8000"}}))
        );
        assert!(rows[1].as_ref().unwrap().meta.is_none());
    }

    #[test]
    fn bad_headers_are_all_reported() {
        let Err(ApiError::Validation(errors)) =
            rows(b"entity_name,colour,meta.a,meta.a.b,meta.\n", 10)
        else {
            panic!("expected a 422")
        };
        assert_eq!(errors.len(), 4, "{errors:?}");
    }

    #[test]
    fn ragged_lines_are_unparseable() {
        assert!(matches!(
            rows(b"entity_id,entity_name\nA\n", 10),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            rows(b"entity_id\nA\nB\nC\n", 2),
            Err(ApiError::TooManyItems(2))
        ));
    }
}
