use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::spawn_app;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

/// The served OpenAPI document.
pub async fn spec(app: &crate::helpers::TestApp) -> Value {
    app.client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// The served document equals the committed snapshot: API changes are deliberate. Run with
/// UPDATE_OPENAPI_SNAPSHOT=1 to rewrite it.
#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let pretty = serde_json::to_string_pretty(&spec).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI_SNAPSHOT").is_ok() {
        std::fs::write(SNAPSHOT, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json exists");
    assert_eq!(
        committed, pretty,
        "OpenAPI changed: review it and rerun with UPDATE_OPENAPI_SNAPSHOT=1"
    );
}

/// Every route the app serves is documented, and every documented operation is served.
#[tokio::test]
async fn every_route_is_documented_and_every_operation_served() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let documented = operations(&spec);
    let mut served: BTreeSet<(String, String)> = procdash_api::routes::api_routes()
        .entries
        .iter()
        .map(|(m, p, _)| (m.to_string(), format!("/api/v1{p}")))
        .collect();
    served.insert(("GET".into(), "/health".into()));
    served.insert(("GET".into(), "/".into()));
    assert_eq!(served, documented);
    for (method, path) in &documented {
        let concrete = path
            .replace("{process_id}", "1")
            .replace("{run_id}", "1")
            .replace("{step_run_id}", "1")
            .replace("{step_id}", "1");
        let req = app
            .client
            .request(method.parse().unwrap(), app.url(&concrete));
        let res = req
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        // An event stream never ends: its status is the answer.
        let streaming = res
            .headers()
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
        let body: Value = if streaming {
            Value::Null
        } else {
            res.json().await.unwrap_or(Value::Null)
        };
        assert!(
            status != 405
                && !(status == 404
                    && body["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("No route"))),
            "{method} {path} is not served: {status}"
        );
    }
}

#[tokio::test]
async fn every_operation_documents_its_errors_with_the_error_body() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} has no description"
            );
            for (code, response) in op["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {code}"
                );
                if code.starts_with('4') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
            }
            check_error_set(path, method, op);
        }
    }
}

/// The statuses an operation can return, from what it takes: every route is rate limited and
/// behind the panic boundary; a credential adds 401 and 503; an admin scope 403; a JSON body
/// 400, 413, 415 and 422; any parameter 422; a path parameter 404.
fn check_error_set(path: &str, method: &str, op: &Value) {
    let responses = op["responses"].as_object().unwrap();
    let mut expected = vec!["429", "500"];
    let security = op["security"].as_array().cloned().unwrap_or_default();
    if !security.is_empty() {
        expected.extend(["401", "503"]);
    }
    if security.iter().any(|s| s.to_string().contains("admin")) {
        expected.push("403");
    }
    let body = &op["requestBody"]["content"];
    if body.get("application/json").is_some() {
        expected.extend(["400", "413", "415", "422"]);
    }
    if body.get("multipart/form-data").is_some() {
        expected.extend(["400", "413", "415", "422"]);
    }
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    if !params.is_empty() {
        expected.push("422");
    }
    if params.iter().any(|p| p["in"] == "path") {
        expected.push("404");
    }
    for code in expected {
        assert!(
            responses.contains_key(code),
            "{method} {path} does not document {code}"
        );
    }
    for (code, response) in responses {
        if code.starts_with('5') && !path.ends_with("/health") {
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(
                schema, "#/components/schemas/ErrorBody",
                "{method} {path} {code}"
            );
        }
    }
}

/// Every page parameter states the bounds the server enforces, so clients and fuzzers know them.
#[tokio::test]
async fn page_parameters_document_their_bounds() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let schema = &p["schema"];
                match p["name"].as_str() {
                    Some("page") => {
                        seen += 1;
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert_eq!(
                            schema["maximum"],
                            procdash_domain::page::MAX_PAGE,
                            "{method} {path}"
                        );
                    }
                    Some("size") => {
                        assert_eq!(schema["minimum"], 1, "{method} {path}");
                        assert!(schema["maximum"].is_number(), "{method} {path}");
                    }
                    _ => {}
                }
            }
            for (code, response) in op["responses"].as_object().unwrap() {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if media.starts_with("application/json") || media.starts_with("text/") {
                        continue;
                    }
                    let schema = resolve(&spec, &content["schema"]);
                    assert_eq!(schema["type"], "string", "{method} {path} {code} {media}");
                    assert_eq!(schema["format"], "binary", "{method} {path} {code} {media}");
                }
            }
        }
    }
    assert!(seen >= 9, "only {seen} page parameters documented");
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The web dashboard's session cookie is a documented credential, for reads only.
#[tokio::test]
async fn the_session_cookie_is_a_security_scheme_for_reads_only() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let scheme = &spec["components"]["securitySchemes"]["session"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "cookie");
    assert_eq!(scheme["name"], "procdash_session");
    let mut reads = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(security) = op["security"].as_array() else {
                continue;
            };
            let key = security.iter().find_map(|r| r.get("api_key"));
            let session = security.iter().find_map(|r| r.get("session"));
            if method == "get" && key.is_some() {
                reads += 1;
                assert_eq!(session, key, "GET {path}: the same scopes as the key");
            } else {
                assert!(
                    session.is_none(),
                    "{method} {path} does not take the cookie"
                );
            }
        }
    }
    assert!(reads > 30, "{reads}");
}

/// A parameter that takes the name of a fixed sibling route reaches that route, which answers
/// 405 to a method it lacks; the shadowed operation documents it.
#[tokio::test]
async fn a_fixed_sibling_route_answers_405_and_the_shadowed_operation_documents_it() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/runs/bulk"),
        (reqwest::Method::GET, "/runs/bulk"),
        (reqwest::Method::PATCH, "/step-runs/bulk"),
    ] {
        let res = app
            .client
            .request(method.clone(), app.api(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
    }
    let spec = spec(&app).await;
    for (method, path) in [
        ("delete", "/api/v1/runs/{run_id}"),
        ("get", "/api/v1/runs/{run_id}"),
        ("patch", "/api/v1/step-runs/{step_run_id}"),
    ] {
        let doc = &spec["paths"][path][method]["responses"]["405"];
        assert!(
            doc["description"].as_str().unwrap().contains("fixed route"),
            "{method} {path}"
        );
    }
    // A path without a fixed sibling documents no 405.
    assert!(spec["paths"]["/api/v1/processes/{process_id}"]["get"]["responses"]["405"].is_null());
}
