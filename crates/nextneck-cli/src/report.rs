//! `nextneck report`: the zero-config DORA report of a git clone, or with
//! `--db` the report over the event store's delivery events (merged with
//! the clone, when a PATH is given, for commit ranges).

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nextneck_metrics::delivery::{
    ChangeLinking, DeliverySettings, DeploymentSources, Filter, IncidentLinking,
};
use nextneck_metrics::git::{DEFAULT_DEPLOY_TAGS, DEFAULT_HOTFIX_PATTERN};
use nextneck_metrics::{DeploySource, GitSettings, ReportError, WindowSpec};
use nextneck_model::Timestamp;
use nextneck_render::Format;
use regex::Regex;

use crate::{UsageError, args, db, delivery_config};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The repository: a work tree, a bare repository or a linked worktree
    /// (any directory inside one works). Default `.`; with --db, the clone
    /// is optional and links deployments to changes by commit range.
    path: Option<PathBuf>,

    /// Report over the delivery events in this event store (sqlite:PATH or
    /// postgres://...) instead of the git history alone.
    #[arg(long, env = "NEXTNECK_DB", value_name = "URL")]
    db: Option<String>,

    /// With --db: only this repository or project path (a glob; repeat for several).
    #[arg(long = "repo", value_name = "REPO")]
    repos: Vec<String>,

    /// With --db: only this service (a glob; repeat for several).
    #[arg(long = "service", value_name = "SERVICE")]
    services: Vec<String>,

    /// With --db: only this team of nextneck.toml (repeat for several).
    #[arg(long = "team", value_name = "TEAM")]
    teams: Vec<String>,

    /// With --db: environment names matching this regular expression are
    /// production. Default: `production` in nextneck.toml's [delivery], else
    /// production, prod, prod-eu, production/us and the like.
    #[arg(long, value_name = "REGEX", value_parser = args::regex)]
    production: Option<Regex>,

    /// With --db: how changes are linked to deployments: auto, commit-range or after-merge.
    #[arg(long, value_name = "RULE", value_parser = link_changes)]
    link_changes: Option<ChangeLinking>,

    /// With --db: which events are deployments: auto (deployment events, and
    /// the releases of repositories without any), deployments, releases, or
    /// deployments,releases.
    #[arg(long, value_name = "SOURCES", value_parser = deployments_from)]
    deployments_from: Option<DeploymentSources>,

    /// With --db: how incidents are linked to deployments: explicit-or-service or explicit.
    #[arg(long, value_name = "RULE", value_parser = link_incidents)]
    link_incidents: Option<IncidentLinking>,

    /// With --db: how many days before and after the window the report
    /// reads, so that a window's deployments find the changes, incidents
    /// and recoveries they link to. Default: `look_back_days` in
    /// nextneck.toml's [delivery], else 90. `--all` reads everything.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..=delivery_config::MAX_LOOK_BACK_DAYS))]
    look_back: Option<i64>,

    /// The configuration file (default: ./nextneck.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Output format. `html` is one self-contained page with charts.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// When to colour the table: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Start of the window, inclusive: an RFC 3339 date or date-time (UTC when no offset),
    /// or relative: 30d, 2w, yesterday, today (whole UTC days back from today).
    #[arg(long, value_parser = args::timestamp, conflicts_with = "all")]
    since: Option<Timestamp>,

    /// End of the window, exclusive. Default: the end of the newest commit's day.
    #[arg(long, value_parser = args::timestamp, conflicts_with = "all")]
    until: Option<Timestamp>,

    /// The whole history instead of the 90 days ending with the newest commit.
    #[arg(long)]
    all: bool,

    /// Tags whose name matches this regular expression are deployments.
    #[arg(long, value_name = "REGEX", value_parser = args::regex, conflicts_with = "deploy_branch")]
    deploy_tags: Option<Regex>,

    /// Every first-parent commit of this branch is a deployment (continuous deployment).
    #[arg(long, value_name = "BRANCH")]
    deploy_branch: Option<String>,

    /// Commits whose subject matches this regular expression are hotfixes.
    #[arg(long, value_name = "REGEX", value_parser = args::regex)]
    hotfix_pattern: Option<Regex>,

    /// List every deployment in the window with the changes it shipped,
    /// their lead times, and the failure and recovery links.
    #[arg(long)]
    explain: bool,

    /// With --db: write a publishable Markdown postmortem section for this
    /// incident (`ID` or `SOURCE:ID`; repeatable): timeline, time to
    /// restore, time to reflect, the deployment it is linked to.
    #[arg(long, value_name = "ID", requires = "db")]
    incident: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    Table,
    Json,
    Markdown,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}

fn link_changes(v: &str) -> Result<ChangeLinking, String> {
    delivery_config::change_linking(v)
        .ok_or_else(|| format!("`{v}` is not a rule; use auto, commit-range or after-merge"))
}

fn deployments_from(v: &str) -> Result<DeploymentSources, String> {
    let words: Vec<&str> = v.split(',').collect();
    delivery_config::deployment_sources(&words)
}

