//! A polite HTTP client of a REST API: one blocking GET at a time, with the
//! token in the `Authorization` header only (never in a URL, an error or a
//! message), `Link: <...>; rel="next"` pagination, `If-None-Match`
//! conditional requests (a `304` costs no rate limit), waits for the primary
//! rate limit (`X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`, or
//! GitLab's and the IETF draft's `RateLimit-Remaining`/`RateLimit-Reset`) and
//! the secondary one (`403`/`429` with `Retry-After`), and bounded retries
//! with exponential backoff on `5xx`, timeouts and broken connections.
//!
//! What differs between providers (how the token is sent, the media type,
//! which variable holds the token, which permission an endpoint needs) is
//! the [`Dialect`]; everything else is one code path for all of them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the client behaves.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The API's base URL (`https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server).
    pub api_url: String,
    /// How long one request may take, connection to last byte.
    pub timeout: Duration,
    /// Attempts after the first on `5xx`, timeouts and connection failures.
    pub retries: u32,
    /// How long one "second" of a server's wait or a backoff step lasts:
    /// one second, except in tests that replay rate limits.
    pub second: Duration,
    /// The longest the client waits for one rate-limit reset, in seconds of
    /// [`ClientOptions::second`]; a longer wait is an error.
    pub max_wait_seconds: u64,
    /// The largest body read, in bytes.
    pub body_limit: u64,
    /// Whose API this is.
    pub dialect: Dialect,
}

/// The provider an API belongs to: how it is spoken to and what its errors
/// mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// GitHub's REST API: `Authorization: Bearer`, its media type and
    /// version header.
    Github,
    /// GitLab's REST API v4: `Authorization: Bearer` (personal, group or
    /// project access tokens).
    Gitlab,
    /// PagerDuty's REST API v2: `Authorization: Token token=...`.
    Pagerduty,
    /// Jira's REST API v2: `Authorization: Basic` of `EMAIL:API_TOKEN`
    /// (Cloud), or `Bearer` of a personal access token (Server/Data Center)
    /// when the token has no `EMAIL:` part.
    Jira,
}

impl Dialect {
    /// The `Accept` header.
    fn accept(self) -> &'static str {
        match self {
            Dialect::Github => "application/vnd.github+json",
            Dialect::Pagerduty => "application/vnd.pagerduty+json;version=2",
            Dialect::Gitlab | Dialect::Jira => "application/json",
        }
    }

    /// The `Authorization` header's value for `token`.
    fn authorization(self, token: &str) -> String {
        match self {
            Dialect::Pagerduty => format!("Token token={token}"),
            Dialect::Jira if token.contains(':') => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(token);
                format!("Basic {encoded}")
            }
            Dialect::Github | Dialect::Gitlab | Dialect::Jira => format!("Bearer {token}"),
        }
    }

    /// Where the token comes from, for the error of a refused one.
    fn token_source(self) -> &'static str {
        match self {
            Dialect::Github => {
                "GITHUB_TOKEN (or NEXTNECK_GITHUB_TOKEN, or [sync.github] token in nextneck.toml)"
            }
            Dialect::Gitlab => "GITLAB_TOKEN (or [sync.gitlab] token in nextneck.toml)",
            Dialect::Pagerduty => "PAGERDUTY_TOKEN (or [sync.pagerduty] token in nextneck.toml)",
            Dialect::Jira => {
                "JIRA_EMAIL and JIRA_API_TOKEN (or [sync.jira] email and token in nextneck.toml)"
            }
        }
    }

    /// The permission the endpoint of `url` needs, in words.
    pub fn needed_scope(self, url: &str) -> String {
        match self {
            Dialect::Github => format!(
                "{} (for a private repository a classic token needs the `repo` scope)",
                needed_scope(url)
            ),
            Dialect::Gitlab => "the `read_api` scope and at least the Reporter role on the project or group (a personal, group or project access token)".to_owned(),
            Dialect::Pagerduty => "a REST API key that can read incidents and log entries of the service (a read-only API key will do)".to_owned(),
            Dialect::Jira => "the \"Browse projects\" permission on the project (for an OAuth or scoped token, the `read:jira-work` scope)".to_owned(),
        }
    }
}

