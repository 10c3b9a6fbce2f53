use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    string_len_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

#[derive(DeriveIden)]
pub enum Audit {
    CreatedAt,
    UpdatedAt,
    CreatedBy,
    UpdatedBy,
    DeletedAt,
}

/// The audit mixin every table carries: who and when created and updated it, and soft deletion.
pub fn with_audit_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(timestamp_with_time_zone(Audit::CreatedAt))
        .col(timestamp_with_time_zone(Audit::UpdatedAt))
        .col(string_len_null(Audit::CreatedBy, 255))
        .col(string_len_null(Audit::UpdatedBy, 255))
        .col(timestamp_with_time_zone_null(Audit::DeletedAt))
}

/// The mixin on an owned statement, for builder chains.
pub fn with_audit_columns_owned(mut table: TableCreateStatement) -> TableCreateStatement {
    with_audit_columns(&mut table);
    table
}

/// `value.pipe(f)` is `f(value)`: keeps a builder chain readable.
pub trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl Pipe for TableCreateStatement {}
