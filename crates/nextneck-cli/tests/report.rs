//! End-to-end tests of `nextneck report` on real repositories with fixed
//! dates. Every expected figure is computed by hand in the comments from
//! the definitions in docs/metrics.md.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};

/// The main scenario. Days are counted from 2024-01-01.
///
/// ```text
/// c1   d0 09:00                         v0.1.0 (lightweight: baseline), api/v2.1.0, tokio-1.38.0
/// c2   authored d1 10:00
/// c3   authored d2 10:00, committed d3 10:00
///                                       v0.2.0 annotated at d4 10:00
///   f1 (branch) d5 09:00
///   f2 (branch) d6 09:00
/// m1   merge at d7 09:00                v0.3.0 (lightweight, d7 09:00), 0.3.0 (annotated d8), v0.3.0-rc1
/// c4   "Hotfix: login" d8 12:00
/// r1   revert of f1 at d9 12:00         v0.3.1 annotated at d10 12:00
/// c5   authored d20, committed d11 08:00  v0.4.0 (lightweight, d11 08:00): negative lead time
///                                       v9.9.9 -> a tree: skipped
/// ```
struct Scenario {
    repo: Repo,
    c2: String,
    f1: String,
    r1: String,
    m1: String,
}

fn scenario() -> Scenario {
    let mut repo = Repo::new();
    let c1 = repo.commit("initial", at(0, 9), at(0, 9));
    repo.tag("v0.1.0", &c1);
    repo.tag("api/v2.1.0", &c1);
    repo.tag("tokio-1.38.0", &c1);
    let c2 = repo.commit("add search", at(1, 10), at(1, 10));
    let c3 = repo.commit("add index", at(2, 10), at(3, 10));
    repo.tag_annotated("v0.2.0", &c3, at(4, 10));
    repo.checkout(&["-b", "feature"]);
    let f1 = repo.commit("feature part one", at(5, 9), at(5, 9));
    repo.commit("feature part two", at(6, 9), at(6, 9));
    repo.checkout(&["main"]);
    let m1 = repo.merge("feature", at(7, 9));
    repo.tag("v0.3.0", &m1);
    repo.tag_annotated("0.3.0", &m1, at(8, 0));
    repo.tag("v0.3.0-rc1", &m1);
    repo.commit("Hotfix: login", at(8, 12), at(8, 12));
    let r1 = repo.revert(&f1, at(9, 12));
    repo.tag_annotated("v0.3.1", &r1, at(10, 12));
    let c5 = repo.commit("from the future", at(20, 0), at(11, 8));
    repo.tag("v0.4.0", &c5);
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"], None, None);
    repo.tag("v9.9.9", &tree);
    let _ = c3;
    Scenario {
        repo,
        c2,
        f1,
        r1,
        m1,
    }
}

