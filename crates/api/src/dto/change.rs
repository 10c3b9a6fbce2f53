use chrono::{DateTime, Utc};
use procdash_domain::validation::check_instant;
use procdash_persistence::audit::query::{ChangeFilter, ChangeRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// One change-log row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeResponse {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// process, step, run, step_run or api_key.
    #[schema(example = "run")]
    pub entity: String,
    pub record_id: i64,
    /// create, update, recompute, delete, restore, retention_change, neutralize, toggle, revoke.
    #[schema(example = "update")]
    pub operation: String,
    /// The acting key as `api_key:<id>:<name>`, or `system:<what>`.
    pub actor: Option<String>,
    /// The client's X-User header: recorded, never trusted.
    pub on_behalf_of: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub changed_fields: Vec<String>,
    /// True when neutralization rewrote the snapshots.
    pub redacted: bool,
    pub payload_hash: String,
    /// Position in the hash chain; null until the sealer links the row.
    pub chain_seq: Option<i64>,
    pub chain_hash: Option<String>,
}

impl From<ChangeRecord> for ChangeResponse {
    fn from(r: ChangeRecord) -> Self {
        let changed_fields = r
            .changed_fields
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: r.id,
            occurred_at: r.occurred_at,
            entity: r.entity,
            record_id: r.record_id,
            operation: r.operation,
            actor: r.actor,
            on_behalf_of: r.on_behalf_of,
            request_id: r.request_id,
            before: r.before,
            after: r.after,
            changed_fields,
            redacted: r.redacted,
            payload_hash: r.payload_hash,
            chain_seq: r.chain_seq,
            chain_hash: r.chain_hash,
        }
    }
}

/// Fields hidden from user keys in histories.
const PII: [&str; 4] = ["entity_id", "entity_name", "meta", "failure"];

impl ChangeResponse {
    /// Hides personal data from callers that are not admins.
    pub fn redact_pii(mut self) -> Self {
        for snapshot in [&mut self.before, &mut self.after].into_iter().flatten() {
            if let Some(obj) = snapshot.as_object_mut() {
                for key in PII {
                    if obj.get(key).is_some_and(|v| !v.is_null()) {
                        obj.insert(key.to_owned(), Value::String("[redacted]".to_owned()));
                    }
                }
            }
        }
        self
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    #[param(example = "run")]
    pub entity: Option<String>,
    pub record_id: Option<i64>,
    /// Substring of the actor label.
    pub actor: Option<String>,
    #[param(example = "update")]
    pub operation: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    /// Up to 1000.
    #[param(minimum = 1, maximum = 1000, default = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}

impl ChangeParams {
    pub fn filter(&self) -> ApiResult<ChangeFilter> {
        window(self.since, self.until)?;
        Ok(ChangeFilter {
            entity: self.entity.clone(),
            record_id: self.record_id,
            actor: self.actor.clone(),
            operation: self.operation.clone(),
            since: self.since,
            until: self.until,
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// csv (default) or xlsx.
    #[param(example = "csv")]
    pub format: Option<String>,
    pub entity: Option<String>,
    pub record_id: Option<i64>,
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl ExportParams {
    pub fn filter(&self) -> ApiResult<ChangeFilter> {
        window(self.since, self.until)?;
        Ok(ChangeFilter {
            entity: self.entity.clone(),
            record_id: self.record_id,
            actor: self.actor.clone(),
            operation: self.operation.clone(),
            since: self.since,
            until: self.until,
        })
    }
}

/// Checks a since/until pair: both within the storable years.
pub fn window(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> ApiResult<()> {
    let errors: Vec<_> = [("since", since), ("until", until)]
        .into_iter()
        .filter_map(|(field, t)| check_instant(field, t).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The result of walking the hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyChainResponse {
    pub ok: bool,
    /// Rows checked before the first break (all rows when ok).
    pub checked: u64,
    pub first_broken_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}
