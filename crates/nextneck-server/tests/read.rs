//! The read side through the real router: the read token, the JSON API and
//! its OpenAPI document, the dashboard showing the API's numbers, and
//! `/metrics` read back with a Prometheus text-format parser; on SQLite and
//! PostgreSQL, over a store filled by webhooks.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request};
use common::*;
use http_body_util::BodyExt;
use nextneck_server::{Options, Workers, app};
use serde_json::Value;
use tower::ServiceExt;

nextneck_testkit::both_backends!(
    async:
    every_read_route_needs_the_read_token_when_one_is_set,
    the_api_serves_reports_and_names_bad_parameters,
    the_dashboard_shows_the_apis_numbers,
    metrics_parse_and_match_the_api,
    the_openapi_document_describes_every_api_path_and_real_responses,
);

const TOKEN: &str = "read-s3cret";

/// A scripted history in the generic format: two services with baselines,
/// changes through the four stages, a failed deployment, an incident linked
/// to a deployment with its postmortem, a hotfix, a staging deployment, a CI
/// run, and two value streams.
const HISTORY: &str = r#"{"type":"deployment","id":"d0","service":"shop","environment":"production","repository":"acme/shop","sha":"a000000000000000000000000000000000000000","finished_at":"2024-01-01T08:00:00Z","status":"success"}
{"type":"deployment","id":"w0","service":"web","environment":"production","repository":"acme/web","sha":"b000000000000000000000000000000000000000","finished_at":"2024-01-02T08:00:00Z","status":"success"}
{"type":"change","id":"acme/shop#1","repository":"acme/shop","number":1,"title":"Cart","author":"ada","opened_at":"2024-01-02T10:00:00Z","first_review_at":"2024-01-02T14:00:00Z","merged_at":"2024-01-03T09:00:00Z","merge_sha":"a100000000000000000000000000000000000000","commits":[{"sha":"c100000000000000000000000000000000000000","authored_at":"2024-01-02T09:00:00Z","author":"ada"}]}
{"type":"deployment","id":"d1","service":"shop","environment":"production","repository":"acme/shop","sha":"a100000000000000000000000000000000000000","finished_at":"2024-01-03T12:00:00Z","status":"success"}
{"type":"change","id":"acme/shop#2","repository":"acme/shop","number":2,"title":"Prices","author":"bob","opened_at":"2024-01-04T12:00:00Z","first_review_at":"2024-01-05T10:00:00Z","merged_at":"2024-01-05T11:00:00Z","merge_sha":"a200000000000000000000000000000000000000","commits":[{"sha":"c200000000000000000000000000000000000000","authored_at":"2024-01-04T09:00:00Z","author":"bob"}]}
{"type":"deployment","id":"d2","service":"shop","environment":"production","repository":"acme/shop","sha":"a200000000000000000000000000000000000000","finished_at":"2024-01-05T15:00:00Z","status":"success"}
{"type":"incident","id":"INC-1","service":"shop","title":"Cart totals wrong","opened_at":"2024-01-05T16:00:00Z","acknowledged_at":"2024-01-05T16:05:00Z","resolved_at":"2024-01-05T19:30:00Z","deployment_id":"d2"}
{"type":"change","id":"acme/shop#3","repository":"acme/shop","number":3,"title":"Hotfix: cart totals","author":"ada","opened_at":"2024-01-05T17:10:00Z","first_review_at":"2024-01-05T17:30:00Z","merged_at":"2024-01-05T18:00:00Z","merge_sha":"a300000000000000000000000000000000000000","commits":[{"sha":"c300000000000000000000000000000000000000","authored_at":"2024-01-05T17:00:00Z","author":"ada"}]}
{"type":"deployment","id":"d3","service":"shop","environment":"production","repository":"acme/shop","sha":"a300000000000000000000000000000000000000","finished_at":"2024-01-05T19:00:00Z","status":"success"}
{"type":"postmortem.published","id":"PM-1","incident_id":"INC-1","published_at":"2024-01-08T10:00:00Z"}
{"type":"change","id":"acme/web#7","repository":"acme/web","number":7,"title":"Header","author":"cy","opened_at":"2024-01-06T10:00:00Z","first_review_at":"2024-01-07T10:00:00Z","merged_at":"2024-01-07T12:00:00Z","merge_sha":"b100000000000000000000000000000000000000","commits":[{"sha":"c700000000000000000000000000000000000000","authored_at":"2024-01-06T09:00:00Z","author":"cy"}]}
{"type":"deployment","id":"w1","service":"web","environment":"production","repository":"acme/web","sha":"b100000000000000000000000000000000000000","finished_at":"2024-01-08T10:00:00Z","status":"failure"}
{"type":"deployment","id":"w2","service":"web","environment":"production","repository":"acme/web","sha":"b100000000000000000000000000000000000000","finished_at":"2024-01-08T13:00:00Z","status":"success"}
{"type":"deployment","id":"s1","service":"shop","environment":"staging","repository":"acme/shop","sha":"a300000000000000000000000000000000000000","finished_at":"2024-01-05T18:30:00Z","status":"success"}
{"type":"ci.run","id":"run-1","workflow":"CI","repository":"acme/shop","sha":"a300000000000000000000000000000000000000","queued_at":"2024-01-05T18:00:00Z","started_at":"2024-01-05T18:01:00Z","finished_at":"2024-01-05T18:11:00Z","conclusion":"success"}
{"type":"stage.transition","id":"h1a","stream":"hiring","item":"c1","stage":"applied","at":"2024-01-01T09:00:00Z"}
{"type":"stage.transition","id":"h1b","stream":"hiring","item":"c1","stage":"screen","at":"2024-01-02T09:00:00Z"}
{"type":"stage.transition","id":"h1c","stream":"hiring","item":"c1","stage":"interview","at":"2024-01-05T09:00:00Z"}
{"type":"stage.transition","id":"h1d","stream":"hiring","item":"c1","stage":"hired","at":"2024-01-06T09:00:00Z"}
{"type":"stage.transition","id":"h2a","stream":"hiring","item":"c2","stage":"applied","at":"2024-01-02T09:00:00Z"}
{"type":"stage.transition","id":"h2b","stream":"hiring","item":"c2","stage":"screen","at":"2024-01-04T09:00:00Z"}
{"type":"stage.transition","id":"h2c","stream":"hiring","item":"c2","stage":"rejected","at":"2024-01-08T09:00:00Z"}
{"type":"stage.transition","id":"h3a","stream":"hiring","item":"c3","stage":"applied","at":"2024-01-03T09:00:00Z"}
{"type":"stage.transition","id":"h3b","stream":"hiring","item":"c3","stage":"screen","at":"2024-01-04T12:00:00Z"}
{"type":"stage.transition","id":"h3c","stream":"hiring","item":"c3","stage":"interview","at":"2024-01-09T09:00:00Z"}
{"type":"stage.transition","id":"h4a","stream":"hiring","item":"c4","stage":"applied","at":"2024-01-06T09:00:00Z"}
{"type":"stage.transition","id":"h4b","stream":"hiring","item":"c4","stage":"screen","at":"2024-01-10T09:00:00Z"}
{"type":"stage.transition","id":"p1a","stream":"support \"tier 2\"","item":"t1","stage":"triage","at":"2024-01-02T09:00:00Z"}
{"type":"stage.transition","id":"p1b","stream":"support \"tier 2\"","item":"t1","stage":"fixing","at":"2024-01-02T13:00:00Z"}
{"type":"stage.transition","id":"p1c","stream":"support \"tier 2\"","item":"t1","stage":"done","at":"2024-01-03T09:00:00Z"}
{"type":"stage.transition","id":"p2a","stream":"support \"tier 2\"","item":"t2","stage":"triage","at":"2024-01-04T09:00:00Z"}
{"type":"stage.transition","id":"p2b","stream":"support \"tier 2\"","item":"t2","stage":"fixing","at":"2024-01-06T09:00:00Z"}
"#;

