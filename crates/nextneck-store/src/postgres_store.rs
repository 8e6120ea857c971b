//! The PostgreSQL backend: the same tables and behaviour as SQLite, shared
//! safely by several `nextneck serve` processes.
//!
//! * Deduplication: `UNIQUE (provider, dedupe_key)` with
//!   `ON CONFLICT DO NOTHING`; a concurrent insert of the same key waits for
//!   the first transaction and then sees its row.
//! * Processing: `SELECT ... FOR UPDATE OF q SKIP LOCKED` claims queue rows
//!   no other transaction holds; events, the outcome and the dequeue commit
//!   with the claim.
//! * Durability: commits wait for the WAL flush (`synchronous_commit=on`,
//!   PostgreSQL's default, is set for the session to be sure).

use nextneck_model::events::Event;
use postgres::{Client, NoTls, Statement, Transaction};

use crate::derived::{BatchSpans, earliest, latest};
use crate::{
    Appended, Delivery, Failure, ImportCounts, ImportError, ImportItem, MAX_ATTEMPTS, NewDelivery,
    Origin, Outcome, Processed, ProviderCount, RECENT_FAILURES, ReadRange, Status, Store,
    StoreError, StoredEvent, ThingSpan, event_from_json, event_json, headers_from_json,
    headers_to_json, outcome_of, set_aside_reason, storable, write_error,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    origin TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BYTEA NOT NULL,
    received_at_ms BIGINT NOT NULL,
    UNIQUE (provider, dedupe_key)
);
CREATE TABLE IF NOT EXISTS queue (
    delivery_id BIGINT PRIMARY KEY,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    delivery_id BIGINT PRIMARY KEY,
    status TEXT NOT NULL,
    error TEXT,
    events INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    delivery_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at BIGINT,
    data TEXT NOT NULL,
    thing TEXT,
    PRIMARY KEY (delivery_id, seq)
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, at);
";

/// Queues every delivery again and throws away what was derived from them,
/// stamping the derived tables' version (in the caller's transaction, which
/// holds the queue's lock).
const REQUEUE_ALL: &str = "
DELETE FROM events; DELETE FROM outcomes; DELETE FROM things;
INSERT INTO queue (delivery_id) SELECT id FROM deliveries ON CONFLICT DO NOTHING;
INSERT INTO meta (key, value) VALUES ('derived', '1') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
";

/// A store in a PostgreSQL database.
pub struct PostgresStore {
    client: Client,
    rebuilt: bool,
}

impl PostgresStore {
    /// Connects and creates the schema if needed (under an advisory lock, so
    /// servers starting together do not race).
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("SET synchronous_commit = on")?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock(7262100453)", &[])?;
        tx.batch_execute(SCHEMA)?;
        // A store made by an earlier version: the queue's attempt columns
        // (checked first, so that an up-to-date store takes no table lock).
        let migrated: i64 = tx
            .query_one(
                "SELECT count(*) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'queue'
                 AND column_name = 'attempts'",
                &[],
            )?
            .get(0);
        if migrated == 0 {
            tx.batch_execute(
                "ALTER TABLE queue ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 0;
                 ALTER TABLE queue ADD COLUMN IF NOT EXISTS last_error TEXT;",
            )?;
        }
        tx.batch_execute(crate::SYNC_SCHEMA)?;
        tx.batch_execute(crate::derived::SCHEMA)?;
        let rebuilt = rebuild_outdated(&mut tx)?;
        tx.commit()?;
        Ok(PostgresStore { client, rebuilt })
    }
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.provider, d.dedupe_key, d.event_type, d.origin, d.headers, d.body, d.received_at_ms";

fn delivery_from_row(row: &postgres::Row) -> Delivery {
    let origin: String = row.get(4);
    let headers: String = row.get(5);
    Delivery {
        id: row.get(0),
        delivery: NewDelivery {
            provider: row.get(1),
            dedupe_key: row.get(2),
            event_type: row.get(3),
            origin: Origin::parse(&origin),
            headers: headers_from_json(&headers),
            body: row.get(6),
            received_at_ms: row.get(7),
        },
    }
}

