//! `nextneck import PROVIDER FILE...`: API exports, saved webhook payloads,
//! JUnit reports and generic events, stored as deliveries like webhooks,
//! with their events. All or nothing: everything is stored in one
//! transaction, committed only when every file was read and converted.
//!
//! A generic-events file (NDJSON) is read as a stream of chunks of whole
//! lines (`chunks.rs`), each stored as its own delivery as soon as it is
//! converted, so that a file of any size takes the memory of one chunk.
//! Other files are read whole, each one delivery.
//!
//! `nextneck import events LOG --stream NAME` reads any log `flow` reads
//! (CSV, NDJSON, XES, the wide layout, Jira and Trello exports) and stores
//! each of its events as a generic `stage.transition` of that stream.

mod chunks;

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, ValueEnum};
use nextneck_ingest::{FIRST_LINE_HEADER, Provider, convert_noting_unknown, dedupe_key};
use nextneck_store::{ImportCounts, ImportError, ImportItem, NewDelivery, Origin, Processed};

use crate::db::{self, DbArgs};
use crate::{UsageError, server_config};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the files are.
    #[arg(value_enum)]
    provider: ProviderArg,

    /// The files: API exports (`gh api --paginate ...`), saved webhook
    /// payloads, JUnit XML reports, or NDJSON generic events.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    #[command(flatten)]
    db: DbArgs,

    /// JUnit only: the commit the tests ran on.
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,

    /// JUnit only: the CI run the report came from.
    #[arg(long, value_name = "ID")]
    run: Option<String>,

    /// Events only: read the files as event logs (any log `nextneck flow`
    /// reads) and store their rows as stage transitions of this stream.
    /// A `[streams.NAME]` section of ./nextneck.toml gives its columns,
    /// zone and time format.
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,

    /// Generic events: the most lines a chunk (one delivery) holds; for
    /// tests.
    #[arg(
        long,
        hide = true,
        env = "NEXTNECK_IMPORT_CHUNK_LINES",
        default_value = "10000"
    )]
    chunk_lines: NonZeroUsize,

    #[command(flatten)]
    read: crate::flow::ReadArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProviderArg {
    Github,
    Gitlab,
    Pagerduty,
    Opsgenie,
    Jira,
    Junit,
    Events,
}

impl ProviderArg {
    fn provider(self) -> Provider {
        match self {
            ProviderArg::Github => Provider::Github,
            ProviderArg::Gitlab => Provider::Gitlab,
            ProviderArg::Pagerduty => Provider::Pagerduty,
            ProviderArg::Opsgenie => Provider::Opsgenie,
            ProviderArg::Jira => Provider::Jira,
            ProviderArg::Junit => Provider::Junit,
            ProviderArg::Events => Provider::Events,
        }
    }
}

/// The largest file read whole (all but generic events, which are read in
/// chunks): each is stored whole as one delivery, and PostgreSQL's `bytea`
/// holds at most 1 GiB.
const MAX_IMPORT_BYTES: u64 = 512 << 20;

/// How the files are read and stored: resolved from the arguments before
/// anything is read.
struct Plan {
    provider: Provider,
    /// `--commit` and `--run` as headers.
    headers: Vec<(String, String)>,
    /// `--stream` and the options to read its logs with.
    stream: Option<(String, nextneck_eventlog::ReadOptions)>,
    chunk_lines: NonZeroUsize,
    received_at_ms: i64,
    /// Lines of generic types this version does not know, by type.
    unknown: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

/// What was read: deliveries and the events converted.
#[derive(Default)]
struct Read {
    deliveries: usize,
    events: usize,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let plan = plan(&args)?;
    let section = server_config::load(None)?;
    let url = args.db.resolve(section.db.as_deref())?;
    for path in &args.files {
        check_file(path, plan.streamed())?;
    }
    let mut store = db::open(&url)?;
    let mut read = Read::default();
    let counts = pipelined(store.as_mut(), &plan, &args.files, &mut read).map_err(|e| match e {
        ImportError::Input(e) => anyhow::anyhow!(e),
        ImportError::Store(e) => anyhow::Error::new(e).context(format!(
            "could not store the import in {}; nothing was imported",
            db::redact(&url)
        )),
    })?;
    summary(args.files.len(), &read, &counts, &url)?;
    plan.warn_unknown();
    Ok(())
}

/// How many converted deliveries wait for the store at most: reading and
/// converting run ahead of writing by this many chunks, no more.
const AHEAD: usize = 2;

/// What the reading thread sends: a delivery (or the error that stops the
/// import), then that it is done.
enum Message {
    Item(Result<ImportItem, ImportError>),
    Done,
}

/// Imports the files' deliveries into the store, reading and converting
/// them on a thread of their own while the store writes the ones before
/// (two cores: the store's work and the conversion overlap). The store
/// commits only once the reader said it is done: a reader that stops
/// otherwise (a panic) ends the import with an error, and nothing is kept.
fn pipelined(
    store: &mut dyn nextneck_store::Store,
    plan: &Plan,
    files: &[PathBuf],
    read: &mut Read,
) -> Result<ImportCounts, ImportError> {
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel(AHEAD);
        scope.spawn(move || {
            for item in files.iter().flat_map(|path| plan.items(path)) {
                let last = item.is_err();
                if send.send(Message::Item(item)).is_err() || last {
                    return;
                }
            }
            let _ = send.send(Message::Done);
        });
        let mut done = false;
        let mut items = std::iter::from_fn(|| match receive.recv() {
            Ok(Message::Item(item)) => Some(item),
            Ok(Message::Done) => {
                done = true;
                None
            }
            Err(_) if done => None,
            Err(_) => {
                done = true;
                let stopped =
                    anyhow::anyhow!("reading the files stopped unexpectedly; nothing was imported");
                Some(Err(ImportError::Input(stopped.into())))
            }
        })
        .inspect(|item| read.count(item));
        store.import(&mut items)
    })
}

