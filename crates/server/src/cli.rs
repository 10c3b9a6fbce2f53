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
}
