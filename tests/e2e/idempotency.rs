//! Idempotency-Key on the creating POSTs.

use std::time::Duration;

use procdash_persistence::Actor;
use procdash_persistence::repo::idempotency::{self, Claim, KeyClaim};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app, spawn_with};

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.api(path))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn run_count(app: &TestApp) -> i64 {
    let page: Value = app.get("/runs/").await.json().await.unwrap();
    page["total"].as_i64().unwrap()
}

async fn admin_key_id(app: &TestApp) -> i64 {
    let me: Value = app.get("/auth/me").await.json().await.unwrap();
    me["id"].as_i64().or(me["key"]["id"].as_i64()).unwrap()
}

#[tokio::test]
async fn a_repeat_replays_the_first_response_without_creating_again() {
    let app = spawn_app().await;
    let process = app.create_process("p", 2).await;
    let body = json!({"process_id": id(&process), "entity_id": "E-1"});
    let first = post_with_key(&app, "/runs/", "run-e1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&app, "/runs/", "run-e1", &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert!(
        again.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(run_count(&app).await, 1);
    // Without a key, the same body creates a second run.
    app.create_run(id(&process), "E-1", None).await;
    assert_eq!(run_count(&app).await, 2);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let body = json!({"process_id": id(&process), "entity_id": "E-1"});
    post_with_key(&app, "/runs/", "k", &body).await;
    let other = json!({"process_id": id(&process), "entity_id": "E-2"});
    let res = post_with_key(&app, "/runs/", "k", &other).await;
    let err = assert_error(res, 422, "validation_error").await;
    assert_eq!(err["errors"][0]["field"], "Idempotency-Key");
    // ... and on another route too: the route is part of what the key names.
    let res = post_with_key(&app, "/processes/", "k", &json!({"name": "q"})).await;
    assert_error(res, 422, "validation_error").await;
    assert_eq!(run_count(&app).await, 1);
}

#[tokio::test]
async fn keys_are_validated_and_accepted_only_where_they_mean_something() {
    let app = spawn_app().await;
    let res = post_with_key(&app, "/processes/", &"x".repeat(256), &json!({"name": "p"})).await;
    assert_error(res, 422, "validation_error").await;
    let res = post_with_key(&app, "/processes/", "", &json!({"name": "p"})).await;
    assert_error(res, 422, "validation_error").await;
    let ok = post_with_key(&app, "/processes/", &"x".repeat(255), &json!({"name": "p"})).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    // The new key's plaintext is never stored, so its creation cannot be replayed.
    let res = post_with_key(
        &app,
        "/api-keys/",
        "k",
        &json!({"name": "n", "role": "user"}),
    )
    .await;
    assert_error(res, 422, "validation_error").await;
    let res = app
        .client
        .get(app.api("/processes/"))
        .header("Idempotency-Key", "k")
        .send()
        .await
        .unwrap();
    assert_error(res, 422, "validation_error").await;
    let page: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(page["total"], 1);
}

#[tokio::test]
async fn keys_are_scoped_per_api_key() {
    let app = spawn_app().await;
    let other_key = create_key(&app.db, "user", None).await;
    let res = post_with_key(&app, "/processes/", "shared", &json!({"name": "a"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .anonymous
        .post(app.api("/processes/"))
        .header("x-api-key", other_key)
        .header("Idempotency-Key", "shared")
        .json(&json!({"name": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_client_error_is_stored_and_replayed() {
    let app = spawn_app().await;
    let body = json!({"process_id": 999, "entity_id": "E-1"});
    let res = post_with_key(&app, "/runs/", "missing", &body).await;
    let first = assert_error(res, 404, "not_found").await;
    // The process now exists, but the key answers as it did the first time: the same body,
    // with the first request's id.
    app.create_process("p", 1).await;
    let res = post_with_key(&app, "/runs/", "missing", &body).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(run_count(&app).await, 0);
}

#[tokio::test]
async fn a_request_still_in_flight_is_a_conflict() {
    let app = spawn_app().await;
    let key_id = admin_key_id(&app).await;
    let body = json!({"name": "p"});
    // Another instance holds the key: its claim row is in the shared database.
    let held = held_claim(&app, key_id, "busy", chrono::Duration::hours(1)).await;
    assert_eq!(held, Claim::Claimed);
    let res = post_with_key(&app, "/processes/", "busy", &body).await;
    // The hash differs (the holder's request is another one), so the mismatch is reported
    // first; a holder of the same request is reported as in flight.
    assert_error(res, 422, "validation_error").await;
    let same = claim_same_request(&app, key_id, "busy2", &body).await;
    assert_eq!(same, Claim::Claimed);
    let res = post_with_key(&app, "/processes/", "busy2", &body).await;
    assert_error(res, 409, "conflict").await;
    let page: Value = app.get("/processes/").await.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

/// Claims `key` in the database for a request that is not the test's.
async fn held_claim(app: &TestApp, key_id: i64, key: &str, ttl: chrono::Duration) -> Claim {
    let claim = KeyClaim {
        api_key_id: key_id,
        key,
        request_hash: &"0".repeat(64),
        ttl,
        abandoned_after: chrono::Duration::hours(1),
    };
    idempotency::claim(&app.db, &Actor::system("test"), &claim)
        .await
        .unwrap()
}

/// Claims `key` for exactly the request the test will send (same method, path and body).
async fn claim_same_request(app: &TestApp, key_id: i64, key: &str, body: &Value) -> Claim {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"POST\n/api/v1/processes\n");
    h.update(serde_json::to_vec(body).unwrap());
    let hash = hex::encode(h.finalize());
    let claim = KeyClaim {
        api_key_id: key_id,
        key,
        request_hash: &hash,
        ttl: chrono::Duration::hours(1),
        abandoned_after: chrono::Duration::hours(1),
    };
    idempotency::claim(&app.db, &Actor::system("test"), &claim)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_server_error_releases_the_key() {
    let app = spawn_app().await;
    let process = app.create_process("p", 1).await;
    let backend = app.db.get_database_backend();
    let exec = |sql: &str| {
        let db = app.db.clone();
        let sql = sql.to_owned();
        async move {
            db.execute_raw(Statement::from_string(backend, sql))
                .await
                .unwrap();
        }
    };
    // A trigger makes every run insert fail: the handler answers 500.
    if backend == sea_orm::DbBackend::Postgres {
        exec("CREATE FUNCTION fail_runs() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql").await;
        exec("CREATE TRIGGER fail_runs BEFORE INSERT ON process_runs FOR EACH ROW EXECUTE FUNCTION fail_runs()").await;
    } else {
        exec("CREATE TRIGGER fail_runs BEFORE INSERT ON process_runs BEGIN SELECT RAISE(ABORT, 'boom'); END").await;
    }
    let body = json!({"process_id": id(&process), "entity_id": "E-1"});
    let res = post_with_key(&app, "/runs/", "retry-me", &body).await;
    assert_error(res, 500, "internal_error").await;
    if backend == sea_orm::DbBackend::Postgres {
        exec("DROP TRIGGER fail_runs ON process_runs").await;
    } else {
        exec("DROP TRIGGER fail_runs").await;
    }
    let res = post_with_key(&app, "/runs/", "retry-me", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_eq!(run_count(&app).await, 1);
}

#[tokio::test]
async fn expired_keys_are_taken_over_and_purged_by_the_job() {
    let app = spawn_with(|s| s.purge_interval_seconds = 1).await;
    let key_id = admin_key_id(&app).await;
    held_claim(&app, key_id, "old", chrono::Duration::seconds(-1)).await;
    // An expired claim (even for another request) no longer binds the key.
    let res = post_with_key(&app, "/processes/", "old", &json!({"name": "p"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    held_claim(&app, key_id, "stale", chrono::Duration::seconds(-1)).await;
    let count = || async {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM idempotency_keys WHERE idem_key = 'stale'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    assert_eq!(count().await, 1);
    let mut waited = 0;
    while count().await > 0 && waited < 40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(count().await, 0, "the purge job removes expired keys");
}

#[tokio::test]
async fn the_openapi_document_describes_the_headers() {
    let app = spawn_app().await;
    let spec = crate::openapi::spec(&app).await;
    for path in ["/processes/", "/steps/", "/runs/", "/step-runs/"] {
        let op = &spec["paths"][format!("/api/v1{path}")]["post"];
        let params = op["parameters"].as_array().unwrap();
        let p = params
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("{path}"));
        assert_eq!(p["in"], "header");
        assert_eq!(p["schema"]["maxLength"], 255);
        assert!(op["responses"]["201"]["headers"]["Idempotent-Replayed"].is_object());
        assert!(op["responses"]["409"].is_object(), "{path}");
    }
}
