//! `nextneck sync github` end to end against a replay server (a real HTTP
//! server answering GitHub-shaped pages built from ../shared/fixtures): the
//! same report as importing the same data as files, a second sync that
//! stores nothing new, a sync killed with SIGKILL and resumed, and the exit
//! codes of usage errors and refused tokens.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;
#[path = "../../nextneck-sync/tests/replay/mod.rs"]
mod replay;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use live::*;
use replay::github::{self as gh, Repo, sample, serve};
use replay::{Replay, Response};
use serde_json::{Value, json};

const REPO: &str = "acme/shop";

both_backends!(
    a_sync_gives_the_report_of_an_import_of_the_same_data,
    a_sync_killed_midway_resumes_without_gaps_or_double_counts,
);

fn sync(dir: &Path, replay: &Replay, db: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "sync",
        "github",
        "--repo",
        REPO,
        "--api-url",
        &replay.base,
        "--db",
        db,
        "--wait-unit-ms",
        "1",
    ];
    args.extend_from_slice(extra);
    let out = nextneck(dir)
        .args(&args)
        .env("GITHUB_TOKEN", "ghp_test_token")
        .env_remove("NEXTNECK_GITHUB_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn report(dir: &Path, url: &str) -> Value {
    let (code, out, err) = run(
        dir,
        &[
            "report",
            "--db",
            url,
            "--since",
            "2025-03-01",
            "--until",
            "2025-04-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut report: Value = serde_json::from_str(&out).unwrap();
    // Where the store is differs; everything else must not.
    report["source"]["db"] = Value::Null;
    report
}

/// The same history as files, the way docs/events.md says to export it:
/// pulls with their commits and reviews, deployments with their statuses,
/// the runs' pages and the releases.
fn import_files(repo: &Repo, dir: &Path) -> Vec<String> {
    let pulls: Vec<Value> = repo
        .pulls
        .iter()
        .map(|(p, reviews, commits)| {
            let mut p = p.clone();
            p["reviews"] = json!(reviews);
            p["commits"] = json!(commits);
            p
        })
        .collect();
    let deployments: Vec<Value> = repo
        .deployments
        .iter()
        .map(|(d, statuses)| {
            let mut d = d.clone();
            d["statuses"] = json!(statuses);
            d
        })
        .collect();
    let files = [
        ("pulls.json", json!(pulls)),
        ("deployments.json", json!(deployments)),
        (
            "runs.json",
            json!({"total_count": repo.runs.len(), "workflow_runs": repo.runs}),
        ),
        ("releases.json", json!(repo.releases)),
    ];
    files
        .iter()
        .map(|(name, value)| {
            let path = dir.join(name);
            std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
            path.display().to_string()
        })
        .collect()
}

fn imported_report(repo: &Repo) -> Value {
    let db = sqlite();
    let mut args = vec![
        "import".to_owned(),
        "github".to_owned(),
        "--db".to_owned(),
        db.url.clone(),
    ];
    args.extend(import_files(repo, db.dir.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(db.dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    report(db.dir.path(), &db.url)
}

fn deliveries(url: &str) -> usize {
    nextneck_store::open(url)
        .unwrap()
        .deliveries()
        .unwrap()
        .len()
}

fn a_sync_gives_the_report_of_an_import_of_the_same_data(db: Db) {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    let dir = db.dir.path();
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("synced 1 repository into {}: 5 pull requests (5 reviews), 3 deployments, 3 workflow runs, 2 releases; 13 items stored, 13 new, 0 already stored; ", db.url)),
        "{out}"
    );
    assert!(!out.contains("ghp_test_token") && !err.contains("ghp_test_token"));
    let synced = report(dir, &db.url);
    assert_eq!(synced["dora"]["deployments"]["count"], json!(3), "{synced}");
    assert_eq!(synced["dora"]["lead_time"]["changes"], json!(4), "{synced}");
    assert_eq!(synced["stages"][2]["name"], json!("review"));
    assert_eq!(
        synced["stages"][2]["changes"],
        json!(4),
        "reviews came with the pulls"
    );
    assert_eq!(synced, imported_report(&repo));

    // A second sync: the pulls list is not modified (304), the others
    // fetch their newest item again, which is already stored.
    gh::serve_second_run(&replay, &repo);
    let before = deliveries(&db.url);
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(": 0 pull requests (0 reviews), 1 deployments, 1 workflow runs, 1 releases; 3 items stored, 0 new, 3 already stored; "),
        "{out}"
    );
    assert_eq!(deliveries(&db.url), before);
    assert_eq!(report(dir, &db.url), synced);
}

fn a_sync_killed_midway_resumes_without_gaps_or_double_counts(db: Db) {
    let replay = Replay::start();
    let repo = sample(REPO);
    // The third page of pulls hangs: the sync is killed while waiting for it,
    // after the first two pages were committed.
    let page3 = format!("{}&page=3", gh::pulls_url(REPO));
    replay.on(
        &page3,
        vec![Response::json(200, &json!([])).delayed(Duration::from_secs(20))],
    );
    serve(&replay, &repo, 2);
    let dir = db.dir.path();
    let mut child = nextneck(dir)
        .args([
            "sync",
            "github",
            "--repo",
            REPO,
            "--api-url",
            &replay.base,
            "--db",
            &db.url,
            "--wait-unit-ms",
            "1",
        ])
        .env("GITHUB_TOKEN", "ghp_test_token")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while replay.count(&page3) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "page 3 never asked for"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(deliveries(&db.url), 4, "pulls 5 to 2 were committed");
    // The resumed run walks the pulls again (the cursor did not move) and
    // gets the real third page this time.
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("13 items stored, 9 new, 4 already stored"),
        "{out}"
    );
    assert_eq!(report(dir, &db.url), imported_report(&repo));
}

#[test]
fn usage_errors_and_refused_tokens() {
    let db = sqlite();
    let dir = db.dir.path();
    let replay = Replay::start();
    let (code, _, err) = sync(dir, &replay, &db.url, &["--since", "last week"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since: `last week` is not a date"), "{err}");
    let (code, _, err) = run(dir, &["sync", "github", "--db", &db.url]);
    assert_eq!(code, 2, "{err}");
    replay.on(
        &gh::pulls_url(REPO),
        vec![Response::json(
            403,
            &json!({"message": "Resource not accessible by personal access token", "status": "403"}),
        )
        .header("X-Accepted-GitHub-Permissions", "pull_requests=read")],
    );
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("sync of acme/shop stopped; what was stored so far is kept, run the same command again to continue: ")
            && err.contains("403 Forbidden: the token cannot read this; it needs read access to pull requests (a fine-grained token's \"Pull requests: read\")"),
        "{err}"
    );
    assert!(!err.contains("ghp_test_token"));
}