#[test]
fn whole_history_figures() {
    let s = scenario();
    let r = report_json(s.repo.path(), &["--all"]);
    // Window: the day of c1 to the end of the day of the newest event (c5,
    // committed d11 08:00): 12 days.
    // Deployments: v0.1.0 d0 09:00 (baseline), v0.2.0 d4 10:00, v0.3.0
    // d7 09:00, v0.3.1 d10 12:00, v0.4.0 d11 08:00.
    // Lead times (counted): c2 3d, c3 2d, f1 2d, f2 1d, c4 2d, r1 1d;
    // c5 is negative and dropped; c1 belongs to the baseline.
    // Sorted 1d 1d 2d 2d 2d 3d: median 2d, p85 at rank 4.25 = 2.25d.
    // coding: c2 0, c3 1d, f1 2d, f2 1d, c4 0, r1 0 = 4d in all;
    // deploy: c2 3d, c3 1d, f1 0, f2 0, c4 2d, r1 1d = 7d in all.
    // v0.3.0 failed: f1 reverted by r1, shipped by v0.3.1: recovery
    // d10 12:00 - d7 09:00 = 3d 3h = 270000 s.
    // v0.3.1 is rework (a revert and a hotfix).
    // Halves split at d6: first half (v0.2.0) deploy 4d of 5d = 0.8;
    // second half coding 3d, deploy 3d = 0.5: falling.
    check(
        &r,
        &[
            ("/schema_version", json!(1)),
            ("/window/since", json!("2024-01-01T00:00:00Z")),
            ("/window/until", json!("2024-01-13T00:00:00Z")),
            ("/window/days", json!(12.0)),
            ("/window/selection", json!("all")),
            ("/deployments_from/mode", json!("tags")),
            ("/deployments_from/matching_tags", json!(7)),
            ("/deployments_from/skipped_not_commit", json!(1)),
            ("/dora/deployments/count", json!(5)),
            ("/dora/deployments/baseline_in_window", json!(true)),
            (
                "/dora/deployment_frequency/per_week",
                json!(5.0 / (12.0 / 7.0)),
            ),
            ("/dora/deployment_frequency/weeks", json!(1)),
            // The one whole week, d5..d12, has deployments on d7, d10 and d11.
            (
                "/dora/deployment_frequency/median_deploy_days_per_week",
                json!(3.0),
            ),
            // 5 per 12 days would be high, but one whole week is too few
            // to rate (docs/metrics.md, "Sample sizes").
            ("/dora/deployment_frequency/tier", Value::Null),
            ("/dora/deployment_frequency/too_few_to_rate", json!(true)),
            ("/dora/lead_time/changes", json!(6)),
            ("/dora/lead_time/median_seconds", json!(2 * DAY)),
            ("/dora/lead_time/p85_seconds", json!(2.25 * DAY as f64)),
            ("/dora/lead_time/negative_dropped", json!(1)),
            ("/dora/lead_time/baseline_changes", json!(1)),
            // Six changes are enough for a median's level.
            ("/dora/lead_time/tier", json!("high")),
            ("/dora/lead_time/too_few_to_rate", json!(false)),
            ("/dora/change_failure_rate/ratio", json!(0.2)),
            ("/dora/change_failure_rate/failed", json!(1)),
            ("/dora/change_failure_rate/deployments", json!(5)),
            ("/dora/change_failure_rate/tier", Value::Null),
            ("/dora/change_failure_rate/too_few_to_rate", json!(true)),
            ("/dora/recovery_time/median_seconds", json!(270_000)),
            ("/dora/recovery_time/recoveries", json!(1)),
            ("/dora/recovery_time/failed", json!(1)),
            ("/dora/recovery_time/median_ci_seconds", Value::Null),
            ("/dora/recovery_time/tier", Value::Null),
            ("/dora/recovery_time/too_few_to_rate", json!(true)),
            ("/dora/rework_rate/ratio", json!(0.2)),
            ("/dora/rework_rate/reworked", json!(1)),
            ("/stages/0/name", json!("coding")),
            ("/stages/0/total_seconds", json!(4 * DAY)),
            ("/stages/0/median_seconds", json!(DAY / 2)),
            ("/stages/0/p85_seconds", json!(1.25 * DAY as f64)),
            ("/stages/0/share", json!(4.0 / 11.0)),
            ("/stages/0/changes", json!(6)),
            ("/stages/1/name", json!("deploy")),
            ("/stages/1/total_seconds", json!(7 * DAY)),
            ("/stages/1/median_seconds", json!(DAY)),
            ("/stages/1/p85_seconds", json!(2.25 * DAY as f64)),
            ("/stages/1/share", json!(7.0 / 11.0)),
            ("/bottleneck/stage", json!("deploy")),
            ("/bottleneck/share", json!(7.0 / 11.0)),
            ("/bottleneck/evidence/changes", json!(6)),
            ("/bottleneck/evidence/first_half_share", json!(0.8)),
            ("/bottleneck/evidence/second_half_share", json!(0.5)),
            // 80% then 50% would be falling, but 2 and 4 changes are too
            // few for a trend, and 6 too few to call a bottleneck.
            ("/bottleneck/evidence/half_changes", json!([2, 4])),
            ("/bottleneck/evidence/trend", Value::Null),
            ("/bottleneck/too_few_to_call", json!(true)),
            ("/bottleneck/next/stage", json!("coding")),
            ("/bottleneck/next/share", json!(4.0 / 11.0)),
            ("/undeployed/changes", json!(0)),
            ("/source/shallow", json!(false)),
            ("/source/tags", json!(10)),
            ("/explain", Value::Null),
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
            "tags_not_commits",
            "component_release_tags",
            "baseline",
            "negative_lead_times",
            "too_few_to_rate",
            "too_few_for_bottleneck"
        ]
    );
    assert_eq!(
        r["notices"][4]["message"],
        "too few to rate, shown without a level: deployment frequency (the window has 1 whole week, a level needs 4); change failure rate (5 deployment attempts, a level needs 20); recovery time (1 recovery, a level needs 6)"
    );
    let hint = r["notices"][1]["message"].as_str().unwrap();
    assert!(
        hint.starts_with("2 other tags look like releases of components"),
        "{hint}"
    );
}

#[test]
fn explain_traces_every_figure_to_commits() {
    let s = scenario();
    let r = report_json(s.repo.path(), &["--all", "--explain"]);
    let deployments = r["explain"]["deployments"].as_array().unwrap();
    let names: Vec<&str> = deployments
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["v0.1.0", "v0.2.0", "v0.3.0", "v0.3.1", "v0.4.0"]);
    check(
        &r,
        &[
            ("/explain/deployments/0/baseline", json!(true)),
            ("/explain/deployments/0/changes/0/counted", json!(false)),
            ("/explain/deployments/1/time", json!("2024-01-05T10:00:00Z")),
            ("/explain/deployments/1/changes/0/commit", json!(s.c2)),
            (
                "/explain/deployments/1/changes/0/lead_time_seconds",
                json!(3 * DAY),
            ),
            ("/explain/deployments/1/changes/0/coding_seconds", json!(0)),
            (
                "/explain/deployments/1/changes/0/deploy_seconds",
                json!(3 * DAY),
            ),
            (
                "/explain/deployments/1/changes/1/landed_at",
                json!("2024-01-04T10:00:00Z"),
            ),
            (
                "/explain/deployments/1/changes/1/coding_seconds",
                json!(DAY),
            ),
            ("/explain/deployments/2/aliases", json!(["0.3.0"])),
            ("/explain/deployments/2/merges", json!(1)),
            ("/explain/deployments/2/changes/0/commit", json!(s.f1)),
            ("/explain/deployments/2/changes/0/landed_by", json!(s.m1)),
            ("/explain/deployments/2/reverted/0/commit", json!(s.f1)),
            ("/explain/deployments/2/reverted/0/reverted_by", json!(s.r1)),
            (
                "/explain/deployments/2/reverted/0/revert_deployment",
                json!("v0.3.1"),
            ),
            ("/explain/deployments/2/recovery_seconds", json!(270_000)),
            ("/explain/deployments/3/rework/0/reason", json!("hotfix")),
            ("/explain/deployments/3/rework/1/reason", json!("revert")),
            ("/explain/deployments/3/rework/1/commit", json!(s.r1)),
            (
                "/explain/deployments/4/changes/0/lead_time_seconds",
                json!(at(11, 8) - at(20, 0)),
            ),
            ("/explain/deployments/4/changes/0/counted", json!(false)),
        ],
    );
}

