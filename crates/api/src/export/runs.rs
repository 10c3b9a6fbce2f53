//! Runs as CSV or XLSX: one row per run with its step statuses as columns (step names as
//! headers), read in keyset batches and written as they come. Text cells go through
//! [`safe_cell`]. For user keys the personal fields are redacted as in histories.

use std::collections::HashMap;

use actix_web::web::Bytes;
use futures_util::Stream;
use procdash_domain::{ProcessRun, ProcessStep, RunFilter};
use procdash_persistence::DatabaseConnection;
use procdash_persistence::repo::run_export;
use procdash_persistence::repo::run_search::RunSearch;
use serde_json::Value;
use tempfile::NamedTempFile;

use crate::export::sheet;
use crate::export::tables::safe_cell;

const PAGE: u64 = 500;
const REDACTED: &str = "[redacted]";

const FIXED: [&str; 10] = [
    "id",
    "process_id",
    "external_id",
    "entity_id",
    "entity_name",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "meta",
];

/// What to export and how.
#[derive(Debug, Clone)]
pub struct RunExport {
    pub filter: RunFilter,
    pub search: Option<RunSearch>,
    /// Hide entity ids, names and metadata (user keys).
    pub redact: bool,
    /// Step names in column order, and the column of each step id.
    pub step_names: Vec<String>,
    pub column_of: HashMap<i64, usize>,
}

impl RunExport {
    /// One column per distinct step name, in process then index order.
    pub fn new(
        filter: RunFilter,
        search: Option<RunSearch>,
        redact: bool,
        steps: &[ProcessStep],
    ) -> Self {
        let mut step_names: Vec<String> = Vec::new();
        let mut column_of = HashMap::new();
        for s in steps {
            let column = match step_names.iter().position(|n| *n == s.name) {
                Some(c) => c,
                None => {
                    step_names.push(s.name.clone());
                    step_names.len() - 1
                }
            };
            column_of.insert(s.id, column);
        }
        Self {
            filter,
            search,
            redact,
            step_names,
            column_of,
        }
    }

    fn header(&self) -> Vec<String> {
        FIXED
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.step_names.iter().map(|n| safe_cell(n.clone())))
            .collect()
    }

    fn cells(&self, run: &ProcessRun) -> Vec<String> {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339()).unwrap_or_default()
        };
        let personal = |v: Option<String>| match v {
            Some(_) if self.redact => REDACTED.to_owned(),
            other => other.unwrap_or_default(),
        };
        let meta = match &run.meta {
            Value::Null => String::new(),
            _ if self.redact => REDACTED.to_owned(),
            other => other.to_string(),
        };
        let mut steps = vec![String::new(); self.step_names.len()];
        // Step runs come by index then id, so a later manual step run of a step wins.
        for s in &run.steps {
            if let Some(cell) = self
                .column_of
                .get(&s.step_id)
                .and_then(|c| steps.get_mut(*c))
            {
                *cell = s.status.as_str().to_owned();
            }
        }
        [
            run.id.to_string(),
            run.process_id.to_string(),
            run.external_id.clone().unwrap_or_default(),
            personal(Some(run.entity_id.clone())),
            personal(run.entity_name.clone()),
            run.status.as_str().to_owned(),
            time(Some(run.created_at)),
            time(run.started_at),
            time(run.finished_at),
            meta,
        ]
        .into_iter()
        .chain(steps)
        .map(safe_cell)
        .collect()
    }
}

fn csv_bytes(export: &RunExport, runs: &[ProcessRun], header: bool) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        writer.write_record(export.header())?;
    }
    for r in runs {
        writer.write_record(export.cells(r))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// The runs as CSV, one batch of rows per chunk.
pub fn csv_stream(
    db: DatabaseConnection,
    export: RunExport,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some((db, export, 0i64, true)), |state| async move {
        let (db, export, after, first) = state?;
        let runs = match run_export::page(&db, &export.filter, export.search.as_ref(), after, PAGE)
            .await
        {
            Ok(runs) => runs,
            Err(e) => {
                tracing::error!(error = %e, "run export stopped");
                return Some((Err(std::io::Error::other("export failed")), None));
            }
        };
        if runs.is_empty() && !first {
            return None;
        }
        let last = runs.last().map_or(after, |r| r.id);
        let chunk = csv_bytes(&export, &runs, first).map_err(std::io::Error::other);
        let next = (!runs.is_empty()).then_some((db, export, last, false));
        Some((chunk, next))
    })
}

/// The runs as an XLSX workbook, written in constant memory to a temporary file.
pub async fn xlsx_file(
    db: &DatabaseConnection,
    export: &RunExport,
) -> Result<NamedTempFile, String> {
    sheet::xlsx_pages(
        "runs",
        export.header(),
        |after| async move {
            run_export::page(db, &export.filter, export.search.as_ref(), after, PAGE)
                .await
                .map_err(|e| e.to_string())
        },
        |r: &ProcessRun| r.id,
        |r| export.cells(r),
    )
    .await
}
