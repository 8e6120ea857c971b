//! The HTTP contract: authentication before anything is read or stored,
//! size caps, malformed bodies, deduplication, unknown event types, stable
//! JSON errors; through `oneshot` and through a real listener, on SQLite and
//! PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use nextneck_server::{Secrets, app};
use serde_json::json;
use tower::ServiceExt;

nextneck_testkit::both_backends!(
    async:
    forged_and_unsigned_deliveries_are_refused_and_nothing_is_stored,
    oversized_deliveries_are_refused,
    malformed_deliveries_are_refused_after_authentication,
    redeliveries_are_acknowledged_and_stored_once,
    unknown_event_types_are_kept_and_ignored,
    unserved_and_unknown_endpoints_answer_json,
    the_signature_vectors_verify,
    a_real_listener_serves_the_same_router,
);

async fn send(router: &axum::Router, req: Request<Body>) -> (u16, serde_json::Value) {
    json(router.clone().oneshot(req).await.unwrap()).await
}

/// A small valid payload per provider.
fn payload(provider: &str) -> Vec<u8> {
    match provider {
        "github" => fixture("github/octokit__deployment_status__payload.json"),
        "gitlab" => fixture("gitlab/deployment_hook__succeeded.json"),
        "pagerduty" => fixture("pagerduty/triggered_v3.json"),
        "jira" => fixture("jira/issue_created.json"),
        "opsgenie" => fixture("opsgenie/create.json"),
        "junit" => fixture("junit/python__report.xml"),
        _ => br#"{"type":"stage.transition","id":"t1","stream":"hiring","item":"c1","stage":"onsite","at":"2024-03-01T00:00:00Z"}"#.to_vec(),
    }
}

const PROVIDERS: [&str; 7] = [
    "github",
    "gitlab",
    "pagerduty",
    "jira",
    "opsgenie",
    "events",
    "junit",
];

/// The request as the provider would sign it, then spoiled.
fn forged(provider: &str, body: &[u8]) -> Request<Body> {
    let other = b"something else";
    let mut req = signed(provider, other, &[]);
    // The signature of another body, or a wrong token.
    let headers = req.headers_mut();
    match provider {
        "gitlab" => {
            headers.insert("x-gitlab-token", "wrong".parse().unwrap());
        }
        "opsgenie" | "events" | "junit" => {
            headers.insert("authorization", "Bearer wrong".parse().unwrap());
        }
        _ => {}
    }
    headers.insert("content-length", body.len().into());
    *req.body_mut() = Body::from(body.to_vec());
    req
}

fn unsigned(provider: &str, body: &[u8]) -> Request<Body> {
    Request::post(format!("/hooks/{provider}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

async fn forged_and_unsigned_deliveries_are_refused_and_nothing_is_stored(db: Db) {
    let (state, _w) = server(&db, secrets());
    let router = app(state);
    for provider in PROVIDERS {
        let body = payload(provider);
        for (how, req) in [
            ("forged", forged(provider, &body)),
            ("unsigned", unsigned(provider, &body)),
        ] {
            let (status, reply) = send(&router, req).await;
            assert_eq!(status, 401, "{how} {provider}: {reply}");
            assert_eq!(reply["code"], "unauthorized", "{provider}");
        }
        // A GitHub signature with the right value but the wrong scheme.
        if provider == "github" {
            let sig = nextneck_ingest::signature::hmac_sha256_hex(GITHUB_SECRET.as_bytes(), &body);
            let req = Request::post("/hooks/github")
                .header("x-hub-signature-256", format!("sha1={sig}"))
                .body(Body::from(body.clone()))
                .unwrap();
            assert_eq!(send(&router, req).await.0, 401);
        }
    }
    assert_eq!(deliveries(&db.url), [], "nothing is stored");
    // And the genuine ones are accepted.
    for provider in PROVIDERS {
        let (status, reply) = send(&router, signed(provider, &payload(provider), &[])).await;
        assert_eq!(status, 202, "{provider}: {reply}");
    }
    assert_eq!(deliveries(&db.url).len(), PROVIDERS.len());
}

async fn oversized_deliveries_are_refused(db: Db) {
    let (state, _w) = server(&db, secrets());
    let router = app(state);
    let check = |provider: &'static str, size: usize| {
        let router = router.clone();
        async move {
            let body = vec![b' '; size];
            // Declared too large: refused before reading.
            let (status, reply) = send(&router, signed(provider, &body, &[])).await;
            assert_eq!(status, 413, "{provider} {size}: {reply}");
            assert_eq!(reply["code"], "payload_too_large");
            // Streamed without a length: refused once the cap is passed.
            let mut req = signed(provider, &body, &[]);
            req.headers_mut().remove("content-length");
            let stream = futures_stream(body);
            *req.body_mut() = stream;
            let (status, _) = send(&router, req).await;
            assert_eq!(status, 413, "{provider} {size} streamed");
        }
    };
    check("pagerduty", 1024 * 1024 + 1).await;
    check("opsgenie", 1024 * 1024 + 1).await;
    check("events", 1024 * 1024 + 1).await;
    check("jira", 2 * 1024 * 1024).await;
    check("github", 25 * 1024 * 1024 + 1).await;
    check("gitlab", 25 * 1024 * 1024 + 1).await;
    // At the cap, a (padded) payload is accepted: JSON allows the spaces.
    let mut body = payload("pagerduty");
    body.resize(1024 * 1024, b' ');
    assert_eq!(send(&router, signed("pagerduty", &body, &[])).await.0, 202);
    assert_eq!(deliveries(&db.url).len(), 1);
}

/// A body delivered in chunks, with no length known in advance.
fn futures_stream(body: Vec<u8>) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for c in chunks {
            if tx.send(c).await.is_err() {
                return;
            }
        }
    });
    Body::from_stream(ReceiverStream(rx))
}

struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);

impl futures_core_stream::Stream for ReceiverStream {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

mod futures_core_stream {
    pub use futures_core::Stream;
}

async fn malformed_deliveries_are_refused_after_authentication(db: Db) {
    let (state, _w) = server(&db, secrets());
    let router = app(state);
    // (provider, body, extra headers, what the message must say)
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("github", b"{not json", &[("x-github-event", "push")], "not valid JSON"),
        (
            "github",
            br#"{"ref": "refs/heads/main", "before": "a", "after": "b", "commits": [{"timestamp": "2024-01-01T00:00:00Z"}], "repository": {"full_name": "o/r"}}"#,
            &[("x-github-event", "push")],
            "field commits[0].id: missing; it is required",
        ),
        (
            "github",
            br#"{"deployment": {"id": 1, "created_at": "yesterday"}}"#,
            &[("x-github-event", "deployment")],
            "field deployment.created_at: \"yesterday\" is not a time",
        ),
        ("gitlab", b"[1, 2", &[], "not valid JSON"),
        ("gitlab", br#"{"no": "kind"}"#, &[], "not a GitLab webhook payload"),
        ("pagerduty", br#"{"event": {"event_type": "incident.triggered", "occurred_at": "2024-01-01T00:00:00Z", "data": {"status": "triggered"}}}"#, &[], "field event.data.id: missing"),
        ("opsgenie", br#"{"action": "Create", "alert": {"message": "x"}}"#, &[], "field alert.alertId: missing"),
        ("jira", br#"{"webhookEvent": "jira:issue_created", "issue": {"fields": {}}}"#, &[], "field issue.key: missing"),
        ("events", b"{\"type\": \"deployment\", \"id\": \"d1\", \"status\": \"success\", \"finished_at\": \"2024-03-01T00:00:00Z\"}\n{\"type\": \"incident\", \"id\": 7}\n", &[], "line 2: field opened_at: missing"),
        ("events", br#"{"type": "deployment", "id": "d1", "status": "done", "finished_at": "2024-03-01T00:00:00Z"}"#, &[], "\"done\" is not a deployment status"),
        ("events", br#"{"type": "change", "id": "c1", "opened_at": "2024-03-01T00:00:00Z", "mergd_at": "x"}"#, &[], "field mergd_at: unknown field of a change event"),
        ("junit", b"<testsuite><testcase name='a'>", &[], "line 1, column 1: not well-formed XML: the root node was opened but never closed"),
        ("junit", &fixture("junit/corrupt-junit__TEST-test.CorruptTest.xml"), &[], "not well-formed XML"),
        ("junit", b"<html/>", &[], "not a JUnit report"),
    ];
    for (provider, body, extra, want) in cases {
        let (status, reply) = send(&router, signed(provider, body, extra)).await;
        assert_eq!(status, 400, "{provider} {want}: {reply}");
        assert_eq!(reply["code"], "malformed_payload");
        let message = reply["message"].as_str().unwrap();
        assert!(
            message.contains(want),
            "{provider}: {message:?} lacks {want:?}"
        );
    }
    assert_eq!(deliveries(&db.url), [], "nothing is stored");
}

async fn redeliveries_are_acknowledged_and_stored_once(db: Db) {
    let (state, _w) = server(&db, secrets());
    let router = app(state);
    let gh = payload("github");
    let id = [
        ("x-github-event", "deployment_status"),
        ("x-github-delivery", "d-1"),
    ];
    let (s1, r1) = send(&router, signed("github", &gh, &id)).await;
    let (s2, r2) = send(&router, signed("github", &gh, &id)).await;
    assert_eq!((s1, s2), (202, 200));
    assert_eq!(r1["status"], "accepted");
    assert_eq!(
        r2,
        json!({"status": "duplicate", "delivery_id": r1["delivery_id"]})
    );
    // The same body under a new delivery id is a new delivery (GitHub's
    // "redeliver" keeps the id; a new id is a new event).
    let other = [
        ("x-github-event", "deployment_status"),
        ("x-github-delivery", "d-2"),
    ];
    assert_eq!(send(&router, signed("github", &gh, &other)).await.0, 202);
    // Without a delivery id the body's hash decides.
    let og = payload("opsgenie");
    assert_eq!(send(&router, signed("opsgenie", &og, &[])).await.0, 202);
    assert_eq!(send(&router, signed("opsgenie", &og, &[])).await.0, 200);
    let pd = payload("pagerduty");
    let hook = [("x-webhook-id", "w-1")];
    assert_eq!(send(&router, signed("pagerduty", &pd, &hook)).await.0, 202);
    assert_eq!(send(&router, signed("pagerduty", &pd, &hook)).await.0, 200);
    let gl = payload("gitlab");
    let key = [("idempotency-key", "k-1")];
    assert_eq!(send(&router, signed("gitlab", &gl, &key)).await.0, 202);
    assert_eq!(send(&router, signed("gitlab", &gl, &key)).await.0, 200);
    let jira = payload("jira");
    let key = [("x-atlassian-webhook-identifier", "j-1")];
    assert_eq!(send(&router, signed("jira", &jira, &key)).await.0, 202);
    assert_eq!(send(&router, signed("jira", &jira, &key)).await.0, 200);
    let stored = deliveries(&db.url);
    assert_eq!(stored.len(), 6);
    assert_eq!(stored[0].delivery.body, gh, "the exact bytes are kept");
    let names: Vec<&str> = stored[0]
        .delivery
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(names.contains(&"x-hub-signature-256") && names.contains(&"x-github-delivery"));
    // Credentials are never stored.
    let gitlab = stored
        .iter()
        .find(|d| d.delivery.provider == "gitlab")
        .unwrap();
    assert!(
        gitlab
            .delivery
            .headers
            .iter()
            .all(|(k, _)| k != "x-gitlab-token")
    );
    let opsgenie = stored
        .iter()
        .find(|d| d.delivery.provider == "opsgenie")
        .unwrap();
    assert!(
        opsgenie
            .delivery
            .headers
            .iter()
            .all(|(k, _)| k != "authorization")
    );
    // Each is processed once: 6 deliveries, one event each.
    let (processed, events, _) = process_and_read(&db.url);
    assert_eq!((processed, events.len()), (6, 6));
}

async fn unknown_event_types_are_kept_and_ignored(db: Db) {
    let (state, _w) = server(&db, secrets());
    let router = app(state);
    let unknown = [
        (
            "github",
            br#"{"action": "created", "starred_at": null}"#.to_vec(),
            vec![("x-github-event", "star")],
        ),
        (
            "gitlab",
            br#"{"object_kind": "wiki_page"}"#.to_vec(),
            vec![],
        ),
        (
            "pagerduty",
            fixture("pagerduty/unsupported_v3.json"),
            vec![],
        ),
        (
            "opsgenie",
            br#"{"action": "SomethingNew", "alert": {}}"#.to_vec(),
            vec![],
        ),
        (
            "jira",
            br#"{"webhookEvent": "comment_created"}"#.to_vec(),
            vec![],
        ),
        (
            "events",
            br#"{"type": "sale.closed", "id": "s1"}"#.to_vec(),
            vec![],
        ),
    ];
    for (provider, body, extra) in &unknown {
        let (status, reply) = send(&router, signed(provider, body, extra)).await;
        assert_eq!(status, 202, "{provider}: {reply}");
    }
    let (processed, events, status) = process_and_read(&db.url);
    assert_eq!(processed, unknown.len());
    assert_eq!(events, []);
    let types: Vec<&str> = status
        .unknown_types
        .iter()
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "events:sale.closed",
            "github:star",
            "gitlab:wiki_page",
            "jira:comment_created",
            "opsgenie:SomethingNew",
            "pagerduty:incident.unsupported"
        ]
    );
}

async fn unserved_and_unknown_endpoints_answer_json(db: Db) {
    let (state, _w) = server(
        &db,
        Secrets {
            github: Some(GITHUB_SECRET.into()),
            ..Secrets::default()
        },
    );
    let router = app(state);
    let (status, reply) = send(&router, signed("gitlab", b"{}", &[])).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (404, Some("provider_not_configured"))
    );
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("NEXTNECK_GITLAB_TOKEN")
    );
    let (status, reply) = send(&router, signed("bitbucket", b"{}", &[])).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (404, Some("unknown_provider"))
    );
    let (status, reply) = send(&router, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!((status, reply["code"].as_str()), (404, Some("not_found")));
    let (status, reply) = send(
        &router,
        Request::get("/hooks/github").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, reply) = send(
        &router,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((status, reply), (200, json!({"status": "ok"})));
}

async fn the_signature_vectors_verify(db: Db) {
    // The documented vectors, through the router with their own secrets.
    let vectors: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("signatures/vectors.json")).unwrap())
            .unwrap();
    for v in vectors.as_array().unwrap() {
        let provider = v["provider"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap().to_owned();
        let body = v["body"].as_str().unwrap().as_bytes().to_vec();
        let header = v["header_name"].as_str().unwrap();
        let value = v["expected_header_value"].as_str().unwrap();
        // The helpers compute exactly the documented value.
        let hex = nextneck_ingest::signature::hmac_sha256_hex(secret.as_bytes(), &body);
        assert!(value.ends_with(&hex), "{provider}: {value} vs {hex}");
        let secrets = match provider {
            "github" => Secrets {
                github: Some(secret),
                ..Secrets::default()
            },
            "pagerduty" => Secrets {
                pagerduty: Some(secret),
                ..Secrets::default()
            },
            other => panic!("no vector support for {other}"),
        };
        let db = match db.url.starts_with("sqlite") {
            true => sqlite(),
            false => postgres(),
        };
        let (state, _w) = server(&db, secrets);
        let router = app(state);
        let req = |value: &str| {
            Request::post(format!("/hooks/{provider}"))
                .header(header, value)
                .header("x-github-event", "ping")
                .body(Body::from(body.clone()))
                .unwrap()
        };
        let (status, reply) = send(&router, req(value)).await;
        // GitHub's vector body is "Hello, World!": authenticated, then
        // refused as malformed (400, not 401). PagerDuty's is a real event.
        let want = if provider == "github" { 400 } else { 202 };
        assert_eq!(status, want, "{provider}: {reply}");
        let mut wrong = value.to_owned();
        wrong.pop();
        wrong.push(if value.ends_with('0') { '1' } else { '0' });
        assert_eq!(send(&router, req(&wrong)).await.0, 401, "{provider}");
    }
}

async fn a_real_listener_serves_the_same_router(db: Db) {
    let (state, workers) =
        nextneck_server::start(&db.url, nextneck_server::Options::new(secrets())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nextneck_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let body = payload("events");
    let (status, reply) = raw_post(
        addr,
        "/hooks/events",
        &[("authorization", "Bearer ev-token")],
        &body,
    )
    .await;
    assert_eq!(status, 202, "{reply}");
    let (status, _) = raw_post(
        addr,
        "/hooks/events",
        &[("authorization", "Bearer nope")],
        &body,
    )
    .await;
    assert_eq!(status, 401);
    let (status, reply) = raw_get(addr, "/healthz").await;
    assert_eq!((status, reply.as_str()), (200, r#"{"status":"ok"}"#));
    // The processor thread derives the event after the acknowledgement.
    let url = db.url.clone();
    let events = blocking(move || {
        let mut store = nextneck_store::open(&url).unwrap();
        nextneck_testkit::wait_until(
            "the processor to derive the delivery's event",
            nextneck_testkit::PATIENCE,
            || {
                let events = store.events().unwrap();
                if events.is_empty() {
                    Err(format!("{:?}", store.status().unwrap()))
                } else {
                    Ok(events)
                }
            },
        )
    });
    assert_eq!(events.len(), 1);
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    workers.shutdown();
}

async fn raw_post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, bytes).await
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").into_bytes(),
    )
    .await
}

async fn raw(addr: std::net::SocketAddr, request: Vec<u8>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
