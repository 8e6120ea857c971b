//! `nextneck report --db` end to end: a scripted history of real-shaped
//! payloads (the recorded fixtures with edited ids and times, signed as
//! each provider signs them) goes through a real `nextneck serve` over
//! HTTP; the report's every figure is then checked against values computed
//! by hand in the comments, from the definitions in docs/metrics.md ("Live
//! delivery events"). The same test runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod live;

use std::net::SocketAddr;
use std::path::Path;

use common::{check, check_absent};
use live::*;
use nextneck_ingest::signature::hmac_sha256_hex;
use nextneck_testkit::{DAY, HOUR as H, MINUTE};
use serde_json::{Value, json};

/// Days are counted from `BASE`, 2024-01-01T00:00:00Z, a Monday.
fn at(day: i64, hour: i64, minute: i64) -> i64 {
    nextneck_testkit::at(day, hour) + minute * MINUTE
}

/// RFC 3339 of `at(day, hour, minute)`.
fn t(day: i64, hour: i64, minute: i64) -> String {
    jiff::Timestamp::from_second(at(day, hour, minute))
        .unwrap()
        .to_string()
}

/// A 40-digit commit id made of `n`.
fn sha(n: u32) -> String {
    format!("{n:08x}").repeat(5)
}

fn fixture(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(rel)).unwrap()).unwrap()
}

fn fixture_text(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap()
}

/// Sets the value at a JSON pointer, creating objects on the way.
fn set(v: &mut Value, pointer: &str, new: Value) {
    let mut cur = v;
    for key in pointer.trim_start_matches('/').split('/') {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur
            .as_object_mut()
            .unwrap()
            .entry(key.to_owned())
            .or_insert(Value::Null);
    }
    *cur = new;
}

fn edit(mut v: Value, edits: &[(&str, Value)]) -> Value {
    for (pointer, new) in edits {
        set(&mut v, pointer, new.clone());
    }
    v
}

/// Posts deliveries as each provider does: signed, with a unique delivery
/// id, and checks each is accepted.
struct Sender {
    addr: SocketAddr,
    n: usize,
}

impl Sender {
    fn post(&mut self, path: &str, headers: Vec<(&str, String)>, body: &[u8]) -> u16 {
        let (status, answer) = post(self.addr, path, &headers, body).unwrap();
        assert!(status == 202 || status == 200, "{path}: {status} {answer}");
        status
    }

    fn id(&mut self) -> String {
        self.n += 1;
        format!("delivery-{}", self.n)
    }

    fn github(&mut self, event: &str, body: &Value) -> String {
        let body = serde_json::to_vec(body).unwrap();
        let id = self.id();
        self.post(
            "/hooks/github",
            vec![
                ("x-github-event", event.to_owned()),
                ("x-github-delivery", id.clone()),
                (
                    "x-hub-signature-256",
                    format!(
                        "sha256={}",
                        hmac_sha256_hex(GITHUB_SECRET.as_bytes(), &body)
                    ),
                ),
                ("content-type", "application/json".to_owned()),
            ],
            &body,
        );
        id
    }

    fn gitlab(&mut self, body: &Value) {
        let body = serde_json::to_vec(body).unwrap();
        let id = self.id();
        self.post(
            "/hooks/gitlab",
            vec![
                ("x-gitlab-token", GITLAB_TOKEN.to_owned()),
                ("idempotency-key", id),
            ],
            &body,
        );
    }

    fn pagerduty(&mut self, id: &str, body: &Value) -> u16 {
        let body = serde_json::to_vec(body).unwrap();
        self.post(
            "/hooks/pagerduty",
            vec![
                ("x-webhook-id", id.to_owned()),
                (
                    "x-pagerduty-signature",
                    format!("v1={}", hmac_sha256_hex(PAGERDUTY_SECRET.as_bytes(), &body)),
                ),
            ],
            &body,
        )
    }

    fn opsgenie(&mut self, body: &Value) {
        let body = serde_json::to_vec(body).unwrap();
        self.post(
            "/hooks/opsgenie",
            vec![("authorization", format!("Bearer {OPSGENIE_TOKEN}"))],
            &body,
        );
    }

    fn jira(&mut self, body: &Value) {
        let body = serde_json::to_vec(body).unwrap();
        let id = self.id();
        self.post(
            "/hooks/jira",
            vec![
                ("x-atlassian-webhook-identifier", id),
                (
                    "x-hub-signature",
                    format!("sha256={}", hmac_sha256_hex(JIRA_SECRET.as_bytes(), &body)),
                ),
            ],
            &body,
        );
    }

    fn events(&mut self, ndjson: &str) {
        self.post(
            "/hooks/events",
            vec![("authorization", format!("Bearer {EVENTS_TOKEN}"))],
            ndjson.as_bytes(),
        );
    }

    fn junit(&mut self, xml: &str, commit: &str, run: &str) {
        self.post(
            "/hooks/junit",
            vec![
                ("authorization", format!("Bearer {EVENTS_TOKEN}")),
                ("x-nextneck-commit", commit.to_owned()),
                ("x-nextneck-run", run.to_owned()),
            ],
            xml.as_bytes(),
        );
    }
}

// --- GitHub -----------------------------------------------------------------

/// A `deployment_status` of deployment `id` of acme/shop.
fn gh_deployment_status(
    id: u64,
    status_id: u64,
    state: &str,
    environment: &str,
    flag: Option<bool>,
    commit: &str,
    time: &str,
) -> Value {
    edit(
        fixture("github/octokit__deployment_status__payload.json"),
        &[
            ("/repository/full_name", json!("acme/shop")),
            ("/deployment/id", json!(id)),
            ("/deployment/sha", json!(commit)),
            ("/deployment/environment", json!(environment)),
            ("/deployment/production_environment", json!(flag)),
            ("/deployment/created_at", json!(time)),
            ("/deployment_status/id", json!(status_id)),
            ("/deployment_status/state", json!(state)),
            ("/deployment_status/environment", json!(environment)),
            ("/deployment_status/created_at", json!(time)),
        ],
    )
}

/// A `pull_request` event of acme/shop#`number` by ada.
#[allow(clippy::too_many_arguments)]
fn gh_pull(
    action: &str,
    number: u64,
    title: &str,
    branch: &str,
    opened: &str,
    updated: &str,
    merged: Option<(&str, &str)>,
    draft: bool,
) -> Value {
    edit(
        fixture("github/pull_request__merged_private_repository.json"),
        &[
            ("/action", json!(action)),
            ("/repository/full_name", json!("acme/shop")),
            ("/pull_request/number", json!(number)),
            ("/pull_request/title", json!(title)),
            ("/pull_request/user/login", json!("ada")),
            ("/pull_request/user/type", json!("User")),
            ("/pull_request/draft", json!(draft)),
            ("/pull_request/created_at", json!(opened)),
            ("/pull_request/updated_at", json!(updated)),
            ("/pull_request/head/ref", json!(branch)),
            ("/pull_request/base/repo/full_name", json!("acme/shop")),
            ("/pull_request/merged", json!(merged.is_some())),
            ("/pull_request/merged_at", json!(merged.map(|m| m.0))),
            ("/pull_request/closed_at", json!(merged.map(|m| m.0))),
            ("/pull_request/merge_commit_sha", json!(merged.map(|m| m.1))),
            (
                "/pull_request/state",
                json!(if merged.is_some() { "closed" } else { "open" }),
            ),
        ],
    )
}

fn gh_review(number: u64, id: u64, login: &str, kind: &str, time: &str, opened: &str) -> Value {
    edit(
        fixture("github/octokit__pull_request_review__submitted.payload.json"),
        &[
            ("/repository/full_name", json!("acme/shop")),
            ("/pull_request/number", json!(number)),
            ("/pull_request/user/login", json!("ada")),
            ("/pull_request/base/repo/full_name", json!("acme/shop")),
            ("/pull_request/created_at", json!(opened)),
            ("/pull_request/updated_at", json!(time)),
            ("/review/id", json!(id)),
            ("/review/user/login", json!(login)),
            ("/review/user/type", json!(kind)),
            ("/review/state", json!("approved")),
            ("/review/submitted_at", json!(time)),
        ],
    )
}

