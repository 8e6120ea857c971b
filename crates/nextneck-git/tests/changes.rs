//! The file changes nextneck reads equal what `git log --numstat` prints,
//! commit by commit, on a generated history with text, binary, renamed,
//! deleted and moved files, files without a final line break, CRLF files,
//! executable bits, symbolic links, a submodule, a file that becomes a
//! directory, large files with many repeated lines (where git's diff
//! heuristics matter), a merge, and packed and loose objects. And the cache
//! stays correct when history is rewritten.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use nextneck_git::NoProgress;
use nextneck_git::changes::{CodeLoader, CodeOptions};

fn git(dir: &Path, args: &[&str], when: Option<i64>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    if let Some(t) = when {
        cmd.env("GIT_AUTHOR_DATE", format!("@{t} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{t} +0000"));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Lines of C-like code; many repeat (braces, blank lines, `return 0;`),
/// as in real files, so git's handling of frequent lines is exercised.
fn code_line(rng: &mut Rng, tag: &str) -> String {
    match rng.below(10) {
        0 | 1 => "}".to_owned(),
        2 => String::new(),
        3 => "    return 0;".to_owned(),
        4 => "{".to_owned(),
        _ => format!("    int {tag}_{} = {};", rng.below(500), rng.below(50)),
    }
}

fn write(root: &Path, path: &str, data: &[u8]) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, data).unwrap();
}

/// Edits text: inserts, deletes, replaces and moves lines.
fn edit(rng: &mut Rng, text: &str, tag: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        let at = rng.below(lines.len() + 1);
        match rng.below(5) {
            0 => {
                for _ in 0..1 + rng.below(6) {
                    lines.insert(at.min(lines.len()), code_line(rng, tag));
                }
            }
            1 if !lines.is_empty() => {
                let n = (1 + rng.below(5)).min(lines.len() - at.min(lines.len()));
                lines.drain(at.min(lines.len())..at.min(lines.len()) + n);
            }
            2 if at < lines.len() => lines[at] = code_line(rng, tag),
            3 if lines.len() > 10 => {
                // Move a block.
                let from = rng.below(lines.len() - 5);
                let block: Vec<String> = lines.drain(from..from + 5).collect();
                let to = rng.below(lines.len());
                for (i, l) in block.into_iter().enumerate() {
                    lines.insert(to + i, l);
                }
            }
            _ => lines.push(code_line(rng, tag)),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn text_file(rng: &mut Rng, tag: &str, n: usize) -> String {
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(&code_line(rng, tag));
        s.push('\n');
    }
    s
}

fn binary_file(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| if i % 97 == 3 { 0 } else { rng.next() as u8 })
        .collect()
}

