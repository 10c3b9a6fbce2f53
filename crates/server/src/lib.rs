//! procdash server: configuration, logging, CLI and wiring of the API to the database.

pub mod api_key_cli;
pub mod cli;
pub mod dispatcher;
pub mod import_cli;
pub mod jobs;
pub mod maintenance_cli;
pub mod serve;
pub mod settings;
mod settings_validate;
pub mod telemetry;

pub use serve::{Running, start};
pub use settings::Settings;