fn gh_push(branch: &str, commit: &str, authored: &str, pushed: i64) -> Value {
    let mut v = fixture("github/octokit__push__with-new-branch.payload.json");
    let mut c = v["commits"][0].clone();
    set(&mut c, "/id", json!(commit));
    set(&mut c, "/timestamp", json!(authored));
    edit(
        v.take(),
        &[
            ("/ref", json!(format!("refs/heads/{branch}"))),
            ("/after", json!(commit)),
            ("/repository/full_name", json!("acme/shop")),
            ("/repository/pushed_at", json!(pushed)),
            ("/commits", json!([c.clone()])),
            ("/head_commit", c),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
fn gh_run(
    id: u64,
    attempt: u32,
    conclusion: &str,
    commit: &str,
    created: &str,
    started: &str,
    completed: &str,
) -> Value {
    edit(
        fixture("github/octokit__workflow_run__completed.payload.json"),
        &[
            ("/repository/full_name", json!("acme/shop")),
            ("/workflow_run/repository/full_name", json!("acme/shop")),
            ("/workflow/name", json!("CI")),
            ("/workflow_run/id", json!(id)),
            ("/workflow_run/run_attempt", json!(attempt)),
            ("/workflow_run/status", json!("completed")),
            ("/workflow_run/conclusion", json!(conclusion)),
            ("/workflow_run/head_sha", json!(commit)),
            ("/workflow_run/created_at", json!(created)),
            ("/workflow_run/run_started_at", json!(started)),
            ("/workflow_run/updated_at", json!(completed)),
        ],
    )
}

// --- GitLab -----------------------------------------------------------------

fn gl_deployment(id: u64, status: &str, commit: &str, time: &str) -> Value {
    let rel = if status == "failed" {
        "gitlab/deployment_hook__failed.json"
    } else {
        "gitlab/deployment_hook__succeeded.json"
    };
    edit(
        fixture(rel),
        &[
            ("/deployment_id", json!(id)),
            ("/status", json!(status)),
            ("/status_changed_at", json!(time)),
            ("/environment", json!("production")),
            ("/environment_tier", json!("production")),
            ("/project/path_with_namespace", json!("acme/search")),
            (
                "/commit_url",
                json!(format!(
                    "https://gitlab.example.com/acme/search/-/commit/{commit}"
                )),
            ),
        ],
    )
}

fn gl_merge_request(rel: &str, action: &str, state: &str, user: &str, updated: &str) -> Value {
    edit(
        fixture(rel),
        &[
            ("/project/path_with_namespace", json!("acme/search")),
            ("/user/username", json!(user)),
            ("/object_attributes/iid", json!(7)),
            ("/object_attributes/title", json!("Faster search")),
            ("/object_attributes/action", json!(action)),
            ("/object_attributes/state", json!(state)),
            ("/object_attributes/author_id", json!(77)),
            ("/object_attributes/created_at", json!(t(5, 9, 0))),
            ("/object_attributes/updated_at", json!(updated)),
            ("/object_attributes/merged_at", Value::Null),
            ("/object_attributes/source_branch", json!("faster-search")),
            (
                "/object_attributes/merge_commit_sha",
                json!(if state == "merged" {
                    Some(sha(77))
                } else {
                    None
                }),
            ),
            ("/object_attributes/last_commit/id", json!(sha(70))),
            (
                "/object_attributes/last_commit/timestamp",
                json!(t(5, 8, 0)),
            ),
        ],
    )
}

/// The scripted history, in the order it is sent. Deliveries are sent one
/// at a time, so the store numbers them 1, 2, 3, ... on either backend.
fn send_history(addr: SocketAddr) -> Sender {
    let mut s = Sender { addr, n: 0 };
    // Service `shop` (GitHub acme/shop) deploys to production:
    //   D1 501  success d0 10:00   (its baseline)
    //   D2 502  in_progress d3 09:00, success d3 10:00
    //   D3 503  failure d5 10:00
    //   D4 504  success d5 12:00
    //   D5 505  success d8 10:00
    //   D6 506  success d10 10:00  (environment `eu-live`, flagged production)
    //   507     success d9 10:00 to staging: not production
    s.github(
        "deployment_status",
        &gh_deployment_status(501, 1, "success", "production", None, &sha(1), &t(0, 10, 0)),
    );
    // D2's success arrives before its in_progress status.
    s.github(
        "deployment_status",
        &gh_deployment_status(502, 3, "success", "production", None, &sha(2), &t(3, 10, 0)),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(
            502,
            2,
            "in_progress",
            "production",
            None,
            &sha(2),
            &t(3, 9, 0),
        ),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(503, 4, "failure", "production", None, &sha(3), &t(5, 10, 0)),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(504, 5, "success", "production", None, &sha(3), &t(5, 12, 0)),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(505, 6, "success", "production", None, &sha(4), &t(8, 10, 0)),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(
            507,
            7,
            "success",
            "staging",
            Some(false),
            &sha(5),
            &t(9, 10, 0),
        ),
    );
    s.github(
        "deployment_status",
        &gh_deployment_status(
            506,
            8,
            "success",
            "eu-live",
            Some(true),
            &sha(5),
            &t(10, 10, 0),
        ),
    );

    // Service `search` (GitLab acme/search):
    //   G1 601 success d1 08:00 (its baseline), G2 602 failed d6 08:00,
    //   G3 603 success d6 11:00.
    s.gitlab(&gl_deployment(601, "success", &sha(60), &t(1, 8, 0)));
    s.gitlab(&gl_deployment(602, "failed", &sha(61), &t(6, 8, 0)));
    s.gitlab(&gl_deployment(603, "success", &sha(62), &t(6, 11, 0)));

    // Changes of acme/shop, all by ada:
    // #1 opened d0 06:00, merged d0 09:00: shipped by the baseline D1.
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            1,
            "Cart",
            "cart",
            &t(0, 6, 0),
            &t(0, 9, 0),
            Some((&t(0, 9, 0), &sha(101))),
            false,
        ),
    );
    // #2: commit authored d1 09:00 (pushed d1 09:30), opened d1 10:00;
    // reviewed by dependabot[bot] (a bot) and ada (the author) first, then
    // by bob d2 10:00; merged d2 16:00; shipped by D2 (d3 10:00).
    s.github(
        "push",
        &gh_push("feature-2", &sha(201), &t(1, 9, 0), at(1, 9, 30)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "opened",
            2,
            "Search box",
            "feature-2",
            &t(1, 10, 0),
            &t(1, 10, 0),
            None,
            false,
        ),
    );
    s.github(
        "pull_request_review",
        &gh_review(
            2,
            9201,
            "dependabot[bot]",
            "Bot",
            &t(1, 11, 0),
            &t(1, 10, 0),
        ),
    );
    s.github(
        "pull_request_review",
        &gh_review(2, 9202, "ada", "User", &t(1, 12, 0), &t(1, 10, 0)),
    );
    s.github(
        "pull_request_review",
        &gh_review(2, 9203, "bob", "User", &t(2, 10, 0), &t(1, 10, 0)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            2,
            "Search box",
            "feature-2",
            &t(1, 10, 0),
            &t(2, 16, 0),
            Some((&t(2, 16, 0), &sha(102))),
            false,
        ),
    );
    // #3: commit authored d4 07:00, opened as a draft d4 08:00, ready for
    // review d4 12:00, reviewed by carol d4 14:00, merged d4 15:00; D3
    // failed, so D4 (d5 12:00) ships it.
    s.github(
        "push",
        &gh_push("feature-3", &sha(301), &t(4, 7, 0), at(4, 7, 30)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "opened",
            3,
            "Coupons",
            "feature-3",
            &t(4, 8, 0),
            &t(4, 8, 0),
            None,
            true,
        ),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "ready_for_review",
            3,
            "Coupons",
            "feature-3",
            &t(4, 8, 0),
            &t(4, 12, 0),
            None,
            false,
        ),
    );
    s.github(
        "pull_request_review",
        &gh_review(3, 9301, "carol", "User", &t(4, 14, 0), &t(4, 8, 0)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            3,
            "Coupons",
            "feature-3",
            &t(4, 8, 0),
            &t(4, 15, 0),
            Some((&t(4, 15, 0), &sha(103))),
            false,
        ),
    );
    // #4: no commit seen; opened d7 09:00, reviewed by bob d7 10:00,
    // merged d7 11:00; shipped by D5 (d8 10:00).
    s.github(
        "pull_request",
        &gh_pull(
            "opened",
            4,
            "Prices",
            "prices",
            &t(7, 9, 0),
            &t(7, 9, 0),
            None,
            false,
        ),
    );
    s.github(
        "pull_request_review",
        &gh_review(4, 9401, "bob", "User", &t(7, 10, 0), &t(7, 9, 0)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            4,
            "Prices",
            "prices",
            &t(7, 9, 0),
            &t(7, 11, 0),
            Some((&t(7, 11, 0), &sha(104))),
            false,
        ),
    );
    // #5, a hotfix: commit authored d9 07:00, opened d9 08:00, merged d9
    // 09:00 without a review; shipped by D6 (d10 10:00).
    s.github(
        "push",
        &gh_push("hotfix-5", &sha(501), &t(9, 7, 0), at(9, 7, 10)),
    );
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            5,
            "Hotfix: checkout crash",
            "hotfix-5",
            &t(9, 8, 0),
            &t(9, 9, 0),
            Some((&t(9, 9, 0), &sha(105))),
            false,
        ),
    );
    // #6: merged d11 10:00, after the last deployment: not deployed yet.
    s.github(
        "pull_request",
        &gh_pull(
            "closed",
            6,
            "Wishlist",
            "wishlist",
            &t(11, 9, 0),
            &t(11, 10, 0),
            Some((&t(11, 10, 0), &sha(106))),
            false,
        ),
    );

    // acme/search!7 by user 77: last commit authored d5 08:00, opened d5
    // 09:00, approved by carol d5 10:00, merged d5 11:00; G2 failed, so G3
    // (d6 11:00) ships it.
    s.gitlab(&gl_merge_request(
        "gitlab/merge_request_hook__merge_request_created_with_multiple_assignees.json",
        "open",
        "opened",
        "ada",
        &t(5, 9, 0),
    ));
    s.gitlab(&gl_merge_request(
        "gitlab/merge_request_hook__merge_request_approved.json",
        "approved",
        "opened",
        "carol",
        &t(5, 10, 0),
    ));
    s.gitlab(&gl_merge_request(
        "gitlab/merge_request_merged.json",
        "merge",
        "merged",
        "carol",
        &t(5, 11, 0),
    ));

    // CI. GitHub workflow `CI` of acme/shop:
    //   9001 queued d2 15:00, started 15:02, done 15:12, success
    //   9002 queued d4 14:30, started 14:31, done 14:46, failure; its
    //        second attempt started 15:10 and succeeded at 15:20
    //   9003 queued d4 14:50, started 14:55, done 15:05, success
    //   9004 queued d8 09:00, started 09:01, done 09:21, failure
    s.github(
        "workflow_run",
        &gh_run(
            9001,
            1,
            "success",
            &sha(201),
            &t(2, 15, 0),
            &t(2, 15, 2),
            &t(2, 15, 12),
        ),
    );
    s.github(
        "workflow_run",
        &gh_run(
            9002,
            1,
            "failure",
            &sha(301),
            &t(4, 14, 30),
            &t(4, 14, 31),
            &t(4, 14, 46),
        ),
    );
    s.github(
        "workflow_run",
        &gh_run(
            9003,
            1,
            "success",
            &sha(301),
            &t(4, 14, 50),
            &t(4, 14, 55),
            &t(4, 15, 5),
        ),
    );
    s.github(
        "workflow_run",
        &gh_run(
            9002,
            2,
            "success",
            &sha(301),
            &t(4, 14, 30),
            &t(4, 15, 10),
            &t(4, 15, 20),
        ),
    );
    s.github(
        "workflow_run",
        &gh_run(
            9004,
            1,
            "failure",
            &sha(4),
            &t(8, 9, 0),
            &t(8, 9, 1),
            &t(8, 9, 21),
        ),
    );
    // GitLab pipeline 7001 of acme/search: queued d5 08:30, started 08:35,
    // done 08:50, success.
    s.gitlab(&edit(
        fixture("gitlab/pipeline_hook__pipeline_succeeded.json"),
        &[
            ("/project/path_with_namespace", json!("acme/search")),
            ("/object_attributes/id", json!(7001)),
            ("/object_attributes/sha", json!(sha(70))),
            ("/object_attributes/created_at", json!(t(5, 8, 30))),
            ("/object_attributes/started_at", json!(t(5, 8, 35))),
            ("/object_attributes/finished_at", json!(t(5, 8, 50))),
        ],
    ));

    // Test reports. nextest's basic report, run 9002 on commit 301:
    // test_failure fails; the same report with it passing, run 9003 on the
    // same commit: flaky. Surefire's flaky report, run 9004 on commit 4.
    let nextest = fixture_text("junit/nextest__basic.xml")
        .replace("2024-12-02T20:06:10", "2024-01-05T14:40:00");
    s.junit(&nextest, &sha(301), "9002");
    let start = nextest.find("<failure").unwrap();
    let end = nextest.find("</failure>").unwrap() + "</failure>".len();
    let passing = format!("{}{}", &nextest[..start], &nextest[end..]);
    s.junit(&passing, &sha(301), "9003");
    s.junit(
        &fixture_text("junit/surefire_flaky__surefire-report.xml"),
        &sha(4),
        "9004",
    );

    // Incidents.
    // PLEGACY (PagerDuty `Legacy`, which is no service of ours): d2 09:00
    // to 10:00.
    let pd = |event_id: &str,
              kind: &str,
              incident: &str,
              service: &str,
              status: &str,
              time: &str,
              created: &str| {
        edit(
            fixture("pagerduty/triggered_v3.json"),
            &[
                ("/event/id", json!(event_id)),
                ("/event/event_type", json!(kind)),
                ("/event/occurred_at", json!(time)),
                ("/event/data/id", json!(incident)),
                ("/event/data/status", json!(status)),
                ("/event/data/created_at", json!(created)),
                ("/event/data/title", json!(format!("{service} is down"))),
                ("/event/data/service/summary", json!(service)),
            ],
        )
    };
    s.pagerduty(
        "pd-1",
        &pd(
            "e1",
            "incident.triggered",
            "PLEGACY",
            "Legacy",
            "triggered",
            &t(2, 9, 0),
            &t(2, 9, 0),
        ),
    );
    s.pagerduty(
        "pd-2",
        &pd(
            "e2",
            "incident.resolved",
            "PLEGACY",
            "Legacy",
            "resolved",
            &t(2, 10, 0),
            &t(2, 9, 0),
        ),
    );
    // acme/search#6, a GitLab incident: opened d6 12:00, closed d6 13:30;
    // it names deployment 603 (G3).
    let gl_incident = |rel: &str, state: &str, closed: Option<String>, updated: String| {
        edit(
            fixture(rel),
            &[
                ("/project/path_with_namespace", json!("acme/search")),
                ("/object_attributes/iid", json!(6)),
                ("/object_attributes/state", json!(state)),
                ("/object_attributes/title", json!("Search returns nothing")),
                (
                    "/object_attributes/description",
                    json!("Search is down since deployment 603."),
                ),
                ("/object_attributes/created_at", json!(t(6, 12, 0))),
                ("/object_attributes/closed_at", json!(closed)),
                ("/object_attributes/updated_at", json!(updated)),
            ],
        )
    };
    s.gitlab(&gl_incident(
        "gitlab/issue_hook__incident_created.json",
        "opened",
        None,
        t(6, 12, 0),
    ));
    s.gitlab(&gl_incident(
        "gitlab/issue_hook__incident_closed.json",
        "closed",
        Some(t(6, 13, 30)),
        t(6, 13, 30),
    ));
    // PSHOP1 (PagerDuty `Shop API`, mapped to shop): triggered d8 14:00,
    // acknowledged 14:10, resolved 16:00; the latest shop deployment
    // before it is D5.
    s.pagerduty(
        "pd-3",
        &pd(
            "e3",
            "incident.triggered",
            "PSHOP1",
            "Shop API",
            "triggered",
            &t(8, 14, 0),
            &t(8, 14, 0),
        ),
    );
    s.pagerduty(
        "pd-4",
        &pd(
            "e4",
            "incident.acknowledged",
            "PSHOP1",
            "Shop API",
            "acknowledged",
            &t(8, 14, 10),
            &t(8, 14, 0),
        ),
    );
    s.pagerduty(
        "pd-5",
        &pd(
            "e5",
            "incident.resolved",
            "PSHOP1",
            "Shop API",
            "resolved",
            &t(8, 16, 0),
            &t(8, 14, 0),
        ),
    );
    // og-batch-1 (Opsgenie, entity `batch-jobs`, no service of ours):
    // opened d10 20:00, closed d11 00:00.
    let og = |rel: &str, action: &str, updated: i64| {
        edit(
            fixture(rel),
            &[
                ("/action", json!(action)),
                ("/alert/alertId", json!("og-batch-1")),
                ("/alert/entity", json!("batch-jobs")),
                ("/alert/message", json!("Nightly batch failed")),
                ("/alert/createdAt", json!(at(10, 20, 0) * 1000)),
                ("/alert/updatedAt", json!(updated as i128 * 1_000_000_000)),
            ],
        )
    };
    s.opsgenie(&og("opsgenie/create.json", "Create", at(10, 20, 0)));
    s.opsgenie(&og("opsgenie/close.json", "Close", at(11, 0, 0)));
    // PSHOP2: triggered d12 09:00, still open; the latest shop deployment
    // before it is D6.
    s.pagerduty(
        "pd-6",
        &pd(
            "e6",
            "incident.triggered",
            "PSHOP2",
            "Shop API",
            "triggered",
            &t(12, 9, 0),
            &t(12, 9, 0),
        ),
    );

    // Postmortems. PM-1 (generic) for PSHOP1, published d10 16:00.
    s.events(&format!(
        "{}\n",
        json!({"type": "postmortem.published", "id": "PM-1", "incident_id": "PSHOP1", "published_at": t(10, 16, 0)})
    ));
    // OPS-12, a Jira Postmortem about acme/search#6, created d7 13:30.
    s.jira(&edit(
        fixture("jira/issue_created.json"),
        &[
            ("/timestamp", json!(at(7, 13, 30) * 1000)),
            ("/issue/key", json!("OPS-12")),
            ("/issue/fields/issuetype/name", json!("Postmortem")),
            (
                "/issue/fields/summary",
                json!("Postmortem: acme/search#6 search outage"),
            ),
            (
                "/issue/fields/description",
                json!("What happened and what we change."),
            ),
            (
                "/issue/fields/created",
                json!("2024-01-08T13:30:00.000+0000"),
            ),
            ("/issue/fields/project/key", json!("OPS")),
        ],
    ));
    // acme/shop#40, a GitHub issue labelled postmortem about nothing we know.
    s.github(
        "issues",
        &edit(
            fixture("github/issues__opened.json"),
            &[
                ("/repository/full_name", json!("acme/shop")),
                ("/issue/number", json!(40)),
                ("/issue/title", json!("Postmortem: database migration")),
                ("/issue/body", json!("The migration locked a table.")),
                ("/issue/labels", json!([{"name": "postmortem"}])),
                ("/issue/created_at", json!(t(12, 10, 0))),
                ("/issue/updated_at", json!(t(12, 10, 0))),
            ],
        ),
    );
    // A redelivery of PSHOP1's resolution is stored once and changes nothing.
    assert_eq!(
        s.pagerduty(
            "pd-5",
            &pd(
                "e5",
                "incident.resolved",
                "PSHOP1",
                "Shop API",
                "resolved",
                &t(8, 16, 0),
                &t(8, 14, 0)
            )
        ),
        200
    );
    s
}

