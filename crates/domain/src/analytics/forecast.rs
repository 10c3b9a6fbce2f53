//! Forecasts of a KPI series with the `augurs` crates: MSTL (`augurs-mstl`) takes the season of
//! the bucket kind (7 days, 24 hours) out of the history, AutoETS (`augurs-ets`) forecasts the
//! deseasonalised rest and the last season is added back. With fewer than two seasons of history
//! the series is forecast by AutoETS alone (non-seasonal). The 95 % interval is the one AutoETS
//! gives for the trend, shifted by the seasonal term.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;

use crate::FieldError;

/// The fewest buckets of history a forecast needs.
pub const MIN_HISTORY: usize = 14;
/// The largest horizon.
pub const MAX_HORIZON: usize = 90;
/// Level of the prediction interval.
const LEVEL: f64 = 0.95;
/// AutoETS search: any error and trend, no seasonal component (MSTL handles the season).
const ETS_SPEC: &str = "ZZN";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// MSTL decomposition with an AutoETS trend model.
    MstlEts,
    /// AutoETS without a season (fewer than two seasons of history).
    Ets,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Self::MstlEts => "mstl_ets",
            Self::Ets => "ets",
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

fn model_error(e: impl std::fmt::Display) -> FieldError {
    FieldError::new("history", format!("no model could be fitted: {e}"))
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
    if history.iter().any(|v| !v.is_finite()) {
        return Err(FieldError::new(
            "history",
            "the history holds a non-finite value",
        ));
    }
    let ets = AutoETS::new(1, ETS_SPEC).map_err(model_error)?;
    let seasonal = season >= 2 && history.len() >= 2 * season;
    let (model, predicted) = if seasonal {
        let fitted = MSTLModel::new(vec![season], ets.into_trend_model())
            .fit(history)
            .map_err(model_error)?;
        let predicted = fitted.predict(horizon, Some(LEVEL)).map_err(model_error)?;
        (Model::MstlEts, predicted)
    } else {
        let fitted = ets.fit(history).map_err(model_error)?;
        let predicted = fitted.predict(horizon, Some(LEVEL)).map_err(model_error)?;
        (Model::Ets, predicted)
    };
    let Some(intervals) = predicted.intervals else {
        return Err(model_error("the model gave no prediction interval"));
    };
    if predicted.point.len() != horizon
        || intervals.lower.len() != horizon
        || intervals.upper.len() != horizon
    {
        return Err(model_error("the model gave a forecast of the wrong length"));
    }
    let clamp = |v: f64| v.clamp(bounds.0, bounds.1);
    let points = predicted
        .point
        .iter()
        .zip(&intervals.lower)
        .zip(&intervals.upper)
        .map(|((&value, &lower), &upper)| {
            if !(value.is_finite() && lower.is_finite() && upper.is_finite()) {
                return Err(model_error("the model gave a non-finite forecast"));
            }
            Ok(ForecastPoint {
                value: clamp(value),
                lower: clamp(lower.min(value)),
                upper: clamp(upper.max(value)),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Forecast { model, points })
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
        assert_eq!(f.model, Model::MstlEts);
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
        let ets = forecast(&synthetic_weekly(20), 24, 3, (0.0, 1e9)).unwrap();
        assert_eq!(ets.model, Model::Ets);
    }

    #[test]
    fn flat_and_sparse_histories_are_forecast() {
        let zeros = vec![0.0; 56];
        let mut sparse = vec![0.0; 56];
        sparse[20] = 1.0;
        let flat_rate = vec![100.0; 30];
        for (history, season, bounds) in [
            (&zeros, 7, (0.0, f64::MAX)),
            (&sparse, 7, (0.0, f64::MAX)),
            (&flat_rate, 7, (0.0, 100.0)),
            (&zeros[..20].to_vec(), 24, (0.0, f64::MAX)),
        ] {
            let f = forecast(history, season, 14, bounds).unwrap();
            for p in &f.points {
                assert!(p.lower <= p.value && p.value <= p.upper, "{p:?}");
                assert!(bounds.0 <= p.lower && p.upper <= bounds.1);
            }
        }
    }
}
