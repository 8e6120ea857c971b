//! `nextneck sync github --repo OWNER/NAME | --org ORG`, `sync gitlab
//! --project GROUP/NAME | --group GROUP`, `sync pagerduty --service ID` and
//! `sync jira --project KEY`: fetches the history webhooks never saw from
//! the provider's API ([`nextneck_sync`]) and stores every item exactly as
//! `nextneck import` stores a file: one delivery (origin `import`,
//! deduplicated by the SHA-256 of its body), converted by the same
//! `nextneck_ingest::convert`, so what a webhook, an import and a sync all
//! saw counts once. Each page is stored and processed before the next is
//! fetched; the cursors advance only after. One code path ([`run_sync`])
//! for every provider; a [`Spec`] says what differs.
//!
//! ```toml
//! [sync.github]
//! token = "..."                     # or GITHUB_TOKEN / NEXTNECK_GITHUB_TOKEN
//! api_url = "https://ghe.example.com/api/v3"   # default https://api.github.com
//! [sync.gitlab]
//! token = "..."                     # or GITLAB_TOKEN
//! api_url = "https://gitlab.example.com/api/v4" # default https://gitlab.com/api/v4
//! [sync.pagerduty]
//! token = "..."                     # or PAGERDUTY_TOKEN
//! [sync.jira]
//! api_url = "https://example.atlassian.net"    # required
//! api = "cloud"                     # or "server", or --jira-api; default by the URL
//! email = "me@example.com"          # or JIRA_EMAIL (Cloud; none for a Server PAT)
//! token = "..."                     # or JIRA_API_TOKEN
//! ```

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Subcommand};
use nextneck_ingest::{Provider, convert, dedupe_key};
use nextneck_store::{Appended, NewDelivery, Origin, Store};
use nextneck_sync::{
    BoxError, Client, ClientOptions, Counts, Dialect, Notice, Page, SyncError, Target, github,
    gitlab, jira, pagerduty,
};
use serde::Deserialize;

use crate::db::{self, DbArgs};
use crate::{UsageError, config};

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(subcommand)]
    provider: SyncProvider,
}

#[derive(Debug, Subcommand)]
enum SyncProvider {
    /// Pull requests with their reviews and commits, deployments with their
    /// statuses, workflow runs with their jobs, releases and issues of GitHub
    /// repositories.
    Github(GithubArgs),
    /// Merge requests with their commits and notes (comments, approvals),
    /// deployments, pipelines with their jobs, releases and issues
    /// (incidents among them) of GitLab projects.
    Gitlab(GitlabArgs),
    /// Incidents of PagerDuty services with their log entries.
    Pagerduty(PagerdutyArgs),
    /// Issues of Jira projects with their changelog (status changes).
    Jira(JiraArgs),
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

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["project", "group"])))]
pub struct GitlabArgs {
    /// A project, GROUP/NAME or GROUP/SUBGROUP/NAME (repeatable).
    #[arg(long, value_name = "GROUP/NAME")]
    project: Vec<String>,

    /// Every project of a group and its subgroups (repeatable).
    #[arg(long, value_name = "GROUP")]
    group: Vec<String>,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct PagerdutyArgs {
    /// A service's ID, as in its URL (PXXXXXX; repeatable).
    #[arg(long, value_name = "ID", required = true)]
    service: Vec<String>,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct JiraArgs {
    /// A project's key, as in its issues' keys (KEY-123; repeatable).
    #[arg(long, value_name = "KEY", required = true)]
    project: Vec<String>,

    /// Which search API: cloud (API v3's enhanced search, paged by
    /// nextPageToken) or server (API v2's search, Server and Data Center).
    /// Default: api in [sync.jira], else cloud for a *.atlassian.net URL and
    /// server for any other.
    #[arg(long, value_name = "API", value_parser = ["cloud", "server"])]
    jira_api: Option<String>,

    #[command(flatten)]
    common: CommonArgs,
}

/// What every provider's sync takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// How far back the first run reaches (YYYY-MM-DD or an RFC 3339 time);
    /// later runs continue from where the last one ended. Default: all history.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,

    /// The API's base URL: https://HOST/api/v3 for GitHub Enterprise Server,
    /// https://HOST/api/v4 for self-managed GitLab, https://SITE.atlassian.net
    /// or https://HOST for Jira (required). Default: api_url of the
    /// provider's [sync.PROVIDER] in nextneck.toml, else the cloud API.
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,

    /// Seconds one request may take before it is retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,

    #[command(flatten)]
    db: DbArgs,

    /// The configuration file (default: ./nextneck.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<std::path::PathBuf>,

    /// Tests only: milliseconds in a second of the server's waits and the
    /// retries' backoff.
    #[arg(long, hide = true, default_value_t = 1000)]
    wait_unit_ms: u64,
}

/// The `[sync]` section of nextneck.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// `nextneck serve` runs the syncs listed below at its start and then
    /// every so many minutes (see `sync_schedule.rs`); unset, never.
    pub every_minutes: Option<u64>,
    /// How far back the scheduled syncs' first run reaches (as `--since`).
    pub since: Option<String>,
    /// `[sync.github]`.
    #[serde(default)]
    pub github: ProviderSection,
    /// `[sync.gitlab]`.
    #[serde(default)]
    pub gitlab: ProviderSection,
    /// `[sync.pagerduty]`.
    #[serde(default)]
    pub pagerduty: ProviderSection,
    /// `[sync.jira]`.
    #[serde(default)]
    pub jira: ProviderSection,
}

