//! The derived tables: what the store keeps, beside the events, so that a
//! report reads only what its window needs.
//!
//! `things` holds one row per thing the metrics merge observations into
//! (a deployment, a release, a change with its reviews, a push, a CI run,
//! an incident, a postmortem, an issue), keyed by [`Event::thing`]
//! (`kind:source:id`): the earliest and the latest time it was observed
//! at. Every write of events updates it in the same transaction with
//! `min`/`max`, which are commutative, associative and idempotent over a
//! thing's observations: whatever order deliveries arrive in, whichever
//! server processes them, the table is the one a full rebuild from the raw
//! deliveries makes (`tests/derived.rs` checks it on both backends).
//!
//! A windowed report reads, by index, every observation of the things whose
//! span meets its [`ReadRange`] (so a thing is read whole or not at all,
//! and merges the same as in a full read), and the events that belong to
//! no thing (test cases) with a time in the range.
//!
//! [`Event::thing`]: nextneck_model::events::Event::thing

use std::collections::BTreeMap;

use nextneck_model::events::Event;

/// The version of the derived tables' definition. A store stamped with
/// another (or none: made before they existed) is rebuilt from its raw
/// deliveries when opened: every delivery is queued again.
pub const DERIVED_VERSION: &str = "1";

/// The times a windowed read covers, `[from, until)` in seconds: the
/// window widened by the look-back before and after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRange {
    /// Inclusive start.
    pub from: i64,
    /// Exclusive end.
    pub until: i64,
}

/// The tables both backends create, in SQL both accept.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS things (
    thing TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    first_at BIGINT,
    last_at BIGINT
);
CREATE INDEX IF NOT EXISTS things_kind_last ON things (kind, last_at);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// One thing's row: its kind and the span of its observations' times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThingSpan {
    /// `kind:source:id`.
    pub thing: String,
    /// The kind (the key's first part).
    pub kind: String,
    /// The earliest observation time; `None` when no observation has one.
    pub first_at: Option<i64>,
    /// The latest observation time.
    pub last_at: Option<i64>,
}

/// The spans a batch of written events adds, by thing, in key order: the
/// order every writer updates `things` in, so that two servers writing the
/// same things never wait for each other in a cycle.
#[derive(Default)]
pub(crate) struct BatchSpans(BTreeMap<String, ThingSpan>);

impl BatchSpans {
    /// Adds one written event's time to its thing's span.
    pub(crate) fn add(&mut self, event: &Event) {
        let Some(thing) = event.thing() else {
            return;
        };
        let at = event.at;
        let span = self.0.entry(thing.clone()).or_insert_with(|| ThingSpan {
            thing: thing.clone(),
            kind: thing.split(':').next().unwrap_or_default().to_owned(),
            first_at: None,
            last_at: None,
        });
        span.first_at = earliest(span.first_at, at);
        span.last_at = latest(span.last_at, at);
    }

    /// The spans, by thing.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &ThingSpan> {
        self.0.values()
    }
}

/// The earlier of two optional times (either when one is missing).
pub(crate) fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The later of two optional times (either when one is missing).
pub(crate) fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
