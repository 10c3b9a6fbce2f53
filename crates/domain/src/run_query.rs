use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::meta_filter::{MetaFilter, MetaPath};
use crate::{DomainError, RunStatus};

/// Filters of the run listing; every field narrows the result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunFilter {
    pub process_id: Option<i64>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    pub status: Option<RunStatus>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    pub finished_after: Option<DateTime<Utc>>,
    pub finished_before: Option<DateTime<Utc>>,
    /// `meta_filter=field:value` items.
    pub meta: MetaFilter,
    /// Keeps runs whose current step run for this step failed.
    pub failed_at: Option<i64>,
    /// `health=ok|late|stuck`, with the cutoffs of the rule at the time of the request.
    pub health: Option<HealthCondition>,
}

/// The late/stuck rule as cutoffs: late runs are pending and created before `late_before`;
/// stuck runs are running and started before their process's cutoff.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthCondition {
    pub health: Option<crate::health::RunHealth>,
    pub late_before: DateTime<Utc>,
    pub stuck_before: Vec<(i64, DateTime<Utc>)>,
    /// For processes without an entry (no completed runs, no expected duration).
    pub default_stuck_before: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrderField {
    Id,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
    EntityId,
    EntityName,
    Status,
}

impl RunOrderField {
    pub const ALL: [RunOrderField; 8] = [
        Self::Id,
        Self::CreatedAt,
        Self::UpdatedAt,
        Self::StartedAt,
        Self::FinishedAt,
        Self::EntityId,
        Self::EntityName,
        Self::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::StartedAt => "started_at",
            Self::FinishedAt => "finished_at",
            Self::EntityId => "entity_id",
            Self::EntityName => "entity_name",
            Self::Status => "status",
        }
    }

    pub fn allowed() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl FromStr for RunOrderField {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                DomainError::field("order_by", format!("must be one of: {}", Self::allowed()))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

impl FromStr for SortDirection {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(DomainError::field(
                "sort_direction",
                "must be one of: asc, desc",
            )),
        }
    }
}

/// What the run listing sorts by: a column of the whitelist, or a metadata field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSortKey {
    Column(RunOrderField),
    /// `order_by=meta.<field>`: missing values last.
    Meta(MetaPath),
}

impl RunSortKey {
    /// Parses `order_by`: a whitelisted column or `meta.<field>`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.strip_prefix("meta.") {
            Some(field) => MetaPath::parse(field)
                .map(Self::Meta)
                .map_err(|e| DomainError::field("order_by", e.0)),
            None => raw.parse().map(Self::Column).map_err(|_| {
                DomainError::field(
                    "order_by",
                    format!(
                        "must be one of: {}, or meta.<field>",
                        RunOrderField::allowed()
                    ),
                )
            }),
        }
    }

    /// The `order_by` text this key came from.
    pub fn label(&self) -> String {
        match self {
            Self::Column(c) => c.as_str().to_owned(),
            Self::Meta(p) => format!("meta.{}", p.dotted()),
        }
    }
}

/// The order of the run listing; id breaks ties in the same direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOrder {
    pub field: RunSortKey,
    pub direction: SortDirection,
}

impl Default for RunOrder {
    fn default() -> Self {
        Self {
            field: RunSortKey::Column(RunOrderField::CreatedAt),
            direction: SortDirection::Desc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_is_whitelisted_and_names_the_allowed_values() {
        assert_eq!(
            "entity_name".parse::<RunOrderField>().ok(),
            Some(RunOrderField::EntityName)
        );
        let Err(DomainError::Validation(e)) = "meta; drop table".parse::<RunOrderField>() else {
            panic!("expected rejection")
        };
        assert!(
            e[0].message
                .contains("id, created_at, updated_at, started_at")
        );
    }

    #[test]
    fn direction_parses_case_insensitively() {
        assert_eq!(
            "ASC".parse::<SortDirection>().ok(),
            Some(SortDirection::Asc)
        );
        assert!("up".parse::<SortDirection>().is_err());
        assert_eq!(RunOrder::default().direction, SortDirection::Desc);
    }
}
