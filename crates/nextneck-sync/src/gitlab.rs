//! GitLab's REST API v4: a project's merge requests (each with its
//! `commits` and `notes`: comments, and the system notes that record
//! approvals), deployments, pipelines (each as the single-pipeline endpoint
//! has it, with its `jobs`), releases and issues (incidents are issues of
//! type `incident`), newest first down to a floor: `--since` on the first
//! run, then the cursor the last complete run left.
//!
//! Merge requests, deployments, pipelines and issues are listed by
//! `updated_at` (`order_by=updated_at&sort=desc`, and `updated_after=FLOOR`
//! once there is a floor), so a pipeline or deployment that finishes later,
//! or an incident closed later, is listed again and stored again; the floor
//! is the newest `updated_at` seen.
//! Releases are listed by creation. Cursors: `gitlab:GROUP/NAME:KIND`.
//!
//! Pages are followed by their `Link` header, which GitLab sends for its
//! offset pagination and its keyset pagination alike.

use jiff::Timestamp;
use serde_json::Value;

use crate::Target;
use crate::client::{Client, SyncError};
use crate::walk::{Counts, Paging, Walk, attach, bad, fetch_all, fetch_one, time_at};

const LINK: Paging = Paging::Link(None);

/// Syncs one project's merge requests, deployments, pipelines, releases
/// and issues into `target`; `progress` hears the counts after every page.
pub fn sync_project(
    client: &mut Client,
    target: &mut dyn Target,
    project: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    let base = format!("{}/projects/{}", client.api_url(), encode(project));
    let mut walk = Walk {
        client,
        target,
        scope: format!("gitlab:{project}"),
        since,
        counts,
        progress,
    };
    merge_requests(&mut walk, &base)?;
    deployments(&mut walk, &base)?;
    pipelines(&mut walk, &base)?;
    releases(&mut walk, &base)?;
    issues(&mut walk, &base)?;
    Ok(())
}

/// The `path_with_namespace` of every project of a group and its subgroups
/// (archived ones too: their history counts).
pub fn group_projects(client: &mut Client, group: &str) -> Result<Vec<String>, SyncError> {
    let url = format!(
        "{}/groups/{}/projects?include_subgroups=true&order_by=id&sort=asc&per_page=100",
        client.api_url(),
        encode(group)
    );
    let mut out = Vec::new();
    for project in fetch_all(client, &url, LINK)? {
        if let Some(path) = project.get("path_with_namespace").and_then(Value::as_str) {
            out.push(path.to_owned());
        }
    }
    Ok(out)
}

/// A namespaced path as a URL path segment (`group/sub/name` →
/// `group%2Fsub%2Fname`).
pub fn encode(path: &str) -> String {
    path.replace('/', "%2F")
}

/// The list URL of `kind` sorted by `updated_at`, newest first, from `floor`.
fn by_update(base: &str, kind: &str, extra: &str, floor: Option<Timestamp>) -> String {
    let mut url = format!("{base}/{kind}?{extra}order_by=updated_at&sort=desc&per_page=100");
    if let Some(f) = floor {
        url.push_str(&format!("&updated_after={f}"));
    }
    url
}

