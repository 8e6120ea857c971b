//! The limit on report computations through the real router: with one
//! permit and no queue, every route that computes a report answers
//! `503 busy` with `Retry-After` while the permit is held (the JSON error for
//! the API, an error page for the dashboard) and answers again once it is
//! given back; a request in the queue is served when the permit frees; a
//! waiter past the longest wait is refused; `/metrics` serves its cached
//! figures without a permit and counts the refusals. On SQLite and
//! PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use common::*;
use http_body_util::BodyExt;
use nextneck_server::{AppState, Limits, Options, Workers, app};
use nextneck_testkit::{Deadline, PATIENCE};
use serde_json::Value;
use tower::ServiceExt;

nextneck_testkit::both_backends!(
    async:
    every_report_route_is_busy_while_the_only_permit_is_held,
    a_waiter_is_served_when_the_permit_frees,
    metrics_serve_cached_figures_without_a_permit,
    the_same_report_is_computed_once_until_the_store_changes,
);

/// Two deployments, a change, and a value stream with finished items.
const HISTORY: &str = r#"{"type":"deployment","id":"d0","service":"shop","environment":"production","repository":"acme/shop","sha":"a000000000000000000000000000000000000000","finished_at":"2024-01-01T08:00:00Z","status":"success"}
{"type":"change","id":"acme/shop#1","repository":"acme/shop","number":1,"title":"Cart","author":"ada","opened_at":"2024-01-02T10:00:00Z","first_review_at":"2024-01-02T14:00:00Z","merged_at":"2024-01-03T09:00:00Z","merge_sha":"a100000000000000000000000000000000000000","commits":[{"sha":"c100000000000000000000000000000000000000","authored_at":"2024-01-02T09:00:00Z","author":"ada"}]}
{"type":"deployment","id":"d1","service":"shop","environment":"production","repository":"acme/shop","sha":"a100000000000000000000000000000000000000","finished_at":"2024-01-03T12:00:00Z","status":"success"}
{"type":"stage.transition","id":"h1a","stream":"hiring","item":"c1","stage":"applied","at":"2024-01-01T09:00:00Z"}
{"type":"stage.transition","id":"h1b","stream":"hiring","item":"c1","stage":"hired","at":"2024-01-03T09:00:00Z"}
{"type":"stage.transition","id":"h2a","stream":"hiring","item":"c2","stage":"applied","at":"2024-01-02T09:00:00Z"}
{"type":"stage.transition","id":"h2b","stream":"hiring","item":"c2","stage":"rejected","at":"2024-01-05T09:00:00Z"}
{"type":"stage.transition","id":"h3a","stream":"hiring","item":"c3","stage":"applied","at":"2024-01-03T09:00:00Z"}
"#;

/// One more deployment: the store's events change, so `/metrics` must
/// compute its figures again.
const MORE: &str = r#"{"type":"deployment","id":"d2","service":"shop","environment":"production","repository":"acme/shop","finished_at":"2024-01-06T12:00:00Z","status":"success"}"#;

/// The routes that compute a report, and whether they answer HTML.
const REPORT_ROUTES: [(&str, bool); 10] = [
    ("/api/v1/report", false),
    ("/api/v1/report?explain=true", false),
    ("/api/v1/streams", false),
    ("/api/v1/streams/hiring", false),
    ("/api/v1/streams/hiring/forecast?items=2", false),
    ("/", true),
    ("/explain", true),
    ("/streams", true),
    ("/streams/hiring", true),
    ("/streams/hiring/forecast?items=2", true),
];

/// One computation at once, `queue` waiting, each at most `wait`.
fn limits(queue: usize, wait: Duration) -> Limits {
    Limits {
        max_reports: 1,
        report_queue: queue,
        report_wait: wait,
        ..Limits::default()
    }
}

/// A server (no processor thread) with `limits` over a store holding
/// [`HISTORY`], processed.
async fn filled(db: &Db, limits: Limits) -> (AppState, Router, Workers) {
    let mut options = Options::new(secrets());
    options.process = false;
    options.limits = limits;
    let url = db.url.clone();
    let (state, workers) = blocking(move || nextneck_server::start(&url, options).unwrap());
    let router = app(state.clone());
    deliver(&router, &db.url, HISTORY).await;
    (state, router, workers)
}

