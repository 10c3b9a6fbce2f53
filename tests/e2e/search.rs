//! GET /runs/search: substring search with match annotations.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, spawn_with};

async fn run_with(
    app: &TestApp,
    process_id: i64,
    entity: &str,
    name: Option<&str>,
    meta: Value,
) -> i64 {
    let body =
        json!({"process_id": process_id, "entity_id": entity, "entity_name": name, "meta": meta});
    let res = app.post("/runs/", &body).await;
    assert_eq!(res.status().as_u16(), 201);
    id(&res.json::<Value>().await.unwrap())
}

async fn search(app: &TestApp, query: &str) -> Value {
    let res = app
        .client
        .get(format!("{}/api/v1/runs/search?{query}", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert!(res.headers().get("link").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn hits(body: &Value) -> Vec<(String, Vec<(String, Value)>)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let matches = h["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["field"].as_str().unwrap().to_owned(), m["value"].clone()))
                .collect();
            (h["run"]["entity_id"].as_str().unwrap().to_owned(), matches)
        })
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn finds_substrings_of_entity_fields_and_status_newest_first() {
    let app = spawn_app().await;
    let p = id(&app.create_process("search", 1).await);
    run_with(&app, p, "CUST-001", Some("Acme Corporation"), json!({})).await;
    run_with(&app, p, "cust-002", Some("Globex"), json!({"note": "acme"})).await;
    run_with(&app, p, "X-3", Some("ACME Ltd"), json!({})).await;
    let body = search(&app, "q=acme").await;
    assert_eq!(body["total"], 2);
    assert_eq!(
        hits(&body),
        vec![
            (
                "X-3".to_owned(),
                vec![("entity_name".to_owned(), json!("ACME Ltd"))]
            ),
            (
                "CUST-001".to_owned(),
                vec![("entity_name".to_owned(), json!("Acme Corporation"))]
            ),
        ]
    );
    let body = search(&app, "q=Cust-00").await;
    assert_eq!(body["total"], 2);
    let body = search(&app, "q=pend").await;
    assert_eq!(body["total"], 3);
    assert_eq!(
        hits(&body)[0].1,
        vec![("status".to_owned(), json!("pending"))]
    );
    let body = search(&app, "q=acme&size=1&page=2").await;
    assert_eq!(hits(&body)[0].0, "CUST-001");
    assert_eq!(body["pages"], 2);
}

#[tokio::test]
async fn wildcards_are_literal() {
    let app = spawn_app().await;
    let p = id(&app.create_process("wild", 1).await);
    run_with(&app, p, "a%b", None, json!({})).await;
    run_with(&app, p, "a_b", None, json!({})).await;
    run_with(&app, p, "a\\b", None, json!({})).await;
    run_with(&app, p, "axb", None, json!({})).await;
    for (q, expected) in [
        ("%", "a%b"),
        ("_", "a_b"),
        ("\\", "a\\b"),
        ("a%b", "a%b"),
        ("a_b", "a_b"),
    ] {
        let body = search(&app, &format!("q={}", enc(q))).await;
        let found: Vec<String> = hits(&body).into_iter().map(|h| h.0).collect();
        assert_eq!(found, [expected], "q={q}");
    }
}

#[tokio::test]
async fn process_search_covers_declared_or_all_scalar_metadata() {
    let app = spawn_app().await;
    let declared = app
        .post(
            "/processes/",
            &json!({"name": "declared", "meta": {"run_metadata_schema": {"clinic": "string", "code": "number"}}, "steps": [{"index": 0, "name": "s"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let d = id(&declared);
    run_with(
        &app,
        d,
        "d1",
        None,
        json!({"clinic": "Viby", "secret": "Viby", "code": 12345}),
    )
    .await;
    let body = search(&app, &format!("q=viby&process_id={d}")).await;
    assert_eq!(
        hits(&body),
        vec![(
            "d1".to_owned(),
            vec![("meta.clinic".to_owned(), json!("Viby"))]
        )]
    );
    // Numbers stay numbers in the annotation.
    let body = search(&app, &format!("q=234&process_id={d}")).await;
    assert_eq!(
        hits(&body),
        vec![(
            "d1".to_owned(),
            vec![("meta.code".to_owned(), json!(12345))]
        )]
    );
    // The undeclared key is not searched.
    let body = search(&app, &format!("q=viby&process_id={d}")).await;
    assert_eq!(body["items"][0]["matches"].as_array().unwrap().len(), 1);

    let open = id(&app.create_process("open", 1).await);
    run_with(
        &app,
        open,
        "o1",
        None,
        json!({"city": "Aarhus", "flag": true, "nested": {"city": "Aarhus"}}),
    )
    .await;
    let body = search(&app, &format!("q=aarhus&process_id={open}")).await;
    assert_eq!(
        hits(&body),
        vec![(
            "o1".to_owned(),
            vec![("meta.city".to_owned(), json!("Aarhus"))]
        )]
    );
    let body = search(&app, &format!("q=tru&process_id={open}")).await;
    assert_eq!(
        hits(&body)[0].1,
        vec![("meta.flag".to_owned(), json!(true))]
    );
    // Without process_id, metadata is not searched by default.
    assert_eq!(search(&app, "q=aarhus").await["total"], 0);
    assert_error(
        app.get("/runs/search?q=x&process_id=99999").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn q_is_bounded_and_required() {
    let app = spawn_app().await;
    for query in [
        "",
        "q=",
        "q=%20%20",
        &format!("q={}", "x".repeat(201)),
        "q=a&what=1",
    ] {
        let res = app.get(&format!("/runs/search?{query}")).await;
        assert_error(res, 422, "validation_error").await;
    }
    search(&app, &format!("q={}", "x".repeat(200))).await;
}

async fn neutralized_runs_match_only_on_what_was_kept(app: &TestApp) {
    let p = id(&app.create_process("gdpr", 1).await);
    let run = run_with(
        app,
        p,
        "PERSON-1",
        Some("Jane Doe"),
        json!({"department": "Sales", "email": "jane@example.com"}),
    )
    .await;
    let res = app
        .post(&format!("/runs/{run}/neutralize"), &json!({}))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    for q in ["jane", "PERSON-1", "example.com"] {
        let body = search(app, &format!("q={}&process_id={p}", enc(q))).await;
        assert_eq!(body["total"], 0, "{q}");
        let body = search(app, &format!("q={}", enc(q))).await;
        assert_eq!(body["total"], 0, "{q}");
    }
    let body = search(app, &format!("q=sales&process_id={p}")).await;
    assert_eq!(
        hits(&body)[0].1,
        vec![("meta.department".to_owned(), json!("Sales"))]
    );
}

#[tokio::test]
async fn neutralized_runs_are_found_only_by_kept_fields() {
    let app = spawn_app().await;
    neutralized_runs_match_only_on_what_was_kept(&app).await;
}

#[tokio::test]
async fn search_all_meta_reaches_every_process_when_enabled() {
    let app = spawn_with(|s| s.search_all_meta = true).await;
    let a = id(&app.create_process("a", 1).await);
    let b = id(&app.create_process("b", 1).await);
    run_with(&app, a, "a1", None, json!({"city": "Aarhus"})).await;
    run_with(&app, b, "b1", None, json!({"town": "aarhus C", "n": 7})).await;
    run_with(&app, b, "b2", None, json!({"town": "Odense"})).await;
    let body = search(&app, "q=aarhus").await;
    let mut found: Vec<String> = hits(&body).into_iter().map(|h| h.0).collect();
    found.sort();
    assert_eq!(found, ["a1", "b1"]);
    // Short texts (under the trigram length) are found too.
    let body = search(&app, "q=7").await;
    assert_eq!(
        hits(&body),
        vec![("b1".to_owned(), vec![("meta.n".to_owned(), json!(7))])]
    );
    neutralized_runs_match_only_on_what_was_kept(&app).await;
}