fn link_incidents(v: &str) -> Result<IncidentLinking, String> {
    delivery_config::incident_linking(v)
        .ok_or_else(|| format!("`{v}` is not a rule; use explicit-or-service or explicit"))
}

/// Settings resolved from the arguments (and, later, the config file).
struct Settings {
    git: GitSettings,
    format: Format,
    color: bool,
}

fn resolve(args: &ReportArgs, git: &crate::config::GitSection) -> Settings {
    let deploy = match (&args.deploy_branch, &args.deploy_tags) {
        (Some(branch), _) => DeploySource::Branch(branch.clone()),
        (None, Some(re)) => DeploySource::Tags(re.clone()),
        (None, None) => configured_deployments(git),
    };
    let hotfix = args.hotfix_pattern.clone().unwrap_or_else(|| {
        Regex::new(DEFAULT_HOTFIX_PATTERN).expect("the default pattern compiles")
    });
    let window = if args.all {
        WindowSpec::All
    } else if args.since.is_some() || args.until.is_some() {
        WindowSpec::Range {
            since: args.since,
            until: args.until,
        }
    } else {
        WindowSpec::Default
    };
    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Html => Format::Html,
    };
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            args.output.is_none() && io::stdout().is_terminal() && crate::no_color_unset()
        }
    };
    Settings {
        git: GitSettings {
            path: args
                .path
                .as_deref()
                .unwrap_or(std::path::Path::new("."))
                .display()
                .to_string(),
            deploy,
            hotfix,
            window,
            explain: args.explain,
            series: format == Format::Html,
        },
        format,
        color,
    }
}

/// The deployments of nextneck.toml's `[git]` section (checked when it is
/// read), else tags like `v1.2.3`.
pub fn configured_deployments(git: &crate::config::GitSection) -> DeploySource {
    match (
        &git.deploy_branch,
        git.deploy_tags.as_deref().map(Regex::new),
    ) {
        (Some(branch), _) => DeploySource::Branch(branch.clone()),
        (None, Some(Ok(re))) => DeploySource::Tags(re),
        _ => DeploySource::Tags(
            Regex::new(DEFAULT_DEPLOY_TAGS).expect("the default pattern compiles"),
        ),
    }
}

/// The delivery settings of `nextneck.toml` over the defaults, for the
/// store at `url`: what `report --db` starts from and what `serve` uses for
/// its dashboard, API and `/metrics`.
pub fn delivery_defaults(
    config: Option<&std::path::Path>,
    url: &str,
) -> anyhow::Result<DeliverySettings> {
    let file = delivery_config::load(config)?;
    let mut d = DeliverySettings::new(&db::label(url, config)?);
    if let Some(p) = file.production {
        d.production = p;
    }
    if let Some(h) = file.hotfix {
        d.hotfix = h;
    }
    d.bots = file.bots;
    d.link_changes = file.link_changes.unwrap_or(d.link_changes);
    d.link_incidents = file.link_incidents.unwrap_or(d.link_incidents);
    d.deployments_from = file.deployments_from.unwrap_or(d.deployments_from);
    d.prereleases = file.prereleases.unwrap_or(d.prereleases);
    d.look_back_days = file.look_back_days.unwrap_or(d.look_back_days);
    d.services = file.services;
    d.teams = file.teams;
    Ok(d)
}

