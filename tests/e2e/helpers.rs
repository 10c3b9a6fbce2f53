use actix_web::dev::ServerHandle;
use procdash_persistence::DatabaseConnection;
use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// A running server with its own database.
pub struct TestApp {
    pub base: String,
    /// Sends the admin key on every request.
    pub client: reqwest::Client,
    /// Sends no credential.
    pub anonymous: reqwest::Client,
    pub admin_key: String,
    pub db: DatabaseConnection,
    /// The database URL, for a second instance on the same database.
    pub database_url: String,
    /// How often this instance ran each coordinated job.
    pub job_counts: std::sync::Arc<procdash_server::jobs::JobCounts>,
    handle: ServerHandle,
    dispatcher: tokio::task::AbortHandle,
    /// Owned by the first instance only; peers share it.
    _database: Option<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    let mut app = start_on(&url, adjust, None).await;
    app._database = Some(database);
    app
}

/// Another instance on the same database as `first` (several instances behind one load
/// balancer), with the same admin key.
pub async fn spawn_peer(first: &TestApp, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    start_on(&first.database_url, adjust, Some(first.admin_key.clone())).await
}

async fn start_on(
    database_url: &str,
    adjust: impl FnOnce(&mut Settings),
    admin_key: Option<String>,
) -> TestApp {
    let mut settings = Settings {
        database_url: database_url.to_owned(),
        port: 0,
        workers: 2,
        database_max_connections: 8,
        shutdown_timeout_seconds: 1,
        ..Settings::default()
    };
    adjust(&mut settings);
    // Peers must not migrate concurrently with a running first instance; it already did.
    let running = procdash_server::start(&settings, admin_key.is_none())
        .await
        .expect("server starts");
    let handle = running.handle.clone();
    let dispatcher = running.dispatcher.clone();
    tokio::spawn(running.server);
    let admin_key = match admin_key {
        Some(k) => k,
        None => create_key(&running.db, "admin", None).await,
    };
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", admin_key.parse().expect("header value"));
    TestApp {
        base: format!("http://{}", running.addr),
        client: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client"),
        anonymous: reqwest::Client::new(),
        admin_key,
        db: running.db,
        database_url: database_url.to_owned(),
        job_counts: running.job_counts.clone(),
        handle,
        dispatcher,
        _database: None,
    }
}

/// Creates a key directly in the database and returns its plaintext.
pub async fn create_key(
    db: &DatabaseConnection,
    role: &str,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let new =
        procdash_domain::api_key::NewApiKey::new(&format!("{role} key"), None, role, expires_at)
            .expect("valid key");
    let (_, plaintext) = procdash_persistence::repo::api_keys::create(
        db,
        &procdash_persistence::Actor::system("test"),
        new,
    )
    .await
    .expect("key created");
    plaintext
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting work; the database guard drops (and removes the database) after this.
        let handle = self.handle.clone();
        drop(handle.stop(false));
        self.dispatcher.abort();
    }
}

impl TestApp {
    /// Stops this instance's outbox dispatcher (as if it had stopped).
    pub fn abort_dispatcher(&self) {
        self.dispatcher.abort();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.api(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.api(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.api(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a process with steps named s0..sN at indexes 0..N.
    pub async fn create_process(&self, name: &str, steps: usize) -> Value {
        let steps: Vec<Value> = (0..steps)
            .map(|i| json!({"index": i, "name": format!("s{i}")}))
            .collect();
        let res = self
            .post("/processes/", &json!({"name": name, "steps": steps}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    pub async fn create_run(
        &self,
        process_id: i64,
        entity_id: &str,
        entity_name: Option<&str>,
    ) -> Value {
        let body =
            json!({"process_id": process_id, "entity_id": entity_id, "entity_name": entity_name});
        let res = self.post("/runs/", &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    pub async fn set_step(&self, step_run_id: i64, body: Value) -> Value {
        let res = self
            .patch(&format!("/step-runs/{step_run_id}"), &body)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    pub async fn run(&self, run_id: i64) -> Value {
        let res = self.get(&format!("/runs/{run_id}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }
}

/// Asserts the standard error body and returns it.
pub async fn assert_error(res: Response, status: u16, error_type: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let request_id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: Value = res.json().await.expect("error body is json");
    assert_eq!(body["status_code"], status, "{body}");
    assert_eq!(body["error_type"], error_type, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(body["timestamp"].as_str().is_some(), "{body}");
    assert_eq!(
        body["request_id"].as_str().map(str::to_owned),
        request_id,
        "{body}"
    );
    body
}

pub fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

pub fn step_run_ids(run: &Value) -> Vec<i64> {
    run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(id)
        .collect()
}
