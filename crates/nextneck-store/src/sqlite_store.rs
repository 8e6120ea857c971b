//! The SQLite backend.
//!
//! WAL mode with `synchronous=FULL`: every commit appends to the write-ahead
//! log and fsyncs it before returning, so a committed batch survives a
//! process kill *and* a power loss or kernel crash. (`synchronous=NORMAL` in
//! WAL mode skips that fsync: it survives `kill -9`, since the log is in the
//! page cache, but can lose the last commits on power loss, so an
//! acknowledged delivery could vanish: not used.) The cost, one fsync per
//! commit, is paid once per batch, not once per delivery.

use std::time::Duration;

use nextneck_model::events::Event;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::derived::{BatchSpans, earliest, latest};
use crate::{
    Appended, Delivery, Failure, ImportCounts, ImportError, ImportItem, MAX_ATTEMPTS, NewDelivery,
    Origin, Outcome, Processed, ProviderCount, RECENT_FAILURES, ReadRange, Status, Store,
    StoreError, StoredEvent, ThingSpan, event_json, headers_from_json, headers_to_json, outcome_of,
    set_aside_reason, storable, write_error,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    origin TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
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
/// stamping the derived tables' version (in the caller's transaction).
const REQUEUE_ALL: &str = "
DELETE FROM events; DELETE FROM outcomes; DELETE FROM things;
INSERT INTO queue (delivery_id) SELECT id FROM deliveries WHERE true ON CONFLICT DO NOTHING;
INSERT INTO meta (key, value) VALUES ('derived', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value;
";

/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether SQLite answered "busy" or "locked" (another connection holds
/// the lock).
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A store in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    rebuilt: bool,
}

impl SqliteStore {
    /// Opens or creates the database file and its schema.
    ///
    /// Connections opening a fresh file at once (the server's writer and
    /// processor threads, on a new user's first `serve`) race to create it
    /// and switch it to WAL; SQLite answers the loser with SQLITE_BUSY
    /// without calling the busy handler, so the setup is retried until the
    /// busy timeout.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match Self::open_once(path) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(err(e)),
                Ok((conn, rebuilt)) => {
                    return Ok(SqliteStore {
                        conn,
                        path: path.to_owned(),
                        rebuilt,
                    });
                }
            }
        }
    }

    /// Opens the file, creates or migrates the schema, and rebuilds
    /// derived tables of another version (true when it did).
    fn open_once(path: &str) -> rusqlite::Result<(Connection, bool)> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::SYNC_SCHEMA)?;
        conn.execute_batch(crate::derived::SCHEMA)?;
        migrate(&mut conn)?;
        let rebuilt = rebuild_outdated(&mut conn)?;
        Ok((conn, rebuilt))
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// An IMMEDIATE transaction (the write lock taken at once, so that it
    /// never fails half way to upgrade a read lock), and the error mapping
    /// that names the file: every write's preamble.
    fn write_tx(
        &mut self,
    ) -> Result<
        (
            Transaction<'_>,
            impl Fn(rusqlite::Error) -> StoreError + Copy + '_,
        ),
        StoreError,
    > {
        let path = self.path.as_str();
        let err = move |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        Ok((tx, err))
    }

    /// Writes the outcomes of claimed deliveries in one transaction: their
    /// events and outcome rows, and takes them off the queue. A delivery
    /// another connection already took is skipped. Returns how many were
    /// written.
    fn write_outcomes(&mut self, outcomes: &[(i64, Outcome)]) -> Result<usize, StoreError> {
        let (tx, err) = self.write_tx()?;
        let mut done = 0;
        let mut spans = BatchSpans::default();
        for (id, o) in outcomes {
            if dequeue(&tx, *id).map_err(err)? {
                write_outcome(&tx, *id, o, &mut spans).map_err(err)?;
                done += 1;
            }
        }
        widen_things(&tx, &spans).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(done)
    }

    /// The oldest `limit` queued deliveries.
    fn queued(&self, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM queue q JOIN deliveries d ON d.id = q.delivery_id
                 ORDER BY q.delivery_id LIMIT ?1"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(params![limit as i64], delivery_from_row)?
                    .collect::<Result<_, _>>()
            })
            .map_err(|e| self.err(e))
    }

    /// Counts a failed attempt to write a delivery's events; at
    /// [`MAX_ATTEMPTS`] sets it aside as failed with the reason. Returns 1
    /// when the delivery was still queued, else 0.
    fn record_attempt(&mut self, id: i64, error: &str) -> Result<usize, StoreError> {
        let (tx, err) = self.write_tx()?;
        let attempts: Option<i64> = tx
            .query_row(
                "UPDATE queue SET attempts = attempts + 1, last_error = ?2 WHERE delivery_id = ?1
                 RETURNING attempts",
                params![id, error],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let Some(attempts) = attempts else {
            return Ok(0);
        };
        if attempts >= i64::from(MAX_ATTEMPTS) {
            tx.execute(
                "INSERT INTO outcomes (delivery_id, status, error, events) VALUES (?1, 'failed', ?2, 0)",
                params![id, set_aside_reason(error)],
            )
            .map_err(err)?;
            dequeue(&tx, id).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(1)
    }
}

/// Every write of event rows (processing, reprocessing, imports): a
/// delivery's events, numbered from 0 in their order.
fn insert_events(
    tx: &Connection,
    delivery_id: i64,
    events: &[Event],
    spans: &mut BatchSpans,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (delivery_id, seq, kind, entity_id, at, data, thing) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut buf = Vec::new();
    for (seq, event) in events.iter().enumerate() {
        let data = event_json(event, &mut buf)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        insert.execute(params![
            delivery_id,
            seq as i64,
            event.kind(),
            event.entity_id(),
            event.at,
            data,
            event.thing()
        ])?;
        spans.add(event);
    }
    Ok(())
}

/// A processed delivery's events and its outcome row.
fn write_outcome(
    tx: &Connection,
    id: i64,
    o: &Outcome,
    spans: &mut BatchSpans,
) -> rusqlite::Result<()> {
    insert_events(tx, id, &o.events, spans)?;
    tx.prepare_cached(
        "INSERT INTO outcomes (delivery_id, status, error, events) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, o.status, o.error, o.events.len() as i64])?;
    Ok(())
}

/// Takes a delivery off the queue; whether it was there.
fn dequeue(tx: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM queue WHERE delivery_id = ?1")?
        .execute(params![id])?
        > 0)
}

/// Stores one delivery unless its provider and dedupe key are stored (it
/// is not queued here).
fn append_one(tx: &Connection, d: &NewDelivery) -> rusqlite::Result<Appended> {
    let id: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO deliveries (provider, dedupe_key, event_type, origin, headers, body, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                d.provider,
                d.dedupe_key,
                storable(&d.event_type),
                d.origin.as_str(),
                headers_to_json(&d.headers),
                d.body,
                d.received_at_ms
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = id {
        return Ok(Appended::New(id));
    }
    let id = tx
        .prepare_cached("SELECT id FROM deliveries WHERE provider = ?1 AND dedupe_key = ?2")?
        .query_row(params![d.provider, d.dedupe_key], |r| r.get(0))?;
    Ok(Appended::Duplicate(id))
}

/// The page cache of an import's connection, in KiB: a large transaction's
/// index pages stay in memory instead of being spilled and read back.
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

/// Brings a store made by an earlier version up to the schema: the queue's
/// `attempts` and `last_error` columns (added with the defaults every
/// queued delivery had: no attempt yet).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let has_attempts = |c: &Connection| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('queue') WHERE name = 'attempts'",
            [],
            |r| r.get(0),
        )
    };
    if has_attempts(conn)? {
        return Ok(());
    }
    // Checked again under the write lock: another connection may have
    // migrated meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !has_attempts(&tx)? {
        tx.execute_batch(
            "ALTER TABLE queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE queue ADD COLUMN last_error TEXT;",
        )?;
    }
    tx.commit()
}

