//! PagerDuty: v3 webhooks (`event.event_type`) and REST API incident exports
//! (`{"incidents": [...]}` or an array of incidents), each incident
//! optionally with its `log_entries` (as `nextneck sync pagerduty` stores
//! it).

use nextneck_model::events::{Event, EventBody, Incident, IncidentStatus};
use serde_json::Value;

use crate::json::J;
use crate::{Converted, IngestError};

const SOURCE: &str = "pagerduty";

/// Incident events that only add notes, responders, bridges or workflow
/// runs: known, and nothing the metrics use.
const NOTES: &[&str] = &[
    "incident.annotated",
    "incident.conference_bridge.updated",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.status_update_published",
    "incident.workflow.started",
    "incident.workflow.completed",
    "incident.custom_field_values.updated",
];

/// Incident events whose `data` is the incident as it now stands.
const LIFECYCLE: &[&str] = &[
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reopened",
    "incident.escalated",
    "incident.delegated",
    "incident.reassigned",
    "incident.priority_updated",
    "incident.service_updated",
    "incident.incident_type.changed",
];

pub(crate) fn convert(values: &[Value]) -> Result<Converted, IngestError> {
    let root = J::root(&values[0]);
    if values.len() > 1 || values[0].is_array() || root.has("incidents") {
        return Ok(Converted {
            event_type: "pagerduty:export".to_owned(),
            events: Some(export(values)?),
        });
    }
    let root = root.object()?;
    let ev = root.req("event")?.object()?;
    let event_type = ev.req_str("event_type")?;
    let converted = |events| Converted {
        event_type: format!("pagerduty:{event_type}"),
        events,
    };
    if NOTES.contains(&event_type.as_str()) {
        return Ok(converted(Some(Vec::new())));
    }
    if !LIFECYCLE.contains(&event_type.as_str()) {
        return Ok(converted(None));
    }
    let at = ev.req_time("occurred_at")?;
    let data = ev.req("data")?.object()?;
    let mut incident = incident(&data)?;
    match event_type.as_str() {
        "incident.triggered" => incident.opened_at = incident.opened_at.or(Some(at)),
        "incident.acknowledged" => incident.acknowledged_at = Some(at),
        "incident.resolved" => incident.resolved_at = Some(at),
        _ => {}
    }
    incident.action = Some(event_type.clone());
    Ok(converted(Some(vec![Event {
        source: SOURCE.to_owned(),
        at: Some(at),
        body: EventBody::Incident(incident),
    }])))
}

fn incident(data: &J<'_>) -> Result<Incident, IngestError> {
    let status = match data.opt_str("status")?.as_deref() {
        Some("acknowledged") => IncidentStatus::Acknowledged,
        Some("resolved") => IncidentStatus::Resolved,
        _ => IncidentStatus::Triggered,
    };
    let priority = match data.opt("priority") {
        Some(p) => p.opt_str("summary")?,
        None => None,
    }
    .or(data.opt_str("urgency")?);
    Ok(Incident {
        id: data.req_id("id")?,
        title: data.opt_str("title")?,
        service: match data.opt("service") {
            Some(s) => s.opt_str("summary")?,
            None => None,
        },
        status,
        opened_at: data.opt_time("created_at")?,
        acknowledged_at: None,
        resolved_at: data.opt_time("resolved_at")?,
        deployment_id: None,
        sha: None,
        action: None,
        priority,
        url: data.opt_str("html_url")?,
    })
}

/// An incident's `log_entries` (what `nextneck sync pagerduty` attaches):
/// the first acknowledgement, even one since undone, and the last
/// resolution, which `acknowledgements` and the incident do not keep.
fn apply_log_entries(i: &J<'_>, incident: &mut Incident) -> Result<(), IngestError> {
    for entry in i.arr("log_entries")? {
        let entry = entry.object()?;
        let at = entry.opt_time("created_at")?;
        match entry.opt_str("type")?.as_deref() {
            Some("acknowledge_log_entry") => {
                incident.acknowledged_at = match (incident.acknowledged_at, at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Some("resolve_log_entry") if incident.status == IncidentStatus::Resolved => {
                incident.resolved_at = incident.resolved_at.max(at);
            }
            _ => {}
        }
    }
    Ok(())
}

fn export(values: &[Value]) -> Result<Vec<Event>, IngestError> {
    let mut out = Vec::new();
    for (p, v) in values.iter().enumerate() {
        let root = J {
            v,
            path: if values.len() > 1 {
                format!("[page {p}]")
            } else {
                String::new()
            },
        };
        let items = match root.opt("incidents") {
            Some(list) => list.elements()?,
            None => root.elements()?,
        };
        for i in items {
            let i = i.object()?;
            let mut incident = incident(&i)?;
            // An incident's acknowledgements list the first one first.
            if let Some(first) = i.arr("acknowledgements")?.first() {
                incident.acknowledged_at = first.opt_time("at")?;
            }
            apply_log_entries(&i, &mut incident)?;
            if incident.status == IncidentStatus::Resolved && incident.resolved_at.is_none() {
                incident.resolved_at = i.opt_time("last_status_change_at")?;
            }
            let at = i.opt_time("last_status_change_at")?.or(incident.opened_at);
            out.push(Event {
                source: SOURCE.to_owned(),
                at,
                body: EventBody::Incident(incident),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn log_entries_give_the_first_acknowledgement_and_the_resolution() {
        let check = |entries: Value, status: &str, expected: (Option<&str>, Option<&str>)| {
            let incident = json!([{"id": "P1", "status": status, "created_at": "2025-03-01T10:00:00Z",
                "acknowledgements": [], "log_entries": entries}]);
            let events = export(&[incident]).unwrap();
            let EventBody::Incident(i) = &events[0].body else {
                panic!("not an incident")
            };
            let t = |s: Option<&str>| s.and_then(crate::json::parse_time);
            assert_eq!(
                (i.acknowledged_at, i.resolved_at),
                (t(expected.0), t(expected.1)),
                "{entries}"
            );
        };
        let ack = |at: &str| json!({"type": "acknowledge_log_entry", "created_at": at});
        let resolve = |at: &str| json!({"type": "resolve_log_entry", "created_at": at});
        check(json!([]), "triggered", (None, None));
        check(
            json!([resolve("2025-03-01T11:00:00Z"), ack("2025-03-01T10:20:00Z"), ack("2025-03-01T10:05:00Z"),
                {"type": "trigger_log_entry", "created_at": "2025-03-01T10:00:00Z"}]),
            "resolved",
            (Some("2025-03-01T10:05:00Z"), Some("2025-03-01T11:00:00Z")),
        );
        // Resolved, then reopened: not resolved now.
        check(
            json!([resolve("2025-03-01T11:00:00Z")]),
            "triggered",
            (None, None),
        );
    }
}
