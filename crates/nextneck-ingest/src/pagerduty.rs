//! PagerDuty: v3 webhooks (`event.event_type`) and REST API incident exports
//! (`{"incidents": [...]}` or an array of incidents).

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
