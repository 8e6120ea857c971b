//! The everyday command line: `nextneck init` on real repositories (what it
//! writes loads and drives `report`), relative dates, completions and the
//! manual page through the real binary.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{Repo, at, run_text};
use serde_json::json;

/// A repository with `tags` (name, day) on a line of commits, one a day,
/// and `codeowners` as `.github/CODEOWNERS` when given.
fn repo(tags: &[(&str, i64)], codeowners: Option<&str>) -> Repo {
    let mut repo = Repo::new();
    for day in 0..10 {
        let id = repo.commit(&format!("change {day}"), at(day, 9), at(day, 10));
        for (name, _) in tags.iter().filter(|(_, d)| *d == day) {
            repo.tag(name, &id);
        }
    }
    if let Some(text) = codeowners {
        std::fs::create_dir_all(repo.path().join(".github")).unwrap();
        std::fs::write(repo.path().join(".github/CODEOWNERS"), text).unwrap();
    }
    repo
}

/// Runs `init` in `repo`, checks it succeeded, returns the written file.
fn init(repo: &Repo) -> String {
    let path = repo.path().to_str().unwrap();
    let (code, _, err) = run_text(&["init", path]);
    assert_eq!(code, 0, "{err}");
    assert!(err.starts_with("wrote "), "{err}");
    std::fs::read_to_string(repo.path().join("nextneck.toml")).unwrap()
}

/// `report --config` with what init wrote: the JSON fields at `pointers`.
fn report_with_init_config(repo: &Repo, expected: &[(&str, serde_json::Value)]) {
    let config = repo.path().join("nextneck.toml");
    let report = common::report_json(
        repo.path(),
        &["--all", "--config", config.to_str().unwrap()],
    );
    common::check(&report, expected);
}

fn check_contains(text: &str, wanted: &[&str], unwanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
    for u in unwanted {
        assert!(!text.contains(u), "unexpected {u:?} in:\n{text}");
    }
}

#[test]
fn init_finds_releases_components_branch_and_teams() {
    let repo = repo(
        &[
            ("v1.0.0", 1),
            ("v1.1.0", 4),
            ("api/v1.0.0", 2),
            ("api/v1.1.0", 5),
            ("api/v1.2.0", 7),
            ("web-2.0.0", 3),
            ("nightly", 8),
        ],
        Some("# owners\n* @acme/platform\n/web/ @acme/web @alice\n/docs/ docs@acme.example\n"),
    );
    let text = init(&repo);
    check_contains(
        &text,
        &[
            "[git]\n",
            "# Found 7 tags: 2 like v1.2.3, 4 of 2 components, 1 other.",
            "deploy_tags = '^v?[0-9]+(\\.[0-9]+){1,2}$'\n",
            "# deploy_tags = '^api/v?[0-9]+(\\.[0-9]+){1,2}$'   # api: 3 tags",
            "# deploy_tags = '^web-v?[0-9]+(\\.[0-9]+){1,2}$'   # web: 1 tag",
            "# deploy_branch = \"main\"",
            "from the owners of .github/CODEOWNERS",
            "[teams.platform]\ncodeowners = [\"@acme/platform\"]",
            "[teams.web]\ncodeowners = [\"@acme/web\"]",
        ],
        &["@alice", "docs@acme", "\ndeploy_branch"],
    );
    report_with_init_config(
        &repo,
        &[
            ("/deployments_from/mode", json!("tags")),
            ("/deployments_from/matching_tags", json!(2)),
        ],
    );
}

#[test]
fn init_on_a_monorepo_chooses_the_component_with_most_releases() {
    let repo = repo(
        &[
            ("api/v1.0.0", 2),
            ("api/v1.1.0", 5),
            ("api/v1.2.0", 7),
            ("web-2.0.0", 3),
        ],
        None,
    );
    let text = init(&repo);
    check_contains(
        &text,
        &[
            "# The releases of `api` (3 tags), the component with the most:\ndeploy_tags = '^api/v?[0-9]+(\\.[0-9]+){1,2}$'\n",
            "# deploy_tags = '^web-v?[0-9]+(\\.[0-9]+){1,2}$'   # web: 1 tag",
            "# No CODEOWNERS file",
        ],
        &["\n[teams."],
    );
    report_with_init_config(
        &repo,
        &[
            (
                "/deployments_from/pattern",
                json!("^api/v?[0-9]+(\\.[0-9]+){1,2}$"),
            ),
            ("/deployments_from/matching_tags", json!(3)),
            ("/dora/deployments/in_history", json!(3)),
        ],
    );
}

#[test]
fn init_without_release_tags_deploys_the_main_branch() {
    let repo = repo(&[("nightly", 3)], Some("* @alice\n"));
    let text = init(&repo);
    check_contains(
        &text,
        &[
            "No tag looks like a release",
            "\ndeploy_branch = \"main\"\n",
            ".github/CODEOWNERS names no team",
        ],
        &["\ndeploy_tags"],
    );
    report_with_init_config(
        &repo,
        &[
            ("/deployments_from/mode", json!("branch")),
            ("/deployments_from/branch", json!("main")),
            ("/dora/deployments/in_history", json!(10)),
        ],
    );
}

#[test]
fn init_never_overwrites_without_force() {
    let repo = repo(&[("v1.0.0", 1)], None);
    let path = repo.path().to_str().unwrap();
    let file = repo.path().join("nextneck.toml");
    std::fs::write(&file, "# mine\n").unwrap();
    let (code, _, err) = run_text(&["init", path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nextneck.toml exists; edit it, or pass --force to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    let (code, _, err) = run_text(&["init", path, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("[git]"));
    let elsewhere = repo.path().join("other.toml");
    let (code, _, err) = run_text(&["init", path, "-o", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(elsewhere.is_file());
}

#[test]
fn init_outside_a_repository_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_text(&["init", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(!dir.path().join("nextneck.toml").exists());
}

#[test]
fn relative_dates_reach_the_report_window() {
    let repo = repo(&[("v1.0.0", 1), ("v1.1.0", 4)], None);
    // Relative to the real clock: the bound is a UTC midnight, and far back
    // enough to hold the fixed 2024 history.
    let report = common::report_json(repo.path(), &["--since", "1500w", "--until", "today"]);
    let since = report["window"]["since"].as_str().unwrap();
    assert!(since.ends_with("T00:00:00Z"), "{since}");
    assert_eq!(report["window"]["selection"], json!("explicit"));
    assert_eq!(report["dora"]["deployments"]["count"], json!(2));
    let path = repo.path().to_str().unwrap();
    let (code, _, err) = run_text(&["report", path, "--since", "3m"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`m` is not a unit; count days (30d) or weeks (2w)"),
        "{err}"
    );
}

#[test]
fn completions_and_man_through_the_binary() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, out, err) = run_text(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["report", "digest", "init", "since"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, err) = run_text(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("possible values: bash, zsh, fish, powershell"),
        "{err}"
    );
    let (code, out, _) = run_text(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH nextneck 1"),
        "{}",
        &out[..200.min(out.len())]
    );
    assert!(out.contains(".SH \"NEXTNECK INIT\""));
}
