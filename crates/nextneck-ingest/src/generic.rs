//! nextneck's generic event format: NDJSON, one event per line, for
//! everything without a webhook of its own (documented in docs/events.md,
//! with a JSON Schema in docs/events.schema.json).

use nextneck_model::Timestamp;
use nextneck_model::events::{
    Actor, Change, ChangeCommit, ChangeState, CiConclusion, CiRun, CiStatus, Deployment,
    DeploymentStatus, Event, EventBody, Incident, IncidentStatus, Postmortem, Review, ReviewState,
    StageTransition,
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
            "commits",
            "changes",
        ],
    ),
    (
        "change",
        &["id"],
        &[
            "opened_at",
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
        "review",
        &["id", "change_id", "reviewer", "state", "submitted_at"],
        &["bot", "commit"],
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
            "environment",
        ],
    ),
    (
        "stage.transition",
        &["id", "stream", "item", "stage", "at"],
        &[],
    ),
];

/// A deployment's `status` words (matched without case).
const DEPLOYMENT_STATUSES: &[(&str, DeploymentStatus)] = &[
    ("queued", DeploymentStatus::Pending),
    ("pending", DeploymentStatus::Pending),
    ("in_progress", DeploymentStatus::InProgress),
    ("success", DeploymentStatus::Success),
    ("failure", DeploymentStatus::Failure),
    ("error", DeploymentStatus::Error),
    ("canceled", DeploymentStatus::Canceled),
];

/// A review's `state` words (matched without case).
const REVIEW_STATES: &[(&str, ReviewState)] = &[
    ("approved", ReviewState::Approved),
    ("changes_requested", ReviewState::ChangesRequested),
    ("commented", ReviewState::Commented),
    ("dismissed", ReviewState::Dismissed),
];

/// A CI run's `conclusion` words nextneck knows (matched without case);
/// any other word is kept as it is.
const CI_CONCLUSIONS: &[(&str, CiConclusion)] = &[
    ("success", CiConclusion::Success),
    ("failure", CiConclusion::Failure),
    ("canceled", CiConclusion::Canceled),
    ("skipped", CiConclusion::Skipped),
    ("timed_out", CiConclusion::TimedOut),
];

/// The fields that take one of a closed list of words, matched without
/// case: `(type, field, words)`. The JSON Schema allows the same words in
/// any case; a test checks that they agree.
pub fn closed_words() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        ("deployment", "status", words(DEPLOYMENT_STATUSES)),
        ("review", "state", words(REVIEW_STATES)),
    ]
}

pub(crate) fn convert(first_line: usize, body: &[u8]) -> Result<Converted, IngestError> {
    convert_noting_unknown(first_line, body).map(|(converted, _)| converted)
}

/// [`convert`], and the type of every line of a type this version does not
/// know (skipped), in order.
pub(crate) fn convert_noting_unknown(
    first_line: usize,
    body: &[u8],
) -> Result<(Converted, Vec<String>), IngestError> {
    let (events, unknown) = parse_lines(first_line, body)?;
    let event_type = match (events.is_empty(), unknown.first()) {
        (true, Some(t)) => format!("events:{t}"),
        _ => "events:ndjson".to_owned(),
    };
    let converted = Converted {
        event_type,
        events: if events.is_empty() && !unknown.is_empty() {
            None
        } else {
            Some(events)
        },
    };
    Ok((converted, unknown))
}

/// Parses an NDJSON body of generic events. Lines of a type this version
/// does not know are skipped and returned by name; blank lines are skipped,
/// so an empty body (or one of blank lines) is no events.
pub fn parse_events(body: &[u8]) -> Result<(Vec<Event>, Vec<String>), IngestError> {
    parse_lines(1, body)
}

/// The lines of `body`, numbered from `first_line` (a part of a larger file
/// names the file's lines), each without its `\n` or `\r\n`.
fn numbered_lines(first_line: usize, body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = Some(body);
    let mut n = first_line;
    std::iter::from_fn(move || {
        let text = rest?;
        let line = match memchr::memchr(b'\n', text) {
            Some(i) => {
                rest = Some(&text[i + 1..]);
                text[..i].strip_suffix(b"\r").unwrap_or(&text[..i])
            }
            None => {
                rest = None;
                text
            }
        };
        n += 1;
        Some((n - 1, line))
    })
}

