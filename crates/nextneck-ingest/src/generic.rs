//! nextneck's generic event format: NDJSON, one event per line, for
//! everything without a webhook of its own (documented in docs/events.md,
//! with a JSON Schema in docs/events.schema.json).

use nextneck_model::Timestamp;
use nextneck_model::events::{
    Change, ChangeCommit, ChangeState, CiConclusion, CiRun, CiStatus, Deployment, DeploymentStatus,
    Event, EventBody, Incident, IncidentStatus, Postmortem, StageTransition,
};

use crate::json::{self, J};
use crate::{Converted, IngestError};

const SOURCE: &str = "events";

/// The event types and each one's fields (`type` aside): the first list is
/// required, the second optional. docs/events.md and the JSON Schema list
/// the same; a test checks that they agree.
pub const TYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "deployment",
        &["id", "status"],
        &[
            "service",
            "environment",
            "production",
            "repository",
            "sha",
            "ref",
            "started_at",
            "finished_at",
        ],
    ),
    (
        "change",
        &["id", "opened_at"],
        &[
            "repository",
            "number",
            "title",
            "author",
            "ready_at",
            "first_review_at",
            "merged_at",
            "closed_at",
            "merge_sha",
            "commits",
        ],
    ),
    (
        "incident",
        &["id", "opened_at"],
        &[
            "service",
            "title",
            "acknowledged_at",
            "resolved_at",
            "deployment_id",
            "sha",
            "priority",
            "url",
        ],
    ),
    (
        "postmortem.published",
        &["id", "incident_id", "published_at"],
        &["url"],
    ),
    (
        "ci.run",
        &["id", "workflow"],
        &[
            "repository",
            "sha",
            "branch",
            "queued_at",
            "started_at",
            "finished_at",
            "conclusion",
        ],
    ),
    (
        "stage.transition",
        &["id", "stream", "item", "stage", "at"],
        &[],
    ),
];

pub(crate) fn convert(body: &[u8]) -> Result<Converted, IngestError> {
    let (events, unknown) = parse_lines(body)?;
    let event_type = match (events.is_empty(), unknown.first()) {
        (true, Some(t)) => format!("events:{t}"),
        _ => "events:ndjson".to_owned(),
    };
    Ok(Converted {
        event_type,
        events: if events.is_empty() && !unknown.is_empty() {
            None
        } else {
            Some(events)
        },
    })
}

/// Parses an NDJSON body of generic events. Lines of a type this version
/// does not know are skipped and returned by name; blank lines are skipped.
pub fn parse_events(body: &[u8]) -> Result<(Vec<Event>, Vec<String>), IngestError> {
    parse_lines(body)
}

fn parse_lines(body: &[u8]) -> Result<(Vec<Event>, Vec<String>), IngestError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| IngestError::Unrecognized(format!("not UTF-8 text: {e}")))?;
    let mut events = Vec::new();
    let mut unknown = Vec::new();
    let mut lines = 0;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let at_line = |e: IngestError| IngestError::Line {
            line: n + 1,
            source: Box::new(e),
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| at_line(json::json_error(&e)))?;
        json::refuse_nul(&value).map_err(at_line)?;
        match event(&J::root(&value)).map_err(at_line)? {
            Ok(e) => events.push(e),
            Err(t) => unknown.push(t),
        }
    }
    if lines == 0 {
        return Err(IngestError::Unrecognized(
            "no events: write one JSON object per line".to_owned(),
        ));
    }
    Ok((events, unknown))
}

