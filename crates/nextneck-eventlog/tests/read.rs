//! Reading CSV, NDJSON and XES files: column detection, timestamps, the
//! shapes of logs, and errors that name the file, line and field.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::path::PathBuf;

use nextneck_eventlog::{Columns, ReadOptions, read};
use nextneck_model::flow::{EventLog, NO_TIME};

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn write_gz(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(content.as_bytes()).unwrap();
        gz.finish().unwrap();
        path
    }
}

/// `case stage start time` per event, times as offsets from 2024-03-01.
fn rows(log: &EventLog) -> Vec<String> {
    const BASE: i64 = 1_709_251_200;
    let t = |v: i64| {
        if v == NO_TIME {
            "-".to_owned()
        } else {
            (v - BASE).to_string()
        }
    };
    log.events
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                log.cases.get(e.case),
                log.stages.get(e.stage),
                t(e.start),
                t(e.time)
            )
        })
        .collect()
}

fn check(name: &str, content: &str, options: &ReadOptions, expected: &[&str]) {
    let files = Files::new();
    let path = files.write(name, content);
    let log = read(&[path], options).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(rows(&log), expected, "{name}");
}

fn check_err(name: &str, content: &str, options: &ReadOptions, expected: &str) {
    let files = Files::new();
    let path = files.write(name, content);
    let err = read(std::slice::from_ref(&path), options)
        .unwrap_err()
        .to_string();
    let want = format!("{}{expected}", path.display());
    assert_eq!(err, want, "{name}");
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

#[test]
fn csv_columns_by_their_usual_names() {
    let cases: &[(&str, &str)] = &[
        ("case_id,stage,timestamp\n", "case_id"),
        ("Case,Status,Time\n", "Case"),
        (
            "case:concept:name,concept:name,time:timestamp\n",
            "xes names",
        ),
        ("CaseID,state,date\n", "CaseID"),
        ("key,activity,timestamp,resource\n", "key"),
        ("id;status;timestamp\n", "semicolons"),
        (
            "\u{feff}id\tstatus\ttimestamp\n",
            "tabs and a byte order mark",
        ),
    ];
    for (header, label) in cases {
        let sep = if header.contains(';') {
            ";"
        } else if header.contains('\t') {
            "\t"
        } else {
            ","
        };
        let extra = if header.contains("resource") {
            ",ann"
        } else {
            ""
        };
        let body = format!(
            "{header}A-1{sep}open{sep}2024-03-01T00:00:10Z{extra}\nA-1{sep}done{sep}2024-03-01T00:00:20Z{extra}\n"
        );
        let files = Files::new();
        let path = files.write("log.csv", &body);
        let log = read(&[path], &opts()).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(rows(&log), ["A-1 open - 10", "A-1 done - 20"], "{label}");
    }
}

#[test]
fn explicit_columns_win() {
    let options = ReadOptions {
        columns: Columns {
            case: Some("ticket".into()),
            stage: Some("Column".into()),
            time: Some("moved_at".into()),
            ..Columns::default()
        },
        ..opts()
    };
    check(
        "board.csv",
        "id,ticket,column,status,moved_at,timestamp\n1,T-9,Doing,ignored,2024-03-01T00:01:00Z,bad\n",
        &options,
        &["T-9 Doing - 60"],
    );
    check_err(
        "board.csv",
        "id,status,timestamp\n1,x,2024-03-01\n",
        &options,
        ":1: no column named \"ticket\" (from --case-column); the columns are \"id\", \"status\", \"timestamp\"",
    );
}

#[test]
fn timestamps_in_every_usual_form() {
    check(
        "times.csv",
        "case,stage,timestamp\n\
         a,s,2024-03-01T00:00:01Z\n\
         a,s,2024-03-01 00:00:02\n\
         a,s,2024-03-01T01:00:03+01:00\n\
         a,s,2024-03-01T00:00:04.000+0000\n\
         a,s,1709251205\n\
         a,s,1709251206000\n\
         a,s,2024-03-01\n",
        &opts(),
        &[
            "a s - 1", "a s - 2", "a s - 3", "a s - 4", "a s - 5", "a s - 6", "a s - 0",
        ],
    );
    let paris = ReadOptions {
        tz: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
        ..opts()
    };
    check(
        "times.csv",
        "case,stage,timestamp\na,s,2024-03-01 01:00:00\na,s,2024-03-01T00:00:00Z\n",
        &paris,
        &["a s - 0", "a s - 0"],
    );
}

#[test]
fn quoted_fields_and_blank_lines() {
    check(
        "q.csv",
        "case,stage,timestamp\n\"A,1\",\"legal \"\"review\"\"\",2024-03-01T00:00:00Z\n\n\"B\nx\",open,2024-03-01T00:00:01Z\n",
        &opts(),
        &["A,1 legal \"review\" - 0", "B\nx open - 1"],
    );
}

#[test]
fn activities_shapes() {
    // Lifecycle column: start events carry a start time, others are skipped.
    let files = Files::new();
    let path = files.write(
        "lc.csv",
        "case_id,activity,lifecycle:transition,timestamp\n\
         1,Register,start,2024-03-01T00:00:00Z\n\
         1,Register,complete,2024-03-01T00:00:30Z\n\
         1,Check,schedule,2024-03-01T00:00:40Z\n\
         1,Check,COMPLETE,2024-03-01T00:01:00Z\n",
    );
    let log = read(&[path], &opts()).unwrap();
    assert_eq!(
        rows(&log),
        ["1 Register 0 -", "1 Register - 30", "1 Check - 60"]
    );
    assert!(log.shape.lifecycle);
    assert_eq!(log.sources[0].skipped_lifecycle, 1);
    assert_eq!(log.sources[0].events, 3);

    // PM4Py's start_timestamp convention; an empty complete time is an open
    // occurrence.
    let path = files.write(
        "iv.csv",
        "case_id,activity,start_timestamp,time:timestamp\n\
         1,Review,2024-03-01T00:00:10Z,2024-03-01T00:00:50Z\n\
         1,Sign,2024-03-01T00:01:00Z,\n\
         1,Note,,2024-03-01T00:02:00Z\n",
    );
    let log = read(&[path], &opts()).unwrap();
    assert_eq!(
        rows(&log),
        ["1 Review 10 50", "1 Sign 60 -", "1 Note - 120"]
    );
    assert!(log.shape.start_times);
}

#[test]
fn ndjson() {
    check(
        "events.ndjson",
        "{\"key\": \"SUP-1\", \"status\": \"opened\", \"timestamp\": 1709251200, \"type\": \"bug\"}\n\
         \n\
         {\"key\": \"SUP-1\", \"status\": \"answered\", \"timestamp\": \"2024-03-01T00:00:05Z\", \"extra\": [1]}\n",
        &opts(),
        &["SUP-1 opened - 0", "SUP-1 answered - 5"],
    );
    check_err(
        "events.jsonl",
        "{\"key\": \"SUP-1\", \"status\": \"opened\", \"timestamp\": 1709251200}\n{\"key\": \"SUP-1\", \"status\": \"x\", \"timestamp\": \"soon\"}\n",
        &opts(),
        ":2: field \"timestamp\": \"soon\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")",
    );
    check_err(
        "events.ndjson",
        "{\"key\": \"SUP-1\", \"status\": \"opened\", \"timestamp\": 1709251200}\n{\"key\": \n",
        &opts(),
        ":2: not a JSON object (EOF while parsing a value at line 1 column 7); write one object per line",
    );
}

