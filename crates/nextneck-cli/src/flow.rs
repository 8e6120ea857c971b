//! `nextneck flow`: flow metrics and the bottleneck of any value stream,
//! from event logs (CSV, NDJSON, XES) or the streams of `nextneck.toml`.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use nextneck_eventlog::{Columns, ReadOptions, RowLayout};
use nextneck_metrics::WindowSpec;
use nextneck_metrics::flow::{FlowError, FlowReport, FlowSettings, Model, ModelChoice};
use nextneck_model::Timestamp;
use nextneck_model::flow::EventLog;
use nextneck_render::Format;

use crate::report::{ColorArg, FormatArg};
use crate::{UsageError, args, config};

#[derive(Debug, Args)]
pub struct FlowArgs {
    /// Event logs (CSV, NDJSON, XES, optionally .gz), read in order as one
    /// stream. Without files: the streams of nextneck.toml.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    #[command(flatten)]
    stream: StreamArgs,

    #[command(flatten)]
    window: WindowArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,

    /// When to colour the table: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// How to read a stream and what its stages mean (shared with `forecast`).
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// A stream of nextneck.toml, or with --db a stream of the event store
    /// (default: every stream when no FILE is given).
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,

    /// Read the streams from this event store (sqlite:PATH or
    /// postgres://...): the stage transitions received by `nextneck serve`
    /// or `nextneck import events`, and Jira status changes.
    #[arg(long, value_name = "URL")]
    db: Option<String>,

    /// The configuration file (default: ./nextneck.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// How to read the log: auto (activities when there is a lifecycle or
    /// start-time column, or XES; else transitions), transitions or activities.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    model: ModelArg,

    /// A stage where an item's flow ends (repeatable; replaces the default
    /// done names).
    #[arg(long, value_name = "STAGE")]
    done: Vec<String>,

    /// A stage where work happens, for flow efficiency (repeatable).
    #[arg(long, value_name = "STAGE")]
    active: Vec<String>,

    /// A stage where items wait, for flow efficiency (repeatable).
    #[arg(long, value_name = "STAGE")]
    wait: Vec<String>,

    /// "Now", for work in progress and aging (default: the newest time in the log).
    #[arg(long, value_parser = args::timestamp)]
    now: Option<Timestamp>,

    /// The commitment point: the stage where an item's flow starts. Time
    /// before it is not flow time, and stages before it are not candidates
    /// for the bottleneck.
    #[arg(long, value_name = "STAGE")]
    start: Option<String>,

    #[command(flatten)]
    read: ReadArgs,
}

/// How to read a log's files (shared with `import events --stream`).
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Time zone of times written without an offset (IANA name; default UTC).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,

    /// The format of the log's times when they are in a local form
    /// (strftime, such as "%d/%m/%Y %H:%M" or Jira's "%d/%b/%y %I:%M %p"); local
    /// times are in --tz.
    #[arg(long, value_name = "FORMAT")]
    time_format: Option<String>,

    /// How a CSV log's rows are laid out: auto, long (a row per event:
    /// item, stage, time) or wide (a row per item, a column per stage holding
    /// when it entered it).
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    layout: LayoutArg,

    /// The case (item) id column.
    #[arg(long, value_name = "NAME")]
    case_column: Option<String>,

    /// The stage, status or activity column.
    #[arg(long, value_name = "NAME")]
    stage_column: Option<String>,

    /// The time column.
    #[arg(long, value_name = "NAME")]
    time_column: Option<String>,

    /// The lifecycle (start/complete) column.
    #[arg(long, value_name = "NAME")]
    lifecycle_column: Option<String>,

    /// The start-time column of rows that hold a whole activity.
    #[arg(long, value_name = "NAME")]
    start_column: Option<String>,

    /// The resource column.
    #[arg(long, value_name = "NAME")]
    resource_column: Option<String>,

    /// The item type column.
    #[arg(long, value_name = "NAME")]
    type_column: Option<String>,
}

#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Start of the window, inclusive: an RFC 3339 date or date-time (UTC when no offset),
    /// or relative: 30d, 2w, yesterday, today (whole UTC days back from today).
    #[arg(long, value_parser = args::timestamp, conflicts_with = "all")]
    since: Option<Timestamp>,

    /// End of the window, exclusive. Default: the end of the newest event's day.
    #[arg(long, value_parser = args::timestamp, conflicts_with = "all")]
    until: Option<Timestamp>,

    /// The whole log instead of the 90 days ending with the newest event.
    #[arg(long)]
    all: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    Auto,
    Long,
    Wide,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    Auto,
    Transitions,
    Activities,
}

/// One stream, resolved: what to read and how, and what to compute.
pub struct Stream {
    pub input: Input,
    pub flow: FlowSettings,
}

/// Where a stream's events come from.
pub enum Input {
    /// Event log files, read in order.
    Files(Vec<PathBuf>, Box<ReadOptions>),
    /// Already read from the event store.
    Log(Box<EventLog>),
}

