//! File changes per commit: the facts `nextneck code` analyses.
//!
//! A [`CodeHistory`] holds every commit reachable from the repository's
//! references with its author and, for the commits that were diffed, the
//! files it changed and how many lines it added and deleted in each (what
//! `git log --numstat` prints). A [`Snapshot`] holds the files of one tree
//! with their sizes in lines. Neither says what a hotspot or a knowledge
//! island is: that is a metric definition, made in `nextneck-metrics`.

use crate::{CommitId, Timestamp};

/// Index of a path in [`CodeHistory::paths`].
pub type PathIdx = u32;

/// Index of an author in [`CodeHistory::authors`].
pub type AuthorIdx = u32;

/// Lines added and deleted in one file by one commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LineCounts {
    /// Lines added.
    pub added: u32,
    /// Lines deleted.
    pub deleted: u32,
}

/// How a commit changed a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The path did not exist in the parent.
    Added,
    /// The path no longer exists.
    Deleted,
    /// The content or the mode changed.
    Modified,
    /// The file moved from [`FileChange::from`] (only with rename tracking).
    Renamed,
}

/// One file changed by one commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileChange {
    /// The path after the change (for a deletion, the deleted path).
    pub path: PathIdx,
    /// The path before a rename; `None` unless [`ChangeKind::Renamed`].
    pub from: Option<PathIdx>,
    /// What happened.
    pub kind: ChangeKind,
    /// Lines added and deleted; `None` for a binary file (git prints
    /// `-\t-`).
    pub lines: Option<LineCounts>,
}

/// A person as the mailmap resolves them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Author {
    /// The name.
    pub name: String,
    /// The e-mail address.
    pub email: String,
}

impl std::fmt::Display for Author {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// One commit with the files it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedCommit {
    /// The commit's object id.
    pub id: CommitId,
    /// Index of the first parent in [`CodeHistory::commits`], when present.
    pub first_parent: Option<u32>,
    /// How many parents the commit object names, present or not.
    pub parent_count: u32,
    /// Who wrote it.
    pub author: AuthorIdx,
    /// Author time.
    pub author_time: Timestamp,
    /// Committer time.
    pub committer_time: Timestamp,
    /// True when [`ChangedCommit::changes`] is known: the commit was
    /// compared with its first parent (or, for a root commit, the empty
    /// tree). False for merges, for commits the caller did not ask to diff,
    /// and for commits whose parent is missing (a shallow clone's boundary).
    pub diffed: bool,
    /// The files changed, in path order; empty unless `diffed`.
    pub changes: Vec<FileChange>,
}

impl ChangedCommit {
    /// True for a commit object with two or more parents.
    pub fn is_merge(&self) -> bool {
        self.parent_count >= 2
    }
}

/// Every commit reachable from the repository's references, with their
/// file changes where known.
#[derive(Clone, Debug, Default)]
pub struct CodeHistory {
    /// Commits in no defined order.
    pub commits: Vec<ChangedCommit>,
    /// Every path any change names, `/`-separated, relative to the root.
    pub paths: Vec<Box<str>>,
    /// Every author any commit names.
    pub authors: Vec<Author>,
    /// The commit `HEAD` points at, if any.
    pub head: Option<u32>,
    /// True when some commit's parent is missing (a shallow clone).
    pub shallow: bool,
    /// True when renames were tracked ([`ChangeKind::Renamed`] can occur).
    pub renames: bool,
}

impl CodeHistory {
    /// The path at `idx`.
    ///
    /// # Panics
    /// When `idx` is out of range, which cannot happen for indices taken
    /// from the history itself.
    pub fn path(&self, idx: PathIdx) -> &str {
        &self.paths[idx as usize]
    }
}

/// One file of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The path, `/`-separated.
    pub path: Box<str>,
    /// Its size in lines (as `wc -l` would count, plus a last line without
    /// a line break); `None` for a binary file.
    pub lines: Option<u32>,
}

/// The files of one commit's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The commit.
    pub commit: CommitId,
    /// Every file (blobs, symbolic links and submodules), in path order.
    pub files: Vec<SnapshotFile>,
    /// Every `.gitattributes` file of the tree, in path order.
    pub attributes: Vec<AttributesFile>,
}

/// One `.gitattributes` file of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributesFile {
    /// The directory holding it: empty for the root, else `dir/sub/`.
    pub dir: Box<str>,
    /// Its text (invalid UTF-8 replaced; at most [`ATTRIBUTES_MAX_BYTES`]).
    pub text: String,
}

/// Longest `.gitattributes` file read; the rest of a longer one is ignored.
pub const ATTRIBUTES_MAX_BYTES: usize = 1 << 20;