const XES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<log xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  <classifier name="Activity" keys="concept:name"/>
  <trace>
    <string key="concept:name" value="case-1"/>
    <event>
      <string key="concept:name" value="Register &amp; check"/>
      <string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2024-03-01T00:00:00.000+00:00"/>
    </event>
    <event>
      <string key="concept:name" value="Register &amp; check"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-03-01T00:01:00.000+00:00"/>
      <list key="extra"><values><string key="x" value="y"/></values></list>
    </event>
  </trace>
  <trace>
    <event>
      <string key="org:resource" value="Ann"/>
      <date key="time:timestamp" value="2024-03-01T00:02:00Z"/>
      <string key="concept:name" value="Decide"/>
    </event>
  </trace>
</log>
"#;

#[test]
fn xes_and_xes_gz() {
    let expected = [
        "case-1 Register & check 0 -",
        "case-1 Register & check - 60",
        "trace 2 Decide - 120",
    ];
    check("log.xes", XES, &opts(), &expected);
    let files = Files::new();
    let path = files.write_gz("log.xes.gz", XES);
    let log = read(&[path], &opts()).unwrap();
    assert_eq!(rows(&log), expected);
    assert!(log.shape.xes);
    // No extension: sniffed.
    check("export", XES, &opts(), &expected);
}