/// Walks a list sorted by `updated_at` and stores its cursor: the newest
/// `updated_at` seen.
fn walk_by_update(
    walk: &mut Walk<'_>,
    kind: &str,
    first: &str,
    floor: Option<Timestamp>,
    what: &str,
    mut each: impl FnMut(&mut Walk<'_>, Value) -> Result<Value, SyncError>,
) -> Result<(), SyncError> {
    let mut newest = None;
    walk.walk_list(first, LINK, floor, "updated_at", what, |walk, item| {
        newest = newest.max(time_at(&item, "updated_at"));
        each(walk, item)
    })?;
    match newest {
        Some(f) => walk.save(kind, f, None),
        None => Ok(()),
    }
}

fn merge_requests(walk: &mut Walk<'_>, base: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("merge_requests")?;
    let first = by_update(base, "merge_requests", "state=all&", floor);
    let list = first.clone();
    walk_by_update(
        walk,
        "merge_requests",
        &first,
        floor,
        "merge requests",
        |walk, mut mr| {
            let iid = mr
                .get("iid")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(&list, "has a merge request without an iid"))?;
            let at = format!("{base}/merge_requests/{iid}");
            let commits = fetch_all(walk.client, &format!("{at}/commits?per_page=100"), LINK)?;
            let notes = fetch_all(
                walk.client,
                &format!("{at}/notes?sort=asc&order_by=created_at&per_page=100"),
                LINK,
            )?;
            walk.counts.pulls += 1;
            walk.counts.reviews += notes.len() as u64;
            attach(&mut mr, "commits", commits);
            attach(&mut mr, "notes", notes);
            Ok(mr)
        },
    )
}

fn deployments(walk: &mut Walk<'_>, base: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("deployments")?;
    let first = by_update(base, "deployments", "", floor);
    walk_by_update(
        walk,
        "deployments",
        &first,
        floor,
        "deployments",
        |walk, d| {
            walk.counts.deployments += 1;
            Ok(d)
        },
    )
}

/// Pipelines as the single-pipeline endpoint has them (the list lacks
/// `started_at` and `finished_at`), each with its `jobs`.
fn pipelines(walk: &mut Walk<'_>, base: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("pipelines")?;
    let first = by_update(base, "pipelines", "", floor);
    let list = first.clone();
    walk_by_update(walk, "pipelines", &first, floor, "pipelines", |walk, p| {
        let id = p
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(&list, "has a pipeline without an id"))?;
        let mut full = fetch_one(walk.client, &format!("{base}/pipelines/{id}"))?;
        let jobs = fetch_all(
            walk.client,
            &format!("{base}/pipelines/{id}/jobs?per_page=100"),
            LINK,
        )?;
        walk.counts.runs += 1;
        walk.counts.jobs += jobs.len() as u64;
        attach(&mut full, "jobs", jobs);
        Ok(full)
    })
}

fn releases(walk: &mut Walk<'_>, base: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("releases")?;
    let first = format!("{base}/releases?order_by=created_at&sort=desc&per_page=100");
    let mut newest = None;
    walk.walk_list(&first, LINK, floor, "created_at", "releases", |walk, r| {
        newest = newest.max(time_at(&r, "created_at"));
        walk.counts.releases += 1;
        Ok(r)
    })?;
    match newest {
        Some(f) => walk.save("releases", f, None),
        None => Ok(()),
    }
}

/// Issues of every type (an incident is one of type `incident`: its
/// `issue_type`, and `type` on newer GitLab), open and closed, stored as
/// listed: the same conversion as the issue webhook's gives them the same
/// id (`GROUP/NAME#IID`), so an issue seen by both counts once.
fn issues(walk: &mut Walk<'_>, base: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("issues")?;
    let first = by_update(base, "issues", "state=all&", floor);
    walk_by_update(walk, "issues", &first, floor, "issues", |walk, i| {
        walk.counts.issues += 1;
        Ok(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_urls() {
        let check = |floor: Option<&str>, expected: &str| {
            let floor = floor.and_then(|f| f.parse().ok());
            assert_eq!(
                by_update("http://h/projects/a%2Fb", "pipelines", "", floor),
                expected
            );
        };
        check(
            None,
            "http://h/projects/a%2Fb/pipelines?order_by=updated_at&sort=desc&per_page=100",
        );
        check(
            Some("2025-03-01T00:00:00Z"),
            "http://h/projects/a%2Fb/pipelines?order_by=updated_at&sort=desc&per_page=100&updated_after=2025-03-01T00:00:00Z",
        );
        assert_eq!(encode("group/sub/name"), "group%2Fsub%2Fname");
    }
}
