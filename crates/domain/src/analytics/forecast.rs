//! Forecasts of a KPI series: additive Holt-Winters (ETS(A,A,A)) with the season of the bucket
//! kind (7 days, 24 hours), or Holt's linear trend when the history holds fewer than two
//! seasons. The smoothing parameters are chosen on a fixed grid by the smallest sum of squared
//! one-step-ahead errors. The 95 % interval is `±1.96·σ·√v_h` with σ² the mean squared
//! one-step error and `v_h = 1 + Σ_{j<h} (α(1 + jβ) + γ·[j mod m = 0])²` (Hyndman et al.,
//! *Forecasting with Exponential Smoothing*, class 1 variance).

use crate::FieldError;

/// The fewest buckets of history a forecast needs.
pub const MIN_HISTORY: usize = 14;
/// The largest horizon.
pub const MAX_HORIZON: usize = 90;
/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_964;

const GRID: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];
const TREND_GRID: [f64; 4] = [0.01, 0.05, 0.1, 0.3];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    HoltWintersAdditive,
    HoltLinear,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Self::HoltWintersAdditive => "holt_winters_additive",
            Self::HoltLinear => "holt_linear",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPoint {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub model: Model,
    pub points: Vec<ForecastPoint>,
}

#[derive(Debug, Clone, Copy)]
struct Params {
    alpha: f64,
    beta: f64,
    gamma: f64,
}

/// Forecasts `horizon` steps after `history` (oldest first) with season length `season`.
/// `bounds` clamps values and intervals (e.g. 0..=100 for a rate, 0.. for counts).
pub fn forecast(
    history: &[f64],
    season: usize,
    horizon: usize,
    bounds: (f64, f64),
) -> Result<Forecast, FieldError> {
    if !(1..=MAX_HORIZON).contains(&horizon) {
        return Err(FieldError::new(
            "horizon",
            format!("must be between 1 and {MAX_HORIZON}"),
        ));
    }
    if history.len() < MIN_HISTORY {
        return Err(FieldError::new(
            "history",
            format!(
                "a forecast needs at least {MIN_HISTORY} buckets of history; the process has {}",
                history.len()
            ),
        ));
    }
    let seasonal = season >= 2 && history.len() >= 2 * season;
    let (model, m) = if seasonal {
        (Model::HoltWintersAdditive, season)
    } else {
        (Model::HoltLinear, 1)
    };
    let gammas: &[f64] = if seasonal { &GRID } else { &[0.0] };
    let mut best: Option<(f64, Params)> = None;
    for &alpha in &GRID {
        for &beta in &TREND_GRID {
            for &gamma in gammas {
                let p = Params { alpha, beta, gamma };
                let sse = fit(history, m, p, seasonal).0;
                if best.is_none_or(|(b, _)| sse < b) {
                    best = Some((sse, p));
                }
            }
        }
    }
    let Some((sse, p)) = best else {
        return Err(FieldError::new("history", "no model could be fitted"));
    };
    let (_, level, trend, seasons) = fit(history, m, p, seasonal);
    let sigma2 = sse / history.len() as f64;
    let n = history.len();
    let mut var_sum = 0.0;
    let points = (1..=horizon)
        .map(|h| {
            if h > 1 {
                let j = (h - 1) as f64;
                let s = if seasonal && (h - 1) % m == 0 {
                    p.gamma
                } else {
                    0.0
                };
                var_sum += (p.alpha * (1.0 + j * p.beta) + s).powi(2);
            }
            let s = if seasonal {
                seasons[(n + h - 1) % m]
            } else {
                0.0
            };
            let value = level + h as f64 * trend + s;
            let half = Z95 * (sigma2 * (1.0 + var_sum)).sqrt();
            let clamp = |v: f64| v.clamp(bounds.0, bounds.1);
            ForecastPoint {
                value: clamp(value),
                lower: clamp(value - half),
                upper: clamp(value + half),
            }
        })
        .collect();
    Ok(Forecast { model, points })
}

