//! `nextneck flow --db` and `forecast --db`: value streams fed through the
//! event store (`POST /hooks/events`, `nextneck import events`, Jira
//! webhooks) give the same figures as the same rows read from a file, on
//! SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;

use std::path::{Path, PathBuf};

use live::*;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn config() -> String {
    examples().join("nextneck.toml").display().to_string()
}

fn ok_json(cwd: &Path, args: &[&str]) -> Value {
    let (code, out, err) = run(cwd, args);
    assert_eq!(code, 0, "nextneck {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// The hiring example's rows as generic `stage.transition` events, one
/// NDJSON line each, ids `hiring-LINE`.
fn hiring_events() -> Vec<String> {
    let csv = std::fs::read_to_string(examples().join("hiring/events.csv")).unwrap();
    csv.lines()
        .skip(1)
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            serde_json::json!({
                "type": "stage.transition",
                "id": format!("hiring-{}", i + 2),
                "stream": "hiring",
                "item": f[0],
                "stage": f[1],
                "at": f[2],
            })
            .to_string()
        })
        .collect()
}

/// Half the rows imported from a file, the other half posted to the
/// server, and the first half posted again (a retry through another
/// delivery): the store's stream equals the file's, figure for figure.
fn a_stream_fed_through_the_store_equals_the_file(db: Db) {
    let lines = hiring_events();
    let (first, second) = lines.split_at(lines.len() / 2);
    let file = db.dir.path().join("first.ndjson");
    std::fs::write(&file, first.join("\n") + "\n").unwrap();
    let (code, _, err) = run(
        db.dir.path(),
        &["import", "events", "--db", &db.url, file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");

    let server = Server::start(&db);
    let auth = [("authorization", format!("Bearer {EVENTS_TOKEN}"))];
    for body in [second.join("\n"), first.join("\n")] {
        let (status, text) = post(server.addr, "/hooks/events", &auth, body.as_bytes()).unwrap();
        assert_eq!(status, 202, "{text}");
    }
    wait_processed(&db.url);
    drop(server);

    let cfg = config();
    let dir = db.dir.path();
    let common = [
        "--config", &cfg, "--stream", "hiring", "--all", "--format", "json",
    ];
    let mut from_file = ok_json(dir, &[&["flow"][..], &common].concat());
    let mut from_store = ok_json(dir, &[&["flow", "--db", &db.url][..], &common].concat());
    assert_eq!(from_store["source"]["stream"], "hiring");
    assert_eq!(from_store["model"], "transitions");
    assert_eq!(from_store["bottleneck"]["stage"], "interview");
    // Every row counted once: the retried half did not double anything.
    assert_eq!(
        from_store["source"]["events"].as_u64().unwrap(),
        lines.len() as u64
    );
    for v in [&mut from_file, &mut from_store] {
        v.as_object_mut().unwrap().remove("source");
    }
    assert_eq!(from_store, from_file);

    // The forecast over the stored stream is the file's too.
    let forecast = ["forecast", "--items", "10", "--format", "json"];
    let f_file = ok_json(
        dir,
        &[&forecast[..], &["--config", &cfg, "--stream", "hiring"]].concat(),
    );
    let f_store = ok_json(
        dir,
        &[
            &forecast[..],
            &["--db", &db.url, "--config", &cfg, "--stream", "hiring"],
        ]
        .concat(),
    );
    assert_eq!(f_store["forecast"], f_file["forecast"]);
}

/// Jira status changes make a stream per project; the errors say what the
/// store holds and what to do.
fn jira_streams_and_errors(db: Db) {
    let dir = db.dir.path();
    let jira = fixtures().join("jira");
    let mut args = vec![
        "import".to_owned(),
        "jira".into(),
        "--db".into(),
        db.url.clone(),
    ];
    for f in [
        "issue_created.json",
        "issue_updated__status.json",
        "jenkins__issue_created.json",
        "jenkins__issue_updated_status_updated.json",
    ] {
        args.push(jira.join(f).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(dir, &args);
    assert_eq!(code, 0, "{err}");
    let all = ok_json(dir, &["flow", "--db", &db.url, "--all", "--format", "json"]);
    let ranked: Vec<&str> = all["overview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stream"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, ["jira:TEST", "jira:BUG"], "{all:#}");
    let r = ok_json(
        dir,
        &[
            "flow",
            "--db",
            &db.url,
            "--stream",
            "jira:TEST",
            "--all",
            "--format",
            "json",
        ],
    );
    assert_eq!(r["source"]["stream"], "jira:TEST", "{r:#}");
    // TEST-1 and TEST-11 left To Do (created there, then moved), TEST-4
    // is still in it.
    assert_eq!(r["bottleneck"]["stage"], "To Do");
    assert_eq!(r["flow"]["completed"], 2);
    assert_eq!(r["flow"]["wip"], 1);
    let stages: Vec<&str> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"To Do"), "{stages:?}");

    let (code, _, err) = run(dir, &["flow", "--db", &db.url, "--stream", "hiring"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the event store has no stream \"hiring\"; it has jira:BUG, jira:TEST"),
        "{err}"
    );
    let (code, _, err) = run(dir, &["flow", "--db", &db.url, "x.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pass event log files or --db, not both"),
        "{err}"
    );
}

#[test]
fn a_missing_or_empty_store_is_a_clear_error() {
    let db = sqlite();
    let dir = db.dir.path();
    let (code, _, err) = run(dir, &["flow", "--db", &db.url]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("there is no event store at"), "{err}");
    let (code, _, err) = run(dir, &["status", "--db", &db.url]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(dir, &["flow", "--db", &db.url]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has no value stream; send stage.transition events"),
        "{err}"
    );
}

both_backends!(
    a_stream_fed_through_the_store_equals_the_file,
    jira_streams_and_errors
);
