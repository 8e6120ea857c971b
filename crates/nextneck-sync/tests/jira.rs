//! The Jira sync against the replay server (Jira's documented search
//! examples served in `startAt` pages by API v2, Server and Data Center,
//! and in `nextPageToken` pages by Cloud's enhanced search, API v3): issues
//! with their changelog, Jira's time format for the cursor, a changelog the
//! search cut short fetched whole (the changelog endpoint, else the issue
//! itself), the API chosen by the site's URL, an issue of either API
//! converted alike, basic authentication, and refused credentials.

#![allow(clippy::unwrap_used, missing_docs)]

mod replay;

use nextneck_ingest::{Provider, convert};
use nextneck_sync::jira::{Api, sync_cloud, sync_project, sync_server};
use nextneck_sync::{Client, Counts, Dialect, SyncError};
use replay::jira::{self as jr, sample, serve};
use replay::memory::{Memory, client_of};
use replay::{Replay, Response};
use serde_json::{Value, json};

const KEY: &str = "SHOP";
/// `EMAIL:TOKEN`, as the command passes Jira Cloud's credentials.
const CREDENTIALS: &str = "me@example.com:jira-secret";

fn sync(client: &mut Client, target: &mut Memory) -> Result<Counts, SyncError> {
    let mut counts = Counts::default();
    sync_project(client, target, KEY, None, &mut counts, &mut |_, _| {})?;
    Ok(counts)
}