/// One line: `Ok(Ok(event))`, or `Ok(Err(type))` for an unknown type.
fn event(j: &J<'_>) -> Result<Result<Event, String>, IngestError> {
    let j = j.clone().object()?;
    let kind = j.req_str("type")?;
    let Some((_, required, optional)) = TYPES.iter().find(|(t, _, _)| *t == kind) else {
        return Ok(Err(kind));
    };
    if let serde_json::Value::Object(map) = j.v {
        for key in map.keys() {
            if key != "type"
                && !required.contains(&key.as_str())
                && !optional.contains(&key.as_str())
            {
                let mut all: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
                all.sort_unstable();
                return Err(j.get(key).err(format!(
                    "unknown field of a {kind} event; its fields are type, {}",
                    all.join(", ")
                )));
            }
        }
    }
    for key in *required {
        j.req(key)?;
    }
    let ev = |at: Option<Timestamp>, body| Event {
        source: SOURCE.to_owned(),
        at,
        body,
    };
    let id = j.req_str("id")?;
    Ok(Ok(match kind.as_str() {
        "deployment" => {
            let status_text = j.req_str("status")?;
            let status = match status_text.as_str() {
                "queued" | "pending" => DeploymentStatus::Pending,
                "in_progress" => DeploymentStatus::InProgress,
                "success" => DeploymentStatus::Success,
                "failure" => DeploymentStatus::Failure,
                "error" => DeploymentStatus::Error,
                "canceled" => DeploymentStatus::Canceled,
                _ => {
                    return Err(j.get("status").err(format!(
                        "{status_text:?} is not a deployment status; use queued, in_progress, success, failure, error or canceled"
                    )));
                }
            };
            let started_at = j.opt_time_text("started_at")?;
            let finished_at = j.opt_time_text("finished_at")?;
            if started_at.is_none() && finished_at.is_none() {
                return Err(j
                    .get("finished_at")
                    .err("missing; a deployment needs started_at, finished_at or both"));
            }
            ev(
                finished_at.or(started_at),
                EventBody::Deployment(Deployment {
                    id,
                    repository: j.opt_str("repository")?,
                    service: j.opt_str("service")?,
                    environment: j.opt_str("environment")?,
                    production: j.opt_bool("production")?,
                    sha: j.opt_str("sha")?,
                    git_ref: j.opt_str("ref")?,
                    status: Some(status),
                    created_at: started_at,
                    started_at,
                    finished_at,
                    status_id: None,
                }),
            )
        }
        "change" => {
            let mut commits = Vec::new();
            for c in j.arr("commits")? {
                let c = c.object()?;
                commits.push(ChangeCommit {
                    sha: c.req_str("sha")?,
                    authored_at: c.opt_time_text("authored_at")?,
                    committed_at: c.opt_time_text("committed_at")?,
                    author: c.opt_str("author")?,
                });
            }
            let opened_at = Some(j.req_time_text("opened_at")?);
            let ready_at = j.opt_time_text("ready_at")?;
            let first_review_at = j.opt_time_text("first_review_at")?;
            let merged_at = j.opt_time_text("merged_at")?;
            let closed_at = j.opt_time_text("closed_at")?.or(merged_at);
            let state = if merged_at.is_some() {
                ChangeState::Merged
            } else if closed_at.is_some() {
                ChangeState::Closed
            } else {
                ChangeState::Open
            };
            let at = [opened_at, ready_at, first_review_at, merged_at, closed_at]
                .into_iter()
                .flatten()
                .max();
            ev(
                at,
                EventBody::Change(Change {
                    id,
                    repository: j.opt_str("repository")?,
                    number: j.opt_u64("number")?,
                    title: j.opt_str("title")?,
                    author: j
                        .opt_str("author")?
                        .map(|login| nextneck_model::events::Actor {
                            login: Some(login),
                            id: None,
                            bot: false,
                        }),
                    state,
                    draft: None,
                    opened_at,
                    ready_at,
                    first_review_at,
                    merged_at,
                    closed_at,
                    merge_sha: j.opt_str("merge_sha")?,
                    head_sha: None,
                    base_ref: None,
                    head_ref: None,
                    commits,
                    reviewers: Vec::new(),
                    labels: Vec::new(),
                }),
            )
        }
        "incident" => {
            let opened_at = j.req_time_text("opened_at")?;
            let acknowledged_at = j.opt_time_text("acknowledged_at")?;
            let resolved_at = j.opt_time_text("resolved_at")?;
            let status = if resolved_at.is_some() {
                IncidentStatus::Resolved
            } else if acknowledged_at.is_some() {
                IncidentStatus::Acknowledged
            } else {
                IncidentStatus::Triggered
            };
            ev(
                Some(resolved_at.or(acknowledged_at).unwrap_or(opened_at)),
                EventBody::Incident(Incident {
                    id,
                    title: j.opt_str("title")?,
                    service: j.opt_str("service")?,
                    status,
                    opened_at: Some(opened_at),
                    acknowledged_at,
                    resolved_at,
                    deployment_id: j.opt_str("deployment_id")?,
                    sha: j.opt_str("sha")?,
                    action: None,
                    priority: j.opt_str("priority")?,
                    url: j.opt_str("url")?,
                }),
            )
        }
        "postmortem.published" => {
            let published_at = j.req_time_text("published_at")?;
            ev(
                Some(published_at),
                EventBody::Postmortem(Postmortem {
                    id,
                    incident_id: j.req_str("incident_id")?,
                    published_at,
                    url: j.opt_str("url")?,
                }),
            )
        }
        "ci.run" => {
            let queued_at = j.opt_time_text("queued_at")?;
            let started_at = j.opt_time_text("started_at")?;
            let finished_at = j.opt_time_text("finished_at")?;
            let conclusion = j.opt_str("conclusion")?.map(|c| match c.as_str() {
                "success" => CiConclusion::Success,
                "failure" => CiConclusion::Failure,
                "canceled" => CiConclusion::Canceled,
                "skipped" => CiConclusion::Skipped,
                "timed_out" => CiConclusion::TimedOut,
                _ => CiConclusion::Other(c),
            });
            let status = if finished_at.is_some() || conclusion.is_some() {
                CiStatus::Completed
            } else if started_at.is_some() {
                CiStatus::InProgress
            } else {
                CiStatus::Queued
            };
            ev(
                finished_at.or(started_at).or(queued_at),
                EventBody::CiRun(CiRun {
                    id,
                    repository: j.opt_str("repository")?,
                    workflow: Some(j.req_str("workflow")?),
                    sha: j.opt_str("sha")?,
                    branch: j.opt_str("branch")?,
                    status,
                    conclusion,
                    attempt: None,
                    queued_at,
                    started_at,
                    finished_at,
                }),
            )
        }
        "stage.transition" => ev(
            Some(j.req_time_text("at")?),
            EventBody::StageTransition(StageTransition {
                id,
                stream: j.req_str("stream")?,
                item: j.req_str("item")?,
                stage: j.req_str("stage")?,
            }),
        ),
        _ => return Ok(Err(kind)),
    }))
}
