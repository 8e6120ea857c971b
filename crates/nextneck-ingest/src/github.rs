//! GitHub: webhook payloads (`X-GitHub-Event` names the type; a saved
//! payload without it is recognised by its shape) and REST API exports
//! (`gh api --paginate`): pulls (optionally with `commits` and `reviews`
//! arrays added), reviews, deployments (optionally with `statuses`),
//! workflow runs (optionally with `jobs`),
//! deployment statuses, workflow runs, releases (webhook `release` and
//! the releases API) and issues.

use nextneck_model::Timestamp;
use nextneck_model::events::{
    Actor, Change, ChangeCommit, ChangeState, CiConclusion, CiJob, CiRun, CiStatus, Deployment,
    DeploymentStatus, Event, EventBody, Issue, Push, Release, Review, ReviewState,
};
use serde_json::Value;

use crate::json::J;
use crate::{Converted, IngestError, header};

const SOURCE: &str = "github";

fn event(at: Option<Timestamp>, body: EventBody) -> Event {
    Event {
        source: SOURCE.to_owned(),
        at,
        body,
    }
}

pub(crate) fn convert(
    headers: &[(String, String)],
    values: &[Value],
) -> Result<Converted, IngestError> {
    let first = J::root(&values[0]);
    let is_export = values.len() > 1
        || values[0].is_array()
        || first.has("workflow_runs")
        || (first.has("total_count") && first.has("items"));
    if is_export {
        return Ok(Converted {
            event_type: "github:export".to_owned(),
            events: Some(export(values)?),
        });
    }
    let root = first.object()?;
    let event_type = match header(headers, "x-github-event") {
        Some(t) => t.trim().to_owned(),
        None => infer_event_type(&root).ok_or_else(|| {
            IngestError::Unrecognized(
                "not a GitHub webhook payload nor an API export this version reads (pulls, reviews, deployments, deployment statuses, workflow runs, issues)".to_owned(),
            )
        })?,
    };
    let events = webhook(&event_type, &root)?;
    Ok(Converted {
        event_type: format!("github:{event_type}"),
        events,
    })
}

/// The event type of a saved webhook payload, from its shape.
fn infer_event_type(root: &J<'_>) -> Option<String> {
    let t = if root.has("zen") && root.has("hook_id") {
        "ping"
    } else if root.has("deployment_status") {
        "deployment_status"
    } else if root.has("deployment") {
        "deployment"
    } else if root.has("review") && root.has("pull_request") {
        "pull_request_review"
    } else if root.has("pull_request") {
        "pull_request"
    } else if root.has("workflow_run") {
        "workflow_run"
    } else if root.has("workflow_job") {
        "workflow_job"
    } else if root.has("check_run") {
        "check_run"
    } else if root.has("check_suite") {
        "check_suite"
    } else if root.has("issue") && root.has("comment") {
        "issue_comment"
    } else if root.has("issue") {
        "issues"
    } else if root.has("release") {
        "release"
    } else if root.has("commits") && root.has("ref") && root.has("before") {
        "push"
    } else {
        return None;
    };
    Some(t.to_owned())
}

