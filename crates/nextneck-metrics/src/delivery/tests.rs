//! The delivery report end to end: events in, JSON figures out.

use nextneck_model::events::{
    Actor, Change, ChangeCommit, CiConclusion, CiRun, CiStatus, DeploymentStatus, Event, EventBody,
    Incident, Issue, Postmortem, TestCase, TestOutcome,
};
use nextneck_model::{Commit, CommitId, History, Timestamp};
use serde_json::{Value, json};

use super::testing::*;
use super::*;
use crate::time::DAY;

#[test]
fn the_first_review_is_by_someone_else_and_not_a_bot() {
    let bot_flagged = Actor {
        login: Some("ci".into()),
        id: None,
        bot: true,
    };
    let same_id = Actor {
        login: Some("ada-renamed".into()),
        id: Some("42".into()),
        bot: false,
    };
    let mut c = change("acme/shop#1", at(0, 0), Some(at(0, 20)));
    c.author = Some(Actor {
        login: Some("ada".into()),
        id: Some("42".into()),
        bot: false,
    });
    let events = vec![
        ev("github", Some(at(0, 20)), EventBody::Change(c)),
        review("acme/shop#1", "r1", actor("ADA"), at(0, 1)),
        review("acme/shop#1", "r2", same_id, at(0, 2)),
        review("acme/shop#1", "r3", actor("dependabot[bot]"), at(0, 3)),
        review("acme/shop#1", "r4", actor("renovate"), at(0, 4)),
        review("acme/shop#1", "r5", bot_flagged, at(0, 5)),
        review("acme/shop#1", "r7", actor("carol"), at(0, 7)),
        review("acme/shop#1", "r6", actor("bob"), at(0, 6)),
        // After the merge: not a review that ended the pickup.
        review("acme/shop#1", "r0", actor("dan"), at(0, 21)),
    ];
    let mut s = settings();
    s.bots = vec!["Renovate".into()];
    let r = report_with(
        &[
            vec![deployed("0", at(0, 0) - 1), deployed("1", at(1, 0))],
            events,
        ]
        .concat(),
        None,
        &s,
    );
    check(
        &r,
        &[
            (
                "/explain/delivery/deployments/1/changes/0/first_review_at",
                json!("2024-01-01T06:00:00Z"),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/first_reviewer",
                json!("bob"),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/pickup_seconds",
                json!(6 * H),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/review_seconds",
                json!(14 * H),
            ),
        ],
    );
    // Only bots and the author reviewed it: no pickup or review stage.
    s.bots.clear();
    let mut c = change("acme/shop#2", at(0, 0), Some(at(0, 20)));
    c.author = Some(actor("ada"));
    let events = vec![
        deployed("0", at(0, 0) - 1),
        deployed("1", at(1, 0)),
        ev("github", Some(at(0, 20)), EventBody::Change(c)),
        review("acme/shop#2", "r1", actor("ada"), at(0, 1)),
        review("acme/shop#2", "r2", actor("renovate[bot]"), at(0, 2)),
        review("acme/shop#2", "r3", actor("bob"), at(0, 21)),
    ];
    let r = report_with(&events, None, &s);
    check(
        &r,
        &[
            (
                "/explain/delivery/deployments/1/changes/0/first_review_at",
                Value::Null,
            ),
            (
                "/explain/delivery/deployments/1/changes/0/pickup_seconds",
                Value::Null,
            ),
            (
                "/explain/delivery/deployments/1/changes/0/review_seconds",
                Value::Null,
            ),
            (
                "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                json!(4 * H),
            ),
            ("/stages/1/changes", json!(0)),
            ("/stages/1/median_seconds", Value::Null),
            ("/notices/0/code", json!("unreviewed_changes")),
        ],
    );
}

