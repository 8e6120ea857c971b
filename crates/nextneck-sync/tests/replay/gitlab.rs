//! A GitLab project as the REST API v4 serves it, built at test time from
//! the documented example responses in `gitlab/` (see SOURCES.md): each
//! example with ids, times, states and the project set per item, served in
//! pages with the headers GitLab documents (`Link` with `rel="next"`,
//! `rel="first"`, `rel="last"`; `X-Page`, `X-Next-Page`; `RateLimit-*`).

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Replay, Response};

fn read(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../nextneck-sync/tests/replay/gitlab")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

const WEB: &str = "https://gitlab.example.com";

pub fn sha(n: u64) -> String {
    format!("{n:040x}")
}

/// A merged merge request as `GET /projects/:id/merge_requests` lists it.
pub fn merge_request(project: &str, iid: u64, created: &str, merged: &str) -> Value {
    let mut mr = read("merge_request.json");
    mr["id"] = json!(100 + iid);
    mr["iid"] = json!(iid);
    mr["title"] = json!(format!("change {iid}"));
    mr["created_at"] = json!(created);
    mr["updated_at"] = json!(merged);
    mr["merged_at"] = json!(merged);
    mr["sha"] = json!(sha(0xc000 + iid));
    mr["merge_commit_sha"] = json!(sha(0xabc + iid));
    mr["web_url"] = json!(format!("{WEB}/{project}/-/merge_requests/{iid}"));
    mr["references"] = json!({"short": format!("!{iid}"), "relative": format!("!{iid}"), "full": format!("{project}!{iid}")});
    mr
}

/// A commit as `GET .../merge_requests/:iid/commits` lists it.
pub fn commit(id: &str, date: &str) -> Value {
    let mut c = read("commit.json");
    c["id"] = json!(id);
    c["short_id"] = json!(&id[..8]);
    for k in ["created_at", "authored_date", "committed_date"] {
        c[k] = json!(date);
    }
    c
}

/// A note as `GET .../merge_requests/:iid/notes` lists it.
pub fn note(id: u64, iid: u64, body: &str, system: bool, created: &str) -> Value {
    let mut n = read("note.json");
    n["id"] = json!(id);
    n["body"] = json!(body);
    n["system"] = json!(system);
    n["noteable_iid"] = json!(iid);
    // The example's author has the id of the merge request example's
    // author: a review by someone else.
    n["author"]["id"] = json!(2);
    n["created_at"] = json!(created);
    n["updated_at"] = json!(created);
    n
}

/// A finished deployment as `GET /projects/:id/deployments` lists it.
pub fn deployment(project: &str, id: u64, sha: &str, created: &str, finished: &str) -> Value {
    let mut d = read("deployment.json");
    d["deployable"]["pipeline"]["web_url"] =
        json!(format!("{WEB}/{project}/-/pipelines/{}", 300 + id - 40));
    d["deployable"]["pipeline"]["sha"] = json!(sha);
    d["id"] = json!(id);
    d["iid"] = json!(id - 40);
    d["status"] = json!("success");
    d["sha"] = json!(sha);
    d["created_at"] = json!(created);
    d["updated_at"] = json!(finished);
    d["deployable"]["id"] = json!(id * 10);
    d["deployable"]["status"] = json!("success");
    d["deployable"]["started_at"] = json!(created);
    d["deployable"]["finished_at"] = json!(finished);
    d["deployable"]["commit"]["id"] = json!(sha);
    d
}

/// A pipeline as the list has it, and as the single-pipeline endpoint has it.
pub fn pipeline(
    project: &str,
    id: u64,
    sha: &str,
    created: &str,
    finished: &str,
) -> (Value, Value) {
    let mut item = read("pipeline_list_item.json");
    let mut full = read("pipeline.json");
    for p in [&mut item, &mut full] {
        p["id"] = json!(id);
        p["iid"] = json!(id - 200);
        p["sha"] = json!(sha);
        p["ref"] = json!("main");
        p["status"] = json!("success");
        p["created_at"] = json!(created);
        p["updated_at"] = json!(finished);
        p["web_url"] = json!(format!("{WEB}/{project}/-/pipelines/{id}"));
    }
    full["started_at"] = json!(created);
    full["finished_at"] = json!(finished);
    (item, full)
}

/// A job as `GET .../pipelines/:id/jobs` lists it.
pub fn job(id: u64, name: &str, stage: &str, started: &str, finished: &str) -> Value {
    let mut j = read("job.json");
    j["id"] = json!(id);
    j["name"] = json!(name);
    j["stage"] = json!(stage);
    j["status"] = json!("success");
    j["failure_reason"] = Value::Null;
    j["created_at"] = json!(started);
    j["started_at"] = json!(started);
    j["finished_at"] = json!(finished);
    j
}

/// A release as `GET /projects/:id/releases` lists it.
pub fn release(tag: &str, created: &str) -> Value {
    let mut r = read("release.json");
    r["tag_name"] = json!(tag);
    r["name"] = json!(tag);
    r["created_at"] = json!(created);
    r["released_at"] = json!(created);
    r
}

/// An issue as `GET /projects/:id/issues` lists it, of `issue_type`
/// (`incident`, `issue`; and `type` in capitals, as GitLab 15 and later
/// add), closed at `closed` or open.
pub fn issue(
    project: &str,
    iid: u64,
    issue_type: &str,
    created: &str,
    closed: Option<&str>,
) -> Value {
    let mut i = read("issue.json");
    i["id"] = json!(500 + iid);
    i["iid"] = json!(iid);
    i["issue_type"] = json!(issue_type);
    i["type"] = json!(issue_type.to_uppercase());
    i["title"] = json!(format!("{issue_type} {iid}"));
    i["state"] = json!(if closed.is_some() { "closed" } else { "opened" });
    i["created_at"] = json!(created);
    i["updated_at"] = json!(closed.unwrap_or(created));
    i["closed_at"] = json!(closed);
    if closed.is_none() {
        i["closed_by"] = Value::Null;
    }
    i["web_url"] = json!(format!("{WEB}/{project}/-/issues/{iid}"));
    i["references"] = json!({"short": format!("#{iid}"), "relative": format!("#{iid}"), "full": format!("{project}#{iid}")});
    i
}

/// A small project's history.
pub struct Project {
    pub path: String,
    /// Newest updated first, each with its commits and notes.
    pub merge_requests: Vec<(Value, Vec<Value>, Vec<Value>)>,
    /// Newest updated first.
    pub deployments: Vec<Value>,
    /// Newest updated first: (list item, single pipeline, jobs).
    pub pipelines: Vec<(Value, Value, Vec<Value>)>,
    /// Newest first.
    pub releases: Vec<Value>,
    /// Newest updated first.
    pub issues: Vec<Value>,
}

/// A project that has only `issues` (newest updated first).
pub fn only_issues(path: &str, issues: Vec<Value>) -> Project {
    Project {
        path: path.to_owned(),
        merge_requests: Vec::new(),
        deployments: Vec::new(),
        pipelines: Vec::new(),
        releases: Vec::new(),
        issues,
    }
}

/// Four merged merge requests (commented, approved, with a commit), three
/// deployments and pipelines (two jobs each) of what they merged, two
/// releases, an incident resolved in 2.5 hours and an open issue, in March
/// 2025.
pub fn sample(path: &str) -> Project {
    let mut merge_requests = Vec::new();
    for iid in (1..=4u64).rev() {
        let day = 2 * iid;
        let created = format!("2025-03-{day:02}T09:00:00Z");
        let merged = format!("2025-03-{:02}T15:00:00Z", day + 1);
        let mr = merge_request(path, iid, &created, &merged);
        let commits = vec![commit(
            &sha(0xc000 + iid),
            &format!("2025-03-{day:02}T08:00:00Z"),
        )];
        let notes = vec![
            note(
                iid * 10,
                iid,
                "assigned to @pipin",
                true,
                &format!("2025-03-{day:02}T09:30:00Z"),
            ),
            note(
                iid * 10 + 1,
                iid,
                "Looks good, one nit",
                false,
                &format!("2025-03-{day:02}T11:00:00Z"),
            ),
            note(
                iid * 10 + 2,
                iid,
                "approved this merge request",
                true,
                &format!("2025-03-{:02}T10:00:00Z", day + 1),
            ),
        ];
        merge_requests.push((mr, commits, notes));
    }
    let mut deployments = Vec::new();
    let mut pipelines = Vec::new();
    for iid in (2..=4u64).rev() {
        let day = 2 * iid + 1;
        let sha = sha(0xabc + iid);
        let started = format!("2025-03-{day:02}T16:00:00Z");
        let finished = format!("2025-03-{day:02}T16:20:00Z");
        deployments.push(deployment(path, 40 + iid, &sha, &started, &finished));
        let (item, full) = pipeline(
            path,
            300 + iid,
            &sha,
            &format!("2025-03-{day:02}T15:05:00Z"),
            &format!("2025-03-{day:02}T15:50:00Z"),
        );
        let jobs = vec![
            job(
                3000 + iid * 10,
                "rubocop",
                "test",
                &format!("2025-03-{day:02}T15:06:00Z"),
                &format!("2025-03-{day:02}T15:20:00Z"),
            ),
            job(
                3000 + iid * 10 + 1,
                "deploy",
                "deploy",
                &format!("2025-03-{day:02}T15:21:00Z"),
                &format!("2025-03-{day:02}T15:50:00Z"),
            ),
        ];
        pipelines.push((item, full, jobs));
    }
    let releases = vec![
        release("v2", "2025-03-18T00:00:00Z"),
        release("v1", "2025-03-04T00:00:00Z"),
    ];
    let issues = vec![
        issue(path, 12, "issue", "2025-03-12T09:00:00Z", None),
        issue(
            path,
            11,
            "incident",
            "2025-03-10T08:00:00Z",
            Some("2025-03-10T10:30:00Z"),
        ),
    ];
    Project {
        path: path.to_owned(),
        merge_requests,
        deployments,
        pipelines,
        releases,
        issues,
    }
}

pub fn encoded(path: &str) -> String {
    path.replace('/', "%2F")
}

/// The list URLs a first sync asks for (no `--since`, no cursor).
pub fn merge_requests_url(path: &str) -> String {
    format!(
        "/api/v4/projects/{}/merge_requests?state=all&order_by=updated_at&sort=desc&per_page=100",
        encoded(path)
    )
}
pub fn deployments_url(path: &str) -> String {
    format!(
        "/api/v4/projects/{}/deployments?order_by=updated_at&sort=desc&per_page=100",
        encoded(path)
    )
}
pub fn pipelines_url(path: &str) -> String {
    format!(
        "/api/v4/projects/{}/pipelines?order_by=updated_at&sort=desc&per_page=100",
        encoded(path)
    )
}
pub fn issues_url(path: &str) -> String {
    format!(
        "/api/v4/projects/{}/issues?state=all&order_by=updated_at&sort=desc&per_page=100",
        encoded(path)
    )
}
pub fn releases_url(path: &str) -> String {
    format!(
        "/api/v4/projects/{}/releases?order_by=created_at&sort=desc&per_page=100",
        encoded(path)
    )
}

/// GitLab's rate-limit headers (replacing any set before).
pub fn budget(response: Response, remaining: u64, reset: u64) -> Response {
    let mut r = response;
    r.headers
        .retain(|(k, _)| !k.to_ascii_lowercase().starts_with("ratelimit-"));
    r.header("RateLimit-Limit", "2000")
        .header("RateLimit-Observed", &(2000 - remaining).to_string())
        .header("RateLimit-Remaining", &remaining.to_string())
        .header("RateLimit-Reset", &reset.to_string())
}

/// Pages of `per_page` items with GitLab's offset pagination headers.
pub fn pages(first: &str, items: &[Value], per_page: usize) -> Vec<(String, Response)> {
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
            let mut r = budget(
                Response::json(200, &json!(chunk)),
                1999 - i as u64,
                1_900_000_000,
            )
            .header("X-Page", &(i + 1).to_string())
            .header("X-Per-Page", &per_page.to_string())
            .header(
                "X-Next-Page",
                &if i + 1 < last {
                    (i + 2).to_string()
                } else {
                    String::new()
                },
            );
            let mut links = vec![format!("<{{base}}{}>; rel=\"first\"", target(0))];
            if i + 1 < last {
                links.insert(0, format!("<{{base}}{}>; rel=\"next\"", target(i + 1)));
            }
            links.push(format!("<{{base}}{}>; rel=\"last\"", target(last - 1)));
            r = r.header("Link", &links.join(", "));
            (target(i), r)
        })
        .collect()
}

