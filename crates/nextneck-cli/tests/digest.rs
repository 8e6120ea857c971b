//! `nextneck digest` end to end: real git repositories and a real SQLite
//! store at fixed dates, printed as JSON and Markdown, and posted to a
//! local HTTP receiver (the testkit's) that checks each chat
//! service's payload shape and can fail the first attempts.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use common::{Repo, at, check_absent, nextneck};
use nextneck_testkit::{Lines, PATIENCE, http};
use serde_json::{Value, json};

/// The period: the week of 2024-01-08, against the week before.
const PERIOD: [&str; 4] = ["--since", "2024-01-08", "--until", "2024-01-15"];

/// A repository whose bottleneck moves from coding (the week before) to
/// deploy (the period): six one-change releases a week, after a baseline.
fn moving_repo() -> Repo {
    let mut repo = Repo::new();
    let base = repo.commit("baseline", at(-3, 9), at(-3, 9));
    repo.tag_annotated("v0.1.0", &base, at(-3, 10));
    for day in 0..6 {
        // 20 hours of coding, 1 hour to deploy.
        let id = repo.commit(&format!("before {day}"), at(day, 0), at(day, 20));
        repo.tag_annotated(&format!("v1.{day}.0"), &id, at(day, 21));
    }
    for day in 7..13 {
        // 1 hour of coding, 22 hours to deploy.
        let id = repo.commit(&format!("now {day}"), at(day, 0), at(day, 1));
        repo.tag_annotated(&format!("v2.{day}.0"), &id, at(day + 1, 0) - 3600);
    }
    repo
}