/// A server (no processor thread) over a store holding [`HISTORY`],
/// processed.
async fn filled(db: &Db, token: Option<&str>) -> (Router, Workers) {
    let mut options = Options::new(secrets());
    options.process = false;
    options.read_token = token.map(str::to_owned);
    options.delivery = nextneck_metrics::DeliverySettings::new("test-store");
    options.delivery.services = ["shop", "web"]
        .map(|name| nextneck_metrics::delivery::ServiceRule {
            name: name.into(),
            repositories: vec![format!("acme/{name}")],
            incident_services: Vec::new(),
        })
        .into();
    options.delivery.teams = vec![nextneck_metrics::delivery::TeamRule {
        name: "web".into(),
        services: vec!["web".into()],
        ..Default::default()
    }];
    let url = db.url.clone();
    let (state, workers) = blocking(move || nextneck_server::start(&url, options).unwrap());
    let router = app(state);
    let resp = router
        .clone()
        .oneshot(signed("events", HISTORY.as_bytes(), &[]))
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let (n, _, status) = process_and_read(&db.url);
    assert_eq!((n, status.failed), (1, 0));
    (router, workers)
}

/// A GET: status, headers, body.
async fn get(router: &Router, path: &str, auth: Option<&str>) -> (u16, HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn get_json(router: &Router, path: &str) -> Value {
    let (status, headers, body) = get(router, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(headers["content-type"], "application/json", "{path}");
    serde_json::from_str(&body).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

const READ_ROUTES: [(&str, bool); 9] = [
    ("/", true),
    ("/explain", true),
    ("/streams", true),
    ("/streams/hiring", true),
    ("/streams/hiring/forecast?items=3", true),
    ("/api/v1/report", false),
    ("/api/v1/streams/hiring", false),
    ("/api/v1/openapi.json", false),
    ("/metrics", false),
];

async fn every_read_route_needs_the_read_token_when_one_is_set(db: Db) {
    let (router, _w) = filled(&db, Some(TOKEN)).await;
    for (path, html) in READ_ROUTES {
        for wrong in [
            None,
            Some("Bearer nope".to_owned()),
            Some(basic("ada", "nope")),
            Some(format!("Token {TOKEN}")),
            Some(basic(TOKEN, "")),
        ] {
            let (status, headers, body) = get(&router, path, wrong.as_deref()).await;
            assert_eq!(status, 401, "{path} {wrong:?}");
            let challenge = headers["www-authenticate"].to_str().unwrap();
            if html {
                assert!(challenge.starts_with("Basic realm=\"nextneck\""), "{path}");
                assert!(body.contains("<h1>Error 401</h1>"), "{path}: {body}");
            } else {
                assert_eq!(challenge, "Bearer realm=\"nextneck\"", "{path}");
                let v: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["code"], "unauthorized", "{path}");
                assert!(!body.contains(TOKEN), "the token is never echoed");
            }
        }
        for right in [format!("Bearer {TOKEN}"), basic("anyone", TOKEN)] {
            let (status, _, body) = get(&router, path, Some(&right)).await;
            assert_eq!(status, 200, "{path} {right}: {body}");
        }
    }
    // Health checks and webhooks keep their own rules.
    assert_eq!(get(&router, "/healthz", None).await.0, 200);
    let resp = router
        .clone()
        .oneshot(signed(
            "events",
            br#"{"type":"stage.transition","id":"x","stream":"s","item":"i","stage":"a","at":"2024-01-01T00:00:00Z"}"#,
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        202,
        "webhooks need their secret, not the read token"
    );
    // Without a token the same routes are open.
    drop(router);
    let db2 = sqlite();
    let (open, _w2) = filled(&db2, None).await;
    for (path, _) in READ_ROUTES {
        assert_eq!(get(&open, path, None).await.0, 200, "{path}");
    }
}

async fn the_api_serves_reports_and_names_bad_parameters(db: Db) {
    let (router, _w) = filled(&db, None).await;
    let all = get_json(&router, "/api/v1/report?since=2024-01-01&until=2024-01-15").await;
    assert_eq!(all["source"]["db"], "test-store");
    assert_eq!(all["source"]["kind"], "events");
    assert_eq!(all["window"]["selection"], "explicit");
    let d = &all["dora"];
    // Six successful production deployments (the staging one is not
    // counted); of seven, two failed: w1 by its status, d2 by an incident.
    assert_eq!(d["deployments"]["count"], 6);
    assert_eq!(d["change_failure_rate"]["deployments"], 7);
    assert_eq!(d["change_failure_rate"]["failed"], 2);
    assert_eq!(d["lead_time"]["changes"], 4);
    assert!(all["explain"].is_null(), "explain only when asked");
    assert!(all["series"].is_null(), "chart data stays on the dashboard");
    assert_eq!(all["incidents"]["count"], 1);
    // The filters are the CLI's.
    let web = get_json(
        &router,
        "/api/v1/report?since=2024-01-01&until=2024-01-15&team=web&explain=true",
    )
    .await;
    assert_eq!(web["dora"]["deployments"]["count"], 2);
    let deployments = web["explain"]["delivery"]["deployments"]
        .as_array()
        .unwrap();
    assert!(deployments.iter().all(|x| x["service"] == "web"));
    let shop = get_json(
        &router,
        "/api/v1/report?since=2024-01-01&until=2024-01-15&repo=acme%2Fshop&service=sh*",
    )
    .await;
    assert_eq!(shop["dora"]["deployments"]["count"], 4);
    // The default window is the 90 days ending with the newest event's day.
    let default = get_json(&router, "/api/v1/report").await;
    assert_eq!(default["window"]["selection"], "default");
    assert_eq!(default["window"]["until"], "2024-01-09T00:00:00Z");

    // Streams.
    let streams = get_json(&router, "/api/v1/streams").await;
    assert_eq!(streams["kind"], "streams");
    let names: Vec<&str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"]["stream"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hiring", "support \"tier 2\""]);
    let hiring = get_json(&router, "/api/v1/streams/hiring").await;
    assert_eq!(hiring["kind"], "flow");
    assert_eq!(hiring["flow"]["wip"], 2);
    assert_eq!(
        hiring, streams["streams"][0],
        "one stream is its part of all"
    );
    let support = get_json(&router, "/api/v1/streams/support%20%22tier%202%22?all").await;
    assert_eq!(support["source"]["stream"], "support \"tier 2\"");
    let forecast = get_json(&router, "/api/v1/streams/hiring/forecast?items=3&seed=7").await;
    assert_eq!(forecast["kind"], "forecast");
    assert_eq!(forecast["seed"], 7);
    assert_eq!(forecast["forecast"]["when"]["items"], 3);
    let again = get_json(&router, "/api/v1/streams/hiring/forecast?items=3&seed=7").await;
    assert_eq!(forecast, again, "the same seed gives the same forecast");

    // Mistakes are 4xx with a stable code and a message naming the parameter.
    let check = |path: &'static str, status: u16, code: &'static str, says: &'static str| {
        let router = router.clone();
        async move {
            let (got, headers, body) = get(&router, path, None).await;
            assert_eq!(got, status, "{path}: {body}");
            assert_eq!(headers["content-type"], "application/json");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], code, "{path}");
            let message = v["message"].as_str().unwrap();
            assert!(message.contains(says), "{path}: {message}");
        }
    };
    check(
        "/api/v1/report?since=last-week",
        400,
        "bad_parameter",
        "since: `last-week` is not a date; use an RFC 3339 date",
    )
    .await;
    check(
        "/api/v1/report?since=2024-02-01&until=2024-01-01",
        400,
        "empty_window",
        "since must be before until",
    )
    .await;
    check(
        "/api/v1/report?all&until=2024-01-01",
        400,
        "conflicting_parameters",
        "all:",
    )
    .await;
    check(
        "/api/v1/report?team=ops",
        400,
        "unknown_team",
        "team: no team `ops`",
    )
    .await;
    check(
        "/api/v1/report?servce=x",
        400,
        "unknown_parameter",
        "servce: no such parameter",
    )
    .await;
    check(
        "/api/v1/streams/hiring?repo=x",
        400,
        "unknown_parameter",
        "this endpoint takes since, until, all",
    )
    .await;
    check(
        "/api/v1/streams/nope",
        404,
        "unknown_stream",
        "no stream `nope` in the store (it has hiring, support \"tier 2\")",
    )
    .await;
    check(
        "/api/v1/streams/hiring/forecast",
        400,
        "missing_parameter",
        "items or days",
    )
    .await;
    check(
        "/api/v1/streams/hiring/forecast?items=2&trials=0",
        400,
        "bad_parameter",
        "trials: `0` is not a whole number from 1 to 1000000",
    )
    .await;
    check("/api/v1/nope", 404, "not_found", "openapi.json").await;
}

