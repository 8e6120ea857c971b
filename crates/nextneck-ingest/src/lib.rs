//! The wire formats nextneck reads, converted explicitly into normalized
//! events ([`nextneck_model::events`]): webhooks of GitHub, GitLab,
//! PagerDuty, Opsgenie and Jira, their API exports, JUnit XML reports, and
//! nextneck's generic NDJSON events. Also the signature checks those
//! webhooks use ([`signature`]).
//!
//! Only this crate knows these formats. Everything is a pure function of a
//! delivery's headers and body, so the server's check before acknowledging,
//! the processing after it, `nextneck import` and `nextneck reprocess` all
//! derive the same events from the same bytes.

use nextneck_model::events::Event;
use sha2::{Digest, Sha256};

mod generic;
mod github;
mod gitlab;
mod jira;
mod json;
mod junit;
mod opsgenie;
mod pagerduty;
pub mod signature;

pub use generic::{TYPES as EVENT_TYPES, closed_words as event_closed_words, parse_events};
pub use json::{escape_control, parse_time};
pub use junit::MAX_DEPTH as MAX_XML_DEPTH;

/// A source of deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// GitHub webhooks and `gh api` exports.
    Github,
    /// GitLab webhooks and `glab api` exports.
    Gitlab,
    /// PagerDuty v3 webhooks and incident exports.
    Pagerduty,
    /// Opsgenie webhooks.
    Opsgenie,
    /// Jira webhooks and issue searches with changelog.
    Jira,
    /// nextneck's generic NDJSON events.
    Events,
    /// JUnit XML test reports.
    Junit,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 7] = [
        Provider::Github,
        Provider::Gitlab,
        Provider::Pagerduty,
        Provider::Opsgenie,
        Provider::Jira,
        Provider::Events,
        Provider::Junit,
    ];

    /// The name in URLs, commands and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Pagerduty => "pagerduty",
            Provider::Opsgenie => "opsgenie",
            Provider::Jira => "jira",
            Provider::Events => "events",
            Provider::Junit => "junit",
        }
    }

    /// The provider of that name.
    pub fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The largest body accepted: 25 MiB for GitHub and GitLab (their own
    /// limit) and JUnit reports, 1 MiB for the others.
    pub fn body_limit(self) -> usize {
        match self {
            Provider::Github | Provider::Gitlab | Provider::Junit => 25 * 1024 * 1024,
            _ => 1024 * 1024,
        }
    }

    /// The header carrying the provider's delivery id, used to deduplicate
    /// redeliveries.
    pub fn delivery_id_header(self) -> Option<&'static str> {
        match self {
            Provider::Github => Some("x-github-delivery"),
            Provider::Gitlab => Some("idempotency-key"),
            Provider::Pagerduty => Some("x-webhook-id"),
            Provider::Jira => Some("x-atlassian-webhook-identifier"),
            Provider::Opsgenie | Provider::Events | Provider::Junit => None,
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IngestError {
    /// Not JSON at all.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// A field is missing or has the wrong type or value.
    #[error("field {path}: {message}")]
    Field {
        /// The JSON path (`pull_request.merged_at`, `[3].head.sha`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A line of an NDJSON body is wrong.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong on it.
        source: Box<IngestError>,
    },
    /// Not well-formed XML, or not a JUnit report.
    #[error("line {line}, column {column}: {message}")]
    Xml {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
    /// The body is valid but not anything this provider sends.
    #[error("{0}")]
    Unrecognized(String),
}

/// What a delivery says.
#[derive(Clone, Debug, PartialEq)]
pub struct Converted {
    /// The event type, prefixed by the provider (`github:pull_request`,
    /// `pagerduty:incident.acknowledged`, `github:export`).
    pub event_type: String,
    /// The normalized events; `None` for an event type nextneck does not
    /// know (kept, acknowledged, ignored by metrics). `Some(vec![])` for a
    /// known type that states nothing the metrics use (a ping).
    pub events: Option<Vec<Event>>,
}

/// The value of header `name` (headers are stored with lower-case names).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The key a delivery is deduplicated on: the provider's delivery id
/// header when present and not empty, else `sha256:` and the body's SHA-256.
///
/// A JUnit report is one delivery per commit and run: its key hashes the
/// `x-nextneck-commit` and `x-nextneck-run` headers with the body.
pub fn dedupe_key(provider: Provider, headers: &[(String, String)], body: &[u8]) -> String {
    if provider == Provider::Junit {
        let mut h = Sha256::new();
        for name in ["x-nextneck-commit", "x-nextneck-run"] {
            h.update(header(headers, name).unwrap_or("").as_bytes());
            h.update([0]);
        }
        h.update(body);
        return format!("sha256:{}", hex::encode(h.finalize()));
    }
    provider
        .delivery_id_header()
        .and_then(|h| header(headers, h))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|id| {
            // A unique index cannot hold keys of any length (PostgreSQL's
            // b-tree refuses rows over about 2.7 kB): a long id is hashed.
            if id.len() > MAX_DELIVERY_ID {
                format!("id-sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
            } else {
                id.to_owned()
            }
        })
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body))))
}

