//! Fuzzing on stable Rust: property-based generation and mutation of the
//! recorded fixtures (`../shared/fixtures`) through every converter:
//! `convert` for each provider, the generic format, JUnit, and time
//! parsing. The property: no panic, no stack overflow (the harness thread
//! has a tokio worker's 2 MiB stack), and every error is well-formed (lower
//! case, no trailing period, no raw control character).
//!
//! `cargo test` runs a bounded number of cases per target
//! (`NEXTNECK_FUZZ_CASES`, default 64); `scripts/fuzz.sh` runs many more.
//! A failure found is kept below as a regression case.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert, parse_time};
use nextneck_testkit::fixture_files;
use nextneck_testkit::fuzz::{self, Mutation, Space, mutate, runner};
use proptest::prelude::*;
use serde_json::Value;

fn fixtures(dir: &str) -> Vec<Vec<u8>> {
    fixture_files(dir)
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Converts; an error must be well-formed. Events are serialized, as the
/// store does, to reach every field.
fn check(provider: Provider, headers: &[(String, String)], body: &[u8]) {
    match convert(provider, headers, body) {
        Ok(c) => {
            for e in c.events.unwrap_or_default() {
                serde_json::to_string(&e).unwrap();
                let _ = e.entity_id();
            }
        }
        Err(e) => fuzz::assert_well_formed(&provider.to_string(), &e.to_string()),
    }
}

/// The bytes that matter to JSON and XML.
const SPACE: Space = Space {
    bytes: b"{}[]\"<>/\\:,\x00\xff",
    delete_below: 64,
    insert_below: 16,
    duplicate_below: 256,
    truncate: true,
};

fn mutation() -> impl Strategy<Value = Mutation> {
    fuzz::mutation(SPACE)
}

/// Any JSON value, a few levels deep, with the strings that hurt (NUL,
/// control characters, times, huge numbers).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        Just(Value::String("2024-03-01T12:00:00Z".to_owned())),
        Just(Value::String("a\u{0}b\u{1b}[31m".to_owned())),
        Just(Value::String(String::new())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every value's place in a document, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// A fixture with some of its values replaced (keeps the document's shape,
/// so the converters get past parsing and reach their fields).
fn replace_values(body: &[u8], edits: &[(usize, Value)]) -> Vec<u8> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    for (at, value) in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let pointer = &all[at % all.len()];
        if pointer.is_empty() {
            continue;
        }
        if let Some(slot) = doc.pointer_mut(pointer) {
            *slot = value.clone();
        }
    }
    serde_json::to_vec(&doc).unwrap()
}

const JSON_PROVIDERS: [(Provider, &str); 5] = [
    (Provider::Github, "github"),
    (Provider::Gitlab, "gitlab"),
    (Provider::Pagerduty, "pagerduty"),
    (Provider::Opsgenie, "opsgenie"),
    (Provider::Jira, "jira"),
];

#[test]
fn json_providers_survive_mutated_fixtures() {
    for (provider, dir) in JSON_PROVIDERS {
        let bodies = fixtures(dir);
        runner()
            .run(
                &(0..bodies.len(), proptest::collection::vec(mutation(), 1..6)),
                |(i, mutations)| {
                    check(provider, &[], &mutate(bodies[i].clone(), &mutations));
                    Ok(())
                },
            )
            .unwrap();
    }
}

#[test]
fn json_providers_survive_fixtures_with_values_replaced() {
    for (provider, dir) in JSON_PROVIDERS {
        let bodies = fixtures(dir);
        runner()
            .run(
                &(
                    0..bodies.len(),
                    proptest::collection::vec((any::<usize>(), json_value()), 1..5),
                ),
                |(i, edits)| {
                    let body = replace_values(&bodies[i], &edits);
                    check(provider, &[], &body);
                    // With the header GitHub sends, too.
                    if provider == Provider::Github {
                        let h = [("x-github-event".to_owned(), "pull_request".to_owned())];
                        check(provider, &h, &body);
                    }
                    Ok(())
                },
            )
            .unwrap();
    }
}

#[test]
fn json_providers_survive_generated_documents() {
    for (provider, _) in JSON_PROVIDERS {
        runner()
            .run(&json_value(), |v| {
                check(provider, &[], &serde_json::to_vec(&v).unwrap());
                Ok(())
            })
            .unwrap();
    }
}

