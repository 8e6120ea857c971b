//! nextneck's event store: an append-only log of raw deliveries, a queue of
//! deliveries waiting to be processed, and the normalized events derived from
//! them.
//!
//! Two backends with one schema and one behaviour: SQLite (`sqlite:PATH`, the
//! default, in WAL mode with `synchronous=FULL`) and PostgreSQL
//! (`postgres://...`). Every method is blocking; the server calls the store
//! from its own threads, never from the async runtime.
//!
//! Invariants:
//! * **Raw deliveries are never modified or deleted.** Processing state lives
//!   in other tables (`queue`, `outcomes`, `events`), so everything derived
//!   can be thrown away and derived again ([`Store::requeue_all`]).
//! * **A delivery is stored once**: `(provider, dedupe_key)` is unique, and
//!   [`Store::append`] reports a second copy as [`Appended::Duplicate`].
//! * **A delivery is processed once**: claiming from the queue, writing its
//!   events and leaving the queue happen in one transaction (on PostgreSQL
//!   the claim is `FOR UPDATE SKIP LOCKED`, so several servers can share one
//!   database); events are keyed by `(delivery_id, seq)`.
//! * **[`Store::append`] returns only once the batch is durable**: one
//!   transaction per batch, committed with an fsync (SQLite `synchronous=FULL`
//!   in WAL mode; PostgreSQL's default `synchronous_commit=on`).
//! * **One delivery never blocks the others**: when a batch's events cannot
//!   be written, each delivery is written alone; one that still fails keeps
//!   its place in the queue with the attempt and the reason counted, and
//!   after [`MAX_ATTEMPTS`] is set aside as failed (outcome `failed`, with
//!   the reason), so the deliveries behind it are processed.

use nextneck_model::events::{Event, TracedEvent};

mod derived;
mod postgres_store;
mod sqlite_store;

pub use derived::{DERIVED_VERSION, ReadRange, ThingSpan};

pub use postgres_store::PostgresStore;
pub use sqlite_store::SqliteStore;

/// Where a delivery came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Received by `nextneck serve`.
    Webhook,
    /// Read from a file by `nextneck import`.
    Import,
}

impl Origin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Webhook => "webhook",
            Origin::Import => "import",
        }
    }

    fn parse(s: &str) -> Origin {
        if s == "import" {
            Origin::Import
        } else {
            Origin::Webhook
        }
    }
}

/// A delivery to append: exactly what arrived, and how to recognise it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// `github`, `gitlab`, `pagerduty`, `opsgenie`, `jira`, `events` or
    /// `junit`.
    pub provider: String,
    /// The provider's delivery id, or the body's SHA-256; unique per provider.
    pub dedupe_key: String,
    /// The provider's event type as received (`github:pull_request`).
    pub event_type: String,
    /// Webhook or import.
    pub origin: Origin,
    /// Request headers (names lower case) without credentials, or for an
    /// import the file name and options.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// When nextneck received it, milliseconds since the Unix epoch.
    pub received_at_ms: i64,
}

/// A stored delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The store's id, increasing in order of storage.
    pub id: i64,
    /// The delivery as appended.
    pub delivery: NewDelivery,
}

/// What [`Store::append`] did with one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, with this id, and queued for processing.
    New(i64),
    /// Already stored earlier under this id; nothing was written.
    Duplicate(i64),
}

impl Appended {
    /// The delivery's id either way.
    pub fn id(self) -> i64 {
        match self {
            Appended::New(id) | Appended::Duplicate(id) => id,
        }
    }
}

/// How many times writing a delivery's events is tried before it is set
/// aside as failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// What processing one delivery produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Processed {
    /// These normalized events (possibly none: a ping, a note).
    Events(Vec<Event>),
    /// An event type nextneck does not know: kept, and ignored by metrics.
    Unknown,
    /// The delivery could not be converted (only possible when a definition
    /// changed since it was accepted); the message says why.
    Failed(String),
}

/// One delivery of an import, converted: what [`Store::import`] stores.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportItem {
    /// The delivery (origin [`Origin::Import`]).
    pub delivery: NewDelivery,
    /// What converting it gave (events, or an unknown type).
    pub processed: Processed,
}

