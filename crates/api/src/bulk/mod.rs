//! Bulk ingest: reading an upload (JSON or CSV) into validated runs. The HTTP endpoint and the
//! `procdash import runs` command share this parser and the repository path
//! (`repo::bulk_runs`), so a file imports the same way through both.

pub mod csv_rows;
pub mod parse;
pub mod upload;

pub use parse::{Format, ParsedRuns, parse_runs};
