use std::process::ExitCode;

use clap::Parser;
use procdash_server::cli::{Cli, Command};
use procdash_server::settings::Settings;
use procdash_server::{serve, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("procdash: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(host) = cli.host {
        settings.host = host;
    }
    if let Some(port) = cli.port {
        settings.port = port;
    }
    if let Some(url) = cli.database_url {
        settings.database_url = url;
    }
    let _guard = telemetry::init(&settings);
    let result = match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => serve::serve(&settings, !no_migrate).await,
        Command::Migrate => serve::open_database(&settings, true)
            .await
            .map(|_| ())
            .map_err(Into::into),
        Command::ApiKey(command) => match serve::open_database(&settings, true).await {
            Ok(db) => procdash_server::api_key_cli::run(&db, command, &mut std::io::stdout()).await,
            Err(e) => Err(e.into()),
        },
        Command::Backup { out } => match serve::open_database(&settings, false).await {
            Ok(db) => {
                procdash_server::maintenance_cli::backup(&db, &out, &mut std::io::stdout()).await
            }
            Err(e) => Err(e.into()),
        },
        Command::Export { out } => match serve::open_database(&settings, false).await {
            Ok(db) => {
                procdash_server::maintenance_cli::export(&db, &out, &mut std::io::stdout()).await
            }
            Err(e) => Err(e.into()),
        },
        Command::Cleanup(command) => match serve::open_database(&settings, true).await {
            Ok(db) => {
                let keep = procdash_server::jobs::keep_fields(&settings);
                procdash_server::maintenance_cli::cleanup(
                    &db,
                    command,
                    &keep,
                    &mut std::io::stdout(),
                )
                .await
            }
            Err(e) => Err(e.into()),
        },
        Command::Import(command) => match serve::open_database(&settings, true).await {
            Ok(db) => {
                procdash_server::import_cli::import(&db, command, &mut std::io::stdout()).await
            }
            Err(e) => Err(e.into()),
        },
        Command::Kpis(command) => match serve::open_database(&settings, true).await {
            Ok(db) => {
                procdash_server::maintenance_cli::kpis(&db, command, &mut std::io::stdout()).await
            }
            Err(e) => Err(e.into()),
        },
        Command::Config => {
            use std::io::Write;
            std::io::stdout()
                .write_all(settings.to_redacted_toml().as_bytes())
                .map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "procdash failed");
            eprintln!("procdash: {e}");
            ExitCode::FAILURE
        }
    }
}