fn webhook(event_type: &str, root: &J<'_>) -> Result<Option<Vec<Event>>, IngestError> {
    let repo = root
        .opt("repository")
        .map(|r| r.opt_str("full_name"))
        .transpose()?
        .flatten();
    let events = match event_type {
        "ping" => Vec::new(),
        "push" => vec![push(root, repo)?],
        "pull_request" => {
            let pr = root.req("pull_request")?.object()?;
            let mut change = pull(&pr, repo.clone())?;
            let action = root.opt_str("action")?;
            let at = pr.opt_time("updated_at")?;
            if action.as_deref() == Some("ready_for_review") {
                change.ready_at = at;
            }
            vec![event(at, EventBody::Change(change))]
        }
        "pull_request_review" => {
            let pr = root.req("pull_request")?.object()?;
            let change = pull(&pr, repo.clone())?;
            let r = review(&root.req("review")?.object()?, &change)?;
            let at_change = pr.opt_time("updated_at")?;
            vec![
                event(at_change, EventBody::Change(change)),
                event(r.submitted_at, EventBody::Review(r)),
            ]
        }
        "deployment" => {
            let d = deployment(&root.req("deployment")?.object()?, repo, None)?;
            vec![event(d.created_at, EventBody::Deployment(d))]
        }
        "deployment_status" => {
            let status = root.req("deployment_status")?.object()?;
            let d = deployment(&root.req("deployment")?.object()?, repo, Some(&status))?;
            let at = status.opt_time("created_at")?;
            vec![event(at, EventBody::Deployment(d))]
        }
        "workflow_run" => {
            let run = root.req("workflow_run")?.object()?;
            let workflow = match root.opt("workflow") {
                Some(w) => w.opt_text("name")?,
                None => None,
            };
            let r = workflow_run(&run, repo, workflow)?;
            let at = run.opt_time("updated_at")?;
            vec![event(at, EventBody::CiRun(r))]
        }
        "workflow_job" => {
            let j = workflow_job(&root.req("workflow_job")?.object()?, repo)?;
            let at = j.finished_at.or(j.started_at).or(j.queued_at);
            vec![event(at, EventBody::CiJob(j))]
        }
        "check_run" => {
            let j = check_run(&root.req("check_run")?.object()?, repo)?;
            let at = j.finished_at.or(j.started_at).or(j.queued_at);
            vec![event(at, EventBody::CiJob(j))]
        }
        "release" => {
            let mut r = release(&root.req("release")?.object()?, repo)?;
            r.action = root.opt_str("action")?;
            vec![event(
                r.published_at.or(r.created_at),
                EventBody::Release(r),
            )]
        }
        "issues" => {
            let i = root.req("issue")?.object()?;
            let mut issue = issue(&i, repo)?;
            issue.action = root.opt_str("action")?;
            let at = i.opt_time("updated_at")?;
            vec![event(at, EventBody::Issue(issue))]
        }
        _ => return Ok(None),
    };
    Ok(Some(events))
}

fn actor(j: &J<'_>) -> Result<Actor, IngestError> {
    Ok(Actor {
        login: j.opt_str("login")?,
        id: j.opt_id("id")?,
        bot: j.opt_str("type")?.as_deref() == Some("Bot"),
    })
}

fn opt_actor(j: &J<'_>, key: &str) -> Result<Option<Actor>, IngestError> {
    j.opt(key).map(|a| actor(&a.object()?)).transpose()
}

/// `owner/name` from an API URL (`https://api.github.com/repos/o/r/...`).
fn repo_from_url(url: &str) -> Option<String> {
    let rest = url.split("/repos/").nth(1)?;
    let mut parts = rest.split('/');
    let owner = parts.next()?;
    let name = parts.next()?;
    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
}

fn push(root: &J<'_>, repo: Option<String>) -> Result<Event, IngestError> {
    let repository = repo.ok_or_else(|| {
        root.get("repository")
            .get("full_name")
            .err("missing; it is required")
    })?;
    let mut commits = Vec::new();
    for c in root.arr("commits")? {
        let author = c.opt("author");
        commits.push(ChangeCommit {
            sha: c.req_str("id")?,
            authored_at: c.opt_time("timestamp")?,
            committed_at: None,
            author: match author {
                Some(a) => a.opt_str("username")?.or(a.opt_str("name")?),
                None => None,
            },
        });
    }
    let at = match root.get("repository").opt("pushed_at") {
        Some(p) => Some(p.time()?),
        None => match root.opt("head_commit") {
            Some(h) => h.opt_time("timestamp")?,
            None => None,
        },
    };
    let pusher = match root.opt("pusher") {
        Some(p) => p.opt_str("name")?,
        None => None,
    };
    Ok(event(
        at,
        EventBody::Push(Push {
            repository,
            git_ref: root.req_str("ref")?,
            before: root.req_str("before")?,
            after: root.req_str("after")?,
            pusher,
            commits,
        }),
    ))
}

