use sea_orm::entity::prelude::*;

/// One outbound delivery: a rerun dispatch or a webhook event, with its tries.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `rerun_http`, `rerun_automation_server` or `webhook`.
    pub kind: String,
    /// The step run (reruns) or the webhook (webhook events) the delivery belongs to.
    pub subject_id: i64,
    pub event_type: Option<String>,
    /// Sent as Procdash-Delivery; stable across tries so receivers can deduplicate.
    pub delivery_id: String,
    pub method: String,
    pub target: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub policy: Json,
    /// pending, delivered or failed.
    pub state: String,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub claimed_by: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub tries: Option<Json>,
    pub try_count: i32,
    pub last_status: Option<i32>,
    pub dedupe_key: Option<String>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
