//! Test helpers for the delivery report's tests: events at fixed times,
//! settings with a service mapping, and a JSON pointer check.

use nextneck_model::events::{
    Actor, Change, ChangeState, Deployment, DeploymentStatus, Event, EventBody, Incident,
    IncidentStatus, Review, ReviewState,
};
use nextneck_model::{History, Timestamp};
use serde_json::Value;

use super::{DeliverySettings, ServiceRule, TracedEvent, delivery_report};
use crate::time::DAY;
use crate::types::WindowSpec;

/// 2024-01-01T00:00:00Z.
pub(super) const BASE: Timestamp = 1_704_067_200;
pub(super) const H: i64 = 3600;

/// `BASE` + `day` days + `hour` hours.
pub(super) fn at(day: i64, hour: i64) -> Timestamp {
    BASE + day * DAY + hour * H
}

pub(super) fn ev(source: &str, at: Option<Timestamp>, body: EventBody) -> Event {
    Event {
        source: source.to_owned(),
        at,
        body,
    }
}

pub(super) fn deployment(id: &str, status: Option<DeploymentStatus>, t: Timestamp) -> Deployment {
    let terminal = matches!(
        status,
        Some(DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Error)
    );
    Deployment {
        id: id.to_owned(),
        repository: Some("acme/shop".to_owned()),
        service: None,
        environment: Some("production".to_owned()),
        production: None,
        sha: None,
        git_ref: None,
        status,
        created_at: None,
        started_at: None,
        finished_at: terminal.then_some(t),
        status_id: None,
        commits: Vec::new(),
        changes: Vec::new(),
    }
}

pub(super) fn deployed(id: &str, t: Timestamp) -> Event {
    ev(
        "github",
        Some(t),
        EventBody::Deployment(deployment(id, Some(DeploymentStatus::Success), t)),
    )
}

pub(super) fn actor(login: &str) -> Actor {
    Actor {
        login: Some(login.to_owned()),
        id: None,
        bot: false,
    }
}

pub(super) fn change(id: &str, opened: Timestamp, merged: Option<Timestamp>) -> Change {
    Change {
        id: id.to_owned(),
        repository: Some("acme/shop".to_owned()),
        number: None,
        title: Some(format!("change {id}")),
        author: Some(actor("ada")),
        state: if merged.is_some() {
            ChangeState::Merged
        } else {
            ChangeState::Open
        },
        draft: None,
        opened_at: Some(opened),
        ready_at: None,
        first_review_at: None,
        merged_at: merged,
        closed_at: merged,
        merge_sha: None,
        head_sha: None,
        base_ref: None,
        head_ref: None,
        commits: Vec::new(),
        reviewers: Vec::new(),
        labels: Vec::new(),
    }
}

pub(super) fn merged(id: &str, opened: Timestamp, merged: Timestamp) -> Event {
    ev(
        "github",
        Some(merged),
        EventBody::Change(change(id, opened, Some(merged))),
    )
}

pub(super) fn review(change_id: &str, id: &str, who: Actor, t: Timestamp) -> Event {
    ev(
        "github",
        Some(t),
        EventBody::Review(Review {
            id: id.to_owned(),
            change_id: change_id.to_owned(),
            change_author: None,
            reviewer: Some(who),
            state: ReviewState::Approved,
            submitted_at: Some(t),
            commit: None,
        }),
    )
}

pub(super) fn incident(
    id: &str,
    service: Option<&str>,
    opened: Timestamp,
    resolved: Option<Timestamp>,
) -> Incident {
    Incident {
        id: id.to_owned(),
        title: None,
        service: service.map(str::to_owned),
        status: if resolved.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Triggered
        },
        opened_at: Some(opened),
        acknowledged_at: None,
        resolved_at: resolved,
        deployment_id: None,
        sha: None,
        action: None,
        priority: None,
        url: None,
    }
}

pub(super) fn traced(events: &[Event]) -> Vec<TracedEvent<'_>> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| TracedEvent {
            delivery_id: i as i64 + 1,
            seq: 0,
            event,
        })
        .collect()
}

pub(super) fn settings() -> DeliverySettings {
    let mut s = DeliverySettings::new("sqlite:test.db");
    s.window = WindowSpec::All;
    s.explain = true;
    s.services = vec![ServiceRule {
        name: "shop".into(),
        repositories: vec!["acme/shop".into()],
        incident_services: vec!["Shop (PagerDuty)".into()],
    }];
    s
}

pub(super) fn report_with(
    events: &[Event],
    history: Option<&History>,
    s: &DeliverySettings,
) -> Value {
    let r = delivery_report(&traced(events), history, s).expect("a report");
    serde_json::to_value(&r).expect("serializes")
}

/// Asserts each JSON pointer's value; a missing path fails (the testkit's
/// one `check`).
pub(super) use nextneck_testkit::{check, check_absent};