/// The exact figure a dashboard page carries (`data-figure`/`data-value`).
fn figure(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("data-figure=\"{name}\""))?;
    let rest = &html[at..html[at..].find('>').map_or(html.len(), |e| at + e)];
    let v = rest.split("data-value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_owned())
}

fn number(v: &Value) -> Option<String> {
    v.as_f64().map(|f| f.to_string())
}

async fn the_dashboard_shows_the_apis_numbers(db: Db) {
    let (router, _w) = filled(&db, None).await;
    for query in [
        "",
        "since=2024-01-01&until=2024-01-15",
        "since=2024-01-01&until=2024-01-15&team=web",
        "since=2024-01-04&until=2024-01-09&repo=acme%2Fshop",
        "all=on&service=shop",
    ] {
        let (status, headers, page) = get(&router, &format!("/?{query}"), None).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let api = get_json(&router, &format!("/api/v1/report?{query}")).await;
        let d = &api["dora"];
        let pairs = [
            ("deployments", &d["deployment_frequency"]["per_week"]),
            ("lead_time", &d["lead_time"]["median_seconds"]),
            ("change_failure_rate", &d["change_failure_rate"]["ratio"]),
            ("recovery_time", &d["recovery_time"]["median_seconds"]),
            ("rework_rate", &d["rework_rate"]["ratio"]),
        ];
        for (name, value) in pairs {
            assert_eq!(figure(&page, name), number(value), "{query}: {name}");
        }
        assert_eq!(
            figure(&page, "bottleneck"),
            api["bottleneck"]["stage"].as_str().map(str::to_owned),
            "{query}: bottleneck"
        );
        assert!(
            page.contains(&format!(
                "{} deployments in the window",
                d["change_failure_rate"]["deployments"]
            )),
            "{query}: deployments count"
        );
        // Every figure links to the detail behind it, with the same query.
        let detail = if query.is_empty() {
            "/explain#".to_owned()
        } else {
            format!("/explain?{}#", query.replace("all=on", "all=true"))
        };
        for anchor in ["deployments", "changes", "failures", "recovery", "rework"] {
            assert!(
                page.contains(&format!(
                    "href=\"{}{anchor}\"",
                    detail.replace('&', "&amp;")
                )),
                "{query}: no link to {anchor}"
            );
        }
        // The detail lists what the API's explain lists.
        let (status, _, explain) = get(&router, &format!("/explain?{query}"), None).await;
        assert_eq!(status, 200);
        let full = get_json(&router, &format!("/api/v1/report?{query}&explain=true")).await;
        let e = &full["explain"]["delivery"];
        assert!(explain.contains(&format!(
            "<h2>Deployments ({})</h2>",
            e["deployments"].as_array().unwrap().len()
        )));
        assert!(explain.contains(&format!(
            "<h2>Incidents ({})</h2>",
            e["incidents"].as_array().unwrap().len()
        )));
        for dep in e["deployments"].as_array().unwrap() {
            let name = format!(
                "<td>{}:{}</td>",
                dep["source"].as_str().unwrap(),
                dep["id"].as_str().unwrap()
            );
            assert!(
                explain.contains(&name),
                "{query}: {name} missing from the detail"
            );
        }
    }
    // The pages are self-contained: no scripts, nothing from elsewhere.
    for path in [
        "/",
        "/explain",
        "/streams",
        "/streams/hiring",
        "/streams/hiring/forecast?days=7",
    ] {
        let (status, _, page) = get(&router, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.starts_with("<!doctype html>"), "{path}");
        for remote in [
            "src=\"http",
            "href=\"http",
            "url(",
            "<script",
            "<link",
            "@import",
        ] {
            assert!(!page.contains(remote), "{path} has {remote}");
        }
    }
    // The streams page ranks what the API ranks and links each stream.
    let (_, _, page) = get(&router, "/streams", None).await;
    let api = get_json(&router, "/api/v1/streams").await;
    for row in api["overview"].as_array().unwrap() {
        let stream = row["stream"].as_str().unwrap();
        assert!(
            page.contains(&format!(
                "href=\"/streams/{}\"",
                stream.replace(' ', "%20").replace('"', "%22")
            )),
            "{stream}"
        );
    }
    let (_, _, page) = get(&router, "/streams/hiring", None).await;
    assert!(page.contains("Where hiring waits"));
    // Errors are pages on the dashboard.
    let (status, _, page) = get(&router, "/?since=soon", None).await;
    assert_eq!(status, 400);
    assert!(page.contains("since: `soon` is not a date"), "{page}");
    let (status, _, page) = get(&router, "/streams/nope", None).await;
    assert_eq!(status, 404);
    assert!(page.contains("<h1>Error 404</h1>"));
}

