//! GitHub's REST API: a repository's pull requests (each with its reviews
//! and commits), deployments (each with its statuses), workflow runs and
//! releases, fetched newest first down to a floor: `--since` on the first
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
//! hold the floor back forever).

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::client::{Client, Fetched, SyncError};
use crate::{Page, Target};

/// How far before the newest item an unfinished deployment or run can hold
/// back the next run's floor.
pub const LOOKBACK_DAYS: i64 = 7;

/// The most pages followed for one list (100 items a page).
const MAX_PAGES: usize = 1000;

/// What a sync fetched and stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pull requests stored (with their reviews and commits).
    pub pulls: u64,
    /// Reviews stored with them.
    pub reviews: u64,
    /// Deployments stored (with their statuses).
    pub deployments: u64,
    /// Workflow runs stored.
    pub runs: u64,
    /// Releases stored.
    pub releases: u64,
    /// Lists that had not changed since the last run (`304`).
    pub unchanged: u64,
}

/// Syncs one repository's pulls, deployments, runs and releases into
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
        repo,
        since,
        counts,
        progress,
    };
    walk.pulls()?;
    walk.deployments()?;
    walk.runs()?;
    walk.releases()?;
    Ok(())
}

/// The `owner/name` of every repository of an organisation.
pub fn org_repos(client: &mut Client, org: &str) -> Result<Vec<String>, SyncError> {
    let url = format!(
        "{}/orgs/{org}/repos?type=all&per_page=100",
        client.api_url()
    );
    let mut out = Vec::new();
    for repo in fetch_all(client, &url)? {
        if let Some(name) = repo.get("full_name").and_then(Value::as_str) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

struct Walk<'a> {
    client: &'a mut Client,
    target: &'a mut dyn Target,
    repo: &'a str,
    since: Option<Timestamp>,
    counts: &'a mut Counts,
    progress: &'a mut dyn FnMut(&str, &Counts),
}

/// A kind's stored cursor.
#[derive(Default)]
struct Cursor {
    floor: Option<Timestamp>,
    etag: Option<String>,
}

impl Walk<'_> {
    fn key(&self, kind: &str) -> String {
        format!("github:{}:{kind}", self.repo)
    }

    fn load(&mut self, kind: &str) -> Result<Cursor, SyncError> {
        let key = self.key(kind);
        let stored = self.target.cursor(&key).map_err(SyncError::Target)?;
        let value: Value = stored
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        Ok(Cursor {
            floor: value
                .get("floor")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            etag: value.get("etag").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// The floor of this run: `--since` when it reaches further back than
    /// the cursor (a backfill), else the cursor. The `ETag` only with the
    /// cursor's floor.
    fn floor(&self, cursor: Cursor) -> Cursor {
        match (cursor.floor, self.since) {
            (Some(c), Some(s)) if s < c => Cursor {
                floor: Some(s),
                etag: None,
            },
            (None, s) => Cursor {
                floor: s,
                etag: None,
            },
            _ => cursor,
        }
    }

    fn save(
        &mut self,
        kind: &str,
        floor: Timestamp,
        etag: Option<String>,
    ) -> Result<(), SyncError> {
        let mut value = serde_json::json!({ "floor": floor.to_string() });
        if let Some(etag) = etag {
            value["etag"] = Value::String(etag);
        }
        let key = self.key(kind);
        self.target
            .set_cursor(&key, &value.to_string())
            .map_err(SyncError::Target)
    }

    /// Commits a page's items as one batch of one body each (`[item]`, an
    /// export of one): an item fetched again unchanged is then recognised
    /// as already stored.
    fn commit(&mut self, url: &str, items: Vec<Value>, what: &str) -> Result<(), SyncError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut pages = Vec::new();
        for item in items {
            let body = serde_json::to_vec(&[item]).map_err(|e| SyncError::BadBody {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
            pages.push(Page {
                url: url.to_owned(),
                body,
            });
        }
        self.target.commit(&pages).map_err(SyncError::Target)?;
        (self.progress)(what, self.counts);
        Ok(())
    }

    fn pulls(&mut self) -> Result<(), SyncError> {
        let cursor = self.load("pulls")?;
        let Cursor { floor, etag } = self.floor(cursor);
        let api = self.client.api_url().to_owned();
        let repo = self.repo;
        let mut url = Some(format!(
            "{api}/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page=100"
        ));
        let mut newest: Option<Timestamp> = None;
        let mut first_etag = None;
        let mut pages = 0;
        while let Some(u) = url.take() {
            pages += 1;
            let conditional = if pages == 1 { etag.as_deref() } else { None };
            let (body, next, page_etag) = match self.client.get(&u, conditional)? {
                Fetched::NotModified => {
                    self.counts.unchanged += 1;
                    return Ok(());
                }
                Fetched::Page { body, next, etag } => (body, next, etag),
            };
            if pages == 1 {
                first_etag = page_etag;
            }
            let mut keep = Vec::new();
            let mut reached_floor = false;
            for mut pr in parse_array(&u, &body)? {
                let updated = time_of(&pr, "updated_at");
                newest = newest.max(updated);
                if let (Some(f), Some(t)) = (floor, updated)
                    && t < f
                {
                    reached_floor = true;
                    break;
                }
                let number =
                    pr.get("number")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| SyncError::BadBody {
                            url: u.clone(),
                            message: "a pull request without a number".to_owned(),
                        })?;
                let base = format!("{api}/repos/{repo}/pulls/{number}");
                let reviews = fetch_all(self.client, &format!("{base}/reviews?per_page=100"))?;
                let commits = fetch_all(self.client, &format!("{base}/commits?per_page=100"))?;
                self.counts.reviews += reviews.len() as u64;
                if let Some(o) = pr.as_object_mut() {
                    o.insert("reviews".to_owned(), Value::Array(reviews));
                    o.insert("commits".to_owned(), Value::Array(commits));
                }
                keep.push(pr);
            }
            self.counts.pulls += keep.len() as u64;
            self.commit(&u, keep, "pull requests")?;
            if !reached_floor && pages < MAX_PAGES {
                url = next;
            }
        }
        if let Some(newest) = newest {
            self.save("pulls", newest, first_etag)?;
        }
        Ok(())
    }

    fn deployments(&mut self) -> Result<(), SyncError> {
        let cursor = self.load("deployments")?;
        let floor = self.floor(cursor).floor;
        let api = self.client.api_url().to_owned();
        let repo = self.repo;
        let first = format!("{api}/repos/{repo}/deployments?per_page=100");
        let mut horizon = Horizon::default();
        self.walk_by_creation(&first, floor, "deployments", |walk, mut d| {
            let id = d.get("id").and_then(Value::as_u64).unwrap_or(0);
            let statuses = fetch_all(
                walk.client,
                &format!("{api}/repos/{repo}/deployments/{id}/statuses?per_page=100"),
            )?;
            // Statuses are listed newest first.
            let finished = statuses.first().is_some_and(|s| {
                matches!(
                    s.get("state").and_then(Value::as_str),
                    Some("success" | "failure" | "error" | "inactive")
                )
            });
            horizon.see(time_of(&d, "created_at"), finished);
            if let Some(o) = d.as_object_mut() {
                o.insert("statuses".to_owned(), Value::Array(statuses));
            }
            walk.counts.deployments += 1;
            Ok(d)
        })?;
        if let Some(f) = horizon.floor() {
            self.save("deployments", f, None)?;
        }
        Ok(())
    }

    fn runs(&mut self) -> Result<(), SyncError> {
        let cursor = self.load("runs")?;
        let floor = self.floor(cursor).floor;
        let api = self.client.api_url().to_owned();
        let mut first = format!("{api}/repos/{}/actions/runs?per_page=100", self.repo);
        if let Some(f) = floor {
            // `created=>=TIME`, the search qualifier the endpoint takes.
            first.push_str(&format!("&created=%3E%3D{f}"));
        }
        let mut horizon = Horizon::default();
        self.walk_by_creation(&first, floor, "workflow runs", |walk, run| {
            let finished = run.get("status").and_then(Value::as_str) == Some("completed");
            horizon.see(time_of(&run, "created_at"), finished);
            walk.counts.runs += 1;
            Ok(run)
        })?;
        if let Some(f) = horizon.floor() {
            self.save("runs", f, None)?;
        }
        Ok(())
    }

    fn releases(&mut self) -> Result<(), SyncError> {
        let cursor = self.load("releases")?;
        let floor = self.floor(cursor).floor;
        let first = format!(
            "{}/repos/{}/releases?per_page=100",
            self.client.api_url(),
            self.repo
        );
        let mut newest = None;
        self.walk_by_creation(&first, floor, "releases", |walk, r| {
            newest = newest.max(time_of(&r, "created_at"));
            walk.counts.releases += 1;
            Ok(r)
        })?;
        if let Some(f) = newest {
            self.save("releases", f, None)?;
        }
        Ok(())
    }

    /// Walks a list sorted by `created_at`, newest first, down to `floor`;
    /// `each` completes an item (fetching what belongs to it); every page's
    /// items are committed as one batch.
    fn walk_by_creation(
        &mut self,
        first: &str,
        floor: Option<Timestamp>,
        what: &str,
        mut each: impl FnMut(&mut Walk<'_>, Value) -> Result<Value, SyncError>,
    ) -> Result<(), SyncError> {
        let mut url = Some(first.to_owned());
        let mut pages = 0;
        while let Some(u) = url.take() {
            pages += 1;
            let Fetched::Page { body, next, .. } = self.client.get(&u, None)? else {
                return Ok(());
            };
            let mut keep = Vec::new();
            let mut reached_floor = false;
            for item in list_items(&u, &body)? {
                if let (Some(f), Some(t)) = (floor, time_of(&item, "created_at"))
                    && t < f
                {
                    reached_floor = true;
                    break;
                }
                keep.push(each(self, item)?);
            }
            self.commit(&u, keep, what)?;
            if !reached_floor && pages < MAX_PAGES {
                url = next;
            }
        }
        Ok(())
    }
}

/// The next floor of a list by creation: the oldest unfinished item's
/// creation, at most [`LOOKBACK_DAYS`] before the newest; else the newest.
#[derive(Default)]
struct Horizon {
    newest: Option<Timestamp>,
    oldest_unfinished: Option<Timestamp>,
}

impl Horizon {
    fn see(&mut self, created: Option<Timestamp>, finished: bool) {
        self.newest = self.newest.max(created);
        if !finished && let Some(c) = created {
            self.oldest_unfinished = Some(self.oldest_unfinished.map_or(c, |o| o.min(c)));
        }
    }

    fn floor(&self) -> Option<Timestamp> {
        let newest = self.newest?;
        let limit = newest
            .checked_sub(SignedDuration::from_hours(24 * LOOKBACK_DAYS))
            .unwrap_or(newest);
        Some(match self.oldest_unfinished {
            Some(o) => o.max(limit),
            None => newest,
        })
    }
}

/// Every element of a paginated array endpoint, following `Link` headers.
fn fetch_all(client: &mut Client, first: &str) -> Result<Vec<Value>, SyncError> {
    let mut out = Vec::new();
    let mut url = Some(first.to_owned());
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        let Fetched::Page { body, next, .. } = client.get(&u, None)? else {
            break;
        };
        out.extend(parse_array(&u, &body)?);
        if pages < MAX_PAGES {
            url = next;
        }
    }
    Ok(out)
}

/// The items of a list page: an array, or `workflow_runs` of an object.
fn list_items(url: &str, body: &[u8]) -> Result<Vec<Value>, SyncError> {
    let value = parse(url, body)?;
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut o) => match o.remove("workflow_runs") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(bad(
                url,
                "is neither an array nor an object with workflow_runs",
            )),
        },
        _ => Err(bad(url, "is not a JSON array")),
    }
}

