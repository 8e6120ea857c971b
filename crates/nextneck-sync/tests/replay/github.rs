//! A GitHub repository as the REST API serves it, built at test time from
//! the recorded payloads in ../shared/fixtures/github (read there, never
//! copied): each webhook payload's object (`pull_request`, `review`,
//! `deployment`, `deployment_status`, `workflow_run`, `release`) in the
//! shape the list endpoints document, with ids, times and the repository
//! set per item.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use serde_json::{Value, json};

use super::{Replay, Response};

pub use nextneck_testkit::fixtures;

fn read(rel: &str, key: &str) -> Value {
    let v: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("github").join(rel)).unwrap())
            .unwrap();
    v[key].clone()
}

const API: &str = "https://api.github.com";

/// A pull request as `GET /repos/{repo}/pulls` lists it.
pub fn pull(repo: &str, number: u64, created: &str, updated: &str, merged: Option<&str>) -> Value {
    let mut pr = read(
        "pull_request__merged_private_repository.json",
        "pull_request",
    );
    let o = pr.as_object_mut().unwrap();
    // Fields of the single-pull endpoint only.
    for k in [
        "merged",
        "mergeable",
        "mergeable_state",
        "merged_by",
        "comments",
        "review_comments",
        "commits",
        "additions",
        "deletions",
        "changed_files",
    ] {
        o.remove(k);
    }
    pr["id"] = json!(1000 + number);
    pr["number"] = json!(number);
    pr["url"] = json!(format!("{API}/repos/{repo}/pulls/{number}"));
    pr["base"]["repo"]["full_name"] = json!(repo);
    pr["head"]["sha"] = json!(format!("{number:040x}"));
    pr["created_at"] = json!(created);
    pr["updated_at"] = json!(updated);
    pr["merged_at"] = json!(merged);
    pr["closed_at"] = json!(merged);
    pr["state"] = json!(if merged.is_some() { "closed" } else { "open" });
    pr["merge_commit_sha"] = json!(merged.map(|_| format!("{:040x}", number + 0xabc)));
    pr
}

/// A review as `GET /repos/{repo}/pulls/{n}/reviews` lists it.
pub fn review(repo: &str, number: u64, id: u64, submitted: &str, state: &str) -> Value {
    let mut r = read("pull_request_review__empty_body.json", "review");
    r["id"] = json!(id);
    r["state"] = json!(state);
    r["submitted_at"] = json!(submitted);
    r["pull_request_url"] = json!(format!("{API}/repos/{repo}/pulls/{number}"));
    r
}

/// A commit as `GET /repos/{repo}/pulls/{n}/commits` lists it.
pub fn commit(repo: &str, sha: &str, date: &str) -> Value {
    json!({
        "url": format!("{API}/repos/{repo}/commits/{sha}"),
        "sha": sha,
        "node_id": "C_test",
        "commit": {
            "author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": date},
            "committer": {"name": "Monalisa Octocat", "email": "support@github.com", "date": date},
            "message": "Fix all the bugs",
            "comment_count": 0
        },
        "author": {"login": "octocat", "id": 1, "type": "User"},
        "committer": {"login": "octocat", "id": 1, "type": "User"},
        "parents": []
    })
}

/// A deployment as `GET /repos/{repo}/deployments` lists it.
pub fn deployment(repo: &str, id: u64, created: &str) -> Value {
    let mut d = read("octokit__deployment__payload.json", "deployment");
    d["id"] = json!(id);
    d["created_at"] = json!(created);
    d["updated_at"] = json!(created);
    d["environment"] = json!("production");
    d["production_environment"] = json!(true);
    d["sha"] = json!(format!("{:040x}", id + 0xabc));
    d["url"] = json!(format!("{API}/repos/{repo}/deployments/{id}"));
    d["repository_url"] = json!(format!("{API}/repos/{repo}"));
    d
}

