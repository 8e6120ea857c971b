//! What every provider's sync does the same way: walking a list page by
//! page down to a floor ([`Walk::walk_list`]), however the provider pages
//! ([`Paging`]: `Link` headers, `offset`/`limit`/`more`,
//! `startAt`/`maxResults`/`total`, or a `nextPageToken`); committing each page's items as one
//! batch of one body each ([`Walk::commit`]); the cursors in the store
//! ([`Walk::load`], [`Walk::floor`], [`Walk::save`]); the next floor of a
//! list whose items may still change ([`Horizon`]); and the counts the
//! progress shows ([`Counts`]).
//!
//! A kind's cursor (`PROVIDER:SCOPE:KIND`, JSON `{"floor": TIME}`, with an
//! `etag` for GitHub's pulls) is stored only once its whole walk is
//! committed, so a run killed midway leaves the old cursor and the next run
//! walks the same range again; what was stored already is recognised (the
//! same body) and counts once.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::client::{Client, Fetched, SyncError};
use crate::{Page, Target};

/// How far before the newest item an unfinished one (a deployment, a run, an
/// incident) can hold back the next run's floor.
pub const LOOKBACK_DAYS: i64 = 7;

/// The most pages followed for one list.
pub const MAX_PAGES: usize = 1000;

/// What a sync fetched and stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pull or merge requests stored (with their reviews or notes, and commits).
    pub pulls: u64,
    /// Reviews (GitHub) or notes (GitLab) stored with them.
    pub reviews: u64,
    /// Deployments stored (GitHub's with their statuses).
    pub deployments: u64,
    /// Workflow runs or pipelines stored.
    pub runs: u64,
    /// CI jobs stored with their runs or pipelines.
    pub jobs: u64,
    /// Releases stored.
    pub releases: u64,
    /// Issues stored (GitHub's and GitLab's as listed, Jira's with their
    /// changelog).
    pub issues: u64,
    /// Incidents stored (PagerDuty's with their log entries).
    pub incidents: u64,
    /// Log entries stored with the incidents.
    pub log_entries: u64,
    /// Lists that had not changed since the last run (`304`).
    pub unchanged: u64,
}

