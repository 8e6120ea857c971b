//! Normalized facts that every source produces and every metric consumes.
//!
//! Sources (a git clone today; webhooks, API exports and event logs later)
//! convert their wire formats into these types at the edge. The metrics
//! engine reads nothing else. Nothing here does IO, and nothing here knows a
//! provider's wire format or a metric's definition: a [`History`] states what
//! the repository holds (commits, their parents and times, refs), never what
//! counts as a deployment.

pub mod events;
pub mod flow;

use std::collections::HashMap;
use std::fmt;

pub mod code;

/// Seconds since the Unix epoch, UTC. Every time in the model uses it.
pub type Timestamp = i64;

/// A git object id (SHA-1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(pub [u8; 20]);

impl CommitId {
    /// Parses 40 hexadecimal digits (either case); `None` for anything else.
    pub fn from_hex(hex: &[u8]) -> Option<CommitId> {
        if hex.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0])?;
            let lo = hex_value(pair[1])?;
            out[i] = (hi << 4) | lo;
        }
        Some(CommitId(out))
    }

    /// The full 40-digit lower-case hexadecimal form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The first `len` hexadecimal digits (at most 40).
    pub fn short(&self, len: usize) -> String {
        let mut s = self.to_string();
        s.truncate(len.min(40));
        s
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", self.short(12))
    }
}

/// Index of a commit in [`History::commits`].
pub type CommitIdx = u32;

/// One commit as the metrics need it: no tree, no diff, no full message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The commit's object id.
    pub id: CommitId,
    /// Parents present in the history, first parent first. A parent missing
    /// from the repository (shallow boundary) is left out.
    pub parents: Vec<CommitIdx>,
    /// How many parents the commit object names, present or not. A commit
    /// with two or more is a merge even when a parent is missing.
    pub parent_count: u32,
    /// Author time (when the change was written).
    pub author_time: Timestamp,
    /// Committer time (when the commit object was made).
    pub committer_time: Timestamp,
    /// The first line of the message, without the line break.
    pub subject: Box<str>,
    /// Commits this one says it reverts: every `This reverts commit <40 hex>`
    /// in its message, in order.
    pub reverts: Vec<CommitId>,
}

impl Commit {
    /// True for a commit object with two or more parents.
    pub fn is_merge(&self) -> bool {
        self.parent_count >= 2
    }
}

/// What a tag ultimately points at, after peeling nested annotated tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagTarget {
    /// A commit present in the history.
    Commit(CommitIdx),
    /// A tree, blob or missing object: not a deployment candidate.
    NotACommit,
}

/// A tag reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The name without `refs/tags/`.
    pub name: String,
    /// The peeled target.
    pub target: TagTarget,
    /// The tagger time of an annotated tag; `None` for a lightweight tag or
    /// an annotated tag without a tagger line.
    pub tagger_time: Option<Timestamp>,
}

/// A branch reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    /// The short name, for example `main` or `origin/main`.
    pub name: String,
    /// The commit it points at.
    pub tip: CommitIdx,
}

/// The commit graph of a repository and the references into it.
///
/// Invariant: every index in `parents`, `tags`, `branches` and `head` is a
/// valid index into `commits`.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// All commits reachable from the loaded references, in no defined order.
    pub commits: Vec<Commit>,
    /// Every tag of the repository.
    pub tags: Vec<Tag>,
    /// Local branches, and any other branch the caller asked for.
    pub branches: Vec<Branch>,
    /// The commit `HEAD` points at, if any.
    pub head: Option<CommitIdx>,
    /// True when the repository is a shallow clone: the oldest commits'
    /// parents are missing and lead times of the oldest changes are cut.
    pub shallow: bool,
}

impl History {
    /// The commit at `idx`.
    ///
    /// # Panics
    /// When `idx` is out of range, which the type's invariant rules out for
    /// indices taken from the history itself.
    pub fn commit(&self, idx: CommitIdx) -> &Commit {
        &self.commits[idx as usize]
    }

    /// A map from object id to index, built on demand.
    pub fn index_by_id(&self) -> HashMap<CommitId, CommitIdx> {
        self.commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i as CommitIdx))
            .collect()
    }

    /// The branch of that name, if loaded.
    pub fn branch(&self, name: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.name == name)
    }

    /// Checks the invariant; sources call it in their tests and debug builds.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.commits.len();
        let ok = |i: CommitIdx| (i as usize) < n;
        for (i, c) in self.commits.iter().enumerate() {
            if let Some(p) = c.parents.iter().find(|&&p| !ok(p)) {
                return Err(format!("commit {i} names parent {p} out of range"));
            }
        }
        for t in &self.tags {
            if let TagTarget::Commit(c) = t.target
                && !ok(c)
            {
                return Err(format!("tag {} points out of range", t.name));
            }
        }
        if let Some(b) = self.branches.iter().find(|b| !ok(b.tip)) {
            return Err(format!("branch {} points out of range", b.name));
        }
        if let Some(h) = self.head.filter(|&h| !ok(h)) {
            return Err(format!("HEAD points out of range ({h})"));
        }
        Ok(())
    }
}

/// Finds every `This reverts commit <40 hex>` in a commit message, the line
/// `git revert` writes. Text after the id (`.`, `, reversing`) is allowed.
pub fn parse_reverts(message: &[u8]) -> Vec<CommitId> {
    const NEEDLE: &[u8] = b"This reverts commit ";
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(pos) = find(rest, NEEDLE) {
        let after = &rest[pos + NEEDLE.len()..];
        if after.len() >= 40 {
            let ends_cleanly = after.get(40).is_none_or(|b| !b.is_ascii_hexdigit());
            if ends_cleanly && let Some(id) = CommitId::from_hex(&after[..40]) {
                out.push(id);
            }
        }
        rest = after;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_reverts(message: &str, expected: &[&str]) {
        let got: Vec<String> = parse_reverts(message.as_bytes())
            .iter()
            .map(CommitId::to_hex)
            .collect();
        assert_eq!(got, expected, "message: {message:?}");
    }

    const A: &str = "0123456789abcdef0123456789abcdef01234567";
    const B: &str = "89abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn reverts_are_found_as_git_revert_writes_them() {
        check_reverts(&format!("Revert \"x\"\n\nThis reverts commit {A}.\n"), &[A]);
        check_reverts(
            &format!("Revert \"x\"\n\nThis reverts commit {A}, reversing\nchanges made to {B}.\n"),
            &[A],
        );
        check_reverts(
            &format!("squash\n\nThis reverts commit {A}.\nThis reverts commit {B}.\n"),
            &[A, B],
        );
        check_reverts(&format!("This reverts commit {}", A.to_uppercase()), &[A]);
    }

    #[test]
    fn near_misses_are_not_reverts() {
        check_reverts("This reverts commit 0123456.", &[]);
        check_reverts(&format!("This reverts commit {A}0"), &[]);
        check_reverts(&format!("this reverts commit {A}"), &[]);
        check_reverts(&format!("This reverts commit {}", &A[..39]), &[]);
        check_reverts("", &[]);
    }

    #[test]
    fn commit_ids_round_trip() {
        let id = CommitId::from_hex(A.as_bytes()).expect("valid hex");
        assert_eq!(id.to_hex(), A);
        assert_eq!(id.short(7), "0123456");
        assert_eq!(CommitId::from_hex(b"zz"), None);
        assert_eq!(CommitId::from_hex(&[b'g'; 40]), None);
    }
}