type Labels = BTreeMap<String, String>;

/// A strict reading of the 0.0.4 text format: every family has one `# HELP`
/// then one `# TYPE` (counter or gauge) before its samples; a sample is
/// `name{label="value",...} value` with `\\`, `\"` and `\n` escapes in
/// label values, and a finite value.
struct Exposition {
    families: BTreeSet<String>,
    samples: Vec<(String, Labels, f64)>,
}

fn parse_strict(text: &str) -> Exposition {
    let mut families = BTreeSet::new();
    let mut helped = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(helped.insert(name.to_owned()), "two HELP lines for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(
                families.insert(name.to_owned()),
                "two TYPE lines for {name}"
            );
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (name, labels, value) = parse_sample(line);
        assert!(families.contains(&name), "a sample before its TYPE: {line}");
        samples.push((name, labels, value));
    }
    Exposition { families, samples }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn parse_sample(line: &str) -> (String, Labels, f64) {
    let mut it = line.chars().peekable();
    let mut name = String::new();
    while let Some(&c) = it.peek() {
        if c == '{' || c == ' ' {
            break;
        }
        name.push(c);
        it.next();
    }
    assert!(is_name(&name), "{line}");
    let mut labels = Labels::new();
    if it.peek() == Some(&'{') {
        it.next();
        loop {
            let mut key = String::new();
            loop {
                match it.next() {
                    Some('=') => break,
                    Some(c) => key.push(c),
                    None => panic!("unterminated label in {line}"),
                }
            }
            assert!(is_name(&key), "label name {key:?} in {line}");
            assert_eq!(it.next(), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match it.next() {
                    Some('\\') => match it.next() {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => panic!("unterminated label value in {line}"),
                }
            }
            assert!(
                labels.insert(key, value).is_none(),
                "a label twice in {line}"
            );
            match it.next() {
                Some(',') => {}
                Some('}') => break,
                other => panic!("{other:?} after a label value in {line}"),
            }
        }
    }
    assert_eq!(it.next(), Some(' '), "{line}");
    let value: String = it.collect();
    let v: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("not a value (or a timestamp follows): {line}"));
    assert!(v.is_finite(), "{line}");
    (name, labels, v)
}