fn parse_lines(first_line: usize, body: &[u8]) -> Result<(Vec<Event>, Vec<String>), IngestError> {
    let mut events = Vec::new();
    let mut unknown = Vec::new();
    for (n, line) in numbered_lines(first_line, body) {
        let at_line = |e: IngestError| IngestError::Line {
            line: n,
            source: Box::new(e),
        };
        let line = std::str::from_utf8(line)
            .map_err(|e| at_line(IngestError::Unrecognized(format!("not UTF-8 text: {e}"))))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| at_line(json::json_error(&e)))?;
        json::refuse_nul(&value).map_err(at_line)?;
        match event(&J::root(&value)).map_err(at_line)? {
            Ok(e) => events.extend(e),
            Err(t) => unknown.push(t),
        }
    }
    Ok((events, unknown))
}

/// One line: `Ok(Ok(events))` (one, or for a `ci.run` naming an
/// environment two: the run and its deployment), or `Ok(Err(type))` for an
/// unknown type.
fn event(j: &J<'_>) -> Result<Result<Vec<Event>, String>, IngestError> {
    let j = j.clone().object()?;
    let kind = j.req_str("type")?;
    let Some((_, required, optional)) = TYPES.iter().find(|(t, _, _)| *t == kind) else {
        return Ok(Err(kind));
    };
    refuse_unknown_fields(&j, &kind, required, optional)?;
    for key in *required {
        j.req(key)?;
    }
    let id = j.req_str("id")?;
    let observed = match kind.as_str() {
        "deployment" => vec![deployment(&j, id)?],
        "change" => vec![change(&j, id)?],
        "review" => vec![review(&j, id)?],
        "incident" => vec![incident(&j, id)?],
        "postmortem.published" => vec![postmortem(&j, id)?],
        "ci.run" => ci_run_and_deployment(&j, id)?,
        "stage.transition" => vec![stage_transition(&j, id)?],
        _ => return Ok(Err(kind)),
    };
    Ok(Ok(observed
        .into_iter()
        .map(|(at, body)| Event {
            source: SOURCE.to_owned(),
            at,
            body,
        })
        .collect()))
}

/// What a line says: the event's time and body.
type Observed = (Option<Timestamp>, EventBody);

fn refuse_unknown_fields(
    j: &J<'_>,
    kind: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<(), IngestError> {
    let serde_json::Value::Object(map) = j.v else {
        return Ok(());
    };
    let known = |key: &str| key == "type" || required.contains(&key) || optional.contains(&key);
    match map.keys().find(|key| !known(key)) {
        None => Ok(()),
        Some(key) => {
            let mut all: Vec<&str> = required.iter().chain(optional).copied().collect();
            all.sort_unstable();
            Err(j.get(key).err(format!(
                "unknown field of a {kind} event; its fields are type, {}",
                all.join(", ")
            )))
        }
    }
}

/// The value `key` names in `table`, its word matched without case.
fn closed_word<T: Clone>(
    j: &J<'_>,
    key: &str,
    what: &str,
    table: &[(&'static str, T)],
) -> Result<T, IngestError> {
    let text = j.req_str(key)?;
    lookup(&text, table).ok_or_else(|| {
        j.get(key).err(format!(
            "{text:?} is not a {what}; use {} (in any case)",
            one_of(&words(table))
        ))
    })
}

fn lookup<T: Clone>(text: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(text))
        .map(|(_, value)| value.clone())
}

/// The words of a table.
fn words<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(w, _)| *w).collect()
}

/// `a, b or c`.
fn one_of(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn deployment(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    let status = closed_word(j, "status", "deployment status", DEPLOYMENT_STATUSES)?;
    let started_at = j.opt_time_text("started_at")?;
    let finished_at = j.opt_time_text("finished_at")?;
    if started_at.is_none() && finished_at.is_none() {
        return Err(j
            .get("finished_at")
            .err("missing; a deployment needs started_at, finished_at or both"));
    }
    Ok((
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
            commits: shas(j, "commits")?,
            changes: strings(j, "changes")?,
        }),
    ))
}

/// The strings of an array member (a deployment's `commits` and
/// `changes`); empty when absent or null. Anything but a string is refused.
fn strings(j: &J<'_>, key: &str) -> Result<Vec<String>, IngestError> {
    j.arr(key)?.iter().map(J::string).collect()
}

