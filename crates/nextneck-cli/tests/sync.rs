//! `nextneck sync` end to end against a replay server (a real HTTP server
//! answering GitHub-shaped pages built from ../shared/fixtures, and GitLab,
//! PagerDuty and Jira pages built from their API references' examples in
//! nextneck-sync/tests/replay): for each provider the same report as
//! importing the same data as files, a sync killed with SIGKILL and resumed
//! giving it too; a second sync that stores nothing new, and the exit codes
//! of usage errors and refused tokens.

#![allow(clippy::unwrap_used, missing_docs)]

mod live;
#[path = "../../nextneck-sync/tests/replay/mod.rs"]
mod replay;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use live::*;
use nextneck_testkit::{check, fixture};
use replay::github::{self as gh, Repo, sample, serve};
use replay::gitlab as gl;
use replay::jira as jr;
use replay::pagerduty as pd;
use replay::{Replay, Response};
use serde_json::{Value, json};

const REPO: &str = "acme/shop";

both_backends!(
    a_sync_gives_the_report_of_an_import_of_the_same_data,
    a_sync_killed_midway_resumes_without_gaps_or_double_counts,
    a_gitlab_sync_gives_the_report_of_an_import_and_resumes_after_kill,
    a_pagerduty_sync_gives_the_report_of_an_import_and_resumes_after_kill,
    a_jira_sync_gives_the_flow_of_an_import_and_resumes_after_kill,
    a_jira_cloud_sync_by_next_page_token_gives_the_same_flow_and_resumes_after_kill,
    a_gitlab_incident_seen_by_sync_and_by_webhook_counts_once,
    a_github_incident_closed_reopened_and_closed_is_resolved_at_its_last_close,
    an_organisation_syncs_as_the_repositories_it_lists,
    a_group_syncs_as_the_projects_it_lists,
);

/// The tokens of every provider (fakes) and none of the real ones.
const TOKENS: [(&str, &str); 4] = [
    ("GITHUB_TOKEN", "ghp_test_token"),
    ("GITLAB_TOKEN", "glpat-test-token"),
    ("PAGERDUTY_TOKEN", "pd-test-token"),
    ("JIRA_API_TOKEN", "jira-test-token"),
];

/// `nextneck sync ARGS --db DB --wait-unit-ms 1` with the test tokens.
fn sync_command(dir: &Path, args: &[&str], db: &str) -> std::process::Command {
    let mut cmd = nextneck(dir);
    cmd.arg("sync")
        .args(args)
        .args(["--db", db, "--wait-unit-ms", "1"])
        .env_remove("NEXTNECK_GITHUB_TOKEN")
        .env_remove("JIRA_EMAIL")
        .stdin(Stdio::null());
    for (k, v) in TOKENS {
        cmd.env(k, v);
    }
    cmd
}

