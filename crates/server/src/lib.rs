//! procdash server: configuration, logging, CLI and wiring of the API to the database.

pub mod cli;
pub mod serve;
pub mod settings;
pub mod telemetry;

pub use serve::{Running, start};
pub use settings::Settings;
