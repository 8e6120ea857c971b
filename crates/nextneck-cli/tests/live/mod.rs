//! Helpers for the live-event tests: fixtures, fresh databases, a running
//! `nextneck serve` process, and a small blocking HTTP client.

#![allow(dead_code, unused_imports, clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nextneck_testkit::{Lines, PATIENCE, wait_until};

pub const EVENTS_TOKEN: &str = "ev-token";
pub const GITHUB_SECRET: &str = "gh-secret";
pub const GITLAB_TOKEN: &str = "gl-token";
pub const PAGERDUTY_SECRET: &str = "pd-secret";
pub const JIRA_SECRET: &str = "jira-secret";
pub const OPSGENIE_TOKEN: &str = "og-token";

pub use nextneck_testkit::{Db, both_backends, fixtures, postgres, sqlite};

/// The binary with a clean environment for these tests.
pub fn nextneck(cwd: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nextneck"));
    cmd.current_dir(cwd);
    for var in [
        "NEXTNECK_DB",
        "NEXTNECK_LISTEN",
        "NEXTNECK_GITHUB_SECRET",
        "NEXTNECK_GITLAB_TOKEN",
        "NEXTNECK_PAGERDUTY_SECRET",
        "NEXTNECK_JIRA_SECRET",
        "NEXTNECK_OPSGENIE_TOKEN",
        "NEXTNECK_EVENTS_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs nextneck to completion: (exit code, stdout, stderr).
pub fn run(cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = nextneck(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A running `nextneck serve`; killed with SIGKILL when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    _stdout: Lines,
}

impl Server {
    pub fn start(db: &Db) -> Server {
        let mut child = nextneck(db.dir.path())
            .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
            .env("NEXTNECK_EVENTS_TOKEN", EVENTS_TOKEN)
            .env("NEXTNECK_GITHUB_SECRET", GITHUB_SECRET)
            .env("NEXTNECK_GITLAB_TOKEN", GITLAB_TOKEN)
            .env("NEXTNECK_PAGERDUTY_SECRET", PAGERDUTY_SECRET)
            .env("NEXTNECK_JIRA_SECRET", JIRA_SECRET)
            .env("NEXTNECK_OPSGENIE_TOKEN", OPSGENIE_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = Lines::spawn(child.stdout.take().unwrap());
        let line = stdout.next_line("serve's first line", PATIENCE);
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 POST on a new connection: the status, or `None` when the
/// connection failed before a complete answer.
pub fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8(response).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    Some((status, body.to_owned()))
}

/// A generic stage transition whose id is `id`.
pub fn event_body(id: &str) -> Vec<u8> {
    format!(
        "{{\"type\":\"stage.transition\",\"id\":\"{id}\",\"stream\":\"burst\",\"item\":\"{id}\",\"stage\":\"in\",\"at\":\"2024-03-01T00:00:00Z\"}}\n"
    )
    .into_bytes()
}

pub fn post_event(addr: SocketAddr, id: &str) -> Option<(u16, String)> {
    post(
        addr,
        "/hooks/events",
        &[("authorization", format!("Bearer {EVENTS_TOKEN}"))],
        &event_body(id),
    )
}

/// Waits (bounded) until the store's queue is empty.
pub fn wait_processed(url: &str) -> nextneck_store::Status {
    let mut store = nextneck_store::open(url).unwrap();
    wait_until("the queue to drain", PATIENCE, || {
        let status = store.status().unwrap();
        if status.backlog == 0 {
            Ok(status)
        } else {
            Err(format!("{status:?}"))
        }
    })
}