/// A status as `GET /repos/{repo}/deployments/{id}/statuses` lists it.
pub fn status(repo: &str, deployment: u64, id: u64, state: &str, created: &str) -> Value {
    let mut s = read(
        "octokit__deployment_status__payload.json",
        "deployment_status",
    );
    s["id"] = json!(id);
    s["state"] = json!(state);
    s["created_at"] = json!(created);
    s["updated_at"] = json!(created);
    s["environment"] = json!("production");
    s["deployment_url"] = json!(format!("{API}/repos/{repo}/deployments/{deployment}"));
    s["repository_url"] = json!(format!("{API}/repos/{repo}"));
    s
}

/// A run as `GET /repos/{repo}/actions/runs` lists it.
pub fn run(repo: &str, id: u64, created: &str, updated: &str, completed: bool) -> Value {
    let mut r = read(
        "octokit__workflow_run__completed.payload.json",
        "workflow_run",
    );
    r["id"] = json!(id);
    r["created_at"] = json!(created);
    r["run_started_at"] = json!(created);
    r["updated_at"] = json!(updated);
    r["status"] = json!(if completed {
        "completed"
    } else {
        "in_progress"
    });
    r["conclusion"] = if completed {
        json!("success")
    } else {
        Value::Null
    };
    r["repository"]["full_name"] = json!(repo);
    r
}

/// A release as `GET /repos/{repo}/releases` lists it (its `url` names
/// the repository).
pub fn release(repo: &str, id: u64, created: &str) -> Value {
    let mut r = read("release__with_name.json", "release");
    r["id"] = json!(id);
    r["url"] = json!(format!("{API}/repos/{repo}/releases/{id}"));
    r["created_at"] = json!(created);
    r["published_at"] = json!(created);
    r["tag_name"] = json!(format!("v{id}"));
    r
}

/// A job as `GET /repos/{repo}/actions/runs/{id}/jobs` lists it.
pub fn job(repo: &str, run: u64, id: u64, started: &str, completed: &str) -> Value {
    let mut j = read(
        "octokit__workflow_job__completed.success.with-organization.payload.json",
        "workflow_job",
    );
    j["id"] = json!(id);
    j["run_id"] = json!(run);
    j["run_url"] = json!(format!("{API}/repos/{repo}/actions/runs/{run}"));
    j["created_at"] = json!(started);
    j["started_at"] = json!(started);
    j["completed_at"] = json!(completed);
    j
}

/// An issue as `GET /repos/{repo}/issues` lists it.
pub fn issue(repo: &str, number: u64, created: &str, updated: &str) -> Value {
    let mut i = read("issues__opened.json", "issue");
    i["id"] = json!(7000 + number);
    i["number"] = json!(number);
    i["created_at"] = json!(created);
    i["updated_at"] = json!(updated);
    i["repository_url"] = json!(format!("{API}/repos/{repo}"));
    i["url"] = json!(format!("{API}/repos/{repo}/issues/{number}"));
    i
}

/// An issue labelled `incident`, as the list has it: its latest state
/// (`closed_at` the last close, or open with none), updated at `updated`.
pub fn incident(
    repo: &str,
    number: u64,
    created: &str,
    closed: Option<&str>,
    updated: &str,
) -> Value {
    let mut i = issue(repo, number, created, updated);
    i["labels"] = json!([{"id": 900, "name": "incident", "color": "d73a4a", "default": false}]);
    i["state"] = json!(if closed.is_some() { "closed" } else { "open" });
    i["closed_at"] = json!(closed);
    i
}

/// A repository that has only `issues` (newest updated first).
pub fn only_issues(repo: &str, issues: Vec<Value>) -> Repo {
    Repo {
        name: repo.to_owned(),
        pulls: Vec::new(),
        deployments: Vec::new(),
        runs: Vec::new(),
        jobs: Vec::new(),
        releases: Vec::new(),
        issues,
    }
}

/// A small repository's history.
pub struct Repo {
    pub name: String,
    /// Newest updated first, each with its reviews and commits.
    pub pulls: Vec<(Value, Vec<Value>, Vec<Value>)>,
    /// Newest first, each with its statuses (newest first).
    pub deployments: Vec<(Value, Vec<Value>)>,
    /// Newest first.
    pub runs: Vec<Value>,
    /// Each run's jobs, by run.
    pub jobs: Vec<Vec<Value>>,
    /// Newest first.
    pub releases: Vec<Value>,
    /// Newest updated first.
    pub issues: Vec<Value>,
}

