//! What a windowed `report --db` reads (docs/metrics.md, "What a report
//! reads"): the window and the look-back either side of it, through the
//! store's derived tables. With a look-back that holds a deployment's
//! predecessor the figures are those of reading everything; when the read
//! would cut it, the report reads everything.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;

use live::*;
use nextneck_testkit::{check, check_absent};
use serde_json::{Value, json};

/// 2024-01-01T00:00:00Z.
const BASE: i64 = 1_704_067_200;
const DAY: i64 = 86_400;

fn time(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

fn change(repo: &str, n: i64, merged: i64) -> String {
    format!(
        r#"{{"type":"change","id":"{repo}#{n}","repository":"{repo}","number":{n},"author":"dev","opened_at":"{}","first_review_at":"{}","merged_at":"{}","merge_sha":"{n:040x}"}}"#,
        time(merged - 2 * DAY),
        time(merged - DAY),
        time(merged)
    ) + "\n"
}

fn deployment(repo: &str, n: i64, at: i64) -> String {
    format!(
        r#"{{"type":"deployment","id":"{repo}/d{n}","status":"success","environment":"production","repository":"{repo}","started_at":"{}","finished_at":"{}"}}"#,
        time(at - 600),
        time(at)
    ) + "\n"
}

/// `acme/fast` ships one change a week for 400 days; `acme/slow` ships
/// three changes every 200 days (days 0, 190 and 390), so its deployment
/// in the default window (days 310 to 400) has its predecessor 200 days
/// before it: beyond the default look-back of 90 days.
fn history() -> String {
    let mut body = String::new();
    for week in 0..58 {
        let at = BASE + week * 7 * DAY;
        body += &change("acme/fast", week, at - DAY);
        body += &deployment("acme/fast", week, at);
    }
    for (k, day) in [0, 190, 390].into_iter().enumerate() {
        let at = BASE + day * DAY;
        for c in 0..3 {
            body += &change("acme/slow", k as i64 * 10 + c, at - (c + 1) * DAY);
        }
        body += &deployment("acme/slow", k as i64, at);
    }
    body
}

fn report(db: &Db, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--db", &db.url, "--format", "json"];
    args.extend(extra);
    let (code, out, err) = run(db.dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn the_look_back_decides_what_is_read(db: Db) {
    let path = db.dir.path().join("history.ndjson");
    std::fs::write(&path, history()).unwrap();
    let (code, _, err) = run(
        db.dir.path(),
        &["import", "events", "--db", &db.url, path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");

    // The default: the window and 90 days before it cut slow's
    // predecessor, so its deployment of the window would be a baseline in
    // what was read: the report is computed over every event instead.
    let cut = report(&db, &[]);
    check_absent(&cut, &["/source/read"]);
    check(
        &cut,
        &[
            ("/window/since", json!("2024-11-06T00:00:00Z")),
            ("/dora/lead_time/baseline_changes", json!(0)),
            // The deploy stage of every change a counted deployment shipped.
            ("/stages/4/name", json!("deploy")),
            ("/stages/4/changes", json!(16)),
        ],
    );

    // A look-back of 200 days reads the predecessor: slow's three changes
    // count, as when everything is read.
    let wide = report(&db, &["--look-back", "200"]);
    check(
        &wide,
        &[
            ("/source/read/look_back_days", json!(200)),
            ("/source/read/since", json!("2024-04-20T00:00:00Z")),
            ("/dora/lead_time/baseline_changes", json!(0)),
            ("/stages/4/changes", json!(16)),
        ],
    );
    let everything = report(&db, &["--look-back", "1000"]);
    check_absent(&everything, &["/source/read"]);
    for figure in [
        "/window",
        "/dora/lead_time",
        "/dora/deployment_frequency",
        "/dora/change_failure_rate",
        "/dora/recovery_time",
        "/stages",
        "/bottleneck",
        "/incidents",
        "/ci",
    ] {
        assert_eq!(
            wide.pointer(figure),
            everything.pointer(figure),
            "{figure} differs between a look-back that holds the predecessor and reading everything"
        );
        assert_eq!(cut.pointer(figure), everything.pointer(figure), "{figure}");
    }

    // --all reads every event.
    let all = report(&db, &["--all"]);
    check_absent(&all, &["/source/read"]);
    check(&all, &[("/source/events", json!(58 * 2 + 3 * 4))]);

    // What the import kept is what a rebuild from its deliveries gives.
    let (code, _, err) = run(db.dir.path(), &["reprocess", "--db", &db.url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report(&db, &[]), cut);
    assert_eq!(report(&db, &["--look-back", "200"]), wide);
}

both_backends!(the_look_back_decides_what_is_read);
