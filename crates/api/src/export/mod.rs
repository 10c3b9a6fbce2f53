//! Streamed exports: the change log as CSV or XLSX, and every table as a ZIP of CSV files.
//! Nothing is held whole in memory: rows are read in keyset pages and written as they come.

pub mod changes;
pub mod dashboard;
pub mod file_stream;
pub mod kpis;
pub mod runs;
pub mod sheet;
pub mod tables;
