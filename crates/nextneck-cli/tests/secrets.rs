//! A store password never leaves the process: planted in the URL's userinfo
//! and in `?password=`, it is in none of the outputs of the CLI (`import`,
//! `status`, `report`, `flow`, usage and runtime errors) nor of a running
//! server (its banner and log, the dashboard pages, the JSON API,
//! `/metrics`); the pages and the API name the store only by its kind.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod live;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use live::*;
use nextneck_testkit::{Lines, PATIENCE};

const PASSWORD: &str = "Pl4ntedS3cret";

/// Nothing of the password, whole or in part.
fn check_clean(what: &str, text: &str) {
    for part in [PASSWORD, "Pl4nted", "S3cret"] {
        assert!(!text.contains(part), "{what} shows the password: {text}");
    }
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    (text[9..12].parse().unwrap(), text)
}

const HISTORY: &str = concat!(
    r#"{"type":"deployment","id":"d1","service":"shop","environment":"production","repository":"acme/shop","sha":"a1","finished_at":"2024-01-03T12:00:00Z","status":"success"}"#,
    "\n",
    r#"{"type":"stage.transition","id":"t1","stream":"s","item":"i1","stage":"todo","at":"2024-01-02T00:00:00Z"}"#,
    "\n",
    r#"{"type":"stage.transition","id":"t2","stream":"s","item":"i1","stage":"done","at":"2024-01-04T00:00:00Z"}"#,
    "\n",
);

#[test]
fn a_planted_password_is_in_no_output() {
    let db = postgres();
    // The same schema, reached with a password in both places (the test
    // server trusts local connections, so it is sent and never checked).
    let url = format!(
        "{}&password={PASSWORD}",
        db.url
            .replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
    );
    assert!(url.matches(PASSWORD).count() == 2, "{url}");
    let dir = db.dir.path();
    std::fs::write(dir.join("history.ndjson"), HISTORY).unwrap();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut cli = |args: &[&str]| {
        let (code, out, err) = run(dir, args);
        outputs.push((format!("{args:?} (exit {code})"), format!("{out}\n{err}")));
        (code, out)
    };
    let (code, _) = cli(&["import", "events", "history.ndjson", "--db", &url]);
    assert_eq!(code, 0);
    cli(&["status", "--db", &url]);
    cli(&["status", "--db", &url, "--format", "json"]);
    let (_, json) = cli(&["report", "--db", &url, "--all", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["source"]["db"], "postgres", "only the kind");
    cli(&["report", "--db", &url, "--all"]);
    cli(&["report", "--db", &url, "--all", "--format", "html"]);
    cli(&["flow", "--db", &url, "--all", "--format", "json"]);
    cli(&["flow", "--db", &url, "--all"]);
    // Usage and runtime errors: a scheme typo, a raw `@` in the password,
    // a store that cannot be reached.
    let typo = url.replacen("postgres://", "postgress://", 1);
    let (code, _) = cli(&["status", "--db", &typo]);
    assert_eq!(code, 2);
    let raw_at = format!("postgresql://u:Pl4nted@S3cret@127.0.0.1:1/db?password={PASSWORD}");
    let (code, _) = cli(&["status", "--db", &raw_at]);
    assert_eq!(code, 1);
    let (code, _) = cli(&["report", "--db", &raw_at.replacen("postgresql", "pg", 1)]);
    assert_eq!(code, 2);
    let (code, _) = cli(&["serve", "--db", &raw_at, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 1);

    // The server: its banner, its log, its pages and its API.
    let mut child = nextneck(dir)
        .args(["serve", "--db", &url, "--listen", "127.0.0.1:0"])
        .env("NEXTNECK_EVENTS_TOKEN", EVENTS_TOKEN)
        .env_remove("NEXTNECK_READ_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Lines::spawn(child.stdout.take().unwrap());
    let mut banner = stdout.next_line("serve's first banner line", PATIENCE);
    let addr: SocketAddr = banner
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .parse()
        .unwrap();
    banner.push_str(&stdout.next_line("serve's second banner line", PATIENCE));
    assert!(
        banner.contains("store postgres://postgres:***@"),
        "{banner}"
    );
    for path in [
        "/",
        "/explain",
        "/?all=true",
        "/streams/s?all=true",
        "/api/v1/report?all=true",
        "/api/v1/streams?all=true",
        "/api/v1/streams/s?all=true",
        "/metrics",
        "/healthz",
        "/no-such-page",
    ] {
        let (status, answer) = get(addr, path);
        assert!(status == 200 || status == 404, "{path}: {answer}");
        assert!(!answer.contains("127.0.0.1:5432"), "{path} names the host");
        outputs.push((path.to_owned(), answer));
    }
    let (_, api) = get(addr, "/api/v1/report?all=true");
    assert!(api.contains(r#""db": "postgres""#), "{api}");
    let (_, page) = get(addr, "/");
    assert!(
        page.contains("<title>") && page.contains("postgres"),
        "{page}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let rest = stdout.rest("serve's stdout after it was killed", PATIENCE);
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    outputs.push(("serve banner".to_owned(), banner + &rest));
    outputs.push(("serve log".to_owned(), log));
    // The option that names the location: the URL, still redacted.
    std::fs::write(
        dir.join("nextneck.toml"),
        "[server]\nshow_db_location = true\n",
    )
    .unwrap();
    let (code, out, err) = run(dir, &["report", "--db", &url, "--all", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let shown = report["source"]["db"].as_str().unwrap();
    assert!(
        shown.starts_with("postgres://postgres:***@127.0.0.1:5432/"),
        "{shown}"
    );
    outputs.push(("report with show_db_location".to_owned(), out));
    for (what, text) in &outputs {
        check_clean(what, text);
    }
}
