//! Dashboard arithmetic: rates and durations as the dashboards show them.

/// `part / whole × 100`, rounded to two decimals; None when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10_000.0 / whole as f64).round() / 100.0)
}

/// Seconds as `HH:MM:SS` (hours beyond 24 keep counting), rounded to the second.
pub fn hms(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}",
        total / 3600,
        (total % 3600) / 60,
        total % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_rounded_and_null_for_nothing() {
        assert_eq!(percent(1, 3), Some(33.33));
        assert_eq!(percent(2, 2), Some(100.0));
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn hms_counts_hours_past_a_day() {
        assert_eq!(hms(0.4), "00:00:00");
        assert_eq!(hms(271.0), "00:04:31");
        assert_eq!(hms(97_384.0), "27:03:04");
    }
}
