use actix_web::web::Bytes;
use futures_util::Stream;
use procdash_persistence::DatabaseConnection;
use procdash_persistence::audit::query::{ChangeFilter, ChangeRecord, export_page};
use tempfile::NamedTempFile;

use crate::export::sheet;
use crate::export::tables::safe_cell;

const PAGE: u64 = 1000;

pub const HEADER: [&str; 15] = [
    "id",
    "occurred_at",
    "entity",
    "record_id",
    "operation",
    "actor",
    "on_behalf_of",
    "request_id",
    "changed_fields",
    "before",
    "after",
    "redacted",
    "payload_hash",
    "chain_seq",
    "chain_hash",
];

fn cells(r: &ChangeRecord) -> [String; 15] {
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string).unwrap_or_default();
    [
        r.id.to_string(),
        r.occurred_at.to_rfc3339(),
        r.entity.clone(),
        r.record_id.to_string(),
        r.operation.clone(),
        r.actor.clone().unwrap_or_default(),
        r.on_behalf_of.clone().unwrap_or_default(),
        r.request_id.clone().unwrap_or_default(),
        r.changed_fields.to_string(),
        json(&r.before),
        json(&r.after),
        r.redacted.to_string(),
        r.payload_hash.clone(),
        r.chain_seq.map(|s| s.to_string()).unwrap_or_default(),
        r.chain_hash.clone().unwrap_or_default(),
    ]
}

fn csv_bytes(rows: &[ChangeRecord], header: bool) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        writer.write_record(HEADER)?;
    }
    for r in rows {
        writer.write_record(cells(r).map(safe_cell))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// The filtered change log as CSV, one page of rows per chunk.
pub fn csv_stream(
    db: DatabaseConnection,
    filter: ChangeFilter,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Some((db, filter, 0i64, true)), |state| async move {
        let (db, filter, after, first) = state?;
        let rows = match export_page(&db, &filter, after, PAGE).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "change-log export stopped");
                return Some((Err(std::io::Error::other("export failed")), None));
            }
        };
        if rows.is_empty() && !first {
            return None;
        }
        let last = rows.last().map_or(after, |r| r.id);
        let chunk = csv_bytes(&rows, first).map_err(std::io::Error::other);
        let next = (!rows.is_empty()).then_some((db, filter, last, false));
        Some((chunk, next))
    })
}

/// The filtered change log as an XLSX file, written in constant memory to a temporary file.
pub async fn xlsx_file(
    db: &DatabaseConnection,
    filter: &ChangeFilter,
) -> Result<NamedTempFile, String> {
    sheet::xlsx_pages(
        "changes",
        HEADER.map(str::to_owned).to_vec(),
        |after| async move {
            export_page(db, filter, after, PAGE)
                .await
                .map_err(|e| e.to_string())
        },
        |r: &ChangeRecord| r.id,
        |r| cells(r).to_vec(),
    )
    .await
}
