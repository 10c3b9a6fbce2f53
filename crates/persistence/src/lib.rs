//! procdash storage: sea-orm entities and repositories over SQLite or PostgreSQL.
//!
//! Repository functions take `&impl ConnectionTrait` so that a use case can run several of them
//! in one transaction; the use cases here open that transaction themselves.

pub mod actor;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod connect;
mod convert;
pub mod entities;
pub mod error;
pub mod notify;
pub mod paging;
pub mod replica;
pub mod repo;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tx;

pub use actor::Actor;
pub use connect::{Backend, DbConfig, connect, migrate, ping};
pub use error::PersistenceError;
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