#[test]
fn changes_link_to_the_first_deployment_at_or_after_the_merge() {
    let events = vec![
        deployed("100", at(1, 0)),
        deployed("101", at(3, 0)),
        deployed("102", at(5, 0)),
        // Merged before the first deployment: shipped by the baseline.
        merged("acme/shop#1", at(0, 0), at(0, 12)),
        // Merged exactly when 101 succeeded: 101 ships it.
        merged("acme/shop#2", at(2, 0), at(3, 0)),
        // Merged a second later: 102.
        merged("acme/shop#3", at(2, 0), at(3, 0) + 1),
        // Merged after the last deployment: undeployed.
        merged("acme/shop#4", at(5, 0), at(5, 1)),
        // Not merged.
        ev(
            "github",
            Some(at(5, 0)),
            EventBody::Change(change("acme/shop#5", at(5, 0), None)),
        ),
        // Another repository, mapped to no deployment.
        ev(
            "github",
            Some(at(2, 0)),
            EventBody::Change(Change {
                repository: Some("acme/other".into()),
                ..change("acme/other#1", at(1, 0), Some(at(2, 0)))
            }),
        ),
    ];
    let r = report_with(&events, None, &settings());
    let rule = "first_deployment_after_merge";
    check(
        &r,
        &[
            ("/explain/delivery/deployments/0/baseline", json!(true)),
            (
                "/explain/delivery/deployments/0/changes/0/id",
                json!("acme/shop#1"),
            ),
            (
                "/explain/delivery/deployments/0/changes/0/counted",
                json!(false),
            ),
            (
                "/explain/delivery/deployments/0/changes/0/deploy_seconds",
                Value::Null,
            ),
            (
                "/explain/delivery/deployments/1/changes/0/id",
                json!("acme/shop#2"),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/link/rule",
                json!(rule),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                json!(0),
            ),
            (
                "/explain/delivery/deployments/2/changes/0/id",
                json!("acme/shop#3"),
            ),
            (
                "/explain/delivery/deployments/2/changes/0/deploy_seconds",
                json!(2 * DAY - 1),
            ),
            (
                "/explain/delivery/unlinked/changes/0/id",
                json!("acme/other#1"),
            ),
            (
                "/explain/delivery/unlinked/changes/0/reason",
                json!(
                    "no successful production deployment of `acme/other` (map its repository to the deployments' service in [services])"
                ),
            ),
            (
                "/explain/delivery/unlinked/changes/1/id",
                json!("acme/shop#4"),
            ),
            (
                "/explain/delivery/unlinked/changes/1/reason",
                json!(
                    "no successful production deployment of `shop` at or after the merge at 2024-01-06T01:00:00Z"
                ),
            ),
            ("/dora/deployments/count", json!(3)),
            ("/dora/lead_time/baseline_changes", json!(1)),
            ("/stages/4/changes", json!(2)),
            ("/undeployed/changes", json!(2)),
        ],
    );
    check_absent(&r, &["/explain/delivery/unlinked/changes/2"]);
}

/// c0 ← c1 ← c2 ← c3, one line.
fn line_history(times: &[Timestamp]) -> History {
    let commits = times
        .iter()
        .enumerate()
        .map(|(i, &t)| Commit {
            id: CommitId([i as u8 + 1; 20]),
            parents: if i == 0 { vec![] } else { vec![i as u32 - 1] },
            parent_count: u32::from(i > 0),
            author_time: t,
            committer_time: t,
            subject: format!("c{i}").into(),
            reverts: vec![],
        })
        .collect();
    History {
        commits,
        head: Some(times.len() as u32 - 1),
        ..History::default()
    }
}

fn sha(i: u8) -> String {
    CommitId([i + 1; 20]).to_hex()
}

