//! `procdash import runs FILE --process ID`: the parser of `POST /runs/bulk` and the same
//! repository path (`repo::bulk_runs`), in batches of a few thousand rows per transaction.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use procdash_api::bulk::{self, Format};
use procdash_persistence::repo::bulk_runs::{self, BulkMode};
use procdash_persistence::repo::processes;
use procdash_persistence::{Actor, DatabaseConnection};

use crate::cli::ImportCommand;

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub inserted: usize,
    pub duplicates: usize,
    pub failed: usize,
    pub elapsed: Duration,
}

pub async fn import(
    db: &DatabaseConnection,
    command: ImportCommand,
    stdout: &mut impl Write,
) -> CliResult {
    let ImportCommand::Runs {
        file,
        process,
        partial,
        batch,
    } = command;
    let batch = usize::try_from(batch)?;
    let summary = import_runs(db, &file, process, partial, batch, stdout).await?;
    writeln!(
        stdout,
        "imported {} runs, {} duplicates, {} failed in {:.1} s",
        summary.inserted,
        summary.duplicates,
        summary.failed,
        summary.elapsed.as_secs_f64()
    )?;
    Ok(())
}

/// Imports the file's runs into `process`; bad rows are written to `out` (row, field,
/// message). Without `partial`, any bad row stops the import before anything is stored.
pub async fn import_runs(
    db: &DatabaseConnection,
    file: &Path,
    process: i64,
    partial: bool,
    batch: usize,
    out: &mut impl Write,
) -> Result<ImportSummary, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ => return Err(format!("{}: expected a .csv or .json file", file.display()).into()),
    };
    processes::get(db, process).await?;
    let bytes = std::fs::read(file)?;
    // The item limit protects the server from one request; a file has none.
    let parsed = bulk::parse_runs(&bytes, format, Some(process), usize::MAX)?;
    drop(bytes);
    for f in &parsed.failed {
        writeln!(out, "row {}: {}: {}", f.row, f.field, f.message)?;
    }
    let mut failed_rows: Vec<usize> = parsed.failed.iter().map(|f| f.row).collect();
    failed_rows.dedup();
    if !partial && !failed_rows.is_empty() {
        return Err(format!(
            "{} bad rows; nothing imported (use --partial to import the others)",
            failed_rows.len()
        )
        .into());
    }
    let bar = ProgressBar::new(u64::try_from(parsed.rows.len())?);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let actor = Actor::system("cli");
    let mode = if partial {
        BulkMode::Partial
    } else {
        BulkMode::AllOrNothing { rejected: 0 }
    };
    let mut summary = ImportSummary {
        failed: failed_rows.len(),
        ..ImportSummary::default()
    };
    let mut rows = parsed.rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(batch).collect();
        let size = u64::try_from(chunk.len())?;
        let outcome = bulk_runs::insert(db, &actor, chunk, mode).await?;
        for f in &outcome.failed {
            writeln!(out, "row {}: {}: {}", f.row, f.field, f.message)?;
        }
        if !outcome.committed {
            bar.abandon();
            return Err(format!(
                "a batch failed after {} runs were imported; nothing of that batch was stored",
                summary.inserted
            )
            .into());
        }
        summary.inserted += outcome.inserted.len();
        summary.duplicates += outcome.duplicates.len();
        summary.failed += outcome.failed.len();
        bar.inc(size);
    }
    bar.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