/// Five merged pulls (reviewed, with commits), three deployments, three
/// runs and two releases of `repo`, in March 2025.
pub fn sample(repo: &str) -> Repo {
    let mut pulls = Vec::new();
    for n in (1..=5u64).rev() {
        let day = 2 * n;
        let created = format!("2025-03-{day:02}T09:00:00Z");
        let merged = format!("2025-03-{:02}T15:00:00Z", day + 1);
        let pr = pull(repo, n, &created, &merged, Some(&merged));
        let reviews = vec![review(
            repo,
            n,
            500 + n,
            &format!("2025-03-{:02}T11:00:00Z", day + 1),
            "APPROVED",
        )];
        let commits = vec![commit(
            repo,
            &format!("{:040x}", 0xc000 + n),
            &format!("2025-03-{:02}T08:00:00Z", day),
        )];
        pulls.push((pr, reviews, commits));
    }
    let mut deployments = Vec::new();
    for (i, id) in [303u64, 302, 301].into_iter().enumerate() {
        let day = 12 - 4 * i as u64;
        let created = format!("2025-03-{day:02}T10:00:00Z");
        let d = deployment(repo, id, &created);
        let statuses = vec![
            status(
                repo,
                id,
                id * 10 + 1,
                "success",
                &format!("2025-03-{day:02}T10:20:00Z"),
            ),
            status(
                repo,
                id,
                id * 10,
                "in_progress",
                &format!("2025-03-{day:02}T10:05:00Z"),
            ),
        ];
        deployments.push((d, statuses));
    }
    let runs = (0..3u64)
        .map(|i| {
            let day = 12 - i;
            run(
                repo,
                9000 - i,
                &format!("2025-03-{day:02}T12:00:00Z"),
                &format!("2025-03-{day:02}T12:10:00Z"),
                true,
            )
        })
        .collect();
    let jobs = (0..3u64)
        .map(|i| {
            let day = 12 - i;
            vec![job(
                repo,
                9000 - i,
                90000 - i,
                &format!("2025-03-{day:02}T12:01:00Z"),
                &format!("2025-03-{day:02}T12:09:00Z"),
            )]
        })
        .collect();
    let releases = vec![
        release(repo, 71, "2025-03-18T00:00:00Z"),
        release(repo, 70, "2025-03-04T00:00:00Z"),
    ];
    let issues = vec![
        issue(repo, 41, "2025-03-05T09:00:00Z", "2025-03-15T09:00:00Z"),
        issue(repo, 40, "2025-03-01T09:00:00Z", "2025-03-07T09:00:00Z"),
    ];
    Repo {
        name: repo.to_owned(),
        pulls,
        deployments,
        runs,
        jobs,
        releases,
        issues,
    }
}

/// Pages of `per_page` items, each with the `Link` header GitHub sends
/// (`rel="next"` and `rel="last"` on all but the last).
pub fn pages(
    first: &str,
    items: &[Value],
    per_page: usize,
    wrap_runs: bool,
) -> Vec<(String, Response)> {
    let chunks: Vec<&[Value]> = if items.is_empty() {
        vec![&[]]
    } else {
        items.chunks(per_page).collect()
    };
    let target = |i: usize| {
        if i == 0 {
            first.to_owned()
        } else {
            format!("{first}&page={}", i + 1)
        }
    };
    let last = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let body = if wrap_runs {
                json!({"total_count": items.len(), "workflow_runs": chunk})
            } else {
                json!(chunk)
            };
            let mut r = Response::json(200, &body)
                .budget(4999 - i as u64, 1_900_000_000)
                .header("ETag", &format!("W/\"{:x}\"", fxhash(&body.to_string())));
            if i + 1 < last {
                r = r.header(
                    "Link",
                    &format!(
                        "<{{base}}{}>; rel=\"next\", <{{base}}{}>; rel=\"last\"",
                        target(i + 1),
                        target(last - 1)
                    ),
                );
            }
            (target(i), r)
        })
        .collect()
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The list URLs a first sync asks for (no `--since`, no cursor).
pub fn pulls_url(repo: &str) -> String {
    format!("/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page=100")
}
pub fn deployments_url(repo: &str) -> String {
    format!("/repos/{repo}/deployments?per_page=100")
}
pub fn runs_url(repo: &str) -> String {
    format!("/repos/{repo}/actions/runs?per_page=100")
}
pub fn releases_url(repo: &str) -> String {
    format!("/repos/{repo}/releases?per_page=100")
}
pub fn issues_url(repo: &str) -> String {
    format!("/repos/{repo}/issues?state=all&sort=updated&direction=desc&per_page=100")
}
pub fn jobs_url(repo: &str, run: u64) -> String {
    format!("/repos/{repo}/actions/runs/{run}/jobs?per_page=100")
}