impl Exposition {
    /// Reads the text strictly and with the `prometheus-parse` crate, and
    /// checks both read the same samples.
    fn read(text: &str) -> Exposition {
        let strict = parse_strict(text);
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        assert_eq!(scrape.samples.len(), strict.samples.len(), "samples read");
        for family in &strict.families {
            assert!(scrape.docs.contains_key(family), "{family}: no HELP read");
        }
        for (s, (name, labels, value)) in scrape.samples.iter().zip(&strict.samples) {
            assert_eq!(&s.metric, name);
            let v = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("{name}: not a plain sample"),
            };
            assert_eq!(v, *value, "{name}");
            // The crate does not unescape label values; plain ones agree.
            if labels
                .values()
                .all(|v| !v.contains(['\\', '"', '\n', ',', '=']))
            {
                let theirs: Labels = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(&theirs, labels, "{name}");
            }
        }
        strict
    }

    fn samples(&self, name: &str) -> BTreeMap<Labels, f64> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }

    fn one(&self, name: &str) -> Option<f64> {
        let s = self.samples(name);
        assert!(s.len() <= 1, "{name}: {s:?}");
        s.get(&Labels::new()).copied()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn metrics_parse_and_match_the_api(db: Db) {
    let (router, _w) = filled(&db, None).await;
    // A refused webhook is counted too.
    let resp = router
        .clone()
        .oneshot(
            Request::post("/hooks/events")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, headers, text) = get(&router, "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let scrape = Exposition::read(&text);
    assert!(scrape.families.len() >= 30, "{:?}", scrape.families);
    // The figures are the API's over the default window.
    let api = get_json(&router, "/api/v1/report").await;
    let d = &api["dora"];
    let f = |v: &Value| v.as_f64();
    assert_eq!(
        scrape.one("nextneck_deployments"),
        f(&d["deployments"]["count"])
    );
    assert_eq!(
        scrape.one("nextneck_deployment_frequency_per_week"),
        f(&d["deployment_frequency"]["per_week"])
    );
    assert_eq!(
        scrape.one("nextneck_lead_time_median_seconds"),
        f(&d["lead_time"]["median_seconds"])
    );
    assert_eq!(
        scrape.one("nextneck_lead_time_p85_seconds"),
        f(&d["lead_time"]["p85_seconds"])
    );
    assert_eq!(
        scrape.one("nextneck_change_failure_rate"),
        f(&d["change_failure_rate"]["ratio"])
    );
    assert_eq!(
        scrape.one("nextneck_recovery_time_median_seconds"),
        f(&d["recovery_time"]["median_seconds"])
    );
    assert!(scrape.one("nextneck_lead_time_median_seconds").is_some());
    let stages = scrape.samples("nextneck_stage_median_seconds");
    for s in api["stages"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(
            stages.get(&labels(&[("stage", name)])).copied(),
            f(&s["median_seconds"]),
            "{name}"
        );
    }
    assert_eq!(
        scrape.samples("nextneck_bottleneck_share"),
        BTreeMap::from([(
            labels(&[("stage", api["bottleneck"]["stage"].as_str().unwrap())]),
            f(&api["bottleneck"]["share"]).unwrap()
        )])
    );
    // Streams, with a label value that needs escaping.
    let streams = get_json(&router, "/api/v1/streams").await;
    let shares = scrape.samples("nextneck_stream_bottleneck_share");
    let wip = scrape.samples("nextneck_stream_wip");
    for s in streams["streams"].as_array().unwrap() {
        let name = s["source"]["stream"].as_str().unwrap();
        assert_eq!(
            wip.get(&labels(&[("stream", name)])).copied(),
            f(&s["flow"]["wip"]),
            "{name}"
        );
        let b = &s["bottleneck"];
        assert_eq!(
            shares
                .get(&labels(&[
                    ("stream", name),
                    ("stage", b["stage"].as_str().unwrap())
                ]))
                .copied(),
            f(&b["share"]),
            "{name}"
        );
    }
    assert!(
        text.contains("stream=\"support \\\"tier 2\\\"\""),
        "escaped"
    );
    // The service's health.
    assert_eq!(
        scrape.samples("nextneck_deliveries_received_total"),
        BTreeMap::from([
            (labels(&[("provider", "events"), ("status", "202")]), 1.0),
            (labels(&[("provider", "events"), ("status", "401")]), 1.0),
        ])
    );
    assert_eq!(scrape.one("nextneck_backlog_deliveries"), Some(0.0));
    assert_eq!(scrape.one("nextneck_processing_lag_seconds"), Some(0.0));
    assert_eq!(
        scrape
            .samples("nextneck_store_errors_total")
            .values()
            .sum::<f64>(),
        0.0
    );
    assert_eq!(
        scrape.samples("nextneck_build_info"),
        BTreeMap::from([(labels(&[("version", env!("CARGO_PKG_VERSION"))]), 1.0)])
    );
    // Scraping again computes nothing: the store's events did not change.
    assert_eq!(scrape.one("nextneck_report_computations_total"), Some(1.0));
    let (_, _, again) = get(&router, "/metrics", None).await;
    let scrape = Exposition::read(&again);
    assert_eq!(scrape.one("nextneck_report_computations_total"), Some(1.0));
    // A new delivery waits in the backlog (the figures stay cached) ...
    let more = br#"{"type":"deployment","id":"d9","service":"shop","environment":"production","repository":"acme/shop","finished_at":"2024-01-10T12:00:00Z","status":"success"}"#;
    let resp = router
        .clone()
        .oneshot(signed("events", more, &[]))
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let (_, _, text) = get(&router, "/metrics", None).await;
    let scrape = Exposition::read(&text);
    assert_eq!(scrape.one("nextneck_backlog_deliveries"), Some(1.0));
    assert!(scrape.one("nextneck_processing_lag_seconds").unwrap() >= 0.0);
    assert_eq!(scrape.one("nextneck_report_computations_total"), Some(1.0));
    // ... and once processed, the figures are computed again.
    process_and_read(&db.url);
    let (_, _, text) = get(&router, "/metrics", None).await;
    let scrape = Exposition::read(&text);
    assert_eq!(scrape.one("nextneck_report_computations_total"), Some(2.0));
    assert_eq!(
        scrape.one("nextneck_deployments"),
        f(&d["deployments"]["count"]).map(|n| n + 1.0)
    );
}

/// Resolves `{"$ref": "#/components/..."}`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap();
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("{r} is not in the document")),
            )
        }
        None => schema,
    }
}

