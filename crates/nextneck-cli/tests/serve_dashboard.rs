//! `nextneck serve`'s read side as a real process: the API answers the
//! bytes the CLI prints for the same store and query, the read token comes
//! from the environment or nextneck.toml, a server without webhook secrets
//! is a read-only dashboard, and the dashboard renders in headless Chromium
//! with every chart drawn and nothing loaded from elsewhere.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod live;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use live::*;
use nextneck_testkit::{Lines, PATIENCE};
use serde_json::{Value, json};

both_backends!(the_api_answers_the_bytes_the_cli_prints);

/// Services, teams and a stream's done stages, read by both the server and
/// the CLI from the current directory.
const CONFIG: &str = r#"
[services.shop]
repositories = ["acme/shop"]
incident_services = ["Shop API"]

[services.web]
repositories = ["acme/web"]

[teams.web]
services = ["web"]

[streams.hiring]
done = ["hired", "rejected"]
"#;

/// A history in the generic format (deployments, changes through the four
/// stages, a failed deployment, a postmortem, two value streams).
fn history() -> String {
    let lines = [
        json!({"type":"deployment","id":"d0","service":"shop","environment":"production","repository":"acme/shop","sha":"a0","finished_at":"2024-01-01T08:00:00Z","status":"success"}),
        json!({"type":"deployment","id":"w0","service":"web","environment":"production","repository":"acme/web","sha":"b0","finished_at":"2024-01-02T08:00:00Z","status":"success"}),
        json!({"type":"change","id":"acme/shop#1","repository":"acme/shop","title":"Cart","author":"ada","opened_at":"2024-01-02T10:00:00Z","first_review_at":"2024-01-02T14:00:00Z","merged_at":"2024-01-03T09:00:00Z","merge_sha":"a1","commits":[{"sha":"c1","authored_at":"2024-01-02T09:00:00Z"}]}),
        json!({"type":"deployment","id":"d1","service":"shop","environment":"production","repository":"acme/shop","sha":"a1","finished_at":"2024-01-03T12:00:00Z","status":"success"}),
        json!({"type":"change","id":"acme/shop#2","repository":"acme/shop","title":"Prices","author":"bob","opened_at":"2024-01-04T12:00:00Z","first_review_at":"2024-01-05T10:00:00Z","merged_at":"2024-01-05T11:00:00Z","merge_sha":"a2","commits":[{"sha":"c2","authored_at":"2024-01-04T09:00:00Z"}]}),
        json!({"type":"deployment","id":"d2","service":"shop","environment":"production","repository":"acme/shop","sha":"a2","finished_at":"2024-01-05T15:00:00Z","status":"success"}),
        json!({"type":"change","id":"acme/shop#3","repository":"acme/shop","title":"Hotfix: totals","author":"ada","opened_at":"2024-01-05T17:10:00Z","first_review_at":"2024-01-05T17:30:00Z","merged_at":"2024-01-05T18:00:00Z","merge_sha":"a3","commits":[{"sha":"c3","authored_at":"2024-01-05T17:00:00Z"}]}),
        json!({"type":"deployment","id":"d3","service":"shop","environment":"production","repository":"acme/shop","sha":"a3","finished_at":"2024-01-06T19:00:00Z","status":"success"}),
        json!({"type":"change","id":"acme/web#7","repository":"acme/web","title":"Header","author":"cy","opened_at":"2024-01-06T10:00:00Z","first_review_at":"2024-01-07T10:00:00Z","merged_at":"2024-01-07T12:00:00Z","merge_sha":"b1","commits":[{"sha":"c7","authored_at":"2024-01-06T09:00:00Z"}]}),
        json!({"type":"deployment","id":"w1","service":"web","environment":"production","repository":"acme/web","sha":"b1","finished_at":"2024-01-08T10:00:00Z","status":"failure"}),
        json!({"type":"deployment","id":"w2","service":"web","environment":"production","repository":"acme/web","sha":"b1","finished_at":"2024-01-08T13:00:00Z","status":"success"}),
        json!({"type":"postmortem.published","id":"PM-1","incident_id":"PSHOP1","published_at":"2024-01-09T10:00:00Z"}),
    ];
    let mut out: Vec<String> = lines.iter().map(Value::to_string).collect();
    // Two value streams: hiring (configured done stages) and support.
    let hiring = [
        ("c1", &["applied", "screen", "interview", "hired"][..], 1),
        ("c2", &["applied", "screen", "rejected"], 2),
        ("c3", &["applied", "screen", "interview"], 3),
        ("c4", &["applied", "screen"], 5),
        ("c5", &["applied", "screen", "interview", "hired"], 2),
    ];
    for (item, stages, start) in hiring {
        for (i, stage) in stages.iter().enumerate() {
            out.push(
                json!({"type":"stage.transition","id":format!("{item}-{stage}"),"stream":"hiring","item":item,"stage":stage,"at":format!("2024-01-{:02}T09:00:00Z", start + 2 * i)})
                    .to_string(),
            );
        }
    }
    for (item, day) in [("t1", 2), ("t2", 4), ("t3", 6)] {
        for (i, stage) in ["triage", "fixing", "done"].iter().enumerate() {
            out.push(
                json!({"type":"stage.transition","id":format!("{item}-{stage}"),"stream":"support","item":item,"stage":stage,"at":format!("2024-01-{:02}T1{i}:00:00Z", day)})
                    .to_string(),
            );
        }
    }
    out.join("\n") + "\n"
}