/// Builds the history; returns the repository.
fn generated_history() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"], None);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut t: i64 = 1_700_000_000;
    let mut texts: Vec<String> = Vec::new();
    let mut next_file = 0;
    let commit = |root: &Path, msg: &str, t: &mut i64| {
        *t += 3600;
        git(root, &["add", "-A"], None);
        git(
            root,
            &["commit", "-q", "--allow-empty", "-m", msg],
            Some(*t),
        );
    };
    // The initial import.
    for i in 0..6 {
        let path = format!("src/file{i}.c");
        let n = 30 + rng.below(150);
        write(
            root,
            &path,
            text_file(&mut rng, &format!("f{i}"), n).as_bytes(),
        );
        texts.push(path);
    }
    let mut big = text_file(&mut rng, "big", 3000);
    write(root, "big/table.c", big.as_bytes());
    write(root, "assets/logo.png", &binary_file(&mut rng, 3000));
    write(root, "README", b"no final line break");
    write(root, "windows.txt", b"one\r\ntwo\r\nthree\r\n");
    let mut late_nul = vec![b'a'; 8100];
    late_nul.extend_from_slice(b"\n\0tail\n");
    write(root, "late-nul.txt", &late_nul);
    commit(root, "initial import", &mut t);

    for step in 0..70 {
        match step % 14 {
            0..=4 => {
                // Edit one to three text files.
                for _ in 0..1 + rng.below(3) {
                    if texts.is_empty() {
                        break;
                    }
                    let path = texts[rng.below(texts.len())].clone();
                    let old = std::fs::read_to_string(root.join(&path)).unwrap();
                    let tag = format!("e{step}");
                    write(root, &path, edit(&mut rng, &old, &tag).as_bytes());
                }
            }
            5 => {
                // A change in the middle of the big file full of braces.
                big = edit(&mut rng, &big, "big");
                write(root, "big/table.c", big.as_bytes());
            }
            6 => {
                // A new file.
                let path = format!("lib/new{next_file}.c");
                next_file += 1;
                let n = 5 + rng.below(40);
                write(root, &path, text_file(&mut rng, &path, n).as_bytes());
                texts.push(path);
            }
            7 if texts.len() > 3 => {
                // A rename, sometimes with an edit.
                let i = rng.below(texts.len());
                let from = texts.remove(i);
                let to = format!("moved/m{step}.c");
                std::fs::create_dir_all(root.join("moved")).unwrap();
                git(root, &["mv", &from, &to], None);
                if step % 28 == 7 {
                    let old = std::fs::read_to_string(root.join(&to)).unwrap();
                    write(root, &to, edit(&mut rng, &old, "mv").as_bytes());
                }
                texts.push(to);
            }
            8 if texts.len() > 4 => {
                // A deletion.
                let i = rng.below(texts.len());
                let path = texts.remove(i);
                std::fs::remove_file(root.join(path)).unwrap();
            }
            9 => {
                // The binary file changes; the README gains or loses its
                // final line break.
                write(root, "assets/logo.png", &binary_file(&mut rng, 2000 + step));
                let readme = std::fs::read(root.join("README")).unwrap();
                let new = if readme.ends_with(b"\n") {
                    readme[..readme.len() - 1].to_vec()
                } else {
                    [readme, b"\nsecond line".to_vec()].concat()
                };
                write(root, "README", &new);
            }
            10 => {
                // Executable bit and CRLF edits.
                let path = texts[rng.below(texts.len())].clone();
                git(root, &["update-index", "--chmod=+x", &path], None);
                let mut w = std::fs::read(root.join("windows.txt")).unwrap();
                w.extend_from_slice(format!("line {step}\r\n").as_bytes());
                write(root, "windows.txt", &w);
                git(root, &["add", "windows.txt"], None);
                t += 3600;
                git(root, &["commit", "-q", "-m", "chmod"], Some(t));
                continue;
            }
            11 => {
                // A symbolic link, created or retargeted.
                let link = root.join("current");
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(format!("src/file{}.c", step % 3), &link).unwrap();
            }
            12 => {
                // A submodule commit pointer, added or moved.
                let id = format!("{:040x}", rng.next());
                let spec = format!("160000,{id},vendor/sub");
                git(root, &["update-index", "--add", "--cacheinfo", &spec], None);
                t += 3600;
                git(root, &["commit", "-q", "-m", "submodule"], Some(t));
                continue;
            }
            _ => {
                // A file that becomes a directory, and back.
                let p = root.join("switch");
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).unwrap();
                    write(root, "switch", b"a file again\n");
                } else {
                    let _ = std::fs::remove_file(&p);
                    write(
                        root,
                        "switch/inside.txt",
                        b"now a directory\nwith two lines\n",
                    );
                }
            }
        }
        commit(root, &format!("step {step}"), &mut t);
        if step == 30 {
            // A side branch, merged back.
            git(root, &["checkout", "-q", "-b", "side"], None);
            write(root, "side.txt", b"side work\n");
            commit(root, "side work", &mut t);
            git(root, &["checkout", "-q", "main"], None);
            write(root, "main-only.txt", b"main work\n");
            commit(root, "main work", &mut t);
            t += 3600;
            git(
                root,
                &["merge", "-q", "--no-ff", "-m", "merge side", "side"],
                Some(t),
            );
            git(root, &["tag", "v1.0.0"], None);
        }
        if step == 45 {
            // From here on, objects are loose again on top of a pack.
            git(root, &["repack", "-adq"], None);
        }
    }
    dir
}