#[test]
fn malformed_files_name_file_line_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "missing.csv",
            "ticket,stage,timestamp\nA,open,2024-03-01\n",
            ":1: no case id column: looked for case_id, case:concept:name, case, caseid, id, key, issue key and found \"ticket\", \"stage\", \"timestamp\"; name it with --case-column NAME",
        ),
        (
            "notime.csv",
            "case,stage,when\nA,open,2024-03-01\n",
            ":1: no time column: looked for timestamp, time:timestamp, time, date and found \"case\", \"stage\", \"when\"; name it with --time-column NAME",
        ),
        (
            "bad.csv",
            "case,stage,timestamp\nA,open,2024-03-01\nA,done,yesterday\n",
            ":3: field \"timestamp\": \"yesterday\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")",
        ),
        (
            "emptycase.csv",
            "case,stage,timestamp\n,open,2024-03-01\n",
            ":2: field \"case\": is empty; every row needs a case id",
        ),
        (
            "emptytime.csv",
            "case,stage,timestamp\nA,open,\n",
            ":2: field \"timestamp\": is empty; every row needs a time",
        ),
        (
            "fields.csv",
            "case,stage,timestamp\nA,open,2024-03-01,extra\n",
            ":2: has 4 fields but the header has 3; quote fields that contain the separator",
        ),
        (
            "empty.csv",
            "",
            ":1: the file is empty; a CSV event log starts with a header row such as case_id,stage,timestamp",
        ),
        (
            "truncated.xes",
            &XES[..XES.find("<trace>\n    <event>").unwrap() + 20],
            ":22: the file ends inside <event> (opened on line 21): it is truncated; export it again",
        ),
        (
            "badtime.xes",
            &XES.replace("2024-03-01T00:02:00Z", "03/01/2024"),
            ":23: field \"time:timestamp\": \"03/01/2024\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")",
        ),
        (
            "notime.xes",
            &XES.replace(
                "<date key=\"time:timestamp\" value=\"2024-03-01T00:02:00Z\"/>",
                "",
            ),
            ":21: in an <event>: no time column: looked for timestamp, time:timestamp, time, date and found \"org:resource\", \"concept:name\"; name it with --time-column NAME",
        ),
        (
            "notxes.xes",
            "<html></html>\n",
            ":2: no <log> element: this is not an XES file; XES files start with <log> and hold <trace> elements",
        ),
    ];
    for (name, content, expected) in cases {
        check_err(name, content, &opts(), expected);
    }
}

