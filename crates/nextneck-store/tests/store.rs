//! One test suite for both backends: every test body takes a function that
//! opens a store on a fresh, empty database, and runs once on SQLite (a file
//! in a temporary directory) and once on the real PostgreSQL server named by
//! `NEXTNECK_TEST_POSTGRES` (a fresh schema per test).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use nextneck_model::events::{Event, EventBody, Postmortem, StageTransition};
use nextneck_store::{
    Appended, Delivery, ImportCounts, ImportError, ImportItem, NewDelivery, Origin, Processed,
    Store, open,
};
use nextneck_testkit::{Db, both_backends};

both_backends!(
    appends_are_stored_once_and_read_back_exactly,
    processing_is_exactly_once_and_traceable,
    unknown_and_failed_deliveries_are_kept_and_counted,
    reprocessing_derives_everything_again_from_the_raw_log,
    concurrent_writers_and_processors_on_one_database,
    status_counts_per_provider,
    events_of_kinds_reads_only_those_kinds_in_delivery_order,
    a_delivery_that_cannot_be_written_is_retried_then_set_aside_alone,
    a_nul_in_an_event_id_fails_that_delivery_alone,
    a_nul_in_an_event_type_is_stored_escaped,
    a_store_made_before_the_attempt_columns_is_migrated_on_open,
    an_import_stores_events_at_once_and_duplicates_once,
    an_import_is_all_or_nothing,
);

fn delivery(provider: &str, key: &str, body: &str, at: i64) -> NewDelivery {
    NewDelivery {
        provider: provider.to_owned(),
        dedupe_key: key.to_owned(),
        event_type: format!("{provider}:test"),
        origin: Origin::Webhook,
        headers: vec![("x-test".to_owned(), key.to_owned())],
        body: body.as_bytes().to_vec(),
        received_at_ms: at,
    }
}

/// A processing function: one stage transition per delivery, named after
/// its body; bodies starting with `?` are unknown types, `!` fail.
fn convert(d: &Delivery) -> Processed {
    let body = String::from_utf8_lossy(&d.delivery.body).into_owned();
    if body.starts_with('?') {
        return Processed::Unknown;
    }
    if let Some(msg) = body.strip_prefix('!') {
        return Processed::Failed(msg.to_owned());
    }
    Processed::Events(vec![Event {
        source: d.delivery.provider.clone(),
        at: Some(d.delivery.received_at_ms / 1000),
        body: EventBody::StageTransition(StageTransition {
            id: body.clone(),
            stream: "s".into(),
            item: body,
            stage: "done".into(),
        }),
    }])
}

fn drain(store: &mut dyn Store) -> usize {
    let mut total = 0;
    loop {
        let n = store.process(7, &mut convert).unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

fn appends_are_stored_once_and_read_back_exactly(db: Db) {
    let mut store = open(&db.url).unwrap();
    let binary = NewDelivery {
        body: vec![0, 159, 146, 150, 255, b'\n'],
        ..delivery("github", "k1", "", 1_000)
    };
    let got = store
        .append(&[
            binary.clone(),
            delivery("gitlab", "k1", "b", 2_000),
            delivery("github", "k1", "again", 3_000),
        ])
        .unwrap();
    // The same key under another provider is another delivery; the same
    // provider and key within the batch is stored once.
    assert_eq!(got[0], Appended::New(got[0].id()));
    assert_eq!(got[1], Appended::New(got[1].id()));
    assert_eq!(got[2], Appended::Duplicate(got[0].id()));
    let again = store
        .append(&[delivery("github", "k1", "third", 4_000)])
        .unwrap();
    assert_eq!(again, [Appended::Duplicate(got[0].id())]);

    let stored = store.deliveries().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, got[0].id());
    assert_eq!(
        stored[0].delivery, binary,
        "bytes and headers come back exactly"
    );
    // Reopening sees the same log.
    drop(store);
    let mut store = open(&db.url).unwrap();
    assert_eq!(store.deliveries().unwrap(), stored);
    assert_eq!(store.status().unwrap().backlog, 2);
}

fn processing_is_exactly_once_and_traceable(db: Db) {
    let mut store = open(&db.url).unwrap();
    let batch: Vec<NewDelivery> = (0..20)
        .map(|i| delivery("events", &format!("k{i}"), &format!("item{i}"), 1_000 * i))
        .collect();
    let ids: Vec<i64> = store
        .append(&batch)
        .unwrap()
        .iter()
        .map(|a| a.id())
        .collect();
    assert_eq!(drain(store.as_mut()), 20);
    assert_eq!(drain(store.as_mut()), 0, "nothing is processed twice");
    let events = store.events().unwrap();
    assert_eq!(events.len(), 20);
    let mut traced: Vec<(i64, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(e.seq, 0);
            (e.delivery_id, e.event.entity_id())
        })
        .collect();
    traced.sort();
    // Each event names the delivery whose body it came from.
    let mut want: Vec<(i64, String)> = (0..20).map(|i| (ids[i], format!("item{i}"))).collect();
    want.sort();
    assert_eq!(traced, want);
    assert!(store.outcome_counts().unwrap().iter().all(|&(_, n)| n == 1));
}

