//! `nextneck sync github --repo OWNER/NAME | --org ORG`: fetches the history
//! webhooks never saw from the provider's API ([`nextneck_sync`]) and stores
//! every page exactly as `nextneck import` stores a file: one delivery
//! (origin `import`, deduplicated by the SHA-256 of its body), converted by
//! the same `nextneck_ingest::convert`, so what a webhook, an import and a
//! sync all saw counts once. Each page is stored and processed before the
//! next is fetched; the cursors advance only after.
//!
//! ```toml
//! [sync.github]
//! token = "..."                     # or GITHUB_TOKEN / NEXTNECK_GITHUB_TOKEN
//! api_url = "https://ghe.example.com/api/v3"   # default https://api.github.com
//! ```

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Subcommand};
use nextneck_ingest::{Provider, convert, dedupe_key};
use nextneck_store::{Appended, NewDelivery, Origin, Store};
use nextneck_sync::github::{self, Counts};
use nextneck_sync::{BoxError, Client, ClientOptions, Notice, Page, Target};
use serde::Deserialize;

use crate::db::{self, DbArgs};
use crate::{UsageError, config};

/// The default GitHub API.
const GITHUB_API: &str = "https://api.github.com";

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    provider: SyncProvider,
}

#[derive(Debug, Subcommand)]
enum SyncProvider {
    /// Pull requests with their reviews and commits, deployments with their
    /// statuses, workflow runs and releases of GitHub repositories.
    Github(GithubArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["repo", "org"])))]
pub struct GithubArgs {
    /// A repository, OWNER/NAME (repeatable).
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Vec<String>,

    /// Every repository of an organisation (repeatable).
    #[arg(long, value_name = "ORG")]
    org: Vec<String>,

    /// How far back the first run reaches (YYYY-MM-DD or an RFC 3339 time);
    /// later runs continue from where the last one ended. Default: all history.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,

    /// The API: https://HOST/api/v3 for GitHub Enterprise Server.
    /// Default: [sync.github] api_url of nextneck.toml, else https://api.github.com.
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,

    /// Seconds one request may take before it is retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,

    #[command(flatten)]
    db: DbArgs,

    /// Tests only: milliseconds in a second of the server's waits and the
    /// retries' backoff.
    #[arg(long, hide = true, default_value_t = 1000)]
    wait_unit_ms: u64,
}

/// The `[sync]` section of nextneck.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// `[sync.github]`.
    #[serde(default)]
    pub github: ProviderSection,
}

/// One provider's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// The API token.
    pub token: Option<String>,
    /// The API's base URL.
    pub api_url: Option<String>,
}

pub fn run(args: SyncArgs) -> anyhow::Result<()> {
    match args.provider {
        SyncProvider::Github(args) => run_github(args),
    }
}

fn run_github(args: GithubArgs) -> anyhow::Result<()> {
    let file = config::load(None)?;
    let (server_db, section) = match file {
        Some(c) => (c.server.db, c.sync.github),
        None => (None, ProviderSection::default()),
    };
    let url = args.db.resolve(server_db.as_deref())?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    for repo in &args.repo {
        check_repo(repo)?;
    }
    let token = github_token(&|k| std::env::var(k).ok(), &section);
    let api_url = args
        .api_url
        .clone()
        .or(section.api_url.clone())
        .unwrap_or_else(|| GITHUB_API.to_owned());
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(UsageError(format!(
            "--api-url: `{api_url}` is not an http(s) URL; use https://api.github.com or https://HOST/api/v3"
        ))
        .into());
    }
    let progress = Progress::new();
    if token.is_none() {
        progress.say(
            "no token: set GITHUB_TOKEN (or NEXTNECK_GITHUB_TOKEN); without one GitHub allows 60 requests an hour and no private repositories",
        );
    }
    let mut options = ClientOptions::new(&api_url);
    options.timeout = Duration::from_secs(args.timeout.max(1));
    options.second = Duration::from_millis(args.wait_unit_ms);
    let notify = progress.notifier();
    let mut client = Client::new(options, token, Box::new(notify));

    let mut repos = args.repo.clone();
    for org in &args.org {
        repos.extend(github::org_repos(&mut client, org)?);
    }
    let mut target = StoreTarget {
        store: db::open(&url)?,
        new: 0,
        stored: 0,
    };
    let mut counts = Counts::default();
    for repo in &repos {
        github::sync_repo(
            &mut client,
            &mut target,
            repo,
            since,
            &mut counts,
            &mut |_, c| progress.show(repo, c),
        )
        .with_context(|| format!("sync of {repo} stopped; what was stored so far is kept, run the same command again to continue"))?;
    }
    progress.finish();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "synced {} {} into {}: {} pull requests ({} reviews), {} deployments, {} workflow runs, {} releases; {} items stored, {} new, {} already stored; {} requests",
        repos.len(),
        if repos.len() == 1 {
            "repository"
        } else {
            "repositories"
        },
        db::redact(&url),
        counts.pulls,
        counts.reviews,
        counts.deployments,
        counts.runs,
        counts.releases,
        target.stored,
        target.new,
        target.stored - target.new,
        client.requests(),
    )?;
    Ok(())
}

