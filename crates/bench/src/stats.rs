//! What one scenario measured: latencies of the 2xx answers, and every other outcome counted
//! apart so that a refused or failed request never passes for a fast one.

use std::collections::BTreeMap;
use std::time::Duration;

/// The outcome of one request or transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A success, with how long it took.
    Ok(Duration),
    /// Anything else, by a short label (`"422"`, `"timeout"`, `"not_found"`).
    Failed(String),
}

/// Everything one scenario recorded inside its measuring window.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub latencies_us: Vec<u64>,
    pub failures: BTreeMap<String, u64>,
    pub window: Duration,
}

impl Sample {
    pub fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok(took) => self
                .latencies_us
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
            Outcome::Failed(label) => *self.failures.entry(label).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        for (label, n) in other.failures {
            *self.failures.entry(label).or_default() += n;
        }
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Successes per second over the window.
    pub fn rate(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            self.latencies_us.len() as f64 / secs
        }
    }

    /// p50, p95, p99 of the successes.
    pub fn summary(&self) -> Option<Percentiles> {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        Some(Percentiles {
            p50: percentile(&sorted, 50.0)?,
            p95: percentile(&sorted, 95.0)?,
            p99: percentile(&sorted, 99.0)?,
        })
    }
}

/// Latencies in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p` % of the
/// values at or below it. `None` for no values.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 95.0), Some(95));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1, 2, 3, 4], 95.0), Some(4));
    }

    #[test]
    fn failures_are_counted_apart_from_latencies() {
        let mut s = Sample::default();
        s.record(Outcome::Ok(Duration::from_millis(3)));
        s.record(Outcome::Failed("422".into()));
        s.record(Outcome::Failed("422".into()));
        let mut other = Sample::default();
        other.record(Outcome::Ok(Duration::from_millis(1)));
        other.record(Outcome::Failed("500".into()));
        s.merge(other);
        s.window = Duration::from_secs(2);
        assert_eq!(s.latencies_us, [3000, 1000]);
        assert_eq!(s.failed(), 3);
        assert_eq!(s.failures.get("422"), Some(&2));
        assert!((s.rate() - 1.0).abs() < 1e-9);
        let p = s.summary();
        assert_eq!(p.map(|p| p.p50), Some(1000));
        assert_eq!(p.map(|p| p.p99), Some(3000));
    }

    #[test]
    fn an_empty_sample_has_no_percentiles_and_no_rate() {
        let s = Sample::default();
        assert_eq!(s.summary(), None);
        assert!(s.rate().abs() < f64::EPSILON);
    }
}
