//! Per-bucket KPIs from rolled-up counts. Durations are kept as a histogram with fixed
//! log-spaced bins, so a bucket's median and p95 come from its rollup row alone, and day
//! histograms are the sums of their hours'.
//!
//! Bin 0 holds durations under [`MIN_SECONDS`]; bin `i ≥ 1` holds
//! `[MIN_SECONDS·R^(i−1), MIN_SECONDS·R^i)` with `R` = [`BIN_RATIO`]. A quantile is reported as
//! the geometric centre of the bin that holds the exact nearest-rank value, so it is within
//! `√R − 1` (4.9 %) of that value, or within 1 ms for sub-millisecond durations.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::RunStatus;
use crate::analytics::anomalies::Anomaly;
use crate::analytics::{BucketKind, BucketRange};

/// The ratio between consecutive bin edges.
pub const BIN_RATIO: f64 = 1.1;
/// The lower edge of bin 1, in seconds.
pub const MIN_SECONDS: f64 = 0.001;
/// The relative error bound of a reported quantile: √R − 1.
pub fn relative_error_bound() -> f64 {
    BIN_RATIO.sqrt() - 1.0
}

/// The bin of a duration in seconds.
pub fn duration_bin(seconds: f64) -> u16 {
    if !seconds.is_finite() || seconds < MIN_SECONDS {
        return 0;
    }
    let i = ((seconds / MIN_SECONDS).ln() / BIN_RATIO.ln()).floor() + 1.0;
    // Clamp: 1000 bins reach far beyond any real duration.
    if i >= 1000.0 { 1000 } else { i as u16 }
}

/// The value a bin stands for: its geometric centre (half a millisecond for bin 0).
pub fn bin_value(bin: u16) -> f64 {
    if bin == 0 {
        return MIN_SECONDS / 2.0;
    }
    MIN_SECONDS * BIN_RATIO.powf(f64::from(bin) - 0.5)
}

/// Counts of durations per bin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    pub bins: BTreeMap<u16, u64>,
}

impl DurationHistogram {
    pub fn add(&mut self, bin: u16, count: u64) {
        if count > 0 {
            *self.bins.entry(bin).or_default() += count;
        }
    }

    pub fn merge(&mut self, other: &Self) {
        for (bin, count) in &other.bins {
            self.add(*bin, *count);
        }
    }

    pub fn total(&self) -> u64 {
        self.bins.values().sum()
    }

    /// The nearest-rank quantile `q` in (0, 1]: the value of rank ⌈q·n⌉, read from its bin.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (bin, count) in &self.bins {
            seen += count;
            if seen >= rank {
                return Some(bin_value(*bin));
            }
        }
        None
    }

    /// Compact text form stored in the rollup: `bin:count` pairs joined by commas.
    pub fn encode(&self) -> String {
        self.bins
            .iter()
            .map(|(b, c)| format!("{b}:{c}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn decode(s: &str) -> Option<Self> {
        let mut h = Self::default();
        for pair in s.split(',').filter(|p| !p.is_empty()) {
            let (b, c) = pair.split_once(':')?;
            h.add(b.parse().ok()?, c.parse().ok()?);
        }
        Some(h)
    }
}

/// What one run contributes to the KPIs. `None` for a deleted run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFact {
    pub run_id: i64,
    pub process_id: i64,
    /// Unix seconds of the run's `created_at`.
    pub created_at: i64,
    /// Set only for a run in a terminal status.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: RunStatus,
    /// Unix seconds of `finished_at`.
    pub finished_at: i64,
    /// The duration bin of a completed run (finished − started).
    pub duration_bin: Option<u16>,
}

impl RunFact {
    /// The fact of a live run, from its stored columns.
    pub fn of_run(
        run_id: i64,
        process_id: i64,
        status: RunStatus,
        created_at: DateTime<Utc>,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Self {
        let outcome = match (status.is_terminal(), finished_at) {
            (true, Some(finished)) => Some(Outcome {
                status,
                finished_at: finished.timestamp(),
                duration_bin: (status == RunStatus::Completed).then(|| {
                    let start = started_at.unwrap_or(created_at);
                    let micros = (finished - start).num_microseconds().unwrap_or(i64::MAX);
                    duration_bin(micros.max(0) as f64 / 1e6)
                }),
            }),
            _ => None,
        };
        Self {
            run_id,
            process_id,
            created_at: created_at.timestamp(),
            outcome,
        }
    }

    /// The (kind, bucket start) pairs this fact counts in.
    pub fn buckets(&self) -> Vec<(BucketKind, i64)> {
        let mut out = Vec::with_capacity(4);
        for kind in BucketKind::ALL {
            out.push((kind, floor_secs(kind, self.created_at)));
            if let Some(o) = &self.outcome {
                out.push((kind, floor_secs(kind, o.finished_at)));
            }
        }
        out
    }
}

pub fn floor_secs(kind: BucketKind, secs: i64) -> i64 {
    secs.div_euclid(kind.seconds()) * kind.seconds()
}

/// One stored rollup row's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketCounts {
    pub runs_started: u64,
    pub runs_completed: u64,
    pub runs_failed: u64,
    pub runs_cancelled: u64,
    pub durations: DurationHistogram,
}

