//! Logging: console always, and a daily-rotated file when LOG_FILE is set.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::settings::{LogFormat, Settings};

/// Installs the global subscriber. Keep the guard alive so buffered file lines are flushed.
pub fn init(settings: &Settings) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let console = match settings.log_format {
        LogFormat::Json => fmt::layer().json().with_writer(std::io::stderr).boxed(),
        LogFormat::Text => fmt::layer().with_writer(std::io::stderr).boxed(),
    };
    let (file, guard) = match &settings.log_file {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = path.file_name().map_or_else(
                || "procdash.log".into(),
                |n| n.to_string_lossy().into_owned(),
            );
            let (writer, guard) =
                tracing_appender::non_blocking(tracing_appender::rolling::daily(dir, name));
            let layer = match settings.log_format {
                LogFormat::Json => fmt::layer()
                    .json()
                    .with_ansi(false)
                    .with_writer(writer)
                    .boxed(),
                LogFormat::Text => fmt::layer().with_ansi(false).with_writer(writer).boxed(),
            };
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(console)
        .with(file)
        .try_init();
    guard
}