const CONFIG: &str = "\
[services.shop]
repositories = [\"acme/shop\"]
incident_services = [\"Shop API\"]

[services.search]
repositories = [\"acme/search\"]

[teams.storefront]
services = [\"shop\"]
";

fn report(dir: &Path, url: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "report",
        "--db",
        url,
        "--since",
        "2024-01-01",
        "--until",
        "2024-01-15",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(dir, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The scripted history sent through a real `serve` into `db`, processed,
/// with `CONFIG` beside it; each test of it starts here.
fn with_scripted_history(db: &Db) {
    std::fs::write(db.dir.path().join("nextneck.toml"), CONFIG).unwrap();
    let server = Server::start(db);
    send_history(server.addr);
    let status = wait_processed(&db.url);
    assert_eq!(status.failed, 0, "{status:?}");
    drop(server);
}

// Every check of the scripted history runs on both backends.
both_backends!(
    scripted_history_gives_hand_computed_figures,
    scripted_history_html_page_shows_stages_incidents_and_ci,
    scripted_history_postmortem_of_an_incident,
    an_imported_github_release_is_a_deployment_with_its_changes,
);

fn scripted_history_gives_hand_computed_figures(db: Db) {
    let db = &db;
    with_scripted_history(db);
    let r = report(db.dir.path(), &db.url, &[]);
    let sum = 28_800.0 + 100_800.0 + 32_400.0 + 3_600.0 + 399_600.0;
    check(
        &r,
        &[
            ("/source/kind", json!("events")),
            ("/window/since", json!("2024-01-01T00:00:00Z")),
            ("/window/until", json!("2024-01-15T00:00:00Z")),
            ("/deployments_from/mode", json!("events")),
            // D1-D6, G1-G3 are production; 507 went to staging.
            ("/deployments_from/production", json!(9)),
            ("/deployments_from/not_production", json!(1)),
            // Successful: D1, D2, D4, D5, D6, G1, G3 = 7 in 2 weeks.
            ("/dora/deployments/count", json!(7)),
            ("/dora/deployments/baseline_in_window", json!(true)),
            ("/dora/deployment_frequency/per_week", json!(3.5)),
            // Week d0-d7: days d0, d1, d3, d5, d6 = 5; week d7-d14: d8, d10 = 2.
            (
                "/dora/deployment_frequency/median_deploy_days_per_week",
                json!(3.5),
            ),
            // High, but two whole weeks are too few to rate (four needed);
            // so are 4 lead times and 4 recoveries (six needed) and 9
            // attempts (twenty needed).
            ("/dora/deployment_frequency/tier", Value::Null),
            ("/dora/deployment_frequency/too_few_to_rate", json!(true)),
            // D3 and G2 failed and are not deployments.
            ("/dora/deployment_frequency/failed_attempts", json!(2)),
            // Lead times (first commit to deployment): #2 49 h = 176400,
            // #3 29 h = 104400, #5 27 h = 97200, !7 27 h = 97200; #4 has no
            // commit time; #1 belongs to the baseline.
            // Sorted 97200 97200 104400 176400: median 100800, p85 at rank
            // 2.55 = 104400 + 0.55 × 72000 = 144000.
            ("/dora/lead_time/changes", json!(4)),
            ("/dora/lead_time/median_seconds", json!(100_800)),
            ("/dora/lead_time/p85_seconds", json!(144_000)),
            ("/dora/lead_time/baseline_changes", json!(1)),
            ("/dora/lead_time/negative_dropped", json!(0)),
            ("/dora/lead_time/tier", Value::Null),
            ("/dora/lead_time/too_few_to_rate", json!(true)),
            // Failed: D3 and G2 by status; D5 (PSHOP1), D6 (PSHOP2) and G3
            // (acme/search#6) by incidents: 5 of 7 successes + 2 failures.
            ("/dora/change_failure_rate/failed", json!(5)),
            ("/dora/change_failure_rate/deployments", json!(9)),
            ("/dora/change_failure_rate/ratio", json!(5.0 / 9.0)),
            ("/dora/change_failure_rate/tier", Value::Null),
            ("/dora/change_failure_rate/too_few_to_rate", json!(true)),
            // Recovery: D3 → D4 2 h = 7200; G2 → G3 3 h = 10800; G3 → its
            // incident closed 13:30, 2.5 h = 9000; D5 → PSHOP1 resolved
            // 16:00, 6 h = 21600; D6: PSHOP2 is open. Sorted 7200 9000 10800
            // 21600: median 9900, p85 at 2.55 = 10800 + 0.55 × 10800 = 16740.
            ("/dora/recovery_time/recoveries", json!(4)),
            ("/dora/recovery_time/median_seconds", json!(9_900)),
            ("/dora/recovery_time/p85_seconds", json!(16_740)),
            ("/dora/recovery_time/failed", json!(5)),
            ("/dora/recovery_time/tier", Value::Null),
            ("/dora/recovery_time/too_few_to_rate", json!(true)),
            // D6 ships the hotfix #5: 1 of 7.
            ("/dora/rework_rate/reworked", json!(1)),
            ("/dora/rework_rate/ratio", json!(1.0 / 7.0)),
            // Stages (coding, pickup, review, unreviewed, deploy), seconds:
            //   #2: 3600, 86400 (d1 10:00 → bob d2 10:00), 21600, -, 64800
            //   #3: 18000 (a draft until d4 12:00: coding), 7200 (ready d4
            //       12:00 → 14:00), 3600, -, 75600
            //   #4: -, 3600, 3600, -, 82800
            //   #5: 3600, -, -, 3600 (no review: opened to merged), 90000
            //   !7: 3600, 3600, 3600, -, 86400
            ("/stages/0/name", json!("coding")),
            ("/stages/0/changes", json!(4)),
            // 3600 3600 3600 18000: p85 3600 + 0.55 × 14400.
            ("/stages/0/median_seconds", json!(3_600)),
            ("/stages/0/p85_seconds", json!(11_520)),
            ("/stages/0/total_seconds", json!(28_800)),
            ("/stages/0/share", json!(28_800.0 / sum)),
            ("/stages/1/name", json!("pickup")),
            ("/stages/1/changes", json!(4)),
            // 3600 3600 7200 86400: median 5400, p85 7200 + 0.55 × 79200.
            ("/stages/1/median_seconds", json!(5_400)),
            ("/stages/1/p85_seconds", json!(50_760)),
            ("/stages/1/total_seconds", json!(100_800)),
            ("/stages/2/name", json!("review")),
            ("/stages/2/changes", json!(4)),
            // 3600 3600 3600 21600: p85 3600 + 0.55 × 18000.
            ("/stages/2/median_seconds", json!(3_600)),
            ("/stages/2/p85_seconds", json!(13_500)),
            ("/stages/2/total_seconds", json!(32_400)),
            ("/stages/3/name", json!("unreviewed")),
            ("/stages/3/changes", json!(1)),
            ("/stages/3/median_seconds", json!(3_600)),
            ("/stages/3/total_seconds", json!(3_600)),
            ("/stages/4/name", json!("deploy")),
            ("/stages/4/changes", json!(5)),
            // 64800 75600 82800 86400 90000: p85 at 3.4 = 86400 + 0.4 × 3600.
            ("/stages/4/median_seconds", json!(82_800)),
            ("/stages/4/p85_seconds", json!(87_840)),
            ("/stages/4/total_seconds", json!(399_600)),
            ("/stages/4/share", json!(399_600.0 / sum)),
            // The largest stage is deploy; first half (D2, D4, G3: #2, #3,
            // !7) deploy 226800 of 378000, second half (D5, D6: #4, #5)
            // 172800 of 187200; but 3 and 2 changes are too few for a trend,
            // and 5 too few to call it the bottleneck. Next: pickup.
            ("/bottleneck/stage", json!("deploy")),
            ("/bottleneck/too_few_to_call", json!(true)),
            ("/bottleneck/evidence/first_half_share", json!(0.6)),
            (
                "/bottleneck/evidence/second_half_share",
                json!(172_800.0 / 187_200.0),
            ),
            ("/bottleneck/evidence/half_changes", json!([3, 2])),
            ("/bottleneck/evidence/trend", Value::Null),
            ("/bottleneck/next/stage", json!("pickup")),
            // #6 waits, with no commit seen.
            ("/undeployed/changes", json!(1)),
            ("/undeployed/oldest_author_time", Value::Null),
            // Incidents opened in the window: PLEGACY, acme/search#6, PSHOP1,
            // og-batch-1, PSHOP2; all but PSHOP2 resolved; linked:
            // acme/search#6, PSHOP1, PSHOP2.
            ("/incidents/count", json!(5)),
            ("/incidents/resolved", json!(4)),
            ("/incidents/linked_to_deployment", json!(3)),
            // Time to restore: 3600, 5400, 7200, 14400: median 6300, p85 at
            // 2.55 = 7200 + 0.55 × 7200 = 11160.
            ("/incidents/time_to_restore/incidents", json!(4)),
            ("/incidents/time_to_restore/median_seconds", json!(6_300)),
            ("/incidents/time_to_restore/p85_seconds", json!(11_160)),
            // Time to reflect: acme/search#6 closed d6 13:30, OPS-12 d7 13:30:
            // 86400; PSHOP1 resolved d8 16:00, PM-1 d10 16:00: 172800.
            // Median 129600, p85 = 86400 + 0.85 × 86400 = 159840.
            ("/incidents/time_to_reflect/incidents", json!(2)),
            ("/incidents/time_to_reflect/median_seconds", json!(129_600)),
            ("/incidents/time_to_reflect/p85_seconds", json!(159_840)),
            // Resolved without a postmortem, oldest first.
            ("/incidents/without_postmortem/0/source", json!("pagerduty")),
            ("/incidents/without_postmortem/0/id", json!("PLEGACY")),
            (
                "/incidents/without_postmortem/0/opened_at",
                json!(t(2, 9, 0)),
            ),
            (
                "/incidents/without_postmortem/0/resolved_at",
                json!(t(2, 10, 0)),
            ),
            ("/incidents/without_postmortem/1/source", json!("opsgenie")),
            ("/incidents/without_postmortem/1/id", json!("og-batch-1")),
            (
                "/incidents/without_postmortem/1/service",
                json!("batch-jobs"),
            ),
            (
                "/incidents/without_postmortem/1/resolved_at",
                json!(t(11, 0, 0)),
            ),
            // CI: acme/search's pipeline (1 run, 900 s, queued 300 s), then
            // acme/shop's CI: 9001 600/120, 9002 600 (its rerun; no queue
            // time), 9003 600/300, 9004 1200/60. Success 3 of 4. Durations
            // median 600, p85 at 2.55 = 600 + 0.55 × 600 = 930; queues 60
            // 120 300: median 120, p85 at 1.7 = 120 + 0.7 × 180 = 246.
            ("/ci/workflows/0/repository", json!("acme/search")),
            ("/ci/workflows/0/runs", json!(1)),
            ("/ci/workflows/0/success_rate", json!(1.0)),
            ("/ci/workflows/0/duration_median_seconds", json!(900)),
            ("/ci/workflows/0/queue_median_seconds", json!(300)),
            ("/ci/workflows/1/repository", json!("acme/shop")),
            ("/ci/workflows/1/workflow", json!("CI")),
            ("/ci/workflows/1/runs", json!(4)),
            ("/ci/workflows/1/concluded", json!(4)),
            ("/ci/workflows/1/succeeded", json!(3)),
            ("/ci/workflows/1/success_rate", json!(0.75)),
            ("/ci/workflows/1/duration_median_seconds", json!(600)),
            ("/ci/workflows/1/duration_p85_seconds", json!(930)),
            ("/ci/workflows/1/queue_median_seconds", json!(120)),
            ("/ci/workflows/1/queue_p85_seconds", json!(246)),
            // Flaky: Surefire marked createWebhook flaky (commit 4); nextest's
            // test_failure failed and passed on commit 301.
            (
                "/ci/flaky_tests/0/test",
                json!(
                    "io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest.createWebhook"
                ),
            ),
            ("/ci/flaky_tests/0/marked_flaky", json!(1)),
            ("/ci/flaky_tests/0/commits", json!([sha(4)])),
            (
                "/ci/flaky_tests/1/test",
                json!("oxidized_navigation::parry3d.test_failure"),
            ),
            ("/ci/flaky_tests/1/flaky_commits", json!(1)),
            ("/ci/flaky_tests/1/commits", json!([sha(301)])),
            ("/ci/flaky_tests/1/executions", json!(2)),
            ("/ci/flaky_tests/1/failed", json!(1)),
            // Slowest by median: 0.945, 0.944, 0.774, 0.683 s.
            (
                "/ci/slowest_tests/0/test",
                json!("oxidized_navigation::parry3d.test_annotations"),
            ),
            ("/ci/slowest_tests/0/median_seconds", json!(0.945)),
            ("/ci/slowest_tests/0/executions", json!(2)),
            (
                "/ci/slowest_tests/1/test",
                json!("oxidized_navigation::parry3d.test_simple_navigation"),
            ),
            (
                "/ci/slowest_tests/2/test",
                json!("oxidized_navigation::parry3d.test_failure"),
            ),
            ("/ci/slowest_tests/3/median_seconds", json!(0.683)),
            ("/explain", Value::Null),
        ],
    );
    check_absent(
        &r,
        &[
            "/incidents/without_postmortem/2",
            "/ci/workflows/2",
            "/ci/flaky_tests/2",
            "/ci/slowest_tests/4",
        ],
    );
    let codes: Vec<&str> = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "baseline",
            "unreviewed_changes",
            "too_few_to_rate",
            "too_few_for_bottleneck",
            "unlinked_changes",
            "unlinked_incidents"
        ]
    );

    // --explain: every link, the rule that made it, and what is unlinked.
    let e = report(db.dir.path(), &db.url, &["--explain"]);
    let deployments = e["explain"]["delivery"]["deployments"].as_array().unwrap();
    let ids: Vec<&str> = deployments
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "501", "601", "502", "503", "504", "602", "603", "505", "506"
        ],
        "production deployments in time order"
    );
    let dep = |id: &str| deployments.iter().find(|d| d["id"] == id).unwrap();
    let links = |id: &str| -> Vec<(String, String)> {
        dep(id)["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["link"]["rule"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let after = "first_deployment_after_merge".to_owned();
    assert_eq!(links("501"), [("acme/shop#1".to_owned(), after.clone())]);
    assert_eq!(links("502"), [("acme/shop#2".to_owned(), after.clone())]);
    assert_eq!(links("503"), []);
    assert_eq!(links("504"), [("acme/shop#3".to_owned(), after.clone())]);
    assert_eq!(links("505"), [("acme/shop#4".to_owned(), after.clone())]);
    assert_eq!(links("506"), [("acme/shop#5".to_owned(), after.clone())]);
    assert_eq!(links("603"), [("acme/search!7".to_owned(), after)]);
    check(
        dep("502"),
        &[
            ("/deliveries", json!([2, 3])),
            (
                "/production",
                json!("environment `production` matches (?i)^(prod|production)([-_./: ].*)?$"),
            ),
            ("/time", json!(t(3, 10, 0))),
            ("/changes/0/first_reviewer", json!("bob")),
            ("/changes/0/first_commit_at", json!(t(1, 9, 0))),
            ("/changes/0/pickup_seconds", json!(86_400)),
            (
                "/changes/0/link/reason",
                json!(
                    "the first successful production deployment of `shop` at or after the merge at 2024-01-03T16:00:00Z"
                ),
            ),
        ],
    );
    check(
        dep("501"),
        &[
            ("/baseline", json!(true)),
            ("/changes/0/counted", json!(false)),
        ],
    );
    check(
        dep("506"),
        &[
            (
                "/production",
                json!("the source flags its environment as production"),
            ),
            (
                "/rework/0",
                json!("acme/shop#5 is a hotfix: Hotfix: checkout crash"),
            ),
        ],
    );
    check(
        dep("503"),
        &[
            ("/status", json!("failure")),
            ("/failed", json!(["deployment status `failure`"])),
            (
                "/recovered_by",
                json!("the next successful deployment github:504"),
            ),
        ],
    );
    check(
        dep("505"),
        &[
            ("/failed", json!(["incident pagerduty:PSHOP1"])),
            ("/recovery_seconds", json!(21_600)),
        ],
    );
    check(
        dep("603"),
        &[
            ("/failed", json!(["incident gitlab:acme/search#6"])),
            ("/recovery_seconds", json!(9_000)),
        ],
    );
    let incidents = e["explain"]["delivery"]["incidents"].as_array().unwrap();
    let inc = |id: &str| incidents.iter().find(|i| i["id"] == id).unwrap();
    check(
        inc("acme/search#6"),
        &[
            ("/deployment", json!("gitlab:603")),
            ("/deployment_link/rule", json!("explicit_deployment_id")),
            ("/postmortem", json!("jira:OPS-12")),
            ("/postmortem_link/rule", json!("postmortem_issue_reference")),
            (
                "/postmortem_link/reason",
                json!("postmortem issue OPS-12 mentions acme/search#6"),
            ),
            ("/time_to_reflect_seconds", json!(86_400)),
        ],
    );
    check(
        inc("PSHOP1"),
        &[
            ("/deployment", json!("github:505")),
            (
                "/deployment_link/rule",
                json!("latest_deployment_of_service"),
            ),
            ("/postmortem", json!("events:PM-1")),
            ("/postmortem_link/rule", json!("postmortem_event")),
            ("/time_to_restore_seconds", json!(7_200)),
        ],
    );
    check(
        inc("PSHOP2"),
        &[
            ("/deployment", json!("github:506")),
            ("/resolved_at", Value::Null),
        ],
    );
    check(
        &e,
        &[
            (
                "/explain/delivery/unlinked/changes/0/id",
                json!("acme/shop#6"),
            ),
            (
                "/explain/delivery/unlinked/changes/0/reason",
                json!(
                    "no successful production deployment of `shop` at or after the merge at 2024-01-12T10:00:00Z"
                ),
            ),
            (
                "/explain/delivery/unlinked/incidents/0/id",
                json!("PLEGACY"),
            ),
            (
                "/explain/delivery/unlinked/incidents/0/reason",
                json!(
                    "no successful production deployment of `Legacy` at or before it opened at 2024-01-03T09:00:00Z"
                ),
            ),
            (
                "/explain/delivery/unlinked/incidents/1/id",
                json!("og-batch-1"),
            ),
            (
                "/explain/delivery/unlinked/postmortems/0/id",
                json!("acme/shop#40"),
            ),
            (
                "/explain/delivery/unlinked/postmortems/0/reason",
                json!("its title and description mention no known incident"),
            ),
        ],
    );

    // Filters: the storefront team is service shop.
    let f = report(db.dir.path(), &db.url, &["--team", "storefront"]);
    check(
        &f,
        &[
            ("/dora/deployments/count", json!(5)),
            ("/dora/change_failure_rate/failed", json!(3)),
            ("/dora/change_failure_rate/deployments", json!(6)),
            ("/stages/4/changes", json!(4)),
            ("/incidents/count", json!(2)),
            ("/ci/workflows/0/workflow", json!("CI")),
        ],
    );
    check_absent(&f, &["/ci/workflows/1"]);
    let f = report(db.dir.path(), &db.url, &["--repo", "acme/search"]);
    check(
        &f,
        &[
            ("/dora/deployments/count", json!(2)),
            ("/stages/4/changes", json!(1)),
            ("/incidents/count", json!(1)),
            ("/ci/workflows/0/repository", json!("acme/search")),
            ("/ci/flaky_tests", json!([])),
        ],
    );

    // The text report with --explain says the same, link by link.
    let (code, text, err) = run(
        db.dir.path(),
        &[
            "report",
            "--db",
            &db.url,
            "--since",
            "2024-01-01",
            "--until",
            "2024-01-15",
            "--explain",
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // The store is named by its kind, which differs between the backends.
    let text = text
        .replace(&db.url, "DB")
        .replacen("report sqlite (", "report DB (", 1)
        .replacen("report postgres (", "report DB (", 1);
    // Both backends run this body in one process: the same snapshot twice.
    insta::allow_duplicates! {
        insta::assert_snapshot!(text, @r#"
        nextneck report DB (64 events)
        window       2024-01-01T00:00:00Z to 2024-01-15T00:00:00Z (14 days, explicit)
        deployments  successful production deployment events (environment matching (?i)^(prod|production)([-_./: ].*)?$ or flagged production; 9 production, 1 other deployments seen)

        DORA                   value                                                                                                                           level
        deployment frequency   3.50/week (7 deployments; 2 failed attempts not counted; in a typical week, deployments on 3.50 of 7 days (median of 2 weeks))  too few to rate
        lead time for changes  median 28.0h, p85 40.0h (4 changes)                                                                                             too few to rate
        change failure rate    56% (5 of 9 attempts failed: 7 deployments, 2 failed attempts)                                                                  too few to rate
        recovery time          median 2.8h, p85 4.7h (4 recoveries)                                                                                            too few to rate
        rework rate            14% (1 of 7 deployments)

        stage       median  p85    total  share
        coding      1.0h    3.2h   8.0h   5%     ██
        pickup      1.5h    14.1h  28.0h  18%    █████
        review      1.0h    3.8h   9.0h   6%     ██
        unreviewed  1.0h    1.0h   1.0h   1%
        deploy      23.0h   24.4h  4.6d   71%    █████████████████████

        largest stage: deploy holds 71% of change time (95% interval 55–88%; median 23.0h, p85 24.4h, 5 changes); 5 changes are too few to call it the bottleneck (at least 10 needed); no trend: 3 and 2 changes in the window's halves, a trend needs 5 in each; next: pickup at 18%
        waiting: 1 change not deployed yet

        INCIDENTS           value
        incidents           5 opened (4 resolved, 3 linked to a deployment)
        time to restore     median 1.8h, p85 3.1h (4 incidents)
        time to reflect     median 36.0h, p85 44.4h (2 incidents with a postmortem)
        without postmortem  2 incidents resolved without a postmortem
        resolved without a postmortem, oldest first
          pagerduty:PLEGACY "Legacy is down" (Legacy)  opened 2024-01-03T09:00:00Z  resolved 2024-01-03T10:00:00Z
          opsgenie:og-batch-1 "Nightly batch failed" (batch-jobs)  opened 2024-01-11T20:00:00Z  resolved 2024-01-12T00:00:00Z

        CI WORKFLOW              runs  success  duration p50  p85  queue p50  p85
        acme/search acme/search  1     100%     15m           15m  5m         5m
        acme/shop CI             4     75%      10m           16m  2m         4m

        flaky tests
          io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest.createWebhook  flaky on 1 commit, 0 of 1 executions failed, 1 marked flaky by a rerun
          oxidized_navigation::parry3d.test_failure  flaky on 1 commit, 1 of 2 executions failed, 0 marked flaky by a rerun

        slowest tests
          oxidized_navigation::parry3d.test_annotations  median 1s, p85 1s, max 1s (2 executions)
          oxidized_navigation::parry3d.test_simple_navigation  median 1s, p85 1s, max 1s (2 executions)
          oxidized_navigation::parry3d.test_failure  median 1s, p85 1s, max 1s (2 executions)
          io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest.createWebhook  median 1s, p85 1s, max 1s (1 execution)

        notes
          - the oldest successful production deployment of each service is its baseline: it counts as a deployment, but its 1 change gets no lead time (it may ship anything merged before the events begin)
          - 1 change was merged without a review by someone other than the author (bots excluded): no pickup or review stage; the time from pickup start to merge is the `unreviewed` stage
          - too few to rate, shown without a level: deployment frequency (the window has 2 whole weeks, a level needs 4); lead time (4 changes, a level needs 6); change failure rate (9 deployment attempts, a level needs 20); recovery time (4 recoveries, a level needs 6)
          - deploy is the largest stage, but too few changes were measured to call it the bottleneck (at least 10 needed)
          - 1 change merged in the window is not linked to a successful production deployment (see --explain)
          - 2 incidents in the window are not linked to a deployment (see --explain)

        production deployments in the window, oldest first
        github:501  2024-01-01T10:00:00Z  success  service shop  acme/shop  000000010000  baseline: its changes get no lead time
          production: environment `production` matches (?i)^(prod|production)([-_./: ].*)?$; deliveries 1
          change github:acme/shop#1  Cart
            linked by first_deployment_after_merge: the first successful production deployment of `shop` at or after the merge at 2024-01-01T09:00:00Z
            first commit n/a, opened 2024-01-01T06:00:00Z, ready 2024-01-01T06:00:00Z, first review n/a, merged 2024-01-01T09:00:00Z; baseline: not counted
        gitlab:601  2024-01-02T08:00:00Z  success  service search  acme/search  0000003c0000  baseline: its changes get no lead time
          production: the source flags its environment as production; deliveries 9
        github:502  2024-01-04T10:00:00Z  success  service shop  acme/shop  000000020000
          production: environment `production` matches (?i)^(prod|production)([-_./: ].*)?$; deliveries 2, 3
          change github:acme/shop#2  Search box
            linked by first_deployment_after_merge: the first successful production deployment of `shop` at or after the merge at 2024-01-03T16:00:00Z
            first commit 2024-01-02T09:00:00Z, opened 2024-01-02T10:00:00Z, ready 2024-01-02T10:00:00Z, first review 2024-01-03T10:00:00Z by bob, merged 2024-01-03T16:00:00Z; lead 2.0d = coding 1.0h + pickup 24.0h + review 6.0h + deploy 18.0h
        github:503  2024-01-06T10:00:00Z  failure  service shop  acme/shop  000000030000
          production: environment `production` matches (?i)^(prod|production)([-_./: ].*)?$; deliveries 4
          failed: deployment status `failure`
          recovery time 2.0h (by the next successful deployment github:504)
        github:504  2024-01-06T12:00:00Z  success  service shop  acme/shop  000000030000
          production: environment `production` matches (?i)^(prod|production)([-_./: ].*)?$; deliveries 5
          change github:acme/shop#3  Coupons
            linked by first_deployment_after_merge: the first successful production deployment of `shop` at or after the merge at 2024-01-05T15:00:00Z
            first commit 2024-01-05T07:00:00Z, opened 2024-01-05T08:00:00Z, ready 2024-01-05T12:00:00Z, first review 2024-01-05T14:00:00Z by carol, merged 2024-01-05T15:00:00Z; lead 29.0h = coding 5.0h + pickup 2.0h + review 1.0h + deploy 21.0h
        gitlab:602  2024-01-07T08:00:00Z  failure  service search  acme/search  0000003d0000
          production: the source flags its environment as production; deliveries 10
          failed: deployment status `failure`
          recovery time 3.0h (by the next successful deployment gitlab:603)
        gitlab:603  2024-01-07T11:00:00Z  success  service search  acme/search  0000003e0000
          production: the source flags its environment as production; deliveries 11
          change gitlab:acme/search!7  Faster search
            linked by first_deployment_after_merge: the first successful production deployment of `search` at or after the merge at 2024-01-06T11:00:00Z
            first commit 2024-01-06T08:00:00Z, opened 2024-01-06T09:00:00Z, ready 2024-01-06T09:00:00Z, first review 2024-01-06T10:00:00Z by carol, merged 2024-01-06T11:00:00Z; lead 27.0h = coding 1.0h + pickup 1.0h + review 1.0h + deploy 24.0h
          failed: incident gitlab:acme/search#6
          recovery time 2.5h (by the resolution of incident gitlab:acme/search#6)
        github:505  2024-01-09T10:00:00Z  success  service shop  acme/shop  000000040000
          production: environment `production` matches (?i)^(prod|production)([-_./: ].*)?$; deliveries 6
          change github:acme/shop#4  Prices
            linked by first_deployment_after_merge: the first successful production deployment of `shop` at or after the merge at 2024-01-08T11:00:00Z
            first commit n/a, opened 2024-01-08T09:00:00Z, ready 2024-01-08T09:00:00Z, first review 2024-01-08T10:00:00Z by bob, merged 2024-01-08T11:00:00Z; lead n/a = coding n/a + pickup 1.0h + review 1.0h + deploy 23.0h
          failed: incident pagerduty:PSHOP1
          recovery time 6.0h (by the resolution of incident pagerduty:PSHOP1)
        github:506  2024-01-11T10:00:00Z  success  service shop  acme/shop  000000050000
          production: the source flags its environment as production; deliveries 8
          change github:acme/shop#5  Hotfix: checkout crash
            linked by first_deployment_after_merge: the first successful production deployment of `shop` at or after the merge at 2024-01-10T09:00:00Z
            first commit 2024-01-10T07:00:00Z, opened 2024-01-10T08:00:00Z, ready 2024-01-10T08:00:00Z, first review n/a, merged 2024-01-10T09:00:00Z; lead 27.0h = coding 1.0h + unreviewed 1.0h + deploy 25.0h
          failed: incident pagerduty:PSHOP2
          rework: acme/shop#5 is a hotfix: Hotfix: checkout crash

        incidents in the window, oldest first
        pagerduty:PLEGACY  opened 2024-01-03T09:00:00Z  resolved 2024-01-03T10:00:00Z  service Legacy
          deliveries 42, 43; time to restore 1.0h
          no deployment
          no postmortem
        gitlab:acme/search#6  opened 2024-01-07T12:00:00Z  resolved 2024-01-07T13:30:00Z  service search
          deliveries 44, 45; time to restore 1.5h
          deployment gitlab:603, linked by explicit_deployment_id: the incident names deployment 603
          postmortem jira:OPS-12 published 2024-01-08T13:30:00Z, linked by postmortem_issue_reference: postmortem issue OPS-12 mentions acme/search#6; time to reflect 24.0h
        pagerduty:PSHOP1  opened 2024-01-09T14:00:00Z  resolved 2024-01-09T16:00:00Z  service shop
          deliveries 46, 47, 48; time to restore 2.0h
          deployment github:505, linked by latest_deployment_of_service: the latest successful production deployment of `shop` at or before the incident opened at 2024-01-09T14:00:00Z
          postmortem events:PM-1 published 2024-01-11T16:00:00Z, linked by postmortem_event: postmortem PM-1 names incident PSHOP1; time to reflect 2.0d
        opsgenie:og-batch-1  opened 2024-01-11T20:00:00Z  resolved 2024-01-12T00:00:00Z  service batch-jobs
          deliveries 49, 50; time to restore 4.0h
          no deployment
          no postmortem
        pagerduty:PSHOP2  opened 2024-01-13T09:00:00Z  resolved n/a  service shop
          deliveries 51; time to restore n/a
          deployment github:506, linked by latest_deployment_of_service: the latest successful production deployment of `shop` at or before the incident opened at 2024-01-13T09:00:00Z
          no postmortem

        changes not linked
          github:acme/shop#6  no successful production deployment of `shop` at or after the merge at 2024-01-12T10:00:00Z (deliveries 29)

        incidents not linked
          pagerduty:PLEGACY  no successful production deployment of `Legacy` at or before it opened at 2024-01-03T09:00:00Z (deliveries 42, 43)
          opsgenie:og-batch-1  no successful production deployment of `batch-jobs` at or before it opened at 2024-01-11T20:00:00Z (deliveries 49, 50)

        postmortems not linked
          github:acme/shop#40  its title and description mention no known incident (deliveries 54)
        "#);
    }
}

/// `--incident` writes the publishable postmortem section: PSHOP1 was
/// triggered d8 14:00, acknowledged 14:10, resolved 16:00 (time to restore
/// 2 h), linked to D5, and its postmortem PM-1 came d10 16:00 (time to
/// reflect 48 h).
fn scripted_history_postmortem_of_an_incident(db: Db) {
    let db = &db;
    with_scripted_history(db);
    let dir = db.dir.path();
    let args = [
        "report",
        "--db",
        &db.url,
        "--since",
        "2024-01-01",
        "--until",
        "2024-01-15",
    ];
    let (code, out, err) = run(dir, &[&args[..], &["--incident", "PSHOP1"]].concat());
    assert_eq!(code, 0, "{err}");
    // Both backends run this body in one process: the same snapshot twice.
    insta::allow_duplicates! {
        insta::assert_snapshot!(out, @"
        ## Incident: Shop API is down

        | | |
        |---|---|
        | incident | [`pagerduty:PSHOP1`](https://pig208.pagerduty.com/incidents/PFQZPSY) |
        | service | shop |
        | time to restore | 2.0h |
        | time to reflect | 2.0d |
        | linked to | deployment `github:505` (latest_deployment_of_service: the latest successful production deployment of `shop` at or before the incident opened at 2024-01-09T14:00:00Z) |
        | deployment recovery time | 6.0h |

        ### Timeline (UTC)

        | time | what happened |
        |---|---|
        | 2024-01-09T10:00:00Z | deployment `github:505` of shop (`000000040000`) reached success |
        | 2024-01-09T14:00:00Z | incident opened |
        | 2024-01-09T14:10:00Z | acknowledged (10m after opening) |
        | 2024-01-09T16:00:00Z | resolved (time to restore 2.0h) |
        | 2024-01-11T16:00:00Z | postmortem `events:PM-1` published (time to reflect 2.0d) |

        ### What the deployment shipped

        - `github:acme/shop#4` Prices (merged 2024-01-08T11:00:00Z)

        _Figures by nextneck from the events the sources sent (deliveries 46, 47, 48); definitions in docs/metrics.md._
        ");
    }
    // The same by `source:id`, and in Markdown explicitly.
    let (code, again, _) = run(
        dir,
        &[
            &args[..],
            &["--incident", "pagerduty:PSHOP1", "--format", "markdown"],
        ]
        .concat(),
    );
    assert_eq!((code, again), (0, out));
    let (code, _, err) = run(dir, &[&args[..], &["--incident", "NOPE"]].concat());
    assert_eq!(code, 2);
    assert!(
        err.contains("no incident `NOPE` opened in the window; it has "),
        "{err}"
    );
    let (code, _, err) = run(
        dir,
        &[&args[..], &["--incident", "PSHOP1", "--format", "json"]].concat(),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--incident writes a Markdown postmortem"),
        "{err}"
    );
}

/// The HTML page of the same history, opened in headless Chromium: the
/// git report's charts over the four stages, then incidents and CI.
fn scripted_history_html_page_shows_stages_incidents_and_ci(db: Db) {
    let db = &db;
    with_scripted_history(db);
    let file = db.dir.path().join("report.html");
    let (code, _, err) = run(
        db.dir.path(),
        &[
            "report",
            "--db",
            &db.url,
            "--since",
            "2024-01-01",
            "--until",
            "2024-01-15",
            "--format",
            "html",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let url = format!("file://{}", file.display());
    let page = common::browser::load(&url);
    common::browser::check_page(
        &page,
        &["stages", "lead-histogram", "cycle-scatter", "deployments"],
    );
    for text in [
        "<h2>Incidents</h2>",
        "<td>time to reflect</td><td>median 36.0h, p85 44.4h (2 incidents with a postmortem)</td>",
        "<h3>Resolved without a postmortem, oldest first</h3>",
        "<td>pagerduty:PLEGACY</td>",
        "<h2>CI</h2>",
        "<td>acme/shop CI</td><td>4</td><td>75%</td>",
        "<h3>Flaky tests</h3>",
        "<td>oxidized_navigation::parry3d.test_failure</td>",
        "<h3>Slowest tests</h3>",
        "pickup",
    ] {
        assert!(page.dom.contains(text), "{text} missing from the page");
    }
    let html = std::fs::read_to_string(&file).unwrap();
    common::browser::check_wall_screen(&common::browser::measure(&html, 1920));
    // Both backends run this test at once: one file each.
    let name = match db.backend() {
        "sqlite" => "delivery-report-desktop".to_owned(),
        other => format!("delivery-report-desktop-{other}"),
    };
    common::browser::screenshot(&url, &name, 1100, 3200);
}

// --- One history, three ways in -------------------------------------------

fn pd_event(kind: &str, incident: &str, status: &str, time: &str, created: &str) -> Value {
    edit(
        fixture("pagerduty/triggered_v3.json"),
        &[
            ("/event/id", json!(format!("{incident}-{kind}"))),
            ("/event/event_type", json!(kind)),
            ("/event/occurred_at", json!(time)),
            ("/event/data/id", json!(incident)),
            ("/event/data/status", json!(status)),
            ("/event/data/created_at", json!(created)),
            ("/event/data/title", json!("Shop is down")),
            ("/event/data/service/summary", json!("Shop API")),
        ],
    )
}

/// A small history, stated once:
///
/// * deployments of acme/shop to production: 1 success d0 10:00 (the
///   baseline), 2 success d2 12:00, 3 failure d3 10:00, 4 success d3 11:00;
/// * #10: commit authored d1 08:00, opened d1 09:00, reviewed by bob d1
///   13:00, merged d2 10:00 (shipped by 2); #11: commit d2 13:00, opened d2
///   14:00, reviewed d2 15:00, merged d2 16:00 (3 failed, so 4 ships it);
/// * incident P1 on `Shop API`, opened d3 12:00, resolved d3 14:00; its
///   postmortem published d4 14:00;
/// * CI runs 1 (queued d1 08:10, started 08:12, done 08:20, success) and 2
///   (queued d2 13:10, started 13:11, done 13:31, failure).
struct Small;

/// (day, hour).
type DayHour = (i64, i64);
/// (day, hour, minute).
type Minute = (i64, i64, i64);

impl Small {
    const DEPLOYMENTS: [(u64, &'static str, u32, (i64, i64)); 4] = [
        (1, "success", 1, (0, 10)),
        (2, "success", 2, (2, 12)),
        (3, "failure", 3, (3, 10)),
        (4, "success", 3, (3, 11)),
    ];
    /// (number, branch, first commit, opened, review, merged).
    const CHANGES: [(u64, &'static str, DayHour, DayHour, DayHour, DayHour); 2] = [
        (10, "feature-10", (1, 8), (1, 9), (1, 13), (2, 10)),
        (11, "feature-11", (2, 13), (2, 14), (2, 15), (2, 16)),
    ];
    /// (id, conclusion, queued, started, done) as (day, hour, minute).
    const RUNS: [(u64, &'static str, Minute, Minute, Minute); 2] = [
        (1, "success", (1, 8, 10), (1, 8, 12), (1, 8, 20)),
        (2, "failure", (2, 13, 10), (2, 13, 11), (2, 13, 31)),
    ];

    fn webhooks(addr: SocketAddr) {
        let mut s = Sender { addr, n: 0 };
        for (id, state, commit, (d, h)) in Self::DEPLOYMENTS {
            s.github(
                "deployment_status",
                &gh_deployment_status(
                    id,
                    100 + id,
                    state,
                    "production",
                    None,
                    &sha(commit),
                    &t(d, h, 0),
                ),
            );
        }
        for (n, branch, (cd, ch), (od, oh), (rd, rh), (md, mh)) in Self::CHANGES {
            s.github(
                "push",
                &gh_push(branch, &sha(n as u32 * 10), &t(cd, ch, 0), at(cd, ch, 5)),
            );
            s.github(
                "pull_request",
                &gh_pull(
                    "opened",
                    n,
                    "Change",
                    branch,
                    &t(od, oh, 0),
                    &t(od, oh, 0),
                    None,
                    false,
                ),
            );
            s.github(
                "pull_request_review",
                &gh_review(n, 1000 + n, "bob", "User", &t(rd, rh, 0), &t(od, oh, 0)),
            );
            s.github(
                "pull_request",
                &gh_pull(
                    "closed",
                    n,
                    "Change",
                    branch,
                    &t(od, oh, 0),
                    &t(md, mh, 0),
                    Some((&t(md, mh, 0), &sha(n as u32))),
                    false,
                ),
            );
        }
        for (id, conclusion, q, st, f) in Self::RUNS {
            let mut run = gh_run(
                id,
                1,
                conclusion,
                &sha(1),
                &t(q.0, q.1, q.2),
                &t(st.0, st.1, st.2),
                &t(f.0, f.1, f.2),
            );
            set(&mut run, "/workflow_run/name", json!("CI"));
            s.github("workflow_run", &run);
        }
        s.pagerduty(
            "p1-t",
            &pd_event(
                "incident.triggered",
                "P1",
                "triggered",
                &t(3, 12, 0),
                &t(3, 12, 0),
            ),
        );
        s.pagerduty(
            "p1-r",
            &pd_event(
                "incident.resolved",
                "P1",
                "resolved",
                &t(3, 14, 0),
                &t(3, 12, 0),
            ),
        );
        s.github("issues", &Self::postmortem_issue_payload());
    }

    fn postmortem_issue_payload() -> Value {
        edit(
            fixture("github/issues__opened.json"),
            &[
                ("/repository/full_name", json!("acme/shop")),
                ("/issue/number", json!(50)),
                ("/issue/title", json!("Postmortem of P1")),
                ("/issue/labels", json!([{"name": "postmortem"}])),
                ("/issue/created_at", json!(t(4, 14, 0))),
                ("/issue/updated_at", json!(t(4, 14, 0))),
            ],
        )
    }

    /// API exports as `gh api --paginate` writes them, and PagerDuty's.
    fn exports(dir: &Path) -> Vec<(String, Vec<String>)> {
        let write = |name: &str, v: &Value| {
            let path = dir.join(name);
            std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
            path.display().to_string()
        };
        let deployments: Vec<Value> = Self::DEPLOYMENTS
            .iter()
            .map(|&(id, state, commit, (d, h))| {
                let p = gh_deployment_status(
                    id,
                    100 + id,
                    state,
                    "production",
                    None,
                    &sha(commit),
                    &t(d, h, 0),
                );
                let mut dep = p["deployment"].clone();
                set(
                    &mut dep,
                    "/repository_url",
                    json!("https://api.github.com/repos/acme/shop"),
                );
                set(&mut dep, "/statuses", json!([p["deployment_status"]]));
                dep
            })
            .collect();
        let pulls: Vec<Value> = Self::CHANGES
            .iter()
            .map(|&(n, branch, (cd, ch), (od, oh), (rd, rh), (md, mh))| {
                let mut pr = gh_pull("closed", n, "Change", branch, &t(od, oh, 0), &t(md, mh, 0), Some((&t(md, mh, 0), &sha(n as u32))), false)["pull_request"].clone();
                set(
                    &mut pr,
                    "/commits",
                    json!([{"sha": sha(n as u32 * 10), "commit": {"author": {"name": "Ada", "date": t(cd, ch, 0)}, "committer": {"date": t(cd, ch, 0)}}, "author": {"login": "ada"}}]),
                );
                set(&mut pr, "/reviews", json!([gh_review(n, 1000 + n, "bob", "User", &t(rd, rh, 0), &t(od, oh, 0))["review"]]));
                pr
            })
            .collect();
        let runs: Vec<Value> = Self::RUNS
            .iter()
            .map(|&(id, conclusion, q, st, f)| {
                let mut run = gh_run(
                    id,
                    1,
                    conclusion,
                    &sha(1),
                    &t(q.0, q.1, q.2),
                    &t(st.0, st.1, st.2),
                    &t(f.0, f.1, f.2),
                )["workflow_run"]
                    .clone();
                set(&mut run, "/name", json!("CI"));
                run
            })
            .collect();
        let issue = Self::postmortem_issue_payload()["issue"].clone();
        let incident = json!({
            "id": "P1", "title": "Shop is down", "status": "resolved",
            "created_at": t(3, 12, 0), "last_status_change_at": t(3, 14, 0),
            "service": {"summary": "Shop API"}, "acknowledgements": []
        });
        vec![
            (
                "github".to_owned(),
                vec![
                    write("deployments.json", &json!(deployments)),
                    write("pulls.json", &json!(pulls)),
                    write(
                        "runs.json",
                        &json!({"total_count": 2, "workflow_runs": runs}),
                    ),
                    write("issues.json", &json!([issue])),
                ],
            ),
            (
                "pagerduty".to_owned(),
                vec![write("incidents.json", &json!({"incidents": [incident]}))],
            ),
        ]
    }

    /// The generic format.
    fn generic() -> String {
        let mut lines = Vec::new();
        for (id, state, commit, (d, h)) in Self::DEPLOYMENTS {
            lines.push(json!({"type": "deployment", "id": id.to_string(), "repository": "acme/shop", "environment": "production", "sha": sha(commit), "finished_at": t(d, h, 0), "status": state}));
        }
        for (n, _, (cd, ch), (od, oh), (rd, rh), (md, mh)) in Self::CHANGES {
            lines.push(json!({"type": "change", "id": format!("acme/shop#{n}"), "repository": "acme/shop", "number": n, "author": "ada",
                "opened_at": t(od, oh, 0), "first_review_at": t(rd, rh, 0), "merged_at": t(md, mh, 0), "merge_sha": sha(n as u32),
                "commits": [{"sha": sha(n as u32 * 10), "authored_at": t(cd, ch, 0)}]}));
        }
        for (id, conclusion, q, st, f) in Self::RUNS {
            lines.push(json!({"type": "ci.run", "id": id.to_string(), "workflow": "CI", "repository": "acme/shop", "sha": sha(1),
                "queued_at": t(q.0, q.1, q.2), "started_at": t(st.0, st.1, st.2), "finished_at": t(f.0, f.1, f.2), "conclusion": conclusion}));
        }
        lines.push(json!({"type": "incident", "id": "P1", "service": "Shop API", "opened_at": t(3, 12, 0), "resolved_at": t(3, 14, 0)}));
        lines.push(json!({"type": "postmortem.published", "id": "PM-50", "incident_id": "P1", "published_at": t(4, 14, 0)}));
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// The figures that must not depend on how the events arrived.
fn figures(r: &Value) -> Value {
    json!({
        "window": r["window"],
        "deployments_from": r["deployments_from"],
        "dora": r["dora"],
        "stages": r["stages"],
        "bottleneck": r["bottleneck"],
        "undeployed": r["undeployed"],
        "incidents": r["incidents"],
        "ci": r["ci"],
        "notices": r["notices"],
    })
}

#[test]
fn the_same_history_by_webhook_export_or_generic_event_gives_the_same_figures() {
    let config =
        "[services.shop]\nrepositories = [\"acme/shop\"]\nincident_services = [\"Shop API\"]\n";
    // By webhook, through a real server.
    let hooks = sqlite();
    std::fs::write(hooks.dir.path().join("nextneck.toml"), config).unwrap();
    let server = Server::start(&hooks);
    Small::webhooks(server.addr);
    assert_eq!(wait_processed(&hooks.url).failed, 0);
    drop(server);
    // By API export.
    let exports = sqlite();
    std::fs::write(exports.dir.path().join("nextneck.toml"), config).unwrap();
    for (provider, files) in Small::exports(exports.dir.path()) {
        let mut args = vec!["import", provider.as_str(), "--db", exports.url.as_str()];
        args.extend(files.iter().map(String::as_str));
        let (code, _, err) = run(exports.dir.path(), &args);
        assert_eq!(code, 0, "{err}");
    }
    // By generic events.
    let generic = sqlite();
    std::fs::write(generic.dir.path().join("nextneck.toml"), config).unwrap();
    let file = generic.dir.path().join("events.ndjson");
    std::fs::write(&file, Small::generic()).unwrap();
    let (code, _, err) = run(
        generic.dir.path(),
        &[
            "import",
            "events",
            "--db",
            &generic.url,
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");

    let by_hooks = figures(&report(hooks.dir.path(), &hooks.url, &[]));
    // The figures, by hand: deployments 1, 2, 4 succeed and 3 fails; P1
    // (opened d3 12:00) is linked to 4 (d3 11:00), which fails too.
    // #10: coding 1 h, pickup 4 h, review 21 h, deploy 2 h (lead 28 h);
    // #11: coding 1 h, pickup 1 h, review 1 h, deploy 19 h (lead 22 h).
    check(
        &by_hooks,
        &[
            ("/dora/deployments/count", json!(3)),
            ("/dora/change_failure_rate/failed", json!(2)),
            ("/dora/change_failure_rate/deployments", json!(4)),
            // 3 → 4: 1 h; 4 → P1 resolved d3 14:00: 3 h.
            ("/dora/recovery_time/median_seconds", json!(2 * H)),
            ("/dora/lead_time/median_seconds", json!(25 * H)),
            ("/stages/0/median_seconds", json!(H)),
            ("/stages/1/median_seconds", json!(2.5 * H as f64)),
            ("/stages/2/median_seconds", json!(11 * H)),
            // Every change was reviewed: no `unreviewed` time.
            ("/stages/3/name", json!("unreviewed")),
            ("/stages/3/median_seconds", Value::Null),
            ("/stages/4/median_seconds", json!(10.5 * H as f64)),
            ("/bottleneck/stage", json!("review")),
            ("/incidents/time_to_restore/median_seconds", json!(2 * H)),
            ("/incidents/time_to_reflect/median_seconds", json!(DAY)),
            ("/ci/workflows/0/workflow", json!("CI")),
            ("/ci/workflows/0/success_rate", json!(0.5)),
            ("/ci/workflows/0/duration_median_seconds", json!(14 * 60)),
            ("/ci/workflows/0/queue_median_seconds", json!(90)),
        ],
    );
    assert_eq!(
        figures(&report(exports.dir.path(), &exports.url, &[])),
        by_hooks,
        "API exports"
    );
    assert_eq!(
        figures(&report(generic.dir.path(), &generic.url, &[])),
        by_hooks,
        "generic events"
    );
}

// --- With a clone: commit ranges and CODEOWNERS ---------------------------

/// A clone and events that name its commits:
///
/// ```text
/// c1 d0 09:00 ── m1 (merge of f1, d2 09:00) ── c3 d3 09:00      main
///   └─ f1 d1 09:00                                               feature
/// ```
///
/// Deployments: A c1 d0 12:00 (the baseline), B m1 d2 10:00, C c3 d4
/// 10:00. Change #7 merged m1, but its event says d2 11:00, after B
/// deployed m1 (the webhook came late): by commit range B shipped it, the
/// first deployment after the merge would be C.
#[test]
fn with_a_clone_changes_link_by_commit_range_and_codeowners_name_the_team() {
    let mut repo = common::Repo::new();
    let c1 = repo.commit("initial", at(0, 9, 0), at(0, 9, 0));
    repo.checkout(&["-b", "feature"]);
    let f1 = repo.commit("feature", at(1, 9, 0), at(1, 9, 0));
    repo.checkout(&["main"]);
    let m1 = repo.merge("feature", at(2, 9, 0));
    std::fs::create_dir_all(repo.path().join(".github")).unwrap();
    std::fs::write(
        repo.path().join(".github/CODEOWNERS"),
        "# everything\n*  @acme/web\n/docs/ @acme/docs\n",
    )
    .unwrap();
    let c3 = repo.commit("more", at(3, 9, 0), at(3, 9, 0));
    let db = sqlite();
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        "[teams.web]\ncodeowners = [\"@acme/web\"]\n",
    )
    .unwrap();
    let dep = |id: &str, commit: &str, time: String| json!({"type": "deployment", "id": id, "repository": "acme/shop", "environment": "production", "sha": commit, "finished_at": time, "status": "success"});
    let lines = [
        dep("A", &c1, t(0, 12, 0)),
        dep("B", &m1, t(2, 10, 0)),
        dep("C", &c3, t(4, 10, 0)),
        json!({"type": "change", "id": "acme/shop#7", "repository": "acme/shop", "opened_at": t(1, 10, 0),
               "first_review_at": t(1, 12, 0), "merged_at": t(2, 11, 0), "merge_sha": m1,
               "commits": [{"sha": f1, "authored_at": t(1, 9, 0)}]}),
    ];
    let file = db.dir.path().join("events.ndjson");
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let (code, _, err) = run(
        db.dir.path(),
        &["import", "events", "--db", &db.url, file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let path = repo.path().to_str().unwrap();

    let with_clone = report(db.dir.path(), &db.url, &[path, "--explain"]);
    let change = "/explain/delivery/deployments/1/changes/0";
    check(
        &with_clone,
        &[
            ("/source/kind", json!("events+git")),
            ("/source/commits", json!(4)),
            ("/explain/delivery/deployments/1/id", json!("B")),
            (&format!("{change}/id"), json!("acme/shop#7")),
            (&format!("{change}/link/rule"), json!("commit_range")),
            (
                &format!("{change}/link/reason"),
                json!(format!(
                    "deployed commit {} contains merge commit {}",
                    &m1[..12],
                    &m1[..12]
                )),
            ),
            // The merge is clamped to the deployment that contains it: lead
            // d2 10:00 − d1 09:00 = 25 h, deploy 0.
            (&format!("{change}/lead_time_seconds"), json!(25 * H)),
            (&format!("{change}/deploy_seconds"), json!(0)),
            ("/dora/lead_time/median_seconds", json!(25 * H)),
        ],
    );
    let without = report(db.dir.path(), &db.url, &["--explain"]);
    check(
        &without,
        &[
            ("/source/kind", json!("events")),
            ("/explain/delivery/deployments/2/id", json!("C")),
            (
                "/explain/delivery/deployments/2/changes/0/link/rule",
                json!("first_deployment_after_merge"),
            ),
            ("/dora/lead_time/median_seconds", json!(3 * DAY + H)),
        ],
    );
    // The clone's CODEOWNERS gives every file to @acme/web: its repository
    // (the one whose commits the events name) is the web team's.
    let team = report(db.dir.path(), &db.url, &[path, "--team", "web"]);
    check(&team, &[("/dora/deployments/count", json!(3))]);
    let team = report(db.dir.path(), &db.url, &["--team", "web"]);
    check(&team, &[("/dora/deployments/count", json!(0))]);
    // Commit ranges only, without a clone: a usage error.
    let (code, _, err) = run(
        db.dir.path(),
        &["report", "--db", &db.url, "--link-changes", "commit-range"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs the clone"), "{err}");
}

#[test]
fn report_options_that_need_the_event_store_are_usage_errors_without_it() {
    let db = sqlite();
    let check = |args: &[&str], wanted: &str| {
        let (code, _, err) = run(db.dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
    };
    check(
        &["report", "--repo", "acme/shop"],
        "--repo applies to delivery events; pass --db URL",
    );
    check(
        &["report", "--team", "web"],
        "--team applies to delivery events",
    );
    check(
        &["report", "--db", &db.url, "--deploy-branch", "main"],
        "with --db, deployments are the deployment events",
    );
    check(
        &["report", "--db", &db.url, "--team", "nobody"],
        "--team nobody: no such team",
    );
    check(&["report", "--db", "mysql://x"], "--db:");
    let (code, _, err) = run(db.dir.path(), &["report", "--db", "sqlite:no-such.db"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("there is no event store at no-such.db"),
        "{err}"
    );
    assert!(
        !db.dir.path().join("no-such.db").exists(),
        "a report creates no store"
    );
    check(
        &["report", "--db", &db.url, "--link-changes", "nearest"],
        "use auto, commit-range or after-merge",
    );
    std::fs::write(
        db.dir.path().join("nextneck.toml"),
        "[delivery]\nproduction = \"(\"\n",
    )
    .unwrap();
    check(
        &["report", "--db", &db.url],
        "[delivery] production: not a valid regular expression",
    );
}

/// A store without events yet: the report says so, and its default window
/// is the 90 days ending today, not the epoch's.
#[test]
fn an_empty_store_reports_the_90_days_ending_today() {
    let db = sqlite();
    let (code, _, err) = run(db.dir.path(), &["status", "--db", &db.url]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        db.dir.path(),
        &["report", "--db", &db.url, "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let until: jiff::Timestamp = r["window"]["until"].as_str().unwrap().parse().unwrap();
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (0..=86_400 + 60).contains(&(until.as_second() - now)),
        "{}",
        r["window"]
    );
    assert_eq!(r["window"]["days"], 90.0);
    let notes = r["notices"].to_string();
    assert!(notes.contains("holds no delivery events yet"), "{notes}");
}

/// The recorded `release` webhook (baxterthehacker/public-repo `0.0.1`,
/// published 2015-05-05T23:40:38Z, targeting the branch `master`) and two
/// pull requests of that repository, imported as files: by default
/// (`deployments_from = "auto"`, the repository has no deployment events)
/// the release is a successful production deployment that shipped the pull
/// request merged before it, linked by time; the later one waits.
fn an_imported_github_release_is_a_deployment_with_its_changes(db: Db) {
    let dir = db.dir.path();
    let pull = |number: u64, merged: &str| {
        edit(
            fixture("github/pull_request__merged_private_repository.json"),
            &[
                ("/pull_request/number", json!(number)),
                ("/pull_request/merged_at", json!(merged)),
                ("/pull_request/closed_at", json!(merged)),
                ("/pull_request/updated_at", json!(merged)),
            ],
        )
    };
    let files = [
        (
            "release.json",
            fixture_text("github/release__with_name.json"),
        ),
        ("pull-1.json", pull(1, "2015-05-05T23:40:30Z").to_string()),
        ("pull-2.json", pull(2, "2015-05-06T08:00:00Z").to_string()),
    ];
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, _, err) = run(
            dir,
            &["import", "github", "--db", &db.url, path.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{name}: {err}");
    }
    let (code, out, err) = run(
        dir,
        &[
            "report",
            "--db",
            &db.url,
            "--all",
            "--explain",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let d = "/explain/delivery/deployments/0";
    check(
        &r,
        &[
            ("/deployments_from/releases/deployments_from", json!("auto")),
            ("/deployments_from/releases/counted", json!(1)),
            ("/dora/deployments/count", json!(1)),
            (&format!("{d}/source"), json!("github")),
            (&format!("{d}/id"), json!("1261438")),
            (
                &format!("{d}/repository"),
                json!("baxterthehacker/public-repo"),
            ),
            (&format!("{d}/time"), json!("2015-05-05T23:40:38Z")),
            (&format!("{d}/status"), json!("success")),
            (
                &format!("{d}/production"),
                json!(
                    "release `0.0.1` of `baxterthehacker/public-repo` (deployments_from auto: `baxterthehacker/public-repo` has no production deployment events)"
                ),
            ),
            (
                &format!("{d}/changes/0/id"),
                json!("baxterthehacker/public-repo#1"),
            ),
            (
                &format!("{d}/changes/0/link/rule"),
                json!("first_deployment_after_merge"),
            ),
            (
                &format!("{d}/changes/0/link/reason"),
                json!(
                    "the first successful production deployment of `baxterthehacker/public-repo` at or after the merge at 2015-05-05T23:40:30Z (release `0.0.1` targets branch `master`, not a commit: linked by time)"
                ),
            ),
        ],
    );
    check_absent(&r, &[&format!("{d}/changes/1")]);
    // With `--deployments-from deployments` the release does not count.
    let (code, out, err) = run(
        dir,
        &[
            "report",
            "--db",
            &db.url,
            "--all",
            "--format",
            "json",
            "--deployments-from",
            "deployments",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    check(
        &r,
        &[
            ("/deployments_from/releases/counted", json!(0)),
            ("/deployments_from/releases/not_counted", json!(1)),
            ("/dora/deployments/count", json!(0)),
        ],
    );
}
