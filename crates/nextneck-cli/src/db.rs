//! The `--db` option shared by `serve`, `import`, `status` and `reprocess`.

use clap::Args;

use crate::UsageError;

/// The default store: a file beside the user, where they can see it.
pub const DEFAULT_DB: &str = "sqlite:nextneck.db";

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The event store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE.
    /// Default: the `db` of nextneck.toml's [server] section, else sqlite:nextneck.db.
    #[arg(long, env = "NEXTNECK_DB", value_name = "URL")]
    pub db: Option<String>,
}

impl DbArgs {
    /// The URL to use: the option (or `NEXTNECK_DB`), else the config
    /// file's, else the default; a URL that names no database is a usage
    /// error.
    pub fn resolve(&self, from_config: Option<&str>) -> Result<String, UsageError> {
        let url = self
            .db
            .as_deref()
            .or(from_config)
            .unwrap_or(DEFAULT_DB)
            .to_owned();
        nextneck_store::DbUrl::parse(&url).map_err(|e| UsageError(format!("--db: {e}")))?;
        Ok(url)
    }
}

/// Opens the store, naming the URL (without credentials) on failure. A
/// store whose derived tables are of an older version was queued again on
/// open; it is processed here, once, before any command reads it.
pub fn open(url: &str) -> anyhow::Result<Box<dyn nextneck_store::Store>> {
    let mut store = nextneck_store::open(url).map_err(|e| {
        anyhow::Error::new(e).context(format!("could not open the event store {}", redact(url)))
    })?;
    if store.rebuilt_on_open() {
        eprintln!(
            "nextneck: rebuilding the derived tables of {} from its deliveries (once, after an upgrade)",
            redact(url)
        );
        nextneck_server::process_pending(store.as_mut()).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "could not rebuild the derived tables of {}; run `nextneck reprocess`",
                redact(url)
            ))
        })?;
    }
    Ok(store)
}

/// The delivery report over the store at `url`:
/// [`nextneck_server::delivery_report_over`], its window's events read
/// through the derived tables (and every event when that read would cut a
/// deployment's predecessor). An empty window is a usage error.
pub fn delivery_report(
    url: &str,
    history: Option<&nextneck_model::History>,
    settings: &mut nextneck_metrics::DeliverySettings,
) -> anyhow::Result<Result<nextneck_metrics::Report, nextneck_metrics::ReportError>> {
    use anyhow::Context;
    let mut store = open(url)?;
    nextneck_server::delivery_report_over(
        |settings, reading| match nextneck_server::delivery_events(
            store.as_mut(),
            settings,
            reading,
        ) {
            Ok(stored) => Ok(stored),
            Err(nextneck_server::ReadEventsError::Window(e)) => {
                Err(anyhow::Error::new(UsageError(e.to_string())))
            }
            Err(e) => {
                Err(e).with_context(|| format!("could not read the events of {}", redact(url)))
            }
        },
        history,
        settings,
    )
}

/// Checks that `url` is a store URL and, for SQLite, that the file exists:
/// a command that only reads must not create an empty store for a typo.
pub fn require_existing(url: &str) -> anyhow::Result<()> {
    let parsed = nextneck_store::DbUrl::parse(url).map_err(|e| UsageError(format!("--db: {e}")))?;
    if let nextneck_store::DbUrl::Sqlite(path) = &parsed
        && !std::path::Path::new(path).exists()
    {
        return Err(anyhow::anyhow!(
            "there is no event store at {path}; check --db (or NEXTNECK_DB), or fill one with `nextneck serve` or `nextneck import`"
        ));
    }
    Ok(())
}

/// The stored events of these kinds, each with where it came from, for the
/// metrics.
pub fn read_events(url: &str, kinds: &[&str]) -> anyhow::Result<Vec<nextneck_store::StoredEvent>> {
    use anyhow::Context;
    open(url)?
        .events_of_kinds(kinds)
        .with_context(|| format!("could not read the events of {}", redact(url)))
}

/// "it has a, b" or "it has none", for error messages that list what
/// exists.
pub fn it_has(names: &[&str]) -> String {
    if names.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has {}", names.join(", "))
    }
}

/// A URL without its password, in any form: see
/// [`nextneck_store::redact_url`], the one home of redaction.
pub fn redact(url: &str) -> String {
    nextneck_store::redact_url(url)
}

/// How reports, pages and the API name the store: its kind (`sqlite`,
/// `postgres`), or its redacted URL when `[server]` of nextneck.toml sets
/// `show_db_location = true`.
pub fn label(url: &str, config: Option<&std::path::Path>) -> anyhow::Result<String> {
    let show = crate::server_config::load(config)?
        .show_db_location
        .unwrap_or(false);
    Ok(nextneck_store::db_label(url, show))
}
