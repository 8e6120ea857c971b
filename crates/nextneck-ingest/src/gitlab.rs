//! GitLab: webhook payloads (the body's `object_kind` names the type) and
//! REST API exports (`glab api --paginate`): merge requests, deployments,
//! pipelines and issues (incidents are issues of type `incident`). What
//! `nextneck sync gitlab` stores is such an export with more attached: a
//! merge request's `commits` and `notes` (comments are reviews that
//! comment, the system note "approved this merge request" an approval), a
//! pipeline's `jobs`; and releases (release hook and the releases API).

use nextneck_model::Timestamp;
use nextneck_model::events::{
    Actor, Change, ChangeCommit, ChangeState, CiConclusion, CiJob, CiRun, CiStatus, Deployment,
    DeploymentStatus, Event, EventBody, Issue, Push, Release, Review, ReviewState,
};
use serde_json::Value;

use crate::json::J;
use crate::{Converted, IngestError};

const SOURCE: &str = "gitlab";

fn event(at: Option<Timestamp>, body: EventBody) -> Event {
    Event {
        source: SOURCE.to_owned(),
        at,
        body,
    }
}

pub(crate) fn convert(values: &[Value]) -> Result<Converted, IngestError> {
    if values.len() > 1 || values[0].is_array() {
        return Ok(Converted {
            event_type: "gitlab:export".to_owned(),
            events: Some(export(values)?),
        });
    }
    let root = J::root(&values[0]).object()?;
    let kind = root.opt_str("object_kind")?.ok_or_else(|| {
        IngestError::Unrecognized(
            "not a GitLab webhook payload (no object_kind) nor an API export (an array)".to_owned(),
        )
    })?;
    let events = webhook(&kind, &root)?;
    Ok(Converted {
        event_type: format!("gitlab:{kind}"),
        events,
    })
}

fn project_path(root: &J<'_>) -> Result<Option<String>, IngestError> {
    match root.opt("project") {
        Some(p) => p.opt_str("path_with_namespace"),
        None => Ok(None),
    }
}

fn user(u: &J<'_>) -> Result<Actor, IngestError> {
    Ok(Actor {
        login: u.opt_str("username")?,
        id: u.opt_id("id")?,
        bot: u.opt_bool("bot")?.unwrap_or(false),
    })
}

