//! Poison input against the real router, on SQLite and PostgreSQL: bodies
//! nested past the limits or holding a NUL are refused with 400 naming the
//! limit or the field, innocent deliveries sent alongside are all
//! acknowledged, and poison deliveries already queued (stored by an older
//! version) are set aside as failed with their reason at start, while the
//! deliveries behind them are processed.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use nextneck_server::{Options, app};
use nextneck_store::{NewDelivery, Origin};
use tower::ServiceExt;

nextneck_testkit::both_backends!(
    async:
    poison_bodies_are_refused_naming_the_limit_or_field,
    innocent_deliveries_sent_with_poison_ones_are_all_acknowledged,
    queued_poison_is_set_aside_at_start_and_the_rest_processed,
);

async fn send(router: &axum::Router, req: Request<Body>) -> (u16, serde_json::Value) {
    json(router.clone().oneshot(req).await.unwrap()).await
}

fn nested_junit(d: usize) -> Vec<u8> {
    let mut body = b"<testsuites>".to_vec();
    body.extend(std::iter::repeat_n(b"<testsuite name=\"s\">".as_slice(), d).flatten());
    body.extend_from_slice(b"<testcase classname=\"c\" name=\"t\"/>");
    body.extend(std::iter::repeat_n(b"</testsuite>".as_slice(), d).flatten());
    body.extend_from_slice(b"</testsuites>");
    body
}

const NUL_DEPLOYMENT: &[u8] = br#"{"type":"deployment","id":"dep\u0000x","status":"success","finished_at":"2024-03-01T12:00:00Z"}"#;

