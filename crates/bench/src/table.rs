//! The report table, in Markdown so it can be pasted into docs/performance.md as printed.

use crate::stats::Sample;

/// One measured scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    /// A remark such as which cursor page was reached.
    pub note: String,
    pub sample: Sample,
}

fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

fn failures(sample: &Sample) -> String {
    if sample.failures.is_empty() {
        return "0".to_owned();
    }
    sample
        .failures
        .iter()
        .map(|(label, n)| format!("{n} × {label}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table: requests per second and p50/p95/p99 in milliseconds of the 2xx answers, then the
/// other answers by kind.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | ok | req/s | p50 ms | p95 ms | p99 ms | not 2xx | note |\n\
         |---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let (p50, p95, p99) = row.sample.summary().map_or_else(
            || ("–".to_owned(), "–".to_owned(), "–".to_owned()),
            |p| (ms(p.p50), ms(p.p95), ms(p.p99)),
        );
        out.push_str(&format!(
            "| {} | {} | {:.0} | {p50} | {p95} | {p99} | {} | {} |\n",
            row.scenario,
            row.sample.latencies_us.len(),
            row.sample.rate(),
            failures(&row.sample),
            row.note.replace('|', "/"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Outcome;

    #[test]
    fn renders_rates_percentiles_and_failures() {
        let mut ok = Sample::default();
        for ms in [1, 2, 3, 4] {
            ok.record(Outcome::Ok(Duration::from_millis(ms)));
        }
        ok.window = Duration::from_secs(2);
        let mut bad = Sample::default();
        bad.record(Outcome::Failed("429".into()));
        bad.window = Duration::from_secs(1);
        let text = render(&[
            Row {
                scenario: "get_run".into(),
                note: String::new(),
                sample: ok,
            },
            Row {
                scenario: "create_run".into(),
                note: "a|b".into(),
                sample: bad,
            },
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| scenario | ok | req/s |"));
        assert_eq!(lines[2], "| get_run | 4 | 2 | 2.0 | 4.0 | 4.0 | 0 |  |");
        assert_eq!(
            lines[3],
            "| create_run | 0 | 0 | – | – | – | 1 × 429 | a/b |"
        );
    }
}