fn unknown_and_failed_deliveries_are_kept_and_counted(db: Db) {
    let mut store = open(&db.url).unwrap();
    store
        .append(&[
            delivery("pagerduty", "a", "?", 1),
            delivery("pagerduty", "b", "?", 2),
            delivery("jira", "c", "!bad field", 3),
            delivery("jira", "d", "fine", 4),
        ])
        .unwrap();
    drain(store.as_mut());
    let status = store.status().unwrap();
    assert_eq!(
        status.unknown_types,
        [("pagerduty:test".to_owned(), 2)],
        "unknown types are listed"
    );
    assert_eq!(status.failed, 1);
    assert_eq!(status.backlog, 0);
    assert_eq!(status.oldest_queued_at_ms, None, "nothing waits");
    assert_eq!(status.events, [("stage_transition".to_owned(), 1)]);
    assert_eq!(store.deliveries().unwrap().len(), 4, "all are kept");
}

fn reprocessing_derives_everything_again_from_the_raw_log(db: Db) {
    let mut store = open(&db.url).unwrap();
    store
        .append(&[
            delivery("events", "a", "x", 1),
            delivery("events", "b", "y", 2),
        ])
        .unwrap();
    drain(store.as_mut());
    let before = store.events().unwrap();
    let raw = store.deliveries().unwrap();
    assert_eq!(store.requeue_all().unwrap(), 2);
    assert_eq!(store.events().unwrap(), [], "derived events are dropped");
    assert_eq!(store.status().unwrap().backlog, 2);
    drain(store.as_mut());
    assert_eq!(store.events().unwrap(), before);
    assert_eq!(store.deliveries().unwrap(), raw, "raw deliveries untouched");
    assert!(store.outcome_counts().unwrap().iter().all(|&(_, n)| n == 1));
}

fn concurrent_writers_and_processors_on_one_database(db: Db) {
    // Four connections append the same 200 deliveries (in different orders)
    // while processing; every delivery is stored once and processed once.
    let url = Arc::new(db.url.clone());
    // Create the schema once before the race.
    drop(open(&url).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let url = Arc::clone(&url);
            std::thread::spawn(move || {
                let mut store = open(&url).unwrap();
                let mut batch: Vec<NewDelivery> = (0..200)
                    .map(|i| delivery("github", &format!("k{i}"), &format!("i{i}"), i))
                    .collect();
                if t % 2 == 1 {
                    batch.reverse();
                }
                let mut new = 0;
                for chunk in batch.chunks(25) {
                    new += store
                        .append(chunk)
                        .unwrap()
                        .iter()
                        .filter(|a| matches!(a, Appended::New(_)))
                        .count();
                    store.process(10, &mut convert).unwrap();
                }
                drain(store.as_mut());
                new
            })
        })
        .collect();
    let new: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(new, 200, "each delivery is new exactly once");
    let mut store = open(&url).unwrap();
    drain(store.as_mut());
    assert_eq!(store.deliveries().unwrap().len(), 200);
    assert_eq!(store.events().unwrap().len(), 200);
    let counts = store.outcome_counts().unwrap();
    assert!(counts.iter().all(|&(_, n)| n == 1), "{counts:?}");
}

fn status_counts_per_provider(db: Db) {
    let mut store = open(&db.url).unwrap();
    store
        .append(&[
            delivery("github", "a", "x", 5_000),
            delivery("github", "b", "y", 9_000),
            delivery("jira", "c", "z", 7_000),
        ])
        .unwrap();
    let s = store.status().unwrap();
    let got: Vec<(String, u64, i64)> = s
        .providers
        .iter()
        .map(|p| (p.provider.clone(), p.deliveries, p.last_received_at_ms))
        .collect();
    assert_eq!(
        got,
        [("github".into(), 2, 9_000), ("jira".into(), 1, 7_000)]
    );
    assert_eq!(s.backlog, 3);
    assert_eq!(
        s.oldest_queued_at_ms,
        Some(5_000),
        "the processing lag starts at the oldest queued delivery"
    );
}