/// Brings a store made before the derived tables up to them: the events'
/// `thing` column and its index.
fn migrate_things(conn: &mut Connection) -> rusqlite::Result<()> {
    let has_thing = |c: &Connection| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('events') WHERE name = 'thing'",
            [],
            |r| r.get(0),
        )
    };
    if !has_thing(conn)? {
        // Checked again under the write lock, as `migrate` does.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if !has_thing(&tx)? {
            tx.execute_batch("ALTER TABLE events ADD COLUMN thing TEXT;")?;
        }
        tx.commit()?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS events_thing ON events (thing);")
}

/// When the derived tables are of another version (or the store predates
/// them), queues every delivery again so that processing rebuilds them; a
/// store without deliveries is only stamped. True when it queued.
fn rebuild_outdated(conn: &mut Connection) -> rusqlite::Result<bool> {
    migrate_things(conn)?;
    let current = |c: &Connection| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT count(*) > 0 FROM meta WHERE key = 'derived' AND value = ?1",
            params![crate::DERIVED_VERSION],
            |r| r.get(0),
        )
    };
    if current(conn)? {
        return Ok(false);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if current(&tx)? {
        return Ok(false);
    }
    let deliveries: i64 = tx.query_row("SELECT count(*) FROM deliveries", [], |r| r.get(0))?;
    tx.execute_batch(REQUEUE_ALL)?;
    tx.commit()?;
    Ok(deliveries > 0)
}