/// The commit SHAs of an array member: 7 to 40 hex digits each.
fn shas(j: &J<'_>, key: &str) -> Result<Vec<String>, IngestError> {
    let mut shas = Vec::new();
    for item in j.arr(key)? {
        let sha = item.string()?;
        if !(7..=40).contains(&sha.len()) || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(item.err(format!(
                "{sha:?} is not a commit SHA; use its 7 to 40 hex digits"
            )));
        }
        shas.push(sha);
    }
    Ok(shas)
}

fn commits(j: &J<'_>) -> Result<Vec<ChangeCommit>, IngestError> {
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
    Ok(commits)
}

/// The times of a pull request, or of a direct push: a change without
/// `opened_at` had no pull request; it landed at `merged_at` and has no
/// ready or first review time.
fn change_times(j: &J<'_>) -> Result<[Option<Timestamp>; 5], IngestError> {
    let opened_at = j.opt_time_text("opened_at")?;
    let merged_at = j.opt_time_text("merged_at")?;
    if opened_at.is_none() {
        if merged_at.is_none() {
            return Err(j.get("opened_at").err(
                "missing; a change needs opened_at (a pull request) or merged_at (a direct push)",
            ));
        }
        for key in ["ready_at", "first_review_at"] {
            if j.opt(key).is_some() {
                return Err(j.get(key).err(
                    "a change without opened_at is a direct push, which is not reviewed; add opened_at or remove this field",
                ));
            }
        }
    }
    let ready_at = j.opt_time_text("ready_at")?;
    let first_review_at = j.opt_time_text("first_review_at")?;
    let closed_at = j.opt_time_text("closed_at")?.or(merged_at);
    Ok([opened_at, ready_at, first_review_at, merged_at, closed_at])
}

fn change(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    let times = change_times(j)?;
    let [opened_at, ready_at, first_review_at, merged_at, closed_at] = times;
    let state = if merged_at.is_some() {
        ChangeState::Merged
    } else if closed_at.is_some() {
        ChangeState::Closed
    } else {
        ChangeState::Open
    };
    Ok((
        times.into_iter().flatten().max(),
        EventBody::Change(Change {
            id,
            repository: j.opt_str("repository")?,
            number: j.opt_u64("number")?,
            title: j.opt_str("title")?,
            author: j.opt_str("author")?.map(|login| person(login, false)),
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
            commits: commits(j)?,
            reviewers: Vec::new(),
            labels: Vec::new(),
        }),
    ))
}

/// A person named by login.
fn person(login: String, bot: bool) -> Actor {
    Actor {
        login: Some(login),
        id: None,
        bot,
    }
}

/// A review of a generic `change` (its `change_id` is the change's `id`),
/// as the GitHub and GitLab readers give one: the reviewer by login, with
/// the bot flag, so that the metrics' author and bot rules apply.
fn review(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    let submitted_at = j.req_time_text("submitted_at")?;
    let bot = j.opt_bool("bot")?.unwrap_or(false);
    Ok((
        Some(submitted_at),
        EventBody::Review(Review {
            id,
            change_id: j.req_str("change_id")?,
            change_author: None,
            reviewer: Some(person(j.req_str("reviewer")?, bot)),
            state: closed_word(j, "state", "review state", REVIEW_STATES)?,
            submitted_at: Some(submitted_at),
            commit: j.opt_str("commit")?,
        }),
    ))
}

fn incident(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
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
    Ok((
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
    ))
}

fn postmortem(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    let published_at = j.req_time_text("published_at")?;
    Ok((
        Some(published_at),
        EventBody::Postmortem(Postmortem {
            id,
            incident_id: j.req_str("incident_id")?,
            published_at,
            url: j.opt_str("url")?,
        }),
    ))
}

fn ci_run(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    let queued_at = j.opt_time_text("queued_at")?;
    let started_at = j.opt_time_text("started_at")?;
    let finished_at = j.opt_time_text("finished_at")?;
    let conclusion = j
        .opt_str("conclusion")?
        .map(|c| lookup(&c, CI_CONCLUSIONS).unwrap_or(CiConclusion::Other(c)));
    let status = if finished_at.is_some() || conclusion.is_some() {
        CiStatus::Completed
    } else if started_at.is_some() {
        CiStatus::InProgress
    } else {
        CiStatus::Queued
    };
    Ok((
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
    ))
}