impl Store for PostgresStore {
    fn append(&mut self, batch: &[NewDelivery]) -> Result<Vec<Appended>, StoreError> {
        let mut tx = self.client.transaction()?;
        let statements = AppendStatements::prepare(&mut tx)?;
        let queue = tx.prepare("INSERT INTO queue (delivery_id) VALUES ($1)")?;
        // Two servers appending overlapping batches in different orders
        // could deadlock on the unique index. So first take a transaction
        // lock on every key of the batch, in one global order (the keys'
        // hashes, sorted); then insert in arrival order, as SQLite does.
        let mut locks: Vec<i64> = batch
            .iter()
            .map(|d| key_lock(&d.provider, &d.dedupe_key))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        tx.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k",
            &[&locks],
        )?;
        let mut out = Vec::with_capacity(batch.len());
        for d in batch {
            let appended = statements.append_one(&mut tx, d)?;
            if let Appended::New(id) = appended {
                tx.execute(&queue, &[&id])?;
            }
            out.push(appended);
        }
        tx.commit()?;
        Ok(out)
    }

    fn import(
        &mut self,
        items: &mut dyn Iterator<Item = Result<ImportItem, ImportError>>,
    ) -> Result<ImportCounts, ImportError> {
        let mut tx = self.client.transaction().map_err(StoreError::from)?;
        fast_compression(&mut tx)?;
        let statements = AppendStatements::prepare(&mut tx)?;
        let mut counts = ImportCounts::default();
        // Keys are not locked ahead as `append` locks them (they are not
        // known ahead): an import racing a server's batch for the same key
        // waits for it, or in the worst case fails with a deadlock and
        // stores nothing, to be run again.
        for item in items {
            let item = item?;
            match statements.append_one(&mut tx, &item.delivery)? {
                Appended::New(id) => {
                    let outcome = outcome_of(item.processed);
                    write_outcome(&mut tx, id, &outcome)?;
                    counts.new += 1;
                    counts.events += outcome.events.len() as u64;
                }
                Appended::Duplicate(_) => counts.duplicates += 1,
            }
        }
        tx.commit().map_err(StoreError::from)?;
        refresh_statistics(&mut self.client, counts.events)?;
        Ok(counts)
    }

    fn process(
        &mut self,
        limit: usize,
        process: &mut dyn FnMut(&Delivery) -> Processed,
    ) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction()?;
        let rows = tx.query(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM queue q JOIN deliveries d ON d.id = q.delivery_id
                 ORDER BY q.delivery_id LIMIT $1 FOR UPDATE OF q SKIP LOCKED"
            ),
            &[&(limit as i64)],
        )?;
        let claimed: Vec<Delivery> = rows.iter().map(delivery_from_row).collect();
        let outcomes: Vec<(i64, Outcome)> = claimed
            .iter()
            .map(|d| (d.id, outcome_of(process(d))))
            .collect();
        let written = write_outcomes(&mut tx, &outcomes).and_then(|()| Ok(tx.commit()?));
        match written {
            Ok(()) => Ok(claimed.len()),
            Err(e) if outcomes.len() == 1 => self.record_attempt(outcomes[0].0, &write_error(&e)),
            // The claim was rolled back with the batch: claim and write each
            // alone, so that one bad delivery fails alone.
            Err(_) => {
                let mut done = 0;
                for o in outcomes.chunks(1) {
                    done += match self.write_alone(&o[0]) {
                        Ok(n) => n,
                        Err(e) => self.record_attempt(o[0].0, &write_error(&e))?,
                    };
                }
                Ok(done)
            }
        }
    }

    fn requeue_all(&mut self) -> Result<u64, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.batch_execute("LOCK TABLE queue IN EXCLUSIVE MODE;")?;
        tx.batch_execute(REQUEUE_ALL)?;
        let n: i64 = tx.query_one("SELECT count(*) FROM queue", &[])?.get(0);
        tx.commit()?;
        Ok(n as u64)
    }

    fn status(&mut self) -> Result<Status, StoreError> {
        let c = &mut self.client;
        let providers = c
            .query(
                "SELECT provider, count(*), max(received_at_ms) FROM deliveries GROUP BY provider ORDER BY provider",
                &[],
            )?
            .iter()
            .map(|r| ProviderCount {
                provider: r.get(0),
                deliveries: r.get::<_, i64>(1) as u64,
                last_received_at_ms: r.get(2),
            })
            .collect();
        let events = c
            .query(
                "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        let backlog: i64 = c.query_one("SELECT count(*) FROM queue", &[])?.get(0);
        let oldest_queued_at_ms: Option<i64> = c
            .query_one(
                "SELECT min(d.received_at_ms) FROM queue q JOIN deliveries d ON d.id = q.delivery_id",
                &[],
            )?
            .get(0);
        let failed: i64 = c
            .query_one("SELECT count(*) FROM outcomes WHERE status = 'failed'", &[])?
            .get(0);
        let unknown_types = c
            .query(
                "SELECT d.event_type, count(*) FROM outcomes o JOIN deliveries d ON d.id = o.delivery_id
                 WHERE o.status = 'unknown' GROUP BY d.event_type ORDER BY d.event_type",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        let recent_failures = c
            .query(
                "SELECT d.id, d.provider, d.event_type, coalesce(o.error, '') FROM outcomes o
                 JOIN deliveries d ON d.id = o.delivery_id
                 WHERE o.status = 'failed' ORDER BY d.id DESC LIMIT $1",
                &[&(RECENT_FAILURES as i64)],
            )?
            .iter()
            .map(|r| Failure {
                delivery_id: r.get(0),
                provider: r.get(1),
                event_type: r.get(2),
                error: r.get(3),
            })
            .collect();
        let retrying: i64 = c
            .query_one("SELECT count(*) FROM queue WHERE attempts > 0", &[])?
            .get(0);
        Ok(Status {
            providers,
            events,
            backlog: backlog as u64,
            oldest_queued_at_ms,
            failed: failed as u64,
            recent_failures,
            retrying: retrying as u64,
            unknown_types,
        })
    }

    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        self.client
            .query(
                "SELECT delivery_id, seq, data FROM events ORDER BY delivery_id, seq",
                &[],
            )?
            .iter()
            .map(|r| {
                let seq: i32 = r.get(1);
                let data: String = r.get(2);
                event_from_json(r.get(0), seq as u32, &data)
            })
            .collect()
    }

    fn events_of_kinds(&mut self, kinds: &[&str]) -> Result<Vec<StoredEvent>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let rows = self.client.query(
            "SELECT delivery_id, seq, data FROM events WHERE kind = ANY($1)
             ORDER BY delivery_id, seq",
            &[&kinds],
        )?;
        stored_events(rows)
    }

    fn event_times(&mut self, kinds: &[&str]) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let (mut oldest, mut newest): (Option<i64>, Option<i64>) = (None, None);
        for kind in kinds {
            let row = self.client.query_one(
                "SELECT (SELECT at FROM events WHERE kind = $1 AND at IS NOT NULL ORDER BY at ASC LIMIT 1),
                        (SELECT at FROM events WHERE kind = $1 AND at IS NOT NULL ORDER BY at DESC LIMIT 1)",
                &[kind],
            )?;
            let (first, last): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
            oldest = earliest(oldest, first);
            newest = latest(newest, last);
        }
        Ok((oldest, newest))
    }

    fn events_in_range(
        &mut self,
        kinds: &[&str],
        range: ReadRange,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let rows = self.client.query(
            "SELECT e.delivery_id, e.seq, e.data FROM things t JOIN events e ON e.thing = t.thing
              WHERE t.kind = ANY($3) AND e.kind = ANY($3) AND t.last_at >= $1 AND t.first_at < $2
             UNION ALL
             SELECT e.delivery_id, e.seq, e.data FROM things t JOIN events e ON e.thing = t.thing
              WHERE t.kind = ANY($3) AND e.kind = ANY($3) AND t.last_at IS NULL
             UNION ALL
             SELECT delivery_id, seq, data FROM events
              WHERE kind = ANY($3) AND thing IS NULL AND at >= $1 AND at < $2
             UNION ALL
             SELECT delivery_id, seq, data FROM events
              WHERE kind = ANY($3) AND thing IS NULL AND at IS NULL",
            &[&range.from, &range.until, &kinds],
        )?;
        stored_events(rows)
    }

    fn thing_spans(&mut self) -> Result<Vec<ThingSpan>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT thing, kind, first_at, last_at FROM things ORDER BY thing COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| ThingSpan {
                thing: r.get(0),
                kind: r.get(1),
                first_at: r.get(2),
                last_at: r.get(3),
            })
            .collect())
    }

    fn change_mark(&mut self) -> Result<String, StoreError> {
        let r = self.client.query_one(crate::CHANGE_MARK, &[])?;
        // sum(integer) is a bigint.
        Ok(format!(
            "{:?}/{:?}/{}/{}",
            r.try_get::<_, Option<i64>>(0)?,
            r.try_get::<_, Option<i64>>(1)?,
            r.try_get::<_, i64>(2)?,
            r.try_get::<_, i64>(3)?
        ))
    }

    fn rebuilt_on_open(&self) -> bool {
        self.rebuilt
    }

    fn deliveries(&mut self) -> Result<Vec<Delivery>, StoreError> {
        Ok(self
            .client
            .query(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d ORDER BY d.id"),
                &[],
            )?
            .iter()
            .map(delivery_from_row)
            .collect())
    }

    fn outcome_counts(&mut self) -> Result<Vec<(i64, u64)>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT d.id, count(o.delivery_id) FROM deliveries d LEFT JOIN outcomes o ON o.delivery_id = d.id
                 GROUP BY d.id ORDER BY d.id",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn sync_cursor(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client
            .query_opt("SELECT value FROM sync_cursors WHERE key = $1", &[&key])?;
        Ok(row.map(|r| r.get(0)))
    }

    fn set_sync_cursor(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO sync_cursors (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    }
}