#[test]
fn a_window_selects_deployments_by_time() {
    let s = scenario();
    let since = "2024-01-05";
    let until = "2024-01-09T00:00:00Z";
    let r = report_json(s.repo.path(), &["--since", since, "--until", until]);
    // v0.2.0 (d4 10:00) and v0.3.0 (d7 09:00). v0.3.0 failed: its revert
    // shipped after the window, which still counts.
    // Lead times 3d, 2d, 2d, 1d: median 2d, p85 at rank 2.55 = 2.55d.
    check(
        &r,
        &[
            ("/window/since", json!("2024-01-05T00:00:00Z")),
            ("/window/until", json!("2024-01-09T00:00:00Z")),
            ("/window/selection", json!("explicit")),
            ("/dora/deployments/count", json!(2)),
            ("/dora/deployments/baseline_in_window", json!(false)),
            ("/dora/deployment_frequency/per_week", json!(3.5)),
            ("/dora/deployment_frequency/weeks", json!(0)),
            (
                "/dora/deployment_frequency/median_deploy_days_per_week",
                Value::Null,
            ),
            ("/dora/lead_time/changes", json!(4)),
            ("/dora/lead_time/median_seconds", json!(2 * DAY)),
            ("/dora/lead_time/p85_seconds", json!(2.55 * DAY as f64)),
            ("/dora/lead_time/negative_dropped", json!(0)),
            ("/dora/change_failure_rate/ratio", json!(0.5)),
            ("/dora/recovery_time/median_seconds", json!(270_000)),
            ("/dora/rework_rate/ratio", json!(0.0)),
        ],
    );
}

#[test]
fn default_window_is_the_90_days_ending_with_the_newest_commit() {
    let s = scenario();
    let r = report_json(s.repo.path(), &[]);
    check(
        &r,
        &[
            ("/window/since", json!("2023-10-15T00:00:00Z")),
            ("/window/until", json!("2024-01-13T00:00:00Z")),
            ("/window/days", json!(90.0)),
            ("/window/selection", json!("default")),
            ("/dora/deployments/count", json!(5)),
            ("/dora/deployment_frequency/weeks", json!(12)),
            // Ten weeks without a deployment, one with two days, one with three.
            (
                "/dora/deployment_frequency/median_deploy_days_per_week",
                json!(0.0),
            ),
        ],
    );
}

#[test]
fn custom_patterns_select_deployments_and_hotfixes() {
    let s = scenario();
    // Pre-releases count when the pattern says so; v0.3.0-rc1 joins the
    // v0.3.0 commit as an alias, so the count does not change.
    let r = report_json(
        s.repo.path(),
        &["--all", "--deploy-tags", r"^v[0-9.]+(-rc[0-9]+)?$"],
    );
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(5)),
            ("/deployments_from/matching_tags", json!(7)),
        ],
    );
    // A hotfix pattern nothing matches leaves only the revert as rework.
    let r = report_json(
        s.repo.path(),
        &["--all", "--hotfix-pattern", "^URGENT", "--explain"],
    );
    check(
        &r,
        &[
            ("/dora/rework_rate/reworked", json!(1)),
            ("/explain/deployments/3/rework/0/reason", json!("revert")),
        ],
    );
    check_absent(&r, &["/explain/deployments/3/rework/1"]);
    // Component tags selected explicitly.
    let r = report_json(
        s.repo.path(),
        &["--all", "--deploy-tags", r"^tokio-v?[0-9]+(\.[0-9]+){1,2}$"],
    );
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(1)),
            ("/dora/lead_time/median_seconds", Value::Null),
        ],
    );
}

/// Branch mode: every first-parent commit of the branch is a deployment at
/// its committer time.
///
/// ```text
/// a    authored d0 00:00, committed d0 06:00
///   b (branch) authored d1 00:00
///   c (branch) authored d2 00:00
/// m    merge at d3 00:00
/// d    authored d3 12:00, committed d4 00:00
/// e    "Revert ..." of b at d5 00:00
/// ```
#[test]
fn branch_mode_deploys_every_first_parent_commit() {
    let mut repo = Repo::new();
    repo.commit("a", at(0, 0), at(0, 6));
    repo.checkout(&["-b", "topic"]);
    let b = repo.commit("b", at(1, 0), at(1, 0));
    repo.commit("c", at(2, 0), at(2, 0));
    repo.checkout(&["main"]);
    repo.merge("topic", at(3, 0));
    repo.commit("d", at(3, 12), at(4, 0));
    let e = repo.revert(&b, at(5, 0));
    repo.checkout(&["-b", "elsewhere"]);
    repo.commit("not deployed", at(6, 0), at(6, 0));
    let r = report_json(
        repo.path(),
        &["--all", "--deploy-branch", "main", "--explain"],
    );
    // Deployments: a (baseline), m, d, e. Changes: b 2d (coding 2d), c 1d
    // (coding 1d), d 12h (coding 12h), e 0. Median of 0, 12h, 1d, 2d = 18h;
    // p85 at rank 2.55: 1d + 0.55d = 1.55d.
    // m failed (b reverted by e, shipped at d5): recovery 2d.
    // Window: d0 to the end of d6 (the newest commit, on another branch).
    check(
        &r,
        &[
            ("/deployments_from/mode", json!("branch")),
            ("/deployments_from/branch", json!("main")),
            ("/dora/deployments/count", json!(4)),
            ("/dora/lead_time/changes", json!(4)),
            ("/dora/lead_time/median_seconds", json!(18 * HOUR)),
            ("/dora/lead_time/p85_seconds", json!(1.55 * DAY as f64)),
            ("/stages/0/total_seconds", json!(3 * DAY + 12 * HOUR)),
            ("/stages/1/total_seconds", json!(0)),
            ("/bottleneck/stage", json!("coding")),
            ("/bottleneck/share", json!(1.0)),
            ("/dora/change_failure_rate/failed", json!(1)),
            ("/dora/recovery_time/median_seconds", json!(2 * DAY)),
            ("/dora/rework_rate/reworked", json!(1)),
            ("/window/until", json!("2024-01-08T00:00:00Z")),
            ("/explain/deployments/3/rework/0/commit", json!(e)),
            ("/undeployed/changes", json!(0)),
        ],
    );
    let name = r["explain"]["deployments"][1]["name"].as_str().unwrap();
    assert!(name.starts_with("main@") && name.len() == 15, "{name}");
}