#[test]
fn files_are_read_in_order_into_one_log() {
    let files = Files::new();
    let a = files.write(
        "a.csv",
        "case,stage,timestamp\nX,open,2024-03-01T00:00:00Z\n",
    );
    let b = files.write(
        "b.ndjson",
        "{\"case\": \"Y\", \"stage\": \"open\", \"timestamp\": \"2024-03-01T00:00:01Z\"}\n{\"case\": \"X\", \"stage\": \"done\", \"timestamp\": \"2024-03-01T00:00:02Z\"}\n",
    );
    let log = read(&[a, b], &opts()).unwrap();
    assert_eq!(rows(&log), ["X open - 0", "Y open - 1", "X done - 2"]);
    assert_eq!(log.cases.len(), 2);
    assert_eq!(log.sources.len(), 2);
    assert_eq!(log.sources[1].events, 2);
    let missing = files.dir.path().join("nope.csv");
    let err = read(std::slice::from_ref(&missing), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn parallel_blocks_give_the_sequential_result() {
    // About 12 MiB: several blocks.
    let mut text = String::from("case_id,stage,timestamp,item_type\n");
    for i in 0..240_000u32 {
        let case = i % 50_021;
        let stage = ["new", "doing \"deep\" work", "review,legal", "done"][(i % 4) as usize];
        text.push_str(&format!(
            "c{case},\"{}\",{},t{}\n",
            stage.replace('"', "\"\""),
            1_709_251_200 + u64::from(i),
            case % 3
        ));
    }
    let files = Files::new();
    let path = files.write("big.csv", &text);
    let one = read(
        std::slice::from_ref(&path),
        &ReadOptions {
            threads: 1,
            ..opts()
        },
    )
    .unwrap();
    let two = read(
        std::slice::from_ref(&path),
        &ReadOptions {
            threads: 2,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(one.events.len(), 240_000);
    assert_eq!(one.events, two.events);
    assert_eq!(
        one.cases.iter().collect::<Vec<_>>(),
        two.cases.iter().collect::<Vec<_>>()
    );
    assert_eq!(one.case_types, two.case_types);
    assert_eq!(one.types.len(), 3);
    // Without quotes the blocks are split directly: the same events.
    let plain = text
        .replace('"', "")
        .replace("doing  deep  work", "doing deep work")
        .replace("review,legal", "review legal");
    let plain_path = files.write("plain.csv", &plain);
    let p1 = read(
        std::slice::from_ref(&plain_path),
        &ReadOptions {
            threads: 1,
            ..opts()
        },
    )
    .unwrap();
    let p2 = read(
        std::slice::from_ref(&plain_path),
        &ReadOptions {
            threads: 2,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(p1.events.len(), 240_000);
    assert_eq!(p1.events, p2.events);
    assert_eq!(
        p1.events,
        one.events
            .iter()
            .map(|e| {
                let name = one.stages.get(e.stage).replace('"', "").replace(',', " ");
                nextneck_model::flow::Event {
                    stage: p1.stages.find(&name).unwrap(),
                    ..*e
                }
            })
            .collect::<Vec<_>>()
    );
    // An error in a late block names the file's line.
    let bad = text.replacen("c49944,\"done\",1709451207", "c49944,\"done\",never", 1);
    assert!(bad.len() != text.len(), "the row to break is in the file");
    let line = bad.lines().position(|l| l.contains("never")).unwrap() + 1;
    let path = files.write("bad.csv", &bad);
    for threads in [1, 2] {
        let err = read(
            std::slice::from_ref(&path),
            &ReadOptions { threads, ..opts() },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(&format!(
                "bad.csv:{line}: field \"timestamp\": \"never\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")"
            )),
            "{threads}: {err}"
        );
    }
    // Also without quotes (blocks split directly), with blank and CRLF
    // lines before it and no newline at the end.
    let bad = plain
        .replacen("c49944,done,1709451207", "c49944,done,never", 1)
        .replacen("\n", "\n\n \r\n", 3)
        .replacen("\n", "\r\n", 1000);
    let bad = bad.trim_end();
    assert!(bad.contains("never"), "the row to break is in the file");
    let line = bad.lines().position(|l| l.contains("never")).unwrap() + 1;
    let path = files.write("bad-plain.csv", bad);
    for threads in [1, 2] {
        let err = read(
            std::slice::from_ref(&path),
            &ReadOptions { threads, ..opts() },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(&format!(
                "bad-plain.csv:{line}: field \"timestamp\": \"never\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")"
            )),
            "{threads}: {err}"
        );
    }
    // And an error on the last line, which has no newline.
    let last = format!("{}\nc1,done,never", plain.trim_end());
    let line = last.lines().count();
    let path = files.write("bad-last.csv", &last);
    for threads in [1, 2] {
        let err = read(
            std::slice::from_ref(&path),
            &ReadOptions { threads, ..opts() },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("bad-last.csv:{line}: ")),
            "{threads}: {err}"
        );
    }
}

#[test]
fn names_must_be_utf8() {
    let files = Files::new();
    let path = files.dir.path().join("latin1.csv");
    std::fs::write(
        &path,
        b"case,stage,timestamp\nA,open,2024-03-01\nA,r\xe9vision,2024-03-02\n",
    )
    .unwrap();
    let err = read(std::slice::from_ref(&path), &opts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: field \"stage\": is not UTF-8; save the file as UTF-8",
            path.display()
        )
    );
}
