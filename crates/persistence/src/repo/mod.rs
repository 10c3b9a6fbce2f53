//! Repositories: one module per resource. Functions that change several rows open their own
//! write transaction; lookups accept any connection so they can join one.

pub mod processes;
pub mod runs;
pub mod step_runs;
pub mod steps;
