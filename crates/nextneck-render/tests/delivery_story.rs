//! One story in the events report: deployment frequency, change failure
//! rate and recovery time agree on what a deployment, an attempt and a
//! failure are, in every combination of successes, failed attempts and
//! incidents, in the JSON and in every rendered format.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_metrics::delivery::{DeliverySettings, ServiceRule, TracedEvent, delivery_report};
use nextneck_metrics::git::WindowSpec;
use nextneck_metrics::report::Report;
use nextneck_model::events::{
    Deployment, DeploymentStatus, Event, EventBody, Incident, IncidentStatus,
};
use nextneck_render::{Format, render};

use nextneck_testkit::{BASE, HOUR as H};

fn deployment(id: &str, status: DeploymentStatus, hour: i64) -> Event {
    let t = BASE + hour * H;
    Event {
        source: "github".into(),
        at: Some(t),
        body: EventBody::Deployment(Deployment {
            id: id.into(),
            repository: Some("acme/shop".into()),
            service: None,
            environment: Some("production".into()),
            production: None,
            sha: None,
            git_ref: None,
            status: Some(status),
            created_at: None,
            started_at: None,
            finished_at: Some(t),
            status_id: None,
            commits: Vec::new(),
            changes: Vec::new(),
        }),
    }
}

fn incident(id: &str, opened: i64, resolved: Option<i64>) -> Event {
    Event {
        source: "pagerduty".into(),
        at: Some(BASE + opened * H),
        body: EventBody::Incident(Incident {
            id: id.into(),
            title: None,
            service: Some("shop".into()),
            status: if resolved.is_some() {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Triggered
            },
            opened_at: Some(BASE + opened * H),
            acknowledged_at: None,
            resolved_at: resolved.map(|r| BASE + r * H),
            deployment_id: None,
            sha: None,
            action: None,
            priority: None,
            url: None,
        }),
    }
}

fn report(events: &[Event]) -> Report {
    let traced: Vec<TracedEvent<'_>> = events
        .iter()
        .enumerate()
        .map(|(i, event)| TracedEvent {
            delivery_id: i as i64 + 1,
            seq: 0,
            event,
        })
        .collect();
    let mut s = DeliverySettings::new("sqlite:test.db");
    s.window = WindowSpec::All;
    s.now = Some(BASE + 48 * H);
    s.services = vec![ServiceRule {
        name: "shop".into(),
        repositories: vec!["acme/shop".into()],
        incident_services: vec![],
    }];
    delivery_report(&traced, None, &s).unwrap()
}