/// Posts events and processes them.
async fn deliver(router: &Router, url: &str, events: &str) {
    let resp = router
        .clone()
        .oneshot(signed("events", events.as_bytes(), &[]))
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let (_, _, status) = process_and_read(url);
    assert_eq!(status.failed, 0);
}

/// A GET: status, headers, body.
async fn get(router: Router, path: String) -> (u16, HeaderMap, String) {
    let resp = router
        .oneshot(Request::get(&path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Checks a `503 busy`: `Retry-After: 1`, and the JSON error (its message
/// starting with `message`) or the dashboard's error page.
fn check_busy(path: &str, html: bool, got: &(u16, HeaderMap, String), message: &str) {
    let (status, headers, body) = got;
    assert_eq!(*status, 503, "{path}: {body}");
    assert_eq!(
        headers.get("retry-after").map(|v| v.to_str().unwrap()),
        Some("1"),
        "{path}"
    );
    if html {
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(body.contains("<h1>Error 503</h1>"), "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    } else {
        assert_eq!(headers["content-type"], "application/json", "{path}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "busy", "{path}");
        let text = v["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{path}: {text}");
    }
}

/// A sample of the exposition, by its whole line up to the value.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(router: &Router) -> String {
    let (status, _, text) = get(router.clone(), "/metrics".into()).await;
    assert_eq!(status, 200, "{text}");
    text
}

/// Waits, yielding to the requests in flight, until `n` wait for a permit.
async fn until_waiting(state: &AppState, n: usize) {
    let deadline = Deadline::new(format!("{n} report requests waiting"), PATIENCE);
    while state.reports_waiting() != n {
        deadline.check(format!("{} waiting", state.reports_waiting()));
        tokio::task::yield_now().await;
    }
}

const FULL: &str = "the server is computing as many reports as it may (1 at once, 0 waiting: max_reports and report_queue in [server]); retry after 1 s";

async fn every_report_route_is_busy_while_the_only_permit_is_held(db: Db) {
    let (state, router, _w) = filled(&db, limits(0, Duration::from_secs(30))).await;
    let permit = state.hold_report_permit().await.unwrap();
    assert_eq!((state.reports_running(), state.reports_waiting()), (1, 0));
    for (path, html) in REPORT_ROUTES {
        let got = get(router.clone(), path.into()).await;
        check_busy(path, html, &got, FULL);
    }
    // What computes no report is answered as ever.
    for path in ["/healthz", "/api/v1/openapi.json"] {
        let (status, headers, _) = get(router.clone(), path.into()).await;
        assert_eq!(status, 200, "{path}");
        assert!(headers.get("retry-after").is_none(), "{path}");
    }
    drop(permit);
    assert_eq!(state.reports_running(), 0);
    for (path, _) in REPORT_ROUTES {
        let (status, headers, body) = get(router.clone(), path.into()).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(headers.get("retry-after").is_none(), "{path}");
    }
    let text = scrape(&router).await;
    for (series, value) in [
        (
            "nextneck_reports_refused_total{reason=\"queue_full\"}",
            REPORT_ROUTES.len() as f64,
        ),
        (
            "nextneck_reports_refused_total{reason=\"wait_timeout\"}",
            0.0,
        ),
        ("nextneck_reports_running", 0.0),
        ("nextneck_reports_waiting", 0.0),
        ("nextneck_reports_max_running", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series}");
    }
}

async fn a_waiter_is_served_when_the_permit_frees(db: Db) {
    let (state, router, _w) = filled(&db, limits(1, PATIENCE)).await;
    let permit = state.hold_report_permit().await.unwrap();
    let waiter = tokio::spawn(get(router.clone(), "/api/v1/report".into()));
    until_waiting(&state, 1).await;
    // The queue holds one: the next is refused at once.
    let got = get(router.clone(), "/streams".into()).await;
    check_busy(
        "/streams",
        true,
        &got,
        "the server is computing as many reports as it may (1 at once, 1 waiting:",
    );
    drop(permit);
    let (status, _, body) = waiter.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    nextneck_testkit::check(&report, &[("/dora/deployments/count", 2.into())]);
    assert_eq!((state.reports_running(), state.reports_waiting()), (0, 0));
}

async fn metrics_serve_cached_figures_without_a_permit(db: Db) {
    let (state, router, _w) = filled(&db, limits(0, Duration::from_secs(30))).await;
    let first = scrape(&router).await;
    assert_eq!(
        sample(&first, "nextneck_report_computations_total"),
        Some(1.0)
    );
    let permit = state.hold_report_permit().await.unwrap();
    // The store's events did not change: the cached figures, no permit.
    let cached = scrape(&router).await;
    for (series, value) in [
        ("nextneck_report_computations_total", 1.0),
        ("nextneck_deployments", 2.0),
        ("nextneck_reports_running", 1.0),
    ] {
        assert_eq!(sample(&cached, series), Some(value), "{series}");
    }
    // They changed: computing again needs the permit.
    deliver(&router, &db.url, MORE).await;
    let got = get(router.clone(), "/metrics".into()).await;
    check_busy("/metrics", false, &got, FULL);
    drop(permit);
    let fresh = scrape(&router).await;
    for (series, value) in [
        ("nextneck_report_computations_total", 2.0),
        ("nextneck_deployments", 3.0),
        ("nextneck_reports_running", 0.0),
        ("nextneck_reports_refused_total{reason=\"queue_full\"}", 1.0),
    ] {
        assert_eq!(sample(&fresh, series), Some(value), "{series}");
    }
}

/// A request that waits longer than the longest wait is refused (the store
/// is never read, so one backend shows it).
#[tokio::test]
async fn a_waiter_past_the_longest_wait_is_busy() {
    let db = sqlite();
    let (state, router, _w) = filled(&db, limits(1, Duration::from_millis(50))).await;
    let permit = state.hold_report_permit().await.unwrap();
    let got = get(router.clone(), "/api/v1/report".into()).await;
    check_busy(
        "/api/v1/report",
        false,
        &got,
        "the server is computing as many reports as it may (1 at once) and none finished within 0.05 s; retry after 1 s, or raise max_reports in [server]",
    );
    assert_eq!(state.reports_waiting(), 0, "it left the queue");
    drop(permit);
    let text = scrape(&router).await;
    assert_eq!(
        sample(
            &text,
            "nextneck_reports_refused_total{reason=\"wait_timeout\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        get(router, "/api/v1/report".into()).await.0,
        200,
        "served again"
    );
}

async fn the_same_report_is_computed_once_until_the_store_changes(db: Db) {
    let (state, router, _w) = filled(&db, limits(0, Duration::from_secs(30))).await;
    let routes = [
        "/api/v1/report",
        "/api/v1/report?explain=true",
        "/",
        "/explain",
    ];
    let mut first = Vec::new();
    for path in routes {
        let (status, _, body) = get(router.clone(), path.into()).await;
        assert_eq!(status, 200, "{path}: {body}");
        first.push(body);
    }
    assert_eq!(state.answers_from_memory(), 0);
    // The store did not change: answered from memory, even with the only
    // permit held (no computation).
    let permit = state.hold_report_permit().await.unwrap();
    for (path, body) in routes.iter().zip(&first) {
        let (status, _, again) = get(router.clone(), (*path).into()).await;
        assert_eq!(status, 200, "{path}: {again}");
        assert_eq!(&again, body, "{path}");
    }
    assert_eq!(state.answers_from_memory(), routes.len() as u64);
    // A new deployment changes the store: the answer is computed again.
    deliver(&router, &db.url, MORE).await;
    let busy = get(router.clone(), routes[0].into()).await;
    check_busy(routes[0], false, &busy, FULL);
    drop(permit);
    let (status, _, body) = get(router.clone(), routes[0].into()).await;
    assert_eq!(status, 200, "{body}");
    let before: Value = serde_json::from_str(&first[0]).unwrap();
    let after: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(before["source"]["events"], 3);
    assert_eq!(after["source"]["events"], 4);
}
