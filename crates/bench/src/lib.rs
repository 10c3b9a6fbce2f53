//! procdash-bench: seeds a database at scale and measures the HTTP API and the repositories.
//! The binary is a thin command line over these modules, so the tests drive the same code.

pub mod cli;
pub mod direct;
pub mod http;
pub mod load;
pub mod meta;
pub mod rng;
pub mod rss;
pub mod seed;
pub mod stats;
pub mod table;

/// Errors of the tool: it reports them and exits, it never inspects them.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