/// Brings the derived tables up to [`crate::DERIVED_VERSION`] (under the
/// schema's advisory lock): a store made before them gets the events'
/// `thing` column, and every delivery is queued again so that processing
/// rebuilds them; a store without deliveries is only stamped. True when it
/// queued.
fn rebuild_outdated(tx: &mut postgres::Transaction<'_>) -> Result<bool, StoreError> {
    let current: i64 = tx
        .query_one(
            "SELECT count(*) FROM meta WHERE key = 'derived' AND value = $1",
            &[&crate::DERIVED_VERSION],
        )?
        .get(0);
    if current > 0 {
        return Ok(false);
    }
    tx.batch_execute(
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS thing TEXT;
         CREATE INDEX IF NOT EXISTS events_thing ON events (thing);
         LOCK TABLE queue IN EXCLUSIVE MODE;",
    )?;
    let deliveries: i64 = tx.query_one("SELECT count(*) FROM deliveries", &[])?.get(0);
    tx.batch_execute(REQUEUE_ALL)?;
    Ok(deliveries > 0)
}

/// Widens each thing's span by a batch's observations, in thing order (so
/// that two servers' transactions take the rows' locks in one order).
fn widen_things(tx: &mut postgres::Transaction<'_>, spans: &BatchSpans) -> Result<(), StoreError> {
    let spans: Vec<&ThingSpan> = spans.spans().collect();
    if spans.is_empty() {
        return Ok(());
    }
    let things: Vec<&str> = spans.iter().map(|s| s.thing.as_str()).collect();
    let kinds: Vec<&str> = spans.iter().map(|s| s.kind.as_str()).collect();
    let firsts: Vec<Option<i64>> = spans.iter().map(|s| s.first_at).collect();
    let lasts: Vec<Option<i64>> = spans.iter().map(|s| s.last_at).collect();
    // One statement for the batch; its rows come in thing order (unnest
    // keeps the arrays' order), and each thing once.
    tx.execute(
        "INSERT INTO things (thing, kind, first_at, last_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
         ON CONFLICT (thing) DO UPDATE SET
             first_at = LEAST(things.first_at, EXCLUDED.first_at),
             last_at = GREATEST(things.last_at, EXCLUDED.last_at)",
        &[&things, &kinds, &firsts, &lasts],
    )?;
    Ok(())
}

