use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use procdash_domain::health::RunHealth;
use procdash_domain::run_query::HealthCondition;
use procdash_domain::validation::check_instant;
use procdash_domain::{
    FieldError, MetaFilter, NewRun, ProcessRun, RunFilter, RunOrder, RunOrderField, RunSortKey,
    RunStatus, SortDirection,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::dto::step_run::StepRunResponse;
use crate::error::{ApiError, ApiResult};

/// Status of a run, derived from its step statuses.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatusDto {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl From<RunStatus> for RunStatusDto {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Pending => Self::Pending,
            RunStatus::Running => Self::Running,
            RunStatus::Completed => Self::Completed,
            RunStatus::Failed => Self::Failed,
            RunStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A run of a process for one business entity, with its step runs by step index.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunResponse {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = 1)]
    pub process_id: i64,
    #[schema(example = "CUST-20251003-001")]
    pub entity_id: String,
    #[schema(example = "Acme Corporation")]
    pub entity_name: Option<String>,
    /// The caller's own id for the run, unique per process among live runs.
    #[schema(example = "ORDER-7781")]
    pub external_id: Option<String>,
    pub status: RunStatusDto,
    #[schema(value_type = Object, example = json!({"priority": "high"}))]
    pub meta: Value,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the run becomes due for neutralization (created_at + the process's retention).
    pub scheduled_deletion_at: Option<DateTime<Utc>>,
    pub is_neutralized: bool,
    pub neutralized_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// ok, late (pending too long) or stuck (running too long); see docs/dashboards.md.
    pub health: RunHealthDto,
    pub steps: Vec<StepRunResponse>,
}

/// The late/stuck rule's verdict on a run at the time of the response.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunHealthDto {
    Ok,
    Late,
    Stuck,
}

impl From<RunHealth> for RunHealthDto {
    fn from(h: RunHealth) -> Self {
        match h {
            RunHealth::Ok => Self::Ok,
            RunHealth::Late => Self::Late,
            RunHealth::Stuck => Self::Stuck,
        }
    }
}

impl RunResponse {
    /// The body of a run whose health the caller has judged.
    pub fn new(r: ProcessRun, health: RunHealth) -> Self {
        Self {
            health: health.into(),
            id: r.id,
            process_id: r.process_id,
            entity_id: r.entity_id,
            entity_name: r.entity_name,
            external_id: r.external_id,
            status: r.status.into(),
            meta: r.meta,
            started_at: r.started_at,
            finished_at: r.finished_at,
            scheduled_deletion_at: r.scheduled_deletion_at,
            is_neutralized: r.is_neutralized,
            neutralized_at: r.neutralized_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            steps: r.steps.into_iter().map(StepRunResponse::from).collect(),
        }
    }
}

/// Starts a run of a process for one business entity.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"process_id": 1, "entity_id": "CUST-20251003-001", "entity_name": "Acme Corporation", "meta": {"priority": "high"}}))]
pub struct CreateRunRequest {
    pub process_id: i64,
    /// The business entity's id, at most 100 characters.
    #[schema(max_length = 100)]
    pub entity_id: String,
    pub entity_name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    /// Your own id for the run, at most 100 characters, unique per process among live runs
    /// (a second live run with it is a 409; bulk uploads report it as a duplicate).
    #[schema(max_length = 100, example = "ORDER-7781")]
    pub external_id: Option<String>,
}

impl CreateRunRequest {
    pub fn into_domain(self) -> ApiResult<NewRun> {
        Ok(NewRun::with_external_id(
            self.process_id,
            &self.entity_id,
            self.entity_name.as_deref(),
            self.meta,
            self.external_id.as_deref(),
        )?)
    }
}

/// Filters and order of the run listing. Dates are ISO 8601 (a date alone means midnight UTC;
/// no offset means UTC).
/// Unknown parameters are refused (422), never ignored. `meta_filter` is repeatable, so it is
/// read from the raw query string and documented beside this struct.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunListParams {
    #[param(value_type = Option<i64>, example = 1)]
    pub process_id: Option<String>,
    /// Exact entity id.
    pub entity_id: Option<String>,
    /// Case-insensitive substring of the entity name.
    pub entity_name: Option<String>,
    /// Run status (also accepted as `run_status`).
    #[serde(alias = "run_status")]
    #[param(value_type = Option<String>, example = "failed")]
    pub status: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_after: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_before: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub started_after: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub started_before: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub finished_after: Option<String>,
    #[param(value_type = Option<DateTime<Utc>>)]
    pub finished_before: Option<String>,
    /// Keeps runs whose current step run for this step id failed.
    #[param(value_type = Option<i64>, example = 7)]
    pub failed_at: Option<String>,
    /// ok, late or stuck: the rule of docs/dashboards.md at the time of the request.
    #[param(example = "stuck")]
    pub health: Option<String>,
    /// One of id, created_at, updated_at, started_at, finished_at, entity_id, entity_name,
    /// status, or `meta.<field>` (a metadata field, dots for nesting; missing values last).
    /// Default created_at; id breaks ties.
    #[param(example = "created_at")]
    pub order_by: Option<String>,
    /// asc or desc, default desc.
    #[param(example = "desc")]
    pub sort_direction: Option<String>,
    #[param(minimum = 1, maximum = 1000000000, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub size: Option<i64>,
    /// Opaque keyset cursor from `next_cursor` or a `rel="next"` link; not with `page`.
    pub cursor: Option<String>,
}

