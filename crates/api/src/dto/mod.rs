//! Request and response bodies. They are not storage rows: each maps from a domain value.

pub mod process;
pub mod run;
pub mod step;
pub mod step_run;
pub mod system;