fn webhook(kind: &str, root: &J<'_>) -> Result<Option<Vec<Event>>, IngestError> {
    let project = project_path(root)?;
    let events = match kind {
        "push" | "tag_push" => {
            let repository = project.ok_or_else(|| {
                root.get("project")
                    .get("path_with_namespace")
                    .err("missing; it is required")
            })?;
            let mut commits = Vec::new();
            for c in root.arr("commits")? {
                commits.push(ChangeCommit {
                    sha: c.req_str("id")?,
                    authored_at: c.opt_time("timestamp")?,
                    committed_at: None,
                    author: c.get("author").opt_str("name")?,
                });
            }
            let at = commits.iter().filter_map(|c| c.authored_at).max();
            vec![event(
                at,
                EventBody::Push(Push {
                    repository,
                    git_ref: root.req_str("ref")?,
                    before: root.req_str("before")?,
                    after: root.req_str("after")?,
                    pusher: root.opt_str("user_username")?,
                    commits,
                }),
            )]
        }
        "merge_request" => {
            let attrs = root.req("object_attributes")?.object()?;
            let action = attrs.opt_str("action")?;
            let mut change = merge_request(&attrs, project.clone())?;
            let at = attrs.opt_time("updated_at")?;
            // The merge event carries no `merged_at`; its `updated_at` is
            // the merge.
            if action.as_deref() == Some("merge") && change.merged_at.is_none() {
                change.merged_at = at;
            }
            if action.as_deref() == Some("close") && change.closed_at.is_none() {
                change.closed_at = at;
            }
            let mut out = Vec::new();
            if matches!(action.as_deref(), Some("approved" | "approval")) {
                let reviewer = root.opt("user").map(|u| user(&u)).transpose()?;
                out.push(event(
                    at,
                    EventBody::Review(Review {
                        id: approval_id(reviewer.as_ref(), "unknown"),
                        change_id: change.id.clone(),
                        change_author: change.author.clone(),
                        reviewer,
                        state: ReviewState::Approved,
                        submitted_at: at,
                        commit: change.head_sha.clone(),
                    }),
                ));
            }
            out.insert(0, event(at, EventBody::Change(change)));
            out
        }
        "note" => {
            let attrs = root.req("object_attributes")?.object()?;
            if attrs.opt_str("noteable_type")?.as_deref() != Some("MergeRequest") {
                return Ok(Some(Vec::new()));
            }
            let mr = root.req("merge_request")?.object()?;
            let change = merge_request(&mr, project)?;
            let at = attrs.opt_time("created_at")?;
            let system = attrs.opt_bool("system")?.unwrap_or(false);
            let mut out = vec![event(
                mr.opt_time("updated_at")?,
                EventBody::Change(change.clone()),
            )];
            if !system {
                out.push(event(
                    at,
                    EventBody::Review(Review {
                        id: attrs.req_id("id")?,
                        change_id: change.id.clone(),
                        change_author: change.author.clone(),
                        reviewer: root.opt("user").map(|u| user(&u)).transpose()?,
                        state: ReviewState::Commented,
                        submitted_at: at,
                        commit: attrs.opt_str("commit_id")?,
                    }),
                ));
            }
            out
        }
        "pipeline" => {
            let attrs = root.req("object_attributes")?.object()?;
            let run = pipeline(&attrs, project.clone())?;
            let run_id = run.id.clone();
            let workflow = run.workflow.clone();
            let at = run.finished_at.or(run.started_at).or(run.queued_at);
            let mut out = vec![event(at, EventBody::CiRun(run))];
            for b in root.arr("builds")? {
                let status = b.opt_str("status")?.unwrap_or_default();
                let (status, conclusion) = ci_state(&status);
                let job = CiJob {
                    id: b.req_id("id")?,
                    run_id: Some(run_id.clone()),
                    repository: project.clone(),
                    workflow: workflow.clone(),
                    name: b.req_str("name")?,
                    stage: b.opt_str("stage")?,
                    sha: attrs.opt_str("sha")?,
                    status,
                    conclusion,
                    queued_at: b.opt_time("created_at")?,
                    started_at: b.opt_time("started_at")?,
                    finished_at: b.opt_time("finished_at")?,
                };
                let at = job.finished_at.or(job.started_at).or(job.queued_at);
                out.push(event(at, EventBody::CiJob(job)));
            }
            out
        }
        "build" => {
            let status = root.opt_str("build_status")?.unwrap_or_default();
            let (status, conclusion) = ci_state(&status);
            let job = CiJob {
                id: root.req_id("build_id")?,
                run_id: root.opt_id("pipeline_id")?,
                repository: project.or(root.opt_str("project_name")?),
                workflow: None,
                name: root.req_str("build_name")?,
                stage: root.opt_str("build_stage")?,
                sha: root.opt_str("sha")?,
                status,
                conclusion,
                queued_at: root.opt_time("build_created_at")?,
                started_at: root.opt_time("build_started_at")?,
                finished_at: root.opt_time("build_finished_at")?,
            };
            let at = job.finished_at.or(job.started_at).or(job.queued_at);
            vec![event(at, EventBody::CiJob(job))]
        }
        "deployment" => {
            let status = deployment_status(&root.req_str("status")?);
            let at = root.opt_time("status_changed_at")?;
            let sha = match root.opt_str("commit_url")? {
                Some(url) => url.rsplit('/').next().map(str::to_owned),
                None => None,
            }
            .or(root.opt_str("short_sha")?);
            let tier = root.opt_str("environment_tier")?;
            let terminal = matches!(
                status,
                DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Canceled
            );
            vec![event(
                at,
                EventBody::Deployment(Deployment {
                    id: root.req_id("deployment_id")?,
                    repository: project,
                    service: None,
                    environment: root.opt_text("environment")?,
                    production: tier.map(|t| t == "production"),
                    sha,
                    git_ref: root.opt_str("ref")?,
                    started_at: if status == DeploymentStatus::InProgress {
                        at
                    } else {
                        None
                    },
                    finished_at: if terminal { at } else { None },
                    status: Some(status),
                    created_at: None,
                    status_id: None,
                    commits: Vec::new(),
                    changes: Vec::new(),
                }),
            )]
        }
        "release" => {
            let mut r = release(root, "tag", project)?;
            r.action = root.opt_str("action")?;
            vec![event(
                r.published_at.or(r.created_at),
                EventBody::Release(r),
            )]
        }
        "issue" | "work_item" => {
            let attrs = root.req("object_attributes")?.object()?;
            let mut i = issue(&attrs, project)?;
            i.action = attrs.opt_str("action")?;
            if i.labels.is_empty() {
                i.labels = root.names("labels", "title")?;
            }
            vec![event(attrs.opt_time("updated_at")?, EventBody::Issue(i))]
        }
        _ => return Ok(None),
    };
    Ok(Some(events))
}