/// After an import of many events, the planner's statistics of the tables
/// it filled, at once: until autovacuum gets to them, PostgreSQL would
/// plan a windowed read on the empty tables' figures and scan every event
/// (7 s instead of 2 on a 10M-event store).
fn refresh_statistics(client: &mut Client, events: u64) -> Result<(), StoreError> {
    if events >= 10_000 {
        client.batch_execute("ANALYZE events; ANALYZE things;")?;
    }
    Ok(())
}

/// Reads `(delivery_id, seq, data)` rows into events.
fn stored_events(rows: Vec<postgres::Row>) -> Result<Vec<StoredEvent>, StoreError> {
    crate::decode_rows(rows.into_iter().map(|r| {
        Ok::<_, postgres::Error>((
            r.try_get(0)?,
            i64::from(r.try_get::<_, i32>(1)?),
            r.try_get(2)?,
        ))
    }))
}

/// Writes claimed deliveries' events and outcomes and takes them off the
/// queue, in the caller's transaction: each delivery's events in one
/// statement, the outcomes and the dequeue in one statement each.
fn write_outcomes(tx: &mut Transaction<'_>, outcomes: &[(i64, Outcome)]) -> Result<(), StoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let mut spans = BatchSpans::default();
    for (id, o) in outcomes {
        insert_events(tx, *id, &o.events, &mut spans)?;
    }
    widen_things(tx, &spans)?;
    let ids: Vec<i64> = outcomes.iter().map(|(id, _)| *id).collect();
    let statuses: Vec<&str> = outcomes.iter().map(|(_, o)| o.status).collect();
    let errors: Vec<Option<&str>> = outcomes.iter().map(|(_, o)| o.error.as_deref()).collect();
    let counts: Vec<i32> = outcomes
        .iter()
        .map(|(_, o)| o.events.len() as i32)
        .collect();
    tx.execute(
        "INSERT INTO outcomes (delivery_id, status, error, events)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[])",
        &[&ids, &statuses, &errors, &counts],
    )?;
    tx.execute("DELETE FROM queue WHERE delivery_id = ANY($1)", &[&ids])?;
    Ok(())
}

