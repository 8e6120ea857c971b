//! The exports teams have, end to end: each sample of `examples/exports`
//! gives a report in one command; `--start` and `start` in nextneck.toml
//! set the commitment point; `nextneck import events LOG --stream NAME`
//! stores any log as a stream that reports as the file does, on SQLite and
//! PostgreSQL, all or nothing.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;

use std::path::{Path, PathBuf};

use live::*;
use serde_json::Value;

fn exports() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/exports")
}

fn ok_json(cwd: &Path, args: &[&str]) -> Value {
    let (code, out, err) = run(cwd, args);
    assert_eq!(code, 0, "nextneck {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn stage_names(report: &Value) -> Vec<&str> {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// `(file, stages in the report, done stages, items finished)`.
fn check_export(file: &str, stages: &[&str], done: &[&str], finished: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = exports().join(file);
    let r = ok_json(
        dir.path(),
        &["flow", path.to_str().unwrap(), "--all", "--format", "json"],
    );
    assert_eq!(stage_names(&r), stages, "{file}");
    let got_done: Vec<&str> = r["done_stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(got_done, done, "{file}");
    assert_eq!(r["flow"]["completed"], finished, "{file}");
    // The table too, in one command.
    let (code, out, err) = run(dir.path(), &["flow", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{file}: {err}");
    assert!(out.contains("bottleneck: "), "{file}: {out}");
}

#[test]
fn every_export_gives_a_report_in_one_command() {
    check_export("jira-issues.csv", &["Created"], &["Resolved"], 41);
    check_export(
        "jira-search.json",
        &["Open", "In Progress", "Waiting for supplier"],
        &["Closed"],
        40,
    );
    check_export(
        "trello-board.json",
        &["Ideas", "Writing", "Editing"],
        &["Published"],
        30,
    );
    check_export(
        "wide.csv",
        &["Backlog", "Analysis", "Development", "Testing"],
        &["Done"],
        44,
    );
}

#[test]
fn the_commitment_point_from_the_command_line_and_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let wide = exports().join("wide.csv");
    let wide = wide.to_str().unwrap();
    let all = ok_json(dir.path(), &["flow", wide, "--all", "--format", "json"]);
    let cli = ok_json(
        dir.path(),
        &[
            "flow", wide, "--all", "--start", "Analysis", "--format", "json",
        ],
    );
    assert_eq!(
        stage_names(&cli),
        ["Analysis", "Development", "Testing"],
        "the backlog is not flow"
    );
    // Flow time starts later, so it is shorter for every finished item.
    let median = |r: &Value| r["flow"]["flow_time"]["median_seconds"].as_f64().unwrap();
    assert!(median(&cli) < median(&all));
    std::fs::write(
        dir.path().join("nextneck.toml"),
        format!("[streams.features]\nfile = \"{wide}\"\nstart = \"Analysis\"\nlayout = \"wide\"\n"),
    )
    .unwrap();
    let configured = ok_json(
        dir.path(),
        &["flow", "--stream", "features", "--all", "--format", "json"],
    );
    assert_eq!(configured["flow"], cli["flow"]);
    assert_eq!(configured["stages"], cli["stages"]);
    // A start that is not a stage is a usage error; so is a bad layout.
    let (code, _, err) = run(dir.path(), &["flow", wide, "--start", "Ready"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--start \"Ready\" is not a stage of the log; the stages are \"Backlog\""),
        "{err}"
    );
    std::fs::write(
        dir.path().join("nextneck.toml"),
        "[streams.features]\nfile = \"x.csv\"\nlayout = \"tall\"\n",
    )
    .unwrap();
    let (code, _, err) = run(dir.path(), &["flow", "--stream", "features"]);
    assert_ne!(code, 0);
    assert!(err.contains("layout \"tall\": use \"long\""), "{err}");
}

#[test]
fn local_times_need_their_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "id,status,date\nA,open,01.03.2024 09:00\nA,done,02.03.2024 17:30\n",
    )
    .unwrap();
    let log = log.to_str().unwrap();
    let (code, _, err) = run(dir.path(), &["flow", log]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: {log}:2: field \"date\": \"01.03.2024 09:00\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")\n"
        )
    );
    // Paris is UTC+1 in March: 08:00Z to 16:30Z next day, 32.5 hours.
    let r = ok_json(
        dir.path(),
        &[
            "flow",
            log,
            "--time-format",
            "%d.%m.%Y %H:%M",
            "--tz",
            "Europe/Paris",
            "--format",
            "json",
        ],
    );
    assert_eq!(r["flow"]["flow_time"]["median_seconds"], 32.5 * 3600.0);
    assert_eq!(r["now"], "2024-03-02T16:30:00Z");
}

