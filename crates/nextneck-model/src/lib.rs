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
    /// Commits whose message names a pull or merge request the way a merge
    /// of it does (see [`parse_request_mention`]), in no defined order.
    pub mentions: Vec<(CommitIdx, RequestRef)>,
    /// How many request head refs (`refs/pull/N/head`,
    /// `refs/merge-requests/N/head`) the repository holds.
    pub request_refs: usize,
    /// The requests the history can be linked to: those a commit mentions
    /// and those whose head or merge commit is in `commits`.
    pub requests: Vec<Request>,
}

/// The forge a request ref comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// A GitHub pull request: `refs/pull/N/head`, `#N`.
    Pull,
    /// A GitLab merge request: `refs/merge-requests/N/head`, `!N`.
    MergeRequest,
}

/// A request named by its forge and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestRef {
    /// GitHub or GitLab.
    pub kind: RequestKind,
    /// The request's number.
    pub number: u64,
}

impl RequestRef {
    /// `#N` for a pull request, `!N` for a merge request.
    pub fn label(&self) -> String {
        match self.kind {
            RequestKind::Pull => format!("#{}", self.number),
            RequestKind::MergeRequest => format!("!{}", self.number),
        }
    }

    /// The ref that holds the request's head commit.
    pub fn head_ref(&self) -> String {
        match self.kind {
            RequestKind::Pull => format!("refs/pull/{}/head", self.number),
            RequestKind::MergeRequest => format!("refs/merge-requests/{}/head", self.number),
        }
    }
}

/// Most commits read from one request's head outside the loaded history;
/// GitHub lists at most 250 commits of a pull request, too.
pub const REQUEST_COMMIT_LIMIT: usize = 250;

/// A pull or merge request whose refs the repository holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Which request.
    pub request: RequestRef,
    /// Its head commit (`refs/pull/N/head`).
    pub head: CommitId,
    /// The head commit, when it is in the history.
    pub head_commit: Option<CommitIdx>,
    /// The commit of `refs/pull/N/merge` (`refs/merge-requests/N/merge`),
    /// when it is in the history.
    pub merge_commit: Option<CommitIdx>,
    /// Author times of the commits reachable from the head that are not in
    /// the history (a squash-merged request's own commits).
    pub outside_author_times: Vec<Timestamp>,
    /// Where the walk from the head entered the history: commits of the
    /// history that are the head or a parent of a commit outside it.
    pub entries: Vec<CommitIdx>,
    /// True when more than [`REQUEST_COMMIT_LIMIT`] commits outside the
    /// history were reachable and the walk stopped.
    pub truncated: bool,
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

/// The request a commit message says it merged, in the forms the forges
/// write: a subject ending in `(#N)` (GitHub's squash and rebase merges), a
/// subject `Merge pull request #N from ...` (GitHub's merge commits), or a
/// line `See merge request group/project!N` (GitLab's merge commits and
/// squashes). `None` for anything else.
pub fn parse_request_mention(message: &[u8]) -> Option<RequestRef> {
    let subject = message.split(|&b| b == b'\n').next().unwrap_or_default();
    let subject = subject
        .strip_suffix(b"\r")
        .unwrap_or(subject)
        .trim_ascii_end();
    let pull = |number| {
        Some(RequestRef {
            kind: RequestKind::Pull,
            number,
        })
    };
    if let Some(rest) = subject.strip_prefix(b"Merge pull request #") {
        let digits = leading_number(rest)?;
        if rest.get(digits.1) == Some(&b' ') {
            return pull(digits.0);
        }
    }
    if let Some(inner) = subject.strip_suffix(b")")
        && let Some(open) = inner.iter().rposition(|&b| b == b'(')
        && let Some(number) = inner[open + 1..].strip_prefix(b"#")
        && let Some((n, len)) = leading_number(number)
        && len == number.len()
    {
        return pull(n);
    }
    const GITLAB: &[u8] = b"See merge request ";
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line).trim_ascii();
        if let Some(rest) = line.strip_prefix(GITLAB)
            && let Some(bang) = rest.iter().rposition(|&b| b == b'!')
            && let Some((n, len)) = leading_number(&rest[bang + 1..])
            && len == rest.len() - bang - 1
            && !rest[..bang].contains(&b' ')
        {
            return Some(RequestRef {
                kind: RequestKind::MergeRequest,
                number: n,
            });
        }
    }
    None
}

/// The decimal number at the start of `bytes` and its length in bytes.
fn leading_number(bytes: &[u8]) -> Option<(u64, usize)> {
    let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 18 {
        return None;
    }
    let text = std::str::from_utf8(&bytes[..len]).ok()?;
    Some((text.parse().ok()?, len))
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

    fn check_mention(message: &str, expected: Option<&str>) {
        let got = parse_request_mention(message.as_bytes()).map(|r| r.label());
        assert_eq!(got.as_deref(), expected, "message: {message:?}");
    }

    #[test]
    fn request_mentions_are_found_as_the_forges_write_them() {
        check_mention("rt: fix the thing (#7123)", Some("#7123"));
        check_mention("rt: fix the thing (#7123)  \r\n\nbody", Some("#7123"));
        check_mention("Merge pull request #12 from a/b\n\nx", Some("#12"));
        check_mention(
            "Merge branch 'x' into 'main'\n\nText\n\nSee merge request group/sub/proj!45\n",
            Some("!45"),
        );
        check_mention("Squashed\n\nSee merge request proj!3", Some("!3"));
        // Near misses.
        check_mention("fix (#12) and more", None);
        check_mention("fix (#12a)", None);
        check_mention("fix (#)", None);
        check_mention("Merge pull request #12", None);
        check_mention("See merge request !x", None);
        check_mention("fix (#5) x\n\nfix (#6)", None);
        check_mention("", None);
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