/// Runs the smoother over the history: (SSE of one-step errors, final level, final trend,
/// seasonal terms indexed by position mod m).
fn fit(y: &[f64], m: usize, p: Params, seasonal: bool) -> (f64, f64, f64, Vec<f64>) {
    let mut seasons = vec![0.0; m];
    let (mut level, mut trend);
    if seasonal {
        let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
        let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
        level = first;
        trend = (second - first) / m as f64;
        for (i, s) in seasons.iter_mut().enumerate() {
            *s = (y[i] - first + y[m + i] - second) / 2.0;
        }
    } else {
        level = y[0];
        trend = y[1] - y[0];
    }
    let mut sse = 0.0;
    for (t, &obs) in y.iter().enumerate().skip(1) {
        let s = if seasonal { seasons[t % m] } else { 0.0 };
        let predicted = level + trend + s;
        sse += (obs - predicted).powi(2);
        let previous = level;
        level = p.alpha * (obs - s) + (1.0 - p.alpha) * (level + trend);
        trend = p.beta * (level - previous) + (1.0 - p.beta) * trend;
        if seasonal {
            seasons[t % m] = p.gamma * (obs - level) + (1.0 - p.gamma) * s;
        }
    }
    (sse, level, trend, seasons)
}

/// Mean absolute percentage error of `predicted` against `actual` (entries with actual 0 are
/// skipped).
pub fn mape(actual: &[f64], predicted: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = actual
        .iter()
        .zip(predicted)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, p)| (*a, *p))
        .collect();
    if pairs.is_empty() {
        return 0.0;
    }
    pairs.iter().map(|(a, p)| ((a - p) / a).abs()).sum::<f64>() / pairs.len() as f64 * 100.0
}

/// The synthetic series of the tests and of docs/dashboards.md: a weekly pattern peaking on the
/// fifth day of each week (index 4), a slow trend and deterministic noise.
pub fn synthetic_weekly(days: usize) -> Vec<f64> {
    const PATTERN: [f64; 7] = [20.0, 24.0, 26.0, 28.0, 40.0, 10.0, 8.0];
    (0..days)
        .map(|d| {
            let noise = (((d * 7919) % 13) as f64 - 6.0) * 0.25;
            PATTERN[d % 7] + d as f64 * 0.05 + noise
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_peak_is_forecast_highest() {
        let history = synthetic_weekly(56);
        let f = forecast(&history, 7, 14, (0.0, f64::INFINITY)).unwrap();
        assert_eq!(f.model, Model::HoltWintersAdditive);
        // Day 56 has index 0 in the pattern, so the peak (index 4) is at horizon steps 5 and 12.
        let week = &f.points[..7];
        let peak = (0..7)
            .max_by(|a, b| week[*a].value.total_cmp(&week[*b].value))
            .unwrap();
        assert_eq!(peak, 4);
        for p in &f.points {
            assert!(p.lower <= p.value && p.value <= p.upper);
        }
    }

    #[test]
    fn accuracy_on_the_synthetic_series() {
        let all = synthetic_weekly(70);
        let (train, test) = all.split_at(56);
        let f = forecast(train, 7, 14, (0.0, f64::INFINITY)).unwrap();
        let predicted: Vec<f64> = f.points.iter().map(|p| p.value).collect();
        let error = mape(test, &predicted);
        let covered = test
            .iter()
            .zip(&f.points)
            .filter(|(a, p)| p.lower <= **a && **a <= p.upper)
            .count();
        eprintln!(
            "synthetic weekly series: MAPE {error:.2} %, {covered}/14 inside the 95 % interval"
        );
        assert!(error < 10.0, "MAPE {error}");
        assert!(covered >= 12);
    }

    #[test]
    fn checks_history_and_horizon() {
        let short = vec![1.0; 13];
        let e = forecast(&short, 7, 14, (0.0, 1.0)).unwrap_err();
        assert!(e.message.contains("at least 14"));
        assert!(forecast(&synthetic_weekly(30), 7, 0, (0.0, 1e9)).is_err());
        assert!(forecast(&synthetic_weekly(30), 7, 91, (0.0, 1e9)).is_err());
        let holt = forecast(&synthetic_weekly(20), 24, 3, (0.0, 1e9)).unwrap();
        assert_eq!(holt.model, Model::HoltLinear);
    }
}
