use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, spawn_with};

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_and_rate_headers() {
    let app = spawn_with(|s| {
        s.rate_limit_requests = 3;
        s.rate_limit_admin_requests = 3;
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let res = app.get("/processes/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(res.headers()["ratelimit-remaining"], remaining);
        assert_eq!(res.headers()["x-ratelimit-remaining"], remaining);
        assert!(res.headers().contains_key("ratelimit-reset"));
    }
    let res = app.get("/processes/").await;
    assert!(
        res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    assert_error(res, 429, "rate_limited").await;
    // Unauthenticated callers are limited by IP, separately from the key.
    let anon = app
        .anonymous
        .get(app.api("/processes/"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rate_limiting_can_be_disabled() {
    let app = spawn_with(|s| {
        s.rate_limit_enabled = false;
        s.rate_limit_requests = 1;
    })
    .await;
    for _ in 0..3 {
        let res = app.get("/processes/").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(!res.headers().contains_key("ratelimit-limit"));
    }
}

#[tokio::test]
async fn security_headers_and_cors() {
    let app = spawn_with(|s| {
        s.cors_origins = r#"["https://dash.example"]"#.to_owned();
        s.hsts_enabled = true;
    })
    .await;
    let res = app.anonymous.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "Swagger UI still works");
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let res = app
        .anonymous
        .get(app.url("/health"))
        .header("origin", "https://dash.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://dash.example"
    );
    let res = app
        .anonymous
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let plain = spawn_app().await;
    let res = plain
        .anonymous
        .get(plain.url("/health"))
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"));
}

async fn wait_for_logs(app: &crate::helpers::TestApp, at_least: u64) -> Value {
    for _ in 0..50 {
        let page: Value = app.get("/audit-logs/?size=100").await.json().await.unwrap();
        if page["total"].as_u64().unwrap_or(0) >= at_least {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("request log did not fill");
}

#[tokio::test]
async fn every_request_is_logged_without_secrets() {
    let app = spawn_app().await;
    app.anonymous.get(app.api("/runs/7")).send().await.unwrap();
    app.anonymous
        .get(app.api("/runs/7?api_key=pd_leaked"))
        .header("x-api-key", "pd_wrong-key-value")
        .send()
        .await
        .unwrap();
    app.get("/runs/7").await;
    app.get("/runs/?status=bogus").await;
    let page = wait_for_logs(&app, 4).await;
    let items = page["items"].as_array().unwrap();
    let statuses: Vec<i64> = items
        .iter()
        .map(|i| i["status"].as_i64().unwrap())
        .collect();
    assert!(
        statuses.contains(&401) && statuses.contains(&404) && statuses.contains(&422),
        "{statuses:?}"
    );
    let not_found = items
        .iter()
        .find(|i| i["status"] == 404)
        .unwrap_or_else(|| panic!("{page}"));
    assert_eq!(not_found["route"], "/api/v1/runs/{run_id}");
    assert_eq!(not_found["path"], "/api/v1/runs/7");
    assert_eq!(not_found["method"], "GET");
    assert_eq!(not_found["api_key_name"], "admin key");
    assert!(not_found["request_id"].is_string() && not_found["client_ip"].is_string());
    assert!(
        not_found["error_message"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
    assert!(not_found["duration_ms"].as_f64().unwrap() >= 0.0);
    let all = page.to_string();
    assert!(
        !all.contains(&app.admin_key)
            && !all.contains("pd_wrong-key-value")
            && !all.contains("pd_leaked"),
        "a key reached the request log"
    );
    let filtered: Value = app
        .get("/audit-logs/?status_code=401")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        filtered["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == 401)
    );
    let stats: Value = app
        .get("/audit-logs/stats?hours=24")
        .await
        .json()
        .await
        .unwrap();
    assert!(stats["total"].as_u64().unwrap() >= 4);
    assert!(stats["errors"].as_u64().unwrap() >= 3);
    assert!(stats["success_rate"].as_f64().unwrap() < 100.0);
    assert!(stats["p95_duration_ms"].as_f64().is_some() && stats["by_method"][0]["name"] == "GET");
    assert!(
        stats["by_route"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "/api/v1/runs/{run_id}")
    );
    assert_error(
        app.get("/audit-logs/stats?hours=0").await,
        422,
        "validation_error",
    )
    .await;
    let health: Value = app
        .anonymous
        .get(app.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["request_log_dropped"], 0);
}

#[tokio::test]
async fn a_full_request_log_buffer_drops_and_counts() {
    let app = spawn_with(|s| s.request_log_buffer = 1).await;
    let burst = (0..40).map(|_| app.get("/processes/"));
    futures_util::future::join_all(burst).await;
    let health: Value = app
        .anonymous
        .get(app.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        health["request_log_dropped"].as_u64().unwrap() > 0,
        "{health}"
    );
}

#[tokio::test]
async fn a_key_in_the_path_is_masked_in_error_bodies_and_the_request_log() {
    let app = spawn_app().await;
    let leaked = "pd_this-key-was-pasted-into-the-path-0123456789";
    let res = app
        .client
        .delete(app.api(&format!("/api-keys/{leaked}")))
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 422, "validation_error").await;
    assert!(!body.to_string().contains(leaked), "{body}");
    let res = app.get(&format!("/{leaked}")).await;
    let body = assert_error(res, 404, "not_found").await;
    assert!(!body.to_string().contains(leaked), "{body}");
    let page = wait_for_logs(&app, 2).await;
    assert!(
        !page.to_string().contains(leaked),
        "a key reached the request log"
    );
    assert!(page.to_string().contains("pd_***"));
}