fn pull(pr: &J<'_>, repo: Option<String>) -> Result<Change, IngestError> {
    let base = pr.get("base");
    let repository = match base.opt("repo") {
        Some(r) => r.opt_str("full_name")?,
        None => None,
    }
    .or(repo)
    .or_else(|| {
        pr.opt_str("url")
            .ok()
            .flatten()
            .and_then(|u| repo_from_url(&u))
    });
    let number = pr.opt_u64("number")?;
    let id = match (&repository, number) {
        (Some(r), Some(n)) => format!("{r}#{n}"),
        _ => pr.req_id("id")?,
    };
    let merged = pr.opt_bool("merged")?.unwrap_or(false);
    let merged_at = pr.opt_time("merged_at")?;
    let state = if merged || merged_at.is_some() {
        ChangeState::Merged
    } else if pr.opt_str("state")?.as_deref() == Some("closed") {
        ChangeState::Closed
    } else {
        ChangeState::Open
    };
    let mut reviewers = Vec::new();
    for r in pr.arr("requested_reviewers")? {
        reviewers.push(actor(&r)?);
    }
    let mut commits = Vec::new();
    // An export enriched with `gh api .../pulls/N/commits` (see docs/events.md).
    for c in pr.arr("commits").unwrap_or_default() {
        if !c.is_object() {
            continue;
        }
        let commit = c.get("commit");
        commits.push(ChangeCommit {
            sha: c.req_str("sha")?,
            authored_at: commit.get("author").opt_time("date")?,
            committed_at: commit.get("committer").opt_time("date")?,
            author: match c.opt("author") {
                Some(a) => a.opt_str("login")?,
                None => commit.get("author").opt_str("name")?,
            },
        });
    }
    Ok(Change {
        id,
        repository,
        number,
        title: pr.opt_str("title")?,
        author: opt_actor(pr, "user")?,
        state: state.clone(),
        draft: pr.opt_bool("draft")?,
        opened_at: pr.opt_time("created_at")?,
        ready_at: None,
        first_review_at: None,
        merged_at,
        closed_at: pr.opt_time("closed_at")?,
        merge_sha: if state == ChangeState::Merged {
            pr.opt_str("merge_commit_sha")?
        } else {
            None
        },
        head_sha: pr.get("head").opt_str("sha")?,
        base_ref: base.opt_str("ref")?,
        head_ref: pr.get("head").opt_str("ref")?,
        commits,
        reviewers,
        labels: pr.names("labels", "name")?,
    })
}

fn review(r: &J<'_>, change: &Change) -> Result<Review, IngestError> {
    Ok(Review {
        id: r.req_id("id")?,
        change_id: change.id.clone(),
        change_author: change.author.clone(),
        reviewer: opt_actor(r, "user")?,
        state: review_state(r.opt_str("state")?.as_deref().unwrap_or("")),
        submitted_at: r.opt_time("submitted_at")?,
        commit: r.opt_str("commit_id")?,
    })
}

fn review_state(s: &str) -> ReviewState {
    match s.to_ascii_lowercase().as_str() {
        "approved" => ReviewState::Approved,
        "changes_requested" => ReviewState::ChangesRequested,
        "commented" => ReviewState::Commented,
        "dismissed" => ReviewState::Dismissed,
        other => ReviewState::Other(other.to_owned()),
    }
}

fn deployment_status(s: &str) -> DeploymentStatus {
    match s {
        "pending" | "queued" | "waiting" => DeploymentStatus::Pending,
        "in_progress" => DeploymentStatus::InProgress,
        "success" => DeploymentStatus::Success,
        "failure" => DeploymentStatus::Failure,
        "error" => DeploymentStatus::Error,
        "inactive" => DeploymentStatus::Inactive,
        "canceled" | "cancelled" => DeploymentStatus::Canceled,
        other => DeploymentStatus::Other(other.to_owned()),
    }
}

fn deployment(
    d: &J<'_>,
    repo: Option<String>,
    status: Option<&J<'_>>,
) -> Result<Deployment, IngestError> {
    let repository = repo.or_else(|| {
        d.opt_str("repository_url")
            .ok()
            .flatten()
            .or_else(|| d.opt_str("url").ok().flatten())
            .and_then(|u| repo_from_url(&u))
    });
    let mut out = Deployment {
        id: d.req_id("id")?,
        repository,
        service: None,
        environment: d.opt_text("environment")?,
        production: d.opt_bool("production_environment")?,
        sha: d.opt_str("sha")?,
        git_ref: d.opt_str("ref")?,
        status: None,
        created_at: d.opt_time("created_at")?,
        started_at: None,
        finished_at: None,
        status_id: None,
        commits: Vec::new(),
        changes: Vec::new(),
    };
    if let Some(s) = status {
        let state = deployment_status(&s.req_str("state")?);
        let at = s.opt_time("created_at")?;
        match state {
            DeploymentStatus::InProgress => out.started_at = at,
            DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Error => {
                out.finished_at = at
            }
            _ => {}
        }
        if let Some(env) = s.opt_text("environment")? {
            out.environment = Some(env);
        }
        out.status = Some(state);
        out.status_id = s.opt_id("id")?;
    }
    Ok(out)
}

fn ci_status(s: &str) -> CiStatus {
    match s {
        "completed" => CiStatus::Completed,
        "in_progress" => CiStatus::InProgress,
        _ => CiStatus::Queued,
    }
}

fn ci_conclusion(s: &str) -> CiConclusion {
    match s {
        "success" => CiConclusion::Success,
        "failure" => CiConclusion::Failure,
        "cancelled" | "canceled" => CiConclusion::Canceled,
        "skipped" => CiConclusion::Skipped,
        "timed_out" => CiConclusion::TimedOut,
        other => CiConclusion::Other(other.to_owned()),
    }
}

