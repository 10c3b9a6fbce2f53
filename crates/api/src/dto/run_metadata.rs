//! The body of a run metadata update.

use procdash_domain::run_metadata::MetaUpdate;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiResult;

/// New values for existing top-level metadata keys (a shallow merge; `null` is a value).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"meta": {"priority": "low", "ticket": null}}))]
pub struct UpdateRunMetadataRequest {
    /// Keys the run's metadata already has, with their new values.
    #[schema(value_type = Object)]
    pub meta: Value,
}

impl UpdateRunMetadataRequest {
    pub fn into_domain(self) -> ApiResult<MetaUpdate> {
        Ok(MetaUpdate::parse("meta", self.meta)?)
    }
}
