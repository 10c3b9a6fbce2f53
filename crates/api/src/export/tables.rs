use std::io::Write;

use procdash_persistence::DatabaseConnection;
use procdash_persistence::backup::{EXPORTED, table_page};
use serde_json::Value;
use tempfile::NamedTempFile;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

const PAGE: u64 = 1000;

/// A cell a spreadsheet will not run as a formula.
pub fn safe_cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn csv_chunk<'a>(records: impl Iterator<Item = Vec<String>> + 'a) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer.write_record(&record).map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// Writes one table as CSV into the archive, page by page, leaving out `exclude` columns.
async fn dump(
    db: &DatabaseConnection,
    zip: &mut ZipWriter<std::fs::File>,
    table: &str,
    exclude: &[&str],
) -> Result<(), String> {
    zip.start_file(format!("{table}.csv"), SimpleFileOptions::default())
        .map_err(|e| e.to_string())?;
    let mut offset = 0;
    loop {
        let (columns, rows) = table_page(db, table, offset, PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let columns: Vec<String> = columns
            .into_iter()
            .filter(|c| !exclude.contains(&c.as_str()))
            .collect();
        if offset == 0 {
            zip.write_all(&csv_chunk(std::iter::once(columns.clone()))?)
                .map_err(|e| e.to_string())?;
        }
        if rows.is_empty() {
            return Ok(());
        }
        offset += PAGE;
        let records = rows.iter().map(|row| {
            columns
                .iter()
                .map(|c| safe_cell(cell(row.get(c))))
                .collect()
        });
        zip.write_all(&csv_chunk(records)?)
            .map_err(|e| e.to_string())?;
    }
}

/// One CSV per table (the change log included, key hashes excluded) in a ZIP temporary file.
pub async fn zip_file(db: &DatabaseConnection) -> Result<NamedTempFile, String> {
    let file = NamedTempFile::new().map_err(|e| e.to_string())?;
    let mut zip = ZipWriter::new(file.reopen().map_err(|e| e.to_string())?);
    for (table, exclude) in EXPORTED {
        dump(db, &mut zip, table, exclude).await?;
    }
    zip.finish().map_err(|e| e.to_string())?;
    Ok(file)
}
