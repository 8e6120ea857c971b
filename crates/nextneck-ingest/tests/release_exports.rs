//! Releases in a GitHub API export (`gh api repos/O/R/releases`, or what
//! `nextneck sync github` stores) are release events, beside the other
//! elements of the same export.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert};
use nextneck_model::events::EventBody;
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
fn releases_are_release_events() {
    let release = fixture("release__with_name.json", "release");
    let run = fixture(
        "octokit__workflow_run__completed.payload.json",
        "workflow_run",
    );
    check(json!([release]), &["release"]);
    check(json!([release, run]), &["release", "ci_run"]);
    let converted = convert(
        Provider::Github,
        &[],
        &serde_json::to_vec(&json!([release])).unwrap(),
    )
    .unwrap();
    let e = &converted.events.unwrap()[0];
    let EventBody::Release(r) = &e.body else {
        panic!("not a release: {e:?}");
    };
    // The repository from the release's API URL; its time is its publication.
    assert_eq!(r.repository.as_deref(), Some("baxterthehacker/public-repo"));
    assert_eq!(
        (r.tag.as_str(), r.target.as_deref()),
        ("0.0.1", Some("master"))
    );
    assert_eq!(e.at, r.published_at);
    assert_eq!(r.action, None);
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
