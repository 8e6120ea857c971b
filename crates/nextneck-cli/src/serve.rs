//! `nextneck serve`: the webhook server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use nextneck_server::Options;

use crate::db::{DbArgs, redact};
use crate::{UsageError, server_config};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,

    /// Address to listen on (port 0 picks a free port; the address is printed).
    /// Default: the `listen` of nextneck.toml's [server] section, else 127.0.0.1:8080.
    #[arg(long, env = "NEXTNECK_LISTEN", value_name = "ADDR")]
    listen: Option<String>,

    /// The configuration file (default: ./nextneck.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let section = server_config::load(args.config.as_deref())?;
    let url = args.db.resolve(section.db.as_deref())?;
    let listen = args
        .listen
        .clone()
        .or(section.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let addr: SocketAddr = listen.parse().map_err(|_| {
        UsageError(format!(
            "--listen: `{listen}` is not an address; use HOST:PORT such as 127.0.0.1:8080"
        ))
    })?;
    let secrets = section.secrets(&|k| std::env::var(k).ok());
    let served = secrets.served();
    if served.is_empty() {
        return Err(UsageError(
            "no webhook secret is set, so nothing would be served; set NEXTNECK_GITHUB_SECRET, NEXTNECK_GITLAB_TOKEN, NEXTNECK_PAGERDUTY_SECRET, NEXTNECK_JIRA_SECRET, NEXTNECK_OPSGENIE_TOKEN or NEXTNECK_EVENTS_TOKEN (or the [server] section of nextneck.toml)".to_owned(),
        )
        .into());
    }
    let mut options = Options::new(secrets);
    // Undocumented tuning for the benchmark's baseline (1 = one fsync per
    // request, no group commit).
    if let Some(n) = std::env::var("NEXTNECK_SERVE_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.max_batch = n;
    }
    let (state, workers) = nextneck_server::start(&url, options)
        .with_context(|| format!("could not start the server on {}", redact(&url)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("could not listen on {addr}"))?;
        let bound = listener.local_addr().context("no local address")?;
        let names: Vec<&str> = served.iter().map(|p| p.as_str()).collect();
        // The banner is best effort: a closed stdout must not stop the server.
        let banner = format!(
            "listening on http://{bound}\nstore {}; serving POST /hooks/{{{}}}\n",
            redact(&url),
            names.join(",")
        );
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        drop(out);
        nextneck_server::serve(listener, state, shutdown_signal())
            .await
            .context("the server failed")
    })?;
    workers.shutdown();
    Ok(())
}

/// SIGINT or SIGTERM: stop accepting, finish the requests in hand.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