/// One provider's settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// The API token.
    pub token: Option<String>,
    /// The API's base URL.
    pub api_url: Option<String>,
    /// Jira Cloud: the account's email, sent with the token.
    pub email: Option<String>,
    /// Jira: which search API, `cloud` or `server` (default by the URL).
    pub api: Option<String>,
    /// What `nextneck serve` syncs on its schedule: GitHub repositories.
    #[serde(default)]
    pub repos: Vec<String>,
    /// GitHub organisations.
    #[serde(default)]
    pub orgs: Vec<String>,
    /// GitLab projects, or Jira project keys.
    #[serde(default)]
    pub projects: Vec<String>,
    /// GitLab groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// PagerDuty services.
    #[serde(default)]
    pub services: Vec<String>,
}

pub fn run(args: SyncArgs) -> anyhow::Result<()> {
    match args.provider {
        SyncProvider::Github(args) => run_github(args),
        SyncProvider::Gitlab(args) => run_gitlab(args),
        SyncProvider::Pagerduty(args) => run_pagerduty(args),
        SyncProvider::Jira(args) => run_jira(args),
    }
}

/// What differs between providers in the command.
struct Spec {
    provider: Provider,
    dialect: Dialect,
    /// The cloud API, if there is one.
    default_api: Option<&'static str>,
    /// What a scope is called: ("repository", "repositories").
    noun: (&'static str, &'static str),
    /// How to pick this provider's settings from `[sync]`.
    section: fn(SyncSection) -> ProviderSection,
    /// The token from the environment and the file.
    token: TokenOf,
    /// Said (a warning) or refused (an error) without a token.
    no_token: Result<&'static str, &'static str>,
}

