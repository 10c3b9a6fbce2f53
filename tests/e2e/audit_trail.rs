use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{assert_error, create_key, id, spawn_app, step_run_ids};

async fn changes(app: &crate::helpers::TestApp, query: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/audit/changes?size=1000&{query}"))
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_write_is_recorded_with_actor_request_and_snapshots() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("/processes/"))
        .header("x-request-id", "req-audit-1")
        .header("x-user", "alice")
        .json(&json!({"name": "p", "steps": [{"index": 0, "name": "a"}]}))
        .send()
        .await
        .unwrap();
    let p: Value = res.json().await.unwrap();
    let pid = id(&p);
    app.patch(&format!("/processes/{pid}"), &json!({"name": "renamed"}))
        .await;
    let run = app.create_run(pid, "E", Some("Acme")).await;
    let sr = step_run_ids(&run)[0];
    app.set_step(sr, json!({"status": "running"})).await;

    let created = changes(
        &app,
        &format!("entity=process&record_id={pid}&operation=create"),
    )
    .await;
    assert_eq!(created.len(), 1);
    let c = &created[0];
    assert!(c["actor"].as_str().unwrap().starts_with("api_key:"));
    assert_eq!(c["on_behalf_of"], "alice");
    assert_eq!(c["request_id"], "req-audit-1");
    assert!(c["before"].is_null() && c["after"]["name"] == "p");
    assert_eq!(c["payload_hash"].as_str().unwrap().len(), 64);
    let updated = changes(
        &app,
        &format!("entity=process&record_id={pid}&operation=update"),
    )
    .await;
    assert_eq!(updated[0]["changed_fields"], json!(["name"]));
    assert_eq!(
        (
            updated[0]["before"]["name"].as_str(),
            updated[0]["after"]["name"].as_str()
        ),
        (Some("p"), Some("renamed"))
    );
    assert_eq!(changes(&app, "entity=step&operation=create").await.len(), 1);
    assert_eq!(
        changes(
            &app,
            &format!("entity=run&record_id={}&operation=create", id(&run))
        )
        .await
        .len(),
        1
    );
    assert_eq!(
        changes(&app, "entity=step_run&operation=create")
            .await
            .len(),
        1
    );
    let step_update = changes(
        &app,
        &format!("entity=step_run&record_id={sr}&operation=update"),
    )
    .await;
    assert_eq!(step_update[0]["after"]["status"], "running");
    let recompute = changes(
        &app,
        &format!("entity=run&record_id={}&operation=recompute", id(&run)),
    )
    .await;
    assert_eq!(recompute[0]["after"]["status"], "running");
    let created_key: Value = app
        .post("/api-keys/", &json!({"name": "robot"}))
        .await
        .json()
        .await
        .unwrap();
    app.client
        .delete(app.api(&format!("/api-keys/{}", created_key["id"])))
        .send()
        .await
        .unwrap();
    let key_changes = changes(&app, "entity=api_key").await;
    let ops: Vec<&str> = key_changes
        .iter()
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["revoke", "create", "create"],
        "the robot's revoke and create, and the test's admin key"
    );
    let text = serde_json::to_string(&key_changes).unwrap();
    assert!(!text.contains(created_key["key"].as_str().unwrap()) && !text.contains("key_hash"));
    assert_error(
        app.get("/audit/changes?size=1001").await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn the_chain_verifies_and_reports_tampering() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 2).await);
    for i in 0..3 {
        app.create_run(pid, &format!("E{i}"), None).await;
    }
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let checked = v["checked"].as_u64().unwrap();
    assert!(checked >= 12, "{v}");
    let target = changes(&app, "entity=run&operation=create").await[1]["id"]
        .as_i64()
        .unwrap();
    app.db
        .execute_unprepared(&format!(
            "UPDATE change_log SET after = '{{\"entity_id\": \"forged\"}}' WHERE id = {target}"
        ))
        .await
        .unwrap();
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_id"], target);
}

#[tokio::test]
async fn a_deleted_row_breaks_the_chain() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 1).await);
    app.create_run(pid, "E", None).await;
    app.get("/audit/verify").await;
    let victim = changes(&app, "entity=step&operation=create").await[0]["id"]
        .as_i64()
        .unwrap();
    app.db
        .execute_unprepared(&format!("DELETE FROM change_log WHERE id = {victim}"))
        .await
        .unwrap();
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["first_broken_id"].as_i64().unwrap() > victim);
}

#[tokio::test]
async fn archived_rows_keep_the_chain_verifiable() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p", 1).await);
    app.create_run(pid, "E", None).await;
    procdash_persistence::audit::chain::seal(&app.db)
        .await
        .unwrap();
    let moved = procdash_persistence::audit::chain::archive(
        &app.db,
        chrono::Utc::now() + chrono::Duration::days(1),
    )
    .await
    .unwrap();
    assert!(moved >= 4);
    assert!(changes(&app, "").await.is_empty());
    app.create_run(pid, "F", None).await;
    let v: Value = app.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["checked"].as_u64().unwrap() > moved);
}

#[tokio::test]
async fn histories_are_per_record_and_redact_pii_for_user_keys() {
    let app = spawn_app().await;
    let p = app.create_process("p", 1).await;
    let run = app.create_run(id(&p), "CPR-555", Some("Jane")).await;
    let sr = step_run_ids(&run)[0];
    app.set_step(
        sr,
        json!({"status": "failed", "failure": {"error": "jane@x"}}),
    )
    .await;
    let admin: Value = app
        .get(&format!("/runs/{}/history", id(&run)))
        .await
        .json()
        .await
        .unwrap();
    let items = admin["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "create and recompute");
    assert_eq!(items[1]["after"]["entity_id"], "CPR-555");
    let user = create_key(&app.db, "user", None).await;
    let as_user: Value = app
        .anonymous
        .get(app.api(&format!("/runs/{}/history", id(&run))))
        .header("x-api-key", &user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = as_user.to_string();
    assert!(
        !text.contains("CPR-555") && !text.contains("Jane"),
        "{text}"
    );
    assert!(text.contains("[redacted]"));
    let steps: Value = app
        .anonymous
        .get(app.api(&format!("/step-runs/{sr}/history")))
        .header("x-api-key", &user)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!steps.to_string().contains("jane@x"));
    let process: Value = app
        .get(&format!("/processes/{}/history", id(&p)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(process["total"], 1);
    assert_error(app.get("/runs/999/history").await, 404, "not_found").await;
}

#[tokio::test]
async fn changes_export_as_csv_and_xlsx() {
    let app = spawn_app().await;
    let pid = id(&app.create_process("p, with comma", 1).await);
    app.create_run(pid, "E", None).await;
    let res = app.get("/audit/changes/export?format=csv&entity=run").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("id"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], "run");
    let all = app.get("/audit/changes/export").await.text().await.unwrap();
    assert!(all.contains("\"p, with comma\"") || all.contains("p, with comma"));
    let xlsx = app.get("/audit/changes/export?format=xlsx").await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a ZIP");
    assert_error(
        app.get("/audit/changes/export?format=pdf").await,
        422,
        "validation_error",
    )
    .await;
}
