//! The web dashboard in a real browser: Debian's chromium driven over WebDriver (fantoccini).
//! Built only with `--features browser` (see .ci/run); chromedriver is started on a free port
//! unless WEBDRIVER_URL names a running one. axe-core (vendored beside this file, injected by the
//! test only) must find no serious or critical accessibility violation on any page, and each
//! page's screenshot is written to docs/ui/.

#![cfg(feature = "browser")]
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "../e2e/helpers.rs"]
#[expect(
    dead_code,
    reason = "shared with the e2e suite; not every helper is used here"
)]
mod helpers;
#[path = "../e2e/receiver.rs"]
#[expect(
    dead_code,
    reason = "shared with the e2e suite; not every helper is used here"
)]
mod receiver;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use helpers::{TestApp, create_key, id, spawn_app, step_run_ids};

const AXE: &str = include_str!("vendor/axe.min.js");

/// A chromedriver this test started, stopped when dropped.
struct Driver {
    child: Option<Child>,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn driver() -> Driver {
    if let Ok(url) = std::env::var("WEBDRIVER_URL") {
        return Driver { child: None, url };
    }
    let port = free_port();
    let child = Command::new(std::env::var("CHROMEDRIVER").unwrap_or("chromedriver".into()))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium-driver)");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver {
        child: Some(child),
        url,
    }
}

struct Browser {
    client: Client,
    _driver: Driver,
}

async fn browser() -> Browser {
    let driver = driver().await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en-US"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("webdriver session");
    Browser {
        client,
        _driver: driver,
    }
}