/// The environment (a variable's value by name).
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A provider's token from the environment and the file.
type TokenOf = fn(Env<'_>, &ProviderSection) -> Option<String>;

/// One scope's sync (a repository, a project, a service).
type SyncOne = fn(
    &mut Client,
    &mut dyn Target,
    &str,
    Option<jiff::Timestamp>,
    &mut Counts,
    &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError>;

fn run_github(args: GithubArgs) -> anyhow::Result<()> {
    for repo in &args.repo {
        check_path(
            "--repo",
            repo,
            2,
            2,
            "OWNER/NAME (for example --repo rust-lang/cargo)",
        )?;
    }
    let spec = Spec {
        provider: Provider::Github,
        dialect: Dialect::Github,
        default_api: Some("https://api.github.com"),
        noun: ("repository", "repositories"),
        section: |s| s.github,
        token: github_token,
        no_token: Ok(
            "no token: set GITHUB_TOKEN (or NEXTNECK_GITHUB_TOKEN); without one GitHub allows 60 requests an hour and no private repositories",
        ),
    };
    let (repo, org) = (args.repo, args.org);
    run_sync(
        &args.common,
        &spec,
        |_, _| Ok(github::sync_repo),
        |client| {
            let mut repos = repo.clone();
            for o in &org {
                repos.extend(github::org_repos(client, o)?);
            }
            Ok(repos)
        },
    )
}

fn run_gitlab(args: GitlabArgs) -> anyhow::Result<()> {
    for project in &args.project {
        check_path(
            "--project",
            project,
            2,
            20,
            "GROUP/NAME (for example --project gitlab-org/gitlab)",
        )?;
    }
    for group in &args.group {
        check_path(
            "--group",
            group,
            1,
            20,
            "GROUP or GROUP/SUBGROUP (for example --group gitlab-org)",
        )?;
    }
    let spec = Spec {
        provider: Provider::Gitlab,
        dialect: Dialect::Gitlab,
        default_api: Some("https://gitlab.com/api/v4"),
        noun: ("project", "projects"),
        section: |s| s.gitlab,
        token: |env, file| token_from(env, &["GITLAB_TOKEN"], file),
        no_token: Ok(
            "no token: set GITLAB_TOKEN (a token with the read_api scope); without one only public projects can be read",
        ),
    };
    let (project, group) = (args.project, args.group);
    run_sync(
        &args.common,
        &spec,
        |_, _| Ok(gitlab::sync_project),
        |client| {
            let mut projects = project.clone();
            for g in &group {
                projects.extend(gitlab::group_projects(client, g)?);
            }
            Ok(projects)
        },
    )
}

fn run_pagerduty(args: PagerdutyArgs) -> anyhow::Result<()> {
    for service in &args.service {
        check_word(
            "--service",
            service,
            "a service ID such as PIJ90N7 (the last part of the service's URL)",
        )?;
    }
    let spec = Spec {
        provider: Provider::Pagerduty,
        dialect: Dialect::Pagerduty,
        default_api: Some("https://api.pagerduty.com"),
        noun: ("service", "services"),
        section: |s| s.pagerduty,
        token: |env, file| token_from(env, &["PAGERDUTY_TOKEN"], file),
        no_token: Err(
            "no token: set PAGERDUTY_TOKEN to a REST API key (a read-only key will do), or token in [sync.pagerduty] of nextneck.toml",
        ),
    };
    let services = args.service;
    run_sync(
        &args.common,
        &spec,
        |_, _| Ok(pagerduty::sync_service),
        |_| Ok(services.clone()),
    )
}

fn run_jira(args: JiraArgs) -> anyhow::Result<()> {
    for key in &args.project {
        check_word(
            "--project",
            key,
            "a project key such as SHOP (the part before the dash of its issues' keys)",
        )?;
    }
    let spec = Spec {
        provider: Provider::Jira,
        dialect: Dialect::Jira,
        default_api: None,
        noun: ("project", "projects"),
        section: |s| s.jira,
        token: jira_token,
        no_token: Err(
            "no token: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud), or JIRA_API_TOKEN alone to a personal access token (Server and Data Center), or email and token in [sync.jira] of nextneck.toml",
        ),
    };
    let keys = args.project;
    let flag = args.jira_api;
    run_sync(
        &args.common,
        &spec,
        |section, api_url| jira_sync(flag.as_deref(), section, api_url),
        |_| Ok(keys.clone()),
    )
}

/// Jira's sync of the search API chosen: `--jira-api`, else `api` in
/// `[sync.jira]`, else by the URL (Cloud for `*.atlassian.net`).
fn jira_sync(
    flag: Option<&str>,
    section: &ProviderSection,
    api_url: &str,
) -> Result<SyncOne, UsageError> {
    let api = match (flag, section.api.as_deref()) {
        (Some(f), _) => jira_api("--jira-api", f)?,
        (None, Some(s)) => jira_api("api in [sync.jira]", s)?,
        (None, None) => jira::Api::of_url(api_url),
    };
    Ok(match api {
        jira::Api::Cloud => jira::sync_cloud,
        jira::Api::Server => jira::sync_server,
    })
}

fn jira_api(what: &str, value: &str) -> Result<jira::Api, UsageError> {
    jira::Api::parse(value).ok_or_else(|| {
        UsageError(format!(
            "{what}: `{value}` is neither cloud nor server; use cloud for a Jira Cloud site (API v3), server for Jira Server or Data Center (API v2)"
        ))
    })
}

/// The command for any provider: settings, client, store; each scope
/// synced in turn; the summary.
fn run_sync(
    args: &CommonArgs,
    spec: &Spec,
    sync_one: impl FnOnce(&ProviderSection, &str) -> Result<SyncOne, UsageError>,
    scopes: impl FnOnce(&mut Client) -> Result<Vec<String>, SyncError>,
) -> anyhow::Result<()> {
    let file = config::load(args.config.as_deref())?;
    let (server_db, section) = match file {
        Some(c) => (c.server.db, (spec.section)(c.sync)),
        None => (None, ProviderSection::default()),
    };
    let url = args.db.resolve(server_db.as_deref())?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let api_url = api_url(args, spec, &section)?;
    let sync_one = sync_one(&section, &api_url)?;
    let token = (spec.token)(&|k| std::env::var(k).ok(), &section);
    let progress = Progress::new();
    match (&token, spec.no_token) {
        (None, Ok(warning)) => progress.say(warning),
        (None, Err(refusal)) => return Err(UsageError(refusal.to_owned()).into()),
        (Some(_), _) => {}
    }
    let mut options = ClientOptions::of(spec.dialect, &api_url);
    options.timeout = Duration::from_secs(args.timeout.max(1));
    options.second = Duration::from_millis(args.wait_unit_ms);
    let mut client = Client::new(options, token, Box::new(progress.notifier()));
    let scopes = scopes(&mut client)?;
    let mut target = StoreTarget {
        store: db::open(&url)?,
        provider: spec.provider,
        new: 0,
        stored: 0,
    };
    let mut counts = Counts::default();
    for scope in &scopes {
        sync_one(
            &mut client,
            &mut target,
            scope,
            since,
            &mut counts,
            &mut |_, c| progress.show(spec.provider, scope, c),
        )
        .with_context(|| format!("sync of {scope} stopped; what was stored so far is kept, run the same command again to continue"))?;
    }
    progress.finish();
    let noun = if scopes.len() == 1 {
        spec.noun.0
    } else {
        spec.noun.1
    };
    writeln!(
        io::stdout().lock(),
        "synced {} {noun} into {}: {}; {} items stored, {} new, {} already stored; {} requests",
        scopes.len(),
        db::redact(&url),
        describe(spec.provider, &counts),
        target.stored,
        target.new,
        target.stored - target.new,
        client.requests(),
    )?;
    Ok(())
}

/// `--api-url`, else the file's, else the cloud API; an http(s) URL.
fn api_url(args: &CommonArgs, spec: &Spec, section: &ProviderSection) -> anyhow::Result<String> {
    let name = spec.provider.as_str();
    let api_url = args
        .api_url
        .clone()
        .or(section.api_url.clone())
        .or(spec.default_api.map(str::to_owned))
        .ok_or_else(|| {
            UsageError(format!(
                "--api-url is required for {name}: use https://YOUR-SITE.atlassian.net (Jira Cloud) or your server's URL, or set api_url in [sync.{name}] of nextneck.toml"
            ))
        })?;
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(UsageError(format!(
            "--api-url: `{api_url}` is not an http(s) URL; use the API's base URL, such as {}",
            spec.default_api
                .unwrap_or("https://YOUR-SITE.atlassian.net")
        ))
        .into());
    }
    Ok(api_url)
}

/// What was synced, in words.
fn describe(provider: Provider, c: &Counts) -> String {
    match provider {
        Provider::Gitlab => format!(
            "{} merge requests ({} notes), {} deployments, {} pipelines ({} jobs), {} releases, {} issues",
            c.pulls, c.reviews, c.deployments, c.runs, c.jobs, c.releases, c.issues
        ),
        Provider::Pagerduty => format!("{} incidents ({} log entries)", c.incidents, c.log_entries),
        Provider::Jira => format!("{} issues", c.issues),
        _ => format!(
            "{} pull requests ({} reviews), {} deployments, {} workflow runs ({} jobs), {} releases, {} issues",
            c.pulls, c.reviews, c.deployments, c.runs, c.jobs, c.releases, c.issues
        ),
    }
}

/// The token: the first of the environment variables `names` set and not
/// empty, else the file's.
fn token_from(
    env: &dyn Fn(&str) -> Option<String>,
    names: &[&str],
    section: &ProviderSection,
) -> Option<String> {
    names
        .iter()
        .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        .or_else(|| section.token.clone().filter(|v| !v.trim().is_empty()))
        .map(|t| t.trim().to_owned())
}

/// The token: `NEXTNECK_GITHUB_TOKEN`, else `GITHUB_TOKEN`, else the file's;
/// empty is unset.
fn github_token(env: &dyn Fn(&str) -> Option<String>, section: &ProviderSection) -> Option<String> {
    token_from(env, &["NEXTNECK_GITHUB_TOKEN", "GITHUB_TOKEN"], section)
}

/// Jira's credentials: `EMAIL:TOKEN` (Cloud, basic authentication) when an
/// email is set (`JIRA_EMAIL`, else the file's), else the token alone (a
/// Server or Data Center personal access token, sent as a bearer token).
fn jira_token(env: &dyn Fn(&str) -> Option<String>, section: &ProviderSection) -> Option<String> {
    let token = token_from(env, &["JIRA_API_TOKEN"], section)?;
    let email = env("JIRA_EMAIL")
        .or(section.email.clone())
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    Some(match email {
        Some(email) => format!("{email}:{token}"),
        None => token,
    })
}

/// A slash-separated path of `min` to `max` parts of letters, digits, `-`,
/// `_` and `.`.
fn check_path(
    flag: &str,
    value: &str,
    min: usize,
    max: usize,
    form: &str,
) -> Result<(), UsageError> {
    let parts = value.split('/').count();
    let ok = (min..=max).contains(&parts)
        && value.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!("{flag}: `{value}` is not {form}")))
    }
}

