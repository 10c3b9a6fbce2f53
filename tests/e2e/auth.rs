use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, spawn_app, spawn_with};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

fn concrete(path: &str) -> String {
    [
        "{process_id}",
        "{run_id}",
        "{step_run_id}",
        "{step_id}",
        "{key_id}",
    ]
    .iter()
    .fold(path.to_owned(), |p, param| p.replace(param, "999999"))
}

async fn call(app: &TestApp, method: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = app
        .anonymous
        .request(method.parse().unwrap(), app.url(&concrete(path)));
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let res = req
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 401 {
        assert!(
            res.headers().contains_key("www-authenticate"),
            "{method} {path}: 401 without WWW-Authenticate"
        );
    }
    // An event stream never ends: its status is the answer.
    if res
        .headers()
        .get("content-type")
        .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"))
    {
        return (status, Value::Null);
    }
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Walks every operation of the OpenAPI document with each kind of credential.
#[tokio::test]
async fn every_operation_enforces_its_credential_and_role() {
    let app = spawn_app().await;
    let user = create_key(&app.db, "user", None).await;
    let expired = create_key(&app.db, "admin", Some(Utc::now() - Duration::minutes(1))).await;
    let revoked = create_key(&app.db, "admin", None).await;
    let revoked_id = app
        .client
        .get(app.api("/auth/me"))
        .header("x-api-key", &revoked)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.client
            .delete(app.api(&format!("/api-keys/{revoked_id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let spec: Value = app
        .anonymous
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let admin_only = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.to_string().contains("admin"));
            let m = method.to_uppercase();
            let (s, body) = call(&app, &m, path, None).await;
            assert_eq!(s, 401, "{m} {path} without credential");
            assert_eq!(body["error_type"], "unauthorized");
            let (s, body) = call(&app, &m, path, Some("pd_not-a-real-key")).await;
            assert_eq!(
                (s, body["detail"].as_str()),
                (401, Some("Invalid API key")),
                "{m} {path} invalid key"
            );
            let (s, body) = call(&app, &m, path, Some(&expired)).await;
            assert_eq!(
                (s, body["detail"].as_str()),
                (401, Some("API key has expired")),
                "{m} {path} expired key"
            );
            let (s, _) = call(&app, &m, path, Some(&revoked)).await;
            assert_eq!(s, 401, "{m} {path} revoked key");
            let (s, body) = call(&app, &m, path, Some(&user)).await;
            if admin_only {
                assert_eq!(
                    (s, body["detail"].as_str()),
                    (403, Some("Admin access required")),
                    "{m} {path} user key"
                );
            } else {
                assert!(s != 401 && s != 403, "{m} {path} user key got {s}");
            }
            let (s, _) = call(&app, &m, path, Some(&app.admin_key)).await;
            assert!(s != 401 && s != 403, "{m} {path} admin key got {s}");
            checked += 1;
        }
    }
    assert!(checked >= 26, "only {checked} operations checked");
}

#[tokio::test]
async fn keys_are_shown_once_and_stored_hashed() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api-keys/",
            &json!({"name": "robot", "description": "RPA", "role": "user"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pd_") && key.len() >= 3 + 43, "{key}");
    assert_eq!(created["key_prefix"], key[..8]);
    assert_eq!(created["role"], "user");
    let listed = app.get("/api-keys/").await.text().await.unwrap();
    assert!(!listed.contains(&key), "a listing never shows a key");
    assert!(!listed.contains("key_hash"));
    let admin_listed: Value = app.get("/admin/api-keys/").await.json().await.unwrap();
    assert_eq!(admin_listed["total"], 2);
    let one: Value = app
        .get(&format!("/api-keys/{}", created["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert!(one.get("key").is_none());
    let verify: Value = app
        .anonymous
        .get(app.api("/auth/verify"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verify["status"], "valid");
    assert_eq!(verify["key_info"]["name"], "robot");
    assert_error(
        app.post("/api-keys/", &json!({"name": "x", "role": "superuser"}))
            .await,
        422,
        "validation_error",
    )
    .await;
    assert_error(
        app.post("/api-keys/", &json!({"name": "x".repeat(101)}))
            .await,
        422,
        "validation_error",
    )
    .await;
}

#[tokio::test]
async fn toggling_and_revoking_take_effect_at_once() {
    let app = spawn_app().await;
    let created: Value = app
        .post("/api-keys/", &json!({"name": "robot"}))
        .await
        .json()
        .await
        .unwrap();
    let (id, key) = (
        created["id"].as_i64().unwrap(),
        created["key"].as_str().unwrap().to_owned(),
    );
    let as_robot = || {
        app.anonymous
            .get(app.api("/processes/"))
            .header("x-api-key", key.clone())
            .send()
    };
    assert_eq!(as_robot().await.unwrap().status(), StatusCode::OK);
    let toggled: Value = app
        .patch(&format!("/api-keys/{id}/toggle"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(toggled["is_active"], false);
    assert_eq!(as_robot().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    app.patch(&format!("/api-keys/{id}/toggle"), &json!({}))
        .await;
    assert_eq!(as_robot().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        app.client
            .delete(app.api(&format!("/api-keys/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(as_robot().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let kept: Value = app
        .get(&format!("/api-keys/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        kept["revoked_at"].is_string(),
        "the row stays for the audit trail"
    );
    assert_error(
        app.client
            .delete(app.api(&format!("/api-keys/{id}")))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.patch(&format!("/api-keys/{id}/toggle"), &json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn tokens_work_like_keys_until_the_key_is_revoked() {
    let app = spawn_with(|s| s.secret_key = Some(SECRET.to_owned())).await;
    let created: Value = app
        .post("/api-keys/", &json!({"name": "robot"}))
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let token: Value = app
        .anonymous
        .post(app.api("/auth/token"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 1800);
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let res = app
        .anonymous
        .get(app.api("/auth/me"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let lower = bearer.replacen("Bearer", "bearer", 1);
    let res = app
        .anonymous
        .get(app.api("/auth/me"))
        .header("authorization", &lower)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    let renew = app
        .anonymous
        .post(app.api("/auth/token"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_error(renew, 401, "unauthorized").await;
    let res = app
        .anonymous
        .get(app.api("/api-keys/"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the token carries the key's role"
    );
    app.client
        .delete(app.api(&format!("/api-keys/{}", created["id"])))
        .send()
        .await
        .unwrap();
    let res = app
        .anonymous
        .get(app.api("/auth/me"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized").await;
    let res = app
        .anonymous
        .get(app.api("/auth/me"))
        .header("authorization", "Bearer forged.token.here")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn tokens_are_refused_without_a_secret() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("/auth/token"))
        .send()
        .await
        .unwrap();
    assert_error(res, 501, "not_implemented").await;
}

#[tokio::test]
async fn writes_record_the_key_as_actor_never_the_x_user_header() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("/processes/"))
        .header("x-user", "mallory")
        .json(&json!({"name": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT created_by, updated_by FROM processes",
        ))
        .await
        .unwrap()
        .unwrap();
    let created_by: String = row.try_get("", "created_by").unwrap();
    assert!(
        created_by.starts_with("api_key:") && created_by.ends_with(":admin key"),
        "{created_by}"
    );
    assert!(!created_by.contains("mallory"));
}

#[tokio::test]
async fn usage_stats_count_route_templates() {
    let app = spawn_app().await;
    let key = create_key(&app.db, "user", None).await;
    for _ in 0..3 {
        app.anonymous
            .get(app.api("/runs/12345"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stats: Value = app
        .anonymous
        .get(app.api("/auth/usage-stats"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["usage_count"].as_i64().unwrap() >= 3, "{stats}");
    assert!(stats["last_used_at"].is_string());
    assert_eq!(stats["daily_usage"], 3, "{stats}");
    assert_eq!(stats["weekly_usage"], 3);
    let top = &stats["top_endpoints"][0];
    assert_eq!(top["endpoint"], "/api/v1/runs/{run_id}");
    assert_eq!(top["count"], 3);
    assert!(
        !stats.to_string().contains("12345"),
        "raw paths never appear"
    );
}

#[tokio::test]
async fn bootstrap_admin_key_works_only_on_an_empty_key_table() {
    let boot = "pd_bootstrap-value-for-containers-0123456789";
    let app = spawn_with(|s| s.bootstrap_admin_key = Some(boot.to_owned())).await;
    let me: Value = app
        .anonymous
        .get(app.api("/auth/me"))
        .header("x-api-key", boot)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["name"], "bootstrap admin");
    let keys: Value = app.get("/api-keys/").await.json().await.unwrap();
    assert_eq!(keys["total"], 2, "the bootstrap key and the test's own key");
}

#[tokio::test]
async fn an_unreachable_key_store_is_a_503_not_a_401() {
    let app = spawn_app().await;
    let fresh = create_key(&app.db, "user", None).await;
    app.db.clone().close().await.unwrap();
    let res = app
        .anonymous
        .get(app.api("/processes/"))
        .header("x-api-key", &fresh)
        .send()
        .await
        .unwrap();
    assert_error(res, 503, "service_unavailable").await;
}
