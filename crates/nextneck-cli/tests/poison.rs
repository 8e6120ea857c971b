//! Poison input through the binary: `import` refuses a report nested past
//! the limit with an error (it used to abort), and `status` names every
//! delivery set aside as failed with its reason, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;

use live::*;
use nextneck_store::{NewDelivery, Origin};

both_backends!(
    a_deeply_nested_junit_import_is_refused,
    status_names_failed_deliveries_with_their_reasons,
);

/// `nextneck flow` on a log without events names the file; an error
/// quoting a NUL or an escape sequence from the file prints it escaped.
#[test]
fn flow_errors_name_the_file_and_escape_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "case_id,stage,timestamp\n").unwrap();
    let (code, _, err) = run(dir.path(), &["flow", empty.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        format!(
            "error: {}: the log has no events; check the file and its columns\n",
            empty.display()
        )
    );
    let nul = dir.path().join("nul.csv");
    std::fs::write(
        &nul,
        "ca\0se,st\x1b[31mage,when\nA,open,2024-03-01T12:00:00Z\n",
    )
    .unwrap();
    let (code, _, err) = run(dir.path(), &["flow", nul.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("ca\\u{0}se"), "{err}");
    assert!(
        !err.trim_end_matches('\n').chars().any(char::is_control),
        "{err:?}"
    );
}

/// A file over the import limit is refused before it is read (a sparse
/// file: no 512 MiB is written).
#[test]
fn an_import_larger_than_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((512 << 20) + 1)
        .unwrap();
    let db = format!("sqlite:{}", dir.path().join("n.db").display());
    let (code, _, err) = run(
        dir.path(),
        &["import", "github", "--db", &db, big.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        format!(
            "error: {}: the file is larger than 512 MiB, the largest import (a delivery is stored whole); split it into pages; nothing was imported\n",
            big.display()
        )
    );
    assert!(!dir.path().join("n.db").exists(), "nothing was stored");
}

fn nested_junit(d: usize) -> Vec<u8> {
    let mut body = b"<testsuites>".to_vec();
    body.extend(std::iter::repeat_n(b"<testsuite name=\"s\">".as_slice(), d).flatten());
    body.extend_from_slice(b"<testcase classname=\"c\" name=\"t\"/>");
    body.extend(std::iter::repeat_n(b"</testsuite>".as_slice(), d).flatten());
    body.extend_from_slice(b"</testsuites>");
    body
}

fn a_deeply_nested_junit_import_is_refused(db: Db) {
    let path = db.dir.path().join("deep.xml");
    std::fs::write(&path, nested_junit(10_000)).unwrap();
    let (code, out, err) = run(
        db.dir.path(),
        &["import", "junit", "--db", &db.url, path.to_str().unwrap()],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "error: {}: line 1, column 1993: test suites are nested deeper than 100 levels, the limit; flatten the report; nothing was imported",
            path.display()
        )
    );
}

fn status_names_failed_deliveries_with_their_reasons(db: Db) {
    // As an older version stored it: a poison report, then a good event.
    let mut store = nextneck_store::open(&db.url).unwrap();
    let stored = |provider: &str, body: Vec<u8>| NewDelivery {
        provider: provider.to_owned(),
        dedupe_key: provider.to_owned(),
        event_type: format!("{provider}:report"),
        origin: Origin::Import,
        headers: Vec::new(),
        body,
        received_at_ms: 1_709_251_200_000,
    };
    let ids = store
        .append(&[
            stored("junit", nested_junit(6_000)),
            stored(
                "events",
                br#"{"type":"stage.transition","id":"t1","stream":"s","item":"c1","stage":"a","at":"2024-03-01T00:00:00Z"}"#.to_vec(),
            ),
        ])
        .unwrap();
    nextneck_server::process_pending(store.as_mut()).unwrap();
    let (code, out, err) = run(db.dir.path(), &["status", "--db", &db.url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "failed     1 set aside (run `nextneck reprocess` after an upgrade or a fix)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "failure    delivery {} (junit, junit:report): line 1, column 1993: test suites are nested deeper than 100 levels, the limit; flatten the report\n",
            ids[0].id()
        )),
        "{out}"
    );
    assert!(
        out.contains("events     stage_transition            1"),
        "{out}"
    );
    let (code, out, err) = run(
        db.dir.path(),
        &["status", "--db", &db.url, "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["failed"], 1);
    assert_eq!(v["retrying"], 0);
    assert_eq!(v["recent_failures"][0]["provider"], "junit");
    assert_eq!(v["recent_failures"][0]["delivery_id"], ids[0].id());
}