/// The plan of an import, or the usage error of its arguments.
fn plan(args: &ImportArgs) -> anyhow::Result<Plan> {
    let provider = args.provider.provider();
    if provider != Provider::Junit && (args.commit.is_some() || args.run.is_some()) {
        return Err(
            UsageError("--commit and --run are for `nextneck import junit`".to_owned()).into(),
        );
    }
    if provider != Provider::Events && args.stream.is_some() {
        return Err(UsageError(
            "--stream is for `nextneck import events LOG --stream NAME`".to_owned(),
        )
        .into());
    }
    let stream = match &args.stream {
        Some(name) => Some((name.clone(), log_options(name, &args.read)?)),
        None => None,
    };
    let mut headers = Vec::new();
    if let Some(c) = &args.commit {
        headers.push(("x-nextneck-commit".to_owned(), c.clone()));
    }
    if let Some(r) = &args.run {
        headers.push(("x-nextneck-run".to_owned(), r.clone()));
    }
    Ok(Plan {
        provider,
        headers,
        stream,
        chunk_lines: args.chunk_lines,
        received_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        unknown: std::sync::Mutex::default(),
    })
}

/// Checks that a file can be read before the store is opened, and that a
/// file read whole is not too large for one delivery.
fn check_file(path: &Path, streamed: bool) -> anyhow::Result<()> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not read {}", path.display()))?
        .len();
    if !streamed && size > MAX_IMPORT_BYTES {
        anyhow::bail!(
            "{}: the file is larger than {} MiB, the largest import (a delivery is stored whole); split it into pages; nothing was imported",
            path.display(),
            MAX_IMPORT_BYTES >> 20
        );
    }
    Ok(())
}

impl Read {
    fn count(&mut self, item: &Result<ImportItem, ImportError>) {
        let Ok(item) = item else {
            return;
        };
        self.deliveries += 1;
        if let Processed::Events(events) = &item.processed {
            self.events += events.len();
        }
    }
}

/// The line `nextneck import` prints.
fn summary(files: usize, read: &Read, counts: &ImportCounts, url: &str) -> anyhow::Result<()> {
    let deliveries = if read.deliveries == files {
        String::new()
    } else {
        format!(" ({} deliveries)", read.deliveries)
    };
    writeln!(
        io::stdout().lock(),
        "imported {files} {}{deliveries} into {}: {} new, {} already stored; {} events",
        if files == 1 { "file" } else { "files" },
        db::redact(url),
        counts.new,
        counts.duplicates,
        read.events,
    )?;
    Ok(())
}

impl Plan {
    /// Whether files are read in chunks: generic events not read as logs.
    fn streamed(&self) -> bool {
        self.provider == Provider::Events && self.stream.is_none()
    }