/// The documented examples of the generic format, one line each.
fn generic_lines() -> Vec<Vec<u8>> {
    vec![
        br#"{"type": "deployment", "id": "d1", "service": "checkout", "environment": "production", "production": true, "repository": "acme/shop", "sha": "9f2c", "started_at": "2024-03-01T12:00:00Z", "finished_at": "2024-03-01T12:04:30Z", "status": "success"}"#.to_vec(),
        br#"{"type": "change", "id": "acme/shop#812", "repository": "acme/shop", "number": 812, "title": "Faster cart", "author": "ada", "opened_at": "2024-02-28T09:00:00Z", "merged_at": "2024-03-01T11:00:00Z", "commits": [{"sha": "0b1c", "authored_at": "2024-02-27T17:45:00Z", "author": "ada"}]}"#.to_vec(),
        br#"{"type": "ci.run", "id": "j-1042", "workflow": "shop/main", "queued_at": "2024-03-01T11:01:00Z", "finished_at": "2024-03-01T11:19:00Z", "conclusion": "success"}"#.to_vec(),
        br#"{"type": "incident", "id": "INC-77", "opened_at": "2024-03-01T16:10:00Z", "resolved_at": "2024-03-01T17:00:00Z", "deployment_id": "d1"}"#.to_vec(),
        br#"{"type": "postmortem.published", "id": "PM-77", "incident_id": "INC-77", "published_at": "2024-03-04T10:00:00Z"}"#.to_vec(),
        br#"{"type": "stage.transition", "id": "c-19-a", "stream": "hiring", "item": "c-19", "stage": "applied", "at": "2024-02-01T09:00:00Z"}"#.to_vec(),
    ]
}

#[test]
fn the_generic_format_survives_mutation_and_replaced_values() {
    let lines = generic_lines();
    runner()
        .run(
            &(
                proptest::collection::vec(0..lines.len(), 1..4),
                proptest::collection::vec(mutation(), 0..4),
                proptest::collection::vec((any::<usize>(), json_value()), 0..4),
            ),
            |(picked, mutations, edits)| {
                let mut body = Vec::new();
                for i in picked {
                    body.extend(replace_values(&lines[i], &edits));
                    body.push(b'\n');
                }
                check(Provider::Events, &[], &mutate(body, &mutations));
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn junit_survives_mutated_fixtures() {
    let bodies = fixtures("junit");
    let headers = [
        ("x-nextneck-commit".to_owned(), "abc".to_owned()),
        ("x-nextneck-file".to_owned(), "report.xml".to_owned()),
    ];
    runner()
        .run(
            &(0..bodies.len(), proptest::collection::vec(mutation(), 1..6)),
            |(i, mutations)| {
                check(
                    Provider::Junit,
                    &headers,
                    &mutate(bodies[i].clone(), &mutations),
                );
                Ok(())
            },
        )
        .unwrap();
}

/// Generated JUnit: suites nested to any depth, cases with any attributes.
#[test]
fn junit_survives_generated_reports() {
    let attr = prop_oneof![
        Just(String::new()),
        Just("1.5".to_owned()),
        Just("1,234.5".to_owned()),
        Just("NaN".to_owned()),
        Just("-1e309".to_owned()),
        Just("2024-03-01T12:00:00".to_owned()),
        any::<String>().prop_map(|s| s.replace(['<', '&', '"'], "")),
    ];
    runner()
        .run(
            &(
                0usize..300,
                proptest::collection::vec((attr.clone(), attr.clone(), 0u8..6), 0..6),
                attr,
            ),
            |(depth, cases, timestamp)| {
                let mut xml = format!("<testsuites timestamp=\"{timestamp}\">");
                xml.push_str(&"<testsuite name=\"s\">".repeat(depth));
                for (name, time, kind) in cases {
                    let child = ["", "<failure/>", "<error/>", "<skipped/>", "<flakyFailure/>", "<rerunError/>"][kind as usize];
                    xml.push_str(&format!(
                        "<testcase classname=\"c\" name=\"{name}\" time=\"{time}\">{child}</testcase>"
                    ));
                }
                xml.push_str(&"</testsuite>".repeat(depth));
                xml.push_str("</testsuites>");
                check(Provider::Junit, &[], xml.as_bytes());
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn time_parsing_survives_any_text() {
    let near = prop_oneof![
        any::<String>(),
        Just("2024-03-01T12:00:00Z".to_owned()),
        Just("2016-09-28 20:04:55 UTC".to_owned()),
        Just("2024-03-01T16:53:58.301+0000".to_owned()),
        Just("9999-12-31T23:59:59+9999".to_owned()),
        Just("-009999-01-01T00:00:00Z".to_owned()),
    ];
    runner()
        .run(
            &(near, proptest::collection::vec(mutation(), 0..4)),
            |(s, mutations)| {
                let bytes = mutate(s.into_bytes(), &mutations);
                let _ = parse_time(&String::from_utf8_lossy(&bytes));
                Ok(())
            },
        )
        .unwrap();
}

/// Regression cases: inputs a run found (kept whether or not they failed,
/// so that they stay covered).
#[test]
fn regression_cases() {
    let cases: [(Provider, &[u8]); 4] = [
        // roxmltree's message quoted the NUL raw: "expected '=' not '\0'".
        (Provider::Junit, b"<testsuites><testcase name\0=\"x\"/></testsuites>"),
        (Provider::Events, b"{\"type\":\"deployment\",\"id\":\"d\",\"status\":\"success\",\"finished_at\":\"2024-03-01T12:00:00Z\",\"\\u0000\":1}"),
        (Provider::Junit, b"<testsuites><testsuite>"),
        (Provider::Github, b"[][]{}"),
    ];
    for (provider, body) in cases {
        check(provider, &[], body);
    }
}
