//! KPI, forecast and export bodies of `/processes/{process_id}/kpis`.

use chrono::{DateTime, Utc};
use procdash_domain::analytics::anomalies::Anomaly;
use procdash_domain::analytics::bucket_instant;
use procdash_domain::analytics::forecast::ForecastPoint;
use procdash_domain::analytics::kpis::KpiBucket;
use procdash_persistence::repo::kpis::KpiSeries;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The range and width of the buckets.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// First instant: an ISO date (its UTC midnight) or an RFC 3339 date-time. Default: 29 days
    /// before the day of `to`.
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// Last instant: an ISO date (the whole day) or an RFC 3339 date-time. Default: now.
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
    /// day (default) or hour; buckets are aligned on UTC.
    #[param(example = "day")]
    pub bucket: Option<String>,
}

/// The same parameters as the KPI listing, and the file format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiExportQuery {
    /// csv (default) or xlsx.
    #[param(example = "csv")]
    pub format: Option<String>,
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
    /// day (default) or hour.
    #[param(example = "day")]
    pub bucket: Option<String>,
}

/// A forecast request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// runs_started (default), runs_failed or success_rate.
    #[param(example = "runs_started")]
    pub metric: Option<String>,
    /// Buckets to forecast, 1..=90 (default 14).
    #[param(minimum = 1, maximum = 90, default = 14, example = 14)]
    pub horizon: Option<i64>,
    /// day (default; weekly seasonality) or hour (daily seasonality).
    #[param(example = "day")]
    pub bucket: Option<String>,
}

/// A value more than 3 standard deviations from the trailing 14 buckets' mean.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnomalyResponse {
    /// failure_rate or median_duration_seconds.
    pub metric: String,
    pub value: f64,
    /// The mean of the trailing buckets that have a value.
    pub expected: f64,
    pub z_score: f64,
}

impl From<&Anomaly> for AnomalyResponse {
    fn from(a: &Anomaly) -> Self {
        Self {
            metric: a.metric.to_owned(),
            value: a.value,
            expected: a.expected,
            z_score: a.z_score,
        }
    }
}

/// The KPIs of one bucket. runs_started counts runs by created_at; the outcomes, rates and
/// durations count runs by finished_at.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiBucketResponse {
    /// The bucket's first instant (UTC).
    pub bucket: DateTime<Utc>,
    pub runs_started: u64,
    pub runs_completed: u64,
    pub runs_failed: u64,
    pub runs_cancelled: u64,
    /// completed / (completed + failed + cancelled) × 100; null when no run finished.
    pub success_rate: Option<f64>,
    /// failed / (completed + failed + cancelled) × 100; null when no run finished.
    pub failure_rate: Option<f64>,
    /// Median of finished_at − started_at of the completed runs, within 4.9 % (histogram bins).
    pub median_duration_seconds: Option<f64>,
    /// 95th percentile (nearest rank) of the same durations, within 4.9 %.
    pub p95_duration_seconds: Option<f64>,
    pub anomalies: Vec<AnomalyResponse>,
}

impl From<&KpiBucket> for KpiBucketResponse {
    fn from(b: &KpiBucket) -> Self {
        Self {
            bucket: bucket_instant(b.start),
            runs_started: b.runs_started,
            runs_completed: b.runs_completed,
            runs_failed: b.runs_failed,
            runs_cancelled: b.runs_cancelled,
            success_rate: b.success_rate,
            failure_rate: b.failure_rate,
            median_duration_seconds: b.median_duration_seconds,
            p95_duration_seconds: b.p95_duration_seconds,
            anomalies: b.anomalies.iter().map(AnomalyResponse::from).collect(),
        }
    }
}

/// Every bucket of the range, zero-filled.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiResponse {
    pub process_id: i64,
    /// day or hour.
    pub bucket: String,
    /// The first bucket's start.
    pub from: DateTime<Utc>,
    /// The last bucket's start.
    pub to: DateTime<Utc>,
    /// Run changes up to this instant are reflected (the rollup job's watermark); null before
    /// the job first ran.
    pub fresh_as_of: Option<DateTime<Utc>>,
    pub buckets: Vec<KpiBucketResponse>,
}

impl From<KpiSeries> for KpiResponse {
    fn from(s: KpiSeries) -> Self {
        Self {
            process_id: s.process_id,
            bucket: s.range.kind.as_str().to_owned(),
            from: bucket_instant(s.range.first),
            to: bucket_instant(s.range.last),
            fresh_as_of: s.fresh_as_of,
            buckets: s.buckets.iter().map(KpiBucketResponse::from).collect(),
        }
    }
}

/// One forecast bucket with its 95 % interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastPointResponse {
    pub bucket: DateTime<Utc>,
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

impl ForecastPointResponse {
    pub fn new(start: i64, p: &ForecastPoint) -> Self {
        Self {
            bucket: bucket_instant(start),
            value: p.value,
            lower: p.lower,
            upper: p.upper,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastResponse {
    pub metric: String,
    /// day or hour.
    pub bucket: String,
    /// mstl_ets (MSTL with an AutoETS trend), or ets when the history holds fewer than two seasons.
    pub model: String,
    /// How many buckets of history the model was fitted on.
    pub history_buckets: usize,
    pub points: Vec<ForecastPointResponse>,
}
