//! A Jira project as the REST API serves it, built at test time from the
//! documented examples in `jira/` (see SOURCES.md): issues with keys, times,
//! types and statuses set per issue, each with a changelog of status
//! changes, served as search pages: API v2's (`startAt`, `maxResults`,
//! `total`; Server, Data Center) or Cloud's enhanced search of API v3
//! (`nextPageToken`, `isLast`).

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use nextneck_sync::jira::Api;
use nextneck_sync::walk::{with_query, with_query_text};
use serde_json::{Value, json};

use super::{Replay, Response};

fn read(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../nextneck-sync/tests/replay/jira")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Jira's time format: milliseconds and an offset without a colon.
pub fn jira_time(day: u64, hour: u64) -> String {
    format!("2025-03-{day:02}T{hour:02}:00:00.000+0000")
}

/// A status change history.
pub fn history(id: u64, at: &str, from: &str, to: &str) -> Value {
    history_by(
        json!({"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": true}),
        id,
        at,
        from,
        to,
    )
}

/// A status change history by `author`.
fn history_by(author: Value, id: u64, at: &str, from: &str, to: &str) -> Value {
    json!({
        "id": id.to_string(),
        "author": author,
        "created": at,
        "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                   "from": "1", "fromString": from, "to": "2", "toString": to}]
    })
}

/// An issue as API v2's search lists it with `expand=changelog`: created
/// on `day`, through `statuses` a day apart.
pub fn issue(project: &str, n: u64, day: u64, statuses: &[&str]) -> Value {
    let mut i = issue_of("issue.json", 2, project, n, day, statuses);
    // The v2 histories keep the short author they always had.
    if let Some(histories) = i["changelog"]["histories"].as_array_mut() {
        for h in histories {
            h["author"] = json!({"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": true});
        }
    }
    i
}

/// The same issue as Cloud's enhanced search (API v3) lists it with
/// `fields=...&expand=changelog`: its description in the Atlassian Document
/// Format, its links to API v3.
pub fn cloud_issue(project: &str, n: u64, day: u64, statuses: &[&str]) -> Value {
    issue_of("issue_v3.json", 3, project, n, day, statuses)
}

fn issue_of(
    template: &str,
    version: u8,
    project: &str,
    n: u64,
    day: u64,
    statuses: &[&str],
) -> Value {
    let mut i = read(template);
    let author = i["changelog"]["histories"][0]["author"].clone();
    let key = format!("{project}-{n}");
    i["id"] = json!((10000 + n).to_string());
    i["key"] = json!(key);
    i["self"] = json!(format!(
        "https://your-domain.atlassian.net/rest/api/{version}/issue/{}",
        10000 + n
    ));
    i["fields"]["project"]["key"] = json!(project);
    i["fields"]["summary"] = json!(format!("Issue {n}"));
    i["fields"]["created"] = json!(jira_time(day, 9));
    let mut histories = Vec::new();
    for (k, pair) in statuses.windows(2).enumerate() {
        histories.push(history_by(
            author.clone(),
            n * 100 + k as u64,
            &jira_time(day + k as u64 + 1, 10),
            pair[0],
            pair[1],
        ));
    }
    let last = statuses.last().copied().unwrap_or("To Do");
    i["fields"]["status"]["name"] = json!(last);
    i["fields"]["status"]["statusCategory"]["key"] = json!(if last == "Done" {
        "done"
    } else {
        "indeterminate"
    });
    i["fields"]["updated"] = json!(jira_time(day + statuses.len() as u64, 10));
    // Jira lists histories oldest first.
    i["changelog"] = json!({"startAt": 0, "maxResults": histories.len(), "total": histories.len(), "histories": histories});
    i
}

/// A project's issues as API v2 lists them, most recently updated first.
pub fn sample(project: &str) -> Vec<Value> {
    sample_of(project, issue)
}

/// The same issues as Cloud's enhanced search (API v3) lists them.
pub fn cloud_sample(project: &str) -> Vec<Value> {
    sample_of(project, cloud_issue)
}

fn sample_of(project: &str, build: fn(&str, u64, u64, &[&str]) -> Value) -> Vec<Value> {
    let flow = ["To Do", "In Progress", "In Review", "Done"];
    let mut issues: Vec<Value> = (1..=5u64)
        .map(|n| {
            let upto = if n == 5 { 3 } else { 4 };
            build(project, n, 2 * n, &flow[..upto])
        })
        .collect();
    issues.reverse();
    issues
}

/// The first page of the project's search (API v2).
pub fn search_url(project: &str) -> String {
    Api::Server.search_url("", project)
}

/// The first page of the project's enhanced search (Cloud, API v3).
pub fn cloud_search_url(project: &str) -> String {
    Api::Cloud.search_url("", project)
}

/// The `nextPageToken` of the page after page `i` (opaque to the client;
/// with characters a query must encode).
pub fn token(i: usize) -> String {
    format!("Ch0jc29ydF9maWVsZHMjdXBkYXRlZA/{i}==")
}

/// The target of the enhanced search's page `i` (from 0).
pub fn cloud_page_url(project: &str, i: usize) -> String {
    let first = cloud_search_url(project);
    if i == 0 {
        first
    } else {
        with_query_text(&first, "nextPageToken", &token(i - 1))
    }
}

/// Enhanced search pages of `per_page` issues: each but the last with its
/// `nextPageToken`; the last with `isLast` and no token.
pub fn cloud_pages(project: &str, issues: &[Value], per_page: usize) -> Vec<(String, Response)> {
    let chunks: Vec<&[Value]> = if issues.is_empty() {
        vec![&[]]
    } else {
        issues.chunks(per_page).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut body = json!({"issues": chunk, "isLast": i == last});
            if i < last {
                body["nextPageToken"] = json!(token(i));
            }
            (cloud_page_url(project, i), Response::json(200, &body))
        })
        .collect()
}

/// Serves `issues` of `project` in enhanced search pages of `per_page`.
pub fn serve_cloud(replay: &Replay, project: &str, issues: &[Value], per_page: usize) {
    for (t, r) in cloud_pages(project, issues, per_page) {
        replay.on(&t, vec![r]);
    }
}

/// Search pages of `per_page` issues.
pub fn pages(first: &str, issues: &[Value], per_page: usize) -> Vec<(String, Response)> {
    let chunks: Vec<&[Value]> = if issues.is_empty() {
        vec![&[]]
    } else {
        issues.chunks(per_page).collect()
    };
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let start = (i * per_page) as u64;
            let target = if i == 0 {
                first.to_owned()
            } else {
                with_query(first, "startAt", start)
            };
            let body = json!({"expand": "names,schema", "startAt": start, "maxResults": per_page,
                              "total": issues.len(), "issues": chunk});
            (target, Response::json(200, &body))
        })
        .collect()
}

/// Serves `issues` of `project` in pages of `per_page`.
pub fn serve(replay: &Replay, project: &str, issues: &[Value], per_page: usize) {
    for (t, r) in pages(&search_url(project), issues, per_page) {
        replay.on(&t, vec![r]);
    }
}
