//! Field rules shared by the validated inputs.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value};

use crate::FieldError;

pub const NAME_MAX: usize = 255;
pub const ENTITY_ID_MAX: usize = 100;
pub const RETENTION_MONTHS_MAX: i64 = 1200;

/// NUL is never text: PostgreSQL refuses it in text and jsonb, so it is refused at the edge on
/// every backend alike.
pub fn check_no_nul(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        Err(FieldError::new(field, "must not contain the NUL character"))
    } else {
        Ok(())
    }
}

/// A JSON document without NUL in any key or string.
pub fn check_json_no_nul(field: &str, value: &Value) -> Result<(), FieldError> {
    let ok = match value {
        Value::String(s) => !s.contains('\0'),
        Value::Array(items) => items.iter().all(|v| check_json_no_nul(field, v).is_ok()),
        Value::Object(map) => map
            .iter()
            .all(|(k, v)| !k.contains('\0') && check_json_no_nul(field, v).is_ok()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, "must not contain the NUL character"))
    }
}

pub fn check_name(field: &str, value: &str) -> Result<String, FieldError> {
    check_no_nul(field, value)?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > NAME_MAX {
        return Err(FieldError::new(
            field,
            format!("must be at most {NAME_MAX} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

pub fn check_optional_name(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    if let Some(v) = value {
        check_no_nul(field, v)?;
    }
    match value {
        None => Ok(None),
        Some(v) if v.chars().count() > NAME_MAX => Err(FieldError::new(
            field,
            format!("must be at most {NAME_MAX} characters"),
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

pub fn check_entity_id(field: &str, value: &str) -> Result<String, FieldError> {
    check_no_nul(field, value)?;
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > ENTITY_ID_MAX {
        return Err(FieldError::new(
            field,
            format!("must be at most {ENTITY_ID_MAX} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Instants are limited to the years 1..=9999: every backend stores them (PostgreSQL refuses
/// years before 4713 BC, which chrono accepts) and they print as ISO 8601 without a sign.
pub fn check_instant(
    field: &str,
    value: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    match value {
        Some(t) if !(1..=9999).contains(&t.year()) => Err(FieldError::new(
            field,
            "must be between 0001-01-01 and 9999-12-31",
        )),
        other => Ok(other),
    }
}

pub fn check_index(field: &str, value: i64) -> Result<i32, FieldError> {
    i32::try_from(value)
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| FieldError::new(field, "must be an integer between 0 and 2147483647"))
}

pub fn check_retention(field: &str, value: i64) -> Result<i32, FieldError> {
    if (1..=RETENTION_MONTHS_MAX).contains(&value) {
        Ok(i32::try_from(value).unwrap_or(1))
    } else {
        Err(FieldError::new(
            field,
            format!("must be between 1 and {RETENTION_MONTHS_MAX} months, or null"),
        ))
    }
}

/// Metadata is always a JSON object; absent or null becomes an empty one.
pub fn check_meta(field: &str, value: Option<Value>) -> Result<Value, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(v @ Value::Object(_)) => check_json_no_nul(field, &v).map(|()| v),
        Some(_) => Err(FieldError::new(field, "must be a JSON object")),
    }
}

pub(crate) fn collect<const N: usize>(errors: [Option<&FieldError>; N]) -> Vec<FieldError> {
    errors.into_iter().flatten().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_in_text_and_json() {
        assert!(check_name("n", "a\0b").is_err());
        assert!(check_entity_id("e", "a\0").is_err());
        assert!(check_optional_name("n", Some("\0")).is_err());
        assert!(check_meta("m", Some(serde_json::json!({"k": ["x\0"]}))).is_err());
        assert!(check_meta("m", Some(serde_json::json!({"k\0": 1}))).is_err());
        assert!(check_meta("m", Some(serde_json::json!({"k": ["x"]}))).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("n", "  a "), Ok("a".to_owned()));
        assert!(check_name("n", &"é".repeat(255)).is_ok());
        assert!(check_name("n", &"é".repeat(256)).is_err());
    }

    #[test]
    fn retention_is_one_to_twelve_hundred() {
        assert!(check_retention("r", 0).is_err());
        assert_eq!(check_retention("r", 1200), Ok(1200));
        assert!(check_retention("r", 1201).is_err());
    }

    #[test]
    fn instants_stay_within_four_digit_years() {
        use chrono::TimeZone;
        let ok = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        assert_eq!(check_instant("t", ok), Ok(ok));
        assert_eq!(check_instant("t", None), Ok(None));
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).single();
        assert!(check_instant("t", far).is_err());
        let bc = Utc.with_ymd_and_hms(-5000, 1, 1, 0, 0, 0).single();
        assert!(check_instant("t", bc).is_err());
    }

    #[test]
    fn index_is_non_negative_i32() {
        assert!(check_index("i", -1).is_err());
        assert!(check_index("i", i64::from(i32::MAX) + 1).is_err());
        assert_eq!(check_index("i", 0), Ok(0));
    }
}
