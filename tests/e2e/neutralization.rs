use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, step_run_ids};

const ENTITY_ID: &str = "CPR-0101901234";
const ENTITY_NAME: &str = "Jane Quintessa Doe";
const EMAIL: &str = "jane.quintessa@example.com";
const PHONE: &str = "+45 99 88 77 66";

async fn sensitive_run(app: &TestApp, process_meta: Value) -> (i64, Value) {
    let p: Value = app.post("/processes/", &json!({"name": "p", "meta": process_meta, "steps": [{"index": 0, "name": "a"}, {"index": 1, "name": "b"}]})).await.json().await.unwrap();
    let body = json!({"process_id": id(&p), "entity_id": ENTITY_ID, "entity_name": ENTITY_NAME,
        "meta": {"email": EMAIL, "phone": PHONE, "department": "Sales", "region": "EMEA", "clinic": "Viby"}});
    let run: Value = app.post("/runs/", &body).await.json().await.unwrap();
    let srs = step_run_ids(&run);
    app.set_step(
        srs[0],
        json!({"status": "failed", "failure": {"error": format!("mail to {EMAIL} bounced")}}),
    )
    .await;
    app.set_step(srs[1], json!({"status": "running"})).await;
    (id(&run), run)
}

async fn neutralize(app: &TestApp, run_id: i64) -> Value {
    let res = app
        .post(&format!("/runs/{run_id}/neutralize"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn neutralization_removes_personal_data_and_is_idempotent() {
    let app = spawn_app().await;
    let (run_id, _) = sensitive_run(&app, json!({})).await;
    let first = neutralize(&app, run_id).await;
    assert_eq!(first["was_already_neutralized"], false);
    assert!(first["neutralized_at"].is_string());
    let run = app.run(run_id).await;
    assert_eq!(run["entity_id"], format!("NEUTRALIZED_{run_id}"));
    assert!(run["entity_name"].is_null());
    assert_eq!(
        run["meta"],
        json!({"department": "Sales", "region": "EMEA"})
    );
    assert_eq!(run["is_neutralized"], true);
    assert_eq!(run["steps"][0]["failure"], json!({"neutralized": true}));
    assert!(run["steps"][1]["failure"].is_null());
    let second = neutralize(&app, run_id).await;
    assert_eq!(second["was_already_neutralized"], true);
    assert_eq!(second["neutralized_at"], first["neutralized_at"]);
    assert_eq!(app.run(run_id).await, run, "a second call changes nothing");
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], true, "redaction keeps the chain verifiable: {v}");
    assert_error(
        app.post("/runs/9999/neutralize", &json!({})).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_process_can_override_the_keep_list() {
    let app = spawn_app().await;
    let (run_id, _) = sensitive_run(&app, json!({"neutralization_keep_fields": ["clinic"]})).await;
    neutralize(&app, run_id).await;
    assert_eq!(app.run(run_id).await["meta"], json!({"clinic": "Viby"}));
}

/// Every text cell of every table, as (table, column, value).
async fn all_text(app: &TestApp) -> Vec<(String, String, String)> {
    let backend = app.db.get_database_backend();
    let list = if backend == sea_orm::DbBackend::Postgres {
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables = app
        .db
        .query_all_raw(Statement::from_string(backend, list))
        .await
        .unwrap();
    let mut cells = Vec::new();
    for t in tables {
        let name: String = t.try_get("", "name").unwrap();
        let sql = if backend == sea_orm::DbBackend::Postgres {
            format!("SELECT row_to_json(t)::text AS row FROM \"{name}\" t")
        } else {
            format!("SELECT * FROM \"{name}\"")
        };
        for row in app
            .db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            for (i, column) in row.column_names().into_iter().enumerate() {
                if let Ok(Some(text)) = row.try_get_by_index::<Option<String>>(i) {
                    cells.push((name.clone(), column, text));
                }
            }
        }
    }
    cells
}

#[tokio::test]
async fn neutralization_leaves_no_trace_anywhere_in_the_database() {
    let app = spawn_app().await;
    let (run_id, _) = sensitive_run(&app, json!({})).await;
    // Send the values as filters too: the request log must not keep them.
    app.get(&format!(
        "/runs/?entity_id={ENTITY_ID}&entity_name={}",
        ENTITY_NAME.replace(' ', "+")
    ))
    .await;
    for _ in 0..50 {
        let logs: Value = app
            .get("/audit-logs/?path=/api/v1/runs&size=100")
            .await
            .json()
            .await
            .unwrap();
        let filtered = logs["items"].as_array().unwrap().iter().any(|i| {
            i["query"]
                .as_str()
                .is_some_and(|q| q.contains("entity_id=***"))
        });
        if filtered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let before = all_text(&app).await;
    assert!(
        before.iter().any(|(_, _, v)| v.contains(ENTITY_ID)),
        "the fixture must put the values in the database"
    );
    neutralize(&app, run_id).await;
    for secret in [
        ENTITY_ID,
        ENTITY_NAME,
        EMAIL,
        PHONE,
        "Jane+Quintessa+Doe",
        "jane.quintessa",
    ] {
        let hits: Vec<_> = all_text(&app)
            .await
            .into_iter()
            .filter(|(_, _, v)| v.contains(secret))
            .map(|(t, c, _)| format!("{t}.{c}"))
            .collect();
        assert!(hits.is_empty(), "{secret} survives in {hits:?}");
    }
}

#[tokio::test]
async fn cleanup_finds_due_runs_and_neutralizes_them_in_batches() {
    let app = spawn_app().await;
    let (a, _) = sensitive_run(&app, json!({})).await;
    let (b, _) = sensitive_run(&app, json!({})).await;
    let (c, _) = sensitive_run(&app, json!({})).await;
    app.db.execute_unprepared(&format!("UPDATE process_runs SET created_at = '2020-01-15T00:00:00+00:00' WHERE id IN ({a}, {b})")).await.unwrap();
    for run in [a, b, c] {
        let process_id = app.run(run).await["process_id"].as_i64().unwrap();
        app.client
            .put(app.api(&format!("/processes/{process_id}/retention")))
            .json(&json!({"retention_months": 1}))
            .send()
            .await
            .unwrap();
    }
    let stats: Value = app
        .get("/admin/cleanup/stats?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["total_due_for_neutralization"], 2);
    assert_eq!(stats["sample_run_ids"].as_array().unwrap().len(), 1);
    let dry: Value = app
        .post("/admin/cleanup/neutralize?limit=100", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["neutralized_run_ids"], json!([a, b]));
    assert_eq!(
        app.run(a).await["is_neutralized"],
        false,
        "a dry run changes nothing"
    );
    let real: Value = app
        .post(
            "/admin/cleanup/neutralize?limit=100&dry_run=false",
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            real["neutralized_count"].as_u64(),
            real["failed_count"].as_u64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(app.run(a).await["is_neutralized"], true);
    assert_eq!(app.run(c).await["is_neutralized"], false, "not due yet");
    let stats: Value = app.get("/admin/cleanup/stats").await.json().await.unwrap();
    assert_eq!(stats["total_due_for_neutralization"], 0);
    assert_error(
        app.post("/admin/cleanup/neutralize?limit=0", &json!({}))
            .await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.post("/admin/cleanup/neutralize?limit=1001", &json!({}))
            .await,
        422,
        "validation_error",
    )
    .await;
}