/// Checks that `value` has every property `schema` marks required, deeply.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, checked: &mut usize) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        let types = &schema["type"];
        let nullable = types == "null"
            || types
                .as_array()
                .is_some_and(|t| t.contains(&Value::from("null")))
            || schema["oneOf"]
                .as_array()
                .is_some_and(|o| o.iter().any(|s| resolve(doc, s)["type"] == "null"));
        assert!(nullable, "{at} is null but its schema does not allow it");
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            conforms(doc, s, value, at, checked);
        }
    }
    if let Some(one_of) = schema["oneOf"].as_array() {
        let s = one_of
            .iter()
            .find(|s| resolve(doc, s)["type"] != "null")
            .unwrap();
        conforms(doc, s, value, at, checked);
    }
    if let Some(required) = schema["required"].as_array() {
        for name in required {
            let name = name.as_str().unwrap();
            assert!(
                value.get(name).is_some(),
                "{at}.{name} is required but missing"
            );
            *checked += 1;
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, s) in props {
            if let Some(v) = obj.get(name) {
                conforms(doc, s, v, &format!("{at}.{name}"), checked);
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"), checked);
        }
    }
}

async fn the_openapi_document_describes_every_api_path_and_real_responses(db: Db) {
    let (router, _w) = filled(&db, None).await;
    let doc = get_json(&router, "/api/v1/openapi.json").await;
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(nextneck_server::OPENAPI).unwrap()
    );
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    let paths = doc["paths"].as_object().unwrap();
    let served: BTreeSet<&str> = nextneck_server::api_paths().into_iter().collect();
    let described: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(
        served, described,
        "every path served is described, and only those"
    );
    // Every parameter a path takes is described, and every $ref resolves.
    fn refs(doc: &Value, v: &Value) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    assert!(doc.pointer(r.strip_prefix('#').unwrap()).is_some(), "{r}");
                }
                o.values().for_each(|x| refs(doc, x));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(doc, x)),
            _ => {}
        }
    }
    refs(&doc, &doc);
    let params = |path: &str| -> BTreeSet<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p)["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        params("/api/v1/report"),
        [
            "since", "until", "all", "repo", "service", "team", "explain"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        params("/api/v1/streams/{name}/forecast"),
        ["name", "items", "days", "seed", "trials", "since", "until"]
            .map(String::from)
            .into()
    );
    // Every path that computes a report documents the 503 of a busy server
    // (`busy`, with Retry-After) and of an unreadable store.
    for path in nextneck_server::api_paths() {
        let unavailable = &doc["paths"][path]["get"]["responses"]["503"];
        if path == "/api/v1/openapi.json" {
            assert!(unavailable.is_null(), "{path} computes nothing");
            continue;
        }
        let unavailable = resolve(&doc, unavailable);
        let description = unavailable["description"].as_str().unwrap_or_default();
        for code in ["`busy`", "`store_unavailable`"] {
            assert!(description.contains(code), "{path} 503: {description}");
        }
        assert_eq!(
            unavailable["headers"]["Retry-After"]["schema"]["type"], "integer",
            "{path} 503 documents Retry-After"
        );
    }
    // Real responses carry what the schemas require, for successes and errors.
    let mut checked = 0;
    for (path, template, status) in [
        (
            "/api/v1/report?since=2024-01-01&until=2024-01-15&explain=true",
            "/api/v1/report",
            "200",
        ),
        ("/api/v1/report", "/api/v1/report", "200"),
        ("/api/v1/streams", "/api/v1/streams", "200"),
        ("/api/v1/streams/hiring", "/api/v1/streams/{name}", "200"),
        (
            "/api/v1/streams/hiring/forecast?items=3&days=5",
            "/api/v1/streams/{name}/forecast",
            "200",
        ),
        ("/api/v1/report?since=x", "/api/v1/report", "400"),
        ("/api/v1/streams/nope", "/api/v1/streams/{name}", "404"),
        (
            "/api/v1/streams/hiring/forecast",
            "/api/v1/streams/{name}/forecast",
            "400",
        ),
    ] {
        let (got, _, body) = get(&router, path, None).await;
        assert_eq!(got.to_string(), status, "{path}");
        let response = resolve(&doc, &doc["paths"][template]["get"]["responses"][status]);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(!schema.is_null(), "{template} {status} has no schema");
        conforms(
            &doc,
            schema,
            &serde_json::from_str(&body).unwrap(),
            path,
            &mut checked,
        );
    }
    assert!(checked > 300, "only {checked} required properties checked");
}