impl Browser {
    async fn sign_in(&self, app: &TestApp, key: &str) {
        self.client.goto(&app.url("/ui/login")).await.unwrap();
        self.client
            .find(Locator::Id("api_key"))
            .await
            .unwrap()
            .send_keys(key)
            .await
            .unwrap();
        self.client
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_for("#who").await;
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Clicks the element `css` names. The live refresh replaces table rows while the test
    /// works, so a row found a moment ago can be gone (stale); the element is found again.
    async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            let found = self.wait_for(css).await;
            match found.click().await {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && started.elapsed() < Duration::from_secs(10) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("click on {css}: {e}"),
            }
        }
    }

    /// Polls a script until it returns true.
    async fn until(&self, what: &str, within: Duration, script: &str) -> Duration {
        let started = Instant::now();
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            if v == Value::Bool(true) {
                return started.elapsed();
            }
            assert!(started.elapsed() < within, "{what}: not within {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// axe-core on the current page: no serious or critical violation.
    async fn accessible(&self, name: &str) {
        self.client
            .execute(&format!("{AXE}\n;return true;"), vec![])
            .await
            .unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(found, json!([]), "{name}: accessibility violations");
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ui");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// A process with runs in each outcome: two completed, one failed, one running.
async fn seeded(app: &TestApp) -> (i64, Vec<Value>) {
    let process = app.create_process("invoice approval", 3).await;
    let pid = id(&process);
    let mut runs = Vec::new();
    for (entity, outcome) in [
        ("INV-1001", "completed"),
        ("INV-1002", "completed"),
        ("INV-1003", "failed"),
        ("INV-1004", "running"),
    ] {
        let run = app.create_run(pid, entity, Some("Acme")).await;
        let steps = step_run_ids(&run);
        match outcome {
            "completed" => {
                for s in &steps {
                    app.set_step(*s, json!({"status": "running"})).await;
                    app.set_step(*s, json!({"status": "success"})).await;
                }
            }
            "failed" => {
                app.set_step(steps[0], json!({"status": "running"})).await;
                app.set_step(steps[0], json!({"status": "success"})).await;
                app.set_step(steps[1], json!({"status": "running"})).await;
                app.set_step(
                    steps[1],
                    json!({"status": "failed", "failure": {"code": "E42", "message": "ledger locked"}}),
                )
                .await;
            }
            _ => {
                app.set_step(steps[0], json!({"status": "running"})).await;
            }
        }
        runs.push(app.run(id(&run)).await);
    }
    let other = app.create_process("onboarding", 2).await;
    app.create_run(id(&other), "EMP-7", None).await;
    (pid, runs)
}

#[tokio::test]
async fn sign_in_as_user_and_admin_shows_what_each_role_may_do_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let (_, runs) = seeded(&app).await;
    let run_id = id(&runs[0]);
    let b = browser().await;
    b.client.goto(&app.url("/ui/")).await.unwrap();
    b.wait_for("#login-form").await;
    b.accessible("sign-in").await;
    b.screenshot("sign-in").await;

    let user = create_key(&app.db, "user", None).await;
    b.sign_in(&app, &user).await;
    assert!(b.text("#who").await.contains("(user)"));
    b.client
        .goto(&app.url(&format!("/ui/runs/{run_id}")))
        .await
        .unwrap();
    b.wait_for("#timeline .tl-row").await;
    assert!(b.client.find(Locator::Id("delete-run")).await.is_err());

    b.click("#sign-out").await;
    b.wait_for("#login-form").await;
    b.client.goto(&app.url("/ui/")).await.unwrap();
    b.wait_for("#login-form").await;

    b.sign_in(&app, &app.admin_key).await;
    assert!(b.text("#who").await.contains("(admin)"));
    b.client
        .goto(&app.url(&format!("/ui/runs/{run_id}")))
        .await
        .unwrap();
    b.wait_for("#delete-run").await;
    b.wait_for("#neutralize-run").await;
    b.close().await;
}

#[tokio::test]
async fn the_process_list_shows_the_right_counts_and_updates_live() {
    let app = spawn_app().await;
    let (pid, runs) = seeded(&app).await;
    let b = browser().await;
    b.sign_in(&app, &app.admin_key).await;
    let row = format!("#processes tr[data-process='{pid}']");
    b.wait_for(&row).await;
    let cells: Vec<String> = b
        .client
        .execute(
            &format!("return Array.from(document.querySelectorAll(\"{row} td\")).map(c => c.textContent.trim());"),
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Process, total, pending, running, completed, failed, cancelled, success rate, 24 h runs,
    // 24 h failures, health.
    assert_eq!(cells[0], "invoice approval");
    assert_eq!(&cells[1..7], ["4", "0", "1", "2", "1", "0"]);
    assert_eq!(cells[7], "66.7 %");
    assert_eq!(cells[9], "1");
    let first = b
        .client
        .execute(
            "return document.querySelector('#processes tbody tr td').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first, json!("invoice approval"), "most failures first");
    b.accessible("processes").await;
    b.screenshot("processes").await;

    // The running run fails: the counts change without a reload.
    let running = step_run_ids(&runs[3]);
    app.set_step(running[0], json!({"status": "failed"})).await;
    let took = b
        .until(
            "failed count 2",
            Duration::from_secs(2),
            &format!("const c = document.querySelectorAll(\"{row} td\"); return c.length > 5 && c[5].textContent === '2';"),
        )
        .await;
    eprintln!("process list updated {took:?} after the change");
    b.close().await;
}

#[tokio::test]
async fn a_step_run_patch_through_the_api_updates_an_open_run_page_live() {
    let app = spawn_app().await;
    let (_, runs) = seeded(&app).await;
    let run = &runs[3];
    let b = browser().await;
    b.sign_in(&app, &app.admin_key).await;
    b.client
        .goto(&app.url(&format!("/ui/runs/{}", id(run))))
        .await
        .unwrap();
    let steps = step_run_ids(run);
    b.wait_for(&format!(
        "#timeline .tl-row[data-step-run='{}'][data-status='running']",
        steps[0]
    ))
    .await;
    b.accessible("run").await;
    b.screenshot("run").await;
    b.until(
        "the page on the live feed",
        Duration::from_secs(5),
        "return document.body.dataset.live === 'feed';",
    )
    .await;
    app.set_step(steps[0], json!({"status": "success"})).await;
    app.set_step(steps[1], json!({"status": "running"})).await;
    let took = b
        .until(
            "step 2 running on the page",
            Duration::from_secs(2),
            &format!(
                "const r = document.querySelector(\"#timeline .tl-row[data-step-run='{}']\");
                 return !!r && r.dataset.status === 'running';",
                steps[1]
            ),
        )
        .await;
    eprintln!("run page updated {took:?} after the PATCH");
    b.close().await;
}

#[tokio::test]
async fn filters_and_search_narrow_the_run_list() {
    let app = spawn_app().await;
    let (pid, _) = seeded(&app).await;
    let b = browser().await;
    b.sign_in(&app, &app.admin_key).await;
    b.client
        .goto(&app.url(&format!("/ui/processes/{pid}")))
        .await
        .unwrap();
    let count = "return document.querySelectorAll('#runs tbody tr').length;";
    b.until(
        "four runs",
        Duration::from_secs(5),
        &format!("{} === 4", count.trim_end_matches(';')),
    )
    .await;
    b.wait_for("#chart-runs canvas").await;
    b.accessible("process").await;
    b.screenshot("process").await;

    b.client
        .execute(
            "document.getElementById('f-status').value = 'failed';",
            vec![],
        )
        .await
        .unwrap();
    b.click("#run-filters button[type=submit]").await;
    b.until(
        "only the failed run",
        Duration::from_secs(5),
        "const r = document.querySelectorAll('#runs tbody tr'); return r.length === 1 && r[0].textContent.includes('INV-1003');",
    )
    .await;

    b.click("#run-filters button[type=reset]").await;
    b.wait_for("#f-q")
        .await
        .send_keys("INV-1002")
        .await
        .unwrap();
    b.click("#run-filters button[type=submit]").await;
    b.until(
        "only the searched run",
        Duration::from_secs(5),
        "const r = document.querySelectorAll('#runs tbody tr'); return r.length === 1 && r[0].textContent.includes('INV-1002');",
    )
    .await;

    b.client
        .goto(&app.url("/ui/entities/INV-1003"))
        .await
        .unwrap();
    b.wait_for("#journey tbody tr").await;
    b.accessible("entity").await;
    b.screenshot("entity").await;
    b.close().await;
}

#[tokio::test]
async fn the_csrf_check_rejects_a_forged_form() {
    let app = spawn_app().await;
    let (_, runs) = seeded(&app).await;
    let run_id = id(&runs[0]);
    let b = browser().await;
    b.sign_in(&app, &app.admin_key).await;
    b.client
        .goto(&app.url(&format!("/ui/runs/{run_id}")))
        .await
        .unwrap();
    b.wait_for("#delete-run").await;
    // A form as another site would post it: same action, no valid token.
    b.client
        .execute(
            &format!(
                "const f = document.createElement('form'); f.method = 'post';
                 f.action = '/ui/runs/{run_id}/delete';
                 const i = document.createElement('input'); i.type = 'hidden'; i.name = 'csrf';
                 i.value = 'forged'; f.append(i); document.body.append(f); f.submit();"
            ),
            vec![],
        )
        .await
        .unwrap();
    b.until(
        "forbidden page",
        Duration::from_secs(5),
        "return document.body.textContent.includes('CSRF check failed');",
    )
    .await;
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 200);

    // The real button, confirmed, deletes.
    b.client
        .goto(&app.url(&format!("/ui/runs/{run_id}")))
        .await
        .unwrap();
    b.click("#delete-run").await;
    b.client.accept_alert().await.unwrap();
    b.wait_for("#restore-run").await;
    assert_eq!(app.get(&format!("/runs/{run_id}")).await.status(), 404);
    b.close().await;
}

#[tokio::test]
async fn the_rerun_button_creates_an_attempt_shown_with_its_dispatch() {
    let app = helpers::spawn_with(|s| {
        s.outbound_allowed_hosts = "127.0.0.1".into();
        s.dispatch_poll_millis = 20;
    })
    .await;
    let target = receiver::Receiver::start(vec![]).await;
    let body = json!({"name": "nightly load", "steps": [
        {"index": 0, "name": "extract"},
        {"index": 1, "name": "load", "is_rerunnable": true,
         "rerun_config": {"api_endpoint": target.url("/rerun")}},
    ]});
    let process: Value = app.post("/processes/", &body).await.json().await.unwrap();
    let run = app.create_run(id(&process), "BATCH-9", None).await;
    let steps = step_run_ids(&run);
    app.set_step(steps[0], json!({"status": "success"})).await;
    app.set_step(
        steps[1],
        json!({"status": "failed", "failure": {"code": "TIMEOUT"}}),
    )
    .await;

    let b = browser().await;
    b.sign_in(&app, &app.admin_key).await;
    b.client
        .goto(&app.url(&format!("/ui/runs/{}", id(&run))))
        .await
        .unwrap();
    b.click(&format!("button[data-rerun='{}']", steps[1])).await;
    b.client.accept_alert().await.unwrap();
    b.until(
        "the second attempt on the timeline",
        Duration::from_secs(5),
        "return !!document.querySelector(\"#timeline .tl-row[data-attempt='2']\");",
    )
    .await;
    let attempts: Value = app
        .get(&format!("/step-runs/{}/attempts", steps[1]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attempts.as_array().unwrap().len(), 2);
    b.until(
        "the dispatch of the attempt",
        Duration::from_secs(5),
        "return document.querySelector('#attempts tbody').textContent.includes('via');",
    )
    .await;
    b.accessible("run with a rerun").await;
    b.screenshot("run-rerun").await;
    b.close().await;
}