/// Serves `project` in pages of `per_page`.
pub fn serve(replay: &Replay, project: &Project, per_page: usize) {
    let path = &project.path;
    let base = format!("/api/v4/projects/{}", encoded(path));
    let on = |target: &str, items: &[Value]| {
        for (t, r) in pages(target, items, per_page) {
            replay.on(&t, vec![r]);
        }
    };
    let mrs: Vec<Value> = project
        .merge_requests
        .iter()
        .map(|(m, _, _)| m.clone())
        .collect();
    on(&merge_requests_url(path), &mrs);
    for (mr, commits, notes) in &project.merge_requests {
        let iid = mr["iid"].as_u64().unwrap();
        on(
            &format!("{base}/merge_requests/{iid}/commits?per_page=100"),
            commits,
        );
        on(
            &format!("{base}/merge_requests/{iid}/notes?sort=asc&order_by=created_at&per_page=100"),
            notes,
        );
    }
    on(&deployments_url(path), &project.deployments);
    let items: Vec<Value> = project
        .pipelines
        .iter()
        .map(|(p, _, _)| p.clone())
        .collect();
    on(&pipelines_url(path), &items);
    for (item, full, jobs) in &project.pipelines {
        let id = item["id"].as_u64().unwrap();
        replay.on(
            &format!("{base}/pipelines/{id}"),
            vec![budget(Response::json(200, full), 1990, 1_900_000_000)],
        );
        on(&format!("{base}/pipelines/{id}/jobs?per_page=100"), jobs);
    }
    on(&releases_url(path), &project.releases);
    on(&issues_url(path), &project.issues);
}

/// What a second sync of `sample` asks for beyond the first's URLs: each
/// list from its cursor (`updated_after`), answering its newest item.
pub fn serve_second_run(replay: &Replay, project: &Project) {
    let path = &project.path;
    let lists = [
        (merge_requests_url(path), &project.merge_requests[0].0),
        (deployments_url(path), &project.deployments[0]),
        (pipelines_url(path), &project.pipelines[0].0),
        (issues_url(path), &project.issues[0]),
    ];
    for (url, newest) in lists {
        let at = newest["updated_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap();
        let first = format!("{url}&updated_after={at}");
        for (t, r) in pages(&first, std::slice::from_ref(newest), 2) {
            replay.on(&t, vec![r]);
        }
    }
}