/// A CI run; one naming an `environment` is also a deployment attempt of
/// its repository (as Apache DevLake's deployment tasks are), with the id
/// `ci:<run id>`.
fn ci_run_and_deployment(j: &J<'_>, id: String) -> Result<Vec<Observed>, IngestError> {
    let run = ci_run(j, id)?;
    let deployment = match (&run.1, j.opt_str("environment")?) {
        (EventBody::CiRun(r), Some(environment)) => {
            Some((run.0, EventBody::Deployment(run_deployment(r, environment))))
        }
        _ => None,
    };
    Ok(std::iter::once(run).chain(deployment).collect())
}

/// The deployment a CI run to `environment` is: its commit, branch and
/// times; its status from its conclusion.
fn run_deployment(r: &CiRun, environment: String) -> Deployment {
    let status = match &r.conclusion {
        Some(CiConclusion::Success) => DeploymentStatus::Success,
        Some(CiConclusion::Failure | CiConclusion::TimedOut) => DeploymentStatus::Failure,
        Some(CiConclusion::Canceled) => DeploymentStatus::Canceled,
        Some(CiConclusion::Other(word)) if word.eq_ignore_ascii_case("cancelled") => {
            DeploymentStatus::Canceled
        }
        Some(CiConclusion::Skipped) => DeploymentStatus::Other("skipped".to_owned()),
        Some(CiConclusion::Other(word)) => DeploymentStatus::Other(word.clone()),
        None if r.status == CiStatus::InProgress => DeploymentStatus::InProgress,
        None => DeploymentStatus::Pending,
    };
    Deployment {
        id: format!("ci:{}", r.id),
        repository: r.repository.clone(),
        service: None,
        environment: Some(environment),
        production: None,
        sha: r.sha.clone(),
        git_ref: r.branch.clone(),
        status: Some(status),
        created_at: r.queued_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        status_id: None,
        commits: Vec::new(),
        changes: Vec::new(),
    }
}

