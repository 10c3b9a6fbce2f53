//! Rolling z-score anomalies: a bucket's value is anomalous when it lies more than
//! [`THRESHOLD`] sample standard deviations from the mean of the values of the [`WINDOW`]
//! buckets before it. Buckets without a value (no finished run) are skipped as history and are
//! never flagged; at least [`MIN_HISTORY`] of the window's buckets must have a value, and a
//! window with zero deviation flags nothing.

/// The trailing buckets a value is compared with.
pub const WINDOW: usize = 14;
/// How many of them must carry a value.
pub const MIN_HISTORY: usize = 7;
/// Standard deviations from the mean.
pub const THRESHOLD: f64 = 3.0;

/// The metrics checked.
pub const METRICS: [&str; 2] = ["failure_rate", "median_duration_seconds"];

#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub metric: &'static str,
    pub value: f64,
    /// The trailing mean.
    pub expected: f64,
    pub z_score: f64,
}

/// For each index of `series`, the anomaly found there, if any.
pub fn rolling_z(metric: &'static str, series: &[Option<f64>]) -> Vec<Option<Anomaly>> {
    series
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let value = (*value)?;
            let history: Vec<f64> = series[i.saturating_sub(WINDOW)..i]
                .iter()
                .filter_map(|v| *v)
                .collect();
            if history.len() < MIN_HISTORY {
                return None;
            }
            let n = history.len() as f64;
            let mean = history.iter().sum::<f64>() / n;
            let var = history.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let std = var.sqrt();
            if std <= f64::EPSILON * mean.abs().max(1.0) {
                return None;
            }
            let z = (value - mean) / std;
            (z.abs() > THRESHOLD).then_some(Anomaly {
                metric,
                value,
                expected: mean,
                z_score: z,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_spike() {
        let mut s: Vec<Option<f64>> = (0..20).map(|i| Some(10.0 + f64::from(i % 3))).collect();
        s.push(Some(40.0));
        let found = rolling_z("failure_rate", &s);
        assert!(found[..20].iter().all(Option::is_none));
        let a = found[20].as_ref().unwrap();
        assert_eq!(a.metric, "failure_rate");
        assert!(a.z_score > 3.0);
        assert!((a.expected - 11.0).abs() < 0.2);
    }

    #[test]
    fn needs_history_and_spread() {
        let short: Vec<Option<f64>> = vec![Some(1.0), Some(2.0), Some(1.0), Some(100.0)];
        assert!(rolling_z("m", &short).iter().all(Option::is_none));
        let flat: Vec<Option<f64>> = (0..14).map(|_| Some(5.0)).chain([Some(50.0)]).collect();
        assert!(rolling_z("m", &flat).iter().all(Option::is_none));
        let gaps: Vec<Option<f64>> = (0..14)
            .map(|i| {
                if i % 2 == 0 {
                    Some(f64::from(i % 4))
                } else {
                    None
                }
            })
            .chain([Some(90.0)])
            .collect();
        // Only 7 values in the window: enough.
        assert!(rolling_z("m", &gaps)[14].is_some());
        let missing = [vec![None; 14], vec![Some(3.0)]].concat();
        assert!(rolling_z("m", &missing)[14].is_none());
    }

    #[test]
    fn a_drop_is_negative() {
        let mut s: Vec<Option<f64>> = (0..14).map(|i| Some(50.0 + f64::from(i % 2))).collect();
        s.push(Some(10.0));
        assert!(rolling_z("m", &s)[14].as_ref().unwrap().z_score < -3.0);
    }
}
