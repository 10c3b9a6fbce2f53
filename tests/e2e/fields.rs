use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, create_key, id, spawn_app};

async fn process_with_meta(app: &TestApp, meta: Value) -> i64 {
    let res = app
        .post("/processes/", &json!({"name": "Onboarding", "meta": meta}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    id(&res.json::<Value>().await.unwrap())
}

async fn run_with_meta(app: &TestApp, process_id: i64, meta: Value) -> i64 {
    let body = json!({"process_id": process_id, "entity_id": "E-1", "meta": meta});
    let res = app.post("/runs/", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    id(&res.json::<Value>().await.unwrap())
}

async fn fields(app: &TestApp, process_id: i64) -> Value {
    let res = app
        .get(&format!("/processes/{process_id}/searchable-fields"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn fields_as(app: &TestApp, key: &str, process_id: i64) -> Value {
    let res = app
        .anonymous
        .get(app.api(&format!("/processes/{process_id}/searchable-fields")))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn fields_combine_the_declared_schema_and_the_keys_of_live_runs() {
    let app = spawn_app().await;
    let schema = json!({"run_metadata_schema": {
        "department": {"type": "string", "description": "Owning department"},
        "sla_hours": "number",
    }});
    let p = process_with_meta(&app, schema).await;
    run_with_meta(
        &app,
        p,
        json!({"department": "Sales", "priority": 1, "vip": true, "tags": ["a"],
               "extra": {"x": 1}, "note": null, "code": 7}),
    )
    .await;
    run_with_meta(
        &app,
        p,
        json!({"department": "Marketing", "priority": 2.5, "vip": false, "note": "n", "code": "7"}),
    )
    .await;
    run_with_meta(&app, p, json!({"department": "Sales", "priority": 1})).await;
    let deleted = run_with_meta(&app, p, json!({"ghost": "boo"})).await;
    let res = app
        .client
        .delete(app.api(&format!("/runs/{deleted}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let body = fields(&app, p).await;
    assert_eq!(body["process_id"], p);
    assert_eq!(body["process_name"], "Onboarding");
    let standard = &body["searchable_fields"]["standard_fields"];
    let names: Vec<&String> = standard.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "created_at",
            "entity_id",
            "entity_name",
            "finished_at",
            "id",
            "started_at",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(standard["created_at"]["type"], "datetime");
    assert_eq!(
        standard["created_at"]["filters"],
        json!(["created_after", "created_before"])
    );
    assert_eq!(
        standard["finished_at"]["filters"],
        json!(["finished_after", "finished_before"])
    );
    assert_eq!(standard["status"]["filterable"], true);
    assert_eq!(standard["updated_at"]["sortable"], true);
    assert_eq!(standard["updated_at"]["filterable"], false);

    let meta = &body["searchable_fields"]["metadata_fields"];
    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "code",
            "department",
            "extra",
            "note",
            "priority",
            "sla_hours",
            "tags",
            "vip"
        ],
        "declared and observed keys of live runs only: {meta}"
    );
    assert_eq!(meta["department"]["type"], "string");
    assert_eq!(meta["department"]["declared"], true);
    assert_eq!(meta["department"]["description"], "Owning department");
    assert_eq!(meta["department"]["sort_key"], "meta.department");
    assert_eq!(meta["department"]["sortable"], true);
    assert_eq!(meta["department"]["filterable"], true);
    assert_eq!(meta["sla_hours"]["type"], "number");
    assert_eq!(meta["sla_hours"]["observed_types"], json!([]));
    assert_eq!(meta["priority"]["type"], "number");
    assert_eq!(meta["priority"]["declared"], false);
    assert_eq!(meta["vip"]["type"], "boolean");
    assert_eq!(meta["tags"]["type"], "array");
    assert_eq!(meta["tags"]["values"], "not_scalar");
    assert_eq!(meta["extra"]["type"], "object");
    assert_eq!(
        meta["note"]["type"], "string",
        "null alongside one type: {meta}"
    );
    assert_eq!(meta["note"]["observed_types"], json!(["null", "string"]));
    assert_eq!(meta["code"]["type"], "mixed");
    assert_eq!(meta["code"]["observed_types"], json!(["number", "string"]));

    assert_eq!(
        body["metadata_filters"],
        json!({
            "code": [7, "7"],
            "department": ["Marketing", "Sales"],
            "note": ["n"],
            "priority": [1, 2.5],
            "sla_hours": [],
            "vip": [false, true],
        })
    );
    let sortable = body["all_sortable_fields"].as_array().unwrap();
    assert!(sortable.contains(&json!("created_at")));
    assert!(sortable.contains(&json!("meta.priority")));
    assert!(!sortable.contains(&json!("meta.ghost")));
    let filterable = body["all_filterable_fields"].as_array().unwrap();
    assert!(filterable.contains(&json!("entity_id")));
    assert!(!filterable.contains(&json!("id")));
    assert!(filterable.contains(&json!("meta.vip")));
    assert_eq!(
        body["field_count"],
        json!({"standard": 8, "metadata": 8, "total": 16})
    );
    let help = &body["filtering_help"];
    assert!(
        help["meta_filter"]
            .as_str()
            .unwrap()
            .contains("meta_filter=<field>:<value>")
    );
    assert!(help["same_field"].as_str().unwrap().contains("OR"));
    assert!(help["different_fields"].as_str().unwrap().contains("AND"));
    assert!(
        help["sorting"]
            .as_str()
            .unwrap()
            .contains("order_by=meta.<field>")
    );

    let alias = app.get(&format!("/processes/{p}/filter-metadata")).await;
    assert_eq!(alias.status(), StatusCode::OK);
    assert_eq!(alias.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn a_process_without_runs_has_only_standard_fields() {
    let app = spawn_app().await;
    let p = process_with_meta(&app, json!({})).await;
    let body = fields(&app, p).await;
    assert_eq!(body["searchable_fields"]["metadata_fields"], json!({}));
    assert_eq!(body["metadata_filters"], json!({}));
    assert_eq!(
        body["field_count"],
        json!({"standard": 8, "metadata": 0, "total": 8})
    );
}

#[tokio::test]
async fn only_declared_fields_list_values_beyond_fifty() {
    let app = spawn_app().await;
    let p = process_with_meta(
        &app,
        json!({"run_metadata_schema": {"declared_ref": "string"}}),
    )
    .await;
    for i in 0..51 {
        let meta =
            json!({"ref": format!("R-{i:02}"), "declared_ref": format!("D-{i:02}"), "kind": "a"});
        run_with_meta(&app, p, meta).await;
    }
    let body = fields(&app, p).await;
    let meta = &body["searchable_fields"]["metadata_fields"];
    assert_eq!(meta["ref"]["values"], "too_many");
    assert_eq!(meta["declared_ref"]["values"], "truncated");
    assert_eq!(meta["kind"]["values"], "listed");
    let filters = body["metadata_filters"].as_object().unwrap();
    assert!(!filters.contains_key("ref"), "{filters:?}");
    assert_eq!(filters["declared_ref"].as_array().unwrap().len(), 50);
    assert_eq!(filters["kind"], json!(["a"]));
}

#[tokio::test]
async fn neutralized_runs_contribute_keys_but_no_values() {
    let app = spawn_app().await;
    let p = process_with_meta(&app, json!({})).await;
    run_with_meta(
        &app,
        p,
        json!({"department": "Sales", "email": "a@example.com"}),
    )
    .await;
    let gone = run_with_meta(
        &app,
        p,
        json!({"department": "Legal", "email": "b@example.com"}),
    )
    .await;
    let res = app
        .post(&format!("/runs/{gone}/neutralize"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = fields(&app, p).await;
    assert_eq!(
        body["metadata_filters"],
        json!({"department": ["Sales"], "email": ["a@example.com"]})
    );
    assert!(!body.to_string().contains("Legal"));
    assert!(!body.to_string().contains("b@example.com"));
}

#[tokio::test]
async fn user_keys_see_values_only_of_fields_neutralization_keeps() {
    let app = spawn_app().await;
    let p = process_with_meta(&app, json!({})).await;
    run_with_meta(
        &app,
        p,
        json!({"department": "Sales", "email": "jane@example.com", "region": "EMEA"}),
    )
    .await;
    let user = create_key(&app.db, "user", None).await;
    let body = fields_as(&app, &user, p).await;
    assert_eq!(
        body["metadata_filters"],
        json!({"department": ["Sales"], "region": ["EMEA"]})
    );
    let meta = &body["searchable_fields"]["metadata_fields"];
    assert_eq!(meta["email"]["values"], "hidden");
    assert_eq!(meta["email"]["type"], "string");
    assert!(!body.to_string().contains("jane@example.com"));
    // The admin sees everything; a process keep-list decides for user keys.
    let admin = fields(&app, p).await;
    assert_eq!(
        admin["metadata_filters"]["email"],
        json!(["jane@example.com"])
    );
    let q = process_with_meta(&app, json!({"neutralization_keep_fields": ["email"]})).await;
    run_with_meta(
        &app,
        q,
        json!({"department": "Sales", "email": "joe@example.com"}),
    )
    .await;
    let body = fields_as(&app, &user, q).await;
    assert_eq!(
        body["metadata_filters"],
        json!({"email": ["joe@example.com"]})
    );
}

#[tokio::test]
async fn missing_or_deleted_processes_are_404() {
    let app = spawn_app().await;
    let p = process_with_meta(&app, json!({})).await;
    for route in ["searchable-fields", "filter-metadata"] {
        assert_error(
            app.get(&format!("/processes/9999/{route}")).await,
            404,
            "not_found",
        )
        .await;
        assert_error(
            app.get(&format!("/processes/abc/{route}")).await,
            422,
            "validation_error",
        )
        .await;
        let anonymous = app
            .anonymous
            .get(app.api(&format!("/processes/{p}/{route}")))
            .send()
            .await
            .unwrap();
        assert_error(anonymous, 401, "unauthorized").await;
    }
    let res = app
        .client
        .delete(app.api(&format!("/processes/{p}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for route in ["searchable-fields", "filter-metadata"] {
        let body = assert_error(
            app.get(&format!("/processes/{p}/{route}")).await,
            404,
            "not_found",
        )
        .await;
        assert_eq!(body["detail"], format!("Process {p} not found"));
    }
}
