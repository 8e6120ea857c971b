//! `nextneck code`: hotspots, change coupling, knowledge islands and the
//! truck factor of a git clone. Also the code tie-in of `nextneck report`.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nextneck_git::changes::{CodeLoader, CodeOptions};
use nextneck_metrics::code::{
    CodeSettings, CouplingSettings, DEFAULT_TOP, IslandSettings, PathPattern, snapshot_commit,
};
use nextneck_metrics::report::Report;
use nextneck_metrics::{ReportError, WindowSpec};
use nextneck_model::{CommitId, Timestamp};
use nextneck_render::Format;

use crate::{UsageError, args};

#[derive(Debug, Args)]
pub struct CodeArgs {
    /// The repository: a work tree, a bare repository or a linked worktree
    /// (any directory inside one works).
    #[arg(default_value = ".")]
    path: PathBuf,

    /// Output format.
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

    /// End of the window, exclusive; also the moment whose files count as
    /// "the code now". Default: the end of the newest commit's day.
    #[arg(long, value_parser = args::timestamp, conflicts_with = "all")]
    until: Option<Timestamp>,

    /// The whole history instead of the 90 days ending with the newest commit.
    #[arg(long)]
    all: bool,

    /// Only files under this path or matching this pattern (`src/`,
    /// `'*.rs'`, `'crates/*/src'`; `*` also matches `/`). Repeatable.
    #[arg(long = "path", value_name = "PATTERN", value_parser = path_pattern)]
    include: Vec<PathPattern>,

    /// Leave out files under this path or matching this pattern (vendored
    /// or generated code). Repeatable.
    #[arg(long, value_name = "PATTERN", value_parser = path_pattern)]
    exclude: Vec<PathPattern>,

    /// Follow renames (git's -M: identical or at least 50% alike files).
    /// The default; kept for scripts that pass it.
    #[arg(long, overrides_with = "no_renames")]
    renames: bool,

    /// Do not follow renames: a renamed file starts a new history.
    #[arg(long)]
    no_renames: bool,

    /// Keep lockfiles, files marked linguist-generated or linguist-vendored
    /// in .gitattributes, built-in generated and vendored patterns and
    /// translations (all left out of hotspots, coupling and knowledge by
    /// default).
    #[arg(long)]
    include_generated: bool,

    /// Keep translation catalogues (*.po, *.pot, *.mo, *.xlf, *.xliff).
    #[arg(long)]
    include_translations: bool,

    /// Neither read nor write the cache of file changes (in .git/nextneck/).
    #[arg(long)]
    no_cache: bool,

    /// Rows in each list.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP)]
    top: usize,

    /// Change coupling: a file needs at least this many commits in the window.
    #[arg(long, value_name = "N", default_value_t = 5)]
    min_revisions: usize,

    /// Change coupling: a pair needs at least this many shared commits.
    #[arg(long, value_name = "N", default_value_t = 5)]
    min_shared: usize,

    /// Change coupling: a pair needs at least this degree, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "30", value_parser = percent)]
    min_degree: f64,

    /// Change coupling: ignore commits touching more files than this.
    #[arg(long, value_name = "N", default_value_t = 30)]
    max_changeset: usize,

    /// Knowledge islands: the main author wrote at least this share of the
    /// lines, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "80", value_parser = percent)]
    island_share: f64,

    /// Knowledge islands: the main author made no commit in this many days
    /// before the window's end.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    island_days: u32,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Markdown,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn path_pattern(s: &str) -> Result<PathPattern, String> {
    PathPattern::parse(s)
}

/// A percentage from 0 to 100, as a fraction.
fn percent(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a number; pass a percentage such as 30"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("`{s}` is not between 0 and 100"));
    }
    Ok(value / 100.0)
}

/// Settings resolved from the arguments.
struct Settings {
    code: CodeSettings,
    options: CodeOptions,
    format: Format,
    color: bool,
}

fn resolve(args: &CodeArgs) -> Settings {
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
    let mut code = CodeSettings::new(args.path.display().to_string(), window);
    code.include = args.include.clone();
    code.exclude = args.exclude.clone();
    code.include_generated = args.include_generated;
    code.include_translations = args.include_translations;
    code.top = args.top;
    code.coupling = CouplingSettings {
        min_revisions: args.min_revisions,
        min_shared: args.min_shared,
        min_degree: args.min_degree,
        max_changeset_files: args.max_changeset,
    };
    code.islands = IslandSettings {
        min_share: args.island_share,
        inactive_days: i64::from(args.island_days),
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
        code,
        options: CodeOptions {
            renames: args.renames || !args.no_renames,
            cache: !args.no_cache,
            user_cache_dir: user_cache_dir(),
        },
        format,
        color,
    }
}

/// `$XDG_CACHE_HOME/nextneck`, else `~/.cache/nextneck`: where the cache
/// goes when the repository's `.git/nextneck/` is not writable.
fn user_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("nextneck"))
}

