//! The derived tables' invariant (ARCHITECTURE.md): for any deliveries, in
//! any order, with duplicates and redeliveries, processed in any batches by
//! several servers at once, the incrementally kept `things` table and every
//! report read through it are byte for byte what a full rebuild from the
//! raw deliveries (`reprocess`) gives. On both backends.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert, dedupe_key};
use nextneck_metrics::{DeliverySettings, WindowSpec};
use nextneck_store::{NewDelivery, Origin, Store, ThingSpan};
use nextneck_testkit::{Db, both_backends};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// 2024-01-01T00:00:00Z.
const BASE: i64 = 1_704_067_200;
const DAY: i64 = 86_400;

/// A SplitMix64 generator: the cases are made from a seed, so a failure
/// names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn time(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

/// One generic event line observing one of a few things (so that
/// observations of a thing come from several deliveries), at a time in a
/// 240-day span.
fn line(rng: &mut Rng) -> String {
    let n = rng.below(6);
    let repo = format!("acme/r{}", n % 3);
    let t = BASE + rng.below(240) as i64 * DAY + rng.below(DAY as u64) as i64;
    match rng.below(6) {
        0 => {
            let status = ["success", "failure", "in_progress"][rng.below(3) as usize];
            format!(
                r#"{{"type":"deployment","id":"d{n}","status":"{status}","environment":"production","repository":"{repo}","started_at":"{}","finished_at":"{}"}}"#,
                time(t),
                time(t + 600)
            )
        }
        1 if rng.below(2) == 0 => format!(
            r#"{{"type":"change","id":"{repo}#{n}","repository":"{repo}","number":{n},"author":"dev{n}","opened_at":"{}"}}"#,
            time(t)
        ),
        1 => format!(
            r#"{{"type":"change","id":"{repo}#{n}","repository":"{repo}","number":{n},"author":"dev{n}","opened_at":"{}","merged_at":"{}","merge_sha":"{:040x}"}}"#,
            time(t - 3 * DAY),
            time(t),
            n + 1
        ),
        2 => format!(
            r#"{{"type":"review","id":"rv{}","change_id":"{repo}#{n}","reviewer":"rev{}","state":"approved","submitted_at":"{}"}}"#,
            rng.below(3),
            rng.below(2),
            time(t)
        ),
        3 => format!(
            r#"{{"type":"incident","id":"i{n}","service":"{repo}","opened_at":"{}","resolved_at":"{}"}}"#,
            time(t),
            time(t + 3600 * (1 + rng.below(30) as i64))
        ),
        4 => format!(
            r#"{{"type":"ci.run","id":"run{n}","workflow":"ci","repository":"{repo}","started_at":"{}","finished_at":"{}","conclusion":"{}"}}"#,
            time(t),
            time(t + 300),
            ["success", "failure"][rng.below(2) as usize]
        ),
        _ => format!(
            r#"{{"type":"postmortem.published","id":"pm{n}","incident_id":"i{n}","published_at":"{}"}}"#,
            time(t)
        ),
    }
}

/// The deliveries of one case: bodies of one to four lines; some sent
/// twice (a duplicate, stored once), some redelivered (the same lines under
/// another key: the same observations again), in a shuffled order.
fn deliveries(rng: &mut Rng) -> Vec<NewDelivery> {
    let mut bodies: Vec<String> = (0..8 + rng.below(24))
        .map(|_| {
            (0..1 + rng.below(4))
                .map(|_| line(rng) + "\n")
                .collect::<String>()
        })
        .collect();
    for i in 0..bodies.len() {
        match rng.below(6) {
            0 => bodies.push(bodies[i].clone()),
            1 => bodies.push(format!("{}\n", bodies[i])),
            _ => {}
        }
    }
    for i in (1..bodies.len()).rev() {
        bodies.swap(i, rng.below(i as u64 + 1) as usize);
    }
    bodies
        .into_iter()
        .map(|b| delivery(b.into_bytes()))
        .collect()
}

fn delivery(body: Vec<u8>) -> NewDelivery {
    let headers = vec![("x-nextneck-file".to_owned(), "case.ndjson".to_owned())];
    let converted = convert(Provider::Events, &headers, &body).unwrap();
    NewDelivery {
        provider: "events".to_owned(),
        dedupe_key: dedupe_key(Provider::Events, &headers, &body),
        event_type: converted.event_type,
        origin: Origin::Webhook,
        headers,
        body,
        received_at_ms: 0,
    }
}

