//! JUnit XML test reports (Surefire, pytest, nextest, CUnit, ...):
//! `testsuites` or `testsuite` roots, suites nested to any depth, and
//! Surefire's rerun elements (`flakyFailure`, `flakyError`, `rerunFailure`,
//! `rerunError`).
//!
//! The import passes what a report does not say in headers: the commit
//! (`x-nextneck-commit`), the CI run (`x-nextneck-run`) and the file name
//! (`x-nextneck-file`).

use nextneck_model::events::{Event, EventBody, TestCase, TestOutcome};

use crate::{Converted, IngestError, header, parse_time};

pub(crate) fn convert(headers: &[(String, String)], body: &[u8]) -> Result<Converted, IngestError> {
    let text = std::str::from_utf8(body).map_err(|e| IngestError::Xml {
        line: 1,
        column: 1,
        message: format!("not UTF-8 text: {e}"),
    })?;
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        IngestError::Xml {
            line: pos.row,
            column: pos.col,
            message: format!(
                "not well-formed XML: {}",
                crate::escape_control(without_position(&e.to_string()))
            ),
        }
    })?;
    let root = doc.root_element();
    let name = root.tag_name().name();
    if name != "testsuites" && name != "testsuite" {
        let pos = doc.text_pos_at(root.range().start);
        return Err(IngestError::Xml {
            line: pos.row,
            column: pos.col,
            message: format!(
                "the root element is <{name}>, not <testsuites> or <testsuite>: not a JUnit report"
            ),
        });
    }
    let context = Context {
        commit: header(headers, "x-nextneck-commit").map(str::to_owned),
        run_id: header(headers, "x-nextneck-run").map(str::to_owned),
        report: header(headers, "x-nextneck-file").map(str::to_owned),
    };
    let mut events = Vec::new();
    walk(&doc, root, None, None, &context, &mut events, 1)?;
    Ok(Converted {
        event_type: "junit:report".to_owned(),
        events: Some(events),
    })
}

/// The deepest nesting of `<testsuites>`/`<testsuite>` elements read (real
/// reports nest a few levels; the suites are walked recursively, so the
/// bound keeps a hostile report from exhausting a thread's stack).
pub const MAX_DEPTH: usize = 100;

struct Context {
    commit: Option<String>,
    run_id: Option<String>,
    report: Option<String>,
}

fn walk(
    doc: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    suite: Option<&str>,
    suite_time: Option<i64>,
    ctx: &Context,
    out: &mut Vec<Event>,
    depth: usize,
) -> Result<(), IngestError> {
    if depth > MAX_DEPTH {
        let pos = doc.text_pos_at(node.range().start);
        return Err(IngestError::Xml {
            line: pos.row,
            column: pos.col,
            message: format!(
                "test suites are nested deeper than {MAX_DEPTH} levels, the limit; flatten the report"
            ),
        });
    }
    let suite_time = node
        .attribute("timestamp")
        .and_then(parse_time)
        .or(suite_time);
    let suite = if node.tag_name().name() == "testsuite" {
        node.attribute("name").or(suite)
    } else {
        suite
    };
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "testsuite" | "testsuites" => {
                walk(doc, child, suite, suite_time, ctx, out, depth + 1)?;
            }
            "testcase" => out.push(test_case(doc, child, suite, suite_time, ctx)?),
            _ => {}
        }
    }
    Ok(())
}

fn test_case(
    doc: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    suite: Option<&str>,
    suite_time: Option<i64>,
    ctx: &Context,
) -> Result<Event, IngestError> {
    let err = |message: String| {
        let pos = doc.text_pos_at(node.range().start);
        IngestError::Xml {
            line: pos.row,
            column: pos.col,
            message,
        }
    };
    let name = node
        .attribute("name")
        .ok_or_else(|| err("<testcase> has no name attribute".to_owned()))?;
    let duration_seconds = match node.attribute("time") {
        Some(t) => Some(t.trim().replace(',', "").parse::<f64>().map_err(|_| {
            err(format!(
                "<testcase name={name:?}> time {t:?} is not a number of seconds"
            ))
        })?),
        None => None,
    };
    let mut outcome = TestOutcome::Passed;
    let mut reruns = 0;
    let mut flaky = false;
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "failure" => outcome = TestOutcome::Failed,
            "error" if outcome != TestOutcome::Failed => outcome = TestOutcome::Error,
            "skipped" if outcome == TestOutcome::Passed => outcome = TestOutcome::Skipped,
            "flakyFailure" | "flakyError" => {
                flaky = true;
                reruns += 1;
            }
            "rerunFailure" | "rerunError" => reruns += 1,
            _ => {}
        }
    }
    let at = node
        .attribute("timestamp")
        .and_then(parse_time)
        .or(suite_time);
    Ok(Event {
        source: "junit".to_owned(),
        at,
        body: EventBody::TestCase(TestCase {
            suite: suite.map(str::to_owned),
            classname: node.attribute("classname").map(str::to_owned),
            name: name.to_owned(),
            file: node.attribute("file").map(str::to_owned),
            duration_seconds,
            outcome,
            reruns,
            flaky,
            commit: ctx.commit.clone(),
            run_id: ctx.run_id.clone(),
            report: ctx.report.clone(),
        }),
    })
}

/// roxmltree's messages end in ` at LINE:COL`, which the error already says.
fn without_position(msg: &str) -> &str {
    match msg.rsplit_once(" at ") {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit() || c == ':') => head,
        _ => msg,
    }
}