fn merge_request(mr: &J<'_>, project: Option<String>) -> Result<Change, IngestError> {
    let iid = mr.opt_u64("iid")?;
    let repository = project.or_else(|| {
        mr.opt("target")
            .and_then(|t| t.opt_str("path_with_namespace").ok().flatten())
    });
    let id = match (&repository, iid) {
        (Some(r), Some(n)) => format!("{r}!{n}"),
        _ => mr.req_id("id")?,
    };
    let state = match mr.opt_str("state")?.as_deref() {
        Some("merged") => ChangeState::Merged,
        Some("closed") => ChangeState::Closed,
        _ => ChangeState::Open,
    };
    let last = mr.opt("last_commit");
    let mut commits = Vec::new();
    if let Some(c) = &last {
        commits.push(ChangeCommit {
            sha: c.req_str("id")?,
            authored_at: c.opt_time("timestamp")?,
            committed_at: None,
            author: c.get("author").opt_str("name")?,
        });
    }
    let author = match mr.opt("author") {
        // API exports have the author object.
        Some(a) if a.is_object() => Some(user(&a)?),
        _ => mr.opt_id("author_id")?.map(|id| Actor {
            login: None,
            id: Some(id),
            bot: false,
        }),
    };
    let mut reviewers = Vec::new();
    for r in mr.arr("reviewers")? {
        if r.is_object() {
            reviewers.push(user(&r)?);
        }
    }
    for id in mr.arr("reviewer_ids")? {
        reviewers.push(Actor {
            login: None,
            id: Some(id.id()?),
            bot: false,
        });
    }
    let draft = match mr.opt_bool("draft")? {
        Some(d) => Some(d),
        None => mr.opt_bool("work_in_progress")?,
    };
    let labels = match mr.opt("labels") {
        Some(l) => match l.v {
            Value::Array(_) => mr.names("labels", "title")?,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(Change {
        id,
        repository,
        number: iid,
        title: mr.opt_str("title")?,
        author,
        state,
        draft,
        opened_at: mr.opt_time("created_at")?,
        ready_at: None,
        first_review_at: None,
        merged_at: mr.opt_time("merged_at")?,
        closed_at: mr.opt_time("closed_at")?,
        merge_sha: mr
            .opt_str("merge_commit_sha")?
            .or(mr.opt_str("squash_commit_sha")?),
        head_sha: match &last {
            Some(c) => c.opt_str("id")?,
            None => mr.opt_str("sha")?,
        },
        base_ref: mr.opt_str("target_branch")?,
        head_ref: mr.opt_str("source_branch")?,
        commits,
        reviewers,
        labels,
    })
}

/// GitLab's job and pipeline statuses as progress and conclusion.
fn ci_state(s: &str) -> (CiStatus, Option<CiConclusion>) {
    match s {
        "running" => (CiStatus::InProgress, None),
        "success" => (CiStatus::Completed, Some(CiConclusion::Success)),
        "failed" => (CiStatus::Completed, Some(CiConclusion::Failure)),
        "canceled" | "cancelled" => (CiStatus::Completed, Some(CiConclusion::Canceled)),
        "skipped" => (CiStatus::Completed, Some(CiConclusion::Skipped)),
        "manual" => (
            CiStatus::Completed,
            Some(CiConclusion::Other("manual".into())),
        ),
        _ => (CiStatus::Queued, None),
    }
}

fn pipeline(attrs: &J<'_>, project: Option<String>) -> Result<CiRun, IngestError> {
    let (status, conclusion) = ci_state(&attrs.opt_str("status")?.unwrap_or_default());
    let repository = project.or_else(|| {
        attrs
            .opt("project")
            .and_then(|p| p.opt_str("path_with_namespace").ok().flatten())
    });
    Ok(CiRun {
        id: attrs.req_id("id")?,
        workflow: attrs.opt_text("name")?.or(repository.clone()),
        repository,
        sha: attrs.opt_str("sha")?,
        branch: attrs.opt_str("ref")?,
        status,
        conclusion,
        attempt: None,
        queued_at: attrs.opt_time("created_at")?,
        started_at: attrs.opt_time("started_at")?,
        finished_at: attrs.opt_time("finished_at")?,
    })
}

fn deployment_status(s: &str) -> DeploymentStatus {
    match s {
        "created" | "blocked" => DeploymentStatus::Pending,
        "running" => DeploymentStatus::InProgress,
        "success" => DeploymentStatus::Success,
        "failed" => DeploymentStatus::Failure,
        "canceled" | "cancelled" => DeploymentStatus::Canceled,
        other => DeploymentStatus::Other(other.to_owned()),
    }
}

fn issue(attrs: &J<'_>, project: Option<String>) -> Result<Issue, IngestError> {
    let iid = attrs.req_id("iid")?;
    let state = attrs.opt_str("state")?;
    let issue_type = match attrs.opt_str("type")? {
        Some(t) => Some(t),
        None => attrs.opt_str("issue_type")?,
    };
    let author = match attrs.opt("author") {
        Some(a) if a.is_object() => a.opt_str("username")?,
        _ => attrs.opt_id("author_id")?,
    };
    let labels = match attrs.opt("labels") {
        Some(l) => match l.v {
            Value::Array(_) => attrs.names("labels", "title")?,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(Issue {
        id: match &project {
            Some(p) => format!("{p}#{iid}"),
            None => format!("#{iid}"),
        },
        project,
        issue_type,
        title: attrs.opt_str("title")?,
        description: attrs.opt_str("description")?,
        labels,
        status_category: state
            .as_deref()
            .map(|s| if s == "opened" { "open" } else { s }.to_owned()),
        status: state,
        action: None,
        author,
        created_at: attrs.opt_time("created_at")?,
        closed_at: attrs.opt_time("closed_at")?,
    })
}

fn export(values: &[Value]) -> Result<Vec<Event>, IngestError> {
    let mut elements = Vec::new();
    for (p, v) in values.iter().enumerate() {
        let root = J {
            v,
            path: if values.len() > 1 {
                format!("[page {p}]")
            } else {
                String::new()
            },
        };
        elements.extend(root.elements()?);
    }
    let mut out = Vec::new();
    for e in elements {
        let e = e.object()?;
        let project = e
            .opt("references")
            .and_then(|r| r.opt_str("full").ok().flatten())
            .and_then(|full| full.rsplit_once(['!', '#']).map(|(p, _)| p.to_owned()));
        if e.has("iid") && e.has("source_branch") {
            let mut change = merge_request(&e, project.or(web_project(&e)?))?;
            let commits = e.arr("commits")?;
            if !commits.is_empty() {
                change.commits = commits
                    .into_iter()
                    .map(api_commit)
                    .collect::<Result<_, _>>()?;
            }
            let reviews = notes_as_reviews(&e, &change)?;
            out.push(event(e.opt_time("updated_at")?, EventBody::Change(change)));
            out.extend(reviews);
        } else if e.has("tag_name") && e.has("released_at") {
            let r = release(&e, "tag_name", links_project(&e)?)?;
            out.push(event(
                r.published_at.or(r.created_at),
                EventBody::Release(r),
            ));
        } else if e.has("iid") && (e.has("issue_type") || e.has("type")) {
            let i = issue(&e, project.or(web_project(&e)?))?;
            out.push(event(e.opt_time("updated_at")?, EventBody::Issue(i)));
        } else if e.has("deployable") || (e.has("environment") && e.has("sha") && e.has("iid")) {
            let status = deployment_status(&e.opt_str("status")?.unwrap_or_default());
            let at = e.opt_time("updated_at")?;
            let (environment, tier) = match e.opt("environment") {
                Some(env) if env.is_object() => (env.opt_str("name")?, env.opt_str("tier")?),
                Some(env) => (Some(env.string()?), None),
                None => (None, None),
            };
            let terminal = matches!(
                status,
                DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Canceled
            );
            let deployable = e.opt("deployable");
            let started_at = match &deployable {
                Some(d) => d.opt_time("started_at")?,
                None => None,
            };
            let finished_at = match &deployable {
                Some(d) => d.opt_time("finished_at")?,
                None => None,
            };
            out.push(event(
                at,
                EventBody::Deployment(Deployment {
                    id: e.req_id("id")?,
                    repository: deployment_project(&e)?,
                    service: None,
                    environment,
                    production: tier.map(|t| t == "production"),
                    sha: e.opt_str("sha")?,
                    git_ref: e.opt_str("ref")?,
                    status: Some(status),
                    created_at: e.opt_time("created_at")?,
                    started_at,
                    finished_at: finished_at.or(if terminal { at } else { None }),
                    status_id: None,
                    commits: Vec::new(),
                    changes: Vec::new(),
                }),
            ));
        } else if e.has("sha") && e.has("status") && e.has("ref") {
            let project = web_project(&e)?;
            let run = pipeline(&e, project.clone())?;
            let jobs = api_jobs(&e, &run, project)?;
            out.push(event(e.opt_time("updated_at")?, EventBody::CiRun(run)));
            out.extend(jobs);
        } else {
            return Err(e.err("is not a merge request, issue, deployment or pipeline"));
        }
    }
    Ok(out)
}

/// A commit as the merge request commits endpoint lists it.
fn api_commit(c: J<'_>) -> Result<ChangeCommit, IngestError> {
    let c = c.object()?;
    Ok(ChangeCommit {
        sha: c.req_str("id")?,
        authored_at: c.opt_time("authored_date")?,
        committed_at: c.opt_time("committed_date")?,
        author: c.opt_str("author_name")?,
    })
}

/// A merge request's `notes` as reviews: a comment comments, the system
/// note "approved this merge request" approves; other system notes
/// (assignments, pushes) are not reviews.
fn notes_as_reviews(mr: &J<'_>, change: &Change) -> Result<Vec<Event>, IngestError> {
    let mut out = Vec::new();
    for n in mr.arr("notes")? {
        let n = n.object()?;
        let system = n.opt_bool("system")?.unwrap_or(false);
        let body = n.opt_str("body")?.unwrap_or_default().to_ascii_lowercase();
        let state = match (system, body.starts_with("approved this merge request")) {
            (false, _) => ReviewState::Commented,
            (true, true) => ReviewState::Approved,
            (true, false) => continue,
        };
        let at = n.opt_time("created_at")?;
        let note_id = n.req_id("id")?;
        let reviewer = n.opt("author").map(|u| user(&u)).transpose()?;
        out.push(event(
            at,
            EventBody::Review(Review {
                id: match state {
                    ReviewState::Approved => approval_id(reviewer.as_ref(), &note_id),
                    _ => note_id,
                },
                change_id: change.id.clone(),
                change_author: change.author.clone(),
                reviewer,
                state,
                submitted_at: at,
                commit: n.opt_str("commit_id")?,
            }),
        ));
    }
    Ok(out)
}

/// An approval's review id, the same whether a webhook (`action:
/// approved`) or a synced system note ("approved this merge request")
/// reports it: `approval:USERNAME` (lower case), one approval per user and
/// merge request. The time cannot be part of it: the hook carries no
/// approval time, only the merge request's `updated_at`. Without a
/// username, the user id; without a user, `fallback` (the note id).
fn approval_id(reviewer: Option<&Actor>, fallback: &str) -> String {
    match reviewer {
        Some(Actor {
            login: Some(login), ..
        }) => format!("approval:{}", login.to_lowercase()),
        Some(Actor { id: Some(id), .. }) => format!("approval:id:{id}"),
        _ => format!("approval:{fallback}"),
    }
}

/// A pipeline's `jobs` (the pipeline jobs endpoint's list) as CI jobs.
fn api_jobs(p: &J<'_>, run: &CiRun, project: Option<String>) -> Result<Vec<Event>, IngestError> {
    let mut out = Vec::new();
    for b in p.arr("jobs")? {
        let b = b.object()?;
        let (status, conclusion) = ci_state(&b.opt_str("status")?.unwrap_or_default());
        let job = CiJob {
            id: b.req_id("id")?,
            run_id: Some(run.id.clone()),
            repository: project.clone(),
            workflow: run.workflow.clone(),
            name: b.req_str("name")?,
            stage: b.opt_str("stage")?,
            sha: run.sha.clone(),
            status,
            conclusion,
            queued_at: b.opt_time("created_at")?,
            started_at: b.opt_time("started_at")?,
            finished_at: b.opt_time("finished_at")?,
        };
        let at = job.finished_at.or(job.started_at).or(job.queued_at);
        out.push(event(at, EventBody::CiJob(job)));
    }
    Ok(out)
}

/// A listed deployment's project: it has no `web_url`, but its job's
/// pipeline does (`https://HOST/GROUP/NAME/-/pipelines/ID`, or without the
/// `/-` on GitLab before 12).
fn deployment_project(e: &J<'_>) -> Result<Option<String>, IngestError> {
    let url = match e.opt("deployable") {
        Some(d) if d.is_object() => match d.opt("pipeline") {
            Some(p) if p.is_object() => p.opt_str("web_url")?,
            _ => None,
        },
        _ => None,
    };
    Ok(url.and_then(|url| {
        let (before, _) = url.rsplit_once("/pipelines/")?;
        let before = before.strip_suffix("/-").unwrap_or(before);
        let path = before.splitn(4, '/').nth(3)?;
        (!path.is_empty()).then(|| path.to_owned())
    }))
}

/// The project path from an API object's `web_url`
/// (`https://gitlab.com/group/project/-/...`).
/// A release as the release hook (`tag`, the project beside it) and the
/// releases API (`tag_name`) give it. GitLab names a release by its tag, so
/// its id is `project@tag` (the tag alone without a project).
fn release(r: &J<'_>, tag_key: &str, project: Option<String>) -> Result<Release, IngestError> {
    let tag = r.req_str(tag_key)?;
    let target = match r.opt("commit") {
        Some(c) => c.opt_str("id")?,
        None => None,
    };
    Ok(Release {
        id: project
            .as_ref()
            .map_or_else(|| tag.clone(), |p| format!("{p}@{tag}")),
        repository: project,
        tag,
        name: r.opt_text("name")?,
        target,
        draft: false,
        prerelease: r.opt_bool("upcoming_release")?.unwrap_or(false),
        published_at: r.opt_time("released_at")?,
        created_at: r.opt_time("created_at")?,
        action: None,
    })
}

/// The project of a releases API element, from its `_links.self`
/// (`https://host/group/name/-/releases/v1`).
fn links_project(e: &J<'_>) -> Result<Option<String>, IngestError> {
    match e.opt("_links") {
        Some(links) => Ok(links
            .opt_str("self")?
            .as_deref()
            .and_then(project_of_web_url)),
        None => Ok(None),
    }
}

/// `group/name` of a web URL `https://host/group/name/-/...`.
fn project_of_web_url(url: &str) -> Option<String> {
    let (before, _) = url.split_once("/-/")?;
    let path = before.splitn(4, '/').nth(3)?;
    Some(path.to_owned())
}

fn web_project(e: &J<'_>) -> Result<Option<String>, IngestError> {
    Ok(e.opt_str("web_url")?
        .as_deref()
        .and_then(project_of_web_url))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The kinds of the events an export of one element gives, with the
    /// reviews' states.
    fn check(element: Value, expected: &[&str]) {
        let events = export(&[json!([element])]).unwrap();
        let kinds: Vec<String> = events
            .iter()
            .map(|e| match &e.body {
                EventBody::Review(r) => format!("review {:?}", r.state),
                EventBody::Change(c) => format!("change {} commits", c.commits.len()),
                other => other_kind(other),
            })
            .collect();
        assert_eq!(kinds, expected, "{element}");
    }

    fn other_kind(body: &EventBody) -> String {
        match body {
            EventBody::CiRun(_) => "ci.run".to_owned(),
            EventBody::CiJob(j) => format!("ci.job {}", j.name),
            EventBody::Release(r) => format!("release {} of {}", r.id, o(&r.repository)),
            _ => "other".to_owned(),
        }
    }

    fn o(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("-")
    }

    #[test]
    fn a_release_hook_is_a_release_of_its_project() {
        let hook = json!({
            "object_kind": "release", "id": 1, "action": "create", "tag": "v1.0",
            "name": "v1.0", "created_at": "2025-03-01 10:00:00 UTC",
            "released_at": "2025-03-01 10:00:00 UTC",
            "project": {"path_with_namespace": "g/app"},
            "commit": {"id": "ee0f1a3c4e6f5c2f1d3b1e5a0c8b7a6f5e4d3c2b"}
        });
        let converted = convert(&[hook]).unwrap();
        assert_eq!(converted.event_type, "gitlab:release");
        let events = converted.events.unwrap();
        let EventBody::Release(r) = &events[0].body else {
            panic!("not a release: {events:?}");
        };
        assert_eq!(r.id, "g/app@v1.0");
        assert_eq!(r.repository.as_deref(), Some("g/app"));
        assert_eq!(
            r.target.as_deref(),
            Some("ee0f1a3c4e6f5c2f1d3b1e5a0c8b7a6f5e4d3c2b")
        );
        assert_eq!(r.action.as_deref(), Some("create"));
        assert_eq!(events[0].at, r.published_at);
        assert!(r.published_at.is_some());
    }

    /// The id of the one review an approval gives.
    fn approval_review_id(events: &[Event]) -> String {
        let ids: Vec<String> = events
            .iter()
            .filter(|e| matches!(&e.body, EventBody::Review(r) if r.state == ReviewState::Approved))
            .map(Event::entity_id)
            .collect();
        assert_eq!(ids.len(), 1, "{events:?}");
        ids[0].clone()
    }

    /// An approval as a webhook reports it, by `username` at `time`.
    fn approval_hook(username: &str, time: &str) -> Vec<Event> {
        let hook = json!({"object_kind": "merge_request",
            "user": {"id": 2, "name": "R", "username": username},
            "project": {"path_with_namespace": "g/p"},
            "object_attributes": {"id": 101, "iid": 1, "action": "approved", "state": "opened",
                "source_branch": "a", "target_branch": "main", "author_id": 1,
                "created_at": "2025-03-01 00:00:00 UTC", "updated_at": time}});
        webhook("merge_request", &J::root(&hook)).unwrap().unwrap()
    }

    /// An approval as a sync stores it: a system note of the merge request.
    fn approval_note(note_id: u64, username: &str, time: &str) -> Vec<Event> {
        let mr = json!([{"id": 101, "iid": 1, "state": "opened", "source_branch": "a",
            "target_branch": "main", "created_at": "2025-03-01T00:00:00Z",
            "web_url": "https://gitlab.example.com/g/p/-/merge_requests/1",
            "notes": [{"id": note_id, "body": "approved this merge request", "system": true,
                "created_at": time, "author": {"id": 2, "username": username}}]}]);
        export(&[mr]).unwrap()
    }

    #[test]
    fn an_approval_has_one_id_whoever_reports_it() {
        let check = |hook: Vec<Event>, note: Vec<Event>, same: bool| {
            let (h, n) = (approval_review_id(&hook), approval_review_id(&note));
            assert_eq!(h == n, same, "{h} and {n}");
        };
        let (hook_time, note_time) = ("2025-03-01 10:00:00 UTC", "2025-03-01T10:00:00.123Z");
        check(
            approval_hook("rev", hook_time),
            approval_note(12, "rev", note_time),
            true,
        );
        // The hook's time is the merge request's update: it may differ.
        check(
            approval_hook("rev", "2025-03-01 10:00:05 UTC"),
            approval_note(12, "rev", note_time),
            true,
        );
        check(
            approval_hook("Rev", hook_time),
            approval_note(13, "rev", note_time),
            true,
        );
        check(
            approval_hook("other", hook_time),
            approval_note(12, "rev", note_time),
            false,
        );
        assert_eq!(
            approval_review_id(&approval_hook("rev", hook_time)),
            "g/p!1/review/approval:rev"
        );
    }

    /// The one issue event of `events`: its id, type in lower case, state
    /// and times.
    fn issue_of(events: &[Event]) -> (String, Option<String>, Option<String>, String) {
        assert_eq!(events.len(), 1, "{events:?}");
        match &events[0].body {
            EventBody::Issue(i) => (
                i.id.clone(),
                i.issue_type.as_deref().map(str::to_lowercase),
                i.status_category.clone(),
                format!("{:?} {:?}", i.created_at, i.closed_at),
            ),
            other => panic!("not an issue: {other:?}"),
        }
    }

    #[test]
    fn an_incident_has_one_id_whoever_reports_it() {
        let (created, closed) = ("2026-05-28T06:09:06.964Z", "2026-05-28T06:11:46.057Z");
        let hook = json!({"object_kind": "issue", "project": {"path_with_namespace": "g/sub/p"},
            "object_attributes": {"id": 191205280, "iid": 6, "type": "Incident", "state": "closed",
                "created_at": created, "closed_at": closed, "updated_at": closed, "labels": [],
                "action": "close"},
            "labels": []});
        let hook = webhook("issue", &J::root(&hook)).unwrap().unwrap();
        // As `GET /projects/:id/issues` lists it (what `sync gitlab` stores).
        let listed = json!({"id": 191205280, "iid": 6, "issue_type": "incident", "type": "INCIDENT",
            "state": "closed", "created_at": created, "closed_at": closed, "updated_at": closed,
            "labels": ["sev1"], "references": {"short": "#6", "relative": "#6", "full": "g/sub/p#6"},
            "web_url": "https://gitlab.example.com/g/sub/p/-/issues/6"});
        let synced = export(&[json!([listed.clone()])]).unwrap();
        assert_eq!(issue_of(&hook), issue_of(&synced));
        assert_eq!(issue_of(&synced).0, "g/sub/p#6");
        assert_eq!(issue_of(&synced).1.as_deref(), Some("incident"));
        // Without `references` (GitLab before 12.6), the project of `web_url`.
        let mut old = listed;
        old.as_object_mut().unwrap().remove("references");
        old.as_object_mut().unwrap().remove("type");
        assert_eq!(issue_of(&export(&[json!([old])]).unwrap()), issue_of(&hook));
    }

    #[test]
    fn what_a_sync_attaches_is_read() {
        let mr = json!({"id": 1, "iid": 1, "state": "merged", "source_branch": "a", "target_branch": "main",
            "created_at": "2025-03-01T00:00:00Z", "updated_at": "2025-03-02T00:00:00Z",
            "web_url": "https://gitlab.example.com/g/p/-/merge_requests/1"});
        check(mr.clone(), &["change 0 commits"]);
        let mut full = mr.clone();
        full["commits"] = json!([
            {"id": "ab", "authored_date": "2025-02-28T00:00:00Z", "committed_date": "2025-02-28T01:00:00Z", "author_name": "A"},
            {"id": "cd", "authored_date": "2025-02-28T02:00:00Z", "committed_date": "2025-02-28T03:00:00Z", "author_name": "A"}
        ]);
        full["notes"] = json!([
            {"id": 10, "body": "looks fine", "system": false, "created_at": "2025-03-01T10:00:00Z", "author": {"id": 2, "username": "r"}},
            {"id": 11, "body": "assigned to @r", "system": true, "created_at": "2025-03-01T10:30:00Z", "author": {"id": 2, "username": "r"}},
            {"id": 12, "body": "approved this merge request", "system": true, "created_at": "2025-03-01T11:00:00Z", "author": {"id": 2, "username": "r"}}
        ]);
        check(
            full,
            &["change 2 commits", "review Commented", "review Approved"],
        );
        let pipeline = json!({"id": 7, "sha": "ab", "ref": "main", "status": "success",
            "web_url": "https://gitlab.example.com/g/p/-/pipelines/7",
            "jobs": [{"id": 70, "name": "test", "stage": "test", "status": "success"}]});
        check(pipeline, &["ci.run", "ci.job test"]);
        let project_of = |url: &str| {
            let d = json!({"deployable": {"pipeline": {"web_url": url}}});
            deployment_project(&J::root(&d)).unwrap()
        };
        assert_eq!(
            project_of("https://gitlab.example.com/g/sub/p/-/pipelines/12").as_deref(),
            Some("g/sub/p")
        );
        assert_eq!(
            project_of("http://gitlab.dev/root/project/pipelines/12").as_deref(),
            Some("root/project")
        );
        assert_eq!(project_of("https://gitlab.example.com/pipelines/12"), None);
        assert_eq!(project_of("nonsense"), None);
        check(
            json!({"tag_name": "v1", "released_at": "2025-03-01T00:00:00Z", "created_at": "2025-03-01T00:00:00Z"}),
            &["release v1 of -"],
        );
        check(
            json!({"tag_name": "v1", "released_at": "2025-03-01T00:00:00Z", "_links": {"self": "https://gitlab.example.com/g/app/-/releases/v1"}}),
            &["release g/app@v1 of g/app"],
        );
        assert!(
            export(&[json!([{"id": 1, "iid": 1, "source_branch": "a", "notes": [{"body": "x"}]}])])
                .is_err()
        );
    }
}