/// What must not depend on how the deliveries arrived: the things table,
/// and the JSON of reports over several windows (one whose look-back cuts
/// the history, so that the read goes through the derived tables).
fn state(store: &mut dyn Store) -> (Vec<ThingSpan>, Vec<String>) {
    let windows = [
        (WindowSpec::Default, 90),
        (WindowSpec::All, 90),
        (
            WindowSpec::Range {
                since: Some(BASE + 100 * DAY),
                until: Some(BASE + 140 * DAY),
            },
            20,
        ),
    ];
    let reports = windows
        .into_iter()
        .map(|(window, look_back_days)| {
            let mut settings = DeliverySettings::new("test");
            settings.window = window;
            settings.look_back_days = look_back_days;
            settings.explain = true;
            let report = nextneck_server::delivery_report_over(
                |settings, reading| nextneck_server::delivery_events(store, settings, reading),
                None,
                &mut settings,
            )
            .unwrap()
            .unwrap();
            serde_json::to_string(&report).unwrap()
        })
        .collect();
    (store.thing_spans().unwrap(), reports)
}

fn fresh_like(db: &Db) -> Db {
    match db.backend() {
        "sqlite" => nextneck_testkit::sqlite(),
        _ => nextneck_testkit::postgres(),
    }
}

fn cases(db: &Db) -> TestRunner {
    // PostgreSQL makes a schema per case: fewer cases there.
    let cases = if db.backend() == "sqlite" { 32 } else { 12 };
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Two servers (two connections) append and process the deliveries
/// interleaved, in batches of random sizes; then a full rebuild.
fn interleaved_servers_equal_a_rebuild(db: Db) {
    cases(&db)
        .run(&any::<u64>(), |seed| {
            let case = fresh_like(&db);
            let mut rng = Rng(seed);
            let mut servers = [
                nextneck_store::open(&case.url).unwrap(),
                nextneck_store::open(&case.url).unwrap(),
            ];
            for d in deliveries(&mut rng) {
                let s = rng.below(2) as usize;
                servers[s].append(std::slice::from_ref(&d)).unwrap();
                if rng.below(3) == 0 {
                    let other = rng.below(2) as usize;
                    let limit = 1 + rng.below(4) as usize;
                    nextneck_server::process_batch(servers[other].as_mut(), limit).unwrap();
                }
            }
            for s in &mut servers {
                nextneck_server::process_pending(s.as_mut()).unwrap();
            }
            let incremental = state(servers[0].as_mut());
            servers[1].requeue_all().unwrap();
            nextneck_server::process_pending(servers[1].as_mut()).unwrap();
            let rebuilt = state(servers[0].as_mut());
            prop_assert!(!incremental.0.is_empty(), "seed {seed}: no things");
            prop_assert_eq!(same(&incremental, &rebuilt), None, "seed {}", seed);
            Ok(())
        })
        .unwrap();
}

/// Two servers on threads of their own append and process at once.
fn concurrent_servers_equal_a_rebuild(db: Db) {
    let mut rng = Rng(7);
    let all = deliveries(&mut rng);
    let (a, b) = all.split_at(all.len() / 2);
    std::thread::scope(|scope| {
        for half in [a, b] {
            let url = db.url.clone();
            scope.spawn(move || {
                let mut store = nextneck_store::open(&url).unwrap();
                for d in half {
                    store.append(std::slice::from_ref(d)).unwrap();
                    nextneck_server::process_batch(store.as_mut(), 2).unwrap();
                }
                nextneck_server::process_pending(store.as_mut()).unwrap();
            });
        }
    });
    let mut store = nextneck_store::open(&db.url).unwrap();
    nextneck_server::process_pending(store.as_mut()).unwrap();
    let incremental = state(store.as_mut());
    store.requeue_all().unwrap();
    nextneck_server::process_pending(store.as_mut()).unwrap();
    assert_eq!(same(&incremental, &state(store.as_mut())), None);
}

/// `None` when both states are equal, else where they first differ, short.
fn same(a: &(Vec<ThingSpan>, Vec<String>), b: &(Vec<ThingSpan>, Vec<String>)) -> Option<String> {
    if let Some((x, y)) = a.0.iter().zip(&b.0).find(|(x, y)| x != y) {
        return Some(format!("things differ: {x:?} against {y:?}"));
    }
    if a.0.len() != b.0.len() {
        return Some(format!("{} things against {}", a.0.len(), b.0.len()));
    }
    a.1.iter().zip(&b.1).enumerate().find_map(|(i, (x, y))| {
        if x == y {
            return None;
        }
        let at = x
            .bytes()
            .zip(y.bytes())
            .position(|(p, q)| p != q)
            .unwrap_or(x.len().min(y.len()));
        let from = at.saturating_sub(120);
        Some(format!(
            "report {i} differs at byte {at}: …{}… against …{}…",
            x.get(from..(at + 80).min(x.len())).unwrap_or(""),
            y.get(from..(at + 80).min(y.len())).unwrap_or("")
        ))
    })
}

both_backends!(
    interleaved_servers_equal_a_rebuild,
    concurrent_servers_equal_a_rebuild
);