/// Resolves the streams to report on: the FILEs (with a configured
/// stream's settings when `--stream` names one), or the configured streams.
pub fn resolve_streams(files: &[PathBuf], a: &StreamArgs) -> anyhow::Result<Vec<Stream>> {
    let config = config::load(a.config.as_deref())?;
    if let Some(url) = &a.db {
        if !files.is_empty() {
            return Err(UsageError(
                "pass event log files or --db, not both; the store's streams and a file are different logs".to_owned(),
            )
            .into());
        }
        return store_streams(url, config.as_ref(), a);
    }
    let configured: Vec<(String, config::Stream, PathBuf)> = match (&config, &a.stream) {
        (Some(c), Some(name)) => match c.streams.get(name) {
            Some(s) => vec![(name.clone(), s.clone(), c.dir.clone())],
            None => {
                let names: Vec<&str> = c.streams.keys().map(String::as_str).collect();
                return Err(UsageError(format!(
                    "no stream \"{name}\" in the configuration; {}",
                    crate::db::it_has(&names)
                ))
                .into());
            }
        },
        (None, Some(name)) => {
            return Err(UsageError(format!(
                "--stream {name}: there is no configuration file; create {} or pass --config",
                config::FILE_NAME
            ))
            .into());
        }
        (Some(c), None) if files.is_empty() => c
            .streams
            .iter()
            .map(|(n, s)| (n.clone(), s.clone(), c.dir.clone()))
            .collect(),
        _ => Vec::new(),
    };
    if !files.is_empty() {
        let (name, base) = match configured.into_iter().next() {
            Some((name, s, _)) => (name, s),
            None => (
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                config::Stream::default(),
            ),
        };
        return Ok(vec![stream(name, Some(files.to_vec()), &base, a)?]);
    }
    if configured.is_empty() {
        return Err(UsageError(format!(
            "no event log: pass FILE (CSV, NDJSON or XES), or name streams in {} as [streams.NAME] with file = \"events.csv\"",
            config::FILE_NAME
        ))
        .into());
    }
    configured
        .into_iter()
        .map(|(name, s, dir)| {
            let paths = s.paths(&dir);
            if paths.is_empty() {
                return Err(UsageError(format!(
                    "stream \"{name}\" names no event log; add file = \"events.csv\" to its section, or read it from the event store with --db URL"
                ))
                .into());
            }
            stream(name, Some(paths), &s, a)
        })
        .collect()
}

/// The streams of the event store (or the one `--stream` names), each with
/// its configured settings when nextneck.toml has a section of its name.
fn store_streams(
    url: &str,
    config: Option<&config::Config>,
    a: &StreamArgs,
) -> anyhow::Result<Vec<Stream>> {
    crate::db::require_existing(url)?;
    let stored = crate::db::read_events(url, nextneck_metrics::flow_events::KINDS)?;
    let traced = nextneck_store::traced(&stored);
    let show = config
        .and_then(|c| c.server.show_db_location)
        .unwrap_or(false);
    let label = nextneck_store::db_label(url, show);
    let mut logs = nextneck_metrics::flow_events::stream_logs(&traced, &label);
    drop(stored);
    if let Some(name) = &a.stream {
        let Some(log) = logs.remove(name) else {
            let names: Vec<&str> = logs.keys().map(String::as_str).collect();
            return Err(UsageError(format!(
                "the event store has no stream \"{name}\"; {}; stage.transition events sent to POST /hooks/events or `nextneck import events FILE` make streams",
                crate::db::it_has(&names)
            ))
            .into());
        };
        logs = BTreeMap::from([(name.clone(), log)]);
    }
    if logs.is_empty() {
        return Err(UsageError(format!(
            "the event store {} has no value stream; send stage.transition events to POST /hooks/events or `nextneck import events FILE`",
            crate::db::redact(url)
        ))
        .into());
    }
    logs.into_iter()
        .map(|(name, log)| {
            let base = config
                .and_then(|c| c.streams.get(&name))
                .cloned()
                .unwrap_or_default();
            let mut s = stream(name, None, &base, a)?;
            s.input = Input::Log(Box::new(log));
            Ok(s)
        })
        .collect()
}

/// One stream's settings: CLI over the configured stream over defaults.
fn stream(
    name: String,
    files: Option<Vec<PathBuf>>,
    c: &config::Stream,
    a: &StreamArgs,
) -> anyhow::Result<Stream> {
    let read = a.read.options(c)?;
    let mut flow = c.flow_settings(&name);
    match a.model {
        ModelArg::Transitions => flow.model = ModelChoice::Fixed(Model::Transitions),
        ModelArg::Activities => flow.model = ModelChoice::Fixed(Model::Activities),
        ModelArg::Auto => {}
    }
    for (cli, setting) in [
        (&a.done, &mut flow.done),
        (&a.active, &mut flow.active),
        (&a.wait, &mut flow.wait),
    ] {
        if !cli.is_empty() {
            setting.clone_from(cli);
        }
    }
    flow.now = a.now;
    if a.start.is_some() {
        flow.start.clone_from(&a.start);
    }
    Ok(Stream {
        input: Input::Files(files.unwrap_or_default(), Box::new(read)),
        flow,
    })
}

