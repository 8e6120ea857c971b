//! GitHub's REST API: a repository's pull requests (each with its reviews
//! and commits), deployments (each with its statuses), workflow runs (each
//! with its jobs), releases and issues, fetched newest first down to a floor: `--since` on the first
//! run, then the cursor the previous complete run left in the store.
//!
//! Each page becomes one batch (one body per item, so an item fetched
//! again unchanged is recognised as stored), committed before the next
//! page is asked for; a kind's cursor is stored only once its whole walk is committed,
//! so a run killed midway leaves the old cursor and the next run walks the
//! same range again (what was stored already is recognised and counts once).
//!
//! Cursors (`github:OWNER/NAME:KIND`, JSON): `floor` is where the next run
//! stops. Pull requests are listed by `updated_at`, so the floor is the
//! newest `updated_at` seen, and the first page is asked for with the
//! `ETag` of the last walk (a `304` means nothing changed, at no rate-limit
//! cost). Deployments, runs and releases are listed by creation; a
//! deployment or run still in progress may change, so their floor is the
//! creation time of the oldest one not finished, at most [`LOOKBACK_DAYS`]
//! before the newest (a deployment that never gets a final status must not
//! hold the floor back forever). The walking, committing and cursors are
//! [`crate::walk`]'s, shared with the other providers.

use jiff::Timestamp;
use serde_json::Value;

use crate::Target;
use crate::client::{Client, Fetched, SyncError};
pub use crate::walk::{Counts, LOOKBACK_DAYS};
use crate::walk::{Cursor, Horizon, MAX_PAGES, Paging, Walk, attach, bad, fetch_all, time_at};

/// GitHub's lists: arrays, with `Link` headers.
const LINK: Paging = Paging::Link(None);

/// Syncs one repository's pulls, deployments, runs, releases and issues into
/// `target`; `progress` hears the counts after every page.
pub fn sync_repo(
    client: &mut Client,
    target: &mut dyn Target,
    repo: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    let mut walk = Walk {
        client,
        target,
        scope: format!("github:{repo}"),
        since,
        counts,
        progress,
    };
    pulls(&mut walk, repo)?;
    deployments(&mut walk, repo)?;
    runs(&mut walk, repo)?;
    releases(&mut walk, repo)?;
    issues(&mut walk, repo)?;
    Ok(())
}

/// The `owner/name` of every repository of an organisation.
pub fn org_repos(client: &mut Client, org: &str) -> Result<Vec<String>, SyncError> {
    let url = format!(
        "{}/orgs/{org}/repos?type=all&per_page=100",
        client.api_url()
    );
    let mut out = Vec::new();
    for repo in fetch_all(client, &url, LINK)? {
        if let Some(name) = repo.get("full_name").and_then(Value::as_str) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

fn pulls(walk: &mut Walk<'_>, repo: &str) -> Result<(), SyncError> {
    let cursor = walk.load("pulls")?;
    let Cursor { floor, etag } = walk.floor(cursor);
    let api = walk.client.api_url().to_owned();
    let mut url = Some(format!(
        "{api}/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page=100"
    ));
    let mut newest: Option<Timestamp> = None;
    let mut first_etag = None;
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        let conditional = if pages == 1 { etag.as_deref() } else { None };
        let (body, next, page_etag) = match walk.client.get(&u, conditional)? {
            Fetched::NotModified => {
                walk.counts.unchanged += 1;
                return Ok(());
            }
            Fetched::Page { body, next, etag } => (body, next, etag),
        };
        if pages == 1 {
            first_etag = page_etag;
        }
        let (items, next) = LINK.split(&u, &body, next)?;
        let mut keep = Vec::new();
        let mut reached_floor = false;
        for pr in items {
            let updated = time_at(&pr, "updated_at");
            newest = newest.max(updated);
            if let (Some(f), Some(t)) = (floor, updated)
                && t < f
            {
                reached_floor = true;
                break;
            }
            keep.push(with_reviews_and_commits(walk, &u, &api, repo, pr)?);
        }
        walk.counts.pulls += keep.len() as u64;
        walk.commit(&u, keep, "pull requests")?;
        if !reached_floor && pages < MAX_PAGES {
            url = next;
        }
    }
    if let Some(newest) = newest {
        walk.save("pulls", newest, first_etag)?;
    }
    Ok(())
}

/// A pull request with its `reviews` and `commits`, as an export has them.
fn with_reviews_and_commits(
    walk: &mut Walk<'_>,
    url: &str,
    api: &str,
    repo: &str,
    mut pr: Value,
) -> Result<Value, SyncError> {
    let number = pr
        .get("number")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(url, "has a pull request without a number"))?;
    let base = format!("{api}/repos/{repo}/pulls/{number}");
    let reviews = fetch_all(walk.client, &format!("{base}/reviews?per_page=100"), LINK)?;
    let commits = fetch_all(walk.client, &format!("{base}/commits?per_page=100"), LINK)?;
    walk.counts.reviews += reviews.len() as u64;
    attach(&mut pr, "reviews", reviews);
    attach(&mut pr, "commits", commits);
    Ok(pr)
}