/// `git log --numstat` per commit: the sorted `added\tdeleted\tpath` lines
/// (renames as `old => new`).
fn git_numstat(dir: &Path, renames: bool) -> BTreeMap<String, Vec<String>> {
    let out = git(
        dir,
        &[
            "-c",
            "core.quotepath=off",
            "log",
            "--all",
            if renames { "-M" } else { "--no-renames" },
            "--numstat",
            "-z",
            "--format=%x01%H",
        ],
        None,
    );
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in out.split('\u{1}').filter(|r| !r.is_empty()) {
        // `-z` ends the commit line with a NUL, then a line break.
        let (id, rest) = record.split_once('\0').unwrap_or((record, ""));
        let mut lines = Vec::new();
        let mut fields = rest.trim_start_matches('\n').split('\0');
        while let Some(f) = fields.next() {
            let f = f.trim_start_matches('\n');
            if f.is_empty() {
                continue;
            }
            let mut parts = f.splitn(3, '\t');
            let (a, d, path) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
            );
            let path = if path.is_empty() {
                // A rename: the two paths follow.
                let from = fields.next().unwrap();
                let to = fields.next().unwrap();
                format!("{from} => {to}")
            } else {
                path.to_owned()
            };
            lines.push(format!("{a}\t{d}\t{path}"));
        }
        lines.sort();
        map.insert(id.trim().to_owned(), lines);
    }
    map
}

