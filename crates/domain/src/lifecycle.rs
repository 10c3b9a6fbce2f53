//! Retention and neutralization rules: when a run is due, and what of it is kept.

use chrono::{DateTime, Months, SubsecRound, Utc};
use serde_json::{Map, Value, json};

/// The default keep-list of metadata keys that survive neutralization.
pub const DEFAULT_KEEP_FIELDS: [&str; 5] =
    ["category", "type", "department", "region", "status_code"];

/// `created_at` plus calendar months (clamped to the month's last day), at millisecond
/// precision so every backend computes the same instant.
pub fn scheduled_deletion(
    created_at: DateTime<Utc>,
    retention_months: Option<i32>,
) -> Option<DateTime<Utc>> {
    let months = u32::try_from(retention_months?).ok()?;
    created_at
        .checked_add_months(Months::new(months))
        .map(|t| t.trunc_subsecs(3))
}

/// The entity id a neutralized run carries.
pub fn neutralized_entity_id(run_id: i64) -> String {
    format!("NEUTRALIZED_{run_id}")
}

/// Keeps only the keep-listed keys of a metadata object.
pub fn neutralize_meta(meta: &Value, keep: &[String]) -> Value {
    let kept: Map<String, Value> = meta
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| keep.iter().any(|f| f == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(kept)
}

/// What replaces a step run's failure object.
pub fn neutralized_failure() -> Value {
    json!({"neutralized": true})
}

/// The keep-list for a process: `meta.neutralization_keep_fields` (array or comma list) if set,
/// else the configured default.
pub fn keep_fields(process_meta: &Value, default: &[String]) -> Vec<String> {
    match process_meta.get("neutralization_keep_fields") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(list)) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => default.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_are_calendar_months_clamped_to_month_end() {
        let jan31 = Utc
            .with_ymd_and_hms(2024, 1, 31, 10, 0, 0)
            .single()
            .unwrap_or_default();
        let feb = scheduled_deletion(jan31, Some(1)).unwrap_or_default();
        assert_eq!(
            feb,
            Utc.with_ymd_and_hms(2024, 2, 29, 10, 0, 0)
                .single()
                .unwrap_or_default()
        );
        assert_eq!(scheduled_deletion(jan31, None), None);
        let year = scheduled_deletion(jan31, Some(12)).unwrap_or_default();
        assert_eq!(
            year,
            Utc.with_ymd_and_hms(2025, 1, 31, 10, 0, 0)
                .single()
                .unwrap_or_default()
        );
    }

    #[test]
    fn meta_keeps_only_listed_keys() {
        let meta = json!({"email": "a@b.c", "department": "Sales", "region": "EMEA", "phone": "1"});
        let keep: Vec<String> = DEFAULT_KEEP_FIELDS.map(str::to_owned).to_vec();
        assert_eq!(
            neutralize_meta(&meta, &keep),
            json!({"department": "Sales", "region": "EMEA"})
        );
        assert_eq!(neutralize_meta(&json!(null), &keep), json!({}));
    }

    #[test]
    fn process_meta_overrides_the_keep_list() {
        let default = vec!["department".to_owned()];
        assert_eq!(
            keep_fields(&json!({"neutralization_keep_fields": ["clinic"]}), &default),
            ["clinic"]
        );
        assert_eq!(
            keep_fields(&json!({"neutralization_keep_fields": "a, b"}), &default),
            ["a", "b"]
        );
        assert_eq!(keep_fields(&json!({}), &default), ["department"]);
        assert_eq!(neutralized_entity_id(42), "NEUTRALIZED_42");
    }
}