/// A Jira changelog export and the wide log imported as streams report as
/// the files do; importing again adds nothing; a bad log imports nothing.
fn logs_imported_as_streams_equal_the_files(db: Db) {
    let dir = db.dir.path();
    for (file, stream) in [("jira-search.json", "support"), ("wide.csv", "features")] {
        let path = exports().join(file);
        let path = path.to_str().unwrap();
        let (code, out, err) = run(
            dir,
            &[
                "import", "events", path, "--stream", stream, "--db", &db.url,
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(": 1 new, 0 already stored;"), "{out}");
        let (_, out, _) = run(
            dir,
            &[
                "import", "events", path, "--stream", stream, "--db", &db.url,
            ],
        );
        assert!(out.contains(": 0 new, 1 already stored;"), "{out}");
        let args = ["--all", "--start", "In Progress", "--format", "json"];
        let args = if stream == "support" {
            &args[..]
        } else {
            &[args[0], args[3], args[4]][..]
        };
        let mut from_file = ok_json(dir, &[&["flow", path][..], args].concat());
        let mut from_store = ok_json(
            dir,
            &[&["flow", "--db", &db.url, "--stream", stream][..], args].concat(),
        );
        assert_eq!(
            from_store["source"]["events"],
            from_file["source"]["events"]
        );
        // Items with equal times are listed in the order their names were
        // first read, which differs between a file (row order) and the
        // store (time order): lists are compared as sets.
        for v in [&mut from_file, &mut from_store] {
            v.as_object_mut().unwrap().remove("source");
            for pointer in ["/scatter", "/flow/oldest_wip"] {
                let list = v.pointer_mut(pointer).unwrap();
                let mut items: Vec<String> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(Value::to_string)
                    .collect();
                items.sort();
                *list = Value::from(items);
            }
        }
        for key in from_file.as_object().unwrap().keys() {
            assert!(from_store[key] == from_file[key], "{file}: {key} differs");
        }
    }
    // All or nothing: the second file is bad, so the first is not stored.
    let good = exports().join("trello-board.json");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,stage,time\nA,open,2024-03-01\nB,open,soon\n").unwrap();
    let (code, _, err) = run(
        dir,
        &[
            "import",
            "events",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--stream",
            "blog",
            "--db",
            &db.url,
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.csv:3: field \"time\": \"soon\" is not a time;")
            && err.ends_with("; nothing was imported\n"),
        "{err}"
    );
    let (code, _, err) = run(dir, &["flow", "--db", &db.url, "--stream", "blog"]);
    assert_eq!(code, 2, "{err}");
    // Without --stream a log is not generic events, and the error says so.
    let (code, _, err) = run(
        dir,
        &["import", "events", bad.to_str().unwrap(), "--db", &db.url],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("an event log (CSV, XES, an export) is imported with --stream NAME"),
        "{err}"
    );
    let (code, _, err) = run(
        dir,
        &[
            "import",
            "jira",
            bad.to_str().unwrap(),
            "--stream",
            "x",
            "--db",
            &db.url,
        ],
    );
    assert_eq!(code, 2, "{err}");
}

both_backends!(logs_imported_as_streams_equal_the_files);

/// The example: one stray old event in the hiring log added its
/// empty days to the forecast's history and moved the rate from 1.18 to
/// about 0.7 items a day. The history starts at the first finished item
/// now, unless --since says otherwise.
#[test]
fn a_stray_old_event_does_not_move_the_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let hiring = std::fs::read_to_string(examples.join("hiring/events.csv")).unwrap();
    let log = dir.path().join("hiring.csv");
    std::fs::write(
        &log,
        format!("{hiring}C-999,applied,2024-02-20T09:00:00Z,engineer\n"),
    )
    .unwrap();
    let forecast = |file: &Path, extra: &[&str]| {
        ok_json(
            dir.path(),
            &[
                &[
                    "forecast",
                    file.to_str().unwrap(),
                    "--case-column",
                    "candidate",
                    "--done",
                    "hired",
                    "--done",
                    "rejected",
                    "--items",
                    "20",
                    "--format",
                    "json",
                ][..],
                extra,
            ]
            .concat(),
        )["history"]
            .clone()
    };
    let clean = forecast(&examples.join("hiring/events.csv"), &[]);
    let stray = forecast(&log, &[]);
    assert_eq!(clean["since"], "2024-05-02T00:00:00Z");
    assert_eq!(stray, clean);
    assert_eq!(stray["completed"], 67);
    assert_eq!(stray["days"], 57);
    // --since says otherwise: its days are the history, empty or not.
    let since = forecast(&log, &["--since", "2024-03-31"]);
    assert_eq!(since["days"], 89);
    assert!(since["per_day_mean"].as_f64().unwrap() < 0.76, "{since}");
}