impl RunListParams {
    /// The filter and order; `meta_items` are the `meta_filter` values. A malformed metadata
    /// filter is a 400 naming the item; every other bad parameter is reported in one 422.
    pub fn parse(&self, meta_items: &[String]) -> ApiResult<(RunFilter, RunOrder)> {
        let meta = MetaFilter::parse(meta_items.iter().map(String::as_str))
            .map_err(|e| ApiError::BadRequest(e.0))?;
        let mut errors = Vec::new();
        let mut date = |field: &str, raw: &Option<String>| {
            raw.as_deref().and_then(|v| {
                parse_instant(v)
                    .map_err(|_| {
                        FieldError::new(
                            field,
                            format!("'{v}' is not an ISO 8601 date or date-time"),
                        )
                    })
                    .and_then(|t| check_instant(field, Some(t)))
                    .map_err(|e| errors.push(e))
                    .ok()
                    .flatten()
            })
        };
        let created_after = date("created_after", &self.created_after);
        let created_before = date("created_before", &self.created_before);
        let started_after = date("started_after", &self.started_after);
        let started_before = date("started_before", &self.started_before);
        let finished_after = date("finished_after", &self.finished_after);
        let finished_before = date("finished_before", &self.finished_before);
        let process_id = self.process_id.as_deref().and_then(|v| {
            v.parse::<i64>()
                .map_err(|_| errors.push(FieldError::new("process_id", "must be an integer")))
                .ok()
        });
        let status = self.status.as_deref().and_then(|v| {
            v.parse::<RunStatus>()
                .map_err(|e| push_domain(&mut errors, e))
                .ok()
        });
        let failed_at = self.failed_at.as_deref().and_then(|v| {
            v.parse::<i64>()
                .map_err(|_| errors.push(FieldError::new("failed_at", "must be a step id")))
                .ok()
        });
        let health = self.health.as_deref().and_then(|v| {
            RunHealth::parse(v)
                .map_err(|e| push_domain(&mut errors, e))
                .ok()
        });
        let field = self.order_by.as_deref().map_or(
            Ok(RunSortKey::Column(RunOrderField::CreatedAt)),
            RunSortKey::parse,
        );
        let field = field.map_err(|e| push_domain(&mut errors, e)).ok();
        let direction = self
            .sort_direction
            .as_deref()
            .map_or(Ok(SortDirection::Desc), str::parse);
        let direction = direction.map_err(|e| push_domain(&mut errors, e)).ok();
        match (field, direction) {
            (Some(field), Some(direction)) if errors.is_empty() => Ok((
                RunFilter {
                    process_id,
                    entity_id: self.entity_id.clone(),
                    entity_name: self.entity_name.clone().filter(|n| !n.is_empty()),
                    status,
                    created_after,
                    created_before,
                    started_after,
                    started_before,
                    finished_after,
                    finished_before,
                    meta,
                    failed_at,
                    // The cutoffs are filled in by the handler, which knows the limits.
                    health: health.map(|h| HealthCondition {
                        health: Some(h),
                        ..HealthCondition::default()
                    }),
                },
                RunOrder { field, direction },
            )),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

fn push_domain(errors: &mut Vec<FieldError>, err: procdash_domain::DomainError) {
    let procdash_domain::DomainError::Validation(mut e) = err;
    errors.append(&mut e);
}

/// RFC 3339, or a naive date-time or date taken as UTC.
fn parse_instant(raw: &str) -> Result<DateTime<Utc>, ()> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_accept_common_iso_forms() {
        assert!(parse_instant("2025-10-01T00:00:00Z").is_ok());
        assert!(parse_instant("2025-10-01T02:00:00+02:00").is_ok());
        assert!(parse_instant("2025-10-01T00:00:00").is_ok());
        assert!(parse_instant("2025-10-01").is_ok());
        assert!(parse_instant("yesterday").is_err());
    }

    #[test]
    fn bad_parameters_are_all_reported() {
        let params = RunListParams {
            created_after: Some("nope".into()),
            order_by: Some("meta".into()),
            status: Some("done".into()),
            ..RunListParams::default()
        };
        let Err(ApiError::Validation(errors)) = params.parse(&[]) else {
            panic!("expected errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["created_after", "status", "order_by"]);
    }
}