/// The delivery events report's settings: the command line over the
/// configuration file over the defaults.
fn resolve_delivery(
    args: &ReportArgs,
    settings: &Settings,
    url: &str,
) -> anyhow::Result<DeliverySettings> {
    let mut d = delivery_defaults(args.config.as_deref(), url)?;
    d.path = args.path.as_ref().map(|p| p.display().to_string());
    d.window = settings.git.window;
    d.explain = settings.git.explain;
    d.series = settings.git.series;
    if let Some(p) = args.production.clone() {
        d.production = p;
    }
    if let Some(h) = args.hotfix_pattern.clone() {
        d.hotfix = h;
    }
    d.link_changes = args.link_changes.unwrap_or(d.link_changes);
    d.link_incidents = args.link_incidents.unwrap_or(d.link_incidents);
    d.deployments_from = args.deployments_from.unwrap_or(d.deployments_from);
    d.look_back_days = args.look_back.unwrap_or(d.look_back_days);
    for team in &args.teams {
        if !d.teams.iter().any(|t| t.name.eq_ignore_ascii_case(team)) {
            let known: Vec<&str> = d.teams.iter().map(|t| t.name.as_str()).collect();
            return Err(UsageError(format!(
                "--team {team}: no such team in the [teams] of nextneck.toml ({})",
                db::it_has(&known)
            ))
            .into());
        }
    }
    if d.link_changes == ChangeLinking::CommitRange && args.path.is_none() {
        return Err(UsageError(
            "linking changes by commit range needs the clone: pass its PATH".to_owned(),
        )
        .into());
    }
    d.filter = Filter {
        repositories: args.repos.clone(),
        services: args.services.clone(),
        teams: args.teams.clone(),
    };
    Ok(d)
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let git = crate::config::load(args.config.as_deref())?
        .map(|c| c.git)
        .unwrap_or_default();
    let settings = resolve(&args, &git);
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    if args.db.is_none() {
        let only_events = [
            (!args.repos.is_empty(), "--repo"),
            (!args.services.is_empty(), "--service"),
            (!args.teams.is_empty(), "--team"),
            (args.production.is_some(), "--production"),
            (args.link_changes.is_some(), "--link-changes"),
            (args.link_incidents.is_some(), "--link-incidents"),
            (args.deployments_from.is_some(), "--deployments-from"),
            (args.look_back.is_some(), "--look-back"),
        ];
        if let Some((_, flag)) = only_events.iter().find(|(given, _)| *given) {
            return Err(UsageError(format!(
                "{flag} applies to delivery events; pass --db URL (or set NEXTNECK_DB)"
            ))
            .into());
        }
    }
    if let Some(url) = &args.db {
        return run_events(&args, &settings, url);
    }
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let branch = match &settings.git.deploy {
        DeploySource::Branch(b) => Some(b.clone()),
        DeploySource::Tags(_) => None,
    };
    let options = nextneck_git::LoadOptions {
        branches: branch.into_iter().collect(),
    };
    let mut progress = WalkProgress::new();
    let history = nextneck_git::load(&path, &options, &mut progress).map_err(|e| match e {
        nextneck_git::Error::BranchNotFound { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    progress.finish();
    let (mut report, failed_changes) =
        nextneck_metrics::git::report_and_failed_changes(&history, &settings.git).map_err(|e| {
            match e {
                ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
                other => anyhow::Error::new(other),
            }
        })?;
    crate::code::tie_in(&path, &mut report, &failed_changes);
    crate::output::write_to(args.output.as_deref(), |out| {
        nextneck_render::render(&report, settings.format, settings.color, out)
    })
}

/// `nextneck report --db URL [PATH]`.
fn run_events(args: &ReportArgs, settings: &Settings, url: &str) -> anyhow::Result<()> {
    if args.deploy_tags.is_some() || args.deploy_branch.is_some() {
        return Err(UsageError(
            "--deploy-tags and --deploy-branch choose deployments in a git history; with --db, deployments are the deployment events".to_owned(),
        )
        .into());
    }
    let mut delivery = resolve_delivery(args, settings, url)?;
    // Only an empty store's default window depends on it.
    delivery.now = Some(jiff::Timestamp::now().as_second());
    if !args.incident.is_empty() {
        if !matches!(settings.format, Format::Markdown | Format::Table) {
            return Err(UsageError(
                "--incident writes a Markdown postmortem; drop --format or pass --format markdown"
                    .to_owned(),
            )
            .into());
        }
        // The postmortem is built from the explained links.
        delivery.explain = true;
    }
    db::require_existing(url)?;
    let history = match &args.path {
        Some(path) => {
            let mut progress = WalkProgress::new();
            let history =
                nextneck_git::load(path, &nextneck_git::LoadOptions::default(), &mut progress)?;
            progress.finish();
            if let Some(text) = delivery_config::read_codeowners(path) {
                delivery.codeowners = delivery_config::default_owners(&text);
            }
            Some(history)
        }
        None => None,
    };
    let report =
        db::delivery_report(url, history.as_ref(), &mut delivery)?.map_err(|e| match e {
            ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
            other => anyhow::Error::new(other),
        })?;
    if !args.incident.is_empty() {
        let incidents = report
            .explain
            .as_ref()
            .and_then(|e| e.delivery.as_ref())
            .map(|d| d.incidents.as_slice())
            .unwrap_or_default();
        let mut chosen = Vec::new();
        for wanted in &args.incident {
            let found = incidents.iter().find(|i| {
                i.thing.id == *wanted || format!("{}:{}", i.thing.source, i.thing.id) == *wanted
            });
            match found {
                Some(i) => chosen.push(i),
                None => {
                    let known: Vec<String> = incidents
                        .iter()
                        .map(|i| format!("{}:{}", i.thing.source, i.thing.id))
                        .collect();
                    return Err(UsageError(format!(
                        "no incident `{wanted}` opened in the window; {}; widen the window with --since or --all",
                        db::it_has(&known.iter().map(String::as_str).collect::<Vec<_>>())
                    ))
                    .into());
                }
            }
        }
        return crate::output::write_to(args.output.as_deref(), |out| {
            nextneck_render::delivery::postmortem_markdown(&report, &chosen, out)
        });
    }
    crate::output::write_to(args.output.as_deref(), |out| {
        nextneck_render::render(&report, settings.format, settings.color, out)
    })
}

/// A spinner on stderr once the walk has taken a second, on a terminal only.
struct WalkProgress {
    start: Instant,
    bar: Option<ProgressBar>,
    enabled: bool,
}

impl WalkProgress {
    fn new() -> Self {
        WalkProgress {
            start: Instant::now(),
            bar: None,
            enabled: io::stderr().is_terminal(),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl nextneck_git::Progress for WalkProgress {
    fn commits_read(&mut self, count: usize) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() > Duration::from_secs(1) {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} reading history: {human_pos} commits ({per_sec})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(count as u64);
        }
    }
}