fn usage_or_runtime(e: ReportError) -> anyhow::Error {
    match e {
        ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    }
}

pub fn run(args: CodeArgs) -> anyhow::Result<()> {
    let settings = resolve(&args);
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    let mut progress = CodeProgress::new();
    let mut loader = CodeLoader::open(&args.path, settings.options.clone(), &mut progress)?;
    let (_, until, _) = nextneck_metrics::code::window(loader.history(), settings.code.window)
        .map_err(usage_or_runtime)?;
    loader.diff(Some(until), &mut progress)?;
    let snapshot = match snapshot_commit(loader.history(), until) {
        Some(c) => Some(loader.snapshot(c)?),
        None => None,
    };
    let (history, cache) = loader.finish();
    progress.finish();
    if let Some(warning) = cache.warning {
        eprintln!("warning: {warning}");
    }
    let report = nextneck_metrics::code_report(&history, snapshot.as_ref(), &settings.code)
        .map_err(usage_or_runtime)?;
    crate::output::write_to(args.output.as_deref(), |out| {
        nextneck_render::render_code(&report, settings.format, settings.color, out)
    })
}

/// The code tie-in of `nextneck report`: when the window has failed
/// deployments, reads the file changes (through the cache) and fills
/// `report.code`. Without failed deployments it does nothing, so the report
/// costs what it did. A failure to read file changes becomes a notice, not
/// an error: the delivery figures stand on their own.
/// Most commits the report diffs for its code tie-in. Beyond it the report
/// stays fast (it promises seconds) and asks for `nextneck code`, whose
/// cache later reports reuse.
pub const TIE_IN_BUDGET: usize = 5_000;

pub fn tie_in(path: &Path, report: &mut Report, failed_changes: &[CommitId]) {
    if failed_changes.is_empty() {
        return;
    }
    // A hidden knob for tests, which cannot afford 5,000-commit fixtures.
    let budget = std::env::var("NEXTNECK_TIE_IN_BUDGET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TIE_IN_BUDGET);
    let (since, until) = (report.window.since, report.window.until);
    // Renames followed, as `nextneck code` does by default, so that the two
    // share one cache.
    let options = CodeOptions {
        renames: true,
        cache: true,
        user_cache_dir: user_cache_dir(),
    };
    let over_budget = |pending: usize| nextneck_metrics::code::not_cached_notice(pending, budget);
    // Without a cache, even walking the history again would double the
    // report's cost on a large repository: decide from the commit count.
    if report.source.commits > budget && !CodeLoader::cache_exists(path, &options) {
        report.notices.push(over_budget(report.source.commits));
        return;
    }
    let result = (|| -> anyhow::Result<_> {
        let mut progress = CodeProgress::new();
        let mut loader = CodeLoader::open(path, options, &mut progress)?;
        let pending = loader.pending_diffs(Some(until));
        if pending > budget {
            return Ok(Err(pending));
        }
        loader.diff(Some(until), &mut progress)?;
        let snapshot = match snapshot_commit(loader.history(), until) {
            Some(c) => Some(loader.snapshot(c)?),
            None => None,
        };
        let (history, _) = loader.finish();
        progress.finish();
        let code = nextneck_metrics::code::failure_code(
            &history,
            snapshot.as_ref(),
            failed_changes,
            since,
            until,
        )?;
        Ok(Ok(code))
    })();
    match result {
        Ok(Ok(code)) => report.code = Some(code),
        Ok(Err(pending)) => report.notices.push(over_budget(pending)),
        Err(e) => report
            .notices
            .push(nextneck_metrics::code::unavailable_notice(&format!(
                "{e:#}"
            ))),
    }
}

/// A spinner on stderr once reading has taken a second, on a terminal only.
struct CodeProgress {
    start: Instant,
    bar: Option<ProgressBar>,
    enabled: bool,
}

impl CodeProgress {
    fn new() -> Self {
        CodeProgress {
            start: Instant::now(),
            bar: None,
            enabled: io::stderr().is_terminal(),
        }
    }

    fn bar(&mut self) -> Option<&ProgressBar> {
        if !self.enabled {
            return None;
        }
        if self.bar.is_none() && self.start.elapsed() > Duration::from_secs(1) {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
        self.bar.as_ref()
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl nextneck_git::Progress for CodeProgress {
    fn commits_read(&mut self, count: usize) {
        if let Some(bar) = self.bar() {
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} reading history: {human_pos} commits ({per_sec})",
            ) {
                bar.set_style(style);
            }
            bar.set_position(count as u64);
        }
    }

    fn commits_diffed(&mut self, done: usize, total: usize) {
        if let Some(bar) = self.bar() {
            if bar.length() != Some(total as u64) {
                bar.set_length(total as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "{spinner} reading file changes: {human_pos}/{human_len} commits ({per_sec}, {eta} left)",
                ) {
                    bar.set_style(style);
                }
            }
            bar.set_position(done as u64);
        }
    }
}
