//! docs/events.md and docs/events.schema.json describe the parser: every
//! example parses, every type has an example, and the schema lists exactly
//! the parser's fields.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use nextneck_ingest::{EVENT_TYPES, parse_events};
use serde_json::Value;

fn doc(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The contents of every ```ndjson block.
fn ndjson_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```ndjson" => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_example_parses_and_every_type_has_one() {
    let blocks = ndjson_blocks(&doc("events.md"));
    assert!(blocks.len() >= 2, "examples found: {}", blocks.len());
    let mut seen = BTreeSet::new();
    for block in &blocks {
        let (events, unknown) =
            parse_events(block.as_bytes()).unwrap_or_else(|e| panic!("{e} in\n{block}"));
        assert_eq!(unknown, Vec::<String>::new());
        assert_eq!(
            events.len(),
            block.lines().filter(|l| !l.trim().is_empty()).count()
        );
        for line in block.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            seen.insert(v["type"].as_str().unwrap().to_owned());
        }
    }
    let all: BTreeSet<String> = EVENT_TYPES.iter().map(|(t, _, _)| t.to_string()).collect();
    assert_eq!(seen, all, "every type has an example");
}

#[test]
fn the_schema_lists_the_parsers_fields() {
    let schema: Value = serde_json::from_str(&doc("events.schema.json")).unwrap();
    let defs = &schema["$defs"];
    let mut types = BTreeSet::new();
    for one in schema["oneOf"].as_array().unwrap() {
        let name = one["$ref"].as_str().unwrap().trim_start_matches("#/$defs/");
        let def = &defs[name];
        let kind = def["properties"]["type"]["const"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, required, optional) = EVENT_TYPES
            .iter()
            .find(|(t, _, _)| *t == kind)
            .unwrap_or_else(|| panic!("the schema's {kind} is not a parser type"));
        let props: BTreeSet<&str> = def["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let want: BTreeSet<&str> = std::iter::once("type")
            .chain(required.iter().copied())
            .chain(optional.iter().copied())
            .collect();
        assert_eq!(props, want, "{kind}");
        let req: BTreeSet<&str> = def["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let want_req: BTreeSet<&str> = std::iter::once("type")
            .chain(required.iter().copied())
            .collect();
        assert_eq!(req, want_req, "{kind}");
        assert_eq!(def["additionalProperties"], Value::Bool(false), "{kind}");
        types.insert(kind);
    }
    let all: BTreeSet<String> = EVENT_TYPES.iter().map(|(t, _, _)| t.to_string()).collect();
    assert_eq!(types, all);
}

#[test]
fn errors_name_the_line_and_field() {
    let check = |body: &str, want: &str| {
        let err = parse_events(body.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, want);
    };
    check(
        "{\"type\": \"stage.transition\", \"id\": \"a\", \"stream\": \"s\", \"item\": \"i\", \"stage\": \"x\", \"at\": \"2024-03-01T00:00:00Z\"}\n\n{\"type\": \"incident\", \"id\": \"i\", \"opened_at\": \"yesterday\"}",
        "line 3: field opened_at: \"yesterday\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z",
    );
    check(
        "{\"type\": \"change\", \"id\": \"c\", \"opened_at\": \"2024-03-01T00:00:00Z\", \"commits\": [{\"authored_at\": \"2024-03-01T00:00:00Z\"}]}",
        "line 1: field commits[0].sha: missing; it is required",
    );
    check("{\"id\": 1}", "line 1: field type: missing; it is required");
    check(
        "not json",
        "line 1: not valid JSON: expected ident at line 1 column 2",
    );
    check("\n\n", "no events: write one JSON object per line");
    check(
        "{\"type\": \"postmortem.published\", \"id\": \"p\", \"incident_id\": \"i\"}",
        "line 1: field published_at: missing; it is required",
    );
}