fn sync_with(dir: &Path, args: &[&str], db: &str) -> (i32, String, String) {
    let out = sync_command(dir, args, db).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn sync(dir: &Path, replay: &Replay, db: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["github", "--repo", REPO, "--api-url", &replay.base];
    args.extend_from_slice(extra);
    sync_with(dir, &args, db)
}

/// Starts `nextneck sync ARGS`, waits until `hang` (a target answered late)
/// is asked for, and kills the process with SIGKILL.
fn sync_killed_at(dir: &Path, args: &[&str], db: &str, replay: &Replay, hang: &str) {
    let mut child = sync_command(dir, args, db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while replay.count(hang) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{hang} never asked for"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The report of a fresh store into which `files` were imported as
/// `nextneck import PROVIDER`.
fn report_of_import(provider: &str, files: &[(&str, Value)]) -> Value {
    let db = sqlite();
    let mut args = vec![
        "import".to_owned(),
        provider.to_owned(),
        "--db".to_owned(),
        db.url.clone(),
    ];
    for (name, value) in files {
        let path = db.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(db.dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    report(db.dir.path(), &db.url)
}

fn report(dir: &Path, url: &str) -> Value {
    report_between(dir, url, "2025-03-01", "2025-04-01")
}

/// `report --format json` of the window `since` to `until`.
fn report_between(dir: &Path, url: &str, since: &str, until: &str) -> Value {
    let (code, out, err) = run(
        dir,
        &[
            "report", "--db", url, "--since", since, "--until", until, "--format", "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut report: Value = serde_json::from_str(&out).unwrap();
    // Where the store is differs; everything else must not.
    report["source"]["db"] = Value::Null;
    report
}

/// The same history as files, the way docs/events.md says to export it:
/// pulls with their commits and reviews, deployments with their statuses,
/// the runs' pages (each run with its jobs), the releases and the issues.
fn imported_report(repo: &Repo) -> Value {
    let pulls: Vec<Value> = repo
        .pulls
        .iter()
        .map(|(p, reviews, commits)| {
            let mut p = p.clone();
            p["reviews"] = json!(reviews);
            p["commits"] = json!(commits);
            p
        })
        .collect();
    let deployments: Vec<Value> = repo
        .deployments
        .iter()
        .map(|(d, statuses)| {
            let mut d = d.clone();
            d["statuses"] = json!(statuses);
            d
        })
        .collect();
    let runs: Vec<Value> = repo
        .runs
        .iter()
        .zip(&repo.jobs)
        .map(|(r, jobs)| {
            let mut r = r.clone();
            r["jobs"] = json!(jobs);
            r
        })
        .collect();
    report_of_import(
        "github",
        &[
            ("pulls.json", json!(pulls)),
            ("deployments.json", json!(deployments)),
            (
                "runs.json",
                json!({"total_count": repo.runs.len(), "workflow_runs": runs}),
            ),
            ("releases.json", json!(repo.releases)),
            ("issues.json", json!(repo.issues)),
        ],
    )
}

fn deliveries(url: &str) -> usize {
    nextneck_store::open(url)
        .unwrap()
        .deliveries()
        .unwrap()
        .len()
}

fn a_sync_gives_the_report_of_an_import_of_the_same_data(db: Db) {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    let dir = db.dir.path();
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("synced 1 repository into {}: 5 pull requests (5 reviews), 3 deployments, 3 workflow runs (3 jobs), 2 releases, 2 issues; 15 items stored, 15 new, 0 already stored; ", db.url)),
        "{out}"
    );
    assert!(!out.contains("ghp_test_token") && !err.contains("ghp_test_token"));
    let synced = report(dir, &db.url);
    assert_eq!(synced["dora"]["deployments"]["count"], json!(3), "{synced}");
    assert_eq!(synced["dora"]["lead_time"]["changes"], json!(4), "{synced}");
    assert_eq!(synced["stages"][2]["name"], json!("review"));
    assert_eq!(
        synced["stages"][2]["changes"],
        json!(4),
        "reviews came with the pulls"
    );
    assert_eq!(synced, imported_report(&repo));

    // A second sync: the pulls list is not modified (304), the others
    // fetch their newest item again, which is already stored.
    gh::serve_second_run(&replay, &repo);
    let before = deliveries(&db.url);
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(": 0 pull requests (0 reviews), 1 deployments, 1 workflow runs (1 jobs), 1 releases, 1 issues; 4 items stored, 0 new, 4 already stored; "),
        "{out}"
    );
    assert_eq!(deliveries(&db.url), before);
    assert_eq!(report(dir, &db.url), synced);
}

fn a_sync_killed_midway_resumes_without_gaps_or_double_counts(db: Db) {
    let replay = Replay::start();
    let repo = sample(REPO);
    // The third page of pulls hangs: the sync is killed while waiting for it,
    // after the first two pages were committed.
    let page3 = format!("{}&page=3", gh::pulls_url(REPO));
    replay.on(
        &page3,
        vec![Response::json(200, &json!([])).delayed(Duration::from_secs(20))],
    );
    serve(&replay, &repo, 2);
    let dir = db.dir.path();
    let args = ["github", "--repo", REPO, "--api-url", &replay.base];
    sync_killed_at(dir, &args, &db.url, &replay, &page3);
    assert_eq!(deliveries(&db.url), 4, "pulls 5 to 2 were committed");
    // The resumed run walks the pulls again (the cursor did not move) and
    // gets the real third page this time.
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("15 items stored, 11 new, 4 already stored"),
        "{out}"
    );
    assert_eq!(report(dir, &db.url), imported_report(&repo));
}

#[test]
fn usage_errors_and_refused_tokens() {
    let db = sqlite();
    let dir = db.dir.path();
    let replay = Replay::start();
    let (code, _, err) = sync(dir, &replay, &db.url, &["--since", "last week"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since: `last week` is not a date"), "{err}");
    let (code, _, err) = run(dir, &["sync", "github", "--db", &db.url]);
    assert_eq!(code, 2, "{err}");
    replay.on(
        &gh::pulls_url(REPO),
        vec![Response::json(
            403,
            &json!({"message": "Resource not accessible by personal access token", "status": "403"}),
        )
        .header("X-Accepted-GitHub-Permissions", "pull_requests=read")],
    );
    let (code, out, err) = sync(dir, &replay, &db.url, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("sync of acme/shop stopped; what was stored so far is kept, run the same command again to continue: ")
            && err.contains("403 Forbidden: the token cannot read this; it needs read access to pull requests (a fine-grained token's \"Pull requests: read\")"),
        "{err}"
    );
    assert!(!err.contains("ghp_test_token"));
}

#[test]
fn usage_errors_of_the_other_providers() {
    let db = sqlite();
    let dir = db.dir.path();
    let check = |args: &[&str], unset: &[&str], expected: &str| {
        let mut cmd = sync_command(dir, args, &db.url);
        for var in unset {
            cmd.env_remove(var);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    };
    check(
        &["gitlab", "--project", "shop"],
        &[],
        "--project: `shop` is not GROUP/NAME",
    );
    check(
        &["pagerduty", "--service", "PIJ90N7"],
        &["PAGERDUTY_TOKEN"],
        "no token: set PAGERDUTY_TOKEN",
    );
    check(
        &["pagerduty", "--service", "a/b"],
        &[],
        "--service: `a/b` is not a service ID",
    );
    check(
        &["jira", "--project", "SHOP"],
        &[],
        "--api-url is required for jira",
    );
    check(
        &[
            "jira",
            "--project",
            "SHOP",
            "--api-url",
            "http://127.0.0.1:1",
        ],
        &["JIRA_API_TOKEN"],
        "no token: set JIRA_EMAIL and JIRA_API_TOKEN",
    );
    let jira = [
        "jira",
        "--project",
        "SHOP",
        "--api-url",
        "http://127.0.0.1:1",
    ];
    check(
        &[&jira[..], &["--jira-api", "dc"]].concat(),
        &[],
        "invalid value 'dc' for '--jira-api <API>'",
    );
    let config = dir.join("jira.toml");
    std::fs::write(&config, "[sync.jira]\napi = \"dc\"\n").unwrap();
    check(
        &[&jira[..], &["--config", config.to_str().unwrap()]].concat(),
        &[],
        "api in [sync.jira]: `dc` is neither cloud nor server; use cloud for a Jira Cloud site (API v3), server for Jira Server or Data Center (API v2)",
    );
}

/// The same GitLab history as files, the way `glab api --paginate` exports
/// it, with what a sync attaches: merge requests with their commits and
/// notes, pipelines (single-pipeline shape) with their jobs.
fn gitlab_imported_report(project: &gl::Project) -> Value {
    let mrs: Vec<Value> = project
        .merge_requests
        .iter()
        .map(|(m, commits, notes)| {
            let mut m = m.clone();
            m["commits"] = json!(commits);
            m["notes"] = json!(notes);
            m
        })
        .collect();
    let pipelines: Vec<Value> = project
        .pipelines
        .iter()
        .map(|(_, full, jobs)| {
            let mut p = full.clone();
            p["jobs"] = json!(jobs);
            p
        })
        .collect();
    report_of_import(
        "gitlab",
        &[
            ("merge_requests.json", json!(mrs)),
            ("deployments.json", json!(project.deployments)),
            ("pipelines.json", json!(pipelines)),
            ("releases.json", json!(project.releases)),
            ("issues.json", json!(project.issues)),
        ],
    )
}

fn a_gitlab_sync_gives_the_report_of_an_import_and_resumes_after_kill(db: Db) {
    let project = gl::sample(REPO);
    let expected = gitlab_imported_report(&project);
    // The first deployment is the baseline: the two after it shipped one
    // merge request each, commented on and approved. The incident issue,
    // resolved in 2.5 hours; the other issue is none.
    check(
        &expected,
        &[
            ("/dora/deployments/count", json!(3)),
            ("/dora/lead_time/changes", json!(2)),
            ("/stages/2/name", json!("review")),
            ("/stages/2/changes", json!(2)),
            ("/ci/workflows/0/runs", json!(3)),
            ("/incidents/count", json!(1)),
            ("/incidents/time_to_restore/median_seconds", json!(9_000.0)),
        ],
    );

    // The second page of merge requests hangs: killed while waiting for it.
    let replay = Replay::start();
    let page2 = format!("{}&page=2", gl::merge_requests_url(REPO));
    replay.on(
        &page2,
        vec![Response::json(200, &json!([])).delayed(Duration::from_secs(20))],
    );
    gl::serve(&replay, &project, 2);
    let api = format!("{}/api/v4", replay.base);
    let args = ["gitlab", "--project", REPO, "--api-url", &api];
    let dir = db.dir.path();
    sync_killed_at(dir, &args, &db.url, &replay, &page2);
    assert_eq!(
        deliveries(&db.url),
        2,
        "merge requests 4 and 3 were committed"
    );

    let (code, out, err) = sync_with(dir, &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("synced 1 project into {}: 4 merge requests (12 notes), 3 deployments, 3 pipelines (6 jobs), 2 releases, 2 issues; 14 items stored, 12 new, 2 already stored; ", db.url)),
        "{out}"
    );
    assert!(!out.contains("glpat-test-token") && !err.contains("glpat-test-token"));
    assert_eq!(report(dir, &db.url), expected);
}

/// The recorded GitLab approval hook (../shared/fixtures) set to approve
/// merge request `mr` of `project` as its approval `note` says: by the
/// note's author, at the note's time (the hook's only time is the merge
/// request's `updated_at`).
fn approval_hook(project: &str, mr: &Value, commits: &[Value], note: &Value) -> Value {
    let mut hook = read_fixture("gitlab/merge_request_hook__merge_request_approved.json");
    hook["project"]["path_with_namespace"] = json!(project);
    hook["user"] = json!({"id": note["author"]["id"], "name": note["author"]["name"],
        "username": note["author"]["username"]});
    let attrs = &mut hook["object_attributes"];
    for k in [
        "id",
        "iid",
        "title",
        "created_at",
        "source_branch",
        "target_branch",
    ] {
        attrs[k] = mr[k].clone();
    }
    attrs["author_id"] = mr["author"]["id"].clone();
    attrs["updated_at"] = note["created_at"].clone();
    attrs["last_commit"]["id"] = commits[0]["id"].clone();
    attrs["last_commit"]["timestamp"] = commits[0]["authored_date"].clone();
    hook
}

fn read_fixture(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(rel)).unwrap()).unwrap()
}

/// The distinct ids of the stored reviews.
fn review_ids(url: &str) -> std::collections::BTreeSet<String> {
    let mut store = nextneck_store::open(url).unwrap();
    store
        .events()
        .unwrap()
        .iter()
        .filter(|e| e.event.kind() == "review")
        .map(|e| e.event.entity_id())
        .collect()
}

/// Issue 15: the approval GitLab's hook reports and the system note a sync
/// reads are one review, so a store fed by both has the reviews and the
/// report of the sync alone.
#[test]
fn a_gitlab_approval_seen_by_webhook_and_by_sync_counts_once() {
    let mut project = gl::sample(REPO);
    // Approvals only, so that each is its merge request's first review.
    for (_, _, notes) in &mut project.merge_requests {
        notes.retain(|n| n["body"] == json!("approved this merge request"));
    }
    let replay = Replay::start();
    gl::serve(&replay, &project, 2);
    let api = format!("{}/api/v4", replay.base);
    let args = ["gitlab", "--project", REPO, "--api-url", &api];
    let synced_only = sqlite();
    let (code, _, err) = sync_with(synced_only.dir.path(), &args, &synced_only.url);
    assert_eq!(code, 0, "{err}");
    let expected = report(synced_only.dir.path(), &synced_only.url);
    assert_eq!(expected["stages"][1]["name"], json!("pickup"), "{expected}");
    assert_eq!(expected["stages"][1]["changes"], json!(2), "{expected}");
    assert_eq!(review_ids(&synced_only.url).len(), 4);

    let both = sqlite();
    let dir = both.dir.path();
    let mut import = vec![
        "import".to_owned(),
        "gitlab".to_owned(),
        "--db".to_owned(),
        both.url.clone(),
    ];
    for (mr, commits, notes) in &project.merge_requests {
        let path = dir.join(format!("approved-{}.json", mr["iid"]));
        let hook = approval_hook(REPO, mr, commits, &notes[0]);
        std::fs::write(&path, serde_json::to_vec(&hook).unwrap()).unwrap();
        import.push(path.display().to_string());
    }
    let import: Vec<&str> = import.iter().map(String::as_str).collect();
    let (code, out, err) = run(dir, &import);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 new, 0 already stored; 8 events"), "{out}");
    let (code, _, err) = sync_with(dir, &args, &both.url);
    assert_eq!(code, 0, "{err}");
    assert_eq!(review_ids(&both.url), review_ids(&synced_only.url));
    // The same report; only the count of observations read differs (the
    // sync's 16, its 2 releases, and the 8 of the hooks).
    let mut got = report(dir, &both.url);
    assert_eq!(got["source"]["events"], json!(16 + 2 + 8));
    got["source"]["events"] = expected["source"]["events"].clone();
    assert_eq!(got, expected);
}

/// Issue 15: a closed GitLab incident as `sync gitlab` lists it (built from
/// the recorded issue webhook's project, iid and times), then that webhook
/// itself (../shared/fixtures, as recorded) delivered to `serve`: one
/// incident, resolved, with its time to restore, and the same report as the
/// sync alone.
fn a_gitlab_incident_seen_by_sync_and_by_webhook_counts_once(db: Db) {
    let rel = "gitlab/issue_hook__incident_closed.json";
    let hook = read_fixture(rel);
    let attrs = &hook["object_attributes"];
    let path = hook["project"]["path_with_namespace"].as_str().unwrap();
    let mut listed = gl::issue(
        path,
        attrs["iid"].as_u64().unwrap(),
        "incident",
        attrs["created_at"].as_str().unwrap(),
        attrs["closed_at"].as_str(),
    );
    for k in ["title", "description", "updated_at"] {
        listed[k] = attrs[k].clone();
    }
    let replay = Replay::start();
    gl::serve(&replay, &gl::only_issues(path, vec![listed]), 2);
    let api = format!("{}/api/v4", replay.base);
    let dir = db.dir.path();
    let args = ["gitlab", "--project", path, "--api-url", &api];
    let (code, out, err) = sync_with(dir, &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(", 1 issues; 1 items stored, 1 new"), "{out}");
    let window = |url: &str| report_between(dir, url, "2026-05-01", "2026-06-01");
    let synced = window(&db.url);
    // Opened 06:09:06.964, closed 06:11:46.057: 160 s, times being kept
    // to the second.
    check(
        &synced,
        &[
            ("/incidents/count", json!(1)),
            ("/incidents/resolved", json!(1)),
            ("/incidents/time_to_restore/incidents", json!(1)),
            ("/incidents/time_to_restore/median_seconds", json!(160.0)),
            ("/incidents/without_postmortem/0/source", json!("gitlab")),
            ("/incidents/without_postmortem/0/title", json!("Testing")),
            (
                "/incidents/without_postmortem/0/id",
                json!("sathwikshetty33-group/mVc#6"),
            ),
        ],
    );

    let server = Server::start(&db);
    let (status, body) = post(
        server.addr,
        "/hooks/gitlab",
        &[
            ("x-gitlab-token", GITLAB_TOKEN.to_owned()),
            ("x-gitlab-event", "Issue Hook".to_owned()),
            ("content-type", "application/json".to_owned()),
        ],
        &fixture(rel),
    )
    .unwrap();
    assert!(status < 300, "{status} {body}");
    wait_processed(&db.url);
    server.kill();
    assert_eq!(deliveries(&db.url), 2, "the sync's and the webhook's");
    let mut both = window(&db.url);
    assert_eq!(both["source"]["events"], json!(2));
    both["source"]["events"] = synced["source"]["events"].clone();
    assert_eq!(both, synced);
}

/// Issue 15: GitHub's issue list gives an issue's latest state, so an
/// incident (labelled `incident`) needs no timeline: closed, then reopened,
/// then closed again, each sync's report has one incident, resolved at its
/// last close (time to restore from its creation).
fn a_github_incident_closed_reopened_and_closed_is_resolved_at_its_last_close(db: Db) {
    let replay = Replay::start();
    let created = "2025-03-10T08:00:00Z";
    let first = "2025-03-10T10:00:00Z";
    let incident = gh::incident(REPO, 50, created, Some(first), first);
    serve(&replay, &gh::only_issues(REPO, vec![incident]), 2);
    let dir = db.dir.path();
    let check_synced = |resolved: u64, restore: Value| {
        let (code, out, err) = sync(dir, &replay, &db.url, &[]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(", 1 issues; 1 items stored, 1 new"), "{out}");
        let r = report(dir, &db.url);
        check(
            &r,
            &[
                ("/incidents/count", json!(1)),
                ("/incidents/resolved", json!(resolved)),
                ("/incidents/time_to_restore/median_seconds", restore),
            ],
        );
    };
    check_synced(1, json!(7_200));
    // Reopened: the list has it open, without `closed_at`.
    let reopened = "2025-03-11T09:00:00Z";
    let since = |floor: &str| format!("{}&since={floor}", gh::issues_url(REPO));
    let open = gh::incident(REPO, 50, created, None, reopened);
    for (target, r) in gh::pages(&since(first), &[open], 2, false) {
        replay.set(&target, vec![r]);
    }
    check_synced(0, Value::Null);
    // Closed again: its last close counts.
    let last = "2025-03-11T12:00:00Z";
    let closed = gh::incident(REPO, 50, created, Some(last), last);
    for (target, r) in gh::pages(&since(reopened), &[closed], 2, false) {
        replay.set(&target, vec![r]);
    }
    check_synced(1, json!(28 * 3_600));
}

fn a_pagerduty_sync_gives_the_report_of_an_import_and_resumes_after_kill(db: Db) {
    let service = pd::sample("PIJ90N7");
    let incidents: Vec<Value> = service
        .incidents
        .iter()
        .map(|(i, entries)| {
            let mut i = i.clone();
            i["log_entries"] = json!(entries);
            i
        })
        .collect();
    let expected = report_of_import(
        "pagerduty",
        &[("incidents.json", json!({"incidents": incidents}))],
    );
    check(
        &expected,
        &[
            ("/incidents/count", json!(4)),
            ("/incidents/resolved", json!(3)),
        ],
    );

    // The second page of incidents hangs: killed while waiting for it.
    let replay = Replay::start();
    let page2 = pd::incidents_url("PIJ90N7").replace("offset=0", "offset=2");
    replay.on(
        &page2,
        vec![Response::json(200, &json!({"incidents": []})).delayed(Duration::from_secs(20))],
    );
    pd::serve(&replay, &service, 2);
    let args = [
        "pagerduty",
        "--service",
        "PIJ90N7",
        "--api-url",
        &replay.base,
    ];
    let dir = db.dir.path();
    sync_killed_at(dir, &args, &db.url, &replay, &page2);
    assert_eq!(deliveries(&db.url), 2, "incidents 4 and 3 were committed");

    let (code, out, err) = sync_with(dir, &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("synced 1 service into {}: 4 incidents (11 log entries); 4 items stored, 2 new, 2 already stored; ", db.url)),
        "{out}"
    );
    assert_eq!(report(dir, &db.url), expected);
}

/// `nextneck flow --db URL --stream jira:SHOP`, without where it was read.
fn jira_flow(dir: &Path, url: &str) -> Value {
    let (code, out, err) = run(
        dir,
        &[
            "flow",
            "--db",
            url,
            "--stream",
            "jira:SHOP",
            "--all",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut flow: Value = serde_json::from_str(&out).unwrap();
    // Where the store is and its kind differ; everything else must not.
    flow["source"]["db"] = Value::Null;
    flow["source"]["files"] = Value::Null;
    flow
}

/// The flow of the Jira sample imported as a search export file (API v2).
fn jira_imported_flow() -> Value {
    let issues = jr::sample("SHOP");
    let imported = sqlite();
    let search = json!({"startAt": 0, "maxResults": 50, "total": issues.len(), "issues": issues});
    let file = imported.dir.path().join("search.json");
    std::fs::write(&file, serde_json::to_vec(&search).unwrap()).unwrap();
    let (code, _, err) = run(
        imported.dir.path(),
        &[
            "import",
            "jira",
            "--db",
            &imported.url,
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let expected = jira_flow(imported.dir.path(), &imported.url);
    assert_eq!(expected["flow"]["completed"], json!(4), "{expected}");
    assert_eq!(expected["flow"]["wip"], json!(1), "{expected}");
    expected
}

fn a_jira_sync_gives_the_flow_of_an_import_and_resumes_after_kill(db: Db) {
    let issues = jr::sample("SHOP");
    let expected = jira_imported_flow();

    // The third page of the search hangs: killed while waiting for it.
    let replay = Replay::start();
    let first = jr::search_url("SHOP");
    let page3 = nextneck_sync::walk::with_query(&first, "startAt", 4);
    replay.on(
        &page3,
        vec![
            Response::json(
                200,
                &json!({"startAt": 4, "maxResults": 2, "total": 5, "issues": []}),
            )
            .delayed(Duration::from_secs(20)),
        ],
    );
    jr::serve(&replay, "SHOP", &issues, 2);
    let args = ["jira", "--project", "SHOP", "--api-url", &replay.base];
    let dir = db.dir.path();
    sync_killed_at(dir, &args, &db.url, &replay, &page3);
    assert_eq!(deliveries(&db.url), 4, "issues 5 to 2 were committed");

    let (code, out, err) = sync_with(dir, &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "synced 1 project into {}: 5 issues; 5 items stored, 1 new, 4 already stored; ",
            db.url
        )),
        "{out}"
    );
    assert_eq!(jira_flow(dir, &db.url), expected);
    // Not *.atlassian.net and not told otherwise: a Server, API v2.
    assert!(
        replay
            .log()
            .iter()
            .all(|r| r.target.starts_with("/rest/api/2/search?")),
        "{:?}",
        replay.log()
    );
}

/// Jira Cloud (`--jira-api cloud`, as a `*.atlassian.net` URL would choose):
/// the enhanced search of API v3 over two pages by `nextPageToken`, the
/// issues as v3 gives them, the same flow as the v2 export's.
fn a_jira_cloud_sync_by_next_page_token_gives_the_same_flow_and_resumes_after_kill(db: Db) {
    let expected = jira_imported_flow();
    let issues = jr::cloud_sample("SHOP");
    // The second page hangs: killed while waiting for it.
    let replay = Replay::start();
    let page2 = jr::cloud_page_url("SHOP", 1);
    replay.on(
        &page2,
        vec![
            Response::json(200, &json!({"issues": [], "isLast": true}))
                .delayed(Duration::from_secs(20)),
        ],
    );
    jr::serve_cloud(&replay, "SHOP", &issues, 3);
    let args = [
        "jira",
        "--project",
        "SHOP",
        "--api-url",
        &replay.base,
        "--jira-api",
        "cloud",
    ];
    let dir = db.dir.path();
    sync_killed_at(dir, &args, &db.url, &replay, &page2);
    assert_eq!(deliveries(&db.url), 3, "the first page was committed");

    let (code, out, err) = sync_with(dir, &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "synced 1 project into {}: 5 issues; 5 items stored, 2 new, 3 already stored; ",
            db.url
        )),
        "{out}"
    );
    assert_eq!(jira_flow(dir, &db.url), expected);
    let targets: Vec<String> = replay.log().iter().map(|r| r.target.clone()).collect();
    assert!(
        targets
            .iter()
            .all(|t| t.starts_with("/rest/api/3/search/jql?")),
        "{targets:?}"
    );
    assert_eq!(
        targets.iter().filter(|t| **t == page2).count(),
        2,
        "{targets:?}"
    );
}

#[test]
fn serve_runs_the_configured_syncs_at_its_start() {
    use std::io::{BufRead, BufReader};

    let db = sqlite();
    let dir = db.dir.path();
    let project = gl::sample(REPO);
    let replay = Replay::start();
    gl::serve(&replay, &project, 2);
    std::fs::write(
        dir.join("nextneck.toml"),
        format!(
            "[sync]\nevery_minutes = 60\n\n[sync.gitlab]\napi_url = \"{}/api/v4\"\nprojects = [\"{REPO}\"]\n",
            replay.base
        ),
    )
    .unwrap();
    let mut child = nextneck(dir)
        .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
        .env("GITLAB_TOKEN", "glpat-test-token")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    for _ in 0..3 {
        stdout.read_line(&mut banner).unwrap();
    }
    assert!(
        banner.contains("syncing every 60 minutes, and now: gitlab --project acme/shop"),
        "{banner}"
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 || line.contains("sync") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("nextneck serve: synced 1 project into ")
            && line.contains("14 items stored, 14 new"),
        "{line}"
    );
    assert!(!line.contains("glpat-test-token"));
    assert_eq!(report(dir, &db.url), gitlab_imported_report(&project));
}

/// `sync github --org`: the organisation's listing names the repositories,
/// each synced as `--repo` would; the report is that of importing the same
/// data.
fn an_organisation_syncs_as_the_repositories_it_lists(db: Db) {
    let replay = Replay::start();
    let repo = sample(REPO);
    serve(&replay, &repo, 2);
    replay.on(
        "/orgs/acme/repos?type=all&per_page=100",
        vec![Response::json(200, &json!([{"full_name": REPO}]))],
    );
    let args = ["github", "--org", "acme", "--api-url", &replay.base];
    let (code, out, err) = sync_with(db.dir.path(), &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("synced 1 repository into "), "{out}");
    assert_eq!(report(db.dir.path(), &db.url), imported_report(&repo));
}

/// `sync gitlab --group`: the group's listing (subgroups included) names
/// the projects, each synced as `--project` would; the report is that of
/// importing the same data.
fn a_group_syncs_as_the_projects_it_lists(db: Db) {
    let replay = Replay::start();
    let project = gl::sample(REPO);
    gl::serve(&replay, &project, 2);
    replay.on(
        "/api/v4/groups/acme/projects?include_subgroups=true&order_by=id&sort=asc&per_page=100",
        vec![Response::json(200, &json!([{"path_with_namespace": REPO}]))],
    );
    let api = format!("{}/api/v4", replay.base);
    let args = ["gitlab", "--group", "acme", "--api-url", &api];
    let (code, out, err) = sync_with(db.dir.path(), &args, &db.url);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        report(db.dir.path(), &db.url),
        gitlab_imported_report(&project),
        "{out}"
    );
}
