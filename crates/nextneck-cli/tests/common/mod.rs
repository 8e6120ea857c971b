//! Test helpers: real git repositories with fixed dates, and running the
//! real `nextneck` binary against them.

#![allow(dead_code, unused_imports, clippy::unwrap_used, missing_docs)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use nextneck_testkit::{BASE, DAY, HOUR, at, check, check_absent};

/// A git repository in a temporary directory, driven by the git CLI with a
/// fixed identity and no user or system configuration.
pub struct Repo {
    pub dir: tempfile::TempDir,
    counter: usize,
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo { dir, counter: 0 };
        repo.git(&["init", "-q", "-b", "main"], None, None);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git with fixed author/committer identities and dates.
    pub fn git(&self, args: &[&str], author: Option<i64>, committer: Option<i64>) -> String {
        self.git_in(self.path(), args, author, committer)
    }

    pub fn git_in(
        &self,
        cwd: &Path,
        args: &[&str],
        author: Option<i64>,
        committer: Option<i64>,
    ) -> String {
        let mut cmd = git_command(cwd);
        cmd.args(args);
        if let Some(a) = author {
            cmd.env("GIT_AUTHOR_DATE", format!("@{a} +0000"));
        }
        if let Some(c) = committer.or(author) {
            cmd.env("GIT_COMMITTER_DATE", format!("@{c} +0000"));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// A commit that adds a file, authored at `author` and committed at
    /// `committer`; returns its id.
    pub fn commit(&mut self, subject: &str, author: i64, committer: i64) -> String {
        self.counter += 1;
        let name = format!("file{}.txt", self.counter);
        std::fs::write(self.path().join(&name), format!("{subject}\n")).unwrap();
        self.git(&["add", &name], None, None);
        self.git(
            &["commit", "-q", "-m", subject],
            Some(author),
            Some(committer),
        );
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"], None, None)
    }

    /// A lightweight tag.
    pub fn tag(&self, name: &str, target: &str) {
        self.git(&["tag", name, target], None, None);
    }

    /// An annotated tag whose tagger time is `when`.
    pub fn tag_annotated(&self, name: &str, target: &str, when: i64) {
        self.git(&["tag", "-a", name, "-m", name, target], None, Some(when));
    }

    pub fn checkout(&self, args: &[&str]) {
        let mut all = vec!["checkout", "-q"];
        all.extend_from_slice(args);
        self.git(&all, None, None);
    }

    /// `git merge --no-ff` at `when`; returns the merge commit.
    pub fn merge(&self, branch: &str, when: i64) -> String {
        let msg = format!("Merge branch '{branch}'");
        self.git(
            &["merge", "-q", "--no-ff", "-m", &msg, branch],
            Some(when),
            Some(when),
        );
        self.head()
    }

    /// `git revert --no-edit` at `when`; returns the revert commit.
    pub fn revert(&self, commit: &str, when: i64) -> String {
        self.git(&["revert", "--no-edit", commit], Some(when), Some(when));
        self.head()
    }
}

pub fn git_command(cwd: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
    cmd
}

/// The `nextneck` binary under test.
pub fn nextneck() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nextneck"));
    // `NEXTNECK_DB` would turn `report PATH` into a report over events.
    cmd.env_remove("NO_COLOR")
        .env_remove("NEXTNECK_DB")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    nextneck().args(args).stdin(Stdio::null()).output().unwrap()
}

/// Runs `nextneck report PATH ARGS --format json`, asserts success and
/// returns the parsed JSON.
pub fn report_json(path: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["report", path.to_str().unwrap(), "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "nextneck {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs nextneck and returns (exit code, stdout, stderr).
pub fn run_text(args: &[&str]) -> (i32, String, String) {
    let out = run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

pub fn path_buf(p: &Path) -> PathBuf {
    p.to_path_buf()
}
