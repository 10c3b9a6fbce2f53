use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// procdash: monitoring and management of business processes.
#[derive(Debug, Parser)]
#[command(name = "procdash", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Also PROCDASH_CONFIG; ./procdash.toml is read if present.
    #[arg(long, global = true, env = "PROCDASH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Overrides HOST.
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Overrides PORT.
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// Overrides DATABASE_URL.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (the default).
    Serve {
        /// Do not apply migrations on start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Write a consistent copy of the SQLite database.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Write every table as CSV into a ZIP file.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Data lifecycle maintenance.
    #[command(subcommand)]
    Cleanup(CleanupCommand),
    /// KPI rollups.
    #[command(subcommand)]
    Kpis(KpisCommand),
    /// Bulk import.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Start runs from a CSV or JSON file (the format of POST /runs/bulk), with a progress bar.
    /// The whole file is checked first: a bad row stops the import before anything is stored,
    /// unless --partial. Rows whose external_id is taken are skipped, so a repeat is safe.
    Runs {
        /// A .csv or .json file.
        file: PathBuf,
        /// The process of every row (a row naming another process is refused).
        #[arg(long)]
        process: i64,
        /// Store the valid rows and report the others.
        #[arg(long)]
        partial: bool,
        /// Rows per transaction.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=50_000))]
        batch: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum KpisCommand {
    /// Recompute the KPI rollups from the runs, with a progress bar.
    Rebuild {
        /// Only this process (default: every process).
        #[arg(long)]
        process: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CleanupCommand {
    /// Neutralize runs whose retention has passed, with a progress bar.
    Neutralize {
        /// At most this many runs (1..=1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: u64,
        /// Only list the runs that would be neutralized.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; the plaintext is printed on the last line (or in the JSON with --json).
    Create {
        #[arg(long)]
        name: String,
        /// admin or user.
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long)]
        description: Option<String>,
        /// RFC 3339 expiry, e.g. 2027-01-01T00:00:00Z.
        #[arg(long)]
        expires_at: Option<String>,
        /// Print the full record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List keys: id, prefix, role, state, name.
    List,
    /// Revoke a key by id.
    Revoke { id: i64 },
}