type SyncOne = fn(
    &mut Client,
    &mut dyn nextneck_sync::Target,
    &str,
    Option<jiff::Timestamp>,
    &mut Counts,
    &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError>;

fn sync_by(how: SyncOne, client: &mut Client, target: &mut Memory) -> Result<Counts, SyncError> {
    let mut counts = Counts::default();
    how(client, target, KEY, None, &mut counts, &mut |_, _| {})?;
    Ok(counts)
}

fn keys(memory: &Memory) -> Vec<String> {
    memory
        .items()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn issues_with_their_changelog_in_pages_then_from_the_cursor() {
    let replay = Replay::start();
    let issues = sample(KEY);
    serve(&replay, KEY, &issues, 2);
    let (mut client, _) = client_of(Dialect::Jira, &replay.base, CREDENTIALS, 5000);
    let mut memory = Memory::default();
    let counts = sync(&mut client, &mut memory).unwrap();
    assert_eq!(counts.issues, 5);
    assert_eq!(memory.batches.len(), 3);
    assert_eq!(
        keys(&memory),
        ["SHOP-5", "SHOP-4", "SHOP-3", "SHOP-2", "SHOP-1"]
    );
    // Basic authentication of EMAIL:TOKEN.
    let basic = "Basic bWVAZXhhbXBsZS5jb206amlyYS1zZWNyZXQ=";
    assert!(
        replay
            .log()
            .iter()
            .all(|r| r.header("authorization") == Some(basic))
    );
    // The cursor is the newest `fields.updated`, read in Jira's format.
    assert_eq!(
        memory.cursors[&format!("jira:{KEY}:issues")],
        r#"{"floor":"2025-03-13T10:00:00Z"}"#
    );
    let mut again = Memory::resuming(&memory);
    let counts = sync(&mut client, &mut again).unwrap();
    assert_eq!(counts.issues, 1, "only the newest again");
}

#[test]
fn a_cloud_project_in_pages_by_next_page_token_then_from_the_cursor() {
    let replay = Replay::start();
    let issues = jr::cloud_sample(KEY);
    jr::serve_cloud(&replay, KEY, &issues, 3);
    let (mut client, _) = client_of(Dialect::Jira, &replay.base, CREDENTIALS, 5000);
    let mut memory = Memory::default();
    let counts = sync_by(sync_cloud, &mut client, &mut memory).unwrap();
    assert_eq!(counts.issues, 5);
    assert_eq!(memory.batches.len(), 2, "two pages");
    assert_eq!(
        keys(&memory),
        ["SHOP-5", "SHOP-4", "SHOP-3", "SHOP-2", "SHOP-1"]
    );
    // The second page was asked for by its token, percent-encoded.
    let second = jr::cloud_page_url(KEY, 1);
    assert!(second.ends_with("&nextPageToken=Ch0jc29ydF9maWVsZHMjdXBkYXRlZA%2F0%3D%3D"));
    let targets: Vec<String> = replay.log().iter().map(|r| r.target.clone()).collect();
    assert_eq!(targets, [jr::cloud_page_url(KEY, 0), second]);
    assert!(
        targets
            .iter()
            .all(|t| t.starts_with("/rest/api/3/search/jql?"))
    );
    assert_eq!(
        memory.cursors[&format!("jira:{KEY}:issues")],
        r#"{"floor":"2025-03-13T10:00:00Z"}"#
    );
    let mut again = Memory::resuming(&memory);
    let counts = sync_by(sync_cloud, &mut client, &mut again).unwrap();
    assert_eq!(counts.issues, 1, "only the newest again");
}

#[test]
fn the_api_follows_the_site_unless_told() {
    // The replay server's URL is not *.atlassian.net: a Server, API v2.
    let replay = Replay::start();
    serve(&replay, KEY, &sample(KEY), 2);
    jr::serve_cloud(&replay, KEY, &jr::cloud_sample(KEY), 2);
    let (mut client, _) = client_of(Dialect::Jira, &replay.base, CREDENTIALS, 5000);
    let v2 = |replay: &Replay| {
        let log = replay.log();
        let v2 = log
            .iter()
            .filter(|r| r.target.starts_with("/rest/api/2/search?"))
            .count();
        (v2, log.len() - v2)
    };
    sync_by(sync_project, &mut client, &mut Memory::default()).unwrap();
    assert_eq!(v2(&replay), (3, 0));
    sync_by(sync_server, &mut client, &mut Memory::default()).unwrap();
    assert_eq!(v2(&replay), (6, 0));
    sync_by(sync_cloud, &mut client, &mut Memory::default()).unwrap();
    assert_eq!(v2(&replay), (6, 3));
    assert_eq!(Api::of_url("https://acme.atlassian.net"), Api::Cloud);
    assert_eq!(Api::of_url(&replay.base), Api::Server);
}

/// The events `nextneck import jira` makes of one stored issue, as JSON,
/// without the description (a string in v2, a document in v3).
fn converted(issue: &Value) -> Value {
    let body = serde_json::to_vec(&[issue]).unwrap();
    let events = convert(Provider::Jira, &[], &body).unwrap().events.unwrap();
    let mut events = serde_json::to_value(events).unwrap();
    for e in events.as_array_mut().unwrap() {
        if let Some(o) = e.pointer_mut("/description") {
            *o = Value::Null;
        }
    }
    events
}

#[test]
fn an_issue_of_either_api_converts_alike() {
    for (v2, v3) in sample(KEY).iter().zip(jr::cloud_sample(KEY).iter()) {
        assert!(v3["fields"]["description"].is_object(), "ADF in v3");
        let (a, b) = (converted(v2), converted(v3));
        let count = b.as_array().unwrap().len();
        assert!(count >= 3, "an issue and its status changes: {b}");
        assert_eq!(a, b);
    }
    // Resolved: the resolution time is read alike from either.
    let resolved = |mut issue: Value| {
        issue["fields"]["resolutiondate"] = json!("2025-03-04T10:00:00.000+0000");
        converted(&issue)
    };
    let statuses = ["To Do", "Done"];
    let v3 = resolved(jr::cloud_issue(KEY, 9, 3, &statuses));
    assert_eq!(v3[0]["closed_at"], json!(1_741_082_400), "{v3}");
    assert_eq!(resolved(jr::issue(KEY, 9, 3, &statuses)), v3);
}

#[test]
fn a_changelog_cut_short_is_fetched_whole() {
    let check = |cloud: bool| {
        let replay = Replay::start();
        let mut issue = jr::issue(KEY, 1, 2, &["To Do", "In Progress", "In Review", "Done"]);
        let whole = issue["changelog"]["histories"].clone();
        // The search held one history of three.
        issue["changelog"] =
            json!({"startAt": 0, "maxResults": 1, "total": 3, "histories": [whole[0]]});
        serve(&replay, KEY, &[issue], 2);
        let changelog = "/rest/api/2/issue/SHOP-1/changelog?startAt=0&maxResults=100";
        let fallback = "/rest/api/2/issue/SHOP-1?expand=changelog&fields=none";
        if cloud {
            replay.on(
                changelog,
                vec![Response::json(200, &json!({"startAt": 0, "maxResults": 100, "total": 3, "isLast": true, "values": whole}))],
            );
        } else {
            replay.on(
                fallback,
                vec![Response::json(200, &json!({"key": "SHOP-1", "changelog": {"startAt": 0, "maxResults": 3, "total": 3, "histories": whole}}))],
            );
        }
        let (mut client, _) = client_of(Dialect::Jira, &replay.base, "server-pat", 5000);
        let mut memory = Memory::default();
        sync(&mut client, &mut memory).unwrap();
        let stored: Vec<Value> = memory.items();
        assert_eq!(stored[0]["changelog"]["histories"], whole, "cloud: {cloud}");
        assert_eq!(replay.count(fallback), usize::from(!cloud));
        // A token without EMAIL: is a Server or Data Center bearer token.
        assert!(
            replay
                .log()
                .iter()
                .all(|r| r.header("authorization") == Some("Bearer server-pat"))
        );
    };
    check(true);
    check(false);
}

#[test]
fn a_cloud_changelog_cut_short_is_fetched_whole_from_api_v3() {
    let replay = Replay::start();
    let mut issue = jr::cloud_issue(KEY, 1, 2, &["To Do", "In Progress", "In Review", "Done"]);
    let whole = issue["changelog"]["histories"].clone();
    issue["changelog"] =
        json!({"startAt": 0, "maxResults": 1, "total": 3, "histories": [whole[0]]});
    jr::serve_cloud(&replay, KEY, &[issue], 2);
    let changelog = "/rest/api/3/issue/SHOP-1/changelog?startAt=0&maxResults=100";
    replay.on(
        changelog,
        vec![Response::json(
            200,
            &json!({"startAt": 0, "maxResults": 100, "total": 3, "isLast": true, "values": whole}),
        )],
    );
    let (mut client, _) = client_of(Dialect::Jira, &replay.base, CREDENTIALS, 5000);
    let mut memory = Memory::default();
    sync_by(sync_cloud, &mut client, &mut memory).unwrap();
    assert_eq!(memory.items()[0]["changelog"]["histories"], whole);
    assert_eq!(replay.count(changelog), 1);
}

#[test]
fn refused_credentials_name_what_is_needed() {
    let check = |status: u16, expected: &str| {
        let replay = Replay::start();
        replay.on(
            &jr::search_url(KEY),
            vec![Response::json(status, &json!({"errorMessages": ["You do not have the permission to see the specified project."], "errors": {}}))],
        );
        let (mut client, _) = client_of(Dialect::Jira, &replay.base, CREDENTIALS, 5000);
        let err = sync(&mut client, &mut Memory::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}{}: {expected}", replay.base, jr::search_url(KEY))
        );
        assert!(!err.to_string().contains("jira-secret"));
    };
    check(
        401,
        "401 Unauthorized: the API refused the token; check JIRA_EMAIL and JIRA_API_TOKEN (or [sync.jira] email and token in nextneck.toml) and that it has not expired",
    );
    check(
        403,
        "403 Forbidden: the token cannot read this; it needs the \"Browse projects\" permission on the project (for an OAuth or scoped token, the `read:jira-work` scope)",
    );
    // Jira answers a search of a project it hides with 400 and the message.
    check(
        400,
        "status 400 after 1 attempts: You do not have the permission to see the specified project.",
    );
}
