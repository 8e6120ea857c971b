//! Deployments that list what they shipped (`docs/metrics.md`, "Linking
//! changes to deployments", `listed_by_deployment`): one table of cases,
//! events in, JSON out.

use nextneck_model::Timestamp;
use nextneck_model::events::{ChangeCommit, Deployment, DeploymentStatus, Event, EventBody};
use serde_json::{Value, json};

use super::testing::*;
use super::{ChangeLinking, DeliverySettings};

const MERGE_SHA: &str = "58793660b22d6ceacbdc23b28a0562bca339702c";
const COMMIT_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A deployment of `acme/shop` to production that lists `commits` and
/// `changes`.
fn listing(
    id: &str,
    status: DeploymentStatus,
    t: Timestamp,
    commits: &[&str],
    changes: &[&str],
) -> Event {
    let d = Deployment {
        commits: commits.iter().map(|s| (*s).to_owned()).collect(),
        changes: changes.iter().map(|s| (*s).to_owned()).collect(),
        ..deployment(id, Some(status), t)
    };
    ev("github", Some(t), EventBody::Deployment(d))
}

/// Change `acme/shop#1`, merged at day 0 05:00 by `MERGE_SHA`, with one
/// commit `COMMIT_SHA`.
fn the_change() -> Event {
    let mut c = change("acme/shop#1", at(0, 2), Some(at(0, 5)));
    c.merge_sha = Some(MERGE_SHA.to_owned());
    c.commits = vec![ChangeCommit {
        sha: COMMIT_SHA.to_owned(),
        authored_at: Some(at(0, 1)),
        committed_at: None,
        author: None,
    }];
    ev("github", Some(at(0, 5)), EventBody::Change(c))
}

/// The change, the first deployment after its merge (`d-40`, listing
/// nothing) and `d-41` a day later listing `commits` and `changes`.
fn after(commits: &[&str], changes: &[&str]) -> Vec<Event> {
    vec![
        the_change(),
        deployed("d-40", at(0, 6)),
        listing(
            "d-41",
            DeploymentStatus::Success,
            at(1, 0),
            commits,
            changes,
        ),
    ]
}

struct Case {
    name: &'static str,
    events: Vec<Event>,
    settings: fn(&mut DeliverySettings),
    expected: Vec<(&'static str, Value)>,
}

fn keep(_: &mut DeliverySettings) {}

const LINK: &str = "/explain/delivery/deployments/1/changes/0/link";

fn linked_to_d41(reason: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("/explain/delivery/deployments/0/id", json!("d-40")),
        ("/explain/delivery/deployments/0/changes", json!([])),
        ("/explain/delivery/deployments/1/id", json!("d-41")),
        (
            "/explain/delivery/deployments/1/changes/0/id",
            json!("acme/shop#1"),
        ),
        (
            "/explain/delivery/deployments/1/changes/0/link/rule",
            json!("listed_by_deployment"),
        ),
        (
            "/explain/delivery/deployments/1/changes/0/link/reason",
            json!(reason.to_owned()),
        ),
    ]
}

fn cases() -> Vec<Case> {
    let unlinked = "/explain/delivery/unlinked/changes";
    vec![
        Case {
            name: "listed by its id: linked to the listing deployment, not the first after the merge",
            events: after(&[], &["acme/shop#1"]),
            settings: keep,
            expected: linked_to_d41("deployment d-41 lists it"),
        },
        Case {
            name: "its merge commit listed by a 7-digit prefix in upper case",
            events: after(&["5879366"], &[]),
            settings: keep,
            expected: linked_to_d41("deployment d-41 lists its merge commit 58793660b22d"),
        },
        Case {
            name: "one of its commits listed, whole and in upper case",
            events: after(&[&COMMIT_SHA.to_uppercase()], &[]),
            settings: keep,
            expected: linked_to_d41("deployment d-41 lists its commit 0123456789ab"),
        },
        Case {
            name: "a prefix shorter than 7 hex digits is not a listing",
            events: after(&["587936"], &[]),
            settings: keep,
            expected: vec![
                (
                    "/explain/delivery/deployments/0/changes/0/link/rule",
                    json!("first_deployment_after_merge"),
                ),
                ("/explain/delivery/deployments/1/changes", json!([])),
            ],
        },
        Case {
            name: "a deployment listing other changes does not take this one",
            events: after(&["abcdef0123"], &["acme/shop#2"]),
            settings: keep,
            expected: vec![
                (
                    "/explain/delivery/deployments/0/changes/0/link/rule",
                    json!("first_deployment_after_merge"),
                ),
                ("/explain/delivery/deployments/1/changes", json!([])),
            ],
        },
        Case {
            name: "the earliest successful listing deployment wins; a failed one does not ship it",
            events: vec![
                the_change(),
                listing(
                    "d-39",
                    DeploymentStatus::Failure,
                    at(0, 6),
                    &[],
                    &["acme/shop#1"],
                ),
                listing(
                    "d-41",
                    DeploymentStatus::Success,
                    at(1, 0),
                    &[MERGE_SHA],
                    &[],
                ),
                listing(
                    "d-42",
                    DeploymentStatus::Success,
                    at(2, 0),
                    &[],
                    &["acme/shop#1"],
                ),
            ],
            settings: keep,
            expected: vec![
                ("/explain/delivery/deployments/0/id", json!("d-39")),
                ("/explain/delivery/deployments/0/changes", json!([])),
                ("/explain/delivery/deployments/1/id", json!("d-41")),
                (
                    LINK,
                    json!({"rule": "listed_by_deployment", "reason": "deployment d-41 lists its merge commit 58793660b22d"}),
                ),
                ("/explain/delivery/deployments/2/changes", json!([])),
            ],
        },
        Case {
            name: "a deployment that is not production lists nothing",
            events: vec![the_change(), {
                let mut e = listing(
                    "d-41",
                    DeploymentStatus::Success,
                    at(1, 0),
                    &[],
                    &["acme/shop#1"],
                );
                if let EventBody::Deployment(d) = &mut e.body {
                    d.environment = Some("staging".to_owned());
                }
                e
            }],
            settings: keep,
            expected: vec![
                ("/dora/deployments/count", json!(0)),
                (
                    "/explain/delivery/unlinked/changes/0/reason",
                    json!(
                        "no successful production deployment of `shop` (map its repository to the deployments' service in [services])"
                    ),
                ),
            ],
        },
        Case {
            name: "listing is tried before commit_range, which without a clone links nothing",
            events: after(&[], &["acme/shop#1"]),
            settings: |s| s.link_changes = ChangeLinking::CommitRange,
            expected: [
                linked_to_d41("deployment d-41 lists it"),
                vec![(unlinked, json!([]))],
            ]
            .concat(),
        },
        Case {
            name: "a change without a repository is linked by listing",
            events: vec![
                {
                    let mut e = the_change();
                    if let EventBody::Change(c) = &mut e.body {
                        c.repository = None;
                    }
                    e
                },
                deployed("d-40", at(0, 6)),
                listing(
                    "d-41",
                    DeploymentStatus::Success,
                    at(1, 0),
                    &[],
                    &["acme/shop#1"],
                ),
            ],
            settings: keep,
            expected: linked_to_d41("deployment d-41 lists it"),
        },
    ]
}

#[test]
fn deployments_that_list_what_they_shipped_link_it() {
    for case in cases() {
        let mut s = settings();
        (case.settings)(&mut s);
        let r = report_with(&case.events, None, &s);
        eprintln!("case: {}", case.name);
        check(&r, &case.expected);
    }
}