#[test]
fn changes_link_by_commit_range_with_a_clone() {
    let history = line_history(&[at(0, 0), at(1, 0), at(2, 0), at(3, 0)]);
    let dep = |id: &str, t: Timestamp, commit: u8| {
        let mut d = deployment(id, Some(DeploymentStatus::Success), t);
        d.sha = Some(sha(commit));
        ev("github", Some(t), EventBody::Deployment(d))
    };
    let with_merge = |id: &str, opened, merged: Timestamp, commit: Option<String>| {
        let mut c = change(id, opened, Some(merged));
        c.merge_sha = commit;
        ev("github", Some(merged), EventBody::Change(c))
    };
    let events = vec![
        dep("100", at(0, 1), 0),
        // Deployed commit c2 at day 2 06:00 contains c1 and c2.
        dep("101", at(2, 6), 2),
        dep("102", at(3, 6), 3),
        // Its merge says day 2 08:00 (after 101, clock skew), but the
        // commit range says 101 shipped it.
        with_merge("acme/shop#1", at(0, 12), at(2, 8), Some(sha(1))),
        // A merge commit the clone does not hold: after the merge.
        with_merge("acme/shop#2", at(0, 12), at(2, 8), Some("ab".repeat(20))),
    ];
    let r = report_with(&events, Some(&history), &settings());
    check(
        &r,
        &[
            ("/source/kind", json!("events+git")),
            ("/explain/delivery/deployments/1/id", json!("101")),
            (
                "/explain/delivery/deployments/1/changes/0/id",
                json!("acme/shop#1"),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/link/rule",
                json!("commit_range"),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/link/reason",
                json!(format!(
                    "deployed commit {} contains merge commit {}",
                    &sha(2)[..12],
                    &sha(1)[..12]
                )),
            ),
            (
                "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                json!(0),
            ),
            (
                "/explain/delivery/deployments/2/changes/0/id",
                json!("acme/shop#2"),
            ),
            (
                "/explain/delivery/deployments/2/changes/0/link/rule",
                json!("first_deployment_after_merge"),
            ),
        ],
    );
    // Commit ranges only: the merge commit the clone lacks is unlinked.
    let mut s = settings();
    s.link_changes = ChangeLinking::CommitRange;
    let r = report_with(&events, Some(&history), &s);
    check(
        &r,
        &[
            (
                "/explain/delivery/unlinked/changes/0/id",
                json!("acme/shop#2"),
            ),
            (
                "/explain/delivery/unlinked/changes/0/reason",
                json!("its merge commit is not in the clone"),
            ),
        ],
    );
    // After the merge only: the clone is not asked.
    s.link_changes = ChangeLinking::AfterMerge;
    let r = report_with(&events, Some(&history), &s);
    check(
        &r,
        &[
            (
                "/explain/delivery/deployments/2/changes/0/id",
                json!("acme/shop#1"),
            ),
            (
                "/explain/delivery/deployments/2/changes/1/id",
                json!("acme/shop#2"),
            ),
        ],
    );
}

