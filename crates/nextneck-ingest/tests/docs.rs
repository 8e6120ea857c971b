//! docs/events.md and docs/events.schema.json describe the parser: every
//! example parses, every type has an example, the schema lists exactly the
//! parser's fields, the parser refuses a value of another type than the
//! schema's, and both take the same closed words in any case.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use nextneck_ingest::{EVENT_TYPES, event_closed_words, parse_events};
use serde_json::{Value, json};

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
    check(
        "{\"type\": \"postmortem.published\", \"id\": \"p\", \"incident_id\": \"i\"}",
        "line 1: field published_at: missing; it is required",
    );
}

/// The first example line of each type in docs/events.md.
fn examples() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for block in ndjson_blocks(&doc("events.md")) {
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let kind = v["type"].as_str().unwrap().to_owned();
            out.entry(kind).or_insert(v);
        }
    }
    out
}

/// The schema's definition of each type, by type.
fn schema_defs() -> BTreeMap<String, Value> {
    let schema: Value = serde_json::from_str(&doc("events.schema.json")).unwrap();
    let defs = schema["$defs"].as_object().unwrap().clone();
    defs.into_values()
        .filter_map(|def| {
            let kind = def["properties"]["type"]["const"].as_str()?.to_owned();
            Some((kind, def))
        })
        .collect()
}

/// A value of another JSON type than the schema's `property` allows.
fn wrong_value(property: &Value) -> Value {
    if property.get("$ref").is_some() {
        // A time is an RFC 3339 string, never an epoch number.
        return json!(1_709_251_200);
    }
    match property["type"].as_str() {
        Some("string") => json!(1),
        Some("integer") => json!("1"),
        Some("boolean") => json!("true"),
        Some("array") => json!({}),
        other => panic!("no wrong value for the schema type {other:?}"),
    }
}

fn parses(line: &Value) -> bool {
    parse_events(line.to_string().as_bytes()).is_ok()
}

#[test]
fn a_value_of_another_type_than_the_schemas_is_refused() {
    let examples = examples();
    for (kind, def) in schema_defs() {
        let example = &examples[&kind];
        assert!(parses(example), "{example}");
        for (name, property) in def["properties"].as_object().unwrap() {
            if name == "type" {
                continue;
            }
            let mut line = example.clone();
            line[name] = wrong_value(property);
            assert!(!parses(&line), "{kind}.{name} accepted {}", line[name]);
        }
    }
}

/// A JSON Schema (ECMA-262) pattern matching exactly `words` in any case.
fn any_case_pattern(words: &[&str]) -> String {
    let any_case = |w: &str| -> String {
        w.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let alternatives: Vec<String> = words.iter().map(|w| any_case(w)).collect();
    format!("^(?:{})$", alternatives.join("|"))
}

#[test]
fn closed_words_are_the_schemas_in_any_case() {
    let examples = examples();
    let defs = schema_defs();
    let closed = event_closed_words();
    assert!(closed.len() >= 2);
    for (kind, field, words) in closed {
        let property = &defs[kind]["properties"][field];
        assert_eq!(
            property["pattern"].as_str(),
            Some(any_case_pattern(&words).as_str()),
            "{kind}.{field}"
        );
        for word in &words {
            for text in [word.to_string(), word.to_uppercase(), capitalized(word)] {
                let mut line = examples[kind].clone();
                line[field] = json!(text);
                assert!(parses(&line), "{kind}.{field} refused {text}");
            }
        }
        let mut line = examples[kind].clone();
        line[field] = json!("not_a_word");
        assert!(!parses(&line), "{kind}.{field} accepted not_a_word");
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[test]
fn an_empty_body_is_no_events() {
    for body in ["", "\n", "\n \n\t\r\n"] {
        assert_eq!(parse_events(body.as_bytes()), Ok((Vec::new(), Vec::new())));
    }
}