    /// The deliveries of one file, converted: its chunks, or the file.
    fn items(&self, path: &Path) -> Box<dyn Iterator<Item = Result<ImportItem, ImportError>> + '_> {
        let input = |e: anyhow::Error| ImportError::Input(e.into());
        if !self.streamed() {
            return Box::new(std::iter::once(self.whole_file(path).map_err(input)));
        }
        let chunks = match chunks::Chunks::open(path, self.chunk_lines) {
            Ok(chunks) => chunks,
            Err(e) => return Box::new(std::iter::once(Err(input(e)))),
        };
        let path = path.to_owned();
        Box::new(chunks.map(move |chunk| {
            chunk
                .and_then(|c| self.item(&path, c.body, Some(c.first_line)))
                .map_err(input)
        }))
    }

    /// A file read whole: its body (a log's events as generic events).
    fn whole_file(&self, path: &Path) -> anyhow::Result<ImportItem> {
        let body = match &self.stream {
            Some((stream, options)) => log_events(path, stream, options)?,
            None => {
                std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?
            }
        };
        self.item(path, body, None)
    }

    /// One delivery of `path`, converted: the file, or its chunk starting
    /// at `first_line`.
    fn item(
        &self,
        path: &Path,
        body: Vec<u8>,
        first_line: Option<usize>,
    ) -> anyhow::Result<ImportItem> {
        let mut headers = vec![("x-nextneck-file".to_owned(), file_name(path))];
        if let Some(n) = first_line {
            headers.push((FIRST_LINE_HEADER.to_owned(), n.to_string()));
        }
        headers.extend(self.headers.iter().cloned());
        let (converted, unknown) =
            convert_noting_unknown(self.provider, &headers, &body).map_err(|e| {
                let hint = if self.streamed() {
                    "; an event log (CSV, XES, an export) is imported with --stream NAME"
                } else {
                    ""
                };
                anyhow::anyhow!("{}: {e}{hint}; nothing was imported", path.display())
            })?;
        self.note_unknown(unknown);
        Ok(ImportItem {
            delivery: NewDelivery {
                provider: self.provider.as_str().to_owned(),
                dedupe_key: dedupe_key(self.provider, &headers, &body),
                event_type: converted.event_type,
                origin: Origin::Import,
                headers,
                body,
                received_at_ms: self.received_at_ms,
            },
            processed: match converted.events {
                Some(events) => Processed::Events(events),
                None => Processed::Unknown,
            },
        })
    }
}

impl Plan {
    fn note_unknown(&self, types: Vec<String>) {
        if types.is_empty() {
            return;
        }
        let mut unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        for t in types {
            *unknown.entry(t).or_insert(0) += 1;
        }
    }

    /// What the import skipped, for the user: lines of unknown types are
    /// stored (a later version may know them) but count for nothing now.
    fn warn_unknown(&self) {
        let unknown = self.unknown.lock().unwrap_or_else(|p| p.into_inner());
        if unknown.is_empty() {
            return;
        }
        let lines: u64 = unknown.values().sum();
        let types: Vec<String> = unknown
            .iter()
            .map(|(t, n)| format!("`{t}` ({n})"))
            .collect();
        let known: Vec<&str> = nextneck_ingest::EVENT_TYPES
            .iter()
            .map(|(t, _, _)| *t)
            .collect();
        eprintln!(
            "nextneck: warning: {lines} {} of a type this version does not know {} stored but not counted: {}; the generic format's types are {} (docs/events.md)",
            if lines == 1 { "line" } else { "lines" },
            if lines == 1 { "was" } else { "were" },
            types.join(", "),
            known.join(", ")
        );
    }
}

/// A file's name, as the `x-nextneck-file` header holds it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The options to read a stream's logs with: the arguments over the
/// `[streams.NAME]` section of ./nextneck.toml, if any.
fn log_options(
    name: &str,
    read: &crate::flow::ReadArgs,
) -> anyhow::Result<nextneck_eventlog::ReadOptions> {
    let config = crate::config::load(None)?;
    let section = config
        .as_ref()
        .and_then(|c| c.streams.get(name))
        .cloned()
        .unwrap_or_default();
    read.options(&section)
}

/// A log's events as NDJSON `stage.transition` events of `stream`: each
/// event is an entry of its item into its stage at its start, else its
/// time (an activity log is stored as entries into its activities; the
/// store reads streams as transitions). An event's id is its item, stage
/// and time (and how many times that triple came before), so importing the
/// same log again adds nothing.
fn log_events(
    path: &std::path::Path,
    stream: &str,
    options: &nextneck_eventlog::ReadOptions,
) -> anyhow::Result<Vec<u8>> {
    use nextneck_model::flow::NO_TIME;
    let mut log = nextneck_model::flow::EventLog::default();
    nextneck_eventlog::read_into(&mut log, path, options)
        .map_err(|e| anyhow::anyhow!("{e}; nothing was imported"))?;
    let mut seen: std::collections::HashMap<(u32, u32, i64), u32> =
        std::collections::HashMap::new();
    let mut body = Vec::new();
    for e in &log.events {
        let at = if e.start != NO_TIME { e.start } else { e.time };
        if at == NO_TIME {
            continue;
        }
        let n = seen.entry((e.case, e.stage, at)).or_insert(0);
        *n += 1;
        let (item, stage) = (log.cases.get(e.case), log.stages.get(e.stage));
        let at = jiff::Timestamp::from_second(at)
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: a time out of range; nothing was imported",
                    path.display()
                )
            })?
            .to_string();
        let id = match *n {
            1 => format!("{item}@{stage}@{at}"),
            n => format!("{item}@{stage}@{at}#{n}"),
        };
        serde_json::to_writer(
            &mut body,
            &serde_json::json!({
                "type": "stage.transition",
                "id": id,
                "stream": stream,
                "item": item,
                "stage": stage,
                "at": at,
            }),
        )?;
        body.push(b'\n');
    }
    if body.is_empty() {
        return Err(anyhow::anyhow!(
            "{}: the log has no events; nothing was imported",
            path.display()
        ));
    }
    Ok(body)
}