/// Widens each thing's span by a batch's observations, in thing order.
fn widen_things(tx: &rusqlite::Transaction<'_>, spans: &BatchSpans) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO things (thing, kind, first_at, last_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (thing) DO UPDATE SET
             first_at = coalesce(min(things.first_at, excluded.first_at), things.first_at, excluded.first_at),
             last_at = coalesce(max(things.last_at, excluded.last_at), things.last_at, excluded.last_at)",
    )?;
    for s in spans.spans() {
        upsert.execute(params![s.thing, s.kind, s.first_at, s.last_at])?;
    }
    Ok(())
}

fn delivery_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let headers: String = row.get(5)?;
    let origin: String = row.get(4)?;
    Ok(Delivery {
        id: row.get(0)?,
        delivery: NewDelivery {
            provider: row.get(1)?,
            dedupe_key: row.get(2)?,
            event_type: row.get(3)?,
            origin: Origin::parse(&origin),
            headers: headers_from_json(&headers),
            body: row.get(6)?,
            received_at_ms: row.get(7)?,
        },
    })
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.provider, d.dedupe_key, d.event_type, d.origin, d.headers, d.body, d.received_at_ms";

impl Store for SqliteStore {
    fn append(&mut self, batch: &[NewDelivery]) -> Result<Vec<Appended>, StoreError> {
        let (tx, err) = self.write_tx()?;
        let mut out = Vec::with_capacity(batch.len());
        for d in batch {
            let appended = append_one(&tx, d).map_err(err)?;
            if let Appended::New(id) = appended {
                tx.prepare_cached("INSERT INTO queue (delivery_id) VALUES (?1)")
                    .and_then(|mut queue| queue.execute(params![id]))
                    .map_err(err)?;
            }
            out.push(appended);
        }
        tx.commit().map_err(err)?;
        Ok(out)
    }

