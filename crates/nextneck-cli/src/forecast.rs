//! `nextneck forecast`: Monte Carlo forecasts over daily throughput, from
//! an event log, a configured stream, or a git repository's deployments or
//! changes.

use std::path::PathBuf;

use clap::{ArgGroup, Args, ValueEnum};
use nextneck_metrics::forecast::{
    DEFAULT_SEED, DEFAULT_TRIALS, ForecastError, ForecastSettings, forecast,
};
use nextneck_metrics::git::{DEFAULT_DEPLOY_TAGS, DEFAULT_HOTFIX_PATTERN};
use nextneck_metrics::{DeploySource, GitSettings, ReportError, WindowSpec};
use nextneck_model::Timestamp;
use regex::Regex;

use crate::flow::{StreamArgs, color, flow_error, format, read, resolve_streams};
use crate::report::{ColorArg, FormatArg};
use crate::{UsageError, args};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("question").required(true).multiple(true).args(["items", "days"])))]
pub struct ForecastArgs {
    /// An event log (CSV, NDJSON, XES); or a stream of nextneck.toml
    /// (--stream), or a repository (--git).
    #[arg(value_name = "FILE", conflicts_with = "git")]
    files: Vec<PathBuf>,

    /// When will this many items be done?
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    items: Option<u64>,

    /// How many items will be done in this many days?
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u64).range(1..))]
    days: Option<u64>,

    /// Monte Carlo trials.
    #[arg(long, default_value_t = DEFAULT_TRIALS, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    trials: u32,

    /// The random generator's seed: the same seed gives the same forecast.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,

    /// First day of the history (default: 90 days before its end, not
    /// before the first event's day).
    #[arg(long, value_parser = args::timestamp)]
    since: Option<Timestamp>,

    /// End of the history, exclusive (default: the end of the newest event's day).
    #[arg(long, value_parser = args::timestamp)]
    until: Option<Timestamp>,

    /// Forecast a git repository's deployments (or, with --count changes,
    /// its changes) instead of an event log's items.
    #[arg(long, value_name = "PATH")]
    git: Option<PathBuf>,

    /// With --git: what to count.
    #[arg(long, value_enum, default_value_t = CountArg::Deployments, requires = "git")]
    count: CountArg,

    /// With --git: tags whose name matches this regular expression are deployments.
    #[arg(long, value_name = "REGEX", value_parser = args::regex, requires = "git", conflicts_with = "deploy_branch")]
    deploy_tags: Option<Regex>,

    /// With --git: every first-parent commit of this branch is a deployment.
    #[arg(long, value_name = "BRANCH", requires = "git")]
    deploy_branch: Option<String>,

    #[command(flatten)]
    stream: StreamArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,

    /// When to colour the table: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Write the forecast to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CountArg {
    Deployments,
    Changes,
}

pub fn run(args: ForecastArgs) -> anyhow::Result<()> {
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    let output = format(args.format)?;
    let mut settings = ForecastSettings {
        unit: "items",
        source: String::new(),
        items: args.items,
        days: args.days,
        trials: args.trials,
        seed: args.seed,
        since: args.since,
        until: args.until,
    };
    let (completions, newest, oldest) = match &args.git {
        Some(path) => git_completions(path, &args, &mut settings)?,
        None => {
            let mut streams = resolve_streams(&args.files, &args.stream)?;
            if streams.len() != 1 {
                let names: Vec<&str> = streams.iter().map(|s| s.flow.stream.as_str()).collect();
                return Err(UsageError(format!(
                    "there are {} streams ({}); choose one with --stream NAME",
                    streams.len(),
                    names.join(", ")
                ))
                .into());
            }
            let mut s = streams.remove(0);
            settings.source = s.flow.stream.clone();
            let log = read(&mut s)?;
            nextneck_metrics::flow::completions(&log, &s.flow).map_err(flow_error)?
        }
    };
    let report = forecast(&completions, newest, oldest, &settings).map_err(|e| match e {
        ForecastError::EmptyHistory { .. } | ForecastError::NothingAsked => {
            anyhow::Error::new(UsageError(e.to_string()))
        }
        other => anyhow::Error::new(other),
    })?;
    let color = color(args.color) && args.output.is_none();
    crate::output::write_to(args.output.as_deref(), |out| {
        nextneck_render::flow::render_forecast(&report, output, color, out)
    })
}

/// Deployment times, or one time per change (its deployment's), of the
/// whole history, through the git report.
fn git_completions(
    path: &std::path::Path,
    args: &ForecastArgs,
    settings: &mut ForecastSettings,
) -> anyhow::Result<(Vec<Timestamp>, Timestamp, Timestamp)> {
    let deploy = match (&args.deploy_branch, &args.deploy_tags) {
        (Some(branch), _) => DeploySource::Branch(branch.clone()),
        (None, Some(re)) => DeploySource::Tags(re.clone()),
        (None, None) => DeploySource::Tags(
            Regex::new(DEFAULT_DEPLOY_TAGS).expect("the default pattern compiles"),
        ),
    };
    let options = nextneck_git::LoadOptions {
        branches: args.deploy_branch.iter().cloned().collect(),
    };
    let history =
        nextneck_git::load(path, &options, &mut nextneck_git::NoProgress).map_err(|e| match e {
            nextneck_git::Error::BranchNotFound { .. } => {
                anyhow::Error::new(UsageError(e.to_string()))
            }
            other => anyhow::Error::new(other),
        })?;
    let git = GitSettings {
        path: path.display().to_string(),
        deploy,
        hotfix: Regex::new(DEFAULT_HOTFIX_PATTERN).expect("the default pattern compiles"),
        window: WindowSpec::All,
        explain: true,
        series: false,
    };
    let report = nextneck_metrics::git_report(&history, &git).map_err(|e| match e {
        ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    let deployments = report.explain.map(|e| e.deployments).unwrap_or_default();
    let completions: Vec<Timestamp> = match args.count {
        CountArg::Deployments => deployments.iter().map(|d| d.time).collect(),
        // The baseline ships the whole history before it: not throughput.
        CountArg::Changes => deployments
            .iter()
            .filter(|d| !d.baseline)
            .flat_map(|d| std::iter::repeat_n(d.time, d.changes.len()))
            .collect(),
    };
    settings.unit = match args.count {
        CountArg::Deployments => "deployments",
        CountArg::Changes => "changes",
    };
    settings.source = path.display().to_string();
    // The history's newest and oldest events: the report's window is the
    // whole history, from the oldest event's day to the end of the newest's.
    Ok((completions, report.window.until - 1, report.window.since))
}
