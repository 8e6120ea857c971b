//! `nextneck import PROVIDER FILE...`: API exports, saved webhook payloads,
//! JUnit reports and generic events, stored as deliveries like webhooks and
//! processed at once. All or nothing: every file is read and checked before
//! anything is stored, and all are stored in one transaction.
//!
//! `nextneck import events LOG --stream NAME` reads any log `flow` reads
//! (CSV, NDJSON, XES, the wide layout, Jira and Trello exports) and stores
//! each of its events as a generic `stage.transition` of that stream.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, ValueEnum};
use nextneck_ingest::{Provider, convert, dedupe_key};
use nextneck_store::{Appended, NewDelivery, Origin};

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

/// The largest file imported: each is stored whole as one delivery, and
/// PostgreSQL's `bytea` holds at most 1 GiB.
const MAX_IMPORT_BYTES: u64 = 512 << 20;

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
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
    let log_options = match &args.stream {
        Some(name) => Some(log_options(name, &args.read)?),
        None => None,
    };
    let section = server_config::load(None)?;
    let url = args.db.resolve(section.db.as_deref())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // Read and check everything first.
    let mut deliveries = Vec::new();
    let mut events = 0usize;
    for path in &args.files {
        let size = std::fs::metadata(path)
            .with_context(|| format!("could not read {}", path.display()))?
            .len();
        if size > MAX_IMPORT_BYTES {
            anyhow::bail!(
                "{}: the file is larger than {} MiB, the largest import (a delivery is stored whole); split it into pages; nothing was imported",
                path.display(),
                MAX_IMPORT_BYTES >> 20
            );
        }
        let body = match (&args.stream, &log_options) {
            (Some(stream), Some(options)) => log_events(path, stream, options)?,
            _ => {
                std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?
            }
        };
        let mut headers = vec![(
            "x-nextneck-file".to_owned(),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )];
        if let Some(c) = &args.commit {
            headers.push(("x-nextneck-commit".to_owned(), c.clone()));
        }
        if let Some(r) = &args.run {
            headers.push(("x-nextneck-run".to_owned(), r.clone()));
        }
        let converted = convert(provider, &headers, &body).map_err(|e| {
            let hint = if provider == Provider::Events && args.stream.is_none() {
                "; an event log (CSV, XES, an export) is imported with --stream NAME"
            } else {
                ""
            };
            anyhow::anyhow!("{}: {e}{hint}; nothing was imported", path.display())
        })?;
        events += converted.events.as_ref().map_or(0, Vec::len);
        deliveries.push(NewDelivery {
            provider: provider.as_str().to_owned(),
            dedupe_key: dedupe_key(provider, &headers, &body),
            event_type: converted.event_type,
            origin: Origin::Import,
            headers,
            body,
            received_at_ms: now,
        });
    }
    let mut store = db::open(&url)?;
    let appended = store.append(&deliveries)?;
    nextneck_server::process_pending(store.as_mut())?;
    let new = appended
        .iter()
        .filter(|a| matches!(a, Appended::New(_)))
        .count();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "imported {} {} into {}: {new} new, {} already stored; {events} events",
        deliveries.len(),
        if deliveries.len() == 1 {
            "file"
        } else {
            "files"
        },
        db::redact(&url),
        deliveries.len() - new,
    )?;
    Ok(())
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