// Over 100 lines: one scenario's events, then every figure they give.
#[test]
fn incidents_link_by_reference_else_by_service() {
    let history = line_history(&[at(0, 0), at(1, 0), at(2, 0)]);
    let dep = |id: &str, t: Timestamp, commit: u8, service: Option<&str>| {
        let mut d = deployment(id, Some(DeploymentStatus::Success), t);
        d.sha = Some(sha(commit));
        if let Some(s) = service {
            d.service = Some(s.to_owned());
            d.repository = None;
        }
        ev("events", Some(t), EventBody::Deployment(d))
    };
    let inc = |i: Incident| ev("pagerduty", i.opened_at, EventBody::Incident(i));
    let events = vec![
        dep("d0", at(0, 1), 0, None),
        dep("d1", at(1, 1), 1, None),
        dep("d2", at(2, 1), 2, None),
        dep("x1", at(2, 1), 2, Some("search")),
        // Names deployment d0 explicitly, though d2 is the latest.
        inc(Incident {
            deployment_id: Some("d0".into()),
            ..incident("P1", Some("Shop (PagerDuty)"), at(3, 0), Some(at(3, 2)))
        }),
        // Names a commit by a prefix of the SHA d1 deployed.
        inc(Incident {
            sha: Some(sha(1)[..10].to_owned()),
            ..incident("P2", Some("Shop (PagerDuty)"), at(3, 0), None)
        }),
        // Names commit c0 in full: with the clone, the first deployment
        // containing it (d0).
        inc(Incident {
            sha: Some(sha(0)),
            ..incident("P3", None, at(3, 0), None)
        }),
        // Opened exactly when d1 succeeded: d1 is at or before it.
        inc(incident("P4", Some("Shop (PagerDuty)"), at(1, 1), None)),
        // Another service.
        inc(incident("P5", Some("search"), at(2, 5), None)),
        // Before any deployment of its service.
        inc(incident("P6", Some("shop"), at(0, 0), None)),
        // No service.
        inc(incident("P7", None, at(2, 5), None)),
        // An unknown deployment id, and no service.
        inc(Incident {
            deployment_id: Some("d9".into()),
            ..incident("P8", None, at(2, 6), None)
        }),
    ];
    let r = report_with(&events, Some(&history), &settings());
    let link = |id: &str| -> (Value, Value) {
        let incidents = r
            .pointer("/explain/delivery/incidents")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let i = incidents
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or(Value::Null);
        (
            i["deployment"].clone(),
            i["deployment_link"]["rule"].clone(),
        )
    };
    assert_eq!(
        link("P1"),
        (json!("events:d0"), json!("explicit_deployment_id"))
    );
    assert_eq!(link("P2"), (json!("events:d1"), json!("explicit_sha")));
    assert_eq!(link("P3"), (json!("events:d0"), json!("explicit_sha")));
    assert_eq!(
        link("P4"),
        (json!("events:d1"), json!("latest_deployment_of_service"))
    );
    assert_eq!(
        link("P5"),
        (json!("events:x1"), json!("latest_deployment_of_service"))
    );
    assert_eq!(link("P6"), (Value::Null, Value::Null));
    assert_eq!(link("P7"), (Value::Null, Value::Null));
    let unlinked: Vec<(String, String)> = r["explain"]["delivery"]["unlinked"]["incidents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    (
                        u["id"].as_str().unwrap_or("").to_owned(),
                        u["reason"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        unlinked,
        [
            ("P6".to_owned(), "no successful production deployment of `shop` at or before it opened at 2024-01-01T00:00:00Z".to_owned()),
            ("P7".to_owned(), "it names no service".to_owned()),
            ("P8".to_owned(), "it names deployment d9 that no production deployment matches; it names no service".to_owned()),
        ]
    );
    // Explicit references only: the service rule is off.
    let mut s = settings();
    s.link_incidents = IncidentLinking::Explicit;
    let r = report_with(&events, Some(&history), &s);
    check(
        &r,
        &[
            ("/incidents/linked_to_deployment", json!(3)),
            ("/incidents/count", json!(8)),
        ],
    );
    // Failed deployments: d0 (P1, P3), d1 (P2, P4), x1 (P5) of 4.
    let r = report_with(&events, Some(&history), &settings());
    check(
        &r,
        &[
            ("/dora/change_failure_rate/failed", json!(3)),
            ("/dora/change_failure_rate/deployments", json!(4)),
            // A deployment recovers once every incident linked to it
            // is resolved: P3 (d0), P2 and P4 (d1), P5 (x1) never are.
            ("/dora/recovery_time/recoveries", json!(0)),
            ("/dora/recovery_time/median_seconds", Value::Null),
        ],
    );
}

#[test]
fn recovery_of_failed_deployments() {
    let failed = |id: &str, t: Timestamp| {
        ev(
            "github",
            Some(t),
            EventBody::Deployment(deployment(id, Some(DeploymentStatus::Failure), t)),
        )
    };
    let events = vec![
        deployed("1", at(0, 0)),
        // Failed by its status; recovered by the next success (3).
        failed("2", at(1, 0)),
        deployed("3", at(1, 2)),
        // Failed by an incident resolved 5 hours after it.
        ev(
            "pagerduty",
            Some(at(1, 3)),
            EventBody::Incident(incident("P1", Some("shop"), at(1, 3), Some(at(1, 7)))),
        ),
        // Failed by its status, not recovered yet.
        failed("4", at(2, 0)),
    ];
    let r = report_with(&events, None, &settings());
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(2)),
            ("/dora/change_failure_rate/failed", json!(3)),
            ("/dora/change_failure_rate/deployments", json!(4)),
            ("/dora/change_failure_rate/ratio", json!(0.75)),
            ("/dora/recovery_time/recoveries", json!(2)),
            // 2 h and 5 h: median 3.5 h.
            ("/dora/recovery_time/median_seconds", json!(3.5 * H as f64)),
            (
                "/explain/delivery/deployments/1/recovered_by",
                json!("the next successful deployment github:3"),
            ),
            (
                "/explain/delivery/deployments/2/failed/0",
                json!("incident pagerduty:P1"),
            ),
            (
                "/explain/delivery/deployments/2/recovery_seconds",
                json!(5 * H),
            ),
            (
                "/explain/delivery/deployments/3/recovery_seconds",
                Value::Null,
            ),
            ("/incidents/time_to_restore/median_seconds", json!(4 * H)),
        ],
    );
}