#[test]
fn equal_times_order_deployments_by_ancestry() {
    // Three commits in the same second, each tagged: the older commit is the
    // earlier deployment, so each ships exactly one change.
    let mut repo = Repo::new();
    let a = repo.commit("a", at(0, 0), at(0, 0));
    let b = repo.commit("b", at(0, 0), at(0, 0));
    let c = repo.commit("c", at(0, 0), at(0, 0));
    repo.tag("v3.0.0", &a);
    repo.tag("v2.0.0", &b);
    repo.tag("v1.0.0", &c);
    let r = report_json(repo.path(), &["--all", "--explain"]);
    check(
        &r,
        &[
            ("/explain/deployments/0/name", json!("v3.0.0")),
            ("/explain/deployments/1/name", json!("v2.0.0")),
            ("/explain/deployments/1/changes/0/commit", json!(b)),
            ("/explain/deployments/2/name", json!("v1.0.0")),
            ("/dora/lead_time/changes", json!(2)),
            ("/dora/lead_time/median_seconds", json!(0)),
            ("/bottleneck", Value::Null),
        ],
    );
}

#[test]
fn no_deployment_still_gives_parseable_json_with_nulls() {
    let mut repo = Repo::new();
    repo.commit("one", at(0, 0), at(0, 0));
    repo.commit("two", at(1, 0), at(1, 0));
    repo.tag("nightly", "HEAD");
    let r = report_json(repo.path(), &[]);
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(0)),
            ("/dora/deployment_frequency/per_week", Value::Null),
            ("/dora/deployment_frequency/tier", Value::Null),
            ("/dora/lead_time/median_seconds", Value::Null),
            ("/dora/change_failure_rate/ratio", Value::Null),
            ("/dora/recovery_time/median_seconds", Value::Null),
            ("/dora/rework_rate/ratio", Value::Null),
            ("/stages/0/share", Value::Null),
            ("/bottleneck", Value::Null),
            ("/undeployed/changes", json!(2)),
            ("/notices/0/code", json!("no_deployments")),
        ],
    );
    let message = r["notices"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("--deploy-branch main") && message.contains("--deploy-tags"),
        "{message}"
    );
    let (code, out, _) = run_text(&["report", repo.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("no deployment found"), "{out}");
}