/// How a list says where its next page is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// The `Link` header's `rel="next"` (GitHub; GitLab's offset and keyset
    /// pagination alike). The items are the body's array, or the array
    /// under this key of an object (GitHub's `workflow_runs`, `jobs`).
    Link(Option<&'static str>),
    /// PagerDuty's classic pagination: the items under the key, `more`
    /// while there are more, the next page at `offset` + `limit`.
    Offset(&'static str),
    /// Jira's: the items under the key, the next page at `startAt` +
    /// `maxResults` while that is below `total`.
    StartAt(&'static str),
    /// Jira Cloud's enhanced search: the items under the key, the next page
    /// at the body's `nextPageToken` (absent, `null` or empty on the last
    /// page, where `isLast` may also say so; there is no `total`).
    Token(&'static str),
}

impl Paging {
    /// A page's items and the next page's URL.
    pub fn split(
        self,
        url: &str,
        body: &[u8],
        link: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>), SyncError> {
        let value = parse(url, body)?;
        match self {
            Paging::Link(key) => Ok((items(url, value, key)?, link)),
            Paging::Offset(key) => {
                let more = value.get("more").and_then(Value::as_bool) == Some(true);
                let offset = number(&value, "offset");
                let limit = number(&value, "limit");
                let items = items(url, value, Some(key))?;
                let next = (more && !items.is_empty())
                    .then(|| with_query(url, "offset", offset + limit.max(items.len() as u64)));
                Ok((items, next))
            }
            Paging::StartAt(key) => {
                let start = number(&value, "startAt");
                let total = number(&value, "total");
                let items = items(url, value, Some(key))?;
                let after = start + items.len() as u64;
                let next =
                    (!items.is_empty() && after < total).then(|| with_query(url, "startAt", after));
                Ok((items, next))
            }
            Paging::Token(key) => {
                let token = next_token(&value);
                let items = items(url, value, Some(key))?;
                let next = token
                    .filter(|_| !items.is_empty())
                    .map(|t| with_query_text(url, "nextPageToken", &t));
                Ok((items, next))
            }
        }
    }
}

/// A page's `nextPageToken`, unless it is the last page.
fn next_token(v: &Value) -> Option<String> {
    if v.get("isLast").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    v.get("nextPageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn number(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// The items of a page: the body itself if an array, else its `key`.
fn items(url: &str, value: Value, key: Option<&str>) -> Result<Vec<Value>, SyncError> {
    match (value, key) {
        (Value::Array(items), _) => Ok(items),
        (Value::Object(mut o), Some(key)) => match o.remove(key) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(bad(
                url,
                &format!("is neither an array nor an object with {key}"),
            )),
        },
        _ => Err(bad(url, "is not a JSON array")),
    }
}

/// `url` with query parameter `name` set to `value` (replaced or added).
pub fn with_query(url: &str, name: &str, value: u64) -> String {
    with_query_text(url, name, &value.to_string())
}

/// `url` with query parameter `name` set to `value`, percent-encoded
/// (replaced or added).
pub fn with_query_text(url: &str, name: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .map(str::to_owned)
        .collect();
    parts.push(format!("{name}={}", percent_encoded(value)));
    format!("{path}?{}", parts.join("&"))
}

/// `s` with every byte but RFC 3986's unreserved characters as `%XX`.
pub fn percent_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A sync's walk through one scope (a repository, a project, a service):
/// the client, where things are stored, and what the user sees.
pub struct Walk<'a> {
    /// The API client.
    pub client: &'a mut Client,
    /// Where pages and cursors go.
    pub target: &'a mut dyn Target,
    /// The cursors' key prefix: `github:OWNER/NAME`, `gitlab:GROUP/NAME`.
    pub scope: String,
    /// `--since`: how far back a first run reaches.
    pub since: Option<Timestamp>,
    /// What was stored so far.
    pub counts: &'a mut Counts,
    /// Hears the counts after every committed page.
    pub progress: &'a mut dyn FnMut(&str, &Counts),
}

/// A kind's stored cursor.
#[derive(Default)]
pub struct Cursor {
    /// Where the next run stops.
    pub floor: Option<Timestamp>,
    /// The first page's `ETag` of the last walk.
    pub etag: Option<String>,
}

impl Walk<'_> {
    fn key(&self, kind: &str) -> String {
        format!("{}:{kind}", self.scope)
    }

    /// The cursor stored for `kind`; an unreadable one counts as none.
    pub fn load(&mut self, kind: &str) -> Result<Cursor, SyncError> {
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
    pub fn floor(&self, cursor: Cursor) -> Cursor {
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

    /// The floor of this run for `kind`, from its cursor and `--since`.
    pub fn floor_of(&mut self, kind: &str) -> Result<Option<Timestamp>, SyncError> {
        let cursor = self.load(kind)?;
        Ok(self.floor(cursor).floor)
    }

    /// Stores `kind`'s cursor; call only after its whole walk was committed.
    pub fn save(
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
    pub fn commit(&mut self, url: &str, items: Vec<Value>, what: &str) -> Result<(), SyncError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut pages = Vec::new();
        for item in items {
            let body = serde_json::to_vec(&[item]).map_err(|e| bad(url, &e.to_string()))?;
            pages.push(Page {
                url: url.to_owned(),
                body,
            });
        }
        self.target.commit(&pages).map_err(SyncError::Target)?;
        (self.progress)(what, self.counts);
        Ok(())
    }

    /// Walks a list sorted newest first by `field`, down to `floor`; `each`
    /// completes an item (fetching what belongs to it); every page's items
    /// are committed as one batch.
    pub fn walk_list(
        &mut self,
        first: &str,
        paging: Paging,
        floor: Option<Timestamp>,
        field: &str,
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
            let (items, next) = paging.split(&u, &body, next)?;
            let mut keep = Vec::new();
            let mut reached_floor = false;
            for item in items {
                if let (Some(f), Some(t)) = (floor, time_at(&item, field))
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

/// Every element of a paginated list (what belongs to one item: a pull's
/// reviews, a pipeline's jobs, an incident's log entries).
pub fn fetch_all(
    client: &mut Client,
    first: &str,
    paging: Paging,
) -> Result<Vec<Value>, SyncError> {
    let mut out = Vec::new();
    let mut url = Some(first.to_owned());
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        let Fetched::Page { body, next, .. } = client.get(&u, None)? else {
            break;
        };
        let (items, next) = paging.split(&u, &body, next)?;
        out.extend(items);
        if pages < MAX_PAGES {
            url = next;
        }
    }
    Ok(out)
}

/// One object (`GET` of a single item).
pub fn fetch_one(client: &mut Client, url: &str) -> Result<Value, SyncError> {
    match client.get(url, None)? {
        Fetched::Page { body, .. } => parse(url, &body),
        Fetched::NotModified => Err(bad(url, "was 304 Not Modified to a plain request")),
    }
}

/// The next floor of a list whose items can still change: the oldest
/// unfinished item's time, at most [`LOOKBACK_DAYS`] before the newest;
/// else the newest.
#[derive(Default)]
pub struct Horizon {
    newest: Option<Timestamp>,
    oldest_unfinished: Option<Timestamp>,
}

impl Horizon {
    /// Sees an item of that time, finished or not.
    pub fn see(&mut self, at: Option<Timestamp>, finished: bool) {
        self.newest = self.newest.max(at);
        if !finished && let Some(c) = at {
            self.oldest_unfinished = Some(self.oldest_unfinished.map_or(c, |o| o.min(c)));
        }
    }

    /// The next run's floor, if anything was seen.
    pub fn floor(&self) -> Option<Timestamp> {
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

/// Attaches what belongs to an item (`reviews`, `jobs`, `log_entries`)
/// under `key`, as an export has it.
pub fn attach(item: &mut Value, key: &str, values: Vec<Value>) {
    if let Some(o) = item.as_object_mut() {
        o.insert(key.to_owned(), Value::Array(values));
    }
}

/// The body as JSON.
pub fn parse(url: &str, body: &[u8]) -> Result<Value, SyncError> {
    serde_json::from_slice(body).map_err(|e| bad(url, &format!("is not valid JSON: {e}")))
}

/// A body that is not what the endpoint documents.
pub fn bad(url: &str, message: &str) -> SyncError {
    SyncError::BadBody {
        url: url.to_owned(),
        message: format!("the response {message}"),
    }
}

/// The time at a field path (`created_at`, `fields.updated`): RFC 3339, or
/// Jira's `2025-03-11T15:00:00.000+0000` (an offset without a colon).
pub fn time_at(v: &Value, path: &str) -> Option<Timestamp> {
    let mut at = v;
    for part in path.split('.') {
        at = at.get(part)?;
    }
    parse_time(at.as_str()?)
}

fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse() {
        return Some(t);
    }
    // `+0000` → `+00:00`.
    let n = s.len();
    let sign = s.as_bytes().get(n.checked_sub(5)?)?;
    if matches!(sign, b'+' | b'-') && s[n - 4..].bytes().all(|b| b.is_ascii_digit()) {
        format!("{}:{}", &s[..n - 2], &s[n - 2..]).parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    #[test]
    fn times_of_every_provider() {
        let check = |s: &str, expected: Option<&str>| {
            assert_eq!(
                parse_time(s).map(|t| t.to_string()).as_deref(),
                expected,
                "{s}"
            );
        };
        check("2025-03-11T15:00:00Z", Some("2025-03-11T15:00:00Z"));
        check("2025-03-11T15:00:00.000+0000", Some("2025-03-11T15:00:00Z"));
        check("2025-03-11T17:00:00.000+0200", Some("2025-03-11T15:00:00Z"));
        check("2025-03-11T15:00:00.000-0130", Some("2025-03-11T16:30:00Z"));
        check("yesterday", None);
        check("+0000", None);
        check("", None);
    }

    #[test]
    fn pages_of_every_kind() {
        let check = |paging: Paging, url: &str, body: &str, expected: (usize, Option<&str>)| {
            let (items, next) = paging
                .split(url, body.as_bytes(), Some("http://h/link".to_owned()))
                .unwrap();
            assert_eq!((items.len(), next.as_deref()), expected, "{body}");
        };
        check(
            Paging::Link(None),
            "http://h/a",
            "[1,2]",
            (2, Some("http://h/link")),
        );
        check(
            Paging::Link(Some("jobs")),
            "http://h/a",
            r#"{"total_count":1,"jobs":[1]}"#,
            (1, Some("http://h/link")),
        );
        check(
            Paging::Offset("incidents"),
            "http://h/incidents?limit=2&offset=0",
            r#"{"incidents":[1,2],"limit":2,"offset":0,"more":true}"#,
            (2, Some("http://h/incidents?limit=2&offset=2")),
        );
        check(
            Paging::Offset("incidents"),
            "http://h/incidents?offset=2&limit=2",
            r#"{"incidents":[3],"limit":2,"offset":2,"more":false}"#,
            (1, None),
        );
        check(
            Paging::StartAt("issues"),
            "http://h/search?jql=x&startAt=0&maxResults=2",
            r#"{"issues":[1,2],"startAt":0,"maxResults":2,"total":5}"#,
            (2, Some("http://h/search?jql=x&maxResults=2&startAt=2")),
        );
        check(
            Paging::StartAt("issues"),
            "http://h/search?startAt=4",
            r#"{"issues":[5],"startAt":4,"maxResults":2,"total":5}"#,
            (1, None),
        );
        // An empty page ends a walk whatever the counts say.
        check(
            Paging::StartAt("issues"),
            "http://h/search?startAt=4",
            r#"{"issues":[],"startAt":4,"maxResults":2,"total":50}"#,
            (0, None),
        );
        check(
            Paging::Token("issues"),
            "http://h/search/jql?jql=x&maxResults=2",
            r#"{"issues":[1,2],"nextPageToken":"Ch0j+/=","isLast":false}"#,
            (
                2,
                Some("http://h/search/jql?jql=x&maxResults=2&nextPageToken=Ch0j%2B%2F%3D"),
            ),
        );
        check(
            Paging::Token("issues"),
            "http://h/search/jql?jql=x&nextPageToken=a&maxResults=2",
            r#"{"issues":[3],"nextPageToken":"b"}"#,
            (
                1,
                Some("http://h/search/jql?jql=x&maxResults=2&nextPageToken=b"),
            ),
        );
        // The last page: no token (or `null`, or `isLast`), whatever else.
        for last in [
            r#"{"issues":[5]}"#,
            r#"{"issues":[5],"nextPageToken":null}"#,
            r#"{"issues":[5],"nextPageToken":"","isLast":false}"#,
            r#"{"issues":[5],"nextPageToken":"c","isLast":true}"#,
            r#"{"issues":[],"nextPageToken":"c"}"#,
        ] {
            let items = usize::from(!last.contains("[]"));
            check(
                Paging::Token("issues"),
                "http://h/s?x=1",
                last,
                (items, None),
            );
        }
        assert!(
            Paging::Token("issues")
                .split("http://h/s", br#"{"issueIds":[1]}"#, None)
                .is_err()
        );
        assert!(
            Paging::Offset("incidents")
                .split("http://h/i", b"[1]", None)
                .is_ok()
        );
        assert!(
            Paging::Offset("incidents")
                .split("http://h/i", br#"{"x":1}"#, None)
                .is_err()
        );
    }
}
