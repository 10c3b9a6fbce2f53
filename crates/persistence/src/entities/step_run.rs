use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "step_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    pub step_id: i64,
    pub step_index: i32,
    pub status: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub failure: Option<Json>,
    pub last_modified_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
    /// The soft deletion that removed this row, so a restore brings back exactly its rows.
    pub deletion_id: Option<String>,
    /// The first attempt of this step in this run; NULL on a first attempt.
    pub original_step_run_id: Option<i64>,
    /// 1 for the first attempt, previous + 1 for each rerun.
    pub attempt: i32,
    /// Set when a rerun replaced this attempt; superseded attempts do not count in the run status.
    pub superseded_at: Option<DateTimeUtc>,
    /// The meta given with the rerun request.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub rerun_meta: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
