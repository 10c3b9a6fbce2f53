//! A process dashboard as CSV: three tables one after the other (statistics, steps, latest
//! runs), each under a line with its name and its own header, separated by a blank line.
//! Text cells go through [`safe_cell`]; for user keys entity ids and names are redacted.

use crate::dto::dashboards::ProcessDashboard;
use crate::export::tables::safe_cell;

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The dashboard as CSV text.
pub fn csv(d: &ProcessDashboard, redact: bool) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let s = &d.statistics;
    w.write_record(["statistics"])?;
    w.write_record([
        "process_id",
        "process_name",
        "total_runs",
        "pending_runs",
        "running_runs",
        "completed_runs",
        "failed_runs",
        "cancelled_runs",
        "late_runs",
        "stuck_runs",
        "success_rate",
        "average_completion_time",
        "p50_completion_seconds",
        "p95_completion_seconds",
    ])?;
    w.write_record([
        d.process.id.to_string(),
        safe_cell(d.process.name.clone()),
        s.total_runs.to_string(),
        s.pending_runs.to_string(),
        s.running_runs.to_string(),
        s.completed_runs.to_string(),
        s.failed_runs.to_string(),
        s.cancelled_runs.to_string(),
        s.late_runs.to_string(),
        s.stuck_runs.to_string(),
        number(s.success_rate),
        s.average_completion_time.clone().unwrap_or_default(),
        number(s.p50_completion_seconds),
        number(s.p95_completion_seconds),
    ])?;
    w.write_record([""])?;
    w.write_record(["steps"])?;
    w.write_record([
        "step_id",
        "index",
        "name",
        "pending",
        "running",
        "success",
        "failed",
        "cancelled",
        "optional",
        "failure_rate",
        "p50_duration_seconds",
        "p95_duration_seconds",
    ])?;
    for st in &d.steps {
        w.write_record([
            st.step_id.to_string(),
            st.index.to_string(),
            safe_cell(st.name.clone()),
            st.pending.to_string(),
            st.running.to_string(),
            st.success.to_string(),
            st.failed.to_string(),
            st.cancelled.to_string(),
            st.optional.to_string(),
            number(st.failure_rate),
            number(st.p50_duration_seconds),
            number(st.p95_duration_seconds),
        ])?;
    }
    w.write_record([""])?;
    w.write_record(["runs"])?;
    w.write_record([
        "id",
        "entity_id",
        "entity_name",
        "status",
        "health",
        "started_at",
        "finished_at",
        "success_rate",
    ])?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    for r in &d.runs {
        let personal = |v: Option<&String>| match v {
            Some(_) if redact => "[redacted]".to_owned(),
            Some(v) => safe_cell(v.clone()),
            None => String::new(),
        };
        w.write_record([
            r.id.to_string(),
            personal(Some(&r.entity_id)),
            personal(r.entity_name.as_ref()),
            text(&serde_json::to_value(r.status).unwrap_or_default()),
            text(&serde_json::to_value(r.health).unwrap_or_default()),
            r.started_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            number(r.success_rate),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