fn digest(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = nextneck();
    cmd.arg("digest").args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok_json(args: &[&str]) -> Value {
    let out = digest(args, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_git_digest_says_where_the_bottleneck_moved() {
    let repo = moving_repo();
    let path = repo.path().to_str().unwrap();
    let mut args = vec![path, "--format", "json"];
    args.extend(PERIOD);
    let d = ok_json(&args);
    common::check(
        &d,
        &[
            ("/kind", json!("digest")),
            ("/source", json!("git")),
            ("/period/since", json!("2024-01-08T00:00:00Z")),
            ("/previous/since", json!("2024-01-01T00:00:00Z")),
            ("/previous/until", json!("2024-01-08T00:00:00Z")),
            ("/bottleneck/verdict", json!("moved")),
            ("/bottleneck/now/stage", json!("deploy")),
            ("/bottleneck/before/stage", json!("coding")),
            ("/moved/0/figure", json!("deployment_frequency")),
            ("/moved/0/now", json!(6.0)),
            ("/moved/0/before", json!(6.0)),
            ("/moved/0/direction", json!("steady")),
            ("/moved/1/figure", json!("lead_time")),
            ("/moved/1/now", json!(82_800.0)),
            ("/moved/1/before", json!(75_600.0)),
            ("/moved/1/direction", json!("steady")),
            ("/moved/3/figure", json!("recovery_time")),
            ("/moved/3/direction", json!("unknown")),
            ("/moved/5/figure", json!("stage:coding")),
            ("/moved/5/now", json!(3_600.0)),
            ("/moved/5/before", json!(72_000.0)),
            ("/moved/5/direction", json!("better")),
            ("/moved/6/figure", json!("stage:deploy")),
            ("/moved/6/direction", json!("worse")),
            ("/waiting_for_postmortem", Value::Null),
            ("/stream", Value::Null),
        ],
    );
    let mut args = vec![path];
    args.extend(PERIOD);
    let out = digest(&args, &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.replace(path, "REPO");
    insta::assert_snapshot!(text, @r"
    ### nextneck digest: 2024-01-08 to 2024-01-14 (7 days), against the 7 days before

    **The bottleneck moved: now deploy (96% of change time), it was coding (95%)**

    | | now | before | change | |
    |---|---:|---:|---:|---|
    | Deployments per week | 6.0 | 6.0 | ±0.0 | steady |
    | Lead time (median) | 23.0h | 21.0h | +2.0h | steady |
    | Change failure rate | 0% | 0% | ±0 pts | steady |
    | Recovery time (median) | n/a | n/a | n/a | n/a |
    | Rework rate | 0% | 0% | ±0 pts | steady |
    | Stage coding (median) | 1.0h | 20.0h | −19.0h | better |
    | Stage deploy (median) | 22.0h | 1.0h | +21.0h | worse |

    Incidents: none read (a git report; pass --db for incidents)

    From REPO (git). Directions need 5 measurements in each period.
    ");
}

#[test]
fn too_small_a_sample_is_not_a_verdict() {
    let mut repo = Repo::new();
    let base = repo.commit("baseline", at(-3, 9), at(-3, 9));
    repo.tag_annotated("v0.1.0", &base, at(-3, 10));
    for day in [1, 8] {
        let id = repo.commit("one", at(day, 0), at(day, 1));
        repo.tag_annotated(&format!("v1.{day}.0"), &id, at(day, 5));
    }
    let mut args = vec![repo.path().to_str().unwrap(), "--format", "json"];
    args.extend(PERIOD);
    let d = ok_json(&args);
    common::check(
        &d,
        &[
            ("/bottleneck/verdict", json!("unknown")),
            ("/bottleneck/now/changes", json!(1)),
            ("/moved/1/direction", json!("unknown")),
            ("/moved/1/samples", json!([1, 1])),
        ],
    );
}

#[test]
fn usage_mistakes() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--since", "2024-01-08", "--until", "2024-01-08"],
            "--since must be before --until",
        ),
        (
            &["--to", "irc", "https://x.example/"],
            "`irc` is not a chat service",
        ),
        (
            &["--to", "slack", "ftp://x.example/"],
            "must start with https://",
        ),
        (&["--to", "slack"], "SERVICE"),
    ];
    for (args, want) in cases {
        let out = digest(args, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// A store with deployments, changes, incidents (two waiting for a
/// postmortem, one of each week) and two value streams, one of whose
/// bottleneck grows.
fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("events.db").display());
    let t = |day: i64, hour: i64| nextneck_metrics_time(at(day, hour));
    let mut lines = Vec::new();
    for (week, review_hours) in [(0, 2), (7, 30)] {
        for i in 0..6 {
            let day = week + i;
            lines.push(json!({"type": "change", "id": format!("c{day}"), "repository": "acme/shop", "opened_at": t(day, 1), "first_review_at": t(day, 2), "merged_at": t(day, 2 + review_hours)}));
            lines.push(json!({"type": "deployment", "id": format!("d{day}"), "service": "shop", "environment": "production", "repository": "acme/shop", "status": "success", "finished_at": t(day, 3 + review_hours)}));
        }
    }
    lines.push(json!({"type": "incident", "id": "INC-1", "service": "shop", "title": "Slow checkout", "opened_at": t(2, 10), "resolved_at": t(2, 12)}));
    lines.push(json!({"type": "incident", "id": "INC-2", "service": "shop", "title": "Errors", "opened_at": t(9, 10), "resolved_at": t(9, 11)}));
    lines.push(json!({"type": "postmortem.published", "id": "PM-2", "incident_id": "INC-2", "published_at": t(10, 9)}));
    lines.push(json!({"type": "incident", "id": "INC-3", "service": "shop", "title": "Outage", "opened_at": t(11, 10), "resolved_at": t(11, 14)}));
    // hiring: screen holds the time the week before, offer in the period.
    for (week, screen, offer) in [(0, 48, 12), (7, 12, 72)] {
        for i in 0..6 {
            let start = at(week, 0) + i * 6 * 3600;
            let item = format!("cand-{week}-{i}");
            for (stage, offset) in [
                ("applied", 0),
                ("screen", 12),
                ("offer", 12 + screen),
                ("hired", 12 + screen + offer),
            ] {
                lines.push(json!({"type": "stage.transition", "id": format!("{item}-{stage}"), "stream": "hiring", "item": item, "stage": stage, "at": nextneck_metrics_time(start + offset * 3600)}));
            }
            // billing: the same shape both weeks.
            let bill = format!("bill-{week}-{i}");
            for (stage, offset) in [("received", 0), ("approved", 24), ("paid", 30)] {
                lines.push(json!({"type": "stage.transition", "id": format!("{bill}-{stage}"), "stream": "billing", "item": bill, "stage": stage, "at": nextneck_metrics_time(start + offset * 3600)}));
            }
        }
    }
    let file = dir.path().join("events.ndjson");
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&file, text.join("\n") + "\n").unwrap();
    let out = common::run(&["import", "events", "--db", &db, file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.path().join("nextneck.toml"),
        "[services.shop]\nrepositories = [\"acme/shop\"]\n",
    )
    .unwrap();
    (dir, db)
}

fn nextneck_metrics_time(t: i64) -> String {
    let d = t.div_euclid(86_400);
    let s = t.rem_euclid(86_400);
    // 2024-01-01 is day 19723; the tests stay in January 2024.
    format!(
        "2024-01-{:02}T{:02}:{:02}:00Z",
        d - 19_723 + 1,
        s / 3600,
        s % 3600 / 60
    )
}

#[test]
fn a_store_digest_names_waiting_incidents_and_the_growing_stream() {
    let (dir, db) = store();
    let config = dir.path().join("nextneck.toml");
    let config = config.to_str().unwrap();
    let mut args = vec!["--db", db.as_str(), "--config", config, "--format", "json"];
    args.extend(PERIOD);
    let d = ok_json(&args);
    common::check(
        &d,
        &[
            ("/source", json!("events")),
            ("/moved/0/figure", json!("deployment_frequency")),
            ("/moved/0/now", json!(6.0)),
            ("/moved/0/samples", json!([6, 6])),
            ("/waiting_for_postmortem/0/id", json!("INC-1")),
            ("/waiting_for_postmortem/1/id", json!("INC-3")),
            ("/streams_compared", json!(2)),
            ("/stream/stream", json!("hiring")),
            ("/stream/stage", json!("offer")),
        ],
    );
    check_absent(&d, &["/waiting_for_postmortem/2"]);
    common::check(
        &d,
        &[
            ("/bottleneck/verdict", json!("stayed")),
            ("/bottleneck/now/stage", json!("review")),
            ("/bottleneck/now/share", json!(0.9375)),
            ("/bottleneck/before/share", json!(0.5)),
            ("/moved/2/figure", json!("change_failure_rate")),
            ("/moved/2/direction", json!("worse")),
            ("/moved/3/figure", json!("recovery_time")),
            ("/moved/3/samples", json!([2, 1])),
            ("/moved/3/direction", json!("unknown")),
            ("/moved/7/figure", json!("stage:review")),
            ("/moved/7/now", json!(108_000.0)),
            ("/moved/7/before", json!(7_200.0)),
            ("/moved/7/direction", json!("worse")),
        ],
    );
    let mut args = vec!["--db", db.as_str(), "--config", config];
    args.extend(PERIOD);
    let out = digest(&args, &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "**The bottleneck is still review (94% of change time, 50% before)**",
        "2 resolved incidents are waiting for a postmortem:\n- events:INC-1 Slow checkout (shop), resolved 2024-01-03\n- events:INC-3 Outage (shop), resolved 2024-01-12\n",
        "The bottleneck that grew most: stream hiring, stage offer at",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let growth = d["stream"]["growth"].as_f64().unwrap();
    assert!(growth > 0.5, "{growth}");
}

/// One recorded request: path and JSON body.
type Requests = Arc<Mutex<Vec<(String, Value)>>>;

/// A local webhook receiver answering each request with the next status of
/// `statuses` (then 200). Returns its URL and what it received.
fn receiver(statuses: Vec<u16>) -> (String, Requests) {
    let seen: Requests = Arc::default();
    let record = seen.clone();
    let mut statuses = statuses.into_iter();
    let base = http::receiver(move |request| {
        assert_eq!(request.header("content-type"), Some("application/json"));
        record
            .lock()
            .unwrap()
            .push((request.target.clone(), request.json()));
        http::Reply::text(statuses.next().unwrap_or(200), "ok")
    });
    (format!("{base}/hooks/secret-token"), seen)
}

fn post(repo: &Repo, service: &str, url: &str) -> Output {
    let mut args = vec![repo.path().to_str().unwrap(), "--to", service, url];
    args.extend(PERIOD);
    digest(&args, &[("NEXTNECK_DIGEST_BACKOFF_MS", "10")])
}

/// Checks a service's documented payload shape.
fn check_shape(service: &str, p: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match service {
        "slack" => {
            assert!(text(&p["text"]).contains("The bottleneck moved"), "{p}");
            let blocks = p["blocks"].as_array().unwrap();
            assert!(blocks.len() <= 50);
            assert_eq!(blocks[0]["type"], json!("header"));
            assert_eq!(blocks[0]["text"]["type"], json!("plain_text"));
            for b in &blocks[1..] {
                let kind = b["type"].as_str().unwrap();
                assert!(["section", "context"].contains(&kind), "{b}");
                if kind == "section" {
                    assert_eq!(b["text"]["type"], json!("mrkdwn"));
                    assert!(text(&b["text"]["text"]).chars().count() <= 3000);
                }
            }
            assert!(p.to_string().contains("Stage deploy (median): *22.0h*"));
        }
        "teams" => {
            assert_eq!(p["type"], json!("message"));
            let a = &p["attachments"][0];
            assert_eq!(
                a["contentType"],
                json!("application/vnd.microsoft.card.adaptive")
            );
            let card = &a["content"];
            assert_eq!(card["type"], json!("AdaptiveCard"));
            assert_eq!(card["version"], json!("1.4"));
            let body = card["body"].as_array().unwrap();
            assert!(
                body.iter()
                    .all(|b| ["TextBlock", "FactSet"].contains(&b["type"].as_str().unwrap()))
            );
            let facts = body.iter().find(|b| b["type"] == json!("FactSet")).unwrap();
            assert_eq!(facts["facts"].as_array().unwrap().len(), 7);
            assert_eq!(facts["facts"][6]["title"], json!("Stage deploy (median)"));
        }
        "mattermost" => {
            assert!(
                text(&p["text"]).starts_with("### nextneck digest: 2024-01-08"),
                "{p}"
            );
            assert!(
                text(&p["text"])
                    .contains("| Stage deploy (median) | 22.0h | 1.0h | +21.0h | worse |")
            );
        }
        "discord" => {
            let content = text(&p["content"]);
            assert!(
                content.chars().count() <= 2000 && content.contains("now deploy"),
                "{p}"
            );
            let embed = &p["embeds"][0];
            assert!(text(&embed["title"]).chars().count() <= 256);
            let fields = embed["fields"].as_array().unwrap();
            assert_eq!(fields.len(), 7);
            assert!(
                fields
                    .iter()
                    .all(|f| f["name"].is_string() && f["value"].is_string())
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn each_service_gets_its_documented_payload() {
    let repo = moving_repo();
    for service in ["slack", "teams", "mattermost", "discord"] {
        let (url, seen) = receiver(vec![]);
        let out = post(&repo, service, &url);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{service}: {err}");
        assert!(err.contains("in 1 attempt"), "{err}");
        assert!(
            !err.contains("secret-token"),
            "the URL's secret is not printed: {err}"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{service}");
        assert_eq!(seen[0].0, "/hooks/secret-token");
        check_shape(service, &seen[0].1);
    }
}

#[test]
fn a_failed_post_is_retried_then_reported() {
    let repo = moving_repo();
    // Two server errors, then accepted: three attempts, success.
    let (url, seen) = receiver(vec![500, 503]);
    let out = post(&repo, "slack", &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("in 3 attempts"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 3);
    // Always failing: four attempts, then exit 1 saying so.
    let (url, seen) = receiver(vec![500, 500, 429, 502]);
    let out = post(&repo, "teams", &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("could not post the digest to Teams"), "{err}");
    assert!(
        err.contains("after 4 attempts (last: HTTP 502 ok)"),
        "{err}"
    );
    assert!(!err.contains("secret-token"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 4);
    // A refusal (a wrong URL) is not retried.
    let (url, seen) = receiver(vec![404]);
    let out = post(&repo, "discord", &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Discord refused the digest"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Nobody listening: retried, then reported.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let out = post(&repo, "mattermost", &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("after 4 attempts"), "{err}");
}

#[test]
fn serve_posts_the_digest_on_its_schedule() {
    let (dir, db) = store();
    let (url, seen) = receiver(vec![503]);
    std::fs::write(
        dir.path().join("nextneck.toml"),
        format!("[services.shop]\nrepositories = [\"acme/shop\"]\n\n[digest]\nto = \"mattermost\"\nurl = \"{url}\"\nweekday = \"tuesday\"\nhour = 7\n"),
    )
    .unwrap();
    let mut child = nextneck()
        .current_dir(dir.path())
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .env_remove("NEXTNECK_EVENTS_TOKEN")
        .env_remove("NEXTNECK_DIGEST_URL")
        .env("NEXTNECK_DIGEST_FIRST_IN_SECONDS", "0")
        .env("NEXTNECK_DIGEST_BACKOFF_MS", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Lines::spawn(child.stdout.take().unwrap());
    let banner: String = (0..3)
        .map(|_| stdout.next_line("the banner", PATIENCE))
        .collect();
    assert!(
        banner.contains(
            "posting the digest of the last 7 days to Mattermost every tuesday at 07:00 UTC"
        ),
        "{banner}"
    );
    // The receiver refuses the first attempt; the retry is accepted.
    let mut stderr = Lines::spawn(child.stderr.take().unwrap());
    let line = stderr.until("a line about the digest", PATIENCE, |l| {
        l.contains("the digest")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("posted the digest to Mattermost"), "{line}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].1["text"]
            .as_str()
            .unwrap()
            .starts_with("### nextneck digest")
    );
}

#[test]
fn serve_refuses_a_wrong_digest_section() {
    let (dir, db) = store();
    std::fs::write(
        dir.path().join("nextneck.toml"),
        "[digest]\nto = \"slack\"\nurl = \"https://hooks.example/x\"\nhour = 25\n",
    )
    .unwrap();
    let out = nextneck()
        .current_dir(dir.path())
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .env_remove("NEXTNECK_DIGEST_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("[digest] hour: 25 is not an hour; use 0 to 23 (UTC)"),
        "{err}"
    );
}