/// A release as the webhook and the releases API give it; the repository
/// from the payload, else from the release's API URL.
fn release(r: &J<'_>, repo: Option<String>) -> Result<Release, IngestError> {
    let repository = match repo {
        Some(repo) => Some(repo),
        None => r.opt_str("url")?.as_deref().and_then(repo_from_url),
    };
    Ok(Release {
        id: r.req_id("id")?,
        repository,
        tag: r.req_str("tag_name")?,
        name: r.opt_text("name")?,
        target: r.opt_str("target_commitish")?,
        draft: r.opt_bool("draft")?.unwrap_or(false),
        prerelease: r.opt_bool("prerelease")?.unwrap_or(false),
        published_at: r.opt_time("published_at")?,
        created_at: r.opt_time("created_at")?,
        action: None,
    })
}

fn workflow_run(
    run: &J<'_>,
    repo: Option<String>,
    workflow: Option<String>,
) -> Result<CiRun, IngestError> {
    let status = ci_status(run.opt_str("status")?.as_deref().unwrap_or(""));
    let repository = match run.opt("repository") {
        Some(r) => r.opt_str("full_name")?,
        None => None,
    }
    .or(repo);
    Ok(CiRun {
        id: run.req_id("id")?,
        repository,
        workflow: workflow.or(run.opt_text("name")?).or(run.opt_text("path")?),
        sha: run.opt_str("head_sha")?,
        branch: run.opt_str("head_branch")?,
        conclusion: run.opt_str("conclusion")?.map(|c| ci_conclusion(&c)),
        attempt: run.opt_u64("run_attempt")?.map(|a| a as u32),
        queued_at: run.opt_time("created_at")?,
        started_at: run.opt_time("run_started_at")?,
        finished_at: if status == CiStatus::Completed {
            run.opt_time("updated_at")?
        } else {
            None
        },
        status,
    })
}

fn workflow_job(j: &J<'_>, repo: Option<String>) -> Result<CiJob, IngestError> {
    Ok(CiJob {
        id: j.req_id("id")?,
        run_id: j.opt_id("run_id")?,
        repository: repo.or_else(|| {
            j.opt_str("run_url")
                .ok()
                .flatten()
                .and_then(|u| repo_from_url(&u))
        }),
        workflow: j.opt_text("workflow_name")?,
        name: j.req_str("name")?,
        stage: None,
        sha: j.opt_str("head_sha")?,
        status: ci_status(j.opt_str("status")?.as_deref().unwrap_or("")),
        conclusion: j.opt_str("conclusion")?.map(|c| ci_conclusion(&c)),
        queued_at: j.opt_time("created_at")?,
        started_at: j.opt_time("started_at")?,
        finished_at: j.opt_time("completed_at")?,
    })
}

fn check_run(j: &J<'_>, repo: Option<String>) -> Result<CiJob, IngestError> {
    let app = match j.opt("app") {
        Some(a) => a.opt_text("name")?,
        None => None,
    };
    Ok(CiJob {
        id: j.req_id("id")?,
        run_id: match j.opt("check_suite") {
            Some(s) => s.opt_id("id")?,
            None => None,
        },
        repository: repo,
        workflow: app,
        name: j.req_str("name")?,
        stage: None,
        sha: j.opt_str("head_sha")?,
        status: ci_status(j.opt_str("status")?.as_deref().unwrap_or("")),
        conclusion: j.opt_str("conclusion")?.map(|c| ci_conclusion(&c)),
        queued_at: None,
        started_at: j.opt_time("started_at")?,
        finished_at: j.opt_time("completed_at")?,
    })
}

fn issue(i: &J<'_>, repo: Option<String>) -> Result<Issue, IngestError> {
    let project = repo.or_else(|| {
        i.opt_str("repository_url")
            .ok()
            .flatten()
            .and_then(|u| repo_from_url(&u))
    });
    let number = i.req_id("number")?;
    let state = i.opt_str("state")?;
    Ok(Issue {
        id: match &project {
            Some(p) => format!("{p}#{number}"),
            None => format!("#{number}"),
        },
        project,
        issue_type: match i.opt("type") {
            Some(t) if t.is_object() => t.opt_str("name")?,
            _ => None,
        },
        title: i.opt_str("title")?,
        description: i.opt_str("body")?,
        labels: i.names("labels", "name")?,
        status_category: state.clone(),
        status: state,
        action: None,
        author: match i.opt("user") {
            Some(u) => u.opt_str("login")?,
            None => None,
        },
        created_at: i.opt_time("created_at")?,
        closed_at: i.opt_time("closed_at")?,
    })
}