/// Pages of a run's jobs (`{"total_count", "jobs"}`).
fn job_pages(first: &str, jobs: &[Value]) -> Vec<(String, Response)> {
    pages(first, jobs, 100, false)
        .into_iter()
        .map(|(t, mut r)| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            r.body = serde_json::to_vec(&json!({"total_count": jobs.len(), "jobs": body})).unwrap();
            (t, r)
        })
        .collect()
}

/// Serves `repo` in pages of `per_page`; later syncs (with their cursors'
/// `created` filter) get the same run pages under their own URLs.
pub fn serve(replay: &Replay, repo: &Repo, per_page: usize) {
    let name = &repo.name;
    let prs: Vec<Value> = repo.pulls.iter().map(|(p, _, _)| p.clone()).collect();
    for (target, r) in pages(&pulls_url(name), &prs, per_page, false) {
        replay.on(&target, vec![r]);
    }
    for (pr, reviews, commits) in &repo.pulls {
        let n = pr["number"].as_u64().unwrap();
        for (target, r) in pages(
            &format!("/repos/{name}/pulls/{n}/reviews?per_page=100"),
            reviews,
            per_page,
            false,
        ) {
            replay.on(&target, vec![r]);
        }
        for (target, r) in pages(
            &format!("/repos/{name}/pulls/{n}/commits?per_page=100"),
            commits,
            per_page,
            false,
        ) {
            replay.on(&target, vec![r]);
        }
    }
    let ds: Vec<Value> = repo.deployments.iter().map(|(d, _)| d.clone()).collect();
    for (target, r) in pages(&deployments_url(name), &ds, per_page, false) {
        replay.on(&target, vec![r]);
    }
    for (d, statuses) in &repo.deployments {
        let id = d["id"].as_u64().unwrap();
        for (target, r) in pages(
            &format!("/repos/{name}/deployments/{id}/statuses?per_page=100"),
            statuses,
            per_page,
            false,
        ) {
            replay.on(&target, vec![r]);
        }
    }
    for (target, r) in pages(&runs_url(name), &repo.runs, per_page, true) {
        replay.on(&target, vec![r]);
    }
    for (target, r) in pages(&releases_url(name), &repo.releases, per_page, false) {
        replay.on(&target, vec![r]);
    }
    for (run, jobs) in repo.runs.iter().zip(&repo.jobs) {
        let id = run["id"].as_u64().unwrap();
        for (target, r) in job_pages(&jobs_url(name, id), jobs) {
            replay.on(&target, vec![r]);
        }
    }
    for (target, r) in pages(&issues_url(name), &repo.issues, per_page, false) {
        replay.on(&target, vec![r]);
    }
}

/// What a second sync of `sample` asks for beyond the first's URLs: the
/// runs created since the newest one (its cursor), which is that one.
pub fn serve_second_run(replay: &Replay, repo: &Repo) {
    let url = format!(
        "{}&created=%3E%3D2025-03-12T12:00:00Z",
        runs_url(&repo.name)
    );
    for (target, r) in pages(&url, &repo.runs[..1], 2, true) {
        replay.on(&target, vec![r]);
    }
    let url = format!("{}&since=2025-03-15T09:00:00Z", issues_url(&repo.name));
    for (target, r) in pages(&url, &repo.issues[..1], 2, false) {
        replay.on(&target, vec![r]);
    }
}
