//! `nextneck reprocess`: derive every normalized event again from the raw
//! deliveries, after a definition changed. Raw deliveries are not touched.

use std::io::{self, Write};

use clap::Args;

use crate::db::{self, DbArgs};
use crate::server_config;

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: ReprocessArgs) -> anyhow::Result<()> {
    let section = server_config::load(None)?;
    let url = args.db.resolve(section.db.as_deref())?;
    let mut store = db::open(&url)?;
    let queued = store.requeue_all()?;
    nextneck_server::process_pending(store.as_mut())?;
    let status = store.status()?;
    let events: u64 = status.events.iter().map(|(_, n)| n).sum();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "reprocessed {queued} deliveries: {events} events, {} failed, {} of unknown types",
        status.failed,
        status.unknown_types.iter().map(|(_, n)| n).sum::<u64>()
    )?;
    Ok(())
}
