//! `nextneck status`: what the event store holds.

use std::io::{self, Write};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use crate::db::{self, DbArgs};
use crate::server_config;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    db: DbArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    format: StatusFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StatusFormat {
    Table,
    Json,
}

fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_else(|_| ms.to_string())
}

pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let section = server_config::load(None)?;
    let url = args.db.resolve(section.db.as_deref())?;
    let status = db::open(&url)?.status()?;
    let mut out = io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            let mut deliveries = Map::new();
            let mut last = Map::new();
            for p in &status.providers {
                deliveries.insert(p.provider.clone(), json!(p.deliveries));
                last.insert(p.provider.clone(), json!(time(p.last_received_at_ms)));
            }
            let mut events = Map::new();
            for (kind, n) in &status.events {
                events.insert(kind.clone(), json!(n));
            }
            let value = json!({
                "deliveries": Value::Object(deliveries),
                "deliveries_total": status.providers.iter().map(|p| p.deliveries).sum::<u64>(),
                "last_delivery": Value::Object(last),
                "events": Value::Object(events),
                "events_total": status.events.iter().map(|(_, n)| n).sum::<u64>(),
                "backlog": status.backlog,
                "failed": status.failed,
                "retrying": status.retrying,
                "recent_failures": status.recent_failures.iter()
                    .map(|f| json!({
                        "delivery_id": f.delivery_id,
                        "provider": f.provider,
                        "event_type": f.event_type,
                        "error": f.error,
                    }))
                    .collect::<Vec<_>>(),
                "unknown_event_types": status.unknown_types.iter()
                    .map(|(t, n)| json!({"event_type": t, "deliveries": n}))
                    .collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        StatusFormat::Table => {
            writeln!(out, "store      {}", db::redact(&url))?;
            if status.providers.is_empty() {
                writeln!(out, "deliveries none yet")?;
            }
            for p in &status.providers {
                writeln!(
                    out,
                    "deliveries {:<10} {:>8}  last {}",
                    p.provider,
                    p.deliveries,
                    time(p.last_received_at_ms)
                )?;
            }
            for (kind, n) in &status.events {
                writeln!(out, "events     {kind:<20} {n:>8}")?;
            }
            writeln!(out, "backlog    {} waiting to be processed", status.backlog)?;
            if status.retrying > 0 {
                writeln!(
                    out,
                    "retrying   {} whose events could not be stored yet (tried again, then set aside)",
                    status.retrying
                )?;
            }
            if status.failed > 0 {
                writeln!(
                    out,
                    "failed     {} set aside (run `nextneck reprocess` after an upgrade or a fix)",
                    status.failed
                )?;
            }
            for f in &status.recent_failures {
                writeln!(
                    out,
                    "failure    delivery {} ({}, {}): {}",
                    f.delivery_id,
                    nextneck_ingest::escape_control(&f.provider),
                    nextneck_ingest::escape_control(&f.event_type),
                    nextneck_ingest::escape_control(&f.error)
                )?;
            }
            for (t, n) in &status.unknown_types {
                writeln!(out, "unknown    {t} ({n} kept, ignored by metrics)")?;
            }
        }
    }
    Ok(())
}
