//! Cursor (keyset) pagination on every listing: it visits every row once, in the listing's
//! order, and refuses cursors that are malformed, altered or for other filters or sorts.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, step_run_ids};

async fn get(app: &TestApp, path_and_query: &str) -> (Value, reqwest::header::HeaderMap) {
    let res = app
        .client
        .get(format!("{}/api/v1{path_and_query}", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{path_and_query}: {body}");
    (body, headers)
}

fn ids_of(body: &Value, field: &str) -> Vec<Value> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.pointer(field).cloned().unwrap_or(Value::Null))
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Walks a listing by cursor with `size`, following `next_cursor`, and returns the ids seen.
/// Every page after the first has no count; the rel="next" link carries the same cursor.
async fn walk(app: &TestApp, path: &str, query: &str, size: usize, field: &str) -> Vec<Value> {
    let sep = if query.is_empty() { "" } else { "&" };
    let (mut body, _) = get(app, &format!("{path}?{query}{sep}size={size}")).await;
    let mut seen = ids_of(&body, field);
    while let Some(cursor) = body["next_cursor"].as_str().map(str::to_owned) {
        let (next, headers) = get(
            app,
            &format!("{path}?{query}{sep}size={size}&cursor={}", enc(&cursor)),
        )
        .await;
        assert!(next["total"].is_null(), "{next}");
        assert!(next["page"].is_null(), "{next}");
        assert!(headers.get("x-total-count").is_none());
        let link = headers.get("link").unwrap().to_str().unwrap().to_owned();
        assert!(link.contains("rel=\"first\""), "{link}");
        if let Some(after) = next["next_cursor"].as_str() {
            assert!(link.contains(&enc(after)), "{link}");
            assert!(link.contains("rel=\"next\""), "{link}");
        }
        seen.extend(ids_of(&next, field));
        body = next;
        assert!(seen.len() < 1000, "cursor walk does not end");
    }
    seen
}

/// The same listing in one big page, by page number.
async fn all(app: &TestApp, path: &str, query: &str, field: &str) -> Vec<Value> {
    let sep = if query.is_empty() { "" } else { "&" };
    let (body, _) = get(app, &format!("{path}?{query}{sep}size=100&page=1")).await;
    assert!(
        body["next_cursor"].is_null(),
        "an explicit page gives no cursor: {body}"
    );
    ids_of(&body, field)
}

#[tokio::test]
async fn cursors_walk_every_listing_in_order_without_repeats() {
    let app = spawn_app().await;
    let process = app.create_process("cursors", 2).await;
    let p = id(&process);
    for i in 0..7 {
        let meta = match i % 3 {
            0 => json!({"priority": i % 2}),
            1 => json!({"priority": "high"}),
            _ => json!({}),
        };
        let body = json!({"process_id": p, "entity_id": format!("E-{}", i % 4), "entity_name": if i % 2 == 0 { Value::Null } else { json!(format!("n{}", 7 - i)) }, "meta": meta});
        let run: Value = app.post("/runs/", &body).await.json().await.unwrap();
        if i % 2 == 0 {
            app.set_step(step_run_ids(&run)[0], json!({"status": "running"}))
                .await;
        }
    }
    for _ in 0..4 {
        app.create_process("more", 1).await;
    }
    let runs = "/runs/";
    for query in [
        String::new(),
        format!("process_id={p}"),
        "order_by=id&sort_direction=asc".to_owned(),
        "order_by=started_at".to_owned(),
        "order_by=entity_name&sort_direction=asc".to_owned(),
        "order_by=entity_id".to_owned(),
        "order_by=status".to_owned(),
        "order_by=meta.priority".to_owned(),
        "order_by=meta.priority&sort_direction=asc".to_owned(),
        "meta_filter=priority:high".to_owned(),
    ] {
        let expected = all(&app, runs, &query, "/id").await;
        for size in [1, 2, 3] {
            assert_eq!(
                walk(&app, runs, &query, size, "/id").await,
                expected,
                "{query} size {size}"
            );
        }
    }
    let listings = [
        ("/processes/", "", "/id"),
        ("/api-keys/", "", "/id"),
        ("/audit/changes", "", "/id"),
        ("/audit/changes", "entity=run", "/id"),
        (&format!("/processes/{p}/history") as &str, "", "/id"),
        ("/runs/search", "q=e-", "/run/id"),
        ("/entities/E-1/runs", "", "/run_id"),
    ];
    for (path, query, field) in listings {
        let expected = all(&app, path, query, field).await;
        assert!(!expected.is_empty(), "{path}");
        assert_eq!(
            walk(&app, path, query, 2, field).await,
            expected,
            "{path}?{query}"
        );
    }
}

#[tokio::test]
async fn request_log_pages_by_cursor() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.get("/processes/").await;
    }
    // The request log is written in the background; wait until five rows are there.
    let mut expected = Vec::new();
    for _ in 0..50 {
        expected = all(&app, "/audit-logs/", "path=/processes", "/id").await;
        if expected.len() >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(expected.len() >= 5);
    let walked = walk(&app, "/audit-logs/", "path=/processes", 2, "/id").await;
    assert_eq!(walked[..expected.len()], expected[..]);
}

#[tokio::test]
async fn bad_cursors_are_400_and_page_with_cursor_too() {
    let app = spawn_app().await;
    let p = id(&app.create_process("bad", 1).await);
    for i in 0..3 {
        app.create_run(p, &format!("e{i}"), None).await;
    }
    let (body, _) = get(&app, "/runs/?size=1&status=pending").await;
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let ok = format!("/runs/?size=1&status=pending&cursor={}", enc(&cursor));
    get(&app, &ok).await;
    let mut altered = cursor.clone().into_bytes();
    altered[2] = if altered[2] == b'x' { b'y' } else { b'x' };
    let altered = String::from_utf8(altered).unwrap();
    for bad in [
        format!("/runs/?size=1&status=pending&cursor={}", enc(&altered)),
        "/runs/?cursor=garbage".to_owned(),
        "/runs/?cursor=".to_owned(),
        // Another filter, another sort, another listing.
        format!("/runs/?size=1&status=running&cursor={}", enc(&cursor)),
        format!(
            "/runs/?size=1&status=pending&order_by=id&cursor={}",
            enc(&cursor)
        ),
        format!("/processes/?cursor={}", enc(&cursor)),
        format!("/runs/?page=2&status=pending&cursor={}", enc(&cursor)),
    ] {
        assert_error(app.get(&bad).await, 400, "bad_request").await;
    }
    // size may change between pages; it is not part of what the cursor lists.
    get(
        &app,
        &format!("/runs/?size=2&status=pending&cursor={}", enc(&cursor)),
    )
    .await;
}
