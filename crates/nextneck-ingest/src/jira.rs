//! Jira: webhooks (`webhookEvent`: `jira:issue_created`,
//! `jira:issue_updated`) and issue searches exported with their changelog
//! (`/rest/api/2/search?expand=changelog`, or Cloud's enhanced search
//! `/rest/api/3/search/jql?expand=changelog`: `{"issues": [...]}`; v3's
//! rich-text fields are documents, kept as JSON).

use nextneck_model::Timestamp;
use nextneck_model::events::{Event, EventBody, Issue, IssueStatusChange};
use serde_json::Value;

use crate::json::J;
use crate::{Converted, IngestError};

const SOURCE: &str = "jira";

fn event(at: Option<Timestamp>, body: EventBody) -> Event {
    Event {
        source: SOURCE.to_owned(),
        at,
        body,
    }
}

pub(crate) fn convert(values: &[Value]) -> Result<Converted, IngestError> {
    let root = J::root(&values[0]);
    if values.len() > 1 || values[0].is_array() || (root.has("issues") && !root.has("webhookEvent"))
    {
        return Ok(Converted {
            event_type: "jira:export".to_owned(),
            events: Some(export(values)?),
        });
    }
    let root = root.object()?;
    let webhook_event = root.req_str("webhookEvent")?;
    let name = webhook_event
        .strip_prefix("jira:")
        .unwrap_or(&webhook_event)
        .to_owned();
    let converted = |events| Converted {
        event_type: format!("jira:{name}"),
        events,
    };
    if !matches!(name.as_str(), "issue_created" | "issue_updated") {
        return Ok(converted(None));
    }
    let at = root.opt_time("timestamp")?;
    let by = match root.opt("user") {
        Some(u) => person(&u)?,
        None => None,
    };
    let i = root.req("issue")?.object()?;
    let mut issue = issue(&i)?;
    issue.action = Some(webhook_event.clone());
    let key = issue.id.clone();
    let mut out = vec![event(at, EventBody::Issue(issue))];
    if let Some(changelog) = root.opt("changelog") {
        for item in changelog.arr("items")? {
            if let Some(change) = status_change(&item, &key, by.clone())? {
                out.push(event(at, EventBody::IssueStatusChange(change)));
            }
        }
    }
    Ok(converted(Some(out)))
}

fn person(u: &J<'_>) -> Result<Option<String>, IngestError> {
    Ok(u.opt_str("name")?
        .or(u.opt_str("accountId")?)
        .or(u.opt_str("displayName")?))
}

fn status_change(
    item: &J<'_>,
    key: &str,
    by: Option<String>,
) -> Result<Option<IssueStatusChange>, IngestError> {
    if item.opt_str("field")?.as_deref() != Some("status") {
        return Ok(None);
    }
    Ok(Some(IssueStatusChange {
        issue_id: key.to_owned(),
        from: item.opt_str("fromString")?,
        to: item.req_str("toString")?,
        by,
    }))
}

fn issue(i: &J<'_>) -> Result<Issue, IngestError> {
    let fields = i.req("fields")?.object()?;
    let status = fields.opt("status");
    let description = match fields.opt("description") {
        Some(d) => match d.v {
            Value::String(s) => Some(s.clone()),
            // Jira Cloud's v3 API sends rich text as a document; keep it as JSON.
            other => Some(other.to_string()),
        },
        None => None,
    };
    Ok(Issue {
        id: i.req_str("key")?,
        project: match fields.opt("project") {
            Some(p) => p.opt_str("key")?,
            None => None,
        },
        issue_type: match fields.opt("issuetype") {
            Some(t) => t.opt_str("name")?,
            None => None,
        },
        title: fields.opt_str("summary")?,
        description,
        labels: fields.names("labels", "name")?,
        status: match &status {
            Some(s) => s.opt_str("name")?,
            None => None,
        },
        status_category: match &status {
            Some(s) => match s.opt("statusCategory") {
                Some(c) => c.opt_str("key")?,
                None => None,
            },
            None => None,
        },
        action: None,
        author: match fields.opt("reporter").or(fields.opt("creator")) {
            Some(u) => person(&u)?,
            None => None,
        },
        created_at: fields.opt_time("created")?,
        closed_at: fields.opt_time("resolutiondate")?,
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
        let items = match root.opt("issues") {
            Some(list) => list.elements()?,
            None => root.elements()?,
        };
        for i in items {
            let i = i.object()?;
            let issue = issue(&i)?;
            let key = issue.id.clone();
            let at = i.get("fields").opt_time("updated")?;
            out.push(event(at, EventBody::Issue(issue)));
            if let Some(changelog) = i.opt("changelog") {
                for h in changelog.arr("histories")? {
                    let when = h.opt_time("created")?;
                    let by = match h.opt("author") {
                        Some(a) => person(&a)?,
                        None => None,
                    };
                    for item in h.arr("items")? {
                        if let Some(change) = status_change(&item, &key, by.clone())? {
                            out.push(event(when, EventBody::IssueStatusChange(change)));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
