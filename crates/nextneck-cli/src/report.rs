//! `nextneck report`: the zero-config DORA report of a git clone.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nextneck_metrics::git::{DEFAULT_DEPLOY_TAGS, DEFAULT_HOTFIX_PATTERN};
use nextneck_metrics::{DeploySource, GitSettings, ReportError, WindowSpec};
use nextneck_model::Timestamp;
use nextneck_render::Format;
use regex::Regex;

use crate::{UsageError, args};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The repository: a work tree, a bare repository or a linked worktree
    /// (any directory inside one works).
    #[arg(default_value = ".")]
    path: PathBuf,

    /// Output format. `html` is one self-contained page with charts.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// When to colour the table: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Start of the window, inclusive: an RFC 3339 date or date-time (UTC when no offset).
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

/// Settings resolved from the arguments (and, later, the config file).
struct Settings {
    git: GitSettings,
    format: Format,
    color: bool,
}

fn resolve(args: &ReportArgs) -> Settings {
    let deploy = match (&args.deploy_branch, &args.deploy_tags) {
        (Some(branch), _) => DeploySource::Branch(branch.clone()),
        (None, Some(re)) => DeploySource::Tags(re.clone()),
        (None, None) => DeploySource::Tags(
            Regex::new(DEFAULT_DEPLOY_TAGS).expect("the default pattern compiles"),
        ),
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
            path: args.path.display().to_string(),
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

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let settings = resolve(&args);
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    let options = nextneck_git::LoadOptions {
        branches: args.deploy_branch.iter().cloned().collect(),
    };
    let mut progress = WalkProgress::new();
    let history = nextneck_git::load(&args.path, &options, &mut progress).map_err(|e| match e {
        nextneck_git::Error::BranchNotFound { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    progress.finish();
    let mut report =
        nextneck_metrics::git_report(&history, &settings.git).map_err(|e| match e {
            ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
            other => anyhow::Error::new(other),
        })?;
    crate::code::tie_in(&args.path, &mut report);
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
