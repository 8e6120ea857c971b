//! The GitLab sync against the replay server (the documented example
//! responses of GitLab's API reference, served with GitLab's headers,
//! faults injected): pages and cursors, what is attached to merge requests
//! and pipelines, rate limits and retries, keyset links, refused tokens.

#![allow(clippy::unwrap_used, missing_docs)]

mod replay;

use nextneck_sync::gitlab::{group_projects, sync_project};
use nextneck_sync::{Client, Counts, Dialect, SyncError};
use replay::gitlab::{self as gl, sample, serve};
use replay::memory::{Memory, client_of, waits};
use replay::{Replay, Response};
use serde_json::{Value, json};

const PROJECT: &str = "acme/shop";
const TOKEN: &str = "glpat-secret-test-token";

fn client(
    replay: &Replay,
    timeout_ms: u64,
) -> (
    Client,
    std::rc::Rc<std::cell::RefCell<Vec<nextneck_sync::Notice>>>,
) {
    client_of(
        Dialect::Gitlab,
        &format!("{}/api/v4", replay.base),
        TOKEN,
        timeout_ms,
    )
}

fn sync(client: &mut Client, target: &mut Memory) -> Result<Counts, SyncError> {
    let mut counts = Counts::default();
    sync_project(client, target, PROJECT, None, &mut counts, &mut |_, _| {})?;
    Ok(counts)
}