impl BucketCounts {
    pub fn is_empty(&self) -> bool {
        self.runs_started == 0
            && self.runs_completed == 0
            && self.runs_failed == 0
            && self.runs_cancelled == 0
    }

    pub fn finished(&self) -> u64 {
        self.runs_completed + self.runs_failed + self.runs_cancelled
    }
}

/// The KPIs of one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiBucket {
    /// Unix seconds.
    pub start: i64,
    pub runs_started: u64,
    pub runs_completed: u64,
    pub runs_failed: u64,
    pub runs_cancelled: u64,
    /// completed / finished × 100; `None` when no run finished.
    pub success_rate: Option<f64>,
    /// failed / finished × 100; `None` when no run finished.
    pub failure_rate: Option<f64>,
    pub median_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    pub anomalies: Vec<Anomaly>,
}

impl KpiBucket {
    pub fn from_counts(start: i64, c: &BucketCounts) -> Self {
        let finished = c.finished();
        let rate = |n: u64| (finished > 0).then(|| n as f64 * 100.0 / finished as f64);
        Self {
            start,
            runs_started: c.runs_started,
            runs_completed: c.runs_completed,
            runs_failed: c.runs_failed,
            runs_cancelled: c.runs_cancelled,
            success_rate: rate(c.runs_completed),
            failure_rate: rate(c.runs_failed),
            median_duration_seconds: c.durations.quantile(0.5),
            p95_duration_seconds: c.durations.quantile(0.95),
            anomalies: Vec::new(),
        }
    }
}

/// Every bucket of `range`, zero-filled, from the rollup rows found (keyed by bucket start;
/// rows outside the range are ignored).
pub fn fill(range: &BucketRange, rows: &BTreeMap<i64, BucketCounts>) -> Vec<KpiBucket> {
    let empty = BucketCounts::default();
    range
        .starts()
        .map(|s| KpiBucket::from_counts(s, rows.get(&s).unwrap_or(&empty)))
        .collect()
}

/// Attaches the anomalies of `failure_rate` and `median_duration_seconds` to each bucket, with
/// the buckets before it as history, and returns the buckets from index `skip` on (the first
/// `skip` buckets are the look-back that only serves as history).
pub fn with_anomalies(mut buckets: Vec<KpiBucket>, skip: usize) -> Vec<KpiBucket> {
    use crate::analytics::anomalies::rolling_z;
    let failure: Vec<Option<f64>> = buckets.iter().map(|b| b.failure_rate).collect();
    let median: Vec<Option<f64>> = buckets.iter().map(|b| b.median_duration_seconds).collect();
    let found = [
        rolling_z("failure_rate", &failure),
        rolling_z("median_duration_seconds", &median),
    ];
    for (i, bucket) in buckets.iter_mut().enumerate() {
        bucket.anomalies = found.iter().filter_map(|f| f[i].clone()).collect();
    }
    buckets.split_off(skip.min(buckets.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_bound_the_error() {
        let bound = relative_error_bound();
        for d in [0.0015, 0.2, 1.0, 3.7, 59.0, 3600.0, 86_400.0 * 30.0] {
            let v = bin_value(duration_bin(d));
            assert!((v - d).abs() / d <= bound + 1e-12, "{d} -> {v}");
        }
        assert!(bin_value(duration_bin(0.0)) <= MIN_SECONDS);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut h = DurationHistogram::default();
        for d in [10.0, 20.0, 30.0, 40.0, 1000.0] {
            h.add(duration_bin(d), 1);
        }
        let m = h.quantile(0.5).unwrap();
        assert!((m - 30.0).abs() / 30.0 < 0.05);
        let p = h.quantile(0.95).unwrap();
        assert!((p - 1000.0).abs() / 1000.0 < 0.05);
        assert_eq!(DurationHistogram::default().quantile(0.5), None);
        assert_eq!(DurationHistogram::decode(&h.encode()), Some(h));
    }

    #[test]
    fn rates_and_fill() {
        let c = BucketCounts {
            runs_started: 4,
            runs_completed: 3,
            runs_failed: 1,
            runs_cancelled: 0,
            durations: DurationHistogram::default(),
        };
        let b = KpiBucket::from_counts(0, &c);
        assert_eq!(b.success_rate, Some(75.0));
        assert_eq!(b.failure_rate, Some(25.0));
        let range = BucketRange {
            kind: BucketKind::Hour,
            first: 0,
            last: 7200,
        };
        let rows = BTreeMap::from([(3600, c)]);
        let filled = fill(&range, &rows);
        assert_eq!(filled.len(), 3);
        assert_eq!(filled[0].success_rate, None);
        assert_eq!(filled[1].runs_started, 4);
    }

    #[test]
    fn facts_count_outcomes_by_finish() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let f = RunFact::of_run(
            1,
            2,
            RunStatus::Completed,
            at(100),
            Some(at(200)),
            Some(at(90_000)),
        );
        let o = f.outcome.unwrap();
        assert_eq!(o.finished_at, 90_000);
        assert_eq!(o.duration_bin, Some(duration_bin(89_800.0)));
        assert!(f.buckets().contains(&(BucketKind::Day, 86_400)));
        let running = RunFact::of_run(1, 2, RunStatus::Running, at(100), Some(at(200)), None);
        assert_eq!(running.outcome, None);
    }
}
