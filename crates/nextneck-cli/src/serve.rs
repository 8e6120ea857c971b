//! `nextneck serve`: the webhook server, and the dashboard, JSON API and
//! `/metrics` over its store. Every setting is resolved here (the server
//! reads no file and no environment): the secrets and the read token, the
//! delivery settings `report --db` uses, and the configured streams' flow
//! settings.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use nextneck_metrics::delivery::ChangeLinking;
use nextneck_metrics::flow::FlowSettings;
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
    let env = |k: &str| std::env::var(k).ok();
    let secrets = section.secrets(&env);
    let served = secrets.served();
    if served.is_empty() {
        // Best effort, like the banner.
        let _ = writeln!(
            std::io::stderr(),
            "nextneck serve: no webhook secret is set, so no hooks are served (a read-only dashboard); set NEXTNECK_GITHUB_SECRET, NEXTNECK_GITLAB_TOKEN, NEXTNECK_PAGERDUTY_SECRET, NEXTNECK_JIRA_SECRET, NEXTNECK_OPSGENIE_TOKEN or NEXTNECK_EVENTS_TOKEN (or the [server] section of nextneck.toml) to receive webhooks"
        );
    }
    let mut options = Options::new(secrets);
    options.read_token = section.read_token(&env);
    options.limits = section.limits().map_err(UsageError)?;
    options.delivery = crate::report::delivery_defaults(args.config.as_deref(), &url)?;
    if options.delivery.link_changes == ChangeLinking::CommitRange {
        return Err(UsageError(
            "link_changes = \"commit_range\" in [delivery] needs a clone, which the server does not have; use \"auto\" or \"after_merge\"".to_owned(),
        )
        .into());
    }
    options.streams = configured_streams(args.config.as_deref())?;
    let file = crate::config::load(args.config.as_deref())?;
    let (digest, syncs) = match file {
        Some(c) => (c.digest, c.sync),
        None => Default::default(),
    };
    let digest = digest.schedule(env("NEXTNECK_DIGEST_URL"))?;
    let syncs = syncs.schedule()?;
    // Undocumented tuning for the benchmark's baseline (1 = one fsync per
    // request, no group commit).
    if let Some(n) = std::env::var("NEXTNECK_SERVE_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.max_batch = n;
    }
    let read_protected = options.read_token.is_some();
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
        let hooks = if names.is_empty() {
            "no hooks".to_owned()
        } else {
            format!("POST /hooks/{{{}}}", names.join(","))
        };
        // The banner is best effort: a closed stdout must not stop the server.
        let banner = format!(
            "listening on http://{bound}\nstore {}; serving {hooks}; the dashboard at /, the API at /api/v1/ and /metrics{}\n",
            redact(&url),
            if read_protected { " (read token required)" } else { "" }
        );
        let banner = match &digest {
            Some(schedule) => format!("{banner}{}\n", schedule.describe()),
            None => banner,
        };
        let banner = match &syncs {
            Some(schedule) => format!("{banner}{}\n", schedule.describe()),
            None => banner,
        };
        if let Some(schedule) = digest {
            crate::digest::spawn_scheduler(schedule, url.clone(), args.config.clone());
        }
        if let Some(schedule) = syncs {
            crate::sync_schedule::spawn_scheduler(schedule, url.clone(), args.config.clone());
        }
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

/// The flow settings of the streams of nextneck.toml, by name: what
/// `nextneck flow --db` takes from a stream's section (model, done stages,
/// stage categories); the server applies them to the store's stream of the
/// same name. (The files and columns of a section are for `flow FILE`.)
fn configured_streams(config: Option<&Path>) -> anyhow::Result<BTreeMap<String, FlowSettings>> {
    let Some(config) = crate::config::load(config)? else {
        return Ok(BTreeMap::new());
    };
    Ok(config
        .streams
        .iter()
        .map(|(name, s)| (name.clone(), s.flow_settings(name)))
        .collect())
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
