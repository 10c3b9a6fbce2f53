use procdash_domain::DomainError;
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: i64 },
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` that does not match the current state of the resource.
    #[error("the {entity} has changed since the tag in If-Match was read")]
    PreconditionFailed { entity: &'static str },
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl PersistenceError {
    pub fn not_found(entity: &'static str, id: i64) -> Self {
        Self::NotFound { entity, id }
    }

    /// Maps a unique-constraint violation to a conflict with the given message.
    pub fn conflict_on_unique(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.into()),
            _ => Self::Database(err),
        }
    }
}

impl From<DbErr> for PersistenceError {
    fn from(err: DbErr) -> Self {
        Self::Database(err)
    }
}
