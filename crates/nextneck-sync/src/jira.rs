//! Jira's REST API: a project's issues with their changelog, most recently
//! updated first down to a floor. Jira Cloud ([`Api::Cloud`]) is searched
//! with the enhanced search of API v3
//! (`/rest/api/3/search/jql?jql=...&fields=...&expand=changelog`), paged by
//! `nextPageToken` (Cloud removed `/rest/api/2/search`); Server and Data
//! Center ([`Api::Server`]) with `/rest/api/2/search?jql=...&expand=changelog`,
//! paged by `startAt`, `maxResults` and `total`. Either way what is stored is
//! what `nextneck import jira` reads: an issue whose status changes become
//! stage transitions (v3's rich-text fields, in the Atlassian Document
//! Format, are not among those read for the flow).
//!
//! A search embeds at most 100 histories of an issue's changelog; when
//! `changelog.total` says there are more, the whole changelog is fetched
//! (`/rest/api/{3,2}/issue/KEY/changelog`, else the issue itself with
//! `expand=changelog`, as Server and Data Center give it whole).
//!
//! Cursor: `jira:KEY:issues`, the newest `fields.updated` seen (the same for
//! both APIs, so a site that moves to the other continues where it was).

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::Target;
use crate::client::{Client, SyncError};
use crate::walk::{Counts, Paging, Walk, bad, fetch_all, fetch_one, time_at};

/// The fields the enhanced search is asked for (it returns only `id`
/// otherwise): those the Jira reader reads.
const FIELDS: &str = "summary,description,issuetype,project,status,labels,reporter,creator,created,updated,resolutiondate";

/// Which of Jira's search APIs a site is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Jira Cloud: `/rest/api/3/search/jql`, paged by `nextPageToken`.
    Cloud,
    /// Jira Server and Data Center: `/rest/api/2/search`, paged by `startAt`.
    Server,
}

impl Api {
    /// `cloud` or `server` (any case), as `--jira-api` and `[sync.jira] api`
    /// take it.
    pub fn parse(s: &str) -> Option<Api> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cloud" => Some(Api::Cloud),
            "server" => Some(Api::Server),
            _ => None,
        }
    }

    /// The API of a site by its URL: Cloud for `https://SITE.atlassian.net`
    /// (and the OAuth gateway `https://api.atlassian.com/ex/jira/CLOUD_ID`),
    /// else Server.
    pub fn of_url(api_url: &str) -> Api {
        let rest = api_url.split_once("://").map_or(api_url, |(_, r)| r);
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        let site = host.ends_with(".atlassian.net");
        let gateway = host == "api.atlassian.com" && path.starts_with("ex/jira/");
        if site || gateway {
            Api::Cloud
        } else {
            Api::Server
        }
    }

    /// The first page of a project's issues with their changelog, most
    /// recently updated first.
    pub fn search_url(self, api: &str, key: &str) -> String {
        let jql = format!("jql=project%20%3D%20%22{key}%22%20ORDER%20BY%20updated%20DESC");
        match self {
            Api::Cloud => format!(
                "{api}/rest/api/3/search/jql?{jql}&fields={FIELDS}&expand=changelog&maxResults=100"
            ),
            Api::Server => {
                format!("{api}/rest/api/2/search?{jql}&expand=changelog&startAt=0&maxResults=100")
            }
        }
    }

    fn paging(self) -> Paging {
        match self {
            Api::Cloud => Paging::Token("issues"),
            Api::Server => Paging::StartAt("issues"),
        }
    }

    fn version(self) -> u8 {
        match self {
            Api::Cloud => 3,
            Api::Server => 2,
        }
    }
}

/// Syncs one project's issues with their changelog into `target`, asking
/// the API of the client's URL ([`Api::of_url`]); `progress` hears the
/// counts after every page.
pub fn sync_project(
    client: &mut Client,
    target: &mut dyn Target,
    key: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    let api = Api::of_url(client.api_url());
    sync_with(api, client, target, key, since, counts, progress)
}

/// [`sync_project`] of a Jira Cloud site, whatever its URL.
pub fn sync_cloud(
    client: &mut Client,
    target: &mut dyn Target,
    key: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    sync_with(Api::Cloud, client, target, key, since, counts, progress)
}

/// [`sync_project`] of a Jira Server or Data Center, whatever its URL.
pub fn sync_server(
    client: &mut Client,
    target: &mut dyn Target,
    key: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    sync_with(Api::Server, client, target, key, since, counts, progress)
}

/// One project's sync through `api`.
fn sync_with(
    version: Api,
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
    let first = version.search_url(&api, key);
    let mut newest = None;
    walk.walk_list(
        &first,
        version.paging(),
        floor,
        "fields.updated",
        "issues",
        |walk, issue| {
            newest = newest.max(time_at(&issue, "fields.updated"));
            walk.counts.issues += 1;
            whole_changelog(walk.client, version, &api, &first, issue)
        },
    )?;
    match newest {
        Some(f) => walk.save("issues", f, None),
        None => Ok(()),
    }
}

/// The issue with its whole changelog, fetched when the search cut it short.
fn whole_changelog(
    client: &mut Client,
    version: Api,
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
    let v = version.version();
    let cloud = format!("{api}/rest/api/{v}/issue/{key}/changelog?startAt=0&maxResults=100");
    let histories = match fetch_all(client, &cloud, Paging::StartAt("values")) {
        Ok(h) => h,
        Err(SyncError::NoAccess { status: 404, .. }) => {
            let url = format!("{api}/rest/api/{v}/issue/{key}?expand=changelog&fields=none");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_of_a_site() {
        for (url, api) in [
            ("https://acme.atlassian.net", Api::Cloud),
            ("https://ACME.Atlassian.NET/", Api::Cloud),
            ("https://acme.atlassian.net:443", Api::Cloud),
            (
                "https://api.atlassian.com/ex/jira/1324a887-45db-1bf4",
                Api::Cloud,
            ),
            ("https://api.atlassian.com", Api::Server),
            ("https://jira.acme.com", Api::Server),
            ("https://jira.acme.com/jira", Api::Server),
            ("https://atlassian.net.acme.com", Api::Server),
            ("http://127.0.0.1:8080", Api::Server),
        ] {
            assert_eq!(Api::of_url(url), api, "{url}");
        }
        assert_eq!(Api::parse(" Cloud"), Some(Api::Cloud));
        assert_eq!(Api::parse("server"), Some(Api::Server));
        assert_eq!(Api::parse("datacenter"), None);
    }

    #[test]
    fn search_urls() {
        assert_eq!(
            Api::Cloud.search_url("https://a.atlassian.net", "SHOP"),
            "https://a.atlassian.net/rest/api/3/search/jql?jql=project%20%3D%20%22SHOP%22%20ORDER%20BY%20updated%20DESC&fields=summary,description,issuetype,project,status,labels,reporter,creator,created,updated,resolutiondate&expand=changelog&maxResults=100"
        );
        assert_eq!(
            Api::Server.search_url("https://jira.acme.com", "SHOP"),
            "https://jira.acme.com/rest/api/2/search?jql=project%20%3D%20%22SHOP%22%20ORDER%20BY%20updated%20DESC&expand=changelog&startAt=0&maxResults=100"
        );
    }
}
