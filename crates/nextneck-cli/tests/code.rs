//! End-to-end tests of `nextneck code` on real repositories with known
//! authors and change patterns. Every expected figure is computed by hand
//! in the comments from the definitions in docs/metrics.md.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

/// Writes files and commits them as `name <email>` at `when`.
fn commit_as(repo: &Repo, who: (&str, &str), when: i64, files: &[(&str, &[u8])]) -> String {
    for (path, data) in files {
        let full = repo.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, data).unwrap();
    }
    let mut add = git_command(repo.path());
    assert!(add.args(["add", "-A"]).status().unwrap().success());
    let mut cmd = git_command(repo.path());
    cmd.args(["commit", "-q", "-m", "change"])
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_AUTHOR_DATE", format!("@{when} +0000"))
        .env("GIT_COMMITTER_DATE", format!("@{when} +0000"));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.head()
}

fn lines(tag: &str, n: usize) -> String {
    (0..n).map(|i| format!("{tag} line {i}\n")).collect()
}

fn append(repo: &Repo, path: &str, tag: &str, n: usize) -> (String, Vec<u8>) {
    let mut text = std::fs::read_to_string(repo.path().join(path)).unwrap_or_default();
    text.push_str(&lines(tag, n));
    (path.to_owned(), text.into_bytes())
}

const ADA: (&str, &str) = ("Ada", "ada@example.com");
const BO_OLD: (&str, &str) = ("Bo Old", "bo@old.example");
const BO: (&str, &str) = ("Bo", "bo@example.com");
const CY: (&str, &str) = ("Cy", "cy@example.com");

/// The scenario. Days from 2024-01-01, all commits at 09:00.
///
/// ```text
/// c1  Ada    d0    add src/core.rs (10 lines), src/api.rs (4), README.md (2)
/// c2  Bo*    d1    add docs/guide.md (20), docs/faq.md (8), docs/notes.md (7)
/// c3  Cy     d2    add src/util.rs (8); src/core.rs +2
/// c4-9 Ada   d3-8  src/core.rs +1 and src/api.rs +1, together, six times
/// c10 Bo     d9    src/core.rs: one line replaced (+1 -1)
/// c11 Ada    d10   docs/faq.md +2, docs/notes.md +3
/// c12 Ada    d100  src/api.rs +1; add assets/logo.bin (binary)
/// c13 Ada    d120  add gen/f00.txt .. gen/f30.txt (31 files, 1 line each)
/// c14 Cy     d130  src/util.rs +4, on a branch
/// c15 Ada    d131  merge of that branch (not diffed)
/// ```
///
/// `Bo*` is `Bo Old <bo@old.example>`, mapped to `Bo <bo@example.com>` by an
/// untracked `.mailmap` in the work tree.
fn scenario() -> Repo {
    let repo = Repo::new();
    let at9 = |d: i64| at(d, 9);
    std::fs::write(
        repo.path().join(".mailmap"),
        "Bo <bo@example.com> Bo Old <bo@old.example>\n",
    )
    .unwrap();
    std::fs::write(repo.path().join(".git/info/exclude"), ".mailmap\n").unwrap();
    commit_as(
        &repo,
        ADA,
        at9(0),
        &[
            ("src/core.rs", lines("core", 10).as_bytes()),
            ("src/api.rs", lines("api", 4).as_bytes()),
            ("README.md", lines("readme", 2).as_bytes()),
        ],
    );
    commit_as(
        &repo,
        BO_OLD,
        at9(1),
        &[
            ("docs/guide.md", lines("guide", 20).as_bytes()),
            ("docs/faq.md", lines("faq", 8).as_bytes()),
            ("docs/notes.md", lines("notes", 7).as_bytes()),
        ],
    );
    let core = append(&repo, "src/core.rs", "cy", 2);
    commit_as(
        &repo,
        CY,
        at9(2),
        &[
            ("src/util.rs", lines("util", 8).as_bytes()),
            (&core.0, &core.1),
        ],
    );
    for d in 3..=8 {
        let core = append(&repo, "src/core.rs", &format!("d{d}"), 1);
        let api = append(&repo, "src/api.rs", &format!("d{d}"), 1);
        commit_as(&repo, ADA, at9(d), &[(&core.0, &core.1), (&api.0, &api.1)]);
    }
    let core = std::fs::read_to_string(repo.path().join("src/core.rs"))
        .unwrap()
        .replacen("core line 0", "core line zero", 1);
    commit_as(&repo, BO, at9(9), &[("src/core.rs", core.as_bytes())]);
    let faq = append(&repo, "docs/faq.md", "ada", 2);
    let notes = append(&repo, "docs/notes.md", "ada", 3);
    commit_as(
        &repo,
        ADA,
        at9(10),
        &[(&faq.0, &faq.1), (&notes.0, &notes.1)],
    );
    let api = append(&repo, "src/api.rs", "d100", 1);
    commit_as(
        &repo,
        ADA,
        at9(100),
        &[(&api.0, &api.1), ("assets/logo.bin", b"\x89PNG\0\0binary")],
    );
    let generated: Vec<(String, Vec<u8>)> = (0..31)
        .map(|i| {
            (
                format!("gen/f{i:02}.txt"),
                format!("generated {i}\n").into_bytes(),
            )
        })
        .collect();
    let files: Vec<(&str, &[u8])> = generated
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    commit_as(&repo, ADA, at9(120), &files);
    repo.checkout(&["-b", "feature"]);
    let util = append(&repo, "src/util.rs", "more", 4);
    commit_as(&repo, CY, at9(130), &[(&util.0, &util.1)]);
    repo.checkout(&["main"]);
    repo.merge("feature", at9(131));
    repo
}

