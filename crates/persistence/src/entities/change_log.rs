use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub entity: String,
    pub record_id: i64,
    pub operation: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub on_behalf_of: Option<String>,
    pub request_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub before: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub after: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub changed_fields: Json,
    pub redacted: bool,
    pub payload_hash: String,
    pub chain_seq: Option<i64>,
    pub chain_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
