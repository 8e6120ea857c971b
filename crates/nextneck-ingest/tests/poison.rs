//! Poison input: whatever a sender posts, `convert` answers with an error
//! naming what is wrong (and the limit, when one was crossed), never a
//! panic, a stack overflow or a value a backend cannot store.
//!
//! Each test runs on the test harness's thread, whose 2 MiB stack is the
//! size of a tokio worker's: a recursion the limits did not bound would
//! overflow it and abort the test binary.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert, dedupe_key};

/// The issue's report: `d` nested `<testsuite>` elements around one case.
fn nested_junit(d: usize) -> Vec<u8> {
    let mut body = b"<testsuites>".to_vec();
    for _ in 0..d {
        body.extend_from_slice(b"<testsuite name=\"s\">");
    }
    body.extend_from_slice(b"<testcase classname=\"c\" name=\"t\"/>");
    for _ in 0..d {
        body.extend_from_slice(b"</testsuite>");
    }
    body.extend_from_slice(b"</testsuites>");
    body
}

/// The error `convert` gives, as text; panics if it succeeds.
fn error(provider: Provider, headers: &[(&str, &str)], body: &[u8]) -> String {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match convert(provider, &headers, body) {
        Ok(c) => panic!("{provider} accepted {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn check(provider: Provider, body: &[u8], want: &str) {
    assert_eq!(error(provider, &[], body), want);
}

#[test]
fn deeply_nested_junit_reports_are_refused_by_the_depth_limit() {
    let want = "line 1, column 1993: test suites are nested deeper than 100 levels, the limit; flatten the report";
    for d in [2_100, 10_000, 200_000] {
        check(Provider::Junit, &nested_junit(d), want);
    }
    // At the limit it is read.
    let ok = convert(Provider::Junit, &[], &nested_junit(99)).unwrap();
    assert_eq!(ok.events.unwrap().len(), 1);
}

#[test]
fn deeply_nested_json_is_refused_naming_the_limit() {
    let deep = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes();
    for p in [
        Provider::Github,
        Provider::Gitlab,
        Provider::Pagerduty,
        Provider::Opsgenie,
        Provider::Jira,
    ] {
        check(
            p,
            &deep(100_000),
            "not valid JSON: arrays and objects are nested deeper than 128 levels, the limit (line 1, column 128)",
        );
    }
    let line = format!(
        "{{\"type\": \"deployment\", \"id\": {}}}",
        String::from_utf8(deep(5_000)).unwrap()
    );
    check(
        Provider::Events,
        line.as_bytes(),
        "line 1: not valid JSON: arrays and objects are nested deeper than 128 levels, the limit (line 1, column 156)",
    );
}

#[test]
fn a_nul_character_is_refused_naming_the_field() {
    let nul =
        "field {}: contains a NUL character (\\u0000), which nextneck does not store; remove it";
    let want = |path: &str| nul.replace("{}", path);
    check(
        Provider::Events,
        br#"{"type":"deployment","id":"dep\u0000x","status":"success","finished_at":"2024-03-01T12:00:00Z"}"#,
        &format!("line 1: {}", want("id")),
    );
    check(
        Provider::Github,
        br#"{"action":"opened","repository":{"full_name":"a/b\u0000"},"pull_request":{}}"#,
        &want("repository.full_name"),
    );
    check(
        Provider::Gitlab,
        br#"{"object_kind":"push\u0000"}"#,
        &want("object_kind"),
    );
    check(
        Provider::Pagerduty,
        br#"{"event":{"event_type":"incident.triggered\u0000"}}"#,
        &want("event.event_type"),
    );
    check(
        Provider::Jira,
        br#"{"webhookEvent":"jira:issue_updated\u0000"}"#,
        &want("webhookEvent"),
    );
    check(
        Provider::Opsgenie,
        br#"{"action":"Create\u0000"}"#,
        &want("action"),
    );
    check(Provider::Opsgenie, br#"{"a\u0000b":1}"#, &want("a\\u{0}b"));
}

#[test]
fn generic_events_refuse_numbers_where_the_schema_says_string() {
    check(
        Provider::Events,
        br#"{"type":"change","id":"c1","opened_at":12345}"#,
        "line 1: field opened_at: expected a time as an RFC 3339 string such as \"2024-03-01T12:00:00Z\", found a number",
    );
    check(
        Provider::Events,
        br#"{"type":"stage.transition","id":7,"stream":"s","item":"i","stage":"a","at":"2024-03-01T12:00:00Z"}"#,
        "line 1: field id: expected a string, found a number",
    );
    check(
        Provider::Events,
        br#"{"type":"stage.transition","id":"t","stream":"s","item":8,"stage":"a","at":"2024-03-01T12:00:00Z"}"#,
        "line 1: field item: expected a string, found a number",
    );
    check(
        Provider::Events,
        br#"{"type":"incident","id":"i","opened_at":"2024-03-01T12:00:00Z","deployment_id":3}"#,
        "line 1: field deployment_id: expected a string, found a number",
    );
    check(
        Provider::Events,
        br#"{"type":"change","id":"c","opened_at":"2024-03-01T12:00:00Z","commits":[{"sha":"a","authored_at":1}]}"#,
        "line 1: field commits[0].authored_at: expected a time as an RFC 3339 string such as \"2024-03-01T12:00:00Z\", found a number",
    );
}

#[test]
fn a_form_encoded_github_hook_is_told_to_choose_json() {
    let want = "the body is form-encoded (application/x-www-form-urlencoded), not JSON; set the webhook's content type to application/json in its GitHub settings";
    assert_eq!(
        error(
            Provider::Github,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-github-event", "ping")
            ],
            b"payload=%7B%22zen%22%3A%22x%22%7D"
        ),
        want
    );
    check(Provider::Github, b"payload=%7B%7D", want);
}

#[test]
fn errors_quote_control_characters_escaped() {
    let e = error(
        Provider::Events,
        &[],
        b"{\"type\":\"deployment\",\"id\":\"d\",\"status\":\"success\",\"finished_at\":\"2024-03-01T12:00:00Z\",\"x\\u001b[31m\":1}",
    );
    assert!(!e.chars().any(char::is_control), "{e:?}");
    assert!(
        e.starts_with("line 1: field x\\u{1b}[31m: unknown field"),
        "{e}"
    );
}

#[test]
fn long_delivery_ids_are_hashed_into_the_dedupe_key() {
    let h = |v: String| vec![("x-github-delivery".to_owned(), v)];
    let short = "a".repeat(200);
    assert_eq!(
        dedupe_key(Provider::Github, &h(short.clone()), b"{}"),
        short
    );
    let long = dedupe_key(Provider::Github, &h("a".repeat(60_000)), b"{}");
    assert_eq!(long.len(), "id-sha256:".len() + 64);
    assert!(long.starts_with("id-sha256:"));
    assert_ne!(
        long,
        dedupe_key(Provider::Github, &h("b".repeat(60_000)), b"{}")
    );
}

#[test]
fn a_nul_character_reference_in_junit_is_refused() {
    let e = error(
        Provider::Junit,
        &[],
        b"<testsuites><testcase classname=\"c\" name=\"a&#0;b\"/></testsuites>",
    );
    assert!(!e.chars().any(char::is_control), "{e:?}");
    assert!(e.starts_with("line 1, column "), "{e}");
}
