//! `procdash import runs`, through the library function the command calls.

use std::io::Write;

use procdash_server::import_cli::import_runs;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id, spawn_app, step_run_ids};

fn file(suffix: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    f.write_all(text.as_bytes()).expect("written");
    f
}

async fn runs(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .get("/runs/?size=100&order_by=id&sort_direction=asc")
        .await
        .json()
        .await
        .expect("json");
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_csv_file_imports_in_batches_and_a_repeat_stores_nothing_twice() {
    let app = spawn_app().await;
    let p = id(&app.create_process("import", 2).await);
    let mut csv = String::from("entity_id,entity_name,external_id,meta.region\n");
    for i in 1..=5 {
        csv.push_str(&format!("E{i},Name {i},X{i},north\n"));
    }
    let f = file(".csv", &csv);
    let mut out = Vec::new();
    let summary = import_runs(&app.db, f.path(), p, false, 2, &mut out)
        .await
        .expect("imported");
    assert_eq!(
        (summary.inserted, summary.duplicates, summary.failed),
        (5, 0, 0)
    );
    let stored = runs(&app).await;
    assert_eq!(stored.len(), 5);
    assert_eq!(stored[0]["external_id"], "X1");
    assert_eq!(stored[4]["meta"], json!({"region": "north"}));
    assert_eq!(step_run_ids(&stored[2]).len(), 2);
    let again = import_runs(&app.db, f.path(), p, false, 2, &mut out)
        .await
        .expect("imported");
    assert_eq!((again.inserted, again.duplicates), (0, 5));
    assert_eq!(runs(&app).await.len(), 5);
}

#[tokio::test]
async fn a_bad_row_stops_the_import_unless_partial() {
    let app = spawn_app().await;
    let p = id(&app.create_process("import", 1).await);
    let other = id(&app.create_process("other", 1).await);
    let body = json!({"runs": [
        {"entity_id": "E1"},
        {"entity_id": ""},
        {"process_id": other, "entity_id": "E3"},
        {"process_id": p, "entity_id": "E4"},
    ]});
    let f = file(".json", &body.to_string());
    let mut out = Vec::new();
    let refused = import_runs(&app.db, f.path(), p, false, 1000, &mut out).await;
    assert!(refused.is_err());
    assert!(runs(&app).await.is_empty());
    let report = String::from_utf8(out).expect("utf-8");
    assert!(report.contains("row 2: entity_id"), "{report}");
    assert!(report.contains("row 3: process_id"), "{report}");
    let mut out = Vec::new();
    let summary = import_runs(&app.db, f.path(), p, true, 1000, &mut out)
        .await
        .expect("imported");
    assert_eq!((summary.inserted, summary.failed), (2, 2));
    let stored = runs(&app).await;
    assert!(stored.iter().all(|r| r["process_id"] == p));
}

#[tokio::test]
async fn unknown_processes_and_file_types_are_refused() {
    let app = spawn_app().await;
    let f = file(".csv", "entity_id\nE1\n");
    let mut out = Vec::new();
    assert!(
        import_runs(&app.db, f.path(), 999_999, false, 10, &mut out)
            .await
            .is_err()
    );
    let p = id(&app.create_process("import", 1).await);
    let txt = file(".txt", "entity_id\nE1\n");
    assert!(
        import_runs(&app.db, txt.path(), p, false, 10, &mut out)
            .await
            .is_err()
    );
    assert!(runs(&app).await.is_empty());
}