/// What [`Store::import`] stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Deliveries stored now (with their events and outcomes).
    pub new: u64,
    /// Deliveries already stored, of which nothing was written.
    pub duplicates: u64,
    /// Events written (those of the new deliveries).
    pub events: u64,
}

/// Why [`Store::import`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading or converting the input failed (the importer's error, as it
    /// gave it).
    #[error(transparent)]
    Input(Box<dyn std::error::Error + Send + Sync>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A normalized event with the delivery it came from./// A normalized event with the delivery it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// The raw delivery's id.
    pub delivery_id: i64,
    /// Its position among that delivery's events.
    pub seq: u32,
    /// The event.
    pub event: Event,
}

impl StoredEvent {
    /// The metrics' view of this event: the event with its delivery and
    /// position.
    pub fn traced(&self) -> TracedEvent<'_> {
        TracedEvent {
            delivery_id: self.delivery_id,
            seq: self.seq,
            event: &self.event,
        }
    }
}

/// The metrics' view of stored events ([`StoredEvent::traced`] of each), as
/// `nextneck report --db` and the server read them.
pub fn traced(stored: &[StoredEvent]) -> Vec<TracedEvent<'_>> {
    stored.iter().map(StoredEvent::traced).collect()
}

/// Stored deliveries of one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCount {
    /// The provider.
    pub provider: String,
    /// How many deliveries are stored.
    pub deliveries: u64,
    /// When the last one was received, milliseconds since the epoch.
    pub last_received_at_ms: i64,
}

/// A delivery whose processing failed, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The delivery.
    pub delivery_id: i64,
    /// Its provider.
    pub provider: String,
    /// Its event type as received.
    pub event_type: String,
    /// Why it failed.
    pub error: String,
}

/// The store at a glance (`nextneck status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Per provider, by name.
    pub providers: Vec<ProviderCount>,
    /// Normalized events per kind, by kind.
    pub events: Vec<(String, u64)>,
    /// Deliveries waiting to be processed.
    pub backlog: u64,
    /// When the oldest of them was received, milliseconds since the epoch
    /// (the processing lag's start); `None` when none waits.
    pub oldest_queued_at_ms: Option<i64>,
    /// Deliveries whose processing failed (set aside, not queued).
    pub failed: u64,
    /// The most recent of them (up to [`RECENT_FAILURES`]), newest first.
    pub recent_failures: Vec<Failure>,
    /// Queued deliveries whose events could not be written yet: they are
    /// tried again, up to [`MAX_ATTEMPTS`] times.
    pub retrying: u64,
    /// Unknown event types seen, with how many deliveries had each.
    pub unknown_types: Vec<(String, u64)>,
}

/// How many failed deliveries [`Status::recent_failures`] lists.
pub const RECENT_FAILURES: usize = 10;

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error(
        "`{0}` is not a database URL; use sqlite:PATH (for example sqlite:nextneck.db) or postgres://USER@HOST:PORT/DATABASE"
    )]
    BadUrl(String),
    /// SQLite failed.
    #[error("sqlite database {path}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[error("postgres database: {0}")]
    Postgres(String),
    /// A stored event could not be read back.
    #[error("event {seq} of delivery {delivery_id} is not readable")]
    BadEvent {
        /// Delivery.
        delivery_id: i64,
        /// Position.
        seq: u32,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        match e.as_db_error() {
            Some(db) => StoreError::Postgres(format!("{}: {}", db.code().code(), db.message())),
            None => {
                let mut msg = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    msg.push_str(": ");
                    msg.push_str(&c.to_string());
                    cause = c.source();
                }
                StoreError::Postgres(msg)
            }
        }
    }
}

/// The store's operations; both backends implement them with the same
/// behaviour, and one test suite runs against both.
pub trait Store: Send {
    /// Appends a batch in one transaction and returns once it is durable:
    /// new deliveries are stored and queued, duplicates of stored ones are
    /// reported and not written. Duplicates within the batch are stored once.
    fn append(&mut self, batch: &[NewDelivery]) -> Result<Vec<Appended>, StoreError>;

