//! A Jira project as the REST API v2 serves it, built at test time from the
//! documented example in `jira/` (see SOURCES.md): issues with keys, times,
//! types and statuses set per issue, each with a changelog of status
//! changes, served as search pages (`startAt`, `maxResults`, `total`).

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use nextneck_sync::walk::with_query;
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
    json!({
        "id": id.to_string(),
        "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": true},
        "created": at,
        "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                   "from": "1", "fromString": from, "to": "2", "toString": to}]
    })
}

/// An issue as the search lists it with `expand=changelog`: created on
/// `day`, through `statuses` a day apart.
pub fn issue(project: &str, n: u64, day: u64, statuses: &[&str]) -> Value {
    let mut i = read("issue.json");
    let key = format!("{project}-{n}");
    i["id"] = json!((10000 + n).to_string());
    i["key"] = json!(key);
    i["self"] = json!(format!(
        "https://your-domain.atlassian.net/rest/api/2/issue/{}",
        10000 + n
    ));
    i["fields"]["project"]["key"] = json!(project);
    i["fields"]["summary"] = json!(format!("Issue {n}"));
    i["fields"]["created"] = json!(jira_time(day, 9));
    let mut histories = Vec::new();
    for (k, pair) in statuses.windows(2).enumerate() {
        histories.push(history(
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

/// A project's issues, most recently updated first.
pub fn sample(project: &str) -> Vec<Value> {
    let flow = ["To Do", "In Progress", "In Review", "Done"];
    let mut issues: Vec<Value> = (1..=5u64)
        .map(|n| {
            let upto = if n == 5 { 3 } else { 4 };
            issue(project, n, 2 * n, &flow[..upto])
        })
        .collect();
    issues.reverse();
    issues
}

/// The first page of the project's search.
pub fn search_url(project: &str) -> String {
    nextneck_sync::jira::search_url("", project)
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
