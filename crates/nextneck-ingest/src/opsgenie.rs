//! Opsgenie: outgoing webhooks of alerts (`action`: `Create`, `Acknowledge`,
//! `UnAcknowledge`, `Close`). `createdAt` is in milliseconds and `updatedAt`
//! in nanoseconds since the epoch.

use nextneck_model::events::{Event, EventBody, Incident, IncidentStatus};
use serde_json::Value;

use crate::json::J;
use crate::{Converted, IngestError};

/// Alert actions that change nothing the metrics use.
const NOTES: &[&str] = &[
    "AddNote",
    "AddTags",
    "RemoveTags",
    "AddTeam",
    "AddResponder",
    "AddRecipient",
    "AssignOwnership",
    "TakeOwnership",
    "Escalate",
    "EscalateNext",
    "UpdatePriority",
    "UpdateMessage",
    "UpdateDescription",
    "CustomAction",
    "Snooze",
    "SnoozeEnded",
];

pub(crate) fn convert(values: &[Value]) -> Result<Converted, IngestError> {
    if values.len() != 1 {
        return Err(IngestError::Unrecognized(
            "an Opsgenie webhook body is one JSON object".to_owned(),
        ));
    }
    let root = J::root(&values[0]).object()?;
    let action = root.req_str("action")?;
    let converted = |events| Converted {
        event_type: format!("opsgenie:{action}"),
        events,
    };
    let status = match action.as_str() {
        "Create" | "UnAcknowledge" => IncidentStatus::Triggered,
        "Acknowledge" => IncidentStatus::Acknowledged,
        "Close" => IncidentStatus::Resolved,
        a if NOTES.contains(&a) => return Ok(converted(Some(Vec::new()))),
        _ => return Ok(converted(None)),
    };
    let alert = root.req("alert")?.object()?;
    let opened_at = alert.opt_time("createdAt")?;
    let at = alert.opt_time("updatedAt")?.or(opened_at);
    let incident = Incident {
        id: alert.req_str("alertId")?,
        title: alert.opt_text("message")?,
        service: alert.opt_text("entity")?,
        opened_at,
        acknowledged_at: if status == IncidentStatus::Acknowledged {
            at
        } else {
            None
        },
        resolved_at: if status == IncidentStatus::Resolved {
            at
        } else {
            None
        },
        status,
        deployment_id: None,
        sha: None,
        action: Some(action.clone()),
        priority: alert
            .opt("priority")
            .map(|p| p.v.to_string().trim_matches('"').to_owned()),
        url: None,
    };
    Ok(converted(Some(vec![Event {
        source: "opsgenie".to_owned(),
        at,
        body: EventBody::Incident(incident),
    }])))
}
