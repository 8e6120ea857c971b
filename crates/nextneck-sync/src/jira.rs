//! Jira's REST API v2 (Cloud, Server and Data Center): a project's issues
//! with their changelog (`/rest/api/2/search?jql=...&expand=changelog`),
//! most recently updated first down to a floor, paged by `startAt`,
//! `maxResults` and `total`. What is stored is what `nextneck import jira`
//! reads: an issue whose status changes become stage transitions.
//!
//! A search embeds at most 100 histories of an issue's changelog; when
//! `changelog.total` says there are more, the whole changelog is fetched
//! (`/rest/api/2/issue/KEY/changelog` on Cloud, else the issue itself with
//! `expand=changelog`, as Server and Data Center give it whole).
//!
//! Cursor: `jira:KEY:issues`, the newest `fields.updated` seen.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::Target;
use crate::client::{Client, SyncError};
use crate::walk::{Counts, Paging, Walk, bad, fetch_all, fetch_one, time_at};

/// Syncs one project's issues with their changelog into `target`;
/// `progress` hears the counts after every page.
pub fn sync_project(
    client: &mut Client,
    target: &mut dyn Target,
    key: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    let api = client.api_url().to_owned();
    let mut walk = Walk {
        client,
        target,
        scope: format!("jira:{key}"),
        since,
        counts,
        progress,
    };
    let floor = walk.floor_of("issues")?;
    let first = search_url(&api, key);
    let mut newest = None;
    let paging = Paging::StartAt("issues");
    walk.walk_list(
        &first,
        paging,
        floor,
        "fields.updated",
        "issues",
        |walk, issue| {
            newest = newest.max(time_at(&issue, "fields.updated"));
            walk.counts.issues += 1;
            whole_changelog(walk.client, &api, &first, issue)
        },
    )?;
    match newest {
        Some(f) => walk.save("issues", f, None),
        None => Ok(()),
    }
}

/// The first page of a project's issues with their changelog, most
/// recently updated first.
pub fn search_url(api: &str, key: &str) -> String {
    format!(
        "{api}/rest/api/2/search?jql=project%20%3D%20%22{key}%22%20ORDER%20BY%20updated%20DESC&expand=changelog&startAt=0&maxResults=100"
    )
}

/// The issue with its whole changelog, fetched when the search cut it short.
fn whole_changelog(
    client: &mut Client,
    api: &str,
    list: &str,
    mut issue: Value,
) -> Result<Value, SyncError> {
    let held = issue
        .pointer("/changelog/histories")
        .and_then(Value::as_array)
        .map_or(0, Vec::len) as u64;
    let total = issue
        .pointer("/changelog/total")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if total <= held {
        return Ok(issue);
    }
    let key = issue
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(list, "has an issue without a key"))?
        .to_owned();
    let cloud = format!("{api}/rest/api/2/issue/{key}/changelog?startAt=0&maxResults=100");
    let histories = match fetch_all(client, &cloud, Paging::StartAt("values")) {
        Ok(h) => h,
        Err(SyncError::NoAccess { status: 404, .. }) => {
            let url = format!("{api}/rest/api/2/issue/{key}?expand=changelog&fields=none");
            let whole = fetch_one(client, &url)?;
            match whole.pointer("/changelog/histories") {
                Some(Value::Array(h)) => h.clone(),
                _ => return Err(bad(&url, "has no changelog.histories")),
            }
        }
        Err(e) => return Err(e),
    };
    let count = histories.len();
    issue["changelog"] =
        json!({"startAt": 0, "maxResults": count, "total": count, "histories": histories});
    Ok(issue)
}
