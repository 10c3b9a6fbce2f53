//! The procdash domain: processes with ordered steps, runs of a process for one business entity,
//! step runs whose statuses roll up into the run's status.
//!
//! This crate has no I/O, no ORM and no HTTP so that other services can embed the rules alone.

pub mod analytics;
pub mod api_key;
pub mod dashboard;
pub mod entity_journey;
pub mod error;
pub mod etag;
pub mod events;
pub mod fields;
pub mod health;
pub mod lifecycle;
pub mod meta_filter;
pub mod model;
pub mod outbound;
pub mod page;
pub mod reruns;
pub mod run_metadata;
pub mod run_query;
pub mod search;
pub mod secrets;
pub mod signature;
pub mod status;
pub mod status_rule;
pub mod timestamps;
pub mod validation;

pub use error::{DomainError, FieldError};
pub use meta_filter::MetaFilter;
pub use model::{
    NewProcess, NewRun, NewStep, Process, ProcessChanges, ProcessRun, ProcessStep, StepInput,
    StepRun,
};
pub use page::{Page, PageRequest, Paging, Position};
pub use run_query::{RunFilter, RunOrder, RunOrderField, RunSortKey, SortDirection};
pub use status::{RunStatus, StepStatus};
pub use status_rule::derive_run_status;
pub use timestamps::{RunTimes, StepRunState, StepUpdate, apply_run_status, apply_step_update};