fn events_of_kinds_reads_only_those_kinds_in_delivery_order(db: Db) {
    let mut store = open(&db.url).unwrap();
    store
        .append(&[
            delivery("events", "a", "stage-a", 1_000),
            delivery("events", "b", "pm-b", 2_000),
            delivery("events", "c", "stage-c", 3_000),
            delivery("events", "d", "pm-d", 4_000),
        ])
        .unwrap();
    // Bodies starting with `pm-` become a postmortem and a stage transition.
    let mut convert_two = |d: &Delivery| {
        let body = String::from_utf8_lossy(&d.delivery.body).into_owned();
        let mut events = match convert(d) {
            Processed::Events(e) => e,
            other => return other,
        };
        if body.starts_with("pm-") {
            events.insert(
                0,
                Event {
                    source: "events".into(),
                    at: None,
                    body: EventBody::Postmortem(Postmortem {
                        id: body.clone(),
                        incident_id: "INC-1".into(),
                        published_at: 7,
                        url: None,
                    }),
                },
            );
        }
        Processed::Events(events)
    };
    while store.process(3, &mut convert_two).unwrap() > 0 {}
    let summary = |events: Vec<nextneck_store::StoredEvent>| -> Vec<(i64, u32, String)> {
        events
            .into_iter()
            .map(|e| (e.delivery_id, e.seq, e.event.entity_id()))
            .collect()
    };
    let ids: Vec<i64> = store.deliveries().unwrap().iter().map(|d| d.id).collect();
    assert_eq!(
        summary(store.events_of_kinds(&["postmortem"]).unwrap()),
        [
            (ids[1], 0, "pm-b".to_owned()),
            (ids[3], 0, "pm-d".to_owned())
        ]
    );
    let both = summary(
        store
            .events_of_kinds(&["stage_transition", "postmortem"])
            .unwrap(),
    );
    assert_eq!(
        both,
        summary(store.events().unwrap()),
        "all of them, in order"
    );
    assert_eq!(both.len(), 6);
    assert!(store.events_of_kinds(&["incident"]).unwrap().is_empty());
    assert!(store.events_of_kinds(&[]).unwrap().is_empty());
}

#[test]
fn database_urls() {
    use nextneck_store::DbUrl;
    let check = |url: &str, want: Option<DbUrl>| {
        assert_eq!(DbUrl::parse(url).ok(), want, "{url}");
    };
    check(
        "sqlite:nextneck.db",
        Some(DbUrl::Sqlite("nextneck.db".into())),
    );
    check(
        "sqlite:///tmp/x.db",
        Some(DbUrl::Sqlite("/tmp/x.db".into())),
    );
    check(
        "postgres://u@h/db",
        Some(DbUrl::Postgres("postgres://u@h/db".into())),
    );
    check(
        "postgresql://u@h/db",
        Some(DbUrl::Postgres("postgresql://u@h/db".into())),
    );
    check("sqlite:", None);
    check("mysql://x", None);
    check("nextneck.db", None);
}

/// Makes the database refuse events whose entity id is `poison`, as a
/// backend refuses a value it cannot hold.
fn refuse_poison(db: &Db) {
    if let Some(path) = db.url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.entity_id = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    } else {
        let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
        client
            .batch_execute(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
                   IF NEW.entity_id = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF;
                   RETURN NEW;
                 END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse();",
            )
            .unwrap();
    }
}

fn a_delivery_that_cannot_be_written_is_retried_then_set_aside_alone(db: Db) {
    let mut store = open(&db.url).unwrap();
    refuse_poison(&db);
    let ids: Vec<i64> = store
        .append(&[
            delivery("events", "a", "a", 1),
            delivery("events", "p", "poison", 2),
            delivery("events", "b", "b", 3),
        ])
        .unwrap()
        .iter()
        .map(|a| a.id())
        .collect();
    // The batch fails; each is written alone: the two good ones are
    // processed, the poison one has an attempt counted.
    assert_eq!(store.process(10, &mut convert).unwrap(), 3);
    let status = store.status().unwrap();
    assert_eq!((status.backlog, status.retrying, status.failed), (1, 1, 0));
    assert_eq!(status.events, [("stage_transition".to_owned(), 2)]);
    // Then it is tried alone until the attempts run out, and set aside.
    for _ in 1..nextneck_store::MAX_ATTEMPTS {
        assert_eq!(store.process(10, &mut convert).unwrap(), 1);
    }
    assert_eq!(store.process(10, &mut convert).unwrap(), 0);
    let status = store.status().unwrap();
    assert_eq!((status.backlog, status.retrying, status.failed), (0, 0, 1));
    let failure = &status.recent_failures[0];
    assert_eq!(failure.delivery_id, ids[1]);
    assert_eq!(failure.event_type, "events:test");
    assert!(
        failure
            .error
            .starts_with("its events could not be stored after 5 attempts (last: "),
        "{}",
        failure.error
    );
    assert!(failure.error.contains("poisoned"), "{}", failure.error);
    assert!(failure.error.ends_with("); set aside"), "{}", failure.error);
    // Set aside, not lost: reprocessing queues it again.
    assert_eq!(store.requeue_all().unwrap(), 3);
}