    /// Claims up to `limit` queued deliveries (oldest first) that no other
    /// process holds, runs `process` on each, and in the same transaction
    /// stores the events and takes them off the queue. When that
    /// transaction fails, each delivery is written alone, and one that
    /// still fails has the attempt counted (and is set aside as failed
    /// after [`MAX_ATTEMPTS`]). Returns how many were processed or had an
    /// attempt counted; 0 when the queue is empty (or fully claimed by
    /// others).
    fn process(
        &mut self,
        limit: usize,
        process: &mut dyn FnMut(&Delivery) -> Processed,
    ) -> Result<usize, StoreError>;

    /// Stores an import all or nothing, in one transaction committed
    /// (durably) only after `items` ends: each new delivery is appended with
    /// its events and its outcome, and never queued; a duplicate of a
    /// stored delivery (or of an earlier item) is counted, and nothing of it
    /// written. An item that is an error, or any failure of the store, rolls
    /// everything back: nothing of the import is kept. Items are taken one at
    /// a time, so an import of any size holds one in memory.
    fn import(
        &mut self,
        items: &mut dyn Iterator<Item = Result<ImportItem, ImportError>>,
    ) -> Result<ImportCounts, ImportError>;

    /// Throws away every derived event, outcome and thing and queues every
    /// stored delivery again (`nextneck reprocess`), stamping the derived
    /// tables with [`DERIVED_VERSION`]. Returns how many are queued.
    fn requeue_all(&mut self) -> Result<u64, StoreError>;

    /// Counts for `nextneck status`.
    fn status(&mut self) -> Result<Status, StoreError>;

    /// Every normalized event, in delivery order then sequence.
    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError>;

    /// The normalized events of these kinds (`deployment`, `change`, ...),
    /// in delivery order then sequence: what `nextneck report --db` reads,
    /// leaving out kinds it does not use (stage transitions, CI jobs) through
    /// the `events (kind, at)` index. No kinds, no events.
    fn events_of_kinds(&mut self, kinds: &[&str]) -> Result<Vec<StoredEvent>, StoreError>;

    /// The oldest and the newest time of the stored events of these kinds
    /// (what a report's window is resolved against), read by index.
    fn event_times(&mut self, kinds: &[&str]) -> Result<(Option<i64>, Option<i64>), StoreError>;

    /// The events of these kinds that a report over `range` reads, in
    /// delivery order then sequence: every observation of each thing (see
    /// [`derived`]) whose observations span a time in the range, or that
    /// was never observed at any time; and every event of no thing (a test
    /// case) with a time in the range, or none. Read by index, so the cost
    /// follows the range, not the store.
    fn events_in_range(
        &mut self,
        kinds: &[&str],
        range: ReadRange,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Every row of the derived `things` table, by thing: for checks and
    /// tests (an incrementally kept table equals a rebuilt one).
    fn thing_spans(&mut self) -> Result<Vec<ThingSpan>, StoreError>;

    /// Whether opening found derived tables of another definition (or
    /// none) and queued every delivery again to rebuild them: the caller
    /// processes the queue before it reads.
    fn rebuilt_on_open(&self) -> bool;

    /// A cheap mark that changes whenever the store's deliveries, outcomes
    /// or queue change (the newest delivery and outcome ids, the queue's
    /// length and attempts), read by index: what `/metrics` caches
    /// [`Store::status`] under, so that a steady-state scrape of a large
    /// store counts nothing.
    fn change_mark(&mut self) -> Result<String, StoreError>;

    /// Every stored delivery, by id.
    fn deliveries(&mut self) -> Result<Vec<Delivery>, StoreError>;

    /// How many times each delivery was processed (0 or 1, by the
    /// invariant), by delivery id; for checks and tests.
    fn outcome_counts(&mut self) -> Result<Vec<(i64, u64)>, StoreError>;

    // `nextneck sync`'s cursors: small named values (`github:o/r:pulls`)
    // kept beside the deliveries, in the `sync_cursors` table.

    /// The value stored under `key`, if any.
    fn sync_cursor(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores `value` under `key` (replacing the old one), durably.
    fn set_sync_cursor(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// The query of [`Store::change_mark`], in SQL both backends accept.
const CHANGE_MARK: &str =
    "SELECT (SELECT max(id) FROM deliveries), (SELECT max(delivery_id) FROM outcomes),
        (SELECT count(*) FROM queue), (SELECT coalesce(sum(attempts), 0) FROM queue)";

/// The table of [`Store::sync_cursor`], created on open by both backends.
const SYNC_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sync_cursors (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Which database a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    /// `sqlite:PATH`.
    Sqlite(String),
    /// `postgres://...` or `postgresql://...`, as given.
    Postgres(String),
}

impl DbUrl {
    /// Parses `sqlite:PATH` (also `sqlite://PATH`) or `postgres://...`.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if !path.is_empty() {
                return Ok(DbUrl::Sqlite(path.to_owned()));
            }
        }
        Err(StoreError::BadUrl(redact_url(url)))
    }

    /// The kind of database: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            DbUrl::Sqlite(_) => "sqlite",
            DbUrl::Postgres(_) => "postgres",
        }
    }
}

