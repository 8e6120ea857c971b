//! `nextneck import PROVIDER FILE...`: API exports, saved webhook payloads,
//! JUnit reports and generic events, stored as deliveries like webhooks and
//! processed at once. All or nothing: every file is read and checked before
//! anything is stored, and all are stored in one transaction.

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
        let body =
            std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
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
        let converted = convert(provider, &headers, &body)
            .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", path.display()))?;
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