fn code_json(path: &Path, args: &[&str]) -> Value {
    let mut all = vec!["code", path.to_str().unwrap(), "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "nextneck {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn hotspots_rank_files_by_changes_then_lines() {
    let repo = scenario();
    let r = code_json(repo.path(), &["--all", "--top", "3"]);
    // Window: d0 to the end of d131 (the merge). 14 non-merge commits.
    // File changes: core 9, api 8, util 2, faq 2, notes 2, guide 1,
    // README 1, logo 1, gen 31 × 1 = 57. Lines changed: core 20 (+19 -1),
    // api 11, util 12, faq 10, notes 10, guide 20, README 2, gen 31 = 116.
    // Ties on changes go to lines changed: util (12) before faq (10).
    check(
        &r,
        &[
            ("/schema_version", json!(1)),
            ("/window/since", json!("2024-01-01T00:00:00Z")),
            ("/window/until", json!("2024-05-12T00:00:00Z")),
            ("/window/selection", json!("all")),
            ("/source/commits", json!(15)),
            ("/source/analysed_commits", json!(14)),
            ("/source/merges", json!(1)),
            ("/source/renames", json!(true)),
            ("/scope/files", json!(39)),
            ("/hotspots/commits", json!(14)),
            ("/hotspots/files_changed", json!(39)),
            ("/hotspots/changes", json!(57)),
            ("/hotspots/lines_changed", json!(116)),
            ("/hotspots/limit", json!(3)),
            ("/hotspots/files/0/rank", json!(1)),
            ("/hotspots/files/0/path", json!("src/core.rs")),
            ("/hotspots/files/0/changes", json!(9)),
            ("/hotspots/files/0/lines_added", json!(19)),
            ("/hotspots/files/0/lines_deleted", json!(1)),
            ("/hotspots/files/0/lines_changed", json!(20)),
            ("/hotspots/files/0/size_lines", json!(18)),
            ("/hotspots/files/0/authors", json!(3)),
            ("/hotspots/files/0/change_share", json!(9.0 / 57.0)),
            ("/hotspots/files/0/lines_share", json!(20.0 / 116.0)),
            ("/hotspots/files/1/path", json!("src/api.rs")),
            ("/hotspots/files/1/changes", json!(8)),
            ("/hotspots/files/1/size_lines", json!(11)),
            ("/hotspots/files/2/path", json!("src/util.rs")),
            ("/hotspots/files/2/changes", json!(2)),
            ("/hotspots/files/2/lines_changed", json!(12)),
            ("/hotspots/top/files", json!(3)),
            ("/hotspots/top/change_share", json!(19.0 / 57.0)),
            ("/hotspots/top/lines_share", json!(43.0 / 116.0)),
        ],
    );
    check_absent(&r, &["/hotspots/files/3"]);
    // The binary file is ranked last among single changes, with no lines.
    let r = code_json(repo.path(), &["--all", "--top", "100"]);
    let files = r["hotspots"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 39);
    let last = files.last().unwrap();
    check(
        last,
        &[
            ("/path", json!("assets/logo.bin")),
            ("/binary_changes", json!(1)),
            ("/lines_changed", json!(0)),
            ("/size_lines", Value::Null),
        ],
    );
}

#[test]
fn change_coupling_degree_and_thresholds() {
    let repo = scenario();
    let r = code_json(repo.path(), &["--all"]);
    // The 31-file commit is ignored (more than 30 files): 13 commits left.
    // core changed in 9 of them, api in 8, both in 7 (c1, c4-c9):
    // degree = 7 / ((9 + 8) / 2) = 14/17.
    check(
        &r,
        &[
            ("/coupling/commits", json!(13)),
            ("/coupling/large_commits_ignored", json!(1)),
            ("/coupling/min_degree", json!(0.3)),
            ("/coupling/pairs/0/a", json!("src/api.rs")),
            ("/coupling/pairs/0/b", json!("src/core.rs")),
            ("/coupling/pairs/0/shared", json!(7)),
            ("/coupling/pairs/0/a_commits", json!(8)),
            ("/coupling/pairs/0/b_commits", json!(9)),
            ("/coupling/pairs/0/degree", json!(14.0 / 17.0)),
        ],
    );
    check_absent(&r, &["/coupling/pairs/1"]);
    // Each threshold, just above the pair's figure, drops it.
    for args in [
        ["--min-shared", "8"],
        ["--min-revisions", "9"],
        ["--min-degree", "83"],
    ] {
        let mut all = vec!["--all"];
        all.extend_from_slice(&args);
        let r = code_json(repo.path(), &all);
        assert_eq!(r["coupling"]["pairs"], json!([]), "{args:?}");
    }
    // ... and just at it, keeps it.
    let r = code_json(
        repo.path(),
        &[
            "--all",
            "--min-shared",
            "7",
            "--min-revisions",
            "8",
            "--min-degree",
            "82",
        ],
    );
    assert_eq!(r["coupling"]["pairs"].as_array().unwrap().len(), 1);
    // Allowing 31-file commits: 14 commits considered, and the generated
    // files, one commit each, stay below the thresholds.
    let r = code_json(repo.path(), &["--all", "--max-changeset", "31"]);
    check(
        &r,
        &[
            ("/coupling/commits", json!(14)),
            ("/coupling/large_commits_ignored", json!(0)),
            ("/coupling/pairs/0/degree", json!(14.0 / 17.0)),
        ],
    );
    check_absent(&r, &["/coupling/pairs/1"]);
}

#[test]
fn knowledge_shares_islands_and_truck_factor() {
    let repo = scenario();
    let r = code_json(repo.path(), &["--all"]);
    // Lines added per file: core Ada 16, Cy 2, Bo 1; api Ada 11; util Cy 12;
    // guide Bo 20; faq Bo 8, Ada 2; notes Bo 7, Ada 3; README Ada 2;
    // gen 31 × Ada 1; logo none (binary). 115 lines, 3 authors once the
    // mailmap joins Bo's two identities.
    let file = |path: &str| {
        r["knowledge"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()
            .clone()
    };
    check(
        &r,
        &[
            ("/knowledge/authors", json!(3)),
            ("/knowledge/lines_added", json!(115)),
        ],
    );
    check(
        &file("src/core.rs"),
        &[
            ("/lines_added", json!(19)),
            ("/size_lines", json!(18)),
            ("/main_author", json!("Ada <ada@example.com>")),
            ("/main_share", json!(16.0 / 19.0)),
            ("/authors/0/lines_added", json!(16)),
            ("/authors/1/author", json!("Cy <cy@example.com>")),
            ("/authors/1/share", json!(2.0 / 19.0)),
            ("/authors/2/author", json!("Bo <bo@example.com>")),
            ("/authors/2/share", json!(1.0 / 19.0)),
        ],
    );
    check(
        &file("docs/faq.md"),
        &[
            ("/main_author", json!("Bo <bo@example.com>")),
            ("/main_share", json!(0.8)),
        ],
    );
    check(
        &file("assets/logo.bin"),
        &[
            ("/lines_added", json!(0)),
            ("/main_author", Value::Null),
            ("/main_share", Value::Null),
            ("/size_lines", Value::Null),
        ],
    );
    let dir = |path: &str| {
        r["knowledge"]["directories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"] == path)
            .unwrap()
            .clone()
    };
    check(
        &dir("docs"),
        &[
            ("/files", json!(3)),
            ("/lines_added", json!(40)),
            ("/main_author", json!("Bo <bo@example.com>")),
            ("/main_share", json!(35.0 / 40.0)),
            ("/author_count", json!(2)),
        ],
    );
    check(
        &dir("src"),
        &[
            ("/lines_added", json!(42)),
            ("/main_share", json!(27.0 / 42.0)),
        ],
    );
    check(
        &dir("."),
        &[("/files", json!(39)), ("/lines_added", json!(115))],
    );
    // Islands: a main author with at least 80% who made no commit in the
    // 90 days before 2024-05-12 (since 2024-02-12). Bo's last commit is d9.
    // guide (Bo 100%) and faq (Bo exactly 80%) are islands; notes (Bo 70%)
    // is not; util (Cy 100%) is not, Cy committed on d130. Largest first.
    check(
        &r,
        &[
            ("/knowledge/island_min_share", json!(0.8)),
            ("/knowledge/island_inactive_days", json!(90)),
            ("/knowledge/islands/0/path", json!("docs/guide.md")),
            ("/knowledge/islands/0/size_lines", json!(20)),
            (
                "/knowledge/islands/0/main_author",
                json!("Bo <bo@example.com>"),
            ),
            ("/knowledge/islands/0/main_share", json!(1.0)),
            (
                "/knowledge/islands/0/last_commit",
                json!("2024-01-10T09:00:00Z"),
            ),
            ("/knowledge/islands/1/path", json!("docs/faq.md")),
            ("/knowledge/islands/1/main_share", json!(0.8)),
        ],
    );
    check_absent(&r, &["/knowledge/islands/2"]);
    // Truck factor over the 38 files with lines: removing Ada (65 lines)
    // orphans core, api, README and the 31 generated files: 34 > 19.
    check(
        &r,
        &[
            // Only files whose shares rest on at least 10 lines added are
            // a verdict: README's 2 lines and the 31 one-line generated
            // files are not (32 unrated). The truck factor counts core,
            // api, util, guide, faq and notes: Bo (36 lines) goes first
            // and orphans guide, faq and notes, 3 of 6, not more than
            // half; then Ada (core 16 + api 11 against Cy's 14) orphans
            // core and api: 5 of 6.
            ("/knowledge/min_lines", json!(10)),
            ("/knowledge/unrated_files", json!(32)),
            ("/knowledge/truck_factor/value", json!(2)),
            ("/knowledge/truck_factor/files", json!(6)),
            ("/knowledge/truck_factor/removed/0/name", json!("Bo")),
            ("/knowledge/truck_factor/removed/0/orphaned_files", json!(3)),
            ("/knowledge/truck_factor/removed/1/name", json!("Ada")),
            ("/knowledge/truck_factor/removed/1/orphaned_files", json!(5)),
            (
                "/knowledge/truck_factor/removed/1/orphaned_share",
                json!(5.0 / 6.0),
            ),
        ],
    );
    check(
        &file("README.md"),
        &[
            ("/lines_added", json!(2)),
            ("/lines_from_merges", json!(0)),
            ("/rated", json!(false)),
        ],
    );
    check(&file("docs/faq.md"), &[("/rated", json!(true))]);
    // Without the generated files, 7 files in scope, the same 6 rated.
    let r = code_json(
        repo.path(),
        &["--all", "--exclude", "gen", "--exclude", "*.bin"],
    );
    check(
        &r,
        &[
            ("/scope/files", json!(7)),
            ("/scope/exclude", json!(["gen", "*.bin"])),
            ("/knowledge/truck_factor/value", json!(2)),
            ("/knowledge/truck_factor/files", json!(6)),
            ("/knowledge/truck_factor/removed/0/name", json!("Bo")),
            ("/knowledge/truck_factor/removed/0/orphaned_files", json!(3)),
            ("/knowledge/truck_factor/removed/1/name", json!("Ada")),
            ("/knowledge/truck_factor/removed/1/orphaned_files", json!(5)),
            ("/hotspots/changes", json!(25)),
            ("/coupling/large_commits_ignored", json!(0)),
        ],
    );
    // Thresholds are options: at 70% and 200 quiet days, notes joins and
    // Cy (last commit 18 days before the end) still does not count.
    let r = code_json(
        repo.path(),
        &["--all", "--island-share", "70", "--island-days", "100"],
    );
    let islands: Vec<&str> = r["knowledge"]["islands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(islands, ["docs/guide.md", "docs/faq.md", "docs/notes.md"]);
}

#[test]
fn the_window_and_path_scope_what_counts() {
    let repo = scenario();
    // Until d50: the files as of c11 (d10); the window d-40..d50 holds
    // c1..c11. No generated files, no logo; api has 4 + 6 lines.
    let r = code_json(repo.path(), &["--until", "2024-02-20"]);
    check(
        &r,
        &[
            ("/window/since", json!("2023-11-22T00:00:00Z")),
            ("/window/selection", json!("explicit")),
            ("/source/analysed_commits", json!(11)),
            ("/scope/files", json!(7)),
            ("/hotspots/files/1/path", json!("src/api.rs")),
            ("/hotspots/files/1/size_lines", json!(10)),
            // c1 3, c2 3, c3 2, c4-c9 12, c10 1, c11 2.
            ("/hotspots/changes", json!(23)),
        ],
    );
    // A window that starts at d3: hotspots count c4 on, knowledge counts
    // everything before the end.
    let r = code_json(repo.path(), &["--since", "2024-01-04", "--top", "1"]);
    check(
        &r,
        &[
            ("/hotspots/files/0/path", json!("src/core.rs")),
            ("/hotspots/files/0/changes", json!(7)),
            ("/knowledge/lines_added", json!(115)),
        ],
    );
    // --path scopes everything to a subtree.
    let r = code_json(repo.path(), &["--all", "--path", "docs/"]);
    check(
        &r,
        &[
            ("/scope/files", json!(3)),
            ("/scope/include", json!(["docs/"])),
            ("/hotspots/changes", json!(5)),
            ("/knowledge/authors", json!(2)),
            ("/knowledge/directories/0/path", json!(".")),
            ("/knowledge/directories/1/path", json!("docs")),
            ("/coupling/pairs", json!([])),
        ],
    );
}

/// With `--renames`, a file's history continues under its new name.
///
/// ```text
/// d0  Cy   add old.rs (10 lines)
/// d1  Ada  git mv old.rs new.rs
/// d2  Ada  new.rs +1
/// ```
#[test]
fn renames_carry_history_and_knowledge() {
    let repo = Repo::new();
    commit_as(
        &repo,
        CY,
        at(0, 0),
        &[("old.rs", lines("old", 10).as_bytes())],
    );
    repo.git(&["mv", "old.rs", "new.rs"], None, None);
    commit_as(&repo, ADA, at(1, 0), &[]);
    let new = append(&repo, "new.rs", "ada", 1);
    commit_as(&repo, ADA, at(2, 0), &[(&new.0, &new.1)]);

    // Without: the move adds 10 lines by Ada to a new file.
    let r = code_json(repo.path(), &["--all", "--no-renames"]);
    check(
        &r,
        &[
            ("/hotspots/files/0/path", json!("new.rs")),
            ("/hotspots/files/0/changes", json!(2)),
            (
                "/knowledge/files/0/main_author",
                json!("Ada <ada@example.com>"),
            ),
            ("/knowledge/files/0/lines_added", json!(11)),
        ],
    );
    // With (the default; `--renames` is still accepted): three changes,
    // and Cy wrote 10 of its 11 lines.
    let default = code_json(repo.path(), &["--all"]);
    let r = code_json(repo.path(), &["--all", "--renames"]);
    assert_eq!(default, r);
    check(
        &r,
        &[
            ("/source/renames", json!(true)),
            ("/hotspots/files/0/path", json!("new.rs")),
            ("/hotspots/files/0/changes", json!(3)),
            ("/hotspots/files_changed", json!(1)),
            (
                "/knowledge/files/0/main_author",
                json!("Cy <cy@example.com>"),
            ),
            ("/knowledge/files/0/main_share", json!(10.0 / 11.0)),
        ],
    );
}

/// Runs `nextneck code . ARGS` inside the repository (stable paths).
fn code_text(repo: &Repo, args: &[&str]) -> String {
    let out = nextneck()
        .current_dir(repo.path())
        .arg("code")
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
    let repo = scenario();
    let text = code_text(&repo, &["--all", "--top", "3"]);
    let text = text.replace(&repo.head()[..12], "<snapshot>");
    insta::assert_snapshot!(text, @"
    nextneck code . (15 commits, 14 analysed, renames followed; files as of <snapshot>)
    window  2024-01-01T00:00:00Z to 2024-05-12T00:00:00Z (132 days, all)
    scope   39 files

    hotspots: the top 3 files hold 33% of changes and 37% of lines changed (57 changes to 39 files in 14 commits)
    #  file         changes  lines +/-  size  authors
    1  src/core.rs  9        +19 -1     18    3
    2  src/api.rs   8        +11 -0     11    1
    3  src/util.rs  2        +12 -0     12    1

    change coupling: 1 pair (degree at least 30%, files with at least 5 commits, at least 5 shared; 1 commit touching more than 30 files ignored)
    degree  shared  file            changes with
    82%     7       src/api.rs (8)  src/core.rs (9)

    knowledge: 115 lines added up to the window's end by 3 authors
    directory  files  lines added  main author  share  authors
    .          39     115          Ada          57%    3
    src        3      42           Ada          64%    3
    docs       3      40           Bo           88%    2
    gen        31     31           Ada          100%   1

    knowledge islands: 2 (a main author with at least 80% of the lines and no commit since 2024-02-12)
    file           size  main author  share             last commit
    docs/guide.md  20    Bo           100% of 20 lines  2024-01-10
    docs/faq.md    10    Bo           80% of 10 lines   2024-01-10

    truck factor: 2 (Bo, Ada: 83% of 6 files orphaned)

    notes
      - 32 files get no knowledge verdict (no island, not in the truck factor): their shares rest on fewer than 10 lines added, or most of their lines arrived through a merge (a subtree or an import)
    ");
}

#[test]
fn markdown_output() {
    let repo = scenario();
    let text = code_text(&repo, &["--all", "--top", "2", "--format", "markdown"]);
    let text = text.replace(&repo.head()[..12], "<snapshot>");
    insta::assert_snapshot!(text, @"
    ## nextneck code: `.` (15 commits, 14 analysed, renames followed; files as of <snapshot>)

    Window: 2024-01-01T00:00:00Z to 2024-05-12T00:00:00Z (132 days, all). Scope: 39 files.

    ### Hotspots

    The top 2 files hold 30% of changes and 27% of lines changed (57 changes to 39 files in 14 commits).

    | # | file | changes | lines added | lines deleted | size | authors |
    |---:|---|---:|---:|---:|---:|---:|
    | 1 | `src/core.rs` | 9 | 19 | 1 | 18 | 3 |
    | 2 | `src/api.rs` | 8 | 11 | 0 | 11 | 1 |

    ### Change coupling

    1 pair (degree at least 30%, files with at least 5 commits, at least 5 shared; 1 commit touching more than 30 files ignored).

    | degree | shared | file | changes with |
    |---:|---:|---|---|
    | 82% | 7 | `src/api.rs` (8) | `src/core.rs` (9) |

    ### Knowledge

    115 lines added up to the window's end by 3 authors. **Truck factor:** 2 (Bo, Ada: 83% of 6 files orphaned).

    | directory | files | lines added | main author | share | authors |
    |---|---:|---:|---|---:|---:|
    | `.` | 39 | 115 | Ada | 57% | 3 |
    | `src` | 3 | 42 | Ada | 64% | 3 |
    | `docs` | 3 | 40 | Bo | 88% | 2 |

    **Knowledge islands: 2 (a main author with at least 80% of the lines and no commit since 2024-02-12)**

    | file | size | main author | share | last commit |
    |---|---:|---|---:|---|
    | `docs/guide.md` | 20 | Bo | 100% of 20 lines | 2024-01-10 |
    | `docs/faq.md` | 10 | Bo | 80% of 10 lines | 2024-01-10 |

    > 32 files get no knowledge verdict (no island, not in the truck factor): their shares rest on fewer than 10 lines added, or most of their lines arrived through a merge (a subtree or an import)
    ");
}

#[test]
fn a_second_run_reads_the_cache_and_gives_the_same_report() {
    let repo = scenario();
    let first = code_json(repo.path(), &["--all"]);
    assert!(
        repo.path()
            .join(".git/nextneck/code-v1-renames.bin")
            .exists()
    );
    let second = code_json(repo.path(), &["--all"]);
    assert_eq!(first, second);
    let fresh = code_json(repo.path(), &["--all", "--no-cache"]);
    assert_eq!(first, fresh);
    // A force-pushed main: the last two commits replaced by another.
    repo.git(&["reset", "-q", "--hard", "HEAD~2"], None, None);
    repo.git(&["branch", "-D", "feature"], None, None);
    commit_as(&repo, CY, at(140, 0), &[("src/core.rs", b"rewritten\n")]);
    let cached = code_json(repo.path(), &["--all"]);
    let fresh = code_json(repo.path(), &["--all", "--no-cache"]);
    assert_eq!(cached, fresh);
    check(&cached, &[("/source/commits", json!(13))]);
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let not_repo = tempfile::tempdir().unwrap();
    let (code, _, err) = run_text(&["code", not_repo.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("not a git repository"), "{err}");

    let mut repo = Repo::new();
    repo.commit("one", at(0, 0), at(0, 0));
    let p = repo.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--path", ""], "an empty path"),
        (&["--min-degree", "150"], "is not between 0 and 100"),
        (&["--island-share", "many"], "is not a number"),
        (&["--since", "2030-01-01"], "the window is empty"),
        (
            &["--since", "2024-02-01", "--until", "2024-01-01"],
            "--since must be before --until",
        ),
        (&["--format", "yaml"], "invalid value 'yaml'"),
    ];
    for (args, message) in cases {
        let mut all = vec!["code", p];
        all.extend_from_slice(args);
        let (code, out, err) = run_text(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn the_report_reads_no_file_changes_without_failed_deployments() {
    let mut repo = Repo::new();
    let a = repo.commit("one", at(0, 0), at(0, 0));
    repo.tag("v1.0.0", &a);
    let b = repo.commit("two", at(1, 0), at(1, 0));
    repo.tag("v1.1.0", &b);
    let r = report_json(repo.path(), &["--all"]);
    assert_eq!(r["code"], Value::Null);
    assert!(
        !repo.path().join(".git/nextneck").exists(),
        "no diff, no cache"
    );
}

/// The report's code tie-in.
///
/// ```text
/// d0    Bo   add legacy.c (10 lines)            v1.0.0 (baseline)
/// d1    Ada  add app.c (5 lines)                v1.1.0
/// d100  Ada  x: app.c +1, legacy.c +1           v1.2.0 (fails: x is reverted)
/// d101  Ada  app.c +1 (at the top)
/// d102  Ada  revert of x                        v1.3.0
/// ```
#[test]
fn the_report_names_the_top_hotspot_and_islands_the_failed_deployments_touched() {
    let repo = Repo::new();
    let v = |name: &str| repo.tag(name, "HEAD");
    commit_as(
        &repo,
        BO,
        at(0, 9),
        &[("legacy.c", lines("legacy", 10).as_bytes())],
    );
    v("v1.0.0");
    commit_as(
        &repo,
        ADA,
        at(1, 9),
        &[("app.c", lines("app", 5).as_bytes())],
    );
    v("v1.1.0");
    let app = append(&repo, "app.c", "x", 1);
    let legacy = append(&repo, "legacy.c", "x", 1);
    let x = commit_as(
        &repo,
        ADA,
        at(100, 9),
        &[(&app.0, &app.1), (&legacy.0, &legacy.1)],
    );
    v("v1.2.0");
    // A line at the top, far from x's, so that x reverts cleanly.
    let app = format!(
        "later line\n{}",
        std::fs::read_to_string(repo.path().join("app.c")).unwrap()
    );
    commit_as(&repo, ADA, at(101, 9), &[("app.c", app.as_bytes())]);
    repo.revert(&x, at(102, 9));
    v("v1.3.0");

    let r = report_json(repo.path(), &["--all"]);
    // Hotspots over the whole window: app.c 4 changes (5 + 1 + 1 + 1 lines
    // changed), legacy.c 3. legacy.c: Bo 10 of 11 lines added, Bo's last
    // commit d0, more than 90 days before the end (d103): an island.
    check(
        &r,
        &[
            ("/dora/change_failure_rate/failed", json!(1)),
            ("/code/changes", json!(1)),
            ("/code/files", json!(2)),
            ("/code/ranked_files", json!(2)),
            ("/code/top_hotspot/path", json!("app.c")),
            ("/code/top_hotspot/rank", json!(1)),
            ("/code/top_hotspot/changes", json!(4)),
            ("/code/top_hotspot/lines_changed", json!(8)),
            ("/code/knowledge_islands/0/path", json!("legacy.c")),
            ("/code/knowledge_islands/0/main_share", json!(10.0 / 11.0)),
            (
                "/code/summary",
                json!(
                    "the failed deployments' 1 change touched 2 files that still exist; the top hotspot among them is app.c, #1 of 2 changed in the window (4 changes, 8 lines changed); a knowledge island among them: legacy.c (Bo wrote 91%, last commit 2024-01-01)"
                ),
            ),
        ],
    );
    check_absent(&r, &["/code/knowledge_islands/1"]);
    assert!(
        repo.path()
            .join(".git/nextneck/code-v1-renames.bin")
            .exists()
    );
    // A window without the failed deployment says nothing about code.
    let r = report_json(repo.path(), &["--since", "2024-04-11"]);
    check(
        &r,
        &[
            ("/dora/change_failure_rate/failed", json!(0)),
            ("/code", Value::Null),
        ],
    );
}

/// The report promises seconds: beyond its budget of uncached commits it
/// names no files and asks for `nextneck code`, whose cache it then uses.
#[test]
fn the_report_asks_for_nextneck_code_beyond_its_diff_budget() {
    let repo = Repo::new();
    commit_as(&repo, ADA, at(0, 9), &[("a.c", lines("a", 3).as_bytes())]);
    repo.tag("v1.0.0", "HEAD");
    let x = commit_as(&repo, ADA, at(1, 9), &[("b.c", lines("b", 3).as_bytes())]);
    commit_as(&repo, ADA, at(1, 10), &[("c.c", lines("c", 3).as_bytes())]);
    repo.tag("v1.1.0", "HEAD");
    repo.revert(&x, at(2, 9));
    repo.tag("v1.2.0", "HEAD");
    let report = || {
        let out = nextneck()
            .env("NEXTNECK_TIE_IN_BUDGET", "2")
            .args([
                "report",
                repo.path().to_str().unwrap(),
                "--all",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    // Four commits, none cached: over the budget of two.
    let r = report();
    check(
        &r,
        &[
            ("/dora/change_failure_rate/failed", json!(1)),
            ("/code", Value::Null),
        ],
    );
    let notice = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "code_not_cached");
    let message = notice
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        message.contains("4 commits") && message.contains("run `nextneck code` once"),
        "{message}"
    );
    assert!(
        !repo.path().join(".git/nextneck").exists(),
        "the report wrote a cache"
    );
    // `nextneck code` caches every commit's changes; the report uses them.
    let (code, _, err) = run_text(&["code", repo.path().to_str().unwrap(), "--all"]);
    assert_eq!(code, 0, "{err}");
    let r = report();
    // v1.1.0 shipped two changes; b.c is gone (reverted), c.c remains.
    check(
        &r,
        &[("/code/changes", json!(2)), ("/code/files", json!(1))],
    );
}

/// A partial clone without blobs: `code` fails saying why; `report` still
/// gives its delivery figures and says why the code tie-in is missing.
#[test]
fn a_clone_without_blobs_is_an_error_for_code_and_a_notice_for_report() {
    let repo = Repo::new();
    commit_as(&repo, ADA, at(0, 9), &[("a.c", lines("a", 3).as_bytes())]);
    repo.tag("v1.0.0", "HEAD");
    let x = commit_as(&repo, ADA, at(1, 9), &[("b.c", lines("b", 3).as_bytes())]);
    repo.tag("v1.1.0", "HEAD");
    repo.revert(&x, at(2, 9));
    repo.tag("v1.2.0", "HEAD");
    repo.git(&["config", "uploadpack.allowFilter", "true"], None, None);
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("partial");
    let url = format!("file://{}", repo.path().display());
    repo.git(
        &[
            "clone",
            "-q",
            "--bare",
            "--filter=blob:none",
            &url,
            clone.to_str().unwrap(),
        ],
        None,
        None,
    );
    let (code, _, err) = run_text(&["code", clone.to_str().unwrap(), "--all"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("use a full clone"), "{err}");
    let r = report_json(&clone, &["--all"]);
    check(
        &r,
        &[
            ("/dora/change_failure_rate/failed", json!(1)),
            ("/code", Value::Null),
        ],
    );
    let notice = r["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "code_unavailable")
        .unwrap();
    assert!(
        notice["message"]
            .as_str()
            .unwrap()
            .contains("delivery figures are unaffected"),
        "{notice}"
    );
}

/// When `.git/nextneck/` cannot be written, the cache goes to
/// `$XDG_CACHE_HOME/nextneck/`, and the next run uses it.
#[test]
fn the_cache_goes_to_the_user_cache_dir_when_the_repository_is_not_writable() {
    let repo = scenario();
    std::fs::write(repo.path().join(".git/nextneck"), b"in the way").unwrap();
    let cache_home = tempfile::tempdir().unwrap();
    let run_code = || {
        let out = nextneck()
            .env("XDG_CACHE_HOME", cache_home.path())
            .args([
                "code",
                repo.path().to_str().unwrap(),
                "--all",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = run_code();
    let folders: Vec<_> = std::fs::read_dir(cache_home.path().join("nextneck"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let file = folders[0].join("code-v1-renames.bin");
    assert!(file.exists());
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    assert_eq!(run_code(), first);
    // Nothing new: the second run read the file and did not rewrite it.
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written
    );
}

/// The code report as a page, opened in headless Chromium.
#[test]
fn the_code_page_renders_in_a_browser() {
    let repo = Repo::new();
    commit_as(
        &repo,
        ADA,
        at(0, 9),
        &[
            ("a.c", lines("a", 3).as_bytes()),
            ("b.c", lines("b", 2).as_bytes()),
        ],
    );
    commit_as(&repo, BO, at(1, 9), &[("a.c", lines("a2", 4).as_bytes())]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("code.html");
    let (code, _, err) = run_text(&[
        "code",
        repo.path().to_str().unwrap(),
        "--all",
        "--format",
        "html",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("Where the code waits") && html.contains("Truck factor"),
        "figures missing"
    );
    let url = format!("file://{}", file.display());
    browser::check_page(&browser::load(&url), &["code-hotspots"]);
    // Hotspot bars count changes: whole-number ticks, file names clear of
    // the axes.
    browser::check_wall_screen(&browser::measure(&html, 1920));
    browser::screenshot(&url, "code", 1000, 1600);
}

const ADA_WORK: (&str, &str) = ("Ada", "ada@work.example");
const DEE: (&str, &str) = ("Dee", "dee@example.com");

/// What the defaults leave out and what they do not credit. Days from
/// 2024-01-01, no `.mailmap`.
///
/// ```text
/// d0    Ada        add src/main.rs (20 lines), Cargo.lock (30), src/schema.rs (40,
///                  linguist-generated in .gitattributes), po/de.po (15), .gitattributes (1)
/// d1    Ada (work) src/main.rs +10, as ada@work.example
/// d2    Cy         git mv src/main.rs src/app.rs
/// d3    Cy         src/app.rs +2
/// d4    Bo         lib.sh (50 lines) in another repository, fetched as branch lib
/// d5    Ada        subtree merge of lib under tools/ (not diffed)
/// d6    Dee        tools/lib.sh +2
/// d200  Ada        src/app.rs +5
/// ```
fn defaults_scenario() -> Repo {
    let repo = Repo::new();
    let gen_attr = "src/schema.rs linguist-generated=true\n";
    commit_as(
        &repo,
        ADA,
        at(0, 9),
        &[
            ("src/main.rs", lines("main", 20).as_bytes()),
            ("Cargo.lock", lines("lock", 30).as_bytes()),
            ("src/schema.rs", lines("schema", 40).as_bytes()),
            ("po/de.po", lines("msgid", 15).as_bytes()),
            (".gitattributes", gen_attr.as_bytes()),
        ],
    );
    let main = append(&repo, "src/main.rs", "work", 10);
    commit_as(&repo, ADA_WORK, at(1, 9), &[(&main.0, &main.1)]);
    repo.git(&["mv", "src/main.rs", "src/app.rs"], None, None);
    commit_as(&repo, CY, at(2, 9), &[]);
    let app = append(&repo, "src/app.rs", "cy", 2);
    commit_as(&repo, CY, at(3, 9), &[(&app.0, &app.1)]);

    let lib = Repo::new();
    commit_as(
        &lib,
        BO,
        at(4, 9),
        &[("lib.sh", lines("lib", 50).as_bytes())],
    );
    let lib_path = lib.path().to_str().unwrap().to_owned();
    repo.git(&["fetch", "-q", &lib_path, "main:lib"], None, None);
    repo.git(
        &[
            "merge",
            "-q",
            "-s",
            "ours",
            "--no-commit",
            "--allow-unrelated-histories",
            "lib",
        ],
        Some(at(5, 9)),
        Some(at(5, 9)),
    );
    repo.git(&["read-tree", "--prefix=tools/", "-u", "lib"], None, None);
    repo.git(
        &["commit", "-q", "-m", "Add tools/ from lib"],
        Some(at(5, 9)),
        Some(at(5, 9)),
    );
    let tools = append(&repo, "tools/lib.sh", "dee", 2);
    commit_as(&repo, DEE, at(6, 9), &[(&tools.0, &tools.1)]);
    let app = append(&repo, "src/app.rs", "late", 5);
    commit_as(&repo, ADA, at(200, 9), &[(&app.0, &app.1)]);
    repo
}

#[test]
fn defaults_leave_out_generated_files_follow_renames_and_do_not_credit_merged_lines() {
    let repo = defaults_scenario();
    let r = code_json(repo.path(), &["--all"]);
    let file = |path: &str| {
        r["knowledge"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .cloned()
            .unwrap_or(Value::Null)
    };
    check(
        &r,
        &[
            ("/source/renames", json!(true)),
            // In scope: .gitattributes, src/app.rs, tools/lib.sh.
            ("/scope/files", json!(3)),
            (
                "/scope/left_out",
                json!([
                    {"reason": "lockfile", "files": 1, "examples": ["Cargo.lock"]},
                    {"reason": "linguist_generated", "files": 1, "examples": ["src/schema.rs"]},
                    {"reason": "translation", "files": 1, "examples": ["po/de.po"]},
                ]),
            ),
            // The rename is followed: src/app.rs has main.rs's history,
            // 5 changes; Ada wrote 20 + 5 of its 37 lines under her first
            // address, 10 under the other (not merged), Cy 2.
            ("/hotspots/files/0/path", json!("src/app.rs")),
            ("/hotspots/files/0/changes", json!(5)),
        ],
    );
    let hotspots: Vec<&str> = r["hotspots"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    // Files gone by the snapshot (the subtree's own lib.sh) are not ranked.
    assert_eq!(hotspots, ["src/app.rs", "tools/lib.sh", ".gitattributes"]);
    check(
        &file("src/app.rs"),
        &[
            ("/size_lines", json!(37)),
            ("/lines_added", json!(37)),
            ("/main_author", json!("Ada <ada@example.com>")),
            ("/main_share", json!(25.0 / 37.0)),
            ("/authors/1/author", json!("Ada <ada@work.example>")),
            ("/authors/1/lines_added", json!(10)),
            ("/lines_from_merges", json!(0)),
            ("/rated", json!(true)),
        ],
    );
    // tools/lib.sh arrived by the subtree merge: 50 of its 52 lines are
    // nobody's, Dee's 2 lines are no verdict, and Dee (quiet since d6) is
    // no knowledge island.
    check(
        &file("tools/lib.sh"),
        &[
            ("/size_lines", json!(52)),
            ("/lines_added", json!(2)),
            ("/main_author", json!("Dee <dee@example.com>")),
            ("/main_share", json!(1.0)),
            ("/lines_from_merges", json!(50)),
            ("/rated", json!(false)),
        ],
    );
    check(
        &r,
        &[
            ("/knowledge/islands", json!([])),
            ("/knowledge/unrated_files", json!(2)),
            ("/knowledge/truck_factor/files", json!(1)),
            ("/knowledge/truck_factor/value", json!(1)),
            (
                "/knowledge/truck_factor/removed/0/author",
                json!("Ada <ada@example.com>"),
            ),
            (
                "/split_identities",
                json!([{
                    "name": "Ada",
                    "emails": ["ada@example.com", "ada@work.example"],
                    "commits": [3, 1],
                    "mailmap": ["Ada <ada@example.com> <ada@work.example>"],
                }]),
            ),
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
            "generated_left_out",
            "knowledge_not_rated",
            "one_name_several_emails"
        ]
    );
    assert_eq!(
        r["notices"][0]["message"],
        "3 files are left out of hotspots, coupling and knowledge (1 lockfiles, 1 linguist-generated in .gitattributes, 1 translations); pass --include-generated to keep them"
    );
    assert_eq!(
        r["notices"][2]["message"],
        "1 name appears under several e-mail addresses that no .mailmap entry merges (for example Ada as ada@example.com and ada@work.example); they count as different people. If they are one person, add to .mailmap: `Ada <ada@example.com> <ada@work.example>`"
    );
    let text = code_text(&repo, &["--all"]);
    assert!(
        text.contains("\n  Ada <ada@example.com> <ada@work.example>\n"),
        "{text}"
    );

    // With the generated files and without renames.
    let r = code_json(
        repo.path(),
        &["--all", "--include-generated", "--no-renames"],
    );
    check(
        &r,
        &[
            ("/source/renames", json!(false)),
            ("/scope/files", json!(6)),
            ("/scope/left_out", json!([])),
        ],
    );
    let app = r["knowledge"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/app.rs")
        .unwrap();
    // Without renames the move is Cy's: 30 + 2 of the 37 lines.
    assert_eq!(app["main_author"], "Cy <cy@example.com>");
    assert_eq!(app["main_share"], json!(32.0 / 37.0));
    // Translations alone.
    let r = code_json(repo.path(), &["--all", "--include-translations"]);
    check(&r, &[("/scope/files", json!(4))]);
}

#[test]
fn attribute_patterns_follow_git_rules() {
    // Exercised through the binary: a nested .gitattributes, a basename
    // pattern, `**`, and an explicit unset that keeps a lockfile.
    let repo = Repo::new();
    commit_as(
        &repo,
        ADA,
        at(0, 9),
        &[
            (
                ".gitattributes",
                b"*.gen.rs linguist-generated\nCargo.lock -linguist-generated\n",
            ),
            ("Cargo.lock", lines("lock", 12).as_bytes()),
            ("a/b/x.gen.rs", lines("gen", 12).as_bytes()),
            ("web/.gitattributes", b"assets/** linguist-vendored\n"),
            ("web/assets/js/lib.js", lines("lib", 12).as_bytes()),
            ("web/app.js", lines("app", 12).as_bytes()),
            ("assets/keep.js", lines("keep", 12).as_bytes()),
            ("vendor/dep/dep.go", lines("dep", 12).as_bytes()),
            ("ui/app.min.js", lines("min", 12).as_bytes()),
        ],
    );
    let r = code_json(repo.path(), &["--all"]);
    check(
        &r,
        &[(
            "/scope/left_out",
            json!([
                {"reason": "linguist_generated", "files": 1, "examples": ["a/b/x.gen.rs"]},
                {"reason": "linguist_vendored", "files": 1, "examples": ["web/assets/js/lib.js"]},
                {"reason": "generated", "files": 1, "examples": ["ui/app.min.js"]},
                {"reason": "vendored", "files": 1, "examples": ["vendor/dep/dep.go"]},
            ]),
        )],
    );
    let kept: Vec<&str> = r["knowledge"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        kept,
        [
            ".gitattributes",
            "Cargo.lock",
            "assets/keep.js",
            "web/.gitattributes",
            "web/app.js"
        ]
    );
}