fn nextneck_numstat(dir: &Path, options: CodeOptions) -> BTreeMap<String, Vec<String>> {
    let mut loader = CodeLoader::open(dir, options, &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (history, _) = loader.finish();
    history
        .commits
        .iter()
        .map(|c| {
            let mut lines: Vec<String> = c
                .changes
                .iter()
                .map(|ch| {
                    let path = match ch.from {
                        Some(from) => {
                            format!("{} => {}", history.path(from), history.path(ch.path))
                        }
                        None => history.path(ch.path).to_owned(),
                    };
                    match ch.lines {
                        Some(l) => format!("{}\t{}\t{path}", l.added, l.deleted),
                        None => format!("-\t-\t{path}"),
                    }
                })
                .collect();
            lines.sort();
            (c.id.to_hex(), lines)
        })
        .collect()
}

fn assert_same(git: &BTreeMap<String, Vec<String>>, ours: &BTreeMap<String, Vec<String>>) {
    assert_eq!(
        git.keys().collect::<BTreeSet<_>>(),
        ours.keys().collect::<BTreeSet<_>>(),
        "the same commits"
    );
    let mut mismatches = Vec::new();
    for (id, lines) in git {
        if ours[id] != *lines {
            mismatches.push(format!(
                "{id}:\n  git:      {lines:?}\n  nextneck: {:?}",
                ours[id]
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn no_cache(renames: bool) -> CodeOptions {
    CodeOptions {
        renames,
        cache: false,
        user_cache_dir: None,
    }
}

#[test]
fn numstat_equals_git_log_commit_by_commit() {
    let repo = generated_history();
    let expected = git_numstat(repo.path(), false);
    assert!(expected.len() > 70, "{} commits", expected.len());
    let ours = nextneck_numstat(repo.path(), no_cache(false));
    assert_same(&expected, &ours);
    // The history holds what the test claims to exercise.
    let all: Vec<&String> = expected.values().flatten().collect();
    let has = |needle: &str| all.iter().any(|l| l.contains(needle));
    assert!(has("-\t-\tassets/logo.png"), "a binary file");
    assert!(has("vendor/sub"), "a submodule");
    assert!(has("\tcurrent"), "a symbolic link");
    assert!(has("switch/inside.txt"), "a file that became a directory");
    assert!(has("moved/"), "renamed files");
    assert!(has("0\t0\t"), "a mode change");
}

#[test]
fn renames_equal_git_log_with_rename_detection() {
    let repo = generated_history();
    let expected = git_numstat(repo.path(), true);
    let ours = nextneck_numstat(repo.path(), no_cache(true));
    assert_same(&expected, &ours);
    assert!(
        expected
            .values()
            .flatten()
            .any(|l| l.contains(" => moved/")),
        "renames were detected"
    );
}

#[test]
fn the_cache_gives_the_same_changes_and_stays_right_when_history_is_rewritten() {
    let repo = generated_history();
    let root = repo.path();
    let cached = |renames| CodeOptions {
        renames,
        cache: true,
        user_cache_dir: None,
    };
    let cache_file = root.join(".git/nextneck/code-v1.bin");

    // First run writes the cache; the second reads every commit from it.
    let first = nextneck_numstat(root, cached(false));
    assert!(cache_file.exists());
    let mut loader = CodeLoader::open(root, cached(false), &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (history, report) = loader.finish();
    assert_eq!(report.diffed, 0, "nothing left to diff");
    assert!(!report.written, "nothing changed, nothing written");
    assert_eq!(
        report.reused,
        history.commits.iter().filter(|c| c.diffed).count()
    );
    assert_eq!(first, nextneck_numstat(root, no_cache(false)));

    // Rewrite history: amend the tip (a force-pushed branch), drop the side
    // branch and its tag, add a new commit.
    git(root, &["tag", "-d", "v1.0.0"], None);
    git(root, &["branch", "-D", "side"], None);
    git(root, &["reset", "-q", "--hard", "HEAD~3"], None);
    write(root, "src/file0.c", b"rewritten\n");
    git(root, &["add", "-A"], None);
    git(
        root,
        &["commit", "-q", "-m", "rewritten tip"],
        Some(1_800_000_000),
    );
    let after_cache = nextneck_numstat(root, cached(false));
    let after_fresh = nextneck_numstat(root, no_cache(false));
    assert_eq!(
        after_cache, after_fresh,
        "the cache agrees with a fresh read"
    );
    assert_same(&git_numstat(root, false), &after_cache);
    assert!(
        first.keys().any(|id| !after_cache.contains_key(id)),
        "some commits are no longer reachable"
    );
    // The rewritten file keeps only reachable commits.
    let mut loader = CodeLoader::open(root, cached(false), &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (history, report) = loader.finish();
    assert_eq!(report.diffed, 0);
    assert_eq!(history.commits.len(), after_fresh.len());

    // A damaged cache file is ignored and replaced.
    std::fs::write(&cache_file, b"nextneck-code\0garbage").unwrap();
    assert_eq!(nextneck_numstat(root, cached(false)), after_fresh);
    assert!(std::fs::read(&cache_file).unwrap().len() > 100, "rewritten");

    // Renames have a cache file of their own.
    let renamed = nextneck_numstat(root, cached(true));
    assert!(root.join(".git/nextneck/code-v1-renames.bin").exists());
    assert_eq!(renamed, nextneck_numstat(root, no_cache(true)));
}

#[test]
fn the_cache_falls_back_to_the_user_cache_dir() {
    let repo = generated_history();
    let root = repo.path();
    // `.git/nextneck` cannot be a directory: a file is in the way.
    std::fs::write(root.join(".git/nextneck"), b"in the way").unwrap();
    let user = tempfile::tempdir().unwrap();
    let options = CodeOptions {
        renames: false,
        cache: true,
        user_cache_dir: Some(user.path().to_owned()),
    };
    let mut loader = CodeLoader::open(root, options.clone(), &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (_, report) = loader.finish();
    assert!(report.written, "{report:?}");
    let path = report.path.unwrap();
    assert!(path.starts_with(user.path()), "{}", path.display());
    // The next run finds it there.
    let mut loader = CodeLoader::open(root, options, &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (_, report) = loader.finish();
    assert_eq!(report.diffed, 0);

    // Nowhere to write: a warning, and the figures are still right.
    let options = CodeOptions {
        renames: false,
        cache: true,
        user_cache_dir: Some(root.join(".git/nextneck/below-a-file")),
    };
    std::fs::remove_dir_all(user.path()).unwrap();
    let mut loader = CodeLoader::open(root, options, &mut NoProgress).unwrap();
    loader.diff(None, &mut NoProgress).unwrap();
    let (_, report) = loader.finish();
    assert!(!report.written);
    assert!(
        report
            .warning
            .unwrap()
            .contains("could not write the cache")
    );
}