/// Provider, body, extra headers, the 400's message.
type Case = (
    &'static str,
    Vec<u8>,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

async fn poison_bodies_are_refused_naming_the_limit_or_field(db: Db) {
    let (state, _workers) = server(&db, secrets());
    let router = app(state);
    let cases: Vec<Case> = vec![
        (
            "junit",
            nested_junit(2_100),
            vec![],
            "the junit payload cannot be read: line 1, column 1993: test suites are nested deeper than 100 levels, the limit; flatten the report; nothing was stored",
        ),
        (
            "events",
            NUL_DEPLOYMENT.to_vec(),
            vec![],
            "the events payload cannot be read: line 1: field id: contains a NUL character (\\u0000), which nextneck does not store; remove it; nothing was stored",
        ),
        (
            "github",
            br#"{"action":"opened","repository":{"full_name":"a/b\u0000"}}"#.to_vec(),
            vec![("x-github-event", "pull_request")],
            "the github payload cannot be read: field repository.full_name: contains a NUL character (\\u0000), which nextneck does not store; remove it; nothing was stored",
        ),
        (
            "gitlab",
            br#"{"object_kind":"push\u0000"}"#.to_vec(),
            vec![],
            "the gitlab payload cannot be read: field object_kind: contains a NUL character (\\u0000), which nextneck does not store; remove it; nothing was stored",
        ),
        (
            "github",
            b"payload=%7B%22zen%22%3A%22x%22%7D".to_vec(),
            vec![
                ("x-github-event", "ping"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "the github payload cannot be read: the body is form-encoded (application/x-www-form-urlencoded), not JSON; set the webhook's content type to application/json in its GitHub settings; nothing was stored",
        ),
        (
            "pagerduty",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            vec![],
            "the pagerduty payload cannot be read: not valid JSON: arrays and objects are nested deeper than 128 levels, the limit (line 1, column 128); nothing was stored",
        ),
    ];
    for (provider, body, headers, want) in cases {
        let mut req = signed(provider, &body, &headers);
        if let Some((_, ct)) = headers.iter().find(|(k, _)| *k == "content-type") {
            req.headers_mut()
                .insert("content-type", ct.parse().unwrap());
        }
        let (status, answer) = send(&router, req).await;
        assert_eq!(status, 400, "{provider}: {answer}");
        assert_eq!(answer["code"], "malformed_payload");
        assert_eq!(answer["message"], want);
    }
    // The server is alive and stored nothing.
    let good = br#"{"type":"stage.transition","id":"t1","stream":"s","item":"c1","stage":"a","at":"2024-03-01T00:00:00Z"}"#;
    assert_eq!(send(&router, signed("events", good, &[])).await.0, 202);
    let url = db.url.clone();
    let stored = std::thread::spawn(move || {
        nextneck_store::open(&url)
            .unwrap()
            .deliveries()
            .unwrap()
            .len()
    })
    .join()
    .unwrap();
    assert_eq!(stored, 1);
}

async fn innocent_deliveries_sent_with_poison_ones_are_all_acknowledged(db: Db) {
    let (state, _workers) = server(&db, secrets());
    let router = app(state);
    let ping = fixture("github/ping__organization.json");
    let mut tasks = Vec::new();
    for i in 0..225 {
        let router = router.clone();
        let req = if i % 9 == 4 {
            let body = format!(r#"{{"object_kind":"push\u0000","n":{i}}}"#).into_bytes();
            signed("gitlab", &body, &[])
        } else {
            let id = format!("ping-{i}");
            signed(
                "github",
                &ping,
                &[("x-github-event", "ping"), ("x-github-delivery", &id)],
            )
        };
        tasks.push(tokio::spawn(async move { (i, send(&router, req).await.0) }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        let (i, status) = t.await.unwrap();
        *counts.entry((i % 9 == 4, status)).or_insert(0) += 1;
    }
    let want: std::collections::BTreeMap<(bool, u16), i32> =
        [((false, 202), 200), ((true, 400), 25)].into();
    assert_eq!(counts, want, "(poison, status) -> requests");
}

/// Deliveries as an older version stored them, poison included, then a
/// server with its processor started on that store.
async fn queued_poison_is_set_aside_at_start_and_the_rest_processed(db: Db) {
    let stored = |provider: &str, key: &str, body: Vec<u8>| NewDelivery {
        provider: provider.to_owned(),
        dedupe_key: key.to_owned(),
        event_type: format!("{provider}:old"),
        origin: Origin::Webhook,
        headers: Vec::new(),
        body,
        received_at_ms: 1,
    };
    let good = |i: usize| {
        format!(r#"{{"type":"stage.transition","id":"t{i}","stream":"s","item":"c{i}","stage":"a","at":"2024-03-01T00:00:00Z"}}"#).into_bytes()
    };
    let mut batch = vec![
        stored("junit", "deep", nested_junit(6_000)),
        stored("events", "nul", NUL_DEPLOYMENT.to_vec()),
        stored(
            "gitlab",
            "nul-kind",
            br#"{"object_kind":"push\u0000"}"#.to_vec(),
        ),
    ];
    batch.extend((0..20).map(|i| stored("events", &format!("g{i}"), good(i))));
    let url = db.url.clone();
    std::thread::spawn(move || nextneck_store::open(&url).unwrap().append(&batch).unwrap())
        .join()
        .unwrap();

    let (state, workers) = nextneck_server::start(&db.url, Options::new(secrets())).unwrap();
    let url = db.url.clone();
    let status = std::thread::spawn(move || {
        let mut store = nextneck_store::open(&url).unwrap();
        // Wait (without a time limit on the figures) until processed.
        nextneck_testkit::wait_until("the queue to drain", nextneck_testkit::PATIENCE, || {
            let s = store.status().unwrap();
            if s.backlog == 0 {
                Ok(s)
            } else {
                Err(format!("{s:?}"))
            }
        })
    })
    .join()
    .unwrap();
    let metrics = app(state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (_, text) = json(metrics).await;
    let text = text.as_str().unwrap().to_owned();
    assert!(text.contains("\nnextneck_failed_deliveries 3\n"), "{text}");
    assert!(
        text.contains("\nnextneck_retrying_deliveries 0\n"),
        "{text}"
    );
    drop(state);
    workers.shutdown();
    assert_eq!(status.failed, 3);
    assert_eq!(status.events, [("stage_transition".to_owned(), 20)]);
    let reasons: Vec<String> = status
        .recent_failures
        .iter()
        .map(|f| format!("{} {}", f.provider, f.error))
        .collect();
    assert_eq!(
        reasons,
        [
            "gitlab field object_kind: contains a NUL character (\\u0000), which nextneck does not store; remove it",
            "events line 1: field id: contains a NUL character (\\u0000), which nextneck does not store; remove it",
            "junit line 1, column 1993: test suites are nested deeper than 100 levels, the limit; flatten the report",
        ]
    );
}