fn a_nul_in_an_event_id_fails_that_delivery_alone(db: Db) {
    let mut store = open(&db.url).unwrap();
    store
        .append(&[
            delivery("events", "a", "a", 1),
            delivery("events", "n", "dep\0x", 2),
            delivery("events", "b", "b", 3),
        ])
        .unwrap();
    assert_eq!(drain(store.as_mut()), 3);
    let status = store.status().unwrap();
    assert_eq!((status.backlog, status.failed), (0, 1));
    assert_eq!(status.events, [("stage_transition".to_owned(), 2)]);
    assert_eq!(
        status.recent_failures[0].error,
        "the id of event 1 (stage_transition) contains a NUL character, which the store does not hold"
    );
}

fn a_nul_in_an_event_type_is_stored_escaped(db: Db) {
    let mut store = open(&db.url).unwrap();
    let bad = NewDelivery {
        event_type: "gitlab:push\0".to_owned(),
        ..delivery("gitlab", "n", "?", 1)
    };
    let got = store
        .append(&[
            delivery("gitlab", "a", "a", 1),
            bad,
            delivery("gitlab", "b", "b", 1),
        ])
        .unwrap();
    assert!(got.iter().all(|a| matches!(a, Appended::New(_))));
    let stored = store.deliveries().unwrap();
    assert_eq!(stored[1].delivery.event_type, "gitlab:push\\u{0}");
}

fn a_store_made_before_the_attempt_columns_is_migrated_on_open(db: Db) {
    let old_queue = "CREATE TABLE queue (delivery_id BIGINT PRIMARY KEY)";
    if let Some(path) = db.url.strip_prefix("sqlite:") {
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(old_queue)
            .unwrap();
    } else {
        postgres::Client::connect(&db.url, postgres::NoTls)
            .unwrap()
            .batch_execute(old_queue)
            .unwrap();
    }
    let mut store = open(&db.url).unwrap();
    store.append(&[delivery("events", "a", "a", 1)]).unwrap();
    drop(store);
    let mut store = open(&db.url).unwrap();
    assert_eq!(store.status().unwrap().backlog, 1);
    assert_eq!(drain(store.as_mut()), 1);
    assert_eq!(store.status().unwrap().retrying, 0);
}

/// A new user's first `serve`: the writer and processor threads open the
/// same fresh SQLite file at once. Every open succeeds (SQLite answers the
/// race to create the file and switch it to WAL with SQLITE_BUSY without
/// calling the busy handler; the open retries).
#[test]
fn a_fresh_sqlite_file_opened_by_several_threads_at_once() {
    for _ in 0..100 {
        let dir = tempfile::tempdir().unwrap();
        let url = Arc::new(format!("sqlite:{}", dir.path().join("new.db").display()));
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = Arc::clone(&url);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    open(&url).map(|_| ()).map_err(|e| {
                        let mut s = e.to_string();
                        if let Some(c) = std::error::Error::source(&e) {
                            s.push_str(&format!(": {c}"));
                        }
                        s
                    })
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }
}

#[test]
fn printed_urls_hold_no_password_in_any_form() {
    use nextneck_store::{db_label, redact_url};
    let check = |url: &str, want: &str| {
        assert_eq!(redact_url(url), want, "{url}");
        assert!(!redact_url(url).contains("S3cr"), "{url}");
    };
    check("sqlite:nextneck.db", "sqlite:nextneck.db");
    check("postgres://u@h:5432/db", "postgres://u@h:5432/db");
    check("postgres://u:S3cr@h/db", "postgres://u:***@h/db");
    // A raw `@`, `/`, `?` or `:` in the password.
    check("postgres://u:S3cr@t@h/db", "postgres://u:***@h/db");
    check("postgres://u:S3cr/?x:y@h/db", "postgres://u:***@h/db");
    check("postgresql://u:S3cr%40t@h/db", "postgresql://u:***@h/db");
    // Parameters, in a URL and in a keyword string.
    check(
        "postgres://u@h/db?password=S3cr&sslmode=disable",
        "postgres://u@h/db?password=***&sslmode=disable",
    );
    check(
        "postgres://u@h/db?PassWord=S3cr@x&sslpassword=S3cr",
        "postgres://u@h/db?PassWord=***&sslpassword=***",
    );
    check(
        "host=h password=S3cr dbname=x",
        "host=h password=*** dbname=x",
    );
    // Typos: the scheme, the slashes.
    check("postgress://u:S3cr@h/db", "postgress://u:***@h/db");
    check("postgres:/u:S3cr@h/db", "postgres:***@h/db");
    check("postgres//u:S3cr@h", "postgres//u:***@h");
    let err = nextneck_store::DbUrl::parse("postgress://u:S3cr@h/db?password=S3cr")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("S3cr"), "{err}");
    assert_eq!(db_label("postgres://u:S3cr@h/db", false), "postgres");
    assert_eq!(db_label("sqlite:/srv/n.db", false), "sqlite");
    assert_eq!(
        db_label("postgres://u:S3cr@h/db", true),
        "postgres://u:***@h/db"
    );
}