fn issue(
    id: &str,
    labels: &[&str],
    issue_type: Option<&str>,
    text: &str,
    created: Timestamp,
    closed: Option<Timestamp>,
) -> Event {
    ev(
        id.split_once('#').map_or("jira", |_| "github"),
        Some(closed.unwrap_or(created)),
        EventBody::Issue(Issue {
            id: id.to_owned(),
            project: id.split_once('#').map(|(p, _)| p.to_owned()),
            issue_type: issue_type.map(str::to_owned),
            title: Some(text.to_owned()),
            description: None,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            status: Some(if closed.is_some() { "closed" } else { "open" }.to_owned()),
            status_category: Some(if closed.is_some() { "closed" } else { "open" }.to_owned()),
            action: None,
            author: None,
            created_at: Some(created),
            closed_at: closed,
        }),
    )
}

// Over 100 lines: one scenario's events, then every figure they give.
#[test]
fn postmortems_and_time_to_reflect() {
    let pm = |id: &str, incident: &str, t: Timestamp| {
        ev(
            "events",
            Some(t),
            EventBody::Postmortem(Postmortem {
                id: id.to_owned(),
                incident_id: incident.to_owned(),
                published_at: t,
                url: None,
            }),
        )
    };
    let pd = |id: &str, opened: Timestamp, resolved: Option<Timestamp>| {
        ev(
            "pagerduty",
            Some(opened),
            EventBody::Incident(incident(id, Some("shop"), opened, resolved)),
        )
    };
    let events = vec![
        deployed("1", at(0, 0)),
        pd("P1", at(1, 0), Some(at(1, 2))),
        pd("P2", at(2, 0), Some(at(2, 1))),
        pd("P3", at(3, 0), Some(at(3, 1))),
        pd("P4", at(4, 0), None),
        pd("P5", at(0, 12), Some(at(0, 13))),
        // A generic postmortem 2 days after P1's resolution, and a later
        // one: the earliest counts.
        pm("PM-1", "P1", at(3, 2)),
        pm("PM-1b", "P1", at(5, 2)),
        // A GitHub issue labelled postmortem mentioning P2 (not P22).
        issue(
            "acme/shop#9",
            &["postmortem"],
            None,
            "Postmortem: P2 and P22",
            at(2, 5),
            None,
        ),
        // A Jira postmortem that mentions P3 before its resolution:
        // linked, but no time to reflect.
        issue("OPS-3", &[], Some("Postmortem"), "About P3", at(3, 0), None),
        // A GitHub issue labelled incident, closed: an incident too.
        issue(
            "acme/shop#10",
            &["incident"],
            None,
            "Outage, see deployment 1",
            at(4, 1),
            Some(at(4, 3)),
        ),
        // A postmortem of nothing known.
        pm("PM-x", "P99", at(5, 0)),
    ];
    let r = report_with(&events, None, &settings());
    check(
        &r,
        &[
            ("/incidents/count", json!(6)),
            ("/incidents/resolved", json!(5)),
            // P1 2 h, P2 1 h, P3 1 h, P5 1 h, #10 2 h.
            ("/incidents/time_to_restore/median_seconds", json!(H)),
            ("/incidents/time_to_restore/incidents", json!(5)),
            // P1: 2 days; P2: 4 hours.
            ("/incidents/time_to_reflect/incidents", json!(2)),
            (
                "/incidents/time_to_reflect/median_seconds",
                json!((2 * DAY + 4 * H) as f64 / 2.0),
            ),
            // Resolved without a postmortem, oldest first.
            ("/incidents/without_postmortem/0/id", json!("P5")),
            ("/incidents/without_postmortem/1/id", json!("acme/shop#10")),
            ("/explain/delivery/unlinked/postmortems/0/id", json!("PM-x")),
        ],
    );
    check_absent(
        &r,
        &[
            "/incidents/without_postmortem/2",
            "/explain/delivery/unlinked/postmortems/1",
        ],
    );
    let incidents = r["explain"]["delivery"]["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |id: &str| {
        incidents
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("P1")["postmortem"], json!("events:PM-1"));
    assert_eq!(
        find("P1")["postmortem_link"]["rule"],
        json!("postmortem_event")
    );
    assert_eq!(find("P2")["postmortem"], json!("github:acme/shop#9"));
    assert_eq!(
        find("P2")["postmortem_link"]["reason"],
        json!("postmortem issue acme/shop#9 mentions P2")
    );
    assert_eq!(find("P3")["postmortem"], json!("jira:OPS-3"));
    assert_eq!(find("P3")["time_to_reflect_seconds"], Value::Null);
    assert_eq!(
        find("acme/shop#10")["deployment_link"]["rule"],
        json!("explicit_deployment_id")
    );
}

