//! The GitHub sync against a replay server (a real HTTP server answering
//! recorded-shape responses with their headers, faults injected): Link
//! pagination, cursors and conditional requests, primary and secondary rate
//! limits, 5xx and timeouts retried, and the errors of a refused token.

#![allow(clippy::unwrap_used, missing_docs)]

mod replay;

use std::time::Duration;

use nextneck_sync::github::{Counts, sync_repo};
use nextneck_sync::{Client, Notice, SyncError};
use replay::github::{self as gh, sample, serve};
use replay::memory::{Memory, new_client, waits};
use replay::{Replay, Response};
use serde_json::{Value, json};

const REPO: &str = "acme/shop";
const TOKEN: &str = "ghp_secret_test_token";

fn sync(client: &mut Client, target: &mut Memory) -> Result<Counts, SyncError> {
    let mut counts = Counts::default();
    sync_repo(client, target, REPO, None, &mut counts, &mut |_, _| {})?;
    Ok(counts)
}

#[test]
fn pages_cursors_and_a_second_run_that_fetches_nothing_new() {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    let (mut client, _) = new_client(&replay, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!(
        counts,
        Counts {
            pulls: 5,
            reviews: 5,
            deployments: 3,
            runs: 3,
            jobs: 3,
            releases: 2,
            issues: 2,
            ..Counts::default()
        }
    );
    // Pulls 5..1 over three pages, deployments over two, runs over two,
    // releases in one, issues in one: one batch per page.
    assert_eq!(
        memory.ids(),
        vec![
            1005, 1004, 1003, 1002, 1001, 303, 302, 301, 9000, 8999, 8998, 71, 70, 7041, 7040
        ]
    );
    assert_eq!(memory.batches.len(), 3 + 2 + 2 + 1 + 1);
    // The runs carry their jobs.
    assert_eq!(memory.items()[8]["jobs"][0]["id"], json!(90000));
    // The pulls carry their reviews and commits.
    let first: Value = serde_json::from_slice(&memory.batches[0][0].body).unwrap();
    assert_eq!(first[0]["reviews"][0]["state"], json!("APPROVED"));
    assert_eq!(first[0]["commits"][0]["sha"].as_str().unwrap().len(), 40);
    // Every request carried the token in the header, and followed the links.
    let log = replay.log();
    assert!(
        log.iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(replay.count(&format!("{}&page=3", gh::pulls_url(REPO))), 1);
    let pulls_cursor: Value =
        serde_json::from_str(&memory.cursors[&format!("github:{REPO}:pulls")]).unwrap();
    assert_eq!(pulls_cursor["floor"], json!("2025-03-11T15:00:00Z"));
    assert!(pulls_cursor["etag"].is_string());
    assert_eq!(
        memory.cursors[&format!("github:{REPO}:runs")],
        r#"{"floor":"2025-03-12T12:00:00Z"}"#
    );

    // The second run: the pulls list answers 304, the others stop at their
    // cursors, and only the newest item of each is fetched again.
    gh::serve_second_run(&replay, &repo);
    let mut again = Memory {
        cursors: memory.cursors.clone(),
        ..Memory::default()
    };
    let counts = sync(&mut client, &mut again).unwrap();
    assert_eq!(counts.unchanged, 1, "the pulls list was not modified");
    assert_eq!(counts.pulls, 0);
    assert_eq!(again.ids(), vec![303, 9000, 71, 7041]);
    let sent = replay.log();
    let conditional = sent
        .iter()
        .filter(|r| r.header("if-none-match").is_some())
        .count();
    assert_eq!(conditional, 1);
}

#[test]
fn a_list_that_changes_between_pages_leaves_no_gap() {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    // While the first page is read, pull 6 is opened: the second page is
    // then asked for in the new order, and pull 4 is on it again.
    let pulls: Vec<Value> = repo.pulls.iter().map(|(p, _, _)| p.clone()).collect();
    let six = gh::pull(
        REPO,
        6,
        "2025-03-12T08:00:00Z",
        "2025-03-12T09:00:00Z",
        None,
    );
    let shifted = [vec![six.clone()], pulls.clone()].concat();
    for (target, r) in gh::pages(&gh::pulls_url(REPO), &shifted, 2, false)
        .into_iter()
        .skip(1)
    {
        replay.set(&target, vec![r]);
    }
    for (target, r) in gh::pages(
        &format!("/repos/{REPO}/pulls/6/reviews?per_page=100"),
        &[],
        2,
        false,
    )
    .into_iter()
    .chain(gh::pages(
        &format!("/repos/{REPO}/pulls/6/commits?per_page=100"),
        &[],
        2,
        false,
    )) {
        replay.on(&target, vec![r]);
    }
    let (mut client, _) = new_client(&replay, 5000);
    let mut memory = Memory::default();
    sync(&mut client, &mut memory).unwrap();
    let pulls_seen: Vec<u64> = memory
        .ids()
        .into_iter()
        .filter(|id| (1000..2000).contains(id))
        .collect();
    // Pull 4 twice (the same body: stored once), none missed.
    assert_eq!(pulls_seen, vec![1005, 1004, 1004, 1003, 1002, 1001]);
    // The next run starts from the top again and finds pull 6 above its
    // floor (pull 5's update), stopping at pull 4.
    for (target, r) in gh::pages(&gh::pulls_url(REPO), &shifted, 2, false)
        .into_iter()
        .take(1)
    {
        replay.set(&target, vec![r]);
    }
    gh::serve_second_run(&replay, &repo);
    let mut again = Memory {
        cursors: memory.cursors.clone(),
        ..Memory::default()
    };
    let counts = sync(&mut client, &mut again).unwrap();
    assert_eq!(counts.pulls, 2);
    let pulls_seen: Vec<u64> = again
        .ids()
        .into_iter()
        .filter(|id| (1000..2000).contains(id))
        .collect();
    assert_eq!(pulls_seen, vec![1006, 1005]);
}

#[test]
fn a_since_date_bounds_the_first_run() {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    let runs = format!("{}&created=%3E%3D2025-03-11T00:00:00Z", gh::runs_url(REPO));
    for (target, r) in gh::pages(&runs, &repo.runs[..2], 2, true) {
        replay.on(&target, vec![r]);
    }
    let issues = format!("{}&since=2025-03-11T00:00:00Z", gh::issues_url(REPO));
    for (target, r) in gh::pages(&issues, &repo.issues[..1], 2, false) {
        replay.on(&target, vec![r]);
    }
    let (mut client, _) = new_client(&replay, 5000);
    let mut memory = Memory::default();
    let mut counts = Counts::default();
    let since = "2025-03-11T00:00:00Z".parse().ok();
    sync_repo(
        &mut client,
        &mut memory,
        REPO,
        since,
        &mut counts,
        &mut |_, _| {},
    )
    .unwrap();
    // Pulls updated since (5: the 11th; 4, the 9th, stops the walk), the
    // deployment of the 12th, runs of the 12th and 11th, the release of the
    // 18th, the issue updated on the 15th.
    assert_eq!(memory.ids(), vec![1005, 303, 9000, 8999, 71, 7041]);
    assert_eq!(replay.count(&format!("{}&page=2", gh::pulls_url(REPO))), 0);
}

#[test]
fn rate_limits_are_waited_out() {
    let replay = Replay::start();
    let repo = sample(REPO);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Primary limit exhausted mid-run (the second page of pulls), with
    // Retry-After; then the secondary limit's 403 on the deployments.
    let page2 = format!("{}&page=2", gh::pulls_url(REPO));
    replay.on(
        &page2,
        vec![
            Response::json(
                429,
                &json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            )
            .budget(0, now + 3)
            .header("Retry-After", "3"),
        ],
    );
    replay.on(
        &gh::deployments_url(REPO),
        vec![Response::json(
            403,
            &json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
        )
        .header("Retry-After", "2")],
    );
    // A page that spends the budget: the next request waits for the reset.
    let runs = gh::pages(&gh::runs_url(REPO), &repo.runs, 2, true);
    let (target, spent) = runs[0].clone();
    replay.on(&target, vec![spent.budget(0, now + 2)]);
    // And the primary limit without Retry-After: wait for the reset.
    replay.on(
        &gh::releases_url(REPO),
        vec![
            Response::json(403, &json!({"message": "API rate limit exceeded"})).budget(0, now + 2),
        ],
    );
    serve(&replay, &repo, 2);
    let (mut client, notices) = new_client(&replay, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!(
        (counts.pulls, counts.deployments, counts.releases),
        (5, 3, 2)
    );
    let waits = waits(&notices);
    assert_eq!(waits.len(), 4, "{waits:?}");
    assert_eq!(waits[0], "3 secondary rate limit (429, Retry-After)");
    assert_eq!(waits[1], "2 secondary rate limit (403, Retry-After)");
    assert!(
        waits[2].ends_with("rate limit spent, waiting for X-RateLimit-Reset"),
        "{waits:?}"
    );
    assert!(
        waits[3].ends_with("rate limit exhausted, waiting for X-RateLimit-Reset"),
        "{waits:?}"
    );
    assert_eq!(replay.count(&page2), 2);
    assert!(notices.borrow().contains(&Notice::Budget {
        remaining: 0,
        limit: 5000
    }));
}

#[test]
fn server_errors_and_timeouts_are_retried_with_bounds() {
    let replay = Replay::start();
    let repo = sample(REPO);
    replay.on(
        &gh::deployments_url(REPO),
        vec![Response::json(502, &json!({"message": "Server Error"}))],
    );
    replay.on(
        &gh::runs_url(REPO),
        vec![
            Response::json(200, &json!({"total_count": 0, "workflow_runs": []}))
                .delayed(Duration::from_millis(1500)),
        ],
    );
    serve(&replay, &repo, 2);
    let (mut client, notices) = new_client(&replay, 500);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!((counts.deployments, counts.runs), (3, 3));
    assert_eq!(replay.count(&gh::deployments_url(REPO)), 2);
    assert_eq!(replay.count(&gh::runs_url(REPO)), 2);
    let waits = waits(&notices);
    assert_eq!(
        waits,
        vec!["1 status 502; retry 1 of 3", "1 timed out; retry 1 of 3"]
    );

    // A server that keeps failing: the error names the URL and the count.
    let broken = Replay::start();
    broken.on(
        &gh::pulls_url(REPO),
        vec![Response::json(503, &json!({"message": "Unavailable"}))],
    );
    let (mut client, _) = new_client(&broken, 500);
    let err = sync(&mut client, &mut Memory::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}{}: status 503 after 4 attempts: status 503",
            broken.base,
            gh::pulls_url(REPO)
        )
    );
    let slow = Replay::start();
    slow.on(
        &gh::pulls_url(REPO),
        vec![Response::json(200, &json!([])).delayed(Duration::from_millis(1500))],
    );
    let (mut client, _) = new_client(&slow, 300);
    let err = sync(&mut client, &mut Memory::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}{}: timed out after 4 attempts; check the network and --api-url",
            slow.base,
            gh::pulls_url(REPO)
        )
    );
}

