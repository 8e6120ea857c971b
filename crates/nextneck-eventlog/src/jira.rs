//! Jira's REST search export with the changelog
//! (`/rest/api/2/search?jql=...&expand=changelog`, or `api/3`): one JSON
//! object with `issues`, or several (pages), one after another.
//!
//! Each issue is an item: it enters its first status when created (the
//! `fromString` of its earliest status change, else its current status),
//! then the `toString` of every status change (`changelog.histories[]`,
//! items whose `field` is `status`) at the change's time. `issuetype` is
//! its type. A changelog Jira cut short (`total` above the histories it
//! holds) is an error: the issue's flow would be wrong.

use nextneck_model::flow::EventLog;
use serde::Deserialize;

use crate::document::{shape_error, time_field};
use crate::{Ctx, Error, push_entry};

#[derive(Deserialize)]
struct Search {
    issues: Vec<Issue>,
}

#[derive(Deserialize)]
struct Issue {
    #[serde(deserialize_with = "key")]
    key: String,
    fields: Fields,
    changelog: Option<Changelog>,
}

#[derive(Deserialize)]
struct Fields {
    #[serde(deserialize_with = "created")]
    created: i64,
    status: Option<Named>,
    issuetype: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Changelog {
    total: Option<u64>,
    histories: Vec<History>,
}

#[derive(Deserialize)]
struct History {
    #[serde(deserialize_with = "created")]
    created: i64,
    items: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: Option<String>,
    #[serde(rename = "fieldId")]
    field_id: Option<String>,
    #[serde(rename = "fromString")]
    from_string: Option<String>,
    #[serde(rename = "toString")]
    to_string: Option<String>,
}

fn key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let key: String = Deserialize::deserialize(d)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(serde::de::Error::custom(
            "field \"key\": an issue has an empty key; export the issues with their keys",
        ));
    }
    Ok(key.to_owned())
}

fn created<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    time_field(d, "created")
}

impl Change {
    fn is_status(&self) -> bool {
        self.field_id.as_deref() == Some("status")
            || self
                .field
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case("status"))
    }
}

pub(crate) fn read(text: &[u8], ctx: &Ctx<'_>, log: &mut EventLog) -> Result<(), Error> {
    let what = "Jira's search export with expand=changelog";
    for page in serde_json::Deserializer::from_slice(text).into_iter::<Search>() {
        let page = page.map_err(|e| shape_error(&e, what, ctx))?;
        for issue in page.issues {
            read_issue(issue, text, ctx, log)?;
        }
    }
    Ok(())
}

/// The line where `"KEY"` first occurs in `text` (the issue's `key`
/// field: it comes before its changelog).
fn line_of(text: &[u8], key: &str) -> u64 {
    let quoted = format!("\"{key}\"");
    let at = memchr::memmem::find(text, quoted.as_bytes()).unwrap_or(0);
    memchr::memchr_iter(b'\n', &text[..at]).count() as u64 + 1
}

fn read_issue(issue: Issue, text: &[u8], ctx: &Ctx<'_>, log: &mut EventLog) -> Result<(), Error> {
    let key = issue.key.as_str();
    let mut changes: Vec<(i64, Option<String>, String)> = Vec::new();
    if let Some(changelog) = issue.changelog {
        let held = changelog.histories.len() as u64;
        if let Some(total) = changelog.total.filter(|&t| t > held) {
            return Err(ctx.line(
                line_of(text, key),
                format!(
                    "field \"changelog\": issue {key} holds {held} of its {total} changes (Jira cuts a search's changelog short); export that issue's whole changelog (/rest/api/2/issue/{key}/changelog) or leave it out of the search"
                ),
            ));
        }
        for h in changelog.histories {
            for c in h.items.into_iter().filter(Change::is_status) {
                if let Some(to) = c.to_string.filter(|t| !t.trim().is_empty()) {
                    changes.push((h.created, c.from_string, to));
                }
            }
        }
    }
    // Stable: changes at the same time keep their order in the export.
    changes.sort_by_key(|c| c.0);
    let first = changes
        .first()
        .and_then(|c| c.1.clone())
        .or_else(|| issue.fields.status.map(|s| s.name));
    let item_type = issue.fields.issuetype.map(|t| t.name);
    if let Some(first) = first.filter(|f| !f.trim().is_empty()) {
        push_entry(
            log,
            key,
            first.trim(),
            issue.fields.created,
            item_type.as_deref(),
        );
    }
    for (at, _, to) in &changes {
        push_entry(log, key, to.trim(), *at, item_type.as_deref());
    }
    Ok(())
}