#[test]
fn missing_times_are_null_not_zero() {
    // Nothing at all.
    let r = report_with(&[], None, &settings());
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(0)),
            ("/dora/deployment_frequency/per_week", Value::Null),
            ("/dora/lead_time/median_seconds", Value::Null),
            ("/dora/change_failure_rate/ratio", Value::Null),
            ("/dora/recovery_time/median_seconds", Value::Null),
            ("/stages/0/median_seconds", Value::Null),
            ("/stages/0/share", Value::Null),
            ("/bottleneck", Value::Null),
            ("/incidents/count", json!(0)),
            ("/incidents/time_to_restore/median_seconds", Value::Null),
            ("/incidents/time_to_reflect/median_seconds", Value::Null),
            ("/ci/workflows", json!([])),
            ("/notices/0/code", json!("no_events")),
            ("/notices/1/code", json!("no_deployments")),
        ],
    );
    // A change without commit times, an unresolved incident, a run that
    // never started.
    let run = CiRun {
        id: "9".into(),
        repository: Some("acme/shop".into()),
        workflow: Some("ci".into()),
        sha: None,
        branch: None,
        status: CiStatus::Queued,
        conclusion: None,
        attempt: None,
        queued_at: Some(at(1, 0)),
        started_at: None,
        finished_at: None,
    };
    let events = vec![
        deployed("1", at(0, 0)),
        deployed("2", at(2, 0)),
        merged("acme/shop#1", at(1, 0), at(1, 1)),
        ev("github", Some(at(1, 0)), EventBody::CiRun(run)),
        ev(
            "pagerduty",
            Some(at(1, 0)),
            EventBody::Incident(incident("P1", Some("shop"), at(1, 0), None)),
        ),
    ];
    let r = report_with(&events, None, &settings());
    check(
        &r,
        &[
            ("/stages/0/changes", json!(0)),
            ("/stages/0/median_seconds", Value::Null),
            ("/stages/3/median_seconds", json!(H)),
            ("/stages/4/median_seconds", json!(23 * H)),
            ("/dora/lead_time/changes", json!(0)),
            ("/dora/lead_time/median_seconds", Value::Null),
            (
                "/explain/delivery/deployments/1/changes/0/lead_time_seconds",
                Value::Null,
            ),
            (
                "/explain/delivery/deployments/1/changes/0/coding_seconds",
                Value::Null,
            ),
            ("/incidents/time_to_restore/median_seconds", Value::Null),
            ("/incidents/without_postmortem", json!([])),
            ("/ci/workflows/0/runs", json!(1)),
            ("/ci/workflows/0/success_rate", Value::Null),
            ("/ci/workflows/0/duration_median_seconds", Value::Null),
            ("/ci/workflows/0/queue_median_seconds", Value::Null),
        ],
    );
}

#[test]
fn coding_starts_at_the_first_commit_listed_or_pushed() {
    let mut listed = change("acme/shop#1", at(1, 0), Some(at(1, 5)));
    listed.commits = vec![
        ChangeCommit {
            sha: "a".into(),
            authored_at: Some(at(0, 9)),
            committed_at: None,
            author: None,
        },
        ChangeCommit {
            sha: "b".into(),
            authored_at: Some(at(0, 7)),
            committed_at: None,
            author: None,
        },
    ];
    let mut pushed = change("acme/shop#2", at(1, 0), Some(at(1, 5)));
    pushed.head_ref = Some("feature".into());
    let mut previous = change("acme/shop#0", at(0, 0), Some(at(0, 3)));
    previous.head_ref = Some("feature".into());
    let push = |after: &str, t: Timestamp, authored: Timestamp| {
        ev(
            "github",
            Some(t),
            EventBody::Push(nextneck_model::events::Push {
                repository: "acme/shop".into(),
                git_ref: "refs/heads/feature".into(),
                before: "0".repeat(40),
                after: after.into(),
                pusher: None,
                commits: vec![ChangeCommit {
                    sha: after.into(),
                    authored_at: Some(authored),
                    committed_at: None,
                    author: None,
                }],
            }),
        )
    };
    let events = vec![
        deployed("0", at(0, 0) - 10),
        deployed("1", at(2, 0)),
        ev("github", Some(at(1, 5)), EventBody::Change(listed)),
        ev("github", Some(at(1, 5)), EventBody::Change(pushed)),
        ev("github", Some(at(0, 3)), EventBody::Change(previous)),
        // Pushed for the previous change from the same branch: not this one's.
        push("p0", at(0, 2), at(0, 1)),
        push("p1", at(0, 6), at(0, 5)),
        push("p2", at(0, 8), at(0, 8)),
        // Pushed after the merge: not part of it.
        push("p3", at(1, 6), at(0, 4)),
    ];
    let r = report_with(&events, None, &settings());
    let changes = r["explain"]["delivery"]["deployments"][1]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let first = |id: &str| {
        changes
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["first_commit_at"].clone())
    };
    assert_eq!(first("acme/shop#1"), Some(json!("2024-01-01T07:00:00Z")));
    assert_eq!(first("acme/shop#2"), Some(json!("2024-01-01T05:00:00Z")));
}

