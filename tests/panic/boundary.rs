use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpResponse, HttpServer, web};
use procdash_persistence::testing::TestDatabase;
use procdash_server::Settings;
use serde_json::Value;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn panics() -> HttpResponse {
    panic!("deliberate test panic in a handler");
}

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_millis(800)).await;
    HttpResponse::Ok().body("slow done")
}

async fn panicking_stream() -> HttpResponse {
    let chunks = futures_util::stream::iter([1, 2]).map(|i| {
        if i == 2 {
            panic!("deliberate test panic in a body");
        }
        Ok::<_, actix_web::Error>(web::Bytes::from_static(b"first chunk\n"))
    });
    HttpResponse::Ok().streaming(chunks)
}

use futures_util::StreamExt;

fn timed_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn assert_opaque_500(res: reqwest::Response) -> String {
    assert_eq!(res.status().as_u16(), 500);
    let header_id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = res.json().await.expect("standard error body");
    assert_eq!(body["status_code"], 500, "{body}");
    assert_eq!(body["error_type"], "internal_error", "{body}");
    assert_eq!(body["detail"], "Internal server error", "{body}");
    assert!(!body.to_string().contains("deliberate"), "{body}");
    let id = body["request_id"].as_str().expect("request id").to_owned();
    if let Some(header_id) = header_id {
        assert_eq!(header_id, id);
    }
    id
}

#[tokio::test]
async fn a_panic_answers_500_logs_its_cause_and_the_worker_keeps_serving() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let database = TestDatabase::create().await;
    let settings = Settings {
        database_url: database.url.clone(),
        port: 0,
        workers: 1,
        ..Settings::default()
    };
    // Only the state is used: the server `start` binds is never polled, so it serves nothing.
    let running = procdash_server::start(&settings, true)
        .await
        .expect("starts");
    let state = running.state.clone();
    let server = HttpServer::new(move || {
        procdash_api::app(state.clone())
            .service(procdash_api::guarded("/test/panic").route(web::get().to(panics)))
            .service(procdash_api::guarded("/test/slow").route(web::get().to(slow)))
            .service(
                procdash_api::guarded("/test/stream-panic").route(web::get().to(panicking_stream)),
            )
            // Outside any resource boundary: the outer boundary catches it.
            .route("/test/outer-panic", web::get().to(panics))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    let base = format!("http://{addr}");
    let client = timed_client();

    // A slow request in flight on the only worker while the panics happen.
    let slow_client = timed_client();
    let slow_url = format!("{base}/test/slow");
    let slow = tokio::spawn(async move { slow_client.get(slow_url).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let handler_id = assert_opaque_500(
        client
            .get(format!("{base}/test/panic"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let outer_id = assert_opaque_500(
        client
            .get(format!("{base}/test/outer-panic"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A body that panics after its first chunk ends that connection only; the status line may
    // or may not have left by then, but the response never looks complete.
    let streamed = client.get(format!("{base}/test/stream-panic")).send().await;
    if let Ok(res) = streamed {
        assert!(
            res.text().await.is_err(),
            "a broken body must not look complete"
        );
    }

    let slow = slow.await.unwrap().expect("the slow request completed");
    assert_eq!(slow.status().as_u16(), 200);
    assert_eq!(slow.text().await.unwrap(), "slow done");

    // Same worker, same client connection pool: still serving, many times over.
    for _ in 0..20 {
        let res = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
    }

    let text = log.text();
    for (id, what) in [(&handler_id, "handler"), (&outer_id, "outer")] {
        let line = text
            .lines()
            .find(|l| l.contains("panicked") && l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("no log line for the {what} panic in:\n{text}"));
        assert!(
            line.contains("deliberate test panic in a handler"),
            "{line}"
        );
        assert!(line.contains("backtrace"), "{line}");
        assert!(
            line.contains("tests/panic/boundary.rs"),
            "location missing: {line}"
        );
    }
    assert!(text.contains("deliberate test panic in a body"), "{text}");
    handle.stop(false).await;
}