#[test]
fn a_project_in_pages_with_what_belongs_to_each_item_and_a_second_run() {
    let replay = Replay::start();
    let project = sample(PROJECT);
    serve(&replay, &project, 2);
    let (mut client, _) = client(&replay, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!(
        counts,
        Counts {
            pulls: 4,
            reviews: 12,
            deployments: 3,
            runs: 3,
            jobs: 6,
            releases: 2,
            issues: 2,
            ..Counts::default()
        }
    );
    // One batch per page: merge requests over two pages, deployments over
    // two, pipelines over two, releases in one, issues in one.
    assert_eq!(memory.batches.len(), 2 + 2 + 2 + 1 + 1);
    let items = memory.items();
    let iids: Vec<u64> = items[..4]
        .iter()
        .map(|m| m["iid"].as_u64().unwrap())
        .collect();
    assert_eq!(iids, vec![4, 3, 2, 1]);
    assert_eq!(items[0]["commits"][0]["id"], json!(gl::sha(0xc004)));
    assert_eq!(
        items[0]["notes"][2]["body"],
        json!("approved this merge request")
    );
    // A pipeline is stored as the single-pipeline endpoint has it, with jobs.
    assert_eq!(items[7]["id"], json!(304));
    assert_eq!(items[7]["started_at"], json!("2025-03-09T15:05:00Z"));
    assert_eq!(items[7]["jobs"][1]["name"], json!("deploy"));
    assert_eq!(items[10]["tag_name"], json!("v2"));
    // Issues as listed, incidents among them, with their type.
    assert_eq!(items[13]["references"]["full"], json!("acme/shop#11"));
    assert_eq!(items[13]["issue_type"], json!("incident"));
    assert_eq!(items[13]["closed_at"], json!("2025-03-10T10:30:00Z"));
    assert!(
        replay
            .log()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert_eq!(
        memory.cursors[&format!("gitlab:{PROJECT}:merge_requests")],
        r#"{"floor":"2025-03-09T15:00:00Z"}"#
    );
    assert_eq!(
        memory.cursors[&format!("gitlab:{PROJECT}:pipelines")],
        r#"{"floor":"2025-03-09T15:50:00Z"}"#
    );
    assert_eq!(
        memory.cursors[&format!("gitlab:{PROJECT}:issues")],
        r#"{"floor":"2025-03-12T09:00:00Z"}"#
    );

    // The second run asks from each cursor (`updated_after`) and gets the
    // newest item of each list again.
    gl::serve_second_run(&replay, &project);
    let mut again = Memory::resuming(&memory);
    let counts = sync(&mut client, &mut again).unwrap();
    assert_eq!(
        (
            counts.pulls,
            counts.deployments,
            counts.runs,
            counts.releases,
            counts.issues
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(
        replay.count(&format!(
            "{}&updated_after=2025-03-09T15:00:00Z",
            gl::merge_requests_url(PROJECT)
        )),
        1
    );
}

#[test]
fn rate_limits_and_server_errors_mid_walk() {
    let replay = Replay::start();
    let project = sample(PROJECT);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // 429 with Retry-After on the second page of merge requests.
    let page2 = format!("{}&page=2", gl::merge_requests_url(PROJECT));
    replay.on(
        &page2,
        vec![
            gl::budget(
                Response::json(429, &json!({"message": "429 Too Many Requests"})),
                0,
                now + 2,
            )
            .header("Retry-After", "2"),
        ],
    );
    // A page of deployments that spends the budget: the next request waits
    // for RateLimit-Reset.
    let deployments = gl::pages(&gl::deployments_url(PROJECT), &project.deployments, 2);
    let (target, first) = deployments[0].clone();
    replay.on(&target, vec![gl::budget(first, 0, now + 2)]);
    // A pipeline answers 502 once.
    let pipeline = format!("/api/v4/projects/{}/pipelines/303", gl::encoded(PROJECT));
    replay.on(
        &pipeline,
        vec![Response::json(502, &json!({"message": "502 Bad Gateway"}))],
    );
    serve(&replay, &project, 2);
    let (mut client, notices) = client(&replay, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!((counts.pulls, counts.deployments, counts.runs), (4, 3, 3));
    let waits = waits(&notices);
    assert_eq!(waits.len(), 3, "{waits:?}");
    assert_eq!(waits[0], "2 secondary rate limit (429, Retry-After)");
    assert!(
        waits[1].ends_with("rate limit spent, waiting for X-RateLimit-Reset"),
        "{waits:?}"
    );
    assert_eq!(waits[2], "1 status 502; retry 1 of 3");
    assert_eq!(replay.count(&page2), 2);
    assert_eq!(replay.count(&pipeline), 2);
}

#[test]
fn a_refused_token_names_what_is_needed() {
    let check = |response: Response, expected: &str| {
        let replay = Replay::start();
        replay.on(&gl::merge_requests_url(PROJECT), vec![response]);
        let (mut client, _) = client(&replay, 5000);
        let err = sync(&mut client, &mut Memory::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}{}: {expected}",
                replay.base,
                gl::merge_requests_url(PROJECT)
            )
        );
        assert!(!err.to_string().contains(TOKEN));
        assert_eq!(
            replay.count(&gl::merge_requests_url(PROJECT)),
            1,
            "not retried"
        );
    };
    // GitLab's answer to a token without the scope (RFC 6750).
    check(
        Response::json(
            403,
            &json!({"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token.", "scope": "api read_api"}),
        )
        .header("WWW-Authenticate", "Bearer realm=\"Protected by OAuth 2.0\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", scope=\"api read_api\""),
        "403 Forbidden: the token cannot read this; it needs the `read_api` scope and at least the Reporter role on the project or group (a personal, group or project access token); the server accepts: scope api read_api",
    );
    check(
        Response::json(404, &json!({"message": "404 Project Not Found"})),
        "404 Not Found: the token cannot read this; it needs the `read_api` scope and at least the Reporter role on the project or group (a personal, group or project access token)",
    );
    check(
        Response::json(401, &json!({"message": "401 Unauthorized"})),
        "401 Unauthorized: the API refused the token; check GITLAB_TOKEN (or [sync.gitlab] token in nextneck.toml) and that it has not expired",
    );
}

#[test]
fn a_groups_projects_through_keyset_links() {
    let replay = Replay::start();
    let projects: Vec<Value> = ["acme/shop", "acme/api", "acme/tools/cli"]
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i + 1, "path_with_namespace": p}))
        .collect();
    let first =
        "/api/v4/groups/acme/projects?include_subgroups=true&order_by=id&sort=asc&per_page=100";
    // Keyset pagination: the next page is a cursor, only in the Link header.
    let next = "/api/v4/groups/acme/projects?cursor=eyJpZCI6IjIifQ&include_subgroups=true&order_by=id&sort=asc&per_page=100";
    replay.on(
        first,
        vec![
            Response::json(200, &json!(projects[..2]))
                .header("Link", &format!("<{{base}}{next}>; rel=\"next\"")),
        ],
    );
    replay.on(next, vec![Response::json(200, &json!(projects[2..]))]);
    let (mut client, _) = client(&replay, 5000);
    assert_eq!(
        group_projects(&mut client, "acme").unwrap(),
        vec!["acme/shop", "acme/api", "acme/tools/cli"]
    );
}
