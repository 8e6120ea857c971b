//! Releases in a GitHub API export (`gh api repos/O/R/releases`, or what
//! `nextneck sync github` stores) are read and kept, without an event yet;
//! the other elements of the same export still count.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert};
use serde_json::{Value, json};

fn fixture(name: &str, key: &str) -> Value {
    let v: Value =
        serde_json::from_slice(&nextneck_testkit::fixture(&format!("github/{name}"))).unwrap();
    v[key].clone()
}

fn check(export: Value, expected_kinds: &[&str]) {
    let converted = convert(Provider::Github, &[], &serde_json::to_vec(&export).unwrap()).unwrap();
    assert_eq!(converted.event_type, "github:export");
    let kinds: Vec<&str> = converted
        .events
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.kind())
        .collect();
    assert_eq!(kinds, expected_kinds);
}

#[test]
fn releases_are_kept_without_events() {
    let release = fixture("release__with_name.json", "release");
    let run = fixture(
        "octokit__workflow_run__completed.payload.json",
        "workflow_run",
    );
    check(json!([release]), &[]);
    check(json!([release, run]), &["ci_run"]);
}

#[test]
fn a_synced_run_carries_its_jobs() {
    let mut run = fixture(
        "octokit__workflow_run__completed.payload.json",
        "workflow_run",
    );
    check(json!([run.clone()]), &["ci_run"]);
    let job = fixture(
        "octokit__workflow_job__completed.success.with-organization.payload.json",
        "workflow_job",
    );
    run["jobs"] = json!([job.clone(), job]);
    check(json!([run]), &["ci_run", "ci_job", "ci_job"]);
}