// Over 100 lines: one scenario's events, then every figure they give.
#[test]
fn ci_workflows_and_tests() {
    let run = |id: &str,
               workflow: &str,
               conclusion: Option<CiConclusion>,
               q: Timestamp,
               s: Timestamp,
               f: Timestamp,
               attempt: u32| {
        ev(
            "github",
            Some(f),
            EventBody::CiRun(CiRun {
                id: id.into(),
                repository: Some("acme/shop".into()),
                workflow: Some(workflow.into()),
                sha: Some(format!("{id:0>40}")),
                branch: None,
                status: CiStatus::Completed,
                conclusion,
                attempt: Some(attempt),
                queued_at: Some(q),
                started_at: Some(s),
                finished_at: Some(f),
            }),
        )
    };
    let test = |name: &str,
                outcome: TestOutcome,
                flaky: bool,
                commit: &str,
                run: Option<&str>,
                secs: f64| {
        ev(
            "junit",
            None,
            EventBody::TestCase(TestCase {
                suite: None,
                classname: Some("shop.CartTest".into()),
                name: name.into(),
                file: None,
                duration_seconds: Some(secs),
                outcome,
                reruns: u32::from(flaky),
                flaky,
                commit: Some(commit.into()),
                run_id: run.map(str::to_owned),
                report: None,
            }),
        )
    };
    let c1 = format!("{:0>40}", "1");
    let c2 = format!("{:0>40}", "2");
    let events = vec![
        run(
            "1",
            "ci",
            Some(CiConclusion::Success),
            at(0, 0),
            at(0, 0) + 60,
            at(0, 0) + 660,
            1,
        ),
        run(
            "2",
            "ci",
            Some(CiConclusion::Failure),
            at(0, 1),
            at(0, 1) + 120,
            at(0, 1) + 420,
            1,
        ),
        // A rerun: its queue time is not measured.
        run(
            "3",
            "ci",
            Some(CiConclusion::Success),
            at(0, 2),
            at(0, 3),
            at(0, 3) + 900,
            2,
        ),
        run(
            "4",
            "ci",
            Some(CiConclusion::Canceled),
            at(0, 4),
            at(0, 4) + 30,
            at(0, 4) + 40,
            1,
        ),
        run(
            "5",
            "lint",
            Some(CiConclusion::Success),
            at(0, 5),
            at(0, 5),
            at(0, 5) + 30,
            1,
        ),
        // checkout: failed and passed on commit 1.
        test("checkout", TestOutcome::Failed, false, &c1, Some("1"), 2.0),
        test("checkout", TestOutcome::Passed, false, &c1, Some("2"), 4.0),
        // total: failed on 1, passed on 2: not flaky.
        test("total", TestOutcome::Failed, false, &c1, Some("1"), 1.0),
        test("total", TestOutcome::Passed, false, &c2, Some("3"), 3.0),
        // discount: marked flaky by Surefire.
        test("discount", TestOutcome::Passed, true, &c2, Some("3"), 0.5),
        // rerun failures only: failed every time, not flaky.
        test("tax", TestOutcome::Failed, false, &c2, Some("3"), 9.0),
    ];
    let r = report_with(&events, None, &settings());
    check(
        &r,
        &[
            ("/ci/workflows/0/workflow", json!("ci")),
            ("/ci/workflows/0/runs", json!(4)),
            ("/ci/workflows/0/concluded", json!(3)),
            ("/ci/workflows/0/succeeded", json!(2)),
            ("/ci/workflows/0/success_rate", json!(2.0 / 3.0)),
            // Durations 600, 300, 900, 10: median 450, p85 at rank 2.55 = 600 + 0.55 × 300.
            ("/ci/workflows/0/duration_median_seconds", json!(450)),
            ("/ci/workflows/0/duration_p85_seconds", json!(765)),
            // Queues 60, 120, 30 (the rerun left out): median 60.
            ("/ci/workflows/0/queue_median_seconds", json!(60)),
            ("/ci/workflows/0/queue_p85_seconds", json!(102)),
            ("/ci/workflows/1/workflow", json!("lint")),
            ("/ci/workflows/1/queue_median_seconds", json!(0)),
            // Most flaky commits first, then most marked flaky.
            ("/ci/flaky_tests/0/test", json!("shop.CartTest.discount")),
            ("/ci/flaky_tests/0/flaky_commits", json!(1)),
            ("/ci/flaky_tests/0/commits/0", json!(c2)),
            ("/ci/flaky_tests/0/marked_flaky", json!(1)),
            ("/ci/flaky_tests/1/test", json!("shop.CartTest.checkout")),
            ("/ci/flaky_tests/1/commits/0", json!(c1)),
            ("/ci/flaky_tests/1/failed", json!(1)),
            ("/ci/flaky_tests/1/executions", json!(2)),
            ("/ci/slowest_tests/0/test", json!("shop.CartTest.tax")),
            ("/ci/slowest_tests/1/test", json!("shop.CartTest.checkout")),
            ("/ci/slowest_tests/1/median_seconds", json!(3.0)),
            ("/ci/slowest_tests/1/max_seconds", json!(4.0)),
        ],
    );
    check_absent(&r, &["/ci/flaky_tests/2"]);
}