/// A processed delivery's events and its outcome row.
fn write_outcome(tx: &mut Transaction<'_>, id: i64, o: &Outcome) -> Result<(), StoreError> {
    let mut spans = BatchSpans::default();
    insert_events(tx, id, &o.events, &mut spans)?;
    widen_things(tx, &spans)?;
    tx.execute(
        "INSERT INTO outcomes (delivery_id, status, error, events) VALUES ($1, $2, $3, $4)",
        &[&id, &o.status, &o.error, &(o.events.len() as i32)],
    )?;
    Ok(())
}

/// Every write of event rows (processing, reprocessing, imports): a
/// delivery's events, numbered from 0 in their order, in one statement
/// (its columns as arrays).
fn insert_events(
    tx: &mut Transaction<'_>,
    delivery_id: i64,
    events: &[Event],
    spans: &mut BatchSpans,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    events.iter().for_each(|e| spans.add(e));
    let things: Vec<Option<String>> = events.iter().map(Event::thing).collect();
    let seqs: Vec<i32> = (0..events.len() as i32).collect();
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    let ids: Vec<String> = events.iter().map(Event::entity_id).collect();
    let ats: Vec<Option<i64>> = events.iter().map(|e| e.at).collect();
    let mut buf = Vec::new();
    let data = events
        .iter()
        .map(|e| event_json(e, &mut buf).map(str::to_owned))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| StoreError::Postgres(format!("an event could not be written as JSON: {e}")))?;
    tx.execute(
        "INSERT INTO events (delivery_id, seq, kind, entity_id, at, data, thing)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[])",
        &[&delivery_id, &seqs, &kinds, &ids, &ats, &data, &things],
    )?;
    Ok(())
}