/// An import's items: each body is converted as [`convert`] does (a
/// delivery id of 0, which the store does not read).
fn import_items(bodies: &[&str]) -> Vec<Result<ImportItem, ImportError>> {
    bodies
        .iter()
        .map(|body| {
            let delivery = NewDelivery {
                origin: Origin::Import,
                ..delivery("events", body, body, 5_000)
            };
            let processed = convert(&Delivery {
                id: 0,
                delivery: delivery.clone(),
            });
            Ok(ImportItem {
                delivery,
                processed,
            })
        })
        .collect()
}

/// What an import leaves: deliveries, backlog, events per kind, outcomes.
type Footprint = (usize, u64, Vec<(String, u64)>, Vec<(i64, u64)>);

fn footprint(store: &mut dyn Store) -> Footprint {
    let status = store.status().unwrap();
    (
        store.deliveries().unwrap().len(),
        status.backlog,
        status.events,
        store.outcome_counts().unwrap(),
    )
}

fn an_import_stores_events_at_once_and_duplicates_once(db: Db) {
    let mut store = open(&db.url).unwrap();
    store.append(&[delivery("events", "b", "b", 1)]).unwrap();
    let counts = store
        .import(&mut import_items(&["a", "b", "?x", "a", "c"]).into_iter())
        .unwrap();
    // `b` was stored before, the second `a` is the first's duplicate.
    let want = ImportCounts {
        new: 3,
        duplicates: 2,
        events: 2,
    };
    assert_eq!(counts, want);
    // Imported deliveries are processed, not queued: only `b` waits.
    let (deliveries, backlog, events, outcomes) = footprint(store.as_mut());
    assert_eq!((deliveries, backlog), (4, 1));
    assert_eq!(events, [("stage_transition".to_owned(), 2)]);
    assert_eq!(outcomes.iter().filter(|(_, n)| *n == 1).count(), 3);
    let status = store.status().unwrap();
    assert_eq!(status.unknown_types, [("events:test".to_owned(), 1)]);
    // The same import again stores nothing.
    let before = footprint(store.as_mut());
    let again = store
        .import(&mut import_items(&["a", "b", "?x", "a", "c"]).into_iter())
        .unwrap();
    assert_eq!((again.new, again.duplicates, again.events), (0, 5, 0));
    assert_eq!(footprint(store.as_mut()), before);
    // Processing the queue gives `b` its event; each delivery once.
    assert_eq!(drain(store.as_mut()), 1);
    assert!(store.outcome_counts().unwrap().iter().all(|&(_, n)| n == 1));
}

fn an_import_is_all_or_nothing(db: Db) {
    let mut store = open(&db.url).unwrap();
    store.append(&[delivery("events", "q", "q", 1)]).unwrap();
    let before = footprint(store.as_mut());
    // An input error after items were written: nothing is kept.
    let mut items = import_items(&["a", "b"]);
    items.push(Err(ImportError::Input("line 9: bad".into())));
    items.extend(import_items(&["c"]));
    let err = store.import(&mut items.into_iter()).unwrap_err();
    assert_eq!(err.to_string(), "line 9: bad");
    assert_eq!(footprint(store.as_mut()), before);
    // The store refusing an event: nothing is kept either.
    refuse_poison(&db);
    let err = store
        .import(&mut import_items(&["a", "poison", "c"]).into_iter())
        .unwrap_err();
    assert!(matches!(err, ImportError::Store(_)), "{err}");
    assert_eq!(footprint(store.as_mut()), before);
    // And the store takes the next import.
    let counts = store
        .import(&mut import_items(&["a", "c"]).into_iter())
        .unwrap();
    assert_eq!(counts.new, 2);
}