fn rendered(r: &Report, format: Format) -> String {
    let mut out = Vec::new();
    render(r, format, false, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The DORA rows of the table output: `metric  value  level`, squeezed.
fn dora_rows(table: &str) -> Vec<String> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("DORA"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Checks one combination: the counts in the JSON, that they agree with
/// one another, and the words of the table and Markdown rows.
fn check(
    name: &str,
    events: &[Event],
    (deployments, failed_attempts, failed, recoveries): (usize, usize, usize, usize),
    rows: [&str; 3],
) {
    let r = report(events);
    let d = &r.dora;
    assert_eq!(
        (
            d.deployments.count,
            d.deployment_frequency.failed_attempts,
            d.change_failure_rate.failed,
            d.recovery_time.recoveries
        ),
        (deployments, failed_attempts, failed, recoveries),
        "{name}"
    );
    // One definition: attempts are deployments plus failed attempts, and
    // the failures the rate counts are the ones recovery time looks at.
    assert_eq!(
        d.change_failure_rate.deployments,
        d.deployments.count + d.deployment_frequency.failed_attempts,
        "{name}"
    );
    assert_eq!(
        d.recovery_time.failed, d.change_failure_rate.failed,
        "{name}"
    );
    let table = rendered(&r, Format::Table);
    let got = dora_rows(&table);
    assert_eq!(&got[..3], rows, "{name}\n{table}");
    let md = rendered(&r, Format::Markdown);
    for row in rows {
        // The same words in the Markdown table.
        let metric = [
            "deployment frequency",
            "lead time for changes",
            "change failure rate",
        ]
        .into_iter()
        .find(|m| row.starts_with(m))
        .unwrap();
        let value = row[metric.len() + 1..].trim_end_matches(" too few to rate");
        let level = if row.ends_with(" too few to rate") {
            "too few to rate"
        } else {
            ""
        };
        let line = format!("| {metric} | {value} | {level} |");
        assert!(md.contains(&line), "{name}: {line:?} not in\n{md}");
    }
    for format in [Format::Table, Format::Markdown, Format::Json, Format::Html] {
        let out = rendered(&r, format);
        for minus_zero in ["-0.0", "-0%", "-0 ", "-0s", "-0/"] {
            assert!(
                !out.contains(minus_zero),
                "{name} {format:?}: {minus_zero} in {}",
                out.lines()
                    .filter(|l| l.contains(minus_zero))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

#[test]
fn deployments_attempts_and_failures_agree_in_every_combination() {
    use DeploymentStatus::{Failure, Success};
    check(
        "nothing",
        &[],
        (0, 0, 0, 0),
        [
            "deployment frequency n/a (no deployment recognised)",
            "lead time for changes n/a (no measured change)",
            "change failure rate n/a (no deployment attempt)",
        ],
    );
    check(
        "successes only",
        &[deployment("1", Success, 0), deployment("2", Success, 5)],
        (2, 0, 0, 0),
        [
            "deployment frequency 14.00/week (2 deployments) too few to rate",
            "lead time for changes n/a (no measured change)",
            "change failure rate 0% (0 of 2 deployments failed) too few to rate",
        ],
    );
    check(
        "one failed attempt and no success",
        &[deployment("1", Failure, 0)],
        (0, 1, 1, 0),
        [
            "deployment frequency 0.00/week (0 deployments; 1 failed attempt not counted) too few to rate",
            "lead time for changes n/a (no measured change)",
            "change failure rate 100% (1 of 1 attempt failed: 0 deployments, 1 failed attempt) too few to rate",
        ],
    );
    check(
        "a failed attempt recovered by the next success",
        &[deployment("1", Failure, 0), deployment("2", Success, 2)],
        (1, 1, 1, 1),
        [
            "deployment frequency 7.00/week (1 deployment; 1 failed attempt not counted) too few to rate",
            "lead time for changes n/a (no measured change)",
            "change failure rate 50% (1 of 2 attempts failed: 1 deployment, 1 failed attempt) too few to rate",
        ],
    );
    check(
        "a deployment failed by an incident, resolved",
        &[
            deployment("1", Success, 0),
            deployment("2", Success, 4),
            incident("P1", 5, Some(7)),
        ],
        (2, 0, 1, 1),
        [
            "deployment frequency 14.00/week (2 deployments) too few to rate",
            "lead time for changes n/a (no measured change)",
            "change failure rate 50% (1 of 2 deployments failed) too few to rate",
        ],
    );
    check(
        "a deployment failed by an open incident",
        &[deployment("1", Success, 0), incident("P1", 1, None)],
        (1, 0, 1, 0),
        [
            "deployment frequency 7.00/week (1 deployment) too few to rate",
            "lead time for changes n/a (no measured change)",
            "change failure rate 100% (1 of 1 deployment failed) too few to rate",
        ],
    );
    check(
        "incidents without deployments",
        &[incident("P1", 1, Some(2))],
        (0, 0, 0, 0),
        [
            "deployment frequency n/a (no deployment recognised)",
            "lead time for changes n/a (no measured change)",
            "change failure rate n/a (no deployment attempt)",
        ],
    );
}

/// The recovery row in each combination: never "no failed deployment"
/// next to a failure.
#[test]
fn recovery_time_speaks_of_the_same_failures() {
    use DeploymentStatus::{Failure, Success};
    let recovery = |events: &[Event]| {
        let table = rendered(&report(events), Format::Table);
        dora_rows(&table)[3].clone()
    };
    assert_eq!(recovery(&[]), "recovery time n/a (no failure)");
    assert_eq!(
        recovery(&[deployment("1", Success, 0)]),
        "recovery time n/a (no failure)"
    );
    assert_eq!(
        recovery(&[deployment("1", Failure, 0)]),
        "recovery time n/a (1 failure, none recovered yet)"
    );
    assert_eq!(
        recovery(&[deployment("1", Failure, 0), deployment("2", Success, 2)]),
        "recovery time median 2.0h, p85 2.0h (1 recovery) too few to rate"
    );
    assert_eq!(
        recovery(&[deployment("1", Success, 0), incident("P1", 1, None)]),
        "recovery time n/a (1 failure, none recovered yet)"
    );
    assert_eq!(
        recovery(&[incident("P1", 1, Some(2))]),
        "recovery time n/a (no failure)"
    );
}
