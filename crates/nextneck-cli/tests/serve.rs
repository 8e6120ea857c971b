//! `nextneck serve` as a real process: SIGKILL during a burst loses no
//! acknowledged delivery and processes each exactly once after restart; two
//! servers on one PostgreSQL database store and process each delivery once.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use live::*;

/// Ids of the deliveries a store holds (the generic events' ids).
fn stored_ids(url: &str) -> Vec<String> {
    let mut store = nextneck_store::open(url).unwrap();
    store
        .deliveries()
        .unwrap()
        .iter()
        .map(|d| {
            let v: serde_json::Value = serde_json::from_slice(&d.delivery.body).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn sigkill_during_a_burst_loses_no_acknowledged_delivery(db: Db) {
    let server = Server::start(&db);
    let addr = server.addr;
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (acked, stop, sent) = (Arc::clone(&acked), Arc::clone(&stop), Arc::clone(&sent));
            std::thread::spawn(move || {
                // Bounded: at most 2,000 requests per client.
                for i in 0..2_000 {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("c{c}-{i}");
                    sent.fetch_add(1, Ordering::SeqCst);
                    match post_event(addr, &id) {
                        Some((202 | 200, _)) => {
                            acked.lock().unwrap().insert(id);
                        }
                        Some((status, body)) => panic!("{id}: {status} {body}"),
                        // The server is gone.
                        None => return,
                    }
                }
            })
        })
        .collect();
    // Kill once a good share of the burst is acknowledged, while requests
    // are in flight.
    nextneck_testkit::wait_until(
        "400 acknowledged deliveries",
        nextneck_testkit::PATIENCE,
        || {
            let n = acked.lock().unwrap().len();
            if n >= 400 {
                Ok(())
            } else {
                Err(format!(
                    "{n} acknowledged of {} sent",
                    sent.load(Ordering::SeqCst)
                ))
            }
        },
    );
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 400);

    // Every acknowledged delivery survived the kill.
    let stored: BTreeSet<String> = stored_ids(&db.url).into_iter().collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged deliveries lost: {lost:?}",
        lost.len()
    );

    // After a restart every stored delivery is processed exactly once.
    let server = Server::start(&db);
    // A redelivery of an acknowledged event is still a duplicate.
    let first = acked.iter().next().unwrap().clone();
    assert_eq!(post_event(server.addr, &first).unwrap().0, 200);
    let status = wait_processed(&db.url);
    drop(server);
    let mut store = nextneck_store::open(&db.url).unwrap();
    let counts = store.outcome_counts().unwrap();
    assert_eq!(counts.len(), stored.len());
    assert!(counts.iter().all(|&(_, n)| n == 1), "each processed once");
    let events = store.events().unwrap();
    assert_eq!(events.len(), stored.len(), "one event per delivery");
    let event_ids: BTreeSet<String> = events.iter().map(|e| e.event.entity_id()).collect();
    assert_eq!(event_ids, stored);
    assert_eq!(status.failed, 0);
}

both_backends!(sigkill_during_a_burst_loses_no_acknowledged_delivery);

#[test]
fn two_servers_on_one_postgres_database_store_and_process_each_delivery_once() {
    let db = postgres();
    let a = Server::start(&db);
    let b = Server::start(&db);
    let addrs = [a.addr, b.addr];
    // Eight clients send the same 300 deliveries, each to both servers, in
    // different orders: every one is accepted (202) exactly once.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let accepted = Arc::clone(&accepted);
            std::thread::spawn(move || {
                let mut ids: Vec<usize> = (0..300).collect();
                if c % 2 == 1 {
                    ids.reverse();
                }
                for i in ids {
                    let id = format!("e{i}");
                    let (status, body) = post_event(addrs[(c + i) % 2], &id).unwrap();
                    assert!(status == 202 || status == 200, "{id}: {status} {body}");
                    if status == 202 {
                        accepted.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let mut accepted = accepted.lock().unwrap().clone();
    accepted.sort();
    let mut want: Vec<String> = (0..300).map(|i| format!("e{i}")).collect();
    want.sort();
    assert_eq!(
        accepted, want,
        "each delivery accepted once, the rest duplicates"
    );
    wait_processed(&db.url);
    drop((a, b));
    let mut store = nextneck_store::open(&db.url).unwrap();
    assert_eq!(store.deliveries().unwrap().len(), 300);
    let counts = store.outcome_counts().unwrap();
    assert!(counts.iter().all(|&(_, n)| n == 1), "each processed once");
    assert_eq!(store.events().unwrap().len(), 300);
}

#[test]
fn serve_refuses_bad_settings() {
    let db = sqlite();
    // Without webhook secrets serve starts (a read-only dashboard): see
    // serve_dashboard.rs.
    let (code, _, err) = run(db.dir.path(), &["serve", "--db", "mysql://x"]);
    assert_eq!(code, 2, "{err}");
    let out = nextneck(db.dir.path())
        .args(["serve", "--db", &db.url, "--listen", "nowhere"])
        .env("NEXTNECK_EVENTS_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`nowhere` is not an address"));
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        "[server]\nlisten = 8080\n",
    )
    .unwrap();
    let (code, _, err) = run(db.dir.path(), &["serve"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nextneck.toml"), "{err}");
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        "[server]\nmax_reports = 0\n",
    )
    .unwrap();
    let (code, _, err) = run(db.dir.path(), &["serve", "--db", &db.url]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: max_reports in [server] of nextneck.toml is 0; give a positive number or leave it out for the default"),
        "{err}"
    );
}
