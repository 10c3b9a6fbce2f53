//! Metadata filters, metadata sort and failed_at on GET /runs/.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, id, spawn_app, step_run_ids};

async fn run_with_meta(app: &TestApp, process_id: i64, entity: &str, meta: Value) -> i64 {
    let body = json!({"process_id": process_id, "entity_id": entity, "meta": meta});
    let res = app.post("/runs/", &body).await;
    assert_eq!(res.status().as_u16(), 201);
    let run: Value = res.json().await.unwrap();
    id(&run)
}

/// Entity ids of the listed runs, in order, for a raw query string.
async fn entities(app: &TestApp, query: &str) -> Vec<String> {
    let res = app
        .client
        .get(format!("{}/api/v1/runs/?{query}", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entity_id"].as_str().unwrap().to_owned())
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn meta_filter_is_applied_not_ignored() {
    let app = spawn_app().await;
    let p = id(&app.create_process("clinics", 1).await);
    run_with_meta(&app, p, "a", json!({"clinic": "Aarhus"})).await;
    run_with_meta(&app, p, "v", json!({"clinic": "Viby"})).await;
    let got = entities(&app, &format!("process_id={p}&meta_filter=clinic:Viby")).await;
    assert_eq!(got, ["v"]);
    // Repeated values of one field are OR'ed; a field nobody has matches nothing.
    let mut both = entities(
        &app,
        &format!("process_id={p}&meta_filter=clinic:Viby&meta_filter=clinic:Aarhus"),
    )
    .await;
    both.sort();
    assert_eq!(both, ["a", "v"]);
    assert!(entities(&app, "meta_filter=city:Viby").await.is_empty());
}

#[tokio::test]
async fn fields_are_anded_values_compare_as_scalar_text() {
    let app = spawn_app().await;
    let p = id(&app.create_process("scalars", 1).await);
    run_with_meta(&app, p, "num", json!({"n": 5, "flag": true, "env": "prod"})).await;
    run_with_meta(
        &app,
        p,
        "str",
        json!({"n": "5", "flag": "true", "env": "test"}),
    )
    .await;
    run_with_meta(&app, p, "nul", json!({"x": null, "n": 6})).await;
    run_with_meta(
        &app,
        p,
        "obj",
        json!({"x": {"a": 1}, "arr": [5], "n": {"v": 5}}),
    )
    .await;
    run_with_meta(
        &app,
        p,
        "nest",
        json!({"address": {"city": "Aarhus", "zip": 8000}, "company": "Acme, Inc", "url": "http://x:80/a"}),
    )
    .await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(entities(&app, "meta_filter=n:5").await),
        ["num", "str"]
    );
    assert_eq!(
        sorted(entities(&app, "meta_filter=flag:true").await),
        ["num", "str"]
    );
    assert_eq!(
        entities(&app, "meta_filter=n:5&meta_filter=env:prod").await,
        ["num"]
    );
    assert_eq!(entities(&app, "meta_filter=x:null").await, ["nul"]);
    // Objects and arrays never match, whatever the value says.
    assert!(
        entities(&app, &format!("meta_filter={}", enc("x:{\"a\":1}")))
            .await
            .is_empty()
    );
    assert!(
        entities(&app, &format!("meta_filter={}", enc("arr:[5]")))
            .await
            .is_empty()
    );
    assert!(entities(&app, "meta_filter=arr:5").await.is_empty());
    assert_eq!(
        entities(&app, "meta_filter=address.city:Aarhus").await,
        ["nest"]
    );
    assert_eq!(
        entities(&app, "meta_filter=address.zip:8000").await,
        ["nest"]
    );
    assert!(
        entities(&app, "meta_filter=address:Aarhus")
            .await
            .is_empty()
    );
    assert_eq!(
        entities(
            &app,
            &format!("meta_filter={}", enc(" company :  Acme, Inc "))
        )
        .await,
        ["nest"]
    );
    assert_eq!(
        entities(&app, &format!("meta_filter={}", enc("url:http://x:80/a"))).await,
        ["nest"]
    );
    // The seed's run_status is accepted beside status.
    assert_eq!(
        entities(&app, "run_status=pending&meta_filter=n:6").await,
        ["nul"]
    );
}

#[tokio::test]
async fn hostile_field_names_and_values_are_bound_not_pasted() {
    let app = spawn_app().await;
    let p = id(&app.create_process("hostile", 1).await);
    let odd_key = "we'ird;--$[0] (x) æøå";
    run_with_meta(
        &app,
        p,
        "odd",
        json!({odd_key: "v'; DROP TABLE process_runs; --", "plain": "ok"}),
    )
    .await;
    run_with_meta(&app, p, "other", json!({"plain": "no"})).await;
    let exact = format!(
        "meta_filter={}",
        enc(&format!("{odd_key}:v'; DROP TABLE process_runs; --"))
    );
    assert_eq!(entities(&app, &exact).await, ["odd"]);
    for field in [
        "a'b",
        "a;b",
        "a--b",
        "$",
        "$.plain",
        "[0]",
        "plain[0]",
        "a\\b",
        "😀",
        "'; DROP TABLE x; --",
        "$$",
        "?",
        "@>",
    ] {
        let query = format!("meta_filter={}", enc(&format!("{field}:x")));
        let res = app
            .client
            .get(format!("{}/api/v1/runs/?{query}", app.base))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{field}: {body}");
        assert_eq!(body["total"], 0, "{field}: {body}");
    }
    for bad in ["a..b:x", ".a:x", "a.:x", "a\"b:x", "nocolon", ":x", "  :x"] {
        let res = app
            .client
            .get(format!(
                "{}/api/v1/runs/?meta_filter={}",
                app.base,
                enc(bad)
            ))
            .send()
            .await
            .unwrap();
        let body = assert_error(res, 400, "bad_request").await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("meta_filter"), "{bad}: {detail}");
    }
    // Everything is still there.
    assert_eq!(entities(&app, &format!("process_id={p}")).await.len(), 2);
}

#[tokio::test]
async fn order_by_meta_puts_missing_last_and_breaks_ties_by_id() {
    let app = spawn_app().await;
    let p = id(&app.create_process("sorting", 1).await);
    run_with_meta(&app, p, "p3", json!({"priority": 3})).await;
    run_with_meta(&app, p, "none", json!({})).await;
    run_with_meta(&app, p, "p1", json!({"priority": 1})).await;
    run_with_meta(&app, p, "p10", json!({"priority": 10})).await;
    run_with_meta(&app, p, "p3b", json!({"priority": 3})).await;
    let asc = entities(
        &app,
        &format!("process_id={p}&order_by=meta.priority&sort_direction=asc"),
    )
    .await;
    assert_eq!(asc, ["p1", "p3", "p3b", "p10", "none"]);
    let desc = entities(&app, &format!("process_id={p}&order_by=meta.priority")).await;
    assert_eq!(desc, ["p10", "p3b", "p3", "p1", "none"]);
    let res = app.get("/runs/?order_by=meta.").await;
    assert_error(res, 422, "validation_error").await;
    let res = app.get("/runs/?order_by=priority").await;
    let body = assert_error(res, 422, "validation_error").await;
    assert!(body["detail"].as_str().unwrap().contains("meta.<field>"));
}

#[tokio::test]
async fn failed_at_keeps_runs_whose_step_failed_once_each() {
    let app = spawn_app().await;
    let process = app.create_process("failures", 2).await;
    let p = id(&process);
    let step0 = process["steps"][0]["id"].as_i64().unwrap();
    let step1 = process["steps"][1]["id"].as_i64().unwrap();
    let a = app.create_run(p, "a", None).await;
    let b = app.create_run(p, "b", None).await;
    let c = app.create_run(p, "c", None).await;
    let (a_steps, b_steps, c_steps) = (step_run_ids(&a), step_run_ids(&b), step_run_ids(&c));
    app.set_step(a_steps[0], json!({"status": "failed"})).await;
    app.set_step(a_steps[1], json!({"status": "failed"})).await;
    app.set_step(b_steps[0], json!({"status": "success"})).await;
    app.set_step(c_steps[1], json!({"status": "failed"})).await;
    assert_eq!(entities(&app, &format!("failed_at={step0}")).await, ["a"]);
    let mut at1 = entities(&app, &format!("failed_at={step1}")).await;
    at1.sort();
    assert_eq!(at1, ["a", "c"]);
    let res = app.get("/runs/?failed_at=x").await;
    assert_error(res, 422, "validation_error").await;
}

#[tokio::test]
async fn unknown_parameters_are_refused_not_ignored() {
    let app = spawn_app().await;
    let res = app.get("/runs/?clinic=Viby").await;
    let body = assert_error(res, 422, "validation_error").await;
    assert!(
        body["detail"].as_str().unwrap().contains("clinic"),
        "{body}"
    );
}
