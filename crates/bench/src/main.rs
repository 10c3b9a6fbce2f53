use clap::Parser;
use procdash_bench::cli::{Cli, execute};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match execute(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("procdash-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