impl ReadArgs {
    /// The options to read with: these arguments over the configured
    /// stream `c` over the defaults.
    pub fn options(&self, c: &config::Stream) -> anyhow::Result<ReadOptions> {
        let pick = |cli: &Option<String>, cfg: &Option<String>| cli.clone().or_else(|| cfg.clone());
        let columns = Columns {
            case: pick(&self.case_column, &c.columns.case),
            stage: pick(&self.stage_column, &c.columns.stage),
            time: pick(&self.time_column, &c.columns.time),
            lifecycle: pick(&self.lifecycle_column, &c.columns.lifecycle),
            start: pick(&self.start_column, &c.columns.start),
            resource: pick(&self.resource_column, &c.columns.resource),
            item_type: pick(&self.type_column, &c.columns.item_type),
        };
        let tz = match pick(&self.tz, &c.tz) {
            None => jiff::tz::TimeZone::UTC,
            Some(z) => jiff::tz::TimeZone::get(&z).map_err(|_| {
                UsageError(format!(
                    "--tz {z}: not a time zone; use an IANA name such as Europe/Paris or UTC"
                ))
            })?,
        };
        let layout = match (self.layout, c.layout.as_deref()) {
            (LayoutArg::Long, _) | (LayoutArg::Auto, Some("long")) => RowLayout::Long,
            (LayoutArg::Wide, _) | (LayoutArg::Auto, Some("wide")) => RowLayout::Wide,
            (LayoutArg::Auto, _) => RowLayout::Auto,
        };
        Ok(ReadOptions {
            columns,
            tz,
            time_format: pick(&self.time_format, &c.time_format),
            layout,
            ..ReadOptions::default()
        })
    }
}

/// Reads a stream's files (or hands over the log read from the store).
pub fn read(stream: &mut Stream) -> anyhow::Result<EventLog> {
    match std::mem::replace(&mut stream.input, Input::Files(Vec::new(), Box::default())) {
        Input::Files(files, options) => Ok(nextneck_eventlog::read(&files, &options)?),
        Input::Log(log) => Ok(*log),
    }
}

/// The files a stream reads, for errors (`a.csv, b.csv`); empty for a
/// stream of the event store.
pub fn file_names(input: &Input) -> String {
    match input {
        Input::Files(files, _) => files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Input::Log(_) => String::new(),
    }
}

/// An error about what the files hold, prefixed with their names.
pub fn in_files(files: &str, e: anyhow::Error) -> anyhow::Error {
    if files.is_empty() || e.downcast_ref::<UsageError>().is_some() {
        e
    } else {
        e.context(files.to_owned())
    }
}

/// Maps a flow error to its exit code.
pub fn flow_error(e: FlowError) -> anyhow::Error {
    match e {
        FlowError::EmptyWindow { .. } | FlowError::UnknownStage { .. } => {
            anyhow::Error::new(UsageError(e.to_string()))
        }
        FlowError::Empty => anyhow::Error::new(e),
    }
}

/// The output format.
pub fn format(f: FormatArg) -> anyhow::Result<Format> {
    Ok(match f {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Html => Format::Html,
    })
}

pub fn color(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => io::stdout().is_terminal() && crate::no_color_unset(),
    }
}

pub fn run(args: FlowArgs) -> anyhow::Result<()> {
    if let (Some(since), Some(until)) = (args.window.since, args.window.until)
        && since >= until
    {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    let window = if args.window.all {
        WindowSpec::All
    } else if args.window.since.is_some() || args.window.until.is_some() {
        WindowSpec::Range {
            since: args.window.since,
            until: args.window.until,
        }
    } else {
        WindowSpec::Default
    };
    let streams = resolve_streams(&args.files, &args.stream)?;
    let (format, color) = (format(args.format)?, color(args.color));
    let mut reports: Vec<FlowReport> = Vec::with_capacity(streams.len());
    for mut s in streams {
        s.flow.window = window;
        let files = file_names(&s.input);
        let log = read(&mut s)?;
        let report = nextneck_metrics::flow::flow_report(&log, &s.flow)
            .map_err(|e| in_files(&files, flow_error(e)))?;
        drop(log);
        reports.push(report);
    }
    let color = color && args.output.is_none();
    crate::output::write_to(args.output.as_deref(), |out| {
        if reports.len() == 1 {
            nextneck_render::flow::render_flow(&reports[0], format, color, out)
        } else {
            let refs: Vec<&FlowReport> = reports.iter().collect();
            let overview = nextneck_metrics::flow::overview(&refs);
            nextneck_render::flow::render_streams(&reports, &overview, format, color, out)
        }
    })
}