/// The longest delivery id kept as it is in the dedupe key, in bytes.
pub const MAX_DELIVERY_ID: usize = 200;

/// The header of a generic-events delivery that is a part of a larger file
/// (`nextneck import events` stores a file in parts): the file's line number
/// of the part's first line, so that errors name the file's lines.
pub const FIRST_LINE_HEADER: &str = "x-nextneck-line";

/// Converts one delivery (a webhook request, or a file or a part of one
/// given to `nextneck import`) into normalized events.
///
/// Headers matter for GitHub (`X-GitHub-Event`; without it the event type is
/// inferred from the body, as for a saved payload file), for JUnit imports
/// (`x-nextneck-commit`, `x-nextneck-run`, `x-nextneck-file`) and for a part
/// of a generic-events file ([`FIRST_LINE_HEADER`]).
pub fn convert(
    provider: Provider,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Converted, IngestError> {
    match provider {
        Provider::Junit => junit::convert(headers, body),
        Provider::Events => generic::convert(first_line(headers), body),
        _ => {
            if provider == Provider::Github && form_encoded(headers, body) {
                return Err(IngestError::Unrecognized(
                    "the body is form-encoded (application/x-www-form-urlencoded), not JSON; set the webhook's content type to application/json in its GitHub settings".to_owned(),
                ));
            }
            let values = parse_json_documents(body)?;
            match provider {
                Provider::Github => github::convert(headers, &values),
                Provider::Gitlab => gitlab::convert(&values),
                Provider::Pagerduty => pagerduty::convert(&values),
                Provider::Opsgenie => opsgenie::convert(&values),
                Provider::Jira => jira::convert(&values),
                Provider::Events | Provider::Junit => {
                    Err(IngestError::Unrecognized("unreachable provider".to_owned()))
                }
            }
        }
    }
}

/// [`convert`], and for generic events the type of every line of a type
/// this version does not know (kept, and not counted), so that an import
/// can say what it skipped.
pub fn convert_noting_unknown(
    provider: Provider,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(Converted, Vec<String>), IngestError> {
    match provider {
        Provider::Events => generic::convert_noting_unknown(first_line(headers), body),
        _ => Ok((convert(provider, headers, body)?, Vec::new())),
    }
}

/// The line number of a body's first line: [`FIRST_LINE_HEADER`], else 1.
fn first_line(headers: &[(String, String)]) -> usize {
    header(headers, FIRST_LINE_HEADER)
        .and_then(|n| n.trim().parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// A GitHub hook configured with form encoding: its content type, or a body
/// of `payload=...` (a saved payload has no headers).
fn form_encoded(headers: &[(String, String)], body: &[u8]) -> bool {
    header(headers, "content-type")
        .is_some_and(|t| t.trim().starts_with("application/x-www-form-urlencoded"))
        || body.starts_with(b"payload=")
}

/// One JSON document, or several written one after another (what
/// `gh api --paginate` prints without `--slurp`: `[...][...]`).
fn parse_json_documents(body: &[u8]) -> Result<Vec<serde_json::Value>, IngestError> {
    let mut out = Vec::new();
    for value in serde_json::Deserializer::from_slice(body).into_iter::<serde_json::Value>() {
        let value = value.map_err(|e| json::json_error(&e))?;
        json::refuse_nul(&value)?;
        out.push(value);
    }
    if out.is_empty() {
        return Err(IngestError::Json("the body is empty".to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_keys_prefer_the_providers_delivery_id() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            dedupe_key(Provider::Github, &h("X-GitHub-Delivery", "abc"), b"x"),
            "abc"
        );
        assert_eq!(
            dedupe_key(Provider::Gitlab, &h("idempotency-key", "k1"), b"x"),
            "k1"
        );
        assert_eq!(
            dedupe_key(Provider::Pagerduty, &h("x-webhook-id", "w"), b"x"),
            "w"
        );
        assert_eq!(
            dedupe_key(
                Provider::Jira,
                &h("x-atlassian-webhook-identifier", "j"),
                b"x"
            ),
            "j"
        );
        // No id (or an empty one): the body's SHA-256.
        let sha_x = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
        assert_eq!(dedupe_key(Provider::Opsgenie, &[], b"x"), sha_x);
        assert_eq!(
            dedupe_key(Provider::Github, &h("x-github-delivery", " "), b"x"),
            sha_x
        );
    }

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("bitbucket"), None);
    }
}
