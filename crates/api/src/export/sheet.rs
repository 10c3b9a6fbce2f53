//! One XLSX worksheet written page by page in `rust_xlsxwriter`'s constant-memory mode (each row
//! goes to disk as it is written), saved to a temporary file: how every keyset export becomes a
//! workbook without holding its rows.

use std::future::Future;

use rust_xlsxwriter::Workbook;
use tempfile::NamedTempFile;

/// Writes `header`, then the rows of every page `next(after)` returns (keyset by `id`) until
/// one comes back empty.
pub async fn xlsx_pages<T, F, Fut>(
    name: &str,
    header: Vec<String>,
    mut next: F,
    id: impl Fn(&T) -> i64,
    cells: impl Fn(&T) -> Vec<String>,
) -> Result<NamedTempFile, String>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<Vec<T>, String>>,
{
    let file = NamedTempFile::new().map_err(|e| e.to_string())?;
    let mut workbook = Workbook::new();
    let sheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(|e| e.to_string())?;
    sheet.set_name(name).map_err(|e| e.to_string())?;
    for (col, title) in (0u16..).zip(header) {
        sheet
            .write_string(0, col, title)
            .map_err(|e| e.to_string())?;
    }
    let mut row = 1u32;
    let mut after = 0;
    loop {
        let items = next(after).await?;
        let Some(last) = items.last() else { break };
        after = id(last);
        for item in &items {
            for (col, value) in (0u16..).zip(cells(item)) {
                sheet
                    .write_string(row, col, value)
                    .map_err(|e| e.to_string())?;
            }
            row += 1;
        }
    }
    let path = file.path().to_owned();
    tokio::task::spawn_blocking(move || workbook.save(path).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())??;
    Ok(file)
}