/// API exports: each element is classified by its shape.
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
        if let Some(runs) = root.opt("workflow_runs") {
            elements.extend(runs.elements()?);
        } else if let Some(items) = root.opt("items") {
            elements.extend(items.elements()?);
        } else if v.is_array() {
            elements.extend(root.elements()?);
        } else {
            return Err(root.err(
                "is not a page of an API export (an array, or an object with workflow_runs or items)",
            ));
        }
    }
    let mut out = Vec::new();
    for e in elements {
        let e = e.object()?;
        if e.has("head") && e.has("base") && e.has("number") {
            let change = pull(&e, None)?;
            let at = e.opt_time("updated_at")?;
            let reviews = e.arr("reviews").unwrap_or_default();
            let mut review_events = Vec::new();
            for r in reviews {
                let r = review(&r.object()?, &change)?;
                review_events.push(event(r.submitted_at, EventBody::Review(r)));
            }
            out.push(event(at, EventBody::Change(change)));
            out.extend(review_events);
        } else if e.has("pull_request_url") && e.has("submitted_at") {
            let url = e.req_str("pull_request_url")?;
            let number = url.rsplit('/').next().unwrap_or_default().to_owned();
            let change_id = match repo_from_url(&url) {
                Some(r) => format!("{r}#{number}"),
                None => number,
            };
            let stub = Change {
                id: change_id,
                repository: None,
                number: None,
                title: None,
                author: None,
                state: ChangeState::Open,
                draft: None,
                opened_at: None,
                ready_at: None,
                first_review_at: None,
                merged_at: None,
                closed_at: None,
                merge_sha: None,
                head_sha: None,
                base_ref: None,
                head_ref: None,
                commits: Vec::new(),
                reviewers: Vec::new(),
                labels: Vec::new(),
            };
            let r = review(&e, &stub)?;
            out.push(event(r.submitted_at, EventBody::Review(r)));
        } else if e.has("task") && e.has("sha") && e.has("environment") {
            let base = deployment(&e, None, None)?;
            let statuses = e.arr("statuses")?;
            out.push(event(base.created_at, EventBody::Deployment(base)));
            for s in statuses {
                let s = s.object()?;
                let d = deployment(&e, None, Some(&s))?;
                out.push(event(s.opt_time("created_at")?, EventBody::Deployment(d)));
            }
        } else if e.has("deployment_url") && e.has("state") {
            // A status alone: the deployment id and repository from its URL.
            let url = e.req_str("deployment_url")?;
            let state = deployment_status(&e.req_str("state")?);
            let at = e.opt_time("created_at")?;
            let terminal = matches!(
                state,
                DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Error
            );
            out.push(event(
                at,
                EventBody::Deployment(Deployment {
                    id: url.rsplit('/').next().unwrap_or_default().to_owned(),
                    repository: repo_from_url(&url),
                    service: None,
                    environment: e.opt_text("environment")?,
                    production: None,
                    sha: None,
                    git_ref: None,
                    status: Some(state),
                    created_at: None,
                    started_at: None,
                    finished_at: if terminal { at } else { None },
                    status_id: e.opt_id("id")?,
                    commits: Vec::new(),
                    changes: Vec::new(),
                }),
            ));
        } else if e.has("workflow_id") && e.has("head_sha") {
            let r = workflow_run(&e, None, None)?;
            // What `nextneck sync github` attaches: the run's jobs.
            let mut jobs = Vec::new();
            for j in e.arr("jobs")? {
                let j = workflow_job(&j.object()?, r.repository.clone())?;
                jobs.push(event(j.finished_at.or(j.started_at), EventBody::CiJob(j)));
            }
            out.push(event(e.opt_time("updated_at")?, EventBody::CiRun(r)));
            out.extend(jobs);
        } else if e.has("tag_name") && e.has("assets") {
            let r = release(&e, None)?;
            out.push(event(
                r.published_at.or(r.created_at),
                EventBody::Release(r),
            ));
        } else if e.has("number") && e.has("labels") && e.has("state") {
            if e.has("pull_request") {
                // The issues API lists pull requests too; pulls come from
                // the pulls export.
                continue;
            }
            let i = issue(&e, None)?;
            out.push(event(e.opt_time("updated_at")?, EventBody::Issue(i)));
        } else {
            return Err(e.err(
                "is not a pull request, review, deployment, deployment status, workflow run, release or issue",
            ));
        }
    }
    Ok(out)
}