/// Every metric name the Grafana dashboard's queries use is one `/metrics`
/// exposes.
#[tokio::test]
async fn the_grafana_dashboard_uses_only_exposed_metrics() {
    let db = sqlite();
    let (router, _w) = filled(&db, None).await;
    let (_, _, text) = get(&router, "/metrics", None).await;
    let exposed = Exposition::read(&text).families;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/nextneck.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // Importable: a datasource input the panels use.
    assert_eq!(dashboard["__inputs"][0]["type"], "datasource");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    let input = format!(
        "${{{}}}",
        dashboard["__inputs"][0]["name"].as_str().unwrap()
    );
    let mut exprs = Vec::new();
    let mut panels = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            continue;
        }
        panels += 1;
        assert_eq!(panel["datasource"]["uid"], input, "{}", panel["title"]);
        for target in panel["targets"].as_array().unwrap() {
            exprs.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(panels >= 10, "{panels} panels");
    let mut used = BTreeSet::new();
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("nextneck_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            used.insert(name);
        }
    }
    let missing: Vec<&String> = used.iter().filter(|n| !exposed.contains(*n)).collect();
    assert!(missing.is_empty(), "not exposed: {missing:?}");
    for family in [
        "nextneck_deployment_frequency_per_week",
        "nextneck_lead_time_median_seconds",
        "nextneck_change_failure_rate",
        "nextneck_recovery_time_median_seconds",
        "nextneck_stage_median_seconds",
        "nextneck_stream_bottleneck_share",
        "nextneck_deliveries_received_total",
        "nextneck_processing_lag_seconds",
        "nextneck_store_errors_total",
    ] {
        assert!(used.contains(family), "no panel shows {family}");
    }
}