fn stage_transition(j: &J<'_>, id: String) -> Result<Observed, IngestError> {
    Ok((
        Some(j.req_time_text("at")?),
        EventBody::StageTransition(StageTransition {
            id,
            stream: j.req_str("stream")?,
            item: j.req_str("item")?,
            stage: j.req_str("stage")?,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of `body` in short, or its error.
    fn check(body: &str, expected: &[&str]) {
        let got: Vec<String> = match parse_events(body.as_bytes()) {
            Ok((events, unknown)) => events
                .iter()
                .map(|e| short(&e.body))
                .chain(unknown.iter().map(|t| format!("skipped {t}")))
                .collect(),
            Err(e) => vec![e.to_string()],
        };
        assert_eq!(got, expected, "{body}");
    }

    fn short(body: &EventBody) -> String {
        let time = |t: Option<Timestamp>| t.map_or("-".to_owned(), |t| t.to_string());
        match body {
            EventBody::Deployment(d) => format!("deployment {} {:?}", d.id, d.status),
            EventBody::Change(c) => format!(
                "change {} {:?} opened={} merged={} closed={} sha={}",
                c.id,
                c.state,
                time(c.opened_at),
                time(c.merged_at),
                time(c.closed_at),
                c.merge_sha.as_deref().unwrap_or("-")
            ),
            EventBody::Review(r) => format!(
                "review {} of {} by {:?} {:?} at={}",
                r.id,
                r.change_id,
                r.reviewer,
                r.state,
                time(r.submitted_at)
            ),
            EventBody::CiRun(r) => format!("ci.run {} {:?} {:?}", r.id, r.status, r.conclusion),
            other => other.kind().to_owned(),
        }
    }

    /// 2024-03-01T00:00:00Z.
    const T0: &str = "2024-03-01T00:00:00Z";

    fn deployment_with(status: &str) -> String {
        format!(
            r#"{{"type": "deployment", "id": "d", "status": "{status}", "finished_at": "{T0}"}}"#
        )
    }

    #[test]
    fn status_words_are_matched_without_case() {
        check(&deployment_with("success"), &["deployment d Some(Success)"]);
        check(&deployment_with("SUCCESS"), &["deployment d Some(Success)"]);
        check(&deployment_with("Failure"), &["deployment d Some(Failure)"]);
        check(
            &deployment_with("In_Progress"),
            &["deployment d Some(InProgress)"],
        );
        check(&deployment_with("PENDING"), &["deployment d Some(Pending)"]);
        check(
            &deployment_with("done"),
            &[
                "line 1: field status: \"done\" is not a deployment status; use queued, pending, in_progress, success, failure, error or canceled (in any case)",
            ],
        );
        let run = |c: &str| {
            format!(r#"{{"type": "ci.run", "id": "r", "workflow": "w", "conclusion": "{c}"}}"#)
        };
        check(&run("SUCCESS"), &["ci.run r Completed Some(Success)"]);
        check(&run("Timed_Out"), &["ci.run r Completed Some(TimedOut)"]);
        check(
            &run("Neutral"),
            &["ci.run r Completed Some(Other(\"Neutral\"))"],
        );
    }

    #[test]
    fn a_part_of_a_file_names_the_files_lines() {
        let bad = r#"{"type": "deployment", "id": "d", "status": "success"}"#;
        let body = format!("{}\r\n\n{bad}\n", deployment_with("success"));
        let error = |headers: &[(String, String)], body: &[u8]| {
            crate::convert(crate::Provider::Events, headers, body)
                .map(|c| c.event_type)
                .unwrap_or_else(|e| e.to_string())
        };
        let part = |n: &str| vec![(crate::FIRST_LINE_HEADER.to_owned(), n.to_owned())];
        let missing =
            "field finished_at: missing; a deployment needs started_at, finished_at or both";
        for (headers, line) in [
            (vec![], 3),
            (part("1"), 3),
            (part("10001"), 10003),
            (part("x"), 3),
        ] {
            assert_eq!(
                error(&headers, body.as_bytes()),
                format!("line {line}: {missing}")
            );
        }
        assert_eq!(
            error(&part("7"), b"\n\xff\n"),
            "line 8: not UTF-8 text: invalid utf-8 sequence of 1 bytes from index 0"
        );
    }

    #[test]
    fn an_empty_body_is_no_events() {
        check("", &[]);
        check("\n\n", &[]);
        check(" \r\n\t\n", &[]);
        check(
            &format!("\n{}\n\n", deployment_with("success")),
            &["deployment d Some(Success)"],
        );
    }

    #[test]
    fn a_change_without_a_pull_request_is_a_direct_push() {
        let merged = "2024-03-01T00:00:00Z";
        check(
            &format!(
                r#"{{"type": "change", "id": "push-1", "merged_at": "{merged}", "merge_sha": "abc"}}"#
            ),
            &["change push-1 Merged opened=- merged=1709251200 closed=1709251200 sha=abc"],
        );
        check(
            &format!(r#"{{"type": "change", "id": "pr-1", "opened_at": "{merged}"}}"#),
            &["change pr-1 Open opened=1709251200 merged=- closed=- sha=-"],
        );
        check(
            r#"{"type": "change", "id": "c", "merge_sha": "abc"}"#,
            &[
                "line 1: field opened_at: missing; a change needs opened_at (a pull request) or merged_at (a direct push)",
            ],
        );
        check(
            &format!(
                r#"{{"type": "change", "id": "c", "merged_at": "{merged}", "first_review_at": "{merged}"}}"#
            ),
            &[
                "line 1: field first_review_at: a change without opened_at is a direct push, which is not reviewed; add opened_at or remove this field",
            ],
        );
    }

    #[test]
    fn a_deployment_may_list_the_commits_and_changes_it_shipped() {
        let with = |fields: &str| {
            let line = format!(
                r#"{{"type": "deployment", "id": "d-41", "status": "success", "finished_at": "{T0}"{fields}}}"#
            );
            match parse_events(line.as_bytes()) {
                Ok((events, _)) => match events.as_slice() {
                    [
                        Event {
                            body: EventBody::Deployment(d),
                            ..
                        },
                    ] => format!("commits={:?} changes={:?}", d.commits, d.changes),
                    other => format!("{other:?}"),
                },
                Err(e) => e.to_string(),
            }
        };
        assert_eq!(with(""), "commits=[] changes=[]");
        assert_eq!(
            with(r#", "commits": ["ABCDEF1", "0123456789abcdef0123456789abcdef01234567"]"#),
            r#"commits=["ABCDEF1", "0123456789abcdef0123456789abcdef01234567"] changes=[]"#
        );
        assert_eq!(
            with(r#", "changes": ["acme/shop#7", "push-1"], "commits": null"#),
            r#"commits=[] changes=["acme/shop#7", "push-1"]"#
        );
        assert_eq!(
            with(r#", "commits": ["abc"]"#),
            "line 1: field commits[0]: \"abc\" is not a commit SHA; use its 7 to 40 hex digits"
        );
        assert_eq!(
            with(r#", "changes": [7]"#),
            "line 1: field changes[0]: expected a string, found a number"
        );
        assert_eq!(
            with(r#", "changes": "acme/shop#7""#),
            "line 1: field changes: expected an array, found a string"
        );
    }

    #[test]
    fn a_ci_run_naming_an_environment_is_also_a_deployment() {
        let run = |fields: &str| {
            format!(
                r#"{{"type": "ci.run", "id": "r7", "workflow": "deploy", "repository": "acme/shop", "sha": "abc1234", "branch": "main", "started_at": "{T0}"{fields}}}"#
            )
        };
        let done = |c: &str| format!(r#", "finished_at": "{T0}", "conclusion": "{c}""#);
        let env = r#", "environment": "production""#;
        check(
            &run(&done("success")),
            &["ci.run r7 Completed Some(Success)"],
        );
        for (conclusion, status) in [
            ("success", "Success"),
            ("FAILURE", "Failure"),
            ("timed_out", "Failure"),
            ("canceled", "Canceled"),
            ("cancelled", "Canceled"),
            ("skipped", "Other(\"skipped\")"),
            ("neutral", "Other(\"neutral\")"),
        ] {
            let line = run(&format!("{}{env}", done(conclusion)));
            let (events, _) = parse_events(line.as_bytes()).expect("parses");
            assert_eq!(events.len(), 2, "{line}");
            assert_eq!(events[0].kind(), "ci_run");
            assert_eq!(events[1].source, "events");
            assert_eq!(events[1].at, events[0].at);
            let EventBody::Deployment(d) = &events[1].body else {
                panic!("not a deployment: {:?}", events[1]);
            };
            assert_eq!(format!("{:?}", d.status), format!("Some({status})"));
            assert_eq!(d.id, "ci:r7");
            assert_eq!(d.environment.as_deref(), Some("production"));
            assert_eq!(d.repository.as_deref(), Some("acme/shop"));
            assert_eq!(d.sha.as_deref(), Some("abc1234"));
            assert_eq!(d.git_ref.as_deref(), Some("main"));
            assert_eq!(d.finished_at, Some(1_709_251_200));
            assert_eq!(d.production, None);
        }
        check(
            &run(env),
            &[
                "ci.run r7 InProgress None",
                "deployment ci:r7 Some(InProgress)",
            ],
        );
        check(
            &run(r#", "environment": 3"#),
            &["line 1: field environment: expected a string, found a number"],
        );
    }

    fn review_with(fields: &str) -> String {
        format!(
            r#"{{"type": "review", "id": "r1", "change_id": "acme/shop#1", "submitted_at": "{T0}"{fields}}}"#
        )
    }

    #[test]
    fn a_review_is_the_readers_normalized_review() {
        check(
            &review_with(r#", "reviewer": "ada", "state": "approved""#),
            &[
                "review r1 of acme/shop#1 by Some(Actor { login: Some(\"ada\"), id: None, bot: false }) Approved at=1709251200",
            ],
        );
        check(
            &review_with(
                r#", "reviewer": "renovate", "bot": true, "state": "COMMENTED", "commit": "abc""#,
            ),
            &[
                "review r1 of acme/shop#1 by Some(Actor { login: Some(\"renovate\"), id: None, bot: true }) Commented at=1709251200",
            ],
        );
        check(
            &review_with(r#", "reviewer": "ada", "state": "Changes_Requested""#),
            &[
                "review r1 of acme/shop#1 by Some(Actor { login: Some(\"ada\"), id: None, bot: false }) ChangesRequested at=1709251200",
            ],
        );
        check(
            &review_with(r#", "reviewer": "ada", "state": "lgtm""#),
            &[
                "line 1: field state: \"lgtm\" is not a review state; use approved, changes_requested, commented or dismissed (in any case)",
            ],
        );
        check(
            &review_with(r#", "state": "approved""#),
            &["line 1: field reviewer: missing; it is required"],
        );
        check(
            &review_with(r#", "reviewer": "ada", "state": "approved", "bot": "no""#),
            &["line 1: field bot: expected true or false, found a string"],
        );
    }
}
