//! Fuzzing on stable Rust: generated and mutated event logs through the
//! CSV, NDJSON and XES readers, and any text through time parsing. The
//! property: no panic, no stack overflow, and every error is well-formed
//! (names the file, no trailing period, no raw control character).
//!
//! `cargo test` runs a bounded number of cases per target
//! (`NEXTNECK_FUZZ_CASES`, default 64); `scripts/fuzz.sh` runs many more.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_eventlog::{ReadOptions, read, time};
use nextneck_testkit::fuzz::{self, Mutation, Space, mutate, runner};
use proptest::prelude::*;

/// The bytes that matter to CSV, NDJSON and XES.
const SPACE: Space = Space {
    bytes: b",;\t\"\n\r<>/{}\x00\xff",
    delete_below: 32,
    insert_below: 12,
    duplicate_below: 200,
    truncate: false,
};

fn mutation() -> impl Strategy<Value = Mutation> {
    fuzz::mutation(SPACE)
}

const CSV: &str = "case_id,stage,timestamp,lifecycle,start_timestamp,type
A-1,open,2024-03-01T12:00:00Z,start,2024-03-01T11:00:00Z,bug
A-1,open,2024-03-01T13:00:00Z,complete,,bug
A-2,\"review, code\",2024-03-02 09:30:00+01:00,start,,feature
A-2,done,1709370000,complete,,feature
";

const NDJSON: &str = r#"{"case_id": "A-1", "stage": "open", "timestamp": "2024-03-01T12:00:00Z", "lifecycle": "start"}
{"case_id": 7, "stage": "review", "timestamp": 1709300000000, "lifecycle": "complete"}
{"case_id": "A-2", "stage": "done", "timestamp": "2024-03-02", "lifecycle": "complete"}
"#;

const XES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <trace><string key="concept:name" value="A-1"/>
    <event><string key="concept:name" value="open"/><date key="time:timestamp" value="2024-03-01T12:00:00Z"/><string key="lifecycle:transition" value="start"/></event>
    <event><string key="concept:name" value="open"/><date key="time:timestamp" value="2024-03-01T13:00:00Z"/><string key="lifecycle:transition" value="complete"/></event>
  </trace>
  <trace><event><string key="concept:name" value="done"/><date key="time:timestamp" value="2024-03-02T12:00:00+01:00"/></event></trace>
</log>
"#;

/// Reads `body` as a file named `name`; an error must name the file and be
/// well-formed.
fn check(dir: &std::path::Path, name: &str, body: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    if let Err(e) = read(std::slice::from_ref(&path), &ReadOptions::default()) {
        let e = e.to_string();
        let shown = path.display().to_string();
        assert!(e.starts_with(&shown), "{name}: the file is not named: {e}");
        let rest = e[shown.len()..]
            .trim_start_matches(|c: char| c == ':' || c.is_ascii_digit() || c == ' ');
        fuzz::assert_well_formed(name, rest);
        assert!(
            !e.chars().any(char::is_control),
            "{name}: raw control character: {e:?}"
        );
    }
}

fn fuzz_format(name: &str, seed: &str) {
    let dir = tempfile::tempdir().unwrap();
    runner()
        .run(&proptest::collection::vec(mutation(), 1..8), |mutations| {
            check(
                dir.path(),
                name,
                &mutate(seed.as_bytes().to_vec(), &mutations),
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn csv_survives_mutation() {
    fuzz_format("log.csv", CSV);
}

#[test]
fn ndjson_survives_mutation() {
    fuzz_format("log.ndjson", NDJSON);
}

#[test]
fn xes_survives_mutation() {
    fuzz_format("log.xes", XES);
}

#[test]
fn time_parsing_survives_any_text() {
    let tz = jiff::tz::TimeZone::UTC;
    let seed = prop_oneof![
        any::<String>(),
        Just("2024-03-01T12:00:00Z".to_owned()),
        Just("2024-03-01 12:00:00.123+01:00".to_owned()),
        Just("2024-03-01T12:00:00+01:00[Europe/Paris]".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("-170141183460469231731687303715884105728".to_owned()),
        Just("9999-12-31".to_owned()),
    ];
    runner()
        .run(
            &(seed, proptest::collection::vec(mutation(), 0..4)),
            |(s, mutations)| {
                let bytes = mutate(s.into_bytes(), &mutations);
                let _ = time::parse_bytes(&bytes, &tz);
                Ok(())
            },
        )
        .unwrap();
}

/// Inputs a run found (errors quoted a NUL raw), kept as regression cases.
#[test]
fn regression_cases() {
    let dir = tempfile::tempdir().unwrap();
    check(
        dir.path(),
        "log.xes",
        XES.replace("2024-03-01T13:00:00Z", "2024-0\0-01T13:00:00Z")
            .as_bytes(),
    );
    check(
        dir.path(),
        "log.xes",
        XES.replace("</event>", "</e\0ent>").as_bytes(),
    );
    check(
        dir.path(),
        "log.xes",
        XES.replace(
            "\"concept:name\" value=\"open\"",
            "\"\0oncept:name\" value=\"open\"",
        )
        .as_bytes(),
    );
    check(
        dir.path(),
        "log.csv",
        CSV.replace("2024-03-01T13", "2024-03-01\x1bT13").as_bytes(),
    );
}
