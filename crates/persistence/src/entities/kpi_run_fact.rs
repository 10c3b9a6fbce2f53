use sea_orm::entity::prelude::*;

/// What one live run contributes to the KPIs, as the KPI job last folded it in.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "kpi_run_facts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: i64,
    pub process_id: i64,
    pub created_hour: i64,
    pub created_day: i64,
    pub outcome: Option<String>,
    pub finished_hour: Option<i64>,
    pub finished_day: Option<i64>,
    pub duration_bin: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