fn deployments(walk: &mut Walk<'_>, repo: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("deployments")?;
    let api = walk.client.api_url().to_owned();
    let first = format!("{api}/repos/{repo}/deployments?per_page=100");
    let mut horizon = Horizon::default();
    walk.walk_list(
        &first,
        LINK,
        floor,
        "created_at",
        "deployments",
        |walk, mut d| {
            let id = d.get("id").and_then(Value::as_u64).unwrap_or(0);
            let statuses = fetch_all(
                walk.client,
                &format!("{api}/repos/{repo}/deployments/{id}/statuses?per_page=100"),
                LINK,
            )?;
            // Statuses are listed newest first.
            let finished = statuses.first().is_some_and(|s| {
                matches!(
                    s.get("state").and_then(Value::as_str),
                    Some("success" | "failure" | "error" | "inactive")
                )
            });
            horizon.see(time_at(&d, "created_at"), finished);
            if let Some(o) = d.as_object_mut() {
                o.insert("statuses".to_owned(), Value::Array(statuses));
            }
            walk.counts.deployments += 1;
            Ok(d)
        },
    )?;
    if let Some(f) = horizon.floor() {
        walk.save("deployments", f, None)?;
    }
    Ok(())
}

fn runs(walk: &mut Walk<'_>, repo: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("runs")?;
    let api = walk.client.api_url().to_owned();
    let mut first = format!("{api}/repos/{repo}/actions/runs?per_page=100");
    if let Some(f) = floor {
        // `created=>=TIME`, the search qualifier the endpoint takes.
        first.push_str(&format!("&created=%3E%3D{f}"));
    }
    let mut horizon = Horizon::default();
    let paging = Paging::Link(Some("workflow_runs"));
    walk.walk_list(
        &first,
        paging,
        floor,
        "created_at",
        "workflow runs",
        |walk, mut run| {
            let finished = run.get("status").and_then(Value::as_str) == Some("completed");
            horizon.see(time_at(&run, "created_at"), finished);
            let id = run.get("id").and_then(Value::as_u64).unwrap_or(0);
            let jobs = fetch_all(
                walk.client,
                &format!("{api}/repos/{repo}/actions/runs/{id}/jobs?per_page=100"),
                Paging::Link(Some("jobs")),
            )?;
            walk.counts.runs += 1;
            walk.counts.jobs += jobs.len() as u64;
            attach(&mut run, "jobs", jobs);
            Ok(run)
        },
    )?;
    if let Some(f) = horizon.floor() {
        walk.save("runs", f, None)?;
    }
    Ok(())
}

fn releases(walk: &mut Walk<'_>, repo: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("releases")?;
    let first = format!(
        "{}/repos/{repo}/releases?per_page=100",
        walk.client.api_url()
    );
    let mut newest = None;
    walk.walk_list(&first, LINK, floor, "created_at", "releases", |walk, r| {
        newest = newest.max(time_at(&r, "created_at"));
        walk.counts.releases += 1;
        Ok(r)
    })?;
    if let Some(f) = newest {
        walk.save("releases", f, None)?;
    }
    Ok(())
}

/// Issues (incidents are issues with a label), most recently updated first
/// from the cursor (`since`, which the endpoint takes as "updated at or
/// after"). The list has pull requests too; the import skips them.
fn issues(walk: &mut Walk<'_>, repo: &str) -> Result<(), SyncError> {
    let floor = walk.floor_of("issues")?;
    let mut first = format!(
        "{}/repos/{repo}/issues?state=all&sort=updated&direction=desc&per_page=100",
        walk.client.api_url()
    );
    if let Some(f) = floor {
        first.push_str(&format!("&since={f}"));
    }
    let mut newest = None;
    walk.walk_list(&first, LINK, floor, "updated_at", "issues", |walk, i| {
        newest = newest.max(time_at(&i, "updated_at"));
        if i.get("pull_request").is_none() {
            walk.counts.issues += 1;
        }
        Ok(i)
    })?;
    match newest {
        Some(f) => walk.save("issues", f, None),
        None => Ok(()),
    }
}