    fn import(
        &mut self,
        items: &mut dyn Iterator<Item = Result<ImportItem, ImportError>>,
    ) -> Result<ImportCounts, ImportError> {
        self.conn
            .pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)
            .map_err(|e| self.err(e))?;
        let (tx, err) = self.write_tx()?;
        let mut counts = ImportCounts::default();
        for item in items {
            let item = item?;
            match append_one(&tx, &item.delivery).map_err(err)? {
                Appended::New(id) => {
                    let outcome = outcome_of(item.processed);
                    // A delivery's things at a time: the spans of a whole
                    // import would not be bounded by a chunk.
                    let mut spans = BatchSpans::default();
                    write_outcome(&tx, id, &outcome, &mut spans).map_err(err)?;
                    widen_things(&tx, &spans).map_err(err)?;
                    counts.new += 1;
                    counts.events += outcome.events.len() as u64;
                }
                Appended::Duplicate(_) => counts.duplicates += 1,
            }
        }
        tx.commit().map_err(err)?;
        Ok(counts)
    }

    fn process(
        &mut self,
        limit: usize,
        process: &mut dyn FnMut(&Delivery) -> Processed,
    ) -> Result<usize, StoreError> {
        // Read and convert outside the write lock, so the writer thread's
        // group commits are never kept waiting by processing; then write in
        // a short IMMEDIATE transaction. A delivery is written only if this
        // transaction is the one that takes it off the queue, so it is
        // processed once even if another connection raced for it.
        loop {
            let claimed = self.queued(limit)?;
            let outcomes: Vec<(i64, Outcome)> = claimed
                .iter()
                .map(|d| (d.id, outcome_of(process(d))))
                .collect();
            let done = match self.write_outcomes(&outcomes) {
                Ok(done) => done,
                Err(e) if outcomes.len() == 1 => {
                    self.record_attempt(outcomes[0].0, &write_error(&e))?
                }
                // Write each alone, so that one bad delivery fails alone.
                Err(_) => {
                    let mut done = 0;
                    for o in outcomes.chunks(1) {
                        done += match self.write_outcomes(o) {
                            Ok(n) => n,
                            Err(e) => self.record_attempt(o[0].0, &write_error(&e))?,
                        };
                    }
                    done
                }
            };
            // When another connection took every one of them, look again.
            if done > 0 || claimed.is_empty() {
                return Ok(done);
            }
        }
    }

    fn requeue_all(&mut self) -> Result<u64, StoreError> {
        let (tx, err) = self.write_tx()?;
        tx.execute_batch(REQUEUE_ALL).map_err(err)?;
        let n: i64 = tx
            .query_row("SELECT count(*) FROM queue", [], |r| r.get(0))
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n as u64)
    }

    fn status(&mut self) -> Result<Status, StoreError> {
        let c = &self.conn;
        let e = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let providers = c
            .prepare(
                "SELECT provider, count(*), max(received_at_ms) FROM deliveries GROUP BY provider ORDER BY provider",
            )
            .map_err(e)?
            .query_map([], |r| {
                Ok(ProviderCount {
                    provider: r.get(0)?,
                    deliveries: r.get::<_, i64>(1)? as u64,
                    last_received_at_ms: r.get(2)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let events = c
            .prepare("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind")
            .map_err(e)?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let backlog: i64 = c
            .query_row("SELECT count(*) FROM queue", [], |r| r.get(0))
            .map_err(e)?;
        let oldest_queued_at_ms: Option<i64> = c
            .query_row(
                "SELECT min(d.received_at_ms) FROM queue q JOIN deliveries d ON d.id = q.delivery_id",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        let failed: i64 = c
            .query_row(
                "SELECT count(*) FROM outcomes WHERE status = 'failed'",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        let unknown_types = c
            .prepare(
                "SELECT d.event_type, count(*) FROM outcomes o JOIN deliveries d ON d.id = o.delivery_id
                 WHERE o.status = 'unknown' GROUP BY d.event_type ORDER BY d.event_type",
            )
            .map_err(e)?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let recent_failures = c
            .prepare(
                "SELECT d.id, d.provider, d.event_type, coalesce(o.error, '') FROM outcomes o
                 JOIN deliveries d ON d.id = o.delivery_id
                 WHERE o.status = 'failed' ORDER BY d.id DESC LIMIT ?1",
            )
            .map_err(e)?
            .query_map(params![RECENT_FAILURES as i64], |r| {
                Ok(Failure {
                    delivery_id: r.get(0)?,
                    provider: r.get(1)?,
                    event_type: r.get(2)?,
                    error: r.get(3)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let retrying: i64 = c
            .query_row("SELECT count(*) FROM queue WHERE attempts > 0", [], |r| {
                r.get(0)
            })
            .map_err(e)?;
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
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare("SELECT delivery_id, seq, data FROM events ORDER BY delivery_id, seq")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        crate::decode_rows(rows.map(|row| {
            row.map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })
        }))
    }

    fn events_of_kinds(&mut self, kinds: &[&str]) -> Result<Vec<StoredEvent>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; kinds.len()].join(", ");
        let path = self.path.clone();
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT delivery_id, seq, data FROM events WHERE kind IN ({placeholders})
                 ORDER BY delivery_id, seq"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(kinds.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        crate::decode_rows(rows.map(|row| {
            row.map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })
        }))
    }

    fn event_times(&mut self, kinds: &[&str]) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let (mut oldest, mut newest): (Option<i64>, Option<i64>) = (None, None);
        for kind in kinds {
            let end = |order: &str| -> rusqlite::Result<Option<i64>> {
                self.conn
                    .prepare_cached(&format!(
                        "SELECT at FROM events WHERE kind = ?1 AND at IS NOT NULL ORDER BY at {order} LIMIT 1"
                    ))?
                    .query_row(params![kind], |r| r.get(0))
                    .optional()
            };
            let first = end("ASC").map_err(|e| self.err(e))?;
            let last = end("DESC").map_err(|e| self.err(e))?;
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
        // ?1 and ?2 are the range; the kinds follow.
        let list = (3..kinds.len() + 3)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        // CROSS JOIN keeps `things` the outer loop and INDEXED BY the
        // `(kind, at)` index: left to itself, SQLite scans every event of
        // the kinds for the untimed things, and every event of no thing.
        let sql = format!(
            "SELECT e.delivery_id, e.seq, e.data FROM things t CROSS JOIN events e ON e.thing = t.thing
              WHERE t.kind IN ({list}) AND e.kind IN ({list}) AND t.last_at >= ?1 AND t.first_at < ?2
             UNION ALL
             SELECT e.delivery_id, e.seq, e.data FROM things t CROSS JOIN events e ON e.thing = t.thing
              WHERE t.kind IN ({list}) AND e.kind IN ({list}) AND t.last_at IS NULL
             UNION ALL
             SELECT delivery_id, seq, data FROM events INDEXED BY events_kind
              WHERE kind IN ({list}) AND thing IS NULL AND at >= ?1 AND at < ?2
             UNION ALL
             SELECT delivery_id, seq, data FROM events INDEXED BY events_kind
              WHERE kind IN ({list}) AND thing IS NULL AND at IS NULL"
        );
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&range.from, &range.until];
        args.extend(kinds.iter().map(|k| k as &dyn rusqlite::ToSql));
        let path = self.path.clone();
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args.as_slice(), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        crate::decode_rows(rows.map(|row| {
            row.map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })
        }))
    }

    fn thing_spans(&mut self) -> Result<Vec<ThingSpan>, StoreError> {
        self.conn
            .prepare("SELECT thing, kind, first_at, last_at FROM things ORDER BY thing")
            .map_err(|e| self.err(e))?
            .query_map([], |r| {
                Ok(ThingSpan {
                    thing: r.get(0)?,
                    kind: r.get(1)?,
                    first_at: r.get(2)?,
                    last_at: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    fn change_mark(&mut self) -> Result<String, StoreError> {
        self.conn
            .query_row(crate::CHANGE_MARK, [], |r| {
                Ok(format!(
                    "{:?}/{:?}/{}/{}",
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?
                ))
            })
            .map_err(|e| self.err(e))
    }

    fn rebuilt_on_open(&self) -> bool {
        self.rebuilt
    }

    fn deliveries(&mut self) -> Result<Vec<Delivery>, StoreError> {
        self.conn
            .prepare(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries d ORDER BY d.id"
            ))
            .map_err(|e| self.err(e))?
            .query_map([], delivery_from_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    fn outcome_counts(&mut self) -> Result<Vec<(i64, u64)>, StoreError> {
        self.conn
            .prepare(
                "SELECT d.id, count(o.delivery_id) FROM deliveries d LEFT JOIN outcomes o ON o.delivery_id = d.id
                 GROUP BY d.id ORDER BY d.id",
            )
            .map_err(|e| self.err(e))?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    fn sync_cursor(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM sync_cursors WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn set_sync_cursor(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_cursors (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