#[test]
fn bare_repositories_worktrees_and_subdirectories_give_the_same_report() {
    let s = scenario();
    let expected = report_json(s.repo.path(), &["--all"]);
    let strip = |mut v: Value| {
        v["source"]["path"] = Value::Null;
        v
    };
    let expected = strip(expected);

    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("bare.git");
    s.repo.git(
        &["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()],
        None,
        None,
    );
    assert_eq!(strip(report_json(&bare_path, &["--all"])), expected);

    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    s.repo.git(
        &[
            "worktree",
            "add",
            "-q",
            wt_path.to_str().unwrap(),
            "feature",
        ],
        None,
        None,
    );
    let mut from_worktree = strip(report_json(&wt_path, &["--all"]));
    // HEAD differs (the worktree has `feature` checked out): so does what
    // waits undeployed, and the files as of HEAD that the code tie-in ranks.
    from_worktree["undeployed"] = expected["undeployed"].clone();
    from_worktree["code"] = expected["code"].clone();
    assert_eq!(from_worktree, expected);

    let sub = s.repo.path().join("sub/dir");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(strip(report_json(&sub, &["--all"])), expected);
}

#[test]
fn shallow_clones_are_reported() {
    let s = scenario();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", s.repo.path().display());
    let clone = dir.path().join("shallow");
    s.repo.git(
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            "--no-tags",
            &url,
            clone.to_str().unwrap(),
        ],
        None,
        None,
    );
    let r = report_json(&clone, &["--all"]);
    check(&r, &[("/source/shallow", json!(true))]);
    let shallow = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["code"] == "shallow_clone");
    assert!(shallow, "{:#}", r["notices"]);
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let not_repo = tempfile::tempdir().unwrap();
    let p = not_repo.path().to_str().unwrap();
    let (code, _, err) = run_text(&["report", p]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: ") && err.contains("not a git repository"),
        "{err}"
    );

    let empty = Repo::new();
    let e = empty.path().to_str().unwrap();
    let (code, _, err) = run_text(&["report", e]);
    assert_eq!(code, 1);
    assert!(err.contains("has no commits yet"), "{err}");

    let mut repo = Repo::new();
    repo.commit("one", at(0, 0), at(0, 0));
    let p = repo.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--deploy-tags", "v[0-9"],
            "not a valid regular expression",
        ),
        (
            &["--hotfix-pattern", "(?<"],
            "not a valid regular expression",
        ),
        (&["--since", "last tuesday"], "is not a date"),
        (
            &["--since", "2024-02-01", "--until", "2024-01-01"],
            "--since must be before --until",
        ),
        (&["--deploy-branch", "nope"], "branch `nope` not found"),
        (&["--all", "--since", "2024-01-01"], "cannot be used with"),
        (&["--format", "yaml"], "invalid value 'yaml'"),
        (&["--since", "2030-01-01"], "the window is empty"),
    ];
    for (args, message) in cases {
        let mut all = vec!["report", p];
        all.extend_from_slice(args);
        let (code, out, err) = run_text(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut repo = Repo::new();
    // A report larger than a pipe's buffer, so writing hits the closed end.
    for i in 0..400 {
        repo.commit(
            &format!("change {i} {}", "x".repeat(200)),
            at(0, 0) + i,
            at(0, 0) + i,
        );
    }
    repo.tag("v1.0.0", "HEAD~399");
    repo.tag("v1.1.0", "HEAD");
    let mut child = nextneck()
        .args([
            "report",
            repo.path().to_str().unwrap(),
            "--all",
            "--explain",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `nextneck report . ARGS` inside the repository (so the printed path
/// is stable) and returns stdout.
fn report_text(repo: &Repo, args: &[&str]) -> String {
    report_text_at(repo.path(), args)
}

fn report_text_at(path: &std::path::Path, args: &[&str]) -> String {
    let out = nextneck()
        .current_dir(path)
        .arg("report")
        .arg(".")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn table_output() {
    let s = scenario();
    insta::assert_snapshot!(report_text(&s.repo, &["--all", "--explain"]), @r#"
    nextneck report . (9 commits, 10 tags)
    window       2024-01-01T00:00:00Z to 2024-01-13T00:00:00Z (12 days, all)
    deployments  tags matching ^v?[0-9]+(\.[0-9]+){1,2}$ (7 tags)

    DORA                   value                                                                                        level
    deployment frequency   2.92/week (5 deployments; in a typical week, deployments on 3 of 7 days (median of 1 week))  too few to rate
    lead time for changes  median 2.0d, p85 2.2d (6 changes)                                                            high
    change failure rate    20% (1 of 5 deployments failed)                                                              too few to rate
    recovery time          median 3.1d, p85 3.1d (1 recovery)                                                           too few to rate
    rework rate            20% (1 of 5 deployments)

    stage   median  p85    total  share
    coding  12.0h   30.0h  4.0d   36%    ███████████
    deploy  24.0h   2.2d   7.0d   64%    ███████████████████

    largest stage: deploy holds 64% of change time (95% interval 33–90%; median 24.0h, p85 2.2d, 6 changes); 6 changes are too few to call it the bottleneck (at least 10 needed); no trend: 2 and 4 changes in the window's halves, a trend needs 5 in each; next: coding at 36%, inside deploy's 95% interval (33–90%): the data cannot tell the two apart
    code: the failed deployments' 2 changes touched 1 file that still exists; the top hotspot among them is file5.txt, #4 of 6 changed in the window (1 change, 1 line changed); no knowledge island among them

    notes
      - 1 matching tag points at a tree or blob, not a commit, and is skipped
      - 2 other tags look like releases of components (1 of `api/`, 1 of `tokio-`); to count the releases of `api` as deployments, pass `--deploy-tags '^api/v?[0-9]+(\.[0-9]+){1,2}$'`
      - the oldest deployment in the history (v0.1.0) is the baseline: it counts as a deployment, but its 1 change gets no lead time
      - 1 change was authored after the deployment that shipped it (clock skew or rewritten dates) and left out of lead time
      - too few to rate, shown without a level: deployment frequency (the window has 1 whole week, a level needs 4); change failure rate (5 deployment attempts, a level needs 20); recovery time (1 recovery, a level needs 6)
      - deploy is the largest stage, but too few changes were measured to call it the bottleneck (at least 10 needed)

    deployments in the window, oldest first
    v0.1.0  2024-01-01T09:00:00Z  724fd8eeaade  baseline: changes get no lead time
      1 change (0 counted), 0 merges
        724fd8eeaa  2024-01-01T09:00:00Z  baseline  initial
    v0.2.0  2024-01-05T10:00:00Z  fdd8d3fd9a23
      2 changes (2 counted), 0 merges
        53678d0d49  2024-01-02T10:00:00Z  lead 3.0d = coding 0s + deploy 3.0d  add search
        fdd8d3fd9a  2024-01-03T10:00:00Z  lead 2.0d = coding 24.0h + deploy 24.0h  add index
    v0.3.0  2024-01-08T09:00:00Z  084dd8278ebf  (also 0.3.0)
      2 changes (2 counted), 1 merge
        54551b3b6e  2024-01-06T09:00:00Z  lead 2.0d = coding 2.0d + deploy 0s  feature part one
        b761919d21  2024-01-07T09:00:00Z  lead 24.0h = coding 24.0h + deploy 0s  feature part two
      failed: 54551b3b6e reverted by f30e7ae26c shipped in v0.3.1 (2024-01-11T12:00:00Z)
      recovery time 3.1d
    v0.3.1  2024-01-11T12:00:00Z  f30e7ae26cb5
      2 changes (2 counted), 0 merges
        4189fb6257  2024-01-09T12:00:00Z  lead 2.0d = coding 0s + deploy 2.0d  Hotfix: login
        f30e7ae26c  2024-01-10T12:00:00Z  lead 24.0h = coding 0s + deploy 24.0h  Revert "feature part one"
      rework (hotfix): 4189fb6257  Hotfix: login
      rework (revert): f30e7ae26c  Revert "feature part one"
    v0.4.0  2024-01-12T08:00:00Z  cbe9d2ddc04b
      1 change (0 counted), 0 merges
        cbe9d2ddc0  2024-01-21T00:00:00Z  lead -8.7d (negative, not counted)  from the future
    "#);
}

#[test]
fn markdown_output() {
    let s = scenario();
    insta::assert_snapshot!(report_text(&s.repo, &["--all", "--format", "markdown"]), @r"
    ## nextneck report: `.` (9 commits, 10 tags)

    Window: 2024-01-01T00:00:00Z to 2024-01-13T00:00:00Z (12 days, all). Deployments: tags matching `^v?[0-9]+(\.[0-9]+){1,2}$` (7 tags).

    | DORA | value | level |
    |---|---|---|
    | deployment frequency | 2.92/week (5 deployments; in a typical week, deployments on 3 of 7 days (median of 1 week)) | too few to rate |
    | lead time for changes | median 2.0d, p85 2.2d (6 changes) | high |
    | change failure rate | 20% (1 of 5 deployments failed) | too few to rate |
    | recovery time | median 3.1d, p85 3.1d (1 recovery) | too few to rate |
    | rework rate | 20% (1 of 5 deployments) |  |

    | stage | median | p85 | total | share |
    |---|---:|---:|---:|---:|
    | coding | 12.0h | 30.0h | 4.0d | 36% |
    | **deploy** | 24.0h | 2.2d | 7.0d | 64% |

    **Largest stage:** deploy holds 64% of change time (95% interval 33–90%; median 24.0h, p85 2.2d, 6 changes); 6 changes are too few to call it the bottleneck (at least 10 needed); no trend: 2 and 4 changes in the window's halves, a trend needs 5 in each; next: coding at 36%, inside deploy's 95% interval (33–90%): the data cannot tell the two apart.

    **Code:** the failed deployments' 2 changes touched 1 file that still exists; the top hotspot among them is file5.txt, #4 of 6 changed in the window (1 change, 1 line changed); no knowledge island among them.

    > 1 matching tag points at a tree or blob, not a commit, and is skipped

    > 2 other tags look like releases of components (1 of `api/`, 1 of `tokio-`); to count the releases of `api` as deployments, pass `--deploy-tags '^api/v?[0-9]+(\.[0-9]+){1,2}$'`

    > the oldest deployment in the history (v0.1.0) is the baseline: it counts as a deployment, but its 1 change gets no lead time

    > 1 change was authored after the deployment that shipped it (clock skew or rewritten dates) and left out of lead time

    > too few to rate, shown without a level: deployment frequency (the window has 1 whole week, a level needs 4); change failure rate (5 deployment attempts, a level needs 20); recovery time (1 recovery, a level needs 6)

    > deploy is the largest stage, but too few changes were measured to call it the bottleneck (at least 10 needed)
    ");
}

/// Colour appears only on a terminal, and `NO_COLOR` turns it off there.
/// `script` gives the command a pseudo-terminal.
#[test]
fn colour_only_on_a_terminal_without_no_color() {
    let s = scenario();
    let bin = env!("CARGO_BIN_EXE_nextneck");
    let on_tty = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{bin} report . --all"), "/dev/null"])
            .current_dir(s.repo.path());
        cmd.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(on_tty(None).contains("\x1b["), "no colour on a terminal");
    assert!(
        !on_tty(Some("1")).contains("\x1b["),
        "colour despite NO_COLOR"
    );
    // An empty NO_COLOR does not count (no-color.org).
    assert!(on_tty(Some("")).contains("\x1b["));
    // Not a terminal: no colour, unless asked for.
    assert!(!report_text(&s.repo, &["--all"]).contains("\x1b["));
    assert!(report_text(&s.repo, &["--all", "--color", "always"]).contains("\x1b["));
}

/// Packed commits are decoded ahead of the walk on other threads; loose
/// ones by the walk itself. Both must give the same report.
#[test]
fn packed_and_loose_objects_give_the_same_report() {
    let mut s = scenario();
    let loose = report_json(s.repo.path(), &["--all", "--explain"]);
    s.repo.git(&["repack", "-adq"], None, None);
    let packs = std::fs::read_dir(s.repo.path().join(".git/objects/pack"))
        .unwrap()
        .count();
    assert!(packs >= 2, "expected a pack and its index");
    assert_eq!(report_json(s.repo.path(), &["--all", "--explain"]), loose);

    // New loose commits on top of the pack.
    s.repo.commit("after the pack", at(12, 0), at(12, 0));
    s.repo.tag("v0.5.0", "HEAD");
    let mixed = report_json(s.repo.path(), &["--all"]);
    check(
        &mixed,
        &[
            ("/dora/deployments/count", json!(6)),
            ("/source/commits", json!(10)),
        ],
    );
}

/// The HTML report opened in a real browser: every chart drew marks, the
/// page logged nothing and requested nothing beyond this machine, and the
/// basics of accessibility hold. Screenshots (desktop and phone widths) are
/// kept in `target/screenshots/`.
#[test]
fn html_report_renders_in_a_browser() {
    let mut s = scenario();
    // A change waiting for its deployment, for the "waiting" line.
    s.repo.commit("not deployed yet", at(11, 12), at(11, 12));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    let out = nextneck()
        .args([
            "report",
            s.repo.path().to_str().unwrap(),
            "--all",
            "--format",
            "html",
            "--output",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "--output still wrote to stdout");
    let html = std::fs::read_to_string(&file).unwrap();
    // The figures are the report's: the tiles show the JSON's values.
    assert!(
        html.contains("2.92/week") && html.contains("Largest stage: deploy."),
        "figures missing"
    );
    let url = format!("file://{}", file.display());
    let page = browser::load(&url);
    browser::check_page(
        &page,
        &["stages", "lead-histogram", "cycle-scatter", "deployments"],
    );
    browser::check_words(&page.dom, false);
    browser::check_wall_screen(&browser::measure(&html, 1920));
    browser::check_wall_screen(&browser::measure(&html, 1100));
    // Every line the terminal shows is on the page too.
    let (code, table, _) = run_text(&["report", s.repo.path().to_str().unwrap(), "--all"]);
    assert_eq!(code, 0);
    // Compared without white space: a tag on the page (`<code>`) splits
    // words where the terminal's line has none.
    let words = |t: &str| t.split_whitespace().collect::<String>();
    let text = words(&browser::visible_text(&page.dom, true));
    let mut checked = Vec::new();
    for line in table.lines() {
        for label in [
            "deployments ",
            "bottleneck: ",
            "largest stage: ",
            "waiting: ",
            "code: ",
            "  - ",
        ] {
            if let Some(rest) = line.strip_prefix(label) {
                // The page renders the notes' Markdown: no backticks.
                let rest = words(&rest.replace('`', ""));
                assert!(text.contains(&rest), "{label}{rest:?} is not on the page");
                checked.push(label);
            }
        }
    }
    assert!(
        checked.contains(&"waiting: ")
            && (checked.contains(&"bottleneck: ") || checked.contains(&"largest stage: ")),
        "{table}"
    );
    browser::screenshot(&url, "report-desktop", 1100, 2200);
    browser::screenshot(&url, "report-wall", 1920, 1600);
    browser::screenshot(&url, "report-phone", 390, 3200);
}

#[test]
fn output_files_are_written_whole_or_not_at_all() {
    let s = scenario();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/report.json");
    let (code, _, err) = run_text(&[
        "report",
        s.repo.path().to_str().unwrap(),
        "--format",
        "json",
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("could not create a file in"), "{err}");
    let file = dir.path().join("report.json");
    let (code, out, _) = run_text(&[
        "report",
        s.repo.path().to_str().unwrap(),
        "--all",
        "--format",
        "json",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (0, ""));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, report_json(s.repo.path(), &["--all"]));
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "temporary files left behind");
}

/// A tag of a tag peels to the commit; its time is the outer tag's tagger
/// time. A detached `HEAD` still loads.
#[test]
fn nested_annotated_tags_and_detached_head() {
    let mut repo = Repo::new();
    let a = repo.commit("a", at(0, 0), at(0, 0));
    let b = repo.commit("b", at(1, 0), at(1, 0));
    repo.tag("v1.0.0", &a);
    repo.tag_annotated("inner", &b, at(2, 0));
    // `git tag -a v1.1.0 inner` makes a tag object whose target is the tag
    // object `inner`.
    repo.git(
        &["tag", "-a", "v1.1.0", "-m", "outer", "inner"],
        None,
        Some(at(3, 0)),
    );
    repo.checkout(&["--detach", &a]);
    let r = report_json(repo.path(), &["--all", "--explain"]);
    check(
        &r,
        &[
            ("/dora/deployments/count", json!(2)),
            ("/explain/deployments/1/name", json!("v1.1.0")),
            ("/explain/deployments/1/commit", json!(b)),
            ("/explain/deployments/1/time", json!("2024-01-04T00:00:00Z")),
            ("/dora/lead_time/median_seconds", json!(2 * DAY)),
        ],
    );
}

/// Squash merges with the requests' refs. Days from 2024-01-01.
///
/// ```text
/// c0   d0 00:00                                   v0.1 (annotated d0 01:00): baseline
///   p1a d1, p1b d2 (refs/pull/1/head, branch deleted)
/// s1   "feat: one (#1)" d3 (author = committer = merge)
///   m2a d3 12:00 (refs/merge-requests/2/head, branch deleted)
/// s2   "feat: two" + "See merge request grp/proj!2" d4    v0.2 (annotated d5)
///   p3a d5 12:00 (refs/pull/3/head, branch pr3 kept)
/// m3   "Merge pull request #3 from ada/three" d6
///   p4a d6 06:00 on feat4 (from s2), then main merged into feat4 d6 12:00
///       (refs/pull/4/head = that merge, branch feat4 kept)
/// s4   "four (#4)" d7
/// c6   "docs: typo" d7 06:00
/// s5   "five (#5)" d7 12:00 (no ref)                   v0.3 (annotated d8)
/// ```
///
/// With the refs (hours): s1 starts at p1b's parent's child p1a, d1: lead
/// 96 = coding 48 (d1 → d3) + deploy 48 (d3 → d5); s2 starts at m2a: lead
/// 36 = 12 + 24; p3a: lead 60 = 12 + 48 (landed by m3, its own author
/// time); s4 starts at p4a (main's commits behind the merge into feat4 are
/// on the deployed line): lead 42 = 18 + 24; c6: 18 = 0 + 18; s5: 12 = 0 +
/// 12. Lead 12, 18, 36, 42, 60, 96: median 39 h; coding 0, 0, 12, 12, 18,
/// 48: median 12 h, total 90 h; deploy 12, 18, 24, 24, 48, 48: median 24 h,
/// total 174 h.
fn squash_scenario() -> (Repo, Vec<String>) {
    let mut repo = Repo::new();
    let c0 = repo.commit("init", at(0, 0), at(0, 0));
    repo.tag_annotated("v0.1", &c0, at(0, 1));
    repo.checkout(&["-b", "pr1"]);
    repo.commit("one, part a", at(1, 0), at(1, 0));
    let p1b = repo.commit("one, part b", at(2, 0), at(2, 0));
    repo.checkout(&["main"]);
    let s1 = repo.commit("feat: one (#1)", at(3, 0), at(3, 0));
    repo.git(&["update-ref", "refs/pull/1/head", &p1b], None, None);
    repo.git(&["branch", "-q", "-D", "pr1"], None, None);
    repo.checkout(&["-b", "mr2"]);
    let m2a = repo.commit("two, wip", at(3, 12), at(3, 12));
    repo.checkout(&["main"]);
    let s2 = repo.commit(
        "feat: two\n\nSee merge request grp/proj!2",
        at(4, 0),
        at(4, 0),
    );
    repo.git(
        &["update-ref", "refs/merge-requests/2/head", &m2a],
        None,
        None,
    );
    repo.git(&["branch", "-q", "-D", "mr2"], None, None);
    repo.tag_annotated("v0.2", &s2, at(5, 0));
    repo.checkout(&["-b", "pr3"]);
    let p3a = repo.commit("three", at(5, 12), at(5, 12));
    repo.checkout(&["main"]);
    repo.git(
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge pull request #3 from ada/three",
            "pr3",
        ],
        Some(at(6, 0)),
        Some(at(6, 0)),
    );
    repo.git(&["update-ref", "refs/pull/3/head", &p3a], None, None);
    repo.checkout(&["-b", "feat4", &s2]);
    repo.commit("four, the work", at(6, 6), at(6, 6));
    repo.git(
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'main' into feat4",
            "main",
        ],
        Some(at(6, 12)),
        Some(at(6, 12)),
    );
    let head4 = repo.head();
    repo.git(&["update-ref", "refs/pull/4/head", &head4], None, None);
    repo.checkout(&["main"]);
    let s4 = repo.commit("four (#4)", at(7, 0), at(7, 0));
    let c6 = repo.commit("docs: typo", at(7, 6), at(7, 6));
    let s5 = repo.commit("five (#5)", at(7, 12), at(7, 12));
    repo.tag_annotated("v0.3", &s5, at(8, 0));
    (repo, vec![s1, s2, p3a, s4, c6, s5])
}

#[test]
fn squash_merges_start_at_the_requests_first_commit() {
    let (repo, ids) = squash_scenario();
    let r = report_json(repo.path(), &["--all", "--explain"]);
    let h = |hours: i64| json!(hours * HOUR);
    check(
        &r,
        &[
            ("/dora/lead_time/median_seconds", h(39)),
            ("/dora/lead_time/changes", json!(6)),
            ("/stages/0/name", json!("coding")),
            ("/stages/0/median_seconds", h(12)),
            ("/stages/0/total_seconds", h(90)),
            ("/stages/1/median_seconds", h(24)),
            ("/stages/1/total_seconds", h(174)),
            ("/bottleneck/stage", json!("deploy")),
        ],
    );
    // Every change of v0.2 and v0.3 with its request, oldest author first.
    let mut rows = Vec::new();
    for d in r["explain"]["deployments"].as_array().unwrap() {
        for c in d["changes"].as_array().unwrap() {
            rows.push((
                c["commit"].as_str().unwrap().to_owned(),
                c["lead_time_seconds"].as_i64().unwrap() / HOUR,
                c["coding_seconds"].as_i64().map(|s| s / HOUR),
                c["request"].clone(),
            ));
        }
    }
    let req = |label: &str, head_ref: &str, own: i64, first: Option<&str>| json!({"request": label, "head_ref": head_ref, "own_commits": own, "first_commit_time": first});
    let expected = vec![
        (c0_id(&r), 1, None, Value::Null),
        (
            ids[0].clone(),
            96,
            Some(48),
            req("#1", "refs/pull/1/head", 2, Some("2024-01-02T00:00:00Z")),
        ),
        (
            ids[1].clone(),
            36,
            Some(12),
            req(
                "!2",
                "refs/merge-requests/2/head",
                1,
                Some("2024-01-04T12:00:00Z"),
            ),
        ),
        (
            ids[2].clone(),
            60,
            Some(12),
            req("#3", "refs/pull/3/head", 0, None),
        ),
        (
            ids[3].clone(),
            42,
            Some(18),
            req("#4", "refs/pull/4/head", 1, Some("2024-01-07T06:00:00Z")),
        ),
        (ids[4].clone(), 18, Some(0), Value::Null),
        (ids[5].clone(), 12, Some(0), Value::Null),
    ];
    assert_eq!(rows, expected);
    let notices: Vec<&str> = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    // Three squashed changes are too few for a level or a bottleneck.
    assert_eq!(
        notices,
        [
            "baseline",
            "request_refs",
            "too_few_to_rate",
            "too_few_for_bottleneck"
        ]
    );
    assert_eq!(
        r["notices"][1]["message"],
        "3 changes' lead times and coding start at the first commit of the pull or merge request that the merge squashed (from `refs/pull/N/head` or `refs/merge-requests/N/head`); --explain names the request of each change"
    );

    let text = report_text(&repo, &["--all", "--explain"]);
    assert!(
        text.contains("feat: one (#1) (from #1: 2 commits of its own, first 2024-01-02T00:00:00Z)"),
        "{text}"
    );
}

/// The baseline's change (not counted; 1 h from its author time to v0.1).
fn c0_id(r: &Value) -> String {
    r["explain"]["deployments"][0]["changes"][0]["commit"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn squash_merges_without_request_refs_leave_coding_unobserved() {
    let (repo, _) = squash_scenario();
    let bare = tempfile::tempdir().unwrap();
    let copy = bare.path().join("copy.git");
    repo.git(
        &[
            "clone",
            "-q",
            "--bare",
            repo.path().to_str().unwrap(),
            copy.to_str().unwrap(),
        ],
        None,
        None,
    );
    let r = report_json(&copy, &["--all"]);
    // First-parent commits that landed changes: c0, s1, s2, m3, s4, c6, s5;
    // s1, s2, s4 and s5 look squash-merged: 4 of 7.
    check(
        &r,
        &[
            ("/stages/0/name", json!("coding")),
            ("/stages/0/median_seconds", Value::Null),
            ("/stages/0/changes", json!(0)),
            ("/stages/0/share", Value::Null),
            ("/stages/1/share", Value::Null),
            ("/stages/1/changes", json!(6)),
            ("/bottleneck", Value::Null),
            (
                "/notices/0/code",
                json!("squash_merges_without_request_refs"),
            ),
            (
                "/notices/0/message",
                json!(
                    "4 of the window's 7 first-parent commits look squash-merged (a `(#N)` or `See merge request !N` message) and the repository holds no pull or merge request refs: the time before the merge is not observable, so `coding` is not shown, no bottleneck is named and lead time counts from the merge; fetch the requests' own commits with `git fetch origin '+refs/pull/*/head:refs/pull/*/head'` (GitLab: `git fetch origin '+refs/merge-requests/*/head:refs/merge-requests/*/head'`) and run again"
                ),
            ),
        ],
    );
    // Said once; the others are the baseline's and the small sample's.
    let codes: Vec<&str> = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "squash_merges_without_request_refs",
            "baseline",
            "too_few_to_rate"
        ]
    );
    let text = report_text_at(&copy, &["--all"]);
    assert!(
        text.contains(
            "bottleneck: none: the time before the merge is not observable (see the notes)"
        ),
        "{text}"
    );
}
