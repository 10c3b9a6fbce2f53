use std::io::Read;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, id, spawn_app};

#[tokio::test]
async fn export_zip_has_every_table_without_key_hashes() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 1).await);
    app.create_run(pid, "E", None).await;
    let res = app.get("/admin/db/export.zip").await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    for table in [
        "processes",
        "process_steps",
        "process_runs",
        "step_runs",
        "api_keys",
        "change_log",
        "request_logs",
    ] {
        assert!(
            names.contains(&format!("{table}.csv")),
            "{table} missing in {names:?}"
        );
    }
    let mut keys = String::new();
    zip.by_name("api_keys.csv")
        .unwrap()
        .read_to_string(&mut keys)
        .unwrap();
    assert!(keys.starts_with("id,") && !keys.contains("key_hash"));
    let hash = procdash_domain::api_key::hash_key(&app.admin_key);
    assert!(!keys.contains(&hash) && !keys.contains(&app.admin_key));
    let mut runs = String::new();
    zip.by_name("process_runs.csv")
        .unwrap()
        .read_to_string(&mut runs)
        .unwrap();
    assert_eq!(runs.lines().count(), 2, "header and one run");
}

#[tokio::test]
async fn sqlite_backup_and_restore_round_trip() {
    let app = spawn_app().await;
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        assert_error(
            app.get("/admin/db/backup.sqlite").await,
            501,
            "not_implemented",
        )
        .await;
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(vec![0u8; 10]));
        let res = app
            .client
            .post(app.api("/admin/db/restore"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_error(res, 501, "not_implemented").await;
        return;
    }
    let pid = id(&app.create_process("kept", 1).await);
    let backup = app.get("/admin/db/backup.sqlite").await;
    assert_eq!(backup.status(), StatusCode::OK);
    let file = backup.bytes().await.unwrap().to_vec();
    assert!(file.starts_with(b"SQLite format 3\0"));
    app.create_process("added after the backup", 0).await;
    let upload = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("backup.sqlite"),
        )
    };

    let dry: Value = app
        .client
        .post(app.api("/admin/db/restore"))
        .multipart(upload(file.clone()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            dry["dry_run"].as_bool(),
            dry["restored"].as_bool(),
            dry["integrity_ok"].as_bool()
        ),
        (Some(true), Some(false), Some(true)),
        "{dry}"
    );
    assert_eq!(dry["tables"]["processes"], 1);
    let now: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(now["total"], 2, "a dry run changes nothing");

    let res = app
        .client
        .post(app.api("/admin/db/restore"))
        .multipart(upload(b"not a database".to_vec()))
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_error").await;
    let res = app
        .client
        .post(app.api("/admin/db/restore"))
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_error").await;
    let now: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(
        now["total"], 2,
        "a failed restore leaves the database untouched"
    );

    let done = app
        .client
        .post(app.api("/admin/db/restore?dry_run=false"))
        .multipart(upload(file))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let after: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(after["total"], 1);
    assert_eq!(after["items"][0]["id"], pid);
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], true);
    let _ = json!(null);
}

#[tokio::test]
async fn exported_cells_never_start_a_formula() {
    let app = spawn_app().await;
    app.create_process("=HYPERLINK(\"http://evil\")", 0).await;
    let bytes = app.get("/admin/db/export.zip").await.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut processes = String::new();
    zip.by_name("processes.csv")
        .unwrap()
        .read_to_string(&mut processes)
        .unwrap();
    assert!(processes.contains("'=HYPERLINK"), "{processes}");
    let csv = app
        .get("/audit/changes/export?entity=process")
        .await
        .text()
        .await
        .unwrap();
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains("\n=HYPERLINK"));
}
