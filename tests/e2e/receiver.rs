//! A local HTTP receiver on port 0 for outbound tests: it records every request and answers
//! with a scripted list of statuses (then 200).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// A scripted answer: status and optional Retry-After.
pub type Answer = (u16, Option<&'static str>);

#[derive(Default)]
struct Shared {
    script: Vec<Answer>,
    received: Vec<Received>,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// Starts a receiver answering `script` in order, then 200.
    pub async fn start(script: Vec<Answer>) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            script,
            received: Vec::new(),
        }));
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(handle))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("receiver binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            shared,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().expect("lock").received.clone()
    }

    /// Waits until at least `n` requests arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} requests arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
) -> HttpResponse {
    let mut s = shared.lock().expect("lock");
    s.received.push(Received {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: body.to_vec(),
        at: Instant::now(),
    });
    let (status, retry_after) = if s.script.is_empty() {
        (200, None)
    } else {
        s.script.remove(0)
    };
    let mut res =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"));
    if let Some(after) = retry_after {
        res.insert_header(("Retry-After", after));
    }
    res.body("{}")
}
