//! `GET /runs/export` (CSV, XLSX) and `GET /dashboard/process/{id}/export`.

use std::io::Read;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app, step_run_ids};

async fn csv_rows(res: reqwest::Response) -> Vec<Vec<String>> {
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let text = res.text().await.expect("body");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv").iter().map(str::to_owned).collect())
        .collect()
}

async fn as_user(app: &TestApp, path: &str) -> reqwest::Response {
    let user = create_key(&app.db, "user", None).await;
    app.anonymous
        .get(app.api(path))
        .header("x-api-key", user)
        .send()
        .await
        .expect("sent")
}

/// A process with steps `=SUM(A1)` and `check`, and three runs: one failed at the first step.
async fn fixture(app: &TestApp) -> (i64, Vec<Value>) {
    let res = app
        .post(
            "/processes/",
            &json!({"name": "export", "steps": [
                {"index": 0, "name": "=SUM(A1)"}, {"index": 1, "name": "check"}
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let p = id(&res.json::<Value>().await.expect("json"));
    let body = json!({"runs": [
        {"process_id": p, "entity_id": "+45 1234", "entity_name": "=HYPERLINK(\"x\")", "external_id": "X1", "meta": {"city": "@home"}},
        {"process_id": p, "entity_id": "E2", "entity_name": "Bob", "meta": {"city": "Aarhus"}},
        {"process_id": p, "entity_id": "E3", "entity_name": "\tTabby"},
    ]});
    let out: Value = app
        .post("/runs/bulk", &body)
        .await
        .json()
        .await
        .expect("json");
    let mut runs = Vec::new();
    for run_id in out["run_ids"].as_array().expect("ids") {
        runs.push(app.run(run_id.as_i64().expect("id")).await);
    }
    app.set_step(step_run_ids(&runs[1])[0], json!({"status": "failed"}))
        .await;
    (p, runs)
}

#[tokio::test]
async fn csv_export_has_a_row_per_run_with_step_columns_and_escaped_cells() {
    let app = spawn_app().await;
    let (p, runs) = fixture(&app).await;
    let rows = csv_rows(app.get(&format!("/runs/export?process_id={p}")).await).await;
    assert_eq!(
        rows[0],
        [
            "id",
            "process_id",
            "external_id",
            "entity_id",
            "entity_name",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "meta",
            "'=SUM(A1)",
            "check"
        ]
    );
    assert_eq!(rows.len(), 4);
    let first = &rows[1];
    assert_eq!(first[0], id(&runs[0]).to_string());
    assert_eq!(first[2], "X1");
    assert_eq!(first[3], "'+45 1234");
    assert_eq!(first[4], "'=HYPERLINK(\"x\")");
    assert_eq!(first[9], r#"{"city":"@home"}"#);
    assert_eq!(first[10], "pending");
    assert_eq!(rows[2][5], "failed");
    assert_eq!(rows[2][10], "failed");
    assert_eq!(rows[2][11], "pending");
    assert_eq!(rows[3][4], "'\tTabby");
}

#[tokio::test]
async fn export_takes_every_listing_filter_and_the_search_text() {
    let app = spawn_app().await;
    let (p, runs) = fixture(&app).await;
    let ids = |rows: Vec<Vec<String>>| -> Vec<String> {
        rows.into_iter().skip(1).map(|r| r[0].clone()).collect()
    };
    let failed = ids(csv_rows(app.get("/runs/export?status=failed").await).await);
    assert_eq!(failed, [id(&runs[1]).to_string()]);
    let by_meta = ids(csv_rows(app.get("/runs/export?meta_filter=city:Aarhus").await).await);
    assert_eq!(by_meta, [id(&runs[1]).to_string()]);
    let by_name = ids(csv_rows(app.get("/runs/export?entity_name=tabby").await).await);
    assert_eq!(by_name, [id(&runs[2]).to_string()]);
    let searched =
        ids(csv_rows(app.get(&format!("/runs/export?q=bob&process_id={p}")).await).await);
    assert_eq!(searched, [id(&runs[1]).to_string()]);
    let none = csv_rows(app.get("/runs/export?q=nobody-here").await).await;
    assert_eq!(none.len(), 1, "the header alone");
    let step = runs[1]["steps"][0]["step_id"].as_i64().expect("step");
    let failed_at = ids(csv_rows(app.get(&format!("/runs/export?failed_at={step}")).await).await);
    assert_eq!(failed_at, [id(&runs[1]).to_string()]);
}

#[tokio::test]
async fn bad_export_parameters_are_refused() {
    let app = spawn_app().await;
    for query in [
        "format=pdf",
        "page=2",
        "order_by=id",
        "status=done",
        "colour=red",
        "format=csv&format=xlsx",
        "q=",
    ] {
        let res = app.get(&format!("/runs/export?{query}")).await;
        assert_error(res, 422, "validation_error").await;
    }
    assert_error(
        app.get("/runs/export?meta_filter=nocolon").await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        app.get("/runs/export?q=abc&process_id=999999").await,
        404,
        "not_found",
    )
    .await;
    let anonymous = app
        .anonymous
        .get(app.api("/runs/export"))
        .send()
        .await
        .expect("sent");
    assert_error(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn user_keys_get_personal_fields_redacted() {
    let app = spawn_app().await;
    let (p, _) = fixture(&app).await;
    let rows = csv_rows(as_user(&app, &format!("/runs/export?process_id={p}")).await).await;
    for row in &rows[1..] {
        assert_eq!(row[3], "[redacted]");
        assert_eq!(row[9], "[redacted]");
    }
    assert_eq!(rows[1][4], "[redacted]");
    assert_eq!(rows[1][2], "X1");
    let board = csv_rows(as_user(&app, &format!("/dashboard/process/{p}/export")).await).await;
    let text = format!("{board:?}");
    assert!(!text.contains("Bob") && !text.contains("E2"), "{text}");
}

#[tokio::test]
async fn xlsx_export_is_a_workbook_with_the_same_rows() {
    let app = spawn_app().await;
    let (p, _) = fixture(&app).await;
    let res = app
        .get(&format!("/runs/export?format=xlsx&process_id={p}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.expect("body");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("sheet")
        .read_to_string(&mut sheet)
        .expect("xml");
    assert_eq!(sheet.matches("<row ").count(), 4, "{sheet}");
    assert!(sheet.contains("Bob"), "{sheet}");
    assert!(sheet.contains("=SUM(A1)"), "{sheet}");
    assert!(!sheet.contains("<f>"), "no formulas: {sheet}");
    let mut workbook = String::new();
    zip.by_name("xl/workbook.xml")
        .expect("workbook")
        .read_to_string(&mut workbook)
        .expect("xml");
    assert!(workbook.contains("name=\"runs\""), "{workbook}");
}

#[tokio::test]
async fn exports_read_past_one_batch() {
    let app = spawn_app().await;
    let p = id(&app.create_process("many", 1).await);
    let runs: Vec<Value> = (0..1203)
        .map(|i| json!({"process_id": p, "entity_id": format!("E{i}")}))
        .collect();
    let out: Value = app
        .post("/runs/bulk", &json!({"runs": runs}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(out["inserted"], 1203);
    let rows = csv_rows(app.get("/runs/export").await).await;
    assert_eq!(rows.len(), 1204);
    let mut ids: Vec<i64> = rows[1..]
        .iter()
        .map(|r| r[0].parse().expect("id"))
        .collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort_unstable();
        s.dedup();
        s
    };
    assert_eq!(ids, sorted, "by id, each once");
    ids.clear();
}

#[tokio::test]
async fn the_process_dashboard_exports_its_tables() {
    let app = spawn_app().await;
    let (p, runs) = fixture(&app).await;
    let rows = csv_rows(app.get(&format!("/dashboard/process/{p}/export")).await).await;
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(names.contains(&"statistics") && names.contains(&"steps") && names.contains(&"runs"));
    let stats = &rows[2];
    assert_eq!(stats[0], p.to_string());
    assert_eq!(stats[2], "3", "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.get(2).is_some_and(|c| c == "'=SUM(A1)")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[0] == id(&runs[1]).to_string() && r[2] == "Bob"),
        "{rows:?}"
    );
    assert_error(
        app.get(&format!("/dashboard/process/{p}/export?format=xlsx"))
            .await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.get("/dashboard/process/999999/export").await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/dashboard/process/{p}/export?since=yesterday"))
            .await,
        422,
        "validation_error",
    )
    .await;
}