/// A store URL as it may be printed (banners, `status`, error messages):
/// the one home of redaction. Whatever the text (a valid URL, a typo, a
/// password holding a raw `@`, `/` or `?`), every character that may belong
/// to a password becomes `***`: the userinfo's password (up to the *last*
/// `@`) and the value of any query or keyword parameter whose name holds
/// `pass` (`password=`, `sslpassword=`, `passfile=`). A `sqlite:PATH` is
/// shown as it is.
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let mut hidden = vec![false; url.len()];
    // The userinfo's password: from its first `:` to the last `@`.
    if let Some(at) = url.rfind('@') {
        let start = url.find("://").map_or(0, |i| i + 3);
        let start = if start > at { 0 } else { start };
        if let Some(colon) = url[start..at].find(':') {
            hidden[start + colon + 1..at].fill(true);
        }
    }
    // The values of parameters named like a password.
    let mut name_start = 0;
    let mut hiding = false;
    for (i, c) in url.char_indices() {
        if matches!(c, '?' | '&' | ';' | ' ') {
            hiding = false;
            name_start = i + 1;
        } else if hiding {
            hidden[i..i + c.len_utf8()].fill(true);
        } else if c == '=' && url[name_start..i].to_ascii_lowercase().contains("pass") {
            hiding = true;
        }
    }
    let mut out = String::with_capacity(url.len());
    let mut in_hidden = false;
    for (i, c) in url.char_indices() {
        if hidden[i] {
            if !in_hidden {
                out.push_str("***");
            }
            in_hidden = true;
        } else {
            in_hidden = false;
            out.push(c);
        }
    }
    out
}

/// How a store is named to readers of reports, pages and the API: its kind
/// (`sqlite`, `postgres`), or with `show_location` (`show_db_location` in
/// `[server]`) the URL as [`redact_url`] prints it.
pub fn db_label(url: &str, show_location: bool) -> String {
    if show_location {
        return redact_url(url);
    }
    DbUrl::parse(url).map_or_else(|_| "store".to_owned(), |u| u.kind().to_owned())
}

/// Opens (creating the schema if needed) the store a URL names.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    match DbUrl::parse(url)? {
        DbUrl::Sqlite(path) => Ok(Box::new(SqliteStore::open(&path)?)),
        DbUrl::Postgres(url) => Ok(Box::new(PostgresStore::open(&url)?)),
    }
}

/// Serializes headers for storage: a JSON array of `[name, value]` pairs.
fn headers_to_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

fn headers_from_json(s: &str) -> Vec<(String, String)> {
    serde_json::from_str(s).unwrap_or_default()
}

/// Decodes `(delivery_id, seq, data)` rows into events in delivery order
/// then sequence: a batch of rows at a time, each batch on every core
/// (decoding is most of a large read's CPU), so that the rows' text and
/// the decoded events never all live at once.
fn decode_rows<E>(
    rows: impl IntoIterator<Item = Result<(i64, i64, String), E>>,
) -> Result<Vec<StoredEvent>, StoreError>
where
    StoreError: From<E>,
{
    const BATCH: usize = 16_384;
    let mut rows = rows.into_iter();
    let mut events = Vec::new();
    loop {
        let batch: Vec<(i64, i64, String)> = rows.by_ref().take(BATCH).collect::<Result<_, E>>()?;
        if batch.is_empty() {
            break;
        }
        events.extend(decode_batch(batch)?);
    }
    // Rows a query already ordered stay as they are (a sorted run costs one
    // pass); a windowed read's union is put in order here, not by SQL.
    events.sort_unstable_by_key(|e| (e.delivery_id, e.seq));
    Ok(events)
}