impl ClientOptions {
    /// The defaults for `api_url`: 30 s per request, 4 retries, waits of
    /// at most an hour, bodies of at most 25 MiB.
    pub fn new(api_url: &str) -> ClientOptions {
        ClientOptions {
            api_url: api_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(30),
            retries: 4,
            second: Duration::from_secs(1),
            max_wait_seconds: 3600,
            body_limit: 25 * 1024 * 1024,
            dialect: Dialect::Github,
        }
    }

    /// The defaults for `api_url` of the `dialect`'s provider.
    pub fn of(dialect: Dialect, api_url: &str) -> ClientOptions {
        ClientOptions {
            dialect,
            ..ClientOptions::new(api_url)
        }
    }
}

/// What a GET returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// `200`: the body, the next page's URL and the `ETag`.
    Page {
        /// The body.
        body: Vec<u8>,
        /// The `rel="next"` URL of the `Link` header.
        next: Option<String>,
        /// The `ETag` header, for a later `If-None-Match`.
        etag: Option<String>,
    },
    /// `304 Not Modified`: the same as when that `ETag` was returned.
    NotModified,
}

/// Something the user should hear about while a sync runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A response arrived; the rate limit's budget left, when the server said.
    Budget {
        /// `X-RateLimit-Remaining`.
        remaining: u64,
        /// `X-RateLimit-Limit`.
        limit: u64,
    },
    /// The client waits this many seconds before asking again, and why.
    Waiting {
        /// Seconds (of [`ClientOptions::second`]).
        seconds: u64,
        /// Why, in words.
        reason: String,
    },
}

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// `401`: the token is wrong or expired.
    #[error(
        "{url}: 401 Unauthorized: the API refused the token; check {source_of_token} and that it has not expired"
    )]
    Unauthorized {
        /// The request URL.
        url: String,
        /// Where the token came from.
        source_of_token: &'static str,
    },
    /// `403` (not a rate limit) or `404`: the token cannot see this.
    #[error("{url}: {status} {reason}: the token cannot read this; it needs {scope}{accepted}")]
    NoAccess {
        /// The request URL.
        url: String,
        /// 403 or 404.
        status: u16,
        /// `Forbidden` or `Not Found`.
        reason: &'static str,
        /// The permission this endpoint needs.
        scope: String,
        /// What the server said it accepts, when it did.
        accepted: String,
    },
    /// Another status, or a `5xx` that persisted through the retries.
    #[error("{url}: status {status} after {attempts} attempts: {message}")]
    Status {
        /// The request URL.
        url: String,
        /// The last status.
        status: u16,
        /// How many requests were made.
        attempts: u32,
        /// The server's message, if it gave one.
        message: String,
    },
    /// No response: a timeout or a connection failure, through the retries.
    #[error("{url}: {message} after {attempts} attempts; check the network and --api-url")]
    Transport {
        /// The request URL.
        url: String,
        /// What failed.
        message: String,
        /// How many requests were made.
        attempts: u32,
    },
    /// The rate limit would need a longer wait than allowed.
    #[error(
        "{url}: the rate limit resets in {seconds} s, longer than the {max} s this sync waits; run it again later"
    )]
    RateLimited {
        /// The request URL.
        url: String,
        /// The wait needed.
        seconds: u64,
        /// The longest allowed.
        max: u64,
    },
    /// The server kept asking to wait.
    #[error("{url}: still rate limited after {waits} waits; run the sync again later")]
    KeptWaiting {
        /// The request URL.
        url: String,
        /// How many waits.
        waits: u32,
    },
    /// A `Link` header pointed away from the API.
    #[error("{url}: the next page {next} is not under {api}; refusing to send the token there")]
    ForeignLink {
        /// The request URL.
        url: String,
        /// The link.
        next: String,
        /// The API's base URL.
        api: String,
    },
    /// A body was not what the endpoint documents.
    #[error("{url}: {message}")]
    BadBody {
        /// The request URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The caller's store failed.
    #[error("could not store what was fetched")]
    Target(#[source] crate::BoxError),
}

/// The most rate-limit waits for one request.
const MAX_WAITS: u32 = 10;

/// The HTTP client. Its `Debug` leaves the token out.
pub struct Client {
    agent: ureq::Agent,
    token: Option<String>,
    options: ClientOptions,
    notify: Box<dyn FnMut(&Notice)>,
    requests: u64,
    /// The budget was spent by the last response: no request before this
    /// reset time (Unix seconds).
    exhausted_until: Option<u64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.options.api_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One attempt's result, before the retry policy decides.
enum Attempt {
    Done(Fetched),
    Wait {
        seconds: u64,
        reason: String,
    },
    Retry {
        status: Option<u16>,
        message: String,
    },
    Fail(SyncError),
}

impl Client {
    /// A client of `options.api_url` sending `token` (if any); `notify`
    /// hears of waits and of the budget left.
    pub fn new(
        options: ClientOptions,
        token: Option<String>,
        notify: Box<dyn FnMut(&Notice)>,
    ) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("nextneck/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            agent,
            token,
            options,
            notify,
            requests: 0,
            exhausted_until: None,
        }
    }

    /// The API's base URL, without a trailing slash.
    pub fn api_url(&self) -> &str {
        &self.options.api_url
    }

    /// How many HTTP requests were sent.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// GETs `url` (with `If-None-Match: etag` when given), waiting out rate
    /// limits and retrying transient failures within the bounds set.
    pub fn get(&mut self, url: &str, etag: Option<&str>) -> Result<Fetched, SyncError> {
        if let Some(reset) = self.exhausted_until.take() {
            let seconds = reset.saturating_sub(unix_now());
            if seconds > self.options.max_wait_seconds {
                return Err(SyncError::RateLimited {
                    url: url.to_owned(),
                    seconds,
                    max: self.options.max_wait_seconds,
                });
            }
            if seconds > 0 {
                (self.notify)(&Notice::Waiting {
                    seconds,
                    reason: "rate limit spent, waiting for X-RateLimit-Reset".to_owned(),
                });
                std::thread::sleep(self.options.second.saturating_mul(seconds as u32));
            }
        }
        let mut failures = 0u32;
        let mut waits = 0u32;
        loop {
            let attempt = self.attempt(url, etag);
            let (seconds, reason) = match attempt {
                Attempt::Done(f) => return Ok(f),
                Attempt::Fail(e) => return Err(e),
                Attempt::Wait { seconds, reason } => {
                    waits += 1;
                    if seconds > self.options.max_wait_seconds {
                        return Err(SyncError::RateLimited {
                            url: url.to_owned(),
                            seconds,
                            max: self.options.max_wait_seconds,
                        });
                    }
                    if waits > MAX_WAITS {
                        return Err(SyncError::KeptWaiting {
                            url: url.to_owned(),
                            waits: waits - 1,
                        });
                    }
                    (seconds, reason)
                }
                Attempt::Retry { status, message } => {
                    failures += 1;
                    if failures > self.options.retries {
                        let attempts = failures;
                        return Err(match status {
                            Some(status) => SyncError::Status {
                                url: url.to_owned(),
                                status,
                                attempts,
                                message,
                            },
                            None => SyncError::Transport {
                                url: url.to_owned(),
                                message,
                                attempts,
                            },
                        });
                    }
                    let seconds = 1u64 << (failures - 1).min(6);
                    (
                        seconds,
                        format!("{message}; retry {failures} of {}", self.options.retries),
                    )
                }
            };
            (self.notify)(&Notice::Waiting {
                seconds,
                reason: reason.clone(),
            });
            std::thread::sleep(self.options.second.saturating_mul(seconds as u32));
        }
    }

    fn attempt(&mut self, url: &str, etag: Option<&str>) -> Attempt {
        let mut request = self
            .agent
            .get(url)
            .header("Accept", self.options.dialect.accept());
        if self.options.dialect == Dialect::Github {
            request = request.header("X-GitHub-Api-Version", "2022-11-28");
        }
        if let Some(token) = &self.token {
            request = request.header("Authorization", self.options.dialect.authorization(token));
        }
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        self.requests += 1;
        let mut response = match request.call() {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    status: None,
                    message: transport_message(&e),
                };
            }
        };
        let status = response.status().as_u16();
        let head = Head::of(response.headers());
        if let (Some(remaining), Some(limit)) = (head.remaining, head.limit) {
            (self.notify)(&Notice::Budget { remaining, limit });
        }
        if (200..300).contains(&status) || status == 304 {
            self.exhausted_until = match (head.remaining, head.reset) {
                (Some(0), Some(reset)) => Some(reset),
                _ => None,
            };
        }
        let body = match response
            .body_mut()
            .with_config()
            .limit(self.options.body_limit)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    status: None,
                    message: transport_message(&e),
                };
            }
        };
        self.judge(url, status, head, body)
    }

    fn judge(&self, url: &str, status: u16, head: Head, body: Vec<u8>) -> Attempt {
        let message = server_message(&body);
        match status {
            200..=299 => {
                let next = match head.next {
                    Some(next) if !next.starts_with(&format!("{}/", self.options.api_url)) => {
                        return Attempt::Fail(SyncError::ForeignLink {
                            url: url.to_owned(),
                            next,
                            api: self.options.api_url.clone(),
                        });
                    }
                    next => next,
                };
                Attempt::Done(Fetched::Page {
                    body,
                    next,
                    etag: head.etag,
                })
            }
            304 => Attempt::Done(Fetched::NotModified),
            401 => Attempt::Fail(SyncError::Unauthorized {
                url: url.to_owned(),
                source_of_token: self.options.dialect.token_source(),
            }),
            403 | 429 if head.retry_after.is_some() => Attempt::Wait {
                seconds: head.retry_after.unwrap_or(60),
                reason: format!("secondary rate limit ({status}, Retry-After)"),
            },
            403 | 429 if head.remaining == Some(0) => {
                let now = unix_now();
                let reset = head.reset.unwrap_or(now + 60);
                Attempt::Wait {
                    seconds: reset.saturating_sub(now).max(1),
                    reason: "rate limit exhausted, waiting for X-RateLimit-Reset".to_owned(),
                }
            }
            403 | 429 if message.to_ascii_lowercase().contains("rate limit") => Attempt::Wait {
                seconds: 60,
                reason: format!("secondary rate limit ({status}), waiting a minute"),
            },
            429 => Attempt::Wait {
                seconds: 60,
                reason: "429 Too Many Requests, waiting a minute".to_owned(),
            },
            403 | 404 => Attempt::Fail(SyncError::NoAccess {
                url: url.to_owned(),
                status,
                reason: if status == 403 {
                    "Forbidden"
                } else {
                    "Not Found"
                },
                scope: self.options.dialect.needed_scope(url),
                accepted: match head.accepted.or_else(|| body_scope(&body)) {
                    Some(a) if !a.is_empty() => {
                        format!("; the server accepts: {a}")
                    }
                    _ => String::new(),
                },
            }),
            500..=599 => Attempt::Retry {
                status: Some(status),
                message: format!("status {status}"),
            },
            _ => Attempt::Fail(SyncError::Status {
                url: url.to_owned(),
                status,
                attempts: 1,
                message,
            }),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The headers the client acts on.
#[derive(Default)]
struct Head {
    remaining: Option<u64>,
    limit: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<u64>,
    etag: Option<String>,
    next: Option<String>,
    accepted: Option<String>,
}

impl Head {
    fn of(headers: &ureq::http::HeaderMap) -> Head {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_owned)
        };
        let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
        let accepted = [
            text("x-accepted-github-permissions"),
            text("x-accepted-oauth-scopes"),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
        let either = |a: &str, b: &str| number(a).or_else(|| number(b));
        Head {
            remaining: either("x-ratelimit-remaining", "ratelimit-remaining"),
            limit: either("x-ratelimit-limit", "ratelimit-limit"),
            reset: either("x-ratelimit-reset", "ratelimit-reset").map(absolute_reset),
            retry_after: number("retry-after"),
            etag: text("etag"),
            next: text("link").and_then(|l| next_link(&l)),
            accepted: (!accepted.is_empty()).then_some(accepted),
        }
    }
}

/// A reset time as Unix seconds: GitHub and GitLab send Unix seconds, the
/// IETF draft (PagerDuty) seconds from now; a value before 2001 can only be
/// the latter.
fn absolute_reset(reset: u64) -> u64 {
    if reset < 1_000_000_000 {
        unix_now().saturating_add(reset)
    } else {
        reset
    }
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim();
        (is_next && target.starts_with('<') && target.ends_with('>'))
            .then(|| target[1..target.len() - 1].to_owned())
    })
}