#[test]
fn filters_select_by_repository_service_and_team() {
    let other = |e: Event| match e.body {
        EventBody::Deployment(mut d) => {
            d.repository = Some("acme/search".into());
            ev(&e.source, e.at, EventBody::Deployment(d))
        }
        EventBody::Change(mut c) => {
            c.repository = Some("acme/search".into());
            ev(&e.source, e.at, EventBody::Change(c))
        }
        body => ev(&e.source, e.at, body),
    };
    let events = vec![
        deployed("1", at(0, 0)),
        deployed("2", at(2, 0)),
        merged("acme/shop#1", at(1, 0), at(1, 1)),
        other(deployed("3", at(0, 0))),
        other(deployed("4", at(2, 0))),
        other(deployed("5", at(3, 0))),
        other(merged("acme/search#1", at(1, 0), at(1, 1))),
        ev(
            "pagerduty",
            Some(at(2, 1)),
            EventBody::Incident(incident("P1", Some("Shop (PagerDuty)"), at(2, 1), None)),
        ),
    ];
    let mut s = settings();
    s.teams = vec![TeamRule {
        name: "web".into(),
        services: vec!["shop".into()],
        ..TeamRule::default()
    }];
    let count = |f: Filter| {
        let mut s = s.clone();
        s.filter = f;
        let r = report_with(&events, None, &s);
        (
            r["dora"]["deployments"]["count"].as_u64().unwrap_or(99),
            r["stages"][3]["changes"].as_u64().unwrap_or(99),
            r["incidents"]["count"].as_u64().unwrap_or(99),
        )
    };
    assert_eq!(count(Filter::default()), (5, 2, 1));
    let repo = |r: &str| Filter {
        repositories: vec![r.into()],
        ..Filter::default()
    };
    assert_eq!(count(repo("acme/search")), (3, 1, 0));
    assert_eq!(count(repo("ACME/*")), (5, 2, 1));
    assert_eq!(count(repo("acme/shop")), (2, 1, 1));
    assert_eq!(
        count(Filter {
            services: vec!["shop".into()],
            ..Filter::default()
        }),
        (2, 1, 1)
    );
    assert_eq!(
        count(Filter {
            teams: vec!["web".into()],
            ..Filter::default()
        }),
        (2, 1, 1)
    );
    assert_eq!(
        count(Filter {
            teams: vec!["nobody".into()],
            ..Filter::default()
        }),
        (0, 0, 0)
    );
}
