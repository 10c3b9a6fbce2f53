use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "process_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub process_id: i64,
    pub entity_id: String,
    pub entity_name: Option<String>,
    /// The caller's own id for the run, unique per process among live runs.
    pub external_id: Option<String>,
    pub status: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub meta: Json,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub scheduled_deletion_at: Option<DateTimeUtc>,
    pub is_neutralized: bool,
    pub neutralized_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
    /// The soft deletion that removed this row, so a restore brings back exactly its rows.
    pub deletion_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