/// The permission a GitHub endpoint needs, from its path.
pub fn needed_scope(url: &str) -> &'static str {
    let path = url.split('?').next().unwrap_or(url);
    if path.contains("/pulls") {
        "read access to pull requests (a fine-grained token's \"Pull requests: read\")"
    } else if path.contains("/deployments") {
        "read access to deployments (a fine-grained token's \"Deployments: read\")"
    } else if path.contains("/actions/") {
        "read access to Actions (a fine-grained token's \"Actions: read\")"
    } else if path.contains("/issues") {
        "read access to issues (a fine-grained token's \"Issues: read\")"
    } else if path.contains("/releases") {
        "read access to contents (a fine-grained token's \"Contents: read\")"
    } else if path.contains("/orgs/") {
        "read access to the organisation's repositories (a fine-grained token's \"Metadata: read\" on them, or the classic `read:org` scope)"
    } else {
        "read access to the repository (a fine-grained token's \"Metadata: read\")"
    }
}

/// The message of a JSON error body (GitHub's and GitLab's `message`,
/// GitLab's OAuth `error_description`, PagerDuty's `error.message`, Jira's
/// `errorMessages`), else the start of the body.
fn server_message(body: &[u8]) -> String {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    value
        .as_ref()
        .and_then(|v| {
            v.get("message")
                .and_then(text)
                .or_else(|| v.get("error_description").and_then(text))
                .or_else(|| v.pointer("/error/message").and_then(text))
                .or_else(|| v.pointer("/errorMessages/0").and_then(text))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

/// The scope a refusal names in its body (GitLab's `insufficient_scope`
/// answer: `{"error": "insufficient_scope", "scope": "api read_api"}`).
fn body_scope(body: &[u8]) -> Option<String> {
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let scope = value.get("scope")?.as_str()?;
    Some(format!("scope {scope}"))
}

fn transport_message(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links() {
        let check = |link: &str, expected: Option<&str>| {
            assert_eq!(next_link(link).as_deref(), expected, "{link}");
        };
        check(
            r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#,
            Some("https://api.github.com/repositories/1/pulls?page=2"),
        );
        check(
            r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=3>; rel="next""#,
            Some("https://x/p?page=3"),
        );
        check(r#"<https://x/p?page=1>; rel="first""#, None);
        check("", None);
        check("garbage; rel=\"next\"", None);
    }

    #[test]
    fn scopes_by_endpoint() {
        assert!(needed_scope("https://h/repos/o/r/pulls?state=all").contains("Pull requests"));
        assert!(needed_scope("https://h/repos/o/r/deployments/1/statuses").contains("Deployments"));
        assert!(needed_scope("https://h/repos/o/r/actions/runs").contains("Actions"));
        assert!(needed_scope("https://h/repos/o/r/releases").contains("Contents"));
    }
}