fn parse_array(url: &str, body: &[u8]) -> Result<Vec<Value>, SyncError> {
    match parse(url, body)? {
        Value::Array(items) => Ok(items),
        _ => Err(bad(url, "is not a JSON array")),
    }
}

fn parse(url: &str, body: &[u8]) -> Result<Value, SyncError> {
    serde_json::from_slice(body).map_err(|e| bad(url, &format!("is not valid JSON: {e}")))
}

fn bad(url: &str, message: &str) -> SyncError {
    SyncError::BadBody {
        url: url.to_owned(),
        message: format!("the response {message}"),
    }
}

fn time_of(v: &Value, field: &str) -> Option<Timestamp> {
    v.get(field)?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons() {
        let t = |s: &str| s.parse::<Timestamp>().ok();
        let check = |seen: &[(&str, bool)], expected: Option<&str>| {
            let mut h = Horizon::default();
            for (at, finished) in seen {
                h.see(t(at), *finished);
            }
            assert_eq!(h.floor(), expected.and_then(t), "{seen:?}");
        };
        check(&[], None);
        check(
            &[
                ("2025-03-02T00:00:00Z", true),
                ("2025-03-01T00:00:00Z", true),
            ],
            Some("2025-03-02T00:00:00Z"),
        );
        check(
            &[
                ("2025-03-02T00:00:00Z", true),
                ("2025-03-01T00:00:00Z", false),
            ],
            Some("2025-03-01T00:00:00Z"),
        );
        check(
            &[
                ("2025-03-20T00:00:00Z", true),
                ("2025-03-01T00:00:00Z", false),
            ],
            Some("2025-03-13T00:00:00Z"),
        );
    }
}