/// Compresses the transaction's large bodies with lz4 where the server has
/// it (PostgreSQL 14 and later, built with lz4), not the default pglz,
/// which takes a fifth of the server's time of a large import. Stored
/// values name their method, so every reader reads both.
fn fast_compression(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    let lz4: i64 = tx
        .query_one(
            "SELECT count(*) FROM pg_settings
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
            &[],
        )?
        .get(0);
    if lz4 > 0 {
        tx.batch_execute("SET LOCAL default_toast_compression = lz4")?;
    }
    Ok(())
}

/// The statements that append one delivery, prepared once per transaction.
struct AppendStatements {
    insert: Statement,
    existing: Statement,
}

impl AppendStatements {
    fn prepare(tx: &mut Transaction<'_>) -> Result<AppendStatements, StoreError> {
        Ok(AppendStatements {
            insert: tx.prepare(
                "INSERT INTO deliveries (provider, dedupe_key, event_type, origin, headers, body, received_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id",
            )?,
            existing: tx
                .prepare("SELECT id FROM deliveries WHERE provider = $1 AND dedupe_key = $2")?,
        })
    }

    /// Stores one delivery unless its provider and dedupe key are stored
    /// (it is not queued here).
    fn append_one(
        &self,
        tx: &mut Transaction<'_>,
        d: &NewDelivery,
    ) -> Result<Appended, StoreError> {
        let row = tx.query_opt(
            &self.insert,
            &[
                &d.provider,
                &d.dedupe_key,
                &storable(&d.event_type),
                &d.origin.as_str(),
                &headers_to_json(&d.headers),
                &d.body,
                &d.received_at_ms,
            ],
        )?;
        if let Some(row) = row {
            return Ok(Appended::New(row.get(0)));
        }
        let row = tx.query_one(&self.existing, &[&d.provider, &d.dedupe_key])?;
        Ok(Appended::Duplicate(row.get(0)))
    }
}

impl PostgresStore {
    /// Claims one delivery again (unless another process holds or took it)
    /// and writes its outcome. Returns 1 when written, else 0.
    fn write_alone(&mut self, o: &(i64, Outcome)) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction()?;
        let held = tx.query_opt(
            "SELECT delivery_id FROM queue WHERE delivery_id = $1 FOR UPDATE SKIP LOCKED",
            &[&o.0],
        )?;
        if held.is_none() {
            return Ok(0);
        }
        write_outcomes(&mut tx, std::slice::from_ref(o))?;
        tx.commit()?;
        Ok(1)
    }

    /// Counts a failed attempt to write a delivery's events; at
    /// [`MAX_ATTEMPTS`] sets it aside as failed with the reason. Returns 1
    /// when the delivery was still queued (and not held elsewhere), else 0.
    fn record_attempt(&mut self, id: i64, error: &str) -> Result<usize, StoreError> {
        let mut tx = self.client.transaction()?;
        let held = tx.query_opt(
            "SELECT delivery_id FROM queue WHERE delivery_id = $1 FOR UPDATE SKIP LOCKED",
            &[&id],
        )?;
        if held.is_none() {
            return Ok(0);
        }
        let attempts: i32 = tx
            .query_one(
                "UPDATE queue SET attempts = attempts + 1, last_error = $2 WHERE delivery_id = $1
                 RETURNING attempts",
                &[&id, &error],
            )?
            .get(0);
        if attempts >= MAX_ATTEMPTS as i32 {
            tx.execute(
                "INSERT INTO outcomes (delivery_id, status, error, events) VALUES ($1, 'failed', $2, 0)",
                &[&id, &set_aside_reason(error)],
            )?;
            tx.execute("DELETE FROM queue WHERE delivery_id = $1", &[&id])?;
        }
        tx.commit()?;
        Ok(1)
    }
}

/// A 64-bit lock key for a delivery's dedupe key (FNV-1a; any stable hash
/// does: a collision only makes two deliveries wait for each other).
fn key_lock(provider: &str, key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in provider.bytes().chain([0]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}