/// A key or ID: letters, digits and `_`, at most 100.
fn check_word(flag: &str, value: &str, form: &str) -> Result<(), UsageError> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!("{flag}: `{value}` is not {form}")))
    }
}

/// `--since`: a date (midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str) -> Result<jiff::Timestamp, UsageError> {
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
    provider: Provider,
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
            let converted = convert(self.provider, &headers, &page.body)
                .map_err(|e| format!("{}: {e}; this page was not stored", page.url))?;
            batch.push(NewDelivery {
                provider: self.provider.as_str().to_owned(),
                dedupe_key: dedupe_key(self.provider, &headers, &page.body),
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

    fn show(&self, provider: Provider, scope: &str, c: &Counts) {
        let Some(bar) = &self.bar else { return };
        let budget = match self.budget.get() {
            Some((remaining, limit)) => format!("; rate limit {remaining}/{limit} left"),
            None => String::new(),
        };
        let message = format!("{scope}: {}{budget}", describe(provider, c));
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
            ..ProviderSection::default()
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
        let check = |value: &str, min: usize, max: usize, ok: bool| {
            assert_eq!(
                check_path("--x", value, min, max, "x").is_ok(),
                ok,
                "{value}"
            );
        };
        check("acme/shop", 2, 2, true);
        for bad in ["acme", "acme/shop/x", "/shop", "acme/", "a b/c"] {
            check(bad, 2, 2, false);
        }
        check("group/sub/name", 2, 20, true);
        check("group", 1, 20, true);
        check("group", 2, 20, false);
        for (value, ok) in [
            ("PIJ90N7", true),
            ("SHOP", true),
            ("", false),
            ("a-b", false),
            ("x\"y", false),
        ] {
            assert_eq!(check_word("--x", value, "x").is_ok(), ok, "{value}");
        }
    }

    #[test]
    fn jira_credentials() {
        let check = |vars: &[(&str, &str)], file: ProviderSection, expected: Option<&str>| {
            let env = |k: &str| {
                vars.iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_owned())
            };
            assert_eq!(jira_token(&env, &file).as_deref(), expected, "{vars:?}");
        };
        let none = ProviderSection::default;
        check(&[], none(), None);
        check(&[("JIRA_EMAIL", "a@b.c")], none(), None);
        check(&[("JIRA_API_TOKEN", "t")], none(), Some("t"));
        check(
            &[("JIRA_API_TOKEN", "t"), ("JIRA_EMAIL", "a@b.c")],
            none(),
            Some("a@b.c:t"),
        );
        let file = ProviderSection {
            token: Some("ft".to_owned()),
            email: Some("f@b.c".to_owned()),
            ..ProviderSection::default()
        };
        check(&[], file, Some("f@b.c:ft"));
    }

    #[test]
    fn jira_api_by_flag_file_or_url() {
        let cloud = jira::sync_cloud as SyncOne;
        let server = jira::sync_server as SyncOne;
        let file = |api: Option<&str>| ProviderSection {
            api: api.map(str::to_owned),
            ..ProviderSection::default()
        };
        let check = |flag: Option<&str>, api: Option<&str>, url: &str, expected: SyncOne| {
            let got = jira_sync(flag, &file(api), url)
                .map_err(|e| e.0)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                std::ptr::fn_addr_eq(got, expected),
                "{flag:?} {api:?} {url}"
            );
        };
        check(None, None, "https://acme.atlassian.net", cloud);
        check(None, None, "https://jira.acme.com", server);
        check(Some("server"), None, "https://acme.atlassian.net", server);
        check(None, Some("cloud"), "http://127.0.0.1:8080", cloud);
        check(
            Some("server"),
            Some("cloud"),
            "http://127.0.0.1:8080",
            server,
        );
        let err = jira_sync(None, &file(Some("dc")), "https://jira.acme.com")
            .err()
            .map(|e| e.0);
        assert_eq!(
            err.as_deref(),
            Some(
                "api in [sync.jira]: `dc` is neither cloud nor server; use cloud for a Jira Cloud site (API v3), server for Jira Server or Data Center (API v2)"
            )
        );
    }
}