/// Decodes one batch of rows on every core, in order, consuming the rows.
fn decode_batch(rows: Vec<(i64, i64, String)>) -> Result<Vec<StoredEvent>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let decode = |part: Vec<(i64, i64, String)>| -> Result<Vec<StoredEvent>, StoreError> {
        part.into_iter()
            .map(|(d, s, data)| event_from_json(d, s as u32, &data))
            .collect()
    };
    if threads < 2 || rows.len() < 2048 {
        return decode(rows);
    }
    let chunk = rows.len().div_ceil(threads);
    let mut parts = Vec::new();
    let mut rest = rows;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    let decoded: Vec<Result<Vec<StoredEvent>, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || decode(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut events = Vec::new();
    for part in decoded {
        events.extend(part?);
    }
    Ok(events)
}

fn event_from_json(delivery_id: i64, seq: u32, s: &str) -> Result<StoredEvent, StoreError> {
    let event = serde_json::from_str(s).map_err(|source| StoreError::BadEvent {
        delivery_id,
        seq,
        source,
    })?;
    Ok(StoredEvent {
        delivery_id,
        seq,
        event,
    })
}

/// The outcome row written for a processed delivery, with its events.
#[derive(Clone, Debug)]
struct Outcome {
    status: &'static str,
    error: Option<String>,
    events: Vec<Event>,
}

fn outcome_of(result: Processed) -> Outcome {
    match result {
        Processed::Events(events) => match events.iter().position(|e| e.entity_id().contains('\0'))
        {
            Some(i) => Outcome {
                status: "failed",
                error: Some(format!(
                    "the id of event {} ({}) contains a NUL character, which the store does not hold",
                    i + 1,
                    events[i].kind()
                )),
                events: Vec::new(),
            },
            None => Outcome {
                status: "ok",
                error: None,
                events,
            },
        },
        Processed::Unknown => Outcome {
            status: "unknown",
            error: None,
            events: Vec::new(),
        },
        Processed::Failed(msg) => Outcome {
            status: "failed",
            error: Some(storable(&msg)),
            events: Vec::new(),
        },
    }
}

/// An event's stored form: its JSON, written into `buf` (cleared first;
/// reused from event to event, so that writing many allocates once).
fn event_json<'a>(event: &Event, buf: &'a mut Vec<u8>) -> Result<&'a str, serde_json::Error> {
    buf.clear();
    serde_json::to_writer(&mut *buf, event)?;
    // serde_json writes UTF-8 only.
    Ok(std::str::from_utf8(buf).unwrap_or("null"))
}

/// Text every backend stores as it is: NUL characters (which PostgreSQL's
/// text cannot hold) written as `\u{0}`.
fn storable(text: &str) -> String {
    text.replace('\0', "\\u{0}")
}

/// The reason recorded for a failed write: the error and its causes.
fn write_error(e: &StoreError) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    storable(&s)
}

/// The outcome's reason when a delivery is set aside.
fn set_aside_reason(last_error: &str) -> String {
    format!(
        "its events could not be stored after {MAX_ATTEMPTS} attempts (last: {last_error}); set aside"
    )
}

/// Test support: a fresh, empty PostgreSQL schema on the server at `base`
/// (the `NEXTNECK_TEST_POSTGRES` URL), and a URL whose connections use it, so
/// that tests running in parallel and repeatedly never share tables.
pub fn fresh_postgres_schema(base: &str) -> Result<String, StoreError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!(
        "nn_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = postgres::Client::connect(base, postgres::NoTls)?;
    client.batch_execute(&format!("CREATE SCHEMA {name}"))?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{name}"))
}

/// Test support: drops the schema [`fresh_postgres_schema`] made for `url`
/// (best effort, from a thread of its own so it can run inside an async
/// runtime or a destructor). URLs without such a schema are left alone.
pub fn drop_postgres_schema(url: &str) {
    let Some(pos) = url.find("search_path%3Dnn_test_") else {
        return;
    };
    let name: String = url[pos + "search_path%3D".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let base = url[..url.rfind("options=").unwrap_or(url.len())]
        .trim_end_matches(['?', '&'])
        .to_owned();
    let _ = std::thread::spawn(move || {
        if let Ok(mut client) = postgres::Client::connect(&base, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE"
            ));
        }
    })
    .join();
}