/// The recorded PagerDuty incident, moved into the history: opened after
/// d2, resolved before d3.
fn pagerduty_incident(kind: &str, status: &str, at: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("pagerduty/triggered_v3.json")).unwrap(),
    )
    .unwrap();
    let e = v.get_mut("event").unwrap();
    e["id"] = json!(format!("PSHOP1-{kind}"));
    e["event_type"] = json!(kind);
    e["occurred_at"] = json!(at);
    let data = e.get_mut("data").unwrap();
    data["id"] = json!("PSHOP1");
    data["status"] = json!(status);
    data["created_at"] = json!("2024-01-05T16:00:00Z");
    data["title"] = json!("Cart totals wrong");
    data["service"]["summary"] = json!("Shop API");
    serde_json::to_vec(&v).unwrap()
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    nextneck_ingest::signature::hmac_sha256_hex(secret.as_bytes(), body)
}

/// A `nextneck serve` with these extra arguments and environment.
struct Serve {
    child: Child,
    addr: SocketAddr,
    banner: String,
    stderr_first: String,
}

impl Serve {
    fn start(db: &Db, env: &[(&str, &str)]) -> Serve {
        let mut cmd = nextneck(db.dir.path());
        cmd.args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
            .env_remove("NEXTNECK_READ_TOKEN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = Lines::spawn(child.stdout.take().unwrap());
        let first = stdout.next_line("serve's first banner line", PATIENCE);
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        let second = stdout.next_line("serve's second banner line", PATIENCE);
        // Whatever serve said on stderr before listening (one line at most).
        let mut stderr = Lines::spawn(child.stderr.take().unwrap());
        let serves_hooks = env.iter().any(|(k, _)| *k != "NEXTNECK_READ_TOKEN");
        let stderr_first = if serves_hooks {
            String::new()
        } else {
            let line = stderr.next_line("serve's warning on stderr", PATIENCE);
            line.trim_end_matches('\n').to_owned()
        };
        Serve {
            child,
            addr,
            banner: format!("{first}{second}"),
            stderr_first,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 GET: status, headers (lower-case names), exact body bytes.
fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(response[..end].to_vec())
        .unwrap()
        .to_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, response[end + 4..].to_vec())
}

fn fill(db: &Db) {
    std::fs::write(db.dir.path().join("nextneck.toml"), CONFIG).unwrap();
    let server = Server::start(db);
    let body = history();
    let (status, reply) = post(
        server.addr,
        "/hooks/events",
        &[("authorization", format!("Bearer {EVENTS_TOKEN}"))],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 202, "{reply}");
    for (kind, state, at) in [
        ("incident.triggered", "triggered", "2024-01-05T16:00:00Z"),
        ("incident.resolved", "resolved", "2024-01-05T18:30:00Z"),
    ] {
        let body = pagerduty_incident(kind, state, at);
        let (status, reply) = post(
            server.addr,
            "/hooks/pagerduty",
            &[(
                "x-pagerduty-signature",
                format!("v1={}", hmac_hex(PAGERDUTY_SECRET, &body)),
            )],
            &body,
        )
        .unwrap();
        assert_eq!(status, 202, "{reply}");
    }
    let status = wait_processed(&db.url);
    assert_eq!(status.failed, 0);
    drop(server);
}

fn the_api_answers_the_bytes_the_cli_prints(db: Db) {
    fill(&db);
    let serve = Serve::start(&db, &[]);
    let dir = db.dir.path();
    let cases: [(&str, Vec<&str>); 9] = [
        (
            "/api/v1/report",
            vec!["report", "--db", &db.url, "--format", "json"],
        ),
        (
            "/api/v1/report?since=2024-01-01&until=2024-01-15&explain=true",
            vec![
                "report",
                "--db",
                &db.url,
                "--since",
                "2024-01-01",
                "--until",
                "2024-01-15",
                "--explain",
                "--format",
                "json",
            ],
        ),
        (
            "/api/v1/report?all=true&team=web",
            vec![
                "report", "--db", &db.url, "--all", "--team", "web", "--format", "json",
            ],
        ),
        (
            "/api/v1/report?since=2024-01-04T00:00:00Z&repo=acme/shop&service=shop",
            vec![
                "report",
                "--db",
                &db.url,
                "--since",
                "2024-01-04T00:00:00Z",
                "--repo",
                "acme/shop",
                "--service",
                "shop",
                "--format",
                "json",
            ],
        ),
        (
            "/api/v1/streams",
            vec!["flow", "--db", &db.url, "--format", "json"],
        ),
        (
            "/api/v1/streams?all",
            vec!["flow", "--db", &db.url, "--all", "--format", "json"],
        ),
        (
            "/api/v1/streams/hiring",
            vec![
                "flow", "--db", &db.url, "--stream", "hiring", "--format", "json",
            ],
        ),
        (
            "/api/v1/streams/support?since=2024-01-03",
            vec![
                "flow",
                "--db",
                &db.url,
                "--stream",
                "support",
                "--since",
                "2024-01-03",
                "--format",
                "json",
            ],
        ),
        (
            "/api/v1/streams/hiring/forecast?items=3&days=10&seed=5&trials=2000",
            vec![
                "forecast", "--db", &db.url, "--stream", "hiring", "--items", "3", "--days", "10",
                "--seed", "5", "--trials", "2000", "--format", "json",
            ],
        ),
    ];
    for (path, args) in cases {
        let (status, head, body) = get(serve.addr, path, None);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(head.contains("content-type: application/json"), "{head}");
        let (code, out, err) = run(dir, &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            out,
            "{path} differs from nextneck {}",
            args.join(" ")
        );
    }
    // The configuration reached the server: services link the changes, the
    // stream's done stages are the configured ones, the incident is the
    // recorded PagerDuty payload's.
    let (_, _, body) = get(
        serve.addr,
        "/api/v1/report?since=2024-01-01&until=2024-01-15",
        None,
    );
    let r: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(r["dora"]["lead_time"]["changes"], 4);
    assert_eq!(r["incidents"]["count"], 1);
    let (_, _, body) = get(serve.addr, "/api/v1/streams/hiring", None);
    let h: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(h["done_stages"][0]["reason"], "configured");
}

#[test]
fn serve_without_webhook_secrets_is_a_read_only_dashboard_behind_its_token() {
    let db = sqlite();
    fill(&db);
    // The token from the environment.
    let serve = Serve::start(&db, &[("NEXTNECK_READ_TOKEN", "t0ken")]);
    assert!(
        serve
            .stderr_first
            .contains("no webhook secret is set, so no hooks are served"),
        "{:?}",
        serve.stderr_first
    );
    assert!(
        serve
            .banner
            .contains("serving no hooks; the dashboard at /"),
        "{}",
        serve.banner
    );
    assert!(
        serve.banner.contains("(read token required)"),
        "{}",
        serve.banner
    );
    let (status, reply) = post(serve.addr, "/hooks/events", &[], b"{}").unwrap();
    assert_eq!(status, 404, "{reply}");
    assert!(reply.contains("provider_not_configured"));
    let (status, head, _) = get(serve.addr, "/", None);
    assert_eq!(status, 401);
    assert!(
        head.contains("www-authenticate: basic realm=\"nextneck\""),
        "{head}"
    );
    assert_eq!(get(serve.addr, "/", Some("Bearer t0ken")).0, 200);
    assert_eq!(get(serve.addr, "/metrics", None).0, 401);
    assert_eq!(get(serve.addr, "/metrics", Some("Bearer t0ken")).0, 200);
    assert_eq!(get(serve.addr, "/healthz", None).0, 200);
    drop(serve);
    // The token from nextneck.toml; the environment wins over it.
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        format!("{CONFIG}\n[server]\nread_token = \"from-file\"\n"),
    )
    .unwrap();
    let serve = Serve::start(&db, &[]);
    assert_eq!(get(serve.addr, "/api/v1/report", None).0, 401);
    assert_eq!(
        get(serve.addr, "/api/v1/report", Some("Bearer from-file")).0,
        200
    );
    drop(serve);
    let serve = Serve::start(&db, &[("NEXTNECK_READ_TOKEN", "from-env")]);
    assert_eq!(
        get(serve.addr, "/api/v1/report", Some("Bearer from-file")).0,
        401
    );
    assert_eq!(
        get(serve.addr, "/api/v1/report", Some("Bearer from-env")).0,
        200
    );
    drop(serve);
    // A commit-range rule needs a clone the server does not have.
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        "[delivery]\nlink_changes = \"commit_range\"\n",
    )
    .unwrap();
    let (code, _, err) = run(
        db.dir.path(),
        &["serve", "--db", &db.url, "--listen", "127.0.0.1:0"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("needs a clone, which the server does not have"),
        "{err}"
    );
}

/// The served dashboard in headless Chromium: the delivery page, the
/// detail page, the streams page and a stream's page, each with its charts
/// drawn, no console error, no request leaving this machine; screenshots
/// under target/screenshots/.
#[test]
fn the_dashboard_renders_in_a_browser() {
    let db = sqlite();
    fill(&db);
    let serve = Serve::start(&db, &[("NEXTNECK_EVENTS_TOKEN", EVENTS_TOKEN)]);
    let base = format!("http://{}", serve.addr);
    let query = "since=2024-01-01&until=2024-01-15";
    let pages: [(String, &str, Vec<&str>); 5] = [
        (
            format!("{base}/?{query}"),
            "dashboard-delivery",
            vec!["stages", "lead-histogram", "cycle-scatter", "deployments"],
        ),
        (
            format!("{base}/explain?{query}"),
            "dashboard-detail",
            vec![],
        ),
        (format!("{base}/streams"), "dashboard-streams", vec![]),
        (
            format!("{base}/streams/hiring?all=true"),
            "dashboard-stream-hiring",
            vec![
                "flow-stages",
                "flow-cfd",
                "flow-aging",
                "flow-throughput",
                "flow-scatter",
            ],
        ),
        (
            format!("{base}/streams/hiring/forecast?items=3&days=10"),
            "dashboard-forecast-hiring",
            vec!["forecast-when", "forecast-how-many"],
        ),
    ];
    for (url, name, charts) in pages {
        let page = common::browser::load(&url);
        common::browser::check_page(&page, &charts);
        assert!(
            page.requests.iter().any(|r| r.starts_with(&base)),
            "{url}: the page itself was not requested: {:?}",
            page.requests
        );
        assert!(page.dom.contains("<nav aria-label=\"Dashboard\""), "{url}");
        // The dashboard's words: its own controls, no flags, no internal
        // names; and its charts fit for a wall screen.
        common::browser::check_words(&page.dom, true);
        let path = url.strip_prefix(&base).unwrap();
        let (status, _, html) = get(serve.addr, path, None);
        assert_eq!(status, 200, "{url}");
        let html = String::from_utf8(html).unwrap();
        common::browser::check_wall_screen(&common::browser::measure(&html, 1920));
        common::browser::screenshot(&url, name, 1100, 2400);
        common::browser::screenshot(&url, &format!("{name}-wall"), 1920, 1600);
    }
    // A wall screen's page reloads itself; its links and forms keep the
    // refresh, its JSON links do not (the API takes no refresh).
    let page = common::browser::load(&format!("{base}/streams/hiring?all=true&refresh=30"));
    for text in [
        "<meta http-equiv=\"refresh\" content=\"30\">",
        "<a href=\"/streams?all=true&amp;refresh=30\" aria-current=\"page\">Value streams</a>",
        "<option value=\"30\" selected=\"\">every 30 seconds</option>",
        "<input type=\"hidden\" name=\"refresh\" value=\"30\">",
        "<a href=\"/api/v1/streams/hiring?all=true\">",
    ] {
        assert!(page.dom.contains(text), "{text} missing");
    }
    for (path, status, message) in [
        (
            "/?refresh=60",
            200,
            "<meta http-equiv=\"refresh\" content=\"60\">",
        ),
        ("/explain?refresh=3600", 200, "content=\"3600\""),
        (
            "/streams?refresh=",
            200,
            "<option value=\"\">never</option>",
        ),
        (
            "/streams/hiring/forecast?items=3&refresh=300",
            200,
            "<meta http-equiv=\"refresh\" content=\"300\">",
        ),
        (
            "/streams/hiring/forecast?items=3&days=&refresh=300",
            200,
            "<label>Items<input type=\"number\" name=\"items\" min=\"1\" value=\"3\"></label><label>Days<input type=\"number\" name=\"days\" min=\"1\" value=\"\"></label><label>Reload<select name=\"refresh\"><option value=\"\">never</option><option value=\"60\">every minute</option><option value=\"300\" selected>every 5 minutes</option>",
        ),
        (
            "/streams?refresh=soon",
            400,
            "refresh: `soon` is not a whole number from 5 to 86400",
        ),
        (
            "/streams?refresh=0",
            400,
            "refresh: `0` is not a whole number from 5 to 86400",
        ),
        (
            "/?refresh=86401",
            400,
            "refresh: `86401` is not a whole number from 5 to 86400",
        ),
        (
            "/streams?refresh=30&refresh=60",
            400,
            "refresh: given more than once",
        ),
        (
            "/api/v1/streams?refresh=30",
            400,
            "refresh: no such parameter here",
        ),
    ] {
        let (code, _, body) = get(serve.addr, path, None);
        let body = String::from_utf8(body).unwrap();
        assert_eq!(code, status, "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    }
    let (_, _, body) = get(serve.addr, "/streams", None);
    assert!(!String::from_utf8(body).unwrap().contains("http-equiv"));
    let page = common::browser::load(&format!("{base}/?{query}"));
    for text in [
        "<form class=\"filter\" method=\"get\" action=\"/\"",
        "<option value=\"web\">web</option>",
        "<h2>Incidents</h2>",
        "title=\"The events behind this figure\"",
    ] {
        assert!(page.dom.contains(text), "{text} missing from the dashboard");
    }
    let page = common::browser::load(&format!("{base}/streams"));
    assert!(page.dom.contains("<a href=\"/streams/hiring\">hiring</a>"));
    assert!(
        page.dom
            .contains("<a href=\"/streams/support\">support</a>")
    );
}
