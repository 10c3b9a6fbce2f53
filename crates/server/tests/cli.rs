//! The `procdash` binary: key bootstrap from the CLI, and no secret in its output or logs.
#![cfg(test)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn procdash(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_procdash"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL", format!("sqlite://{}/cli.db", dir.display()))
        .env("LOG_LEVEL", "trace");
    cmd
}

fn get(port: u16, path: &str, key: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn api_key_cli_creates_lists_and_revokes_and_no_log_line_shows_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = procdash(dir.path())
        .args(["api-key", "create", "--name", "ops", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(key.starts_with("pd_") && key.len() == 46, "{stdout}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&key),
        "the key reached a log line"
    );

    let out = procdash(dir.path())
        .args([
            "api-key", "create", "--name", "robot", "--role", "user", "--json",
        ])
        .output()
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["role"], "user");
    assert!(record["key"].as_str().unwrap().starts_with("pd_"));
    assert!(record.get("key_hash").is_none());
    let robot_key = record["key"].as_str().unwrap().to_owned();

    let bad = procdash(dir.path())
        .args(["api-key", "create", "--name", "x", "--role", "root"])
        .output()
        .unwrap();
    assert!(!bad.status.success());

    let list = String::from_utf8(
        procdash(dir.path())
            .args(["api-key", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        list.contains("ops") && list.contains("robot") && !list.contains(&key),
        "{list}"
    );
    let revoke = procdash(dir.path())
        .args(["api-key", "revoke", &record["id"].to_string()])
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let list = String::from_utf8(
        procdash(dir.path())
            .args(["api-key", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        list.lines()
            .any(|l| l.contains("robot") && l.contains("revoked")),
        "{list}"
    );

    let port = free_port();
    let mut server = procdash(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .env("SECRET_KEY", "a-secret-key-that-is-long-enough-123456")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(get(port, "/api/v1/auth/verify", &key).starts_with("HTTP/1.1 200"));
    assert!(
        get(port, "/api/v1/auth/verify", &robot_key).starts_with("HTTP/1.1 401"),
        "revoked from the CLI"
    );
    let wrong = "pd_this-is-a-wrong-key-0123456789abcdefghijk";
    let denied = get(port, "/api/v1/processes/", wrong);
    assert!(denied.starts_with("HTTP/1.1 401") && !denied.contains(wrong));
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(logs.contains("request"), "the server logged requests");
    for secret in [
        &key,
        &robot_key,
        wrong,
        "a-secret-key-that-is-long-enough-123456",
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[test]
fn config_command_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = procdash(dir.path())
        .arg("config")
        .env("SECRET_KEY", "another-secret-key-that-is-long-enough-99")
        .env("DATABASE_URL", "postgres://app:hunter2@db/pd")
        .output()
        .unwrap();
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("port = 8000"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("another-secret-key"),
        "{shown}"
    );
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = procdash(dir.path())
        .arg("config")
        .env("PORT", "eighty")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT"));
}

/// SIGINT finishes like SIGTERM: the server stops cleanly and the buffered request log is
/// written before the process exits.
#[tokio::test]
async fn sigint_shuts_down_gracefully_and_drains_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = procdash(dir.path())
        .args(["api-key", "create", "--name", "ops", "--role", "admin"])
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let port = free_port();
    let server = procdash(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .env("LOG_LEVEL", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..5 {
        assert!(get(port, "/api/v1/processes/", &key).starts_with("HTTP/1.1 200"));
    }
    let status = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = server.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("shutdown signal received"), "{logs}");
    let db = procdash_persistence::connect(&procdash_persistence::DbConfig::new(format!(
        "sqlite://{}/cli.db",
        dir.path().display()
    )))
    .await
    .unwrap();
    use procdash_persistence::ConnectionTrait;
    let row = db
        .query_one_raw(procdash_persistence::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM request_logs",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<i64>("", "n").unwrap(),
        5,
        "every request was logged before exit"
    );
}

#[test]
fn backup_export_and_cleanup_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let created = procdash(dir.path())
        .args(["api-key", "create", "--name", "ops", "--role", "admin"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let backup = dir.path().join("copy.sqlite");
    let out = procdash(dir.path())
        .args(["backup", "--out", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let again = procdash(dir.path())
        .args(["backup", "--out", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );
    let zip_path = dir.path().join("export.zip");
    let out = procdash(dir.path())
        .args(["export", "--out", zip_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip_bytes = std::fs::read(&zip_path).unwrap();
    assert!(zip_bytes.starts_with(b"PK"));
    let listing = String::from_utf8_lossy(&zip_bytes);
    assert!(listing.contains("api_keys.csv") && listing.contains("change_log.csv"));
    let out = procdash(dir.path())
        .args(["cleanup", "neutralize", "--dry-run", "--limit", "10"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("would neutralize 0 runs"));
    let bad = procdash(dir.path())
        .args(["cleanup", "neutralize", "--limit", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn kpis_rebuild_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = procdash(dir.path())
        .args(["kpis", "rebuild"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rebuilt KPI rollups from 0 runs, 0 buckets")
    );
    let missing = procdash(dir.path())
        .args(["kpis", "rebuild", "--process", "4242"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("process 4242 not found"));
}
