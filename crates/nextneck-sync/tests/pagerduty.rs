//! The PagerDuty sync against the replay server (PagerDuty's documented
//! examples served in classic offset pages, faults injected): incidents
//! with their log entries, the horizon of unresolved incidents, rate limits
//! with a relative reset, retries, and a refused key.

#![allow(clippy::unwrap_used, missing_docs)]

mod replay;

use nextneck_sync::pagerduty::sync_service;
use nextneck_sync::{Client, Counts, Dialect, SyncError};
use replay::memory::{Memory, client_of, waits};
use replay::pagerduty::{self as pd, sample, serve};
use replay::{Replay, Response};
use serde_json::json;

const SERVICE: &str = "PIJ90N7";
const TOKEN: &str = "pd-secret-test-key";

fn sync(client: &mut Client, target: &mut Memory) -> Result<Counts, SyncError> {
    let mut counts = Counts::default();
    sync_service(client, target, SERVICE, None, &mut counts, &mut |_, _| {})?;
    Ok(counts)
}

#[test]
fn incidents_with_log_entries_in_offset_pages() {
    let replay = Replay::start();
    let service = sample(SERVICE);
    serve(&replay, &service, 2);
    let (mut client, _) = client_of(Dialect::Pagerduty, &replay.base, TOKEN, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!((counts.incidents, counts.log_entries), (4, 11));
    assert_eq!(memory.batches.len(), 2);
    let items = memory.items();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["PINC004", "PINC003", "PINC002", "PINC001"]);
    assert_eq!(
        items[1]["log_entries"][0]["type"],
        json!("resolve_log_entry")
    );
    let log = replay.log();
    assert!(
        log.iter()
            .all(|r| r.header("authorization") == Some(&format!("Token token={TOKEN}")))
    );
    assert!(
        log.iter()
            .all(|r| r.header("accept") == Some("application/vnd.pagerduty+json;version=2"))
    );
    assert_eq!(
        replay.count(&pd::incidents_url(SERVICE).replace("offset=0", "offset=2")),
        1
    );
    // Incident 4 (the 12th) is still open: the next run starts there.
    assert_eq!(
        memory.cursors[&format!("pagerduty:{SERVICE}:incidents")],
        r#"{"floor":"2025-03-12T10:00:00Z"}"#
    );
    // The second run stops at that floor, on the first page.
    let mut again = Memory::resuming(&memory);
    let before = replay.log().len();
    let counts = sync(&mut client, &mut again).unwrap();
    assert_eq!(counts.incidents, 1);
    assert_eq!(
        replay.log().len() - before,
        2,
        "one page of incidents, one of log entries"
    );
}

#[test]
fn rate_limits_with_a_relative_reset_and_a_502() {
    let replay = Replay::start();
    let service = sample(SERVICE);
    let first = pd::incidents_url(SERVICE);
    let page2 = first.replace("offset=0", "offset=2");
    // 429 mid-pagination: PagerDuty's reset is seconds from now.
    replay.on(
        &page2,
        vec![pd::budget(
            Response::json(
                429,
                &json!({"error": {"message": "Rate Limit Exceeded", "code": 2020}}),
            ),
            0,
            2,
        )],
    );
    let entries = pd::log_entries_url("PINC002");
    replay.on(
        &entries,
        vec![Response::json(
            502,
            &json!({"error": {"message": "Bad Gateway"}}),
        )],
    );
    serve(&replay, &service, 2);
    let (mut client, notices) = client_of(Dialect::Pagerduty, &replay.base, TOKEN, 5000);
    let counts = sync(&mut client, &mut Memory::default()).unwrap();
    assert_eq!(counts.incidents, 4);
    let waits = waits(&notices);
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(
        (waits[0].starts_with("2 ") || waits[0].starts_with("1 "))
            && waits[0].ends_with("rate limit exhausted, waiting for X-RateLimit-Reset"),
        "{waits:?}"
    );
    assert_eq!(waits[1], "1 status 502; retry 1 of 3");
    assert_eq!(replay.count(&page2), 2);
    assert_eq!(replay.count(&entries), 2);
}

#[test]
fn a_refused_key_names_what_is_needed() {
    let check = |status: u16, body: serde_json::Value, expected: &str| {
        let replay = Replay::start();
        let first = pd::incidents_url(SERVICE);
        replay.on(&first, vec![Response::json(status, &body)]);
        let (mut client, _) = client_of(Dialect::Pagerduty, &replay.base, TOKEN, 5000);
        let err = sync(&mut client, &mut Memory::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}{first}: {expected}", replay.base)
        );
        assert!(!err.to_string().contains(TOKEN));
    };
    check(
        401,
        json!({"error": {"message": "Authentication required", "code": 2006}}),
        "401 Unauthorized: the API refused the token; check PAGERDUTY_TOKEN (or [sync.pagerduty] token in nextneck.toml) and that it has not expired",
    );
    check(
        403,
        json!({"error": {"message": "Access Denied", "code": 2010}}),
        "403 Forbidden: the token cannot read this; it needs a REST API key that can read incidents and log entries of the service (a read-only API key will do)",
    );
}