#[test]
fn a_refused_token_is_a_clear_error_naming_the_scope() {
    let check = |response: Response, expected: &str| {
        let replay = Replay::start();
        replay.on(&gh::pulls_url(REPO), vec![response]);
        let (mut client, _) = new_client(&replay, 5000);
        let err = sync(&mut client, &mut Memory::default()).unwrap_err();
        let message = err.to_string();
        assert_eq!(
            message,
            format!("{}{}: {expected}", replay.base, gh::pulls_url(REPO))
        );
        assert!(!message.contains(TOKEN));
        assert_eq!(replay.count(&gh::pulls_url(REPO)), 1, "not retried");
    };
    check(
        Response::json(403, &json!({"message": "Resource not accessible by personal access token", "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests", "status": "403"}))
            .header("X-Accepted-GitHub-Permissions", "pull_requests=read")
            .budget(4990, 1_900_000_000),
        "403 Forbidden: the token cannot read this; it needs read access to pull requests (a fine-grained token's \"Pull requests: read\") (for a private repository a classic token needs the `repo` scope); the server accepts: pull_requests=read",
    );
    check(
        Response::json(
            404,
            &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests", "status": "404"}),
        ),
        "404 Not Found: the token cannot read this; it needs read access to pull requests (a fine-grained token's \"Pull requests: read\") (for a private repository a classic token needs the `repo` scope)",
    );
    check(
        Response::json(
            401,
            &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        ),
        "401 Unauthorized: the API refused the token; check GITHUB_TOKEN (or NEXTNECK_GITHUB_TOKEN, or [sync.github] token in nextneck.toml) and that it has not expired",
    );
}

#[test]
fn an_organisations_repositories() {
    let replay = Replay::start();
    let repos: Vec<Value> = ["acme/shop", "acme/api", "acme/web"]
        .iter()
        .map(|name| json!({"id": 1, "name": name.split('/').nth(1), "full_name": name, "private": false, "archived": false}))
        .collect();
    for (target, r) in gh::pages("/orgs/acme/repos?type=all&per_page=100", &repos, 2, false) {
        replay.on(&target, vec![r]);
    }
    let (mut client, _) = new_client(&replay, 5000);
    assert_eq!(
        nextneck_sync::github::org_repos(&mut client, "acme").unwrap(),
        vec!["acme/shop", "acme/api", "acme/web"]
    );
}

#[test]
fn links_away_from_the_api_are_refused() {
    let replay = Replay::start();
    replay.on(
        &gh::pulls_url(REPO),
        vec![Response::json(200, &json!([])).header(
            "Link",
            "<https://elsewhere.example/steal?page=2>; rel=\"next\"",
        )],
    );
    let (mut client, _) = new_client(&replay, 5000);
    let err = sync(&mut client, &mut Memory::default()).unwrap_err();
    assert!(
        err.to_string().contains("is not under http://127.0.0.1"),
        "{err}"
    );
}