/// The token: `NEXTNECK_GITHUB_TOKEN`, else `GITHUB_TOKEN`, else the file's;
/// empty is unset.
fn github_token(env: &dyn Fn(&str) -> Option<String>, section: &ProviderSection) -> Option<String> {
    env("NEXTNECK_GITHUB_TOKEN")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| env("GITHUB_TOKEN").filter(|v| !v.trim().is_empty()))
        .or_else(|| section.token.clone().filter(|v| !v.trim().is_empty()))
        .map(|t| t.trim().to_owned())
}

fn check_repo(repo: &str) -> Result<(), UsageError> {
    let ok = repo.split('/').count() == 2
        && repo.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!(
            "--repo: `{repo}` is not OWNER/NAME (for example --repo rust-lang/cargo)"
        )))
    }
}

/// `--since`: a date (midnight UTC) or an RFC 3339 time.
fn parse_since(s: &str) -> Result<jiff::Timestamp, UsageError> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| format!("{d}T00:00:00Z").parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| {
            UsageError(format!(
                "--since: `{s}` is not a date; use YYYY-MM-DD (for example 2025-01-01) or an RFC 3339 time"
            ))
        })
}

/// The event store as the sync's target: every page one delivery, stored
/// and processed in one go.
struct StoreTarget {
    store: Box<dyn Store>,
    new: u64,
    stored: u64,
}

impl Target for StoreTarget {
    fn cursor(&mut self, key: &str) -> Result<Option<String>, BoxError> {
        Ok(self.store.sync_cursor(key)?)
    }

    fn commit(&mut self, pages: &[Page]) -> Result<(), BoxError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut batch = Vec::new();
        for page in pages {
            let headers = vec![("x-nextneck-sync".to_owned(), page.url.clone())];
            let converted = convert(Provider::Github, &headers, &page.body)
                .map_err(|e| format!("{}: {e}; this page was not stored", page.url))?;
            batch.push(NewDelivery {
                provider: Provider::Github.as_str().to_owned(),
                dedupe_key: dedupe_key(Provider::Github, &headers, &page.body),
                event_type: converted.event_type,
                origin: Origin::Import,
                headers,
                body: page.body.clone(),
                received_at_ms: now,
            });
        }
        let appended = self.store.append(&batch)?;
        nextneck_server::process_pending(self.store.as_mut())?;
        self.stored += appended.len() as u64;
        self.new += appended
            .iter()
            .filter(|a| matches!(a, Appended::New(_)))
            .count() as u64;
        Ok(())
    }

    fn set_cursor(&mut self, key: &str, value: &str) -> Result<(), BoxError> {
        Ok(self.store.set_sync_cursor(key, value)?)
    }
}

/// Progress on stderr: a spinner with the counts and the rate-limit budget
/// when stderr is a terminal; waits are always said.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    budget: Rc<Cell<Option<(u64, u64)>>>,
}

impl Progress {
    fn new() -> Progress {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            budget: Rc::new(Cell::new(None)),
        }
    }

    fn say(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn notifier(&self) -> impl FnMut(&Notice) + 'static {
        let budget = Rc::clone(&self.budget);
        let bar = self.bar.clone();
        move |notice| match notice {
            Notice::Budget { remaining, limit } => budget.set(Some((*remaining, *limit))),
            Notice::Waiting { seconds, reason } => {
                let message = format!("waiting {seconds} s: {reason}");
                match &bar {
                    Some(bar) => bar.println(message),
                    None => eprintln!("{message}"),
                }
            }
        }
    }

    fn show(&self, repo: &str, c: &Counts) {
        let Some(bar) = &self.bar else { return };
        let budget = match self.budget.get() {
            Some((remaining, limit)) => format!("; rate limit {remaining}/{limit} left"),
            None => String::new(),
        };
        let message = format!(
            "{repo}: {} pull requests ({} reviews), {} deployments, {} runs, {} releases{budget}",
            c.pulls, c.reviews, c.deployments, c.runs, c.releases
        );
        bar.set_message(message);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_environment_over_file() {
        let file = ProviderSection {
            token: Some("file".to_owned()),
            api_url: None,
        };
        let check = |vars: &[(&str, &str)], expected: Option<&str>| {
            let env = |k: &str| {
                vars.iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_owned())
            };
            assert_eq!(github_token(&env, &file).as_deref(), expected, "{vars:?}");
        };
        check(&[], Some("file"));
        check(&[("GITHUB_TOKEN", "gh")], Some("gh"));
        check(
            &[("GITHUB_TOKEN", "gh"), ("NEXTNECK_GITHUB_TOKEN", "nn")],
            Some("nn"),
        );
        check(&[("GITHUB_TOKEN", " ")], Some("file"));
    }

    #[test]
    fn since_and_repo_arguments() {
        assert_eq!(
            parse_since("2025-01-01").map(|t| t.to_string()).ok(),
            Some("2025-01-01T00:00:00Z".to_owned())
        );
        assert_eq!(
            parse_since("2025-01-01T10:00:00+02:00")
                .map(|t| t.to_string())
                .ok(),
            Some("2025-01-01T08:00:00Z".to_owned())
        );
        assert!(parse_since("last week").is_err());
        assert!(check_repo("acme/shop").is_ok());
        for bad in ["acme", "acme/shop/x", "/shop", "acme/", "a b/c"] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }
}
