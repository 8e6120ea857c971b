//! The readers' bounds: a record longer than the limit, or XML nested
//! deeper than it, is an error naming the limit and the file, never a whole
//! file read into one record or an unbounded stack.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_eventlog::{MAX_RECORD_BYTES, MAX_XES_DEPTH, ReadOptions, read};

/// The error reading `content` as file `name`, with the directory removed.
fn error(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let e = read(&[path], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    e.replace(&format!("{}/", dir.path().display()), "")
}

fn check(name: &str, content: &[u8], want: &str) {
    assert_eq!(error(name, content), want);
}

#[test]
fn a_csv_record_longer_than_the_limit_is_refused() {
    // An unclosed quote makes the rest of the file one record.
    let mut csv = b"case_id,stage,timestamp\nA,\"open,2024-03-01T12:00:00Z\n".to_vec();
    csv.extend(
        std::iter::repeat_n(b"B,open,2024-03-01T12:00:00Z\n", MAX_RECORD_BYTES / 10).flatten(),
    );
    check(
        "log.csv",
        &csv,
        "log.csv: a record is longer than 4 MiB, the limit; check the file for a quote that is never closed",
    );
}

#[test]
fn an_ndjson_line_longer_than_the_limit_is_refused() {
    let mut ndjson =
        br#"{"case_id": "A", "stage": "open", "timestamp": "2024-03-01T12:00:00Z"}"#.to_vec();
    ndjson.push(b'\n');
    ndjson.extend_from_slice(br#"{"case_id": ""#);
    ndjson.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
    ndjson.extend_from_slice(b"\"}\n");
    check(
        "log.ndjson",
        &ndjson,
        "log.ndjson:2: the line is longer than 4 MiB, the limit; write one event per line",
    );
}

#[test]
fn xes_nested_deeper_than_the_limit_is_refused() {
    let d = 100_000;
    let mut xes = b"<log>".to_vec();
    xes.extend(std::iter::repeat_n(b"<list key=\"k\">".as_slice(), d).flatten());
    xes.extend(std::iter::repeat_n(b"</list>".as_slice(), d).flatten());
    xes.extend_from_slice(b"</log>");
    check(
        "log.xes",
        &xes,
        &format!(
            "log.xes:1: elements are nested deeper than {MAX_XES_DEPTH} levels, the limit: this is not an XES log"
        ),
    );
}
