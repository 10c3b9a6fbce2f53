//! A KPI range as CSV or XLSX. The range holds at most `MAX_BUCKETS` buckets, so the CSV is
//! written in memory in chunks and the XLSX in constant memory to a temporary file. Text cells
//! go through [`safe_cell`]; numbers are written as numbers.

use actix_web::web::Bytes;
use procdash_domain::analytics::bucket_instant;
use procdash_domain::analytics::kpis::KpiBucket;
use rust_xlsxwriter::{Workbook, XlsxError};
use tempfile::NamedTempFile;

use crate::export::tables::safe_cell;

pub const HEADER: [&str; 10] = [
    "bucket",
    "runs_started",
    "runs_completed",
    "runs_failed",
    "runs_cancelled",
    "success_rate",
    "failure_rate",
    "median_duration_seconds",
    "p95_duration_seconds",
    "anomalies",
];

const CHUNK: usize = 1000;

fn anomalies(b: &KpiBucket) -> String {
    b.anomalies
        .iter()
        .map(|a| {
            format!(
                "{} {} (expected {:.3}, z {:.2})",
                a.metric, a.value, a.expected, a.z_score
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

enum Cell {
    Text(String),
    Number(Option<f64>),
}

fn cells(b: &KpiBucket) -> [Cell; 10] {
    let count = |n: u64| Cell::Number(Some(n as f64));
    [
        Cell::Text(bucket_instant(b.start).to_rfc3339()),
        count(b.runs_started),
        count(b.runs_completed),
        count(b.runs_failed),
        count(b.runs_cancelled),
        Cell::Number(b.success_rate),
        Cell::Number(b.failure_rate),
        Cell::Number(b.median_duration_seconds),
        Cell::Number(b.p95_duration_seconds),
        Cell::Text(anomalies(b)),
    ]
}

fn csv_text(cell: Cell) -> String {
    match cell {
        Cell::Text(t) => safe_cell(t),
        Cell::Number(n) => n.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// The buckets as CSV chunks of at most [`CHUNK`] rows, the first with the header.
pub fn csv_chunks(buckets: &[KpiBucket]) -> Result<Vec<Bytes>, csv::Error> {
    let mut out = Vec::new();
    let mut header = true;
    let mut rest = buckets;
    loop {
        let (chunk, tail) = rest.split_at(rest.len().min(CHUNK));
        let mut writer = csv::Writer::from_writer(Vec::new());
        if header {
            writer.write_record(HEADER)?;
        }
        for b in chunk {
            writer.write_record(cells(b).map(csv_text))?;
        }
        out.push(Bytes::from(
            writer
                .into_inner()
                .map_err(|e| csv::Error::from(e.into_error()))?,
        ));
        header = false;
        rest = tail;
        if rest.is_empty() {
            return Ok(out);
        }
    }
}

/// The buckets as an XLSX workbook in a temporary file.
pub async fn xlsx_file(buckets: Vec<KpiBucket>) -> Result<NamedTempFile, String> {
    let file = NamedTempFile::new().map_err(|e| e.to_string())?;
    let path = file.path().to_owned();
    tokio::task::spawn_blocking(move || -> Result<(), XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("kpis")?;
        for (col, name) in (0u16..).zip(HEADER) {
            sheet.write_string(0, col, name)?;
        }
        for (row, b) in (1u32..).zip(&buckets) {
            for (col, cell) in (0u16..).zip(cells(b)) {
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(row, col, safe_cell(t))?;
                    }
                    Cell::Number(Some(v)) => {
                        sheet.write_number(row, col, v)?;
                    }
                    Cell::Number(None) => {}
                }
            }
        }
        workbook.save(path)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    Ok(file)
}
