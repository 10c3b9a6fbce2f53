//! `procdash backup`, `procdash export`, `procdash cleanup neutralize` and
//! `procdash kpis rebuild`.

use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use procdash_api::export::tables;
use procdash_persistence::repo::{kpis, neutralization};
use procdash_persistence::{Actor, DatabaseConnection, backup};

use crate::cli::{CleanupCommand, KpisCommand};

type CliResult = Result<(), Box<dyn std::error::Error>>;

pub async fn backup(db: &DatabaseConnection, out: &Path, stdout: &mut impl Write) -> CliResult {
    if out.exists() {
        return Err(format!("{} already exists", out.display()).into());
    }
    backup::backup_to(db, out).await?;
    writeln!(stdout, "backup written to {}", out.display())?;
    Ok(())
}

pub async fn export(db: &DatabaseConnection, out: &Path, stdout: &mut impl Write) -> CliResult {
    let file = tables::zip_file(db).await?;
    std::fs::copy(file.path(), out)?;
    writeln!(stdout, "export written to {}", out.display())?;
    Ok(())
}

pub async fn cleanup(
    db: &DatabaseConnection,
    command: CleanupCommand,
    keep: &[String],
    stdout: &mut impl Write,
) -> CliResult {
    let CleanupCommand::Neutralize { limit, dry_run } = command;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let batch = neutralization::neutralize_due(
        db,
        &Actor::system("cli"),
        limit,
        dry_run,
        keep,
        |done, total| {
            bar.set_length(u64::try_from(total).unwrap_or(0));
            bar.set_position(u64::try_from(done).unwrap_or(0));
        },
    )
    .await?;
    bar.finish_and_clear();
    let verb = if dry_run {
        "would neutralize"
    } else {
        "neutralized"
    };
    writeln!(
        stdout,
        "{verb} {} runs, {} failed",
        batch.neutralized.len(),
        batch.failed.len()
    )?;
    for id in &batch.neutralized {
        writeln!(stdout, "{id}")?;
    }
    Ok(())
}

pub async fn kpis(
    db: &DatabaseConnection,
    command: KpisCommand,
    stdout: &mut impl Write,
) -> CliResult {
    let KpisCommand::Rebuild { process } = command;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = kpis::rebuild(db, process, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    writeln!(
        stdout,
        "rebuilt KPI rollups from {} runs, {} buckets",
        summary.runs_seen, summary.buckets_recomputed
    )?;
    Ok(())
}
