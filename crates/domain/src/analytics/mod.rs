//! Process analytics: KPI buckets, anomalies and forecasts, as pure functions over rolled-up
//! counts. Storage and HTTP live elsewhere; see docs/dashboards.md.

pub mod anomalies;
pub mod forecast;
pub mod kpis;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::FieldError;

/// The most buckets one KPI request may span.
pub const MAX_BUCKETS: i64 = 10_000;
/// The default range: this many days, ending with the current one.
pub const DEFAULT_DAYS: i64 = 30;

/// The width of a KPI bucket. Buckets are aligned on UTC midnights or UTC hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BucketKind {
    Day,
    Hour,
}

impl BucketKind {
    pub const ALL: [BucketKind; 2] = [Self::Day, Self::Hour];

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "day" => Ok(Self::Day),
            "hour" => Ok(Self::Hour),
            _ => Err(FieldError::new("bucket", "must be day or hour")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Hour => "hour",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Self::Day => 86_400,
            Self::Hour => 3_600,
        }
    }

    /// The start (Unix seconds) of the bucket holding `t`.
    pub fn floor(self, t: DateTime<Utc>) -> i64 {
        t.timestamp().div_euclid(self.seconds()) * self.seconds()
    }

    /// The seasonal period a forecast uses: a week of days, a day of hours.
    pub fn season(self) -> usize {
        match self {
            Self::Day => 7,
            Self::Hour => 24,
        }
    }
}

/// The start instant of a bucket given in Unix seconds.
pub fn bucket_instant(start: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(start, 0).single().unwrap_or_default()
}

/// A validated range of buckets: every bucket from `first` to `last` (inclusive, Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRange {
    pub kind: BucketKind,
    pub first: i64,
    pub last: i64,
}

impl BucketRange {
    /// `from` and `to` are ISO dates (`2026-11-02`) or RFC 3339 date-times. A date `from` starts
    /// at its midnight; a date `to` covers that whole day. Without `from`, the range starts
    /// [`DEFAULT_DAYS`] − 1 days before the day of `to`; without `to`, it ends now.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        bucket: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = match bucket.map(BucketKind::parse).unwrap_or(Ok(BucketKind::Day)) {
            Ok(k) => k,
            Err(e) => {
                errors.push(e);
                BucketKind::Day
            }
        };
        let to = match to.map(|s| parse_instant(s, true).ok_or(s)) {
            None => Some(now),
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                errors.push(FieldError::new("to", "must be an ISO date or date-time"));
                None
            }
        };
        let from = match from.map(|s| parse_instant(s, false).ok_or(s)) {
            None => to.map(|t| {
                bucket_instant(BucketKind::Day.floor(t)) - Duration::days(DEFAULT_DAYS - 1)
            }),
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                errors.push(FieldError::new("from", "must be an ISO date or date-time"));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some(from), Some(to)) = (from, to) else {
            return Err(errors);
        };
        if from > to {
            return Err(vec![FieldError::new("from", "must not be after to")]);
        }
        let range = Self {
            kind,
            first: kind.floor(from),
            last: kind.floor(to),
        };
        if range.len() > MAX_BUCKETS {
            return Err(vec![FieldError::new(
                "to",
                format!("the range spans more than {MAX_BUCKETS} buckets"),
            )]);
        }
        Ok(range)
    }

    /// How many buckets the range holds.
    pub fn len(&self) -> i64 {
        (self.last - self.first) / self.kind.seconds() + 1
    }

    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }

    /// The bucket starts, in order.
    pub fn starts(&self) -> impl Iterator<Item = i64> + use<> {
        let step = self.kind.seconds();
        let (first, last) = (self.first, self.last);
        (0..)
            .map(move |i| first + i * step)
            .take_while(move |s| *s <= last)
    }
}

/// An ISO date (its midnight, or with `end_of_day` its last microsecond) or an RFC 3339
/// date-time, within years 1970..=9999.
fn parse_instant(s: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    let t = if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc();
        if end_of_day {
            midnight + Duration::days(1) - Duration::microseconds(1)
        } else {
            midnight
        }
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc()
    };
    let year = t.format("%Y").to_string().parse::<i32>().ok()?;
    (1970..=9999).contains(&year).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 15, 30, 0).unwrap()
    }

    #[test]
    fn default_is_thirty_days_by_day() {
        let r = BucketRange::parse(None, None, None, now()).unwrap();
        assert_eq!(r.kind, BucketKind::Day);
        assert_eq!(r.len(), 30);
        assert_eq!(
            bucket_instant(r.last).to_rfc3339(),
            "2026-12-02T00:00:00+00:00"
        );
    }

    #[test]
    fn dates_cover_whole_days() {
        let r = BucketRange::parse(Some("2026-11-01"), Some("2026-11-02"), Some("hour"), now())
            .unwrap();
        assert_eq!(r.len(), 48);
        let r = BucketRange::parse(
            Some("2026-11-01T10:15:00Z"),
            Some("2026-11-01T12:00:00+00:00"),
            Some("hour"),
            now(),
        )
        .unwrap();
        assert_eq!(r.starts().count(), 3);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(BucketRange::parse(Some("yesterday"), None, None, now()).is_err());
        assert!(BucketRange::parse(None, None, Some("week"), now()).is_err());
        assert!(BucketRange::parse(Some("2026-11-03"), Some("2026-11-02"), None, now()).is_err());
        assert!(
            BucketRange::parse(Some("2020-01-01"), Some("2026-01-01"), Some("hour"), now())
                .is_err()
        );
        assert!(BucketRange::parse(Some("1999-01-01"), Some("2026-01-01"), None, now()).is_ok());
    }
}
