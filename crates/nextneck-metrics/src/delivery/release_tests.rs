//! Releases as deployments, by `deployments_from` (`docs/metrics.md`,
//! "Releases as deployments"): one table of cases, events in, JSON out.

use nextneck_model::Timestamp;
use nextneck_model::events::{Event, EventBody, Release};
use serde_json::{Value, json};

use super::testing::*;
use super::{DeliverySettings, DeploymentSources};

/// A published release of `acme/shop` whose tag targets `target`.
fn release(id: &str, tag: &str, target: &str, published: Timestamp) -> Release {
    Release {
        id: id.to_owned(),
        repository: Some("acme/shop".to_owned()),
        tag: tag.to_owned(),
        name: None,
        target: Some(target.to_owned()),
        draft: false,
        prerelease: false,
        published_at: Some(published),
        created_at: Some(published),
        action: Some("published".to_owned()),
    }
}

fn released(r: Release) -> Event {
    ev("github", r.published_at, EventBody::Release(r))
}

/// Two releases targeting `main` around a merged change.
fn two_releases() -> Vec<Event> {
    vec![
        released(release("r1", "v1.0.0", "main", at(0, 1))),
        merged("acme/shop#1", at(0, 2), at(0, 5)),
        released(release("r2", "v1.1.0", "main", at(1, 0))),
    ]
}

struct Case {
    name: &'static str,
    events: Vec<Event>,
    settings: fn(&mut DeliverySettings),
    expected: Vec<(&'static str, Value)>,
}

fn keep(_: &mut DeliverySettings) {}

fn cases() -> Vec<Case> {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let mut pre = release("r3", "v2.0.0-rc.1", "main", at(2, 0));
    pre.prerelease = true;
    let mut draft = release("r4", "v3.0.0", "main", at(3, 0));
    draft.draft = true;
    draft.published_at = None;
    let deleted = Release {
        action: Some("deleted".to_owned()),
        ..release("r5", "v4.0.0", "main", at(4, 0))
    };
    vec![
        Case {
            name: "auto: the releases of a repository without deployment events count",
            events: two_releases(),
            settings: keep,
            expected: vec![
                ("/deployments_from/releases/deployments_from", json!("auto")),
                ("/deployments_from/releases/counted", json!(2)),
                ("/deployments_from/releases/not_counted", json!(0)),
                ("/dora/deployments/count", json!(2)),
                ("/explain/delivery/deployments/1/id", json!("r2")),
                ("/explain/delivery/deployments/1/environment", json!(null)),
                (
                    "/explain/delivery/deployments/1/production",
                    json!(
                        "release `v1.1.0` of `acme/shop` (deployments_from auto: `shop` has no production deployment events)"
                    ),
                ),
                ("/explain/delivery/deployments/1/sha", json!(null)),
                (
                    "/explain/delivery/deployments/1/time",
                    json!("2024-01-02T00:00:00Z"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/id",
                    json!("acme/shop#1"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/link/rule",
                    json!("first_deployment_after_merge"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/link/reason",
                    json!(
                        "the first successful production deployment of `shop` at or after the merge at 2024-01-01T05:00:00Z (release `v1.1.0` targets branch `main`, not a commit: linked by time)"
                    ),
                ),
            ],
        },
        Case {
            name: "auto: a repository with production deployment events ignores its releases",
            events: [two_releases(), vec![deployed("d1", at(1, 2))]].concat(),
            settings: keep,
            expected: vec![
                ("/deployments_from/releases/counted", json!(0)),
                ("/deployments_from/releases/not_counted", json!(2)),
                ("/dora/deployments/count", json!(1)),
                ("/explain/delivery/deployments/0/id", json!("d1")),
            ],
        },
        Case {
            name: "deployments: releases never count",
            events: two_releases(),
            settings: |s| s.deployments_from = DeploymentSources::Deployments,
            expected: vec![
                (
                    "/deployments_from/releases/deployments_from",
                    json!("deployments"),
                ),
                ("/deployments_from/releases/counted", json!(0)),
                ("/dora/deployments/count", json!(0)),
            ],
        },
        Case {
            name: "releases: deployment events are ignored",
            events: [two_releases(), vec![deployed("d1", at(1, 2))]].concat(),
            settings: |s| s.deployments_from = DeploymentSources::Releases,
            expected: vec![
                ("/deployments_from/releases/counted", json!(2)),
                ("/deployments_from/production", json!(2)),
                ("/dora/deployments/count", json!(2)),
                ("/explain/delivery/deployments/1/id", json!("r2")),
            ],
        },
        Case {
            name: "deployments and releases: both count",
            events: [two_releases(), vec![deployed("d1", at(1, 2))]].concat(),
            settings: |s| s.deployments_from = DeploymentSources::Both,
            expected: vec![
                (
                    "/deployments_from/releases/deployments_from",
                    json!("deployments+releases"),
                ),
                ("/dora/deployments/count", json!(3)),
            ],
        },
        Case {
            name: "drafts, deleted releases and pre-releases do not count",
            events: [
                two_releases(),
                vec![released(pre.clone()), released(draft), released(deleted)],
            ]
            .concat(),
            settings: keep,
            expected: vec![
                ("/deployments_from/releases/counted", json!(2)),
                ("/deployments_from/releases/not_counted", json!(3)),
                ("/deployments_from/releases/prereleases", json!(false)),
            ],
        },
        Case {
            name: "pre-releases count when asked",
            events: [two_releases(), vec![released(pre)]].concat(),
            settings: |s| s.prereleases = true,
            expected: vec![
                ("/deployments_from/releases/counted", json!(3)),
                ("/deployments_from/releases/prereleases", json!(true)),
                ("/explain/delivery/deployments/2/id", json!("r3")),
            ],
        },
        Case {
            name: "a target that is a commit is the deployed commit",
            events: vec![released(release("r1", "v1.0.0", sha, at(0, 1)))],
            settings: keep,
            expected: vec![("/explain/delivery/deployments/0/sha", json!(sha))],
        },
    ]
}

#[test]
fn releases_count_as_deployments_by_deployments_from() {
    for case in cases() {
        let mut s = settings();
        (case.settings)(&mut s);
        let r = report_with(&case.events, None, &s);
        let expected: Vec<(&str, Value)> = case.expected;
        eprintln!("case: {}", case.name);
        check(&r, &expected);
    }
}

#[test]
fn without_releases_the_counts_are_zero() {
    let r = report_with(&[deployed("d1", at(1, 2))], None, &settings());
    check(
        &r,
        &[
            ("/deployments_from/releases/counted", json!(0)),
            ("/deployments_from/releases/not_counted", json!(0)),
        ],
    );
}
