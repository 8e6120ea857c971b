//! Code and people: hotspots, change coupling, knowledge, knowledge islands
//! and the truck factor of a repository, from its file changes
//! ([`CodeHistory`]) and the files at the window's end ([`Snapshot`]).
//!
//! `docs/metrics.md` ("Code and people") is the definition; this module is
//! its implementation. Pure: the history, the snapshot and the settings are
//! the only inputs.

use std::collections::{HashMap, HashSet};

use nextneck_model::Timestamp;
use nextneck_model::code::{AuthorIdx, ChangeKind, CodeHistory, PathIdx, Snapshot};
use serde::Serialize;

use crate::glob;
use crate::time::{DAY, serde_rfc3339};
use crate::types::{Notice, ReportError, Window, WindowSpec};
use crate::window::{DefaultStart, resolve_window};
use crate::words::plural;

/// The JSON schema version of [`CodeReport`]; bumped on any incompatible
/// change.
pub const CODE_SCHEMA_VERSION: u32 = 1;

/// How many rows of each ranking the report keeps by default.
pub const DEFAULT_TOP: usize = 10;

/// Directory knowledge lists at most this many authors per directory.
pub const DIRECTORY_AUTHORS: usize = 10;

/// A `--path` or `--exclude` value, read as git reads a pathspec: a path
/// without wildcards selects that file or everything under that directory;
/// a pattern with wildcards (`*`, `?`, `[abc]`, `[a-z]`, `[!abc]`) is matched
/// against whole paths, `*` matching `/` too (so `*.rs` selects Rust files
/// at any depth and `src/*` everything under `src`), and it also selects
/// everything under a directory it matches (`crates/*/tests`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    kind: PatternKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternKind {
    /// Everything.
    All,
    /// The path itself or anything below it.
    Prefix(String),
    /// A wildcard pattern over whole paths (and their directories).
    Glob(Vec<char>),
}

impl PathPattern {
    /// Parses a pattern; an empty one is an error.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        if text.trim().is_empty() {
            return Err(
                "an empty path; pass a path such as src/ or a pattern such as '*.rs'".to_owned(),
            );
        }
        let mut trimmed = text.trim();
        while let Some(rest) = trimmed.strip_prefix("./") {
            trimmed = rest;
        }
        let trimmed = trimmed.trim_start_matches('/').trim_end_matches('/');
        let kind = if trimmed.is_empty() || trimmed == "." {
            PatternKind::All
        } else if !trimmed.contains(['*', '?', '[']) {
            PatternKind::Prefix(trimmed.to_owned())
        } else {
            PatternKind::Glob(trimmed.chars().collect())
        };
        Ok(PathPattern {
            text: text.to_owned(),
            kind,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `path` (a file's path, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            PatternKind::All => true,
            PatternKind::Prefix(prefix) => {
                path == prefix
                    || (path.starts_with(prefix.as_str())
                        && path.as_bytes().get(prefix.len()) == Some(&b'/'))
            }
            PatternKind::Glob(glob) => {
                let chars: Vec<char> = path.chars().collect();
                // The path, or any directory above it.
                (1..=chars.len())
                    .filter(|&end| end == chars.len() || chars[end] == '/')
                    .any(|end| glob::matches(glob::PATHSPEC, glob, &chars[..end]))
            }
        }
    }
}

/// Thresholds of change coupling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CouplingSettings {
    /// A file needs at least this many commits in the window.
    pub min_revisions: usize,
    /// A pair needs at least this many shared commits.
    pub min_shared: usize,
    /// A pair needs at least this degree (a fraction, 0.3 for 30 %).
    pub min_degree: f64,
    /// Commits touching more files than this are ignored.
    pub max_changeset_files: usize,
}

impl Default for CouplingSettings {
    fn default() -> Self {
        CouplingSettings {
            min_revisions: 5,
            min_shared: 5,
            min_degree: 0.30,
            max_changeset_files: 30,
        }
    }
}

/// Thresholds of knowledge islands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IslandSettings {
    /// The main author's share of a file's lines added (a fraction).
    pub min_share: f64,
    /// Days at the end of the window in which the main author made no
    /// commit.
    pub inactive_days: i64,
}

impl Default for IslandSettings {
    fn default() -> Self {
        IslandSettings {
            min_share: 0.80,
            inactive_days: 90,
        }
    }
}

/// Everything the code report needs besides the history and snapshot.
#[derive(Clone, Debug)]
pub struct CodeSettings {
    /// The repository path as the user gave it.
    pub path: String,
    /// The window.
    pub window: WindowSpec,
    /// Files in scope: matching any of these (all when empty).
    pub include: Vec<PathPattern>,
    /// Files out of scope: matching any of these.
    pub exclude: Vec<PathPattern>,
    /// Rows kept in each ranking.
    pub top: usize,
    /// Change coupling thresholds.
    pub coupling: CouplingSettings,
    /// Knowledge island thresholds.
    pub islands: IslandSettings,
    /// Keep lockfiles, generated and vendored files (`--include-generated`).
    pub include_generated: bool,
    /// Keep translation catalogues (`--include-translations`).
    pub include_translations: bool,
}

impl CodeSettings {
    /// Default settings for the repository at `path`.
    pub fn new(path: impl Into<String>, window: WindowSpec) -> CodeSettings {
        CodeSettings {
            path: path.into(),
            window,
            include: Vec::new(),
            exclude: Vec::new(),
            top: DEFAULT_TOP,
            coupling: CouplingSettings::default(),
            islands: IslandSettings::default(),
            include_generated: false,
            include_translations: false,
        }
    }

    /// Whether a file left out for `reason` is kept anyway.
    fn keeps(&self, reason: LeftOutReason) -> bool {
        self.include_generated
            || (reason == LeftOutReason::Translation && self.include_translations)
    }

    /// Whether a path is in scope.
    pub fn in_scope(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(path)))
            && !self.exclude.iter().any(|p| p.matches(path))
    }
}

/// What `nextneck code` computes and every renderer prints. Its serde form
/// is the documented JSON schema.
#[derive(Clone, Debug, Serialize)]
pub struct CodeReport {
    /// [`CODE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was read.
    pub source: CodeSource,
    /// The half-open window `[since, until)`.
    pub window: Window,
    /// Which files count.
    pub scope: Scope,
    /// Files ranked by change in the window.
    pub hotspots: Hotspots,
    /// Files that change together.
    pub coupling: Coupling,
    /// Who wrote the code at the window's end.
    pub knowledge: Knowledge,
    /// Names that appear under several e-mail addresses that no `.mailmap`
    /// entry merges, with the lines that would; never merged silently.
    pub split_identities: Vec<SplitIdentity>,
    /// Things the reader should know.
    pub notices: Vec<Notice>,
}

/// What was read.
#[derive(Clone, Debug, Serialize)]
pub struct CodeSource {
    /// `git`.
    pub kind: &'static str,
    /// The repository's path, as given.
    pub path: String,
    /// Commits read (reachable from `HEAD`, branches and tags).
    pub commits: usize,
    /// Commits whose file changes were analysed: not merges, committed
    /// before the window's end.
    pub analysed_commits: usize,
    /// Merges before the window's end (not diffed).
    pub merges: usize,
    /// True when the history is cut (a shallow clone).
    pub shallow: bool,
    /// True when renames were tracked (`--renames`).
    pub renames: bool,
    /// The commit whose files are "the code now": `HEAD`, or with
    /// `--until` its newest first-parent ancestor committed before then.
    pub snapshot: Option<SnapshotRef>,
}

/// The snapshot commit.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotRef {
    /// Its id.
    pub commit: String,
    /// Its committer time.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
}

/// Which files count.
#[derive(Clone, Debug, Serialize)]
pub struct Scope {
    /// `--path` patterns (empty: all files).
    pub include: Vec<String>,
    /// `--exclude` patterns.
    pub exclude: Vec<String>,
    /// Files in scope at the snapshot.
    pub files: usize,
    /// Files of the snapshot left out by default (lockfiles, generated,
    /// vendored, translations), by reason; empty with `--include-generated`.
    pub left_out: Vec<LeftOut>,
}

/// Files ranked by change in the window.
#[derive(Clone, Debug, Serialize)]
pub struct Hotspots {
    /// Commits in the window that changed a file in scope.
    pub commits: usize,
    /// Distinct files changed (including files gone by the snapshot).
    pub files_changed: usize,
    /// File changes: the sum over files of the commits that changed them.
    pub changes: usize,
    /// Lines added plus deleted, over all files.
    pub lines_changed: u64,
    /// At most this many files are listed (`--top`; text output also
    /// shows this many coupled pairs and islands).
    pub limit: usize,
    /// The listed files' combined share.
    pub top: TopShare,
    /// The top files present at the snapshot, most changed first.
    pub files: Vec<Hotspot>,
}

/// The combined share of the listed hotspots.
#[derive(Clone, Debug, Serialize)]
pub struct TopShare {
    /// How many files are listed.
    pub files: usize,
    /// Their changes / all file changes.
    pub change_share: Option<f64>,
    /// Their lines changed / all lines changed.
    pub lines_share: Option<f64>,
}

/// One hotspot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hotspot {
    /// 1 for the most changed file.
    pub rank: usize,
    /// The path at the snapshot.
    pub path: String,
    /// Commits in the window that changed it.
    pub changes: usize,
    /// Lines added in the window (text changes).
    pub lines_added: u64,
    /// Lines deleted in the window (text changes).
    pub lines_deleted: u64,
    /// Added plus deleted.
    pub lines_changed: u64,
    /// Changes where the file was binary (no line counts).
    pub binary_changes: usize,
    /// Distinct authors of those changes.
    pub authors: usize,
    /// Its size in lines at the snapshot; `None` for a binary file.
    pub size_lines: Option<u32>,
    /// Its changes / all file changes.
    pub change_share: Option<f64>,
    /// Its lines changed / all lines changed.
    pub lines_share: Option<f64>,
}

/// Change coupling.
#[derive(Clone, Debug, Serialize)]
pub struct Coupling {
    /// A file needs at least this many commits.
    pub min_revisions: usize,
    /// A pair needs at least this many shared commits.
    pub min_shared: usize,
    /// A pair needs at least this degree.
    pub min_degree: f64,
    /// Commits touching more files were ignored.
    pub max_changeset_files: usize,
    /// Commits considered.
    pub commits: usize,
    /// Commits ignored for touching too many files.
    pub large_commits_ignored: usize,
    /// Coupled pairs, strongest first.
    pub pairs: Vec<CoupledPair>,
}

/// Two files that change together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoupledPair {
    /// One file (the smaller path).
    pub a: String,
    /// The other.
    pub b: String,
    /// Commits that changed both.
    pub shared: usize,
    /// Commits that changed `a`.
    pub a_commits: usize,
    /// Commits that changed `b`.
    pub b_commits: usize,
    /// shared / ((a_commits + b_commits) / 2), a fraction.
    pub degree: f64,
}

/// Who wrote the code at the snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct Knowledge {
    /// Authors who added lines to files in scope.
    pub authors: usize,
    /// Lines added to files in scope, up to the window's end.
    pub lines_added: u64,
    /// Every file in scope at the snapshot, by path.
    pub files: Vec<FileKnowledge>,
    /// Every directory holding such files (`.` is the root), by path.
    pub directories: Vec<DirectoryKnowledge>,
    /// The paths of the top-level directories (and the root, first), most
    /// lines added first, at most the hotspot limit and the root: the
    /// directories a summary shows.
    pub top_directories: Vec<String>,
    /// An island's main author wrote at least this share of its lines.
    pub island_min_share: f64,
    /// ... and made no commit in this many days before the window's end.
    pub island_inactive_days: i64,
    /// Files known by one person who has gone quiet, largest first.
    pub islands: Vec<Island>,
    /// How many people would have to leave before most files are
    /// orphaned; `None` without files with lines.
    pub truck_factor: Option<TruckFactor>,
    /// A file's shares are a verdict (island, truck factor) only when they
    /// rest on at least this many lines added ([`MIN_KNOWLEDGE_LINES`]).
    pub min_lines: u64,
    /// Files whose shares are not a verdict (`rated: false`).
    pub unrated_files: usize,
}

/// A file's knowledge shares are a verdict only when they rest on at least
/// this many lines added: below it one small commit flips the main author,
/// and a "knowledge island" of 2 lines says nothing about who knows a file.
pub const MIN_KNOWLEDGE_LINES: u64 = 10;

/// One author's part of a file or directory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthorShare {
    /// `Name <email>`, as the mailmap resolves it.
    pub author: String,
    /// The name alone.
    pub name: String,
    /// Lines added.
    pub lines_added: u64,
    /// Lines added / all lines added.
    pub share: f64,
}

/// Knowledge of one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileKnowledge {
    /// Its path.
    pub path: String,
    /// Its size in lines at the snapshot; `None` when binary.
    pub size_lines: Option<u32>,
    /// Lines added to it, all authors.
    pub lines_added: u64,
    /// The author with the largest share; `None` without lines added.
    pub main_author: Option<String>,
    /// That author's share.
    pub main_share: Option<f64>,
    /// Every author, largest share first.
    pub authors: Vec<AuthorShare>,
    /// Lines of the file at the snapshot beyond all lines its own commits
    /// added (size − lines added, at least 0): they arrived through a merge
    /// (a subtree, an import) or a rename not followed, and are nobody's.
    pub lines_from_merges: u64,
    /// Whether the shares are a verdict: at least [`MIN_KNOWLEDGE_LINES`]
    /// lines added, and no more lines from merges than lines added.
    pub rated: bool,
}

/// Knowledge of a directory: its files together.
#[derive(Clone, Debug, Serialize)]
pub struct DirectoryKnowledge {
    /// Its path; `.` for the root.
    pub path: String,
    /// Files in scope below it.
    pub files: usize,
    /// Lines added to them.
    pub lines_added: u64,
    /// The author with the largest share.
    pub main_author: Option<String>,
    /// That author's share.
    pub main_share: Option<f64>,
    /// How many authors added lines.
    pub author_count: usize,
    /// The largest shares (at most ten).
    pub authors: Vec<AuthorShare>,
}

/// A knowledge island.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Island {
    /// The file.
    pub path: String,
    /// Its size in lines; `None` when binary.
    pub size_lines: Option<u32>,
    /// Lines added to it.
    pub lines_added: u64,
    /// Who wrote it.
    pub main_author: String,
    /// Their share.
    pub main_share: f64,
    /// Their last commit (author time) before the window's end.
    #[serde(with = "serde_rfc3339")]
    pub last_commit: Timestamp,
}

/// The truck factor and the authors whose departure makes it.
#[derive(Clone, Debug, Serialize)]
pub struct TruckFactor {
    /// Authors removed until more than half of the files were orphaned.
    pub value: usize,
    /// Files counted (in scope, at the snapshot, with lines added).
    pub files: usize,
    /// The authors in the order removed.
    pub removed: Vec<RemovedAuthor>,
}

/// One step of the truck factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RemovedAuthor {
    /// `Name <email>`.
    pub author: String,
    /// The name alone.
    pub name: String,
    /// Files orphaned once this author and the ones before are gone.
    pub orphaned_files: usize,
    /// orphaned_files / files.
    pub orphaned_share: f64,
}

/// The window of a code report, by the same rules as the git report's:
/// the newest and oldest events are the newest and oldest committer times.
pub fn window(
    history: &CodeHistory,
    spec: WindowSpec,
) -> Result<(Timestamp, Timestamp, &'static str), ReportError> {
    let times = history.commits.iter().map(|c| c.committer_time);
    let newest = times.clone().max().unwrap_or(0);
    let oldest = times.min().unwrap_or(0);
    Ok(resolve_window(spec, oldest, newest, DefaultStart::Fixed)?)
}

/// The snapshot commit for a window ending at `until`: the newest commit on
/// `HEAD`'s first-parent line committed before `until` (an index into the
/// history's commits).
pub fn snapshot_commit(history: &CodeHistory, until: Timestamp) -> Option<u32> {
    let mut cursor = history.head;
    let mut steps = 0;
    while let Some(c) = cursor {
        let commit = history.commits.get(c as usize)?;
        if commit.committer_time < until {
            return Some(c);
        }
        steps += 1;
        if steps > history.commits.len() {
            return None;
        }
        cursor = commit.first_parent;
    }
    None
}

/// Per-file tallies.
#[derive(Clone, Default)]
struct Tally {
    changes: usize,
    added: u64,
    deleted: u64,
    binary: usize,
    authors: HashSet<AuthorIdx>,
}

/// What the analysis keeps of one change: the file it belongs to (its final
/// name) and the line counts.
struct Resolved {
    commit: u32,
    file: PathIdx,
    lines: Option<(u64, u64)>,
}

/// Computes the code report: one call per step.
pub fn code_report(
    history: &CodeHistory,
    snapshot: Option<&Snapshot>,
    settings: &CodeSettings,
) -> Result<CodeReport, ReportError> {
    let (since, until, selection) = window(history, settings.window)?;
    // 1. Lockfiles, generated, vendored and translation files are left out
    //    unless asked for; the snapshot's are counted by reason.
    let attributes = Attributes::from_snapshot(snapshot);
    let left_out = left_out(snapshot, &attributes, settings);
    // 2. The files in scope: the snapshot's, by path, and the history's.
    let scope = InScope::of(history, snapshot, &attributes, settings);
    // 3. The analysed commits, oldest first.
    let commits = Commits::of(history, until);
    // 4. Every change, filed under its file's final name.
    let resolved = resolve_files(history, &commits.analysed);
    let resolved: Vec<Resolved> = resolved
        .into_iter()
        .filter(|r| scope.in_scope[r.file as usize])
        .collect();
    // 5. The figures.
    let hotspots = hotspots(history, &resolved, &scope.present, since, settings);
    let coupling = coupling(history, &resolved, &scope.present, since, settings);
    let knowledge = knowledge(history, &resolved, &scope.snapshot_files, until, settings);
    let split_identities = split_identities(history);
    // 6. Notices.
    let notices = code_notices(
        history,
        snapshot,
        commits.undiffed,
        &left_out,
        &knowledge,
        &split_identities,
    );
    Ok(CodeReport {
        schema_version: CODE_SCHEMA_VERSION,
        source: code_source(history, snapshot, settings, &commits),
        window: Window {
            since,
            until,
            days: (until - since) as f64 / DAY as f64,
            selection,
        },
        scope: Scope {
            include: settings
                .include
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            exclude: settings
                .exclude
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            files: scope.snapshot_files.len(),
            left_out,
        },
        hotspots,
        coupling,
        knowledge,
        split_identities,
        notices,
    })
}

/// The snapshot's files in scope that are left out (not asked for), by
/// reason, with a few examples each.
fn left_out(
    snapshot: Option<&Snapshot>,
    attributes: &Attributes,
    settings: &CodeSettings,
) -> Vec<LeftOut> {
    let mut left_out: Vec<LeftOut> = Vec::new();
    for f in snapshot.map_or(&[][..], |s| &s.files[..]) {
        if !settings.in_scope(&f.path) {
            continue;
        }
        let Some(reason) = left_out_reason(&f.path, attributes) else {
            continue;
        };
        if settings.keeps(reason) {
            continue;
        }
        match left_out.iter_mut().find(|l| l.reason == reason) {
            Some(l) => {
                l.files += 1;
                if l.examples.len() < LEFT_OUT_EXAMPLES {
                    l.examples.push(f.path.to_string());
                }
            }
            None => left_out.push(LeftOut {
                reason,
                files: 1,
                examples: vec![f.path.to_string()],
            }),
        }
    }
    left_out.sort_by_key(|l| l.reason);
    left_out
}

/// The files in scope (and not left out).
struct InScope<'s> {
    /// The snapshot's, by path, with their line counts.
    snapshot_files: HashMap<&'s str, Option<u32>>,
    /// Per path of the history: whether it is in scope.
    in_scope: Vec<bool>,
    /// Per path of the history: its line count when the snapshot has it.
    present: Vec<Option<Option<u32>>>,
}

impl<'s> InScope<'s> {
    fn of(
        history: &CodeHistory,
        snapshot: Option<&'s Snapshot>,
        attributes: &Attributes,
        settings: &CodeSettings,
    ) -> InScope<'s> {
        let kept = |path: &str| {
            left_out_reason(path, attributes).is_none_or(|reason| settings.keeps(reason))
        };
        let snapshot_files: HashMap<&str, Option<u32>> = snapshot
            .map(|s| {
                s.files
                    .iter()
                    .filter(|f| settings.in_scope(&f.path) && kept(&f.path))
                    .map(|f| (&*f.path, f.lines))
                    .collect()
            })
            .unwrap_or_default();
        let in_scope: Vec<bool> = history
            .paths
            .iter()
            .map(|p| settings.in_scope(p) && kept(p))
            .collect();
        let present: Vec<Option<Option<u32>>> = history
            .paths
            .iter()
            .map(|p| snapshot_files.get(&**p).copied())
            .collect();
        InScope {
            snapshot_files,
            in_scope,
            present,
        }
    }
}

/// The commits before the window's end.
struct Commits {
    /// The analysed ones (diffed, not merges), oldest first.
    analysed: Vec<u32>,
    /// Merges.
    merges: usize,
    /// Commits that could not be diffed (a shallow clone's boundary).
    undiffed: usize,
}

impl Commits {
    fn of(history: &CodeHistory, until: Timestamp) -> Commits {
        let mut analysed: Vec<u32> = (0..history.commits.len() as u32)
            .filter(|&c| {
                let commit = &history.commits[c as usize];
                commit.diffed && !commit.is_merge() && commit.committer_time < until
            })
            .collect();
        analysed.sort_by_key(|&c| {
            (
                history.commits[c as usize].committer_time,
                std::cmp::Reverse(c),
            )
        });
        let merges = history
            .commits
            .iter()
            .filter(|c| c.is_merge() && c.committer_time < until)
            .count();
        let undiffed = history
            .commits
            .iter()
            .filter(|c| !c.diffed && !c.is_merge() && c.committer_time < until)
            .count();
        Commits {
            analysed,
            merges,
            undiffed,
        }
    }
}

/// What the code report read.
fn code_source(
    history: &CodeHistory,
    snapshot: Option<&Snapshot>,
    settings: &CodeSettings,
    commits: &Commits,
) -> CodeSource {
    CodeSource {
        kind: "git",
        path: settings.path.clone(),
        commits: history.commits.len(),
        analysed_commits: commits.analysed.len(),
        merges: commits.merges,
        shallow: history.shallow,
        renames: history.renames,
        snapshot: snapshot.map(|s| SnapshotRef {
            commit: s.commit.to_hex(),
            time: history
                .commits
                .iter()
                .find(|c| c.id == s.commit)
                .map_or(0, |c| c.committer_time),
        }),
    }
}

/// The code report's notices, in its order.
fn code_notices(
    history: &CodeHistory,
    snapshot: Option<&Snapshot>,
    undiffed: usize,
    left_out: &[LeftOut],
    knowledge: &Knowledge,
    split_identities: &[SplitIdentity],
) -> Vec<Notice> {
    let mut notices = Vec::new();
    if history.shallow {
        notices.push(Notice {
            code: "shallow_clone",
            message: "the history is cut (a shallow clone): the oldest commits' changes are missing and knowledge shares lean towards recent authors; run `git fetch --unshallow` for exact figures".to_owned(),
        });
    }
    if undiffed > 0 {
        notices.push(Notice {
            code: "commits_not_diffed",
            message: format!(
                "{} before the window's end could not be compared with a parent (a shallow clone's boundary) and {} left out",
                plural(undiffed, "commit", "commits"),
                if undiffed == 1 { "is" } else { "are" }
            ),
        });
    }
    if !left_out.is_empty() {
        let total: usize = left_out.iter().map(|l| l.files).sum();
        let parts: Vec<String> = left_out
            .iter()
            .map(|l| format!("{} {}", l.files, l.reason.describe()))
            .collect();
        notices.push(Notice {
            code: "generated_left_out",
            message: format!(
                "{} left out of hotspots, coupling and knowledge ({}); pass --include-generated to keep them",
                plural(total, "file is", "files are"),
                parts.join(", ")
            ),
        });
    }
    if knowledge.unrated_files > 0 {
        let one = knowledge.unrated_files == 1;
        notices.push(Notice {
            code: "knowledge_not_rated",
            message: format!(
                "{} no knowledge verdict (no island, not in the truck factor): {} on fewer than {MIN_KNOWLEDGE_LINES} lines added, or most of {} lines arrived through a merge (a subtree or an import)",
                plural(knowledge.unrated_files, "file gets", "files get"),
                if one { "its shares rest" } else { "their shares rest" },
                if one { "its" } else { "their" },
            ),
        });
    }
    if !split_identities.is_empty() {
        let first = &split_identities[0];
        notices.push(Notice {
            code: "one_name_several_emails",
            message: format!(
                "{} under several e-mail addresses that no .mailmap entry merges (for example {} as {}); they count as different people. If they are one person, add to .mailmap: {}",
                plural(split_identities.len(), "name appears", "names appear"),
                first.name,
                first.emails.join(" and "),
                split_identities
                    .iter()
                    .flat_map(|s| s.mailmap.iter())
                    .take(5)
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if snapshot.is_none() {
        notices.push(Notice {
            code: "no_snapshot",
            message: "HEAD has no commit before the window's end, so there are no current files to rank; pass a later --until".to_owned(),
        });
    }
    notices
}

/// Files every analysed change belongs to. Without rename tracking a file
/// is its path. With it, the history of a renamed file continues under its
/// new name: walking from the newest commit back, a path's changes belong
/// to whatever the path was renamed to later, until the commit that created
/// it.
fn resolve_files(history: &CodeHistory, analysed: &[u32]) -> Vec<Resolved> {
    let mut out = Vec::new();
    if !history.renames {
        for &c in analysed {
            for ch in &history.commits[c as usize].changes {
                out.push(Resolved {
                    commit: c,
                    file: ch.path,
                    lines: ch.lines.map(|l| (u64::from(l.added), u64::from(l.deleted))),
                });
            }
        }
        return out;
    }
    let mut future: HashMap<PathIdx, PathIdx> = HashMap::new();
    for &c in analysed.iter().rev() {
        for ch in &history.commits[c as usize].changes {
            let file = future.get(&ch.path).copied().unwrap_or(ch.path);
            out.push(Resolved {
                commit: c,
                file,
                lines: ch.lines.map(|l| (u64::from(l.added), u64::from(l.deleted))),
            });
            match ch.kind {
                ChangeKind::Renamed => {
                    future.remove(&ch.path);
                    if let Some(from) = ch.from {
                        future.insert(from, file);
                    }
                }
                ChangeKind::Added => {
                    future.remove(&ch.path);
                }
                ChangeKind::Deleted | ChangeKind::Modified => {}
            }
        }
    }
    out.reverse();
    out
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn hotspots(
    history: &CodeHistory,
    resolved: &[Resolved],
    present: &[Option<Option<u32>>],
    since: Timestamp,
    settings: &CodeSettings,
) -> Hotspots {
    let mut tallies: HashMap<PathIdx, Tally> = HashMap::new();
    let mut commits = HashSet::new();
    let mut total_changes = 0usize;
    let mut total_lines = 0u64;
    for r in resolved {
        let commit = &history.commits[r.commit as usize];
        if commit.committer_time < since {
            continue;
        }
        commits.insert(r.commit);
        let t = tallies.entry(r.file).or_default();
        t.changes += 1;
        t.authors.insert(commit.author);
        total_changes += 1;
        match r.lines {
            Some((a, d)) => {
                t.added += a;
                t.deleted += d;
                total_lines += a + d;
            }
            None => t.binary += 1,
        }
    }
    let mut ranked: Vec<(PathIdx, &Tally)> = tallies
        .iter()
        .filter(|(f, _)| present[**f as usize].is_some())
        .map(|(f, t)| (*f, t))
        .collect();
    ranked.sort_by(|a, b| {
        b.1.changes
            .cmp(&a.1.changes)
            .then((b.1.added + b.1.deleted).cmp(&(a.1.added + a.1.deleted)))
            .then(history.path(a.0).cmp(history.path(b.0)))
    });
    let files: Vec<Hotspot> = ranked
        .iter()
        .take(settings.top)
        .enumerate()
        .map(|(i, (f, t))| Hotspot {
            rank: i + 1,
            path: history.path(*f).to_owned(),
            changes: t.changes,
            lines_added: t.added,
            lines_deleted: t.deleted,
            lines_changed: t.added + t.deleted,
            binary_changes: t.binary,
            authors: t.authors.len(),
            size_lines: present[*f as usize].flatten(),
            change_share: share(t.changes as u64, total_changes as u64),
            lines_share: share(t.added + t.deleted, total_lines),
        })
        .collect();
    let top_changes: usize = files.iter().map(|h| h.changes).sum();
    let top_lines: u64 = files.iter().map(|h| h.lines_changed).sum();
    Hotspots {
        commits: commits.len(),
        files_changed: tallies.len(),
        changes: total_changes,
        lines_changed: total_lines,
        limit: settings.top,
        top: TopShare {
            files: files.len(),
            change_share: share(top_changes as u64, total_changes as u64),
            lines_share: share(top_lines, total_lines),
        },
        files,
    }
}

fn coupling(
    history: &CodeHistory,
    resolved: &[Resolved],
    present: &[Option<Option<u32>>],
    since: Timestamp,
    settings: &CodeSettings,
) -> Coupling {
    let limits = settings.coupling;
    // The files of each commit in the window (a rename's two paths are one
    // file).
    let mut by_commit: Vec<(u32, Vec<PathIdx>)> = Vec::new();
    for r in resolved {
        if history.commits[r.commit as usize].committer_time < since {
            continue;
        }
        match by_commit.last_mut() {
            Some((c, files)) if *c == r.commit => files.push(r.file),
            _ => by_commit.push((r.commit, vec![r.file])),
        }
    }
    let mut revisions: HashMap<PathIdx, usize> = HashMap::new();
    let mut shared: HashMap<(PathIdx, PathIdx), usize> = HashMap::new();
    let mut considered = 0;
    let mut ignored = 0;
    for (_, files) in &mut by_commit {
        files.sort_unstable();
        files.dedup();
        if files.len() > limits.max_changeset_files {
            ignored += 1;
            continue;
        }
        considered += 1;
        let files: Vec<PathIdx> = files
            .iter()
            .copied()
            .filter(|f| present[*f as usize].is_some())
            .collect();
        for &f in &files {
            *revisions.entry(f).or_default() += 1;
        }
        for (i, &a) in files.iter().enumerate() {
            for &b in &files[i + 1..] {
                *shared.entry((a, b)).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<CoupledPair> = shared
        .into_iter()
        .filter_map(|((a, b), n)| {
            let na = revisions.get(&a).copied().unwrap_or(0);
            let nb = revisions.get(&b).copied().unwrap_or(0);
            let degree = n as f64 * 2.0 / (na + nb) as f64;
            let keep = na >= limits.min_revisions
                && nb >= limits.min_revisions
                && n >= limits.min_shared
                && degree >= limits.min_degree;
            let (pa, pb) = (history.path(a), history.path(b));
            let ((pa, na), (pb, nb)) = if pa <= pb {
                ((pa, na), (pb, nb))
            } else {
                ((pb, nb), (pa, na))
            };
            keep.then(|| CoupledPair {
                a: pa.to_owned(),
                b: pb.to_owned(),
                shared: n,
                a_commits: na,
                b_commits: nb,
                degree,
            })
        })
        .collect();
    pairs.sort_by(|x, y| {
        y.degree
            .total_cmp(&x.degree)
            .then(y.shared.cmp(&x.shared))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    Coupling {
        min_revisions: limits.min_revisions,
        min_shared: limits.min_shared,
        min_degree: limits.min_degree,
        max_changeset_files: limits.max_changeset_files,
        commits: considered,
        large_commits_ignored: ignored,
        pairs,
    }
}

/// Lines added by each author, largest first (ties: by name and e-mail),
/// with their authors' indices.
fn ranked_authors(
    history: &CodeHistory,
    lines: &HashMap<AuthorIdx, u64>,
) -> Vec<(AuthorIdx, AuthorShare)> {
    let total: u64 = lines.values().sum();
    let mut authors: Vec<(AuthorIdx, u64)> = lines
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(a, n)| (*a, *n))
        .collect();
    authors.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| history.authors[a.0 as usize].cmp(&history.authors[b.0 as usize]))
    });
    authors
        .into_iter()
        .map(|(a, n)| {
            let author = &history.authors[a as usize];
            let share = AuthorShare {
                author: author.to_string(),
                name: author.name.clone(),
                lines_added: n,
                share: n as f64 / total as f64,
            };
            (a, share)
        })
        .collect()
}

/// Who knows which file and directory: lines added per author, knowledge
/// islands and the truck factor.
fn knowledge(
    history: &CodeHistory,
    resolved: &[Resolved],
    snapshot_files: &HashMap<&str, Option<u32>>,
    until: Timestamp,
    settings: &CodeSettings,
) -> Knowledge {
    let per_file = lines_per_file(history, resolved, snapshot_files);
    let last_commit = last_commits(history, until);
    let mut paths: Vec<&str> = per_file.keys().copied().collect();
    paths.sort_unstable();
    let mut files = Vec::with_capacity(paths.len());
    let mut directories: HashMap<String, (usize, HashMap<AuthorIdx, u64>)> = HashMap::new();
    let mut all_authors: HashSet<AuthorIdx> = HashSet::new();
    let mut lines_added = 0;
    let mut islands = Vec::new();
    let quiet_since = until - settings.islands.inactive_days * DAY;
    let mut rated_paths: Vec<&str> = Vec::new();
    let mut unrated_files = 0;
    for &path in &paths {
        let lines = &per_file[path];
        let authors = ranked_authors(history, lines);
        let total: u64 = lines.values().sum();
        lines_added += total;
        all_authors.extend(lines.iter().filter(|(_, n)| **n > 0).map(|(a, _)| *a));
        let size_lines = snapshot_files.get(path).copied().flatten();
        let lines_from_merges = u64::from(size_lines.unwrap_or(0)).saturating_sub(total);
        let rated = total >= MIN_KNOWLEDGE_LINES && lines_from_merges <= total;
        if rated {
            rated_paths.push(path);
        } else if total > 0 {
            unrated_files += 1;
        }
        for dir in ancestors(path) {
            let entry = directories.entry(dir.to_owned()).or_default();
            entry.0 += 1;
            for (a, n) in lines {
                *entry.1.entry(*a).or_default() += n;
            }
        }
        if let Some((main_idx, main)) = authors.first() {
            let last = last_commit.get(main_idx).copied();
            if rated
                && main.share >= settings.islands.min_share
                && let Some(last) = last
                && last < quiet_since
            {
                islands.push(Island {
                    path: path.to_owned(),
                    size_lines,
                    lines_added: total,
                    main_author: main.author.clone(),
                    main_share: main.share,
                    last_commit: last,
                });
            }
        }
        files.push(FileKnowledge {
            path: path.to_owned(),
            size_lines,
            lines_added: total,
            main_author: authors.first().map(|(_, a)| a.author.clone()),
            main_share: authors.first().map(|(_, a)| a.share),
            authors: authors.into_iter().map(|(_, a)| a).collect(),
            lines_from_merges,
            rated,
        });
    }
    islands.sort_by(|a, b| {
        b.size_lines
            .unwrap_or(0)
            .cmp(&a.size_lines.unwrap_or(0))
            .then(b.lines_added.cmp(&a.lines_added))
            .then(a.path.cmp(&b.path))
    });
    let directories = directory_knowledge(history, directories);
    let truck_factor = truck_factor(history, &rated_paths, &per_file);
    Knowledge {
        authors: all_authors.len(),
        lines_added,
        files,
        top_directories: top_directories(&directories, settings.top),
        directories,
        island_min_share: settings.islands.min_share,
        island_inactive_days: settings.islands.inactive_days,
        islands,
        truck_factor,
        min_lines: MIN_KNOWLEDGE_LINES,
        unrated_files,
    }
}

/// Lines added per file at the snapshot (every one, even a file no
/// analysed commit added, such as one a merge brought in) and author.
fn lines_per_file<'s>(
    history: &CodeHistory,
    resolved: &[Resolved],
    snapshot_files: &HashMap<&'s str, Option<u32>>,
) -> HashMap<&'s str, HashMap<AuthorIdx, u64>> {
    let mut per_file: HashMap<&'s str, HashMap<AuthorIdx, u64>> = snapshot_files
        .keys()
        .map(|p| (*p, HashMap::new()))
        .collect();
    for r in resolved {
        let Some(files) = per_file.get_mut(history.path(r.file)) else {
            continue;
        };
        if let Some((added, _)) = r.lines {
            let author = history.commits[r.commit as usize].author;
            *files.entry(author).or_default() += added;
        }
    }
    per_file
}

/// Each author's last commit (author time) before the window's end.
fn last_commits(history: &CodeHistory, until: Timestamp) -> HashMap<AuthorIdx, Timestamp> {
    let mut last_commit: HashMap<AuthorIdx, Timestamp> = HashMap::new();
    for c in &history.commits {
        if c.committer_time < until {
            let t = last_commit.entry(c.author).or_insert(c.author_time);
            *t = (*t).max(c.author_time);
        }
    }
    last_commit
}

/// Each directory's knowledge, from its file count and lines added per
/// author; by path.
fn directory_knowledge(
    history: &CodeHistory,
    directories: HashMap<String, (usize, HashMap<AuthorIdx, u64>)>,
) -> Vec<DirectoryKnowledge> {
    let mut directories: Vec<DirectoryKnowledge> = directories
        .into_iter()
        .map(|(path, (count, lines))| {
            let authors = ranked_authors(history, &lines);
            DirectoryKnowledge {
                path,
                files: count,
                lines_added: lines.values().sum(),
                main_author: authors.first().map(|(_, a)| a.author.clone()),
                main_share: authors.first().map(|(_, a)| a.share),
                author_count: authors.len(),
                authors: authors
                    .into_iter()
                    .take(DIRECTORY_AUTHORS)
                    .map(|(_, a)| a)
                    .collect(),
            }
        })
        .collect();
    directories.sort_by(|a, b| a.path.cmp(&b.path));
    directories
}

/// Top-level directories (and the root), most lines added first: the
/// root and at most `limit` others.
fn top_directories(directories: &[DirectoryKnowledge], limit: usize) -> Vec<String> {
    let mut top: Vec<&DirectoryKnowledge> = directories
        .iter()
        .filter(|d| d.path == "." || !d.path.contains('/'))
        .collect();
    top.sort_by(|a, b| {
        (a.path != ".")
            .cmp(&(b.path != "."))
            .then(b.lines_added.cmp(&a.lines_added))
            .then(a.path.cmp(&b.path))
    });
    top.iter()
        .take(limit.saturating_add(1))
        .map(|d| d.path.clone())
        .collect()
}

/// The directories above a path, root (`.`) first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once(".").chain(path.match_indices('/').map(move |(i, _)| &path[..i]))
}

/// The truck factor (see `docs/metrics.md`): remove the remaining author
/// who added the most lines to files not yet orphaned, until more than half
/// of the files are orphaned; a file is orphaned once the authors still
/// there added less than half of its lines.
fn truck_factor(
    history: &CodeHistory,
    paths: &[&str],
    per_file: &HashMap<&str, HashMap<AuthorIdx, u64>>,
) -> Option<TruckFactor> {
    // Files with lines, and each one's lines by author.
    let files: Vec<(u64, &HashMap<AuthorIdx, u64>)> = paths
        .iter()
        .map(|f| &per_file[*f])
        .map(|lines| (lines.values().sum::<u64>(), lines))
        .filter(|(total, _)| *total > 0)
        .collect();
    if files.is_empty() {
        return None;
    }
    let n = files.len();
    let mut by_author: HashMap<AuthorIdx, Vec<(usize, u64)>> = HashMap::new();
    for (i, (_, lines)) in files.iter().enumerate() {
        for (&a, &l) in lines.iter() {
            if l > 0 {
                by_author.entry(a).or_default().push((i, l));
            }
        }
    }
    // Lines each remaining author added to files not yet orphaned.
    let mut live: HashMap<AuthorIdx, u64> = by_author
        .iter()
        .map(|(a, v)| (*a, v.iter().map(|(_, l)| l).sum()))
        .collect();
    let mut removed_lines = vec![0u64; n];
    let mut orphaned = vec![false; n];
    let mut orphaned_count = 0;
    let mut removed = Vec::new();
    while orphaned_count * 2 <= n {
        let Some((&top, _)) = live.iter().max_by(|a, b| {
            a.1.cmp(b.1)
                .then_with(|| history.authors[*b.0 as usize].cmp(&history.authors[*a.0 as usize]))
        }) else {
            break;
        };
        live.remove(&top);
        for &(i, l) in &by_author[&top] {
            if orphaned[i] {
                continue;
            }
            removed_lines[i] += l;
            let total = files[i].0;
            if (total - removed_lines[i]) * 2 < total {
                orphaned[i] = true;
                orphaned_count += 1;
                for (&a, &la) in files[i].1.iter() {
                    if let Some(v) = live.get_mut(&a) {
                        *v -= la;
                    }
                }
            }
        }
        let author = &history.authors[top as usize];
        removed.push(RemovedAuthor {
            author: author.to_string(),
            name: author.name.clone(),
            orphaned_files: orphaned_count,
            orphaned_share: orphaned_count as f64 / n as f64,
        });
    }
    Some(TruckFactor {
        value: removed.len(),
        files: n,
        removed,
    })
}

/// What the code says about the files the window's failed deployments
/// touched: part of the git report (`nextneck report`).
#[derive(Clone, Debug, Serialize)]
pub struct FailureCode {
    /// Non-merge commits the failed deployments shipped whose file changes
    /// are known.
    pub changes: usize,
    /// Files those commits changed that exist at the snapshot.
    pub files: usize,
    /// Files at the snapshot changed in the window: the length of the
    /// hotspot ranking.
    pub ranked_files: usize,
    /// The touched file ranked highest among the window's hotspots.
    pub top_hotspot: Option<Hotspot>,
    /// Touched files that are knowledge islands (default thresholds).
    pub knowledge_islands: Vec<Island>,
    /// The finding in one sentence.
    pub summary: String,
}

/// The code tie-in of the git report: ranks the window `[since, until)`'s
/// hotspots and finds knowledge islands (default thresholds, every file in
/// scope), then keeps what concerns the files that `failed` (the commits
/// shipped by the window's failed deployments) changed.
pub fn failure_code(
    history: &CodeHistory,
    snapshot: Option<&Snapshot>,
    failed: &[nextneck_model::CommitId],
    since: Timestamp,
    until: Timestamp,
) -> Result<FailureCode, ReportError> {
    let mut settings = CodeSettings::new(
        "",
        WindowSpec::Range {
            since: Some(since),
            until: Some(until),
        },
    );
    settings.top = usize::MAX;
    let report = code_report(history, snapshot, &settings)?;
    let failed: HashSet<_> = failed.iter().collect();
    let mut changes = 0;
    let mut touched: HashSet<&str> = HashSet::new();
    for c in &history.commits {
        if c.diffed && failed.contains(&c.id) {
            changes += 1;
            touched.extend(c.changes.iter().map(|ch| history.path(ch.path)));
        }
    }
    let present: HashSet<&str> = snapshot
        .map(|s| s.files.iter().map(|f| &*f.path).collect())
        .unwrap_or_default();
    let files = touched.iter().filter(|p| present.contains(*p)).count();
    let top_hotspot = report
        .hotspots
        .files
        .iter()
        .find(|h| touched.contains(h.path.as_str()))
        .cloned();
    let knowledge_islands: Vec<Island> = report
        .knowledge
        .islands
        .iter()
        .filter(|i| touched.contains(i.path.as_str()))
        .cloned()
        .collect();
    let ranked_files = report.hotspots.files.len();
    let summary = failure_summary(
        changes,
        files,
        ranked_files,
        top_hotspot.as_ref(),
        &knowledge_islands,
    );
    Ok(FailureCode {
        changes,
        files,
        ranked_files,
        top_hotspot,
        knowledge_islands,
        summary,
    })
}

/// [`FailureCode::summary`]: the failed deployments' changes, the files
/// they touched, the top hotspot and the knowledge islands among them.
fn failure_summary(
    changes: usize,
    files: usize,
    ranked_files: usize,
    top_hotspot: Option<&Hotspot>,
    knowledge_islands: &[Island],
) -> String {
    let mut summary = format!(
        "the failed deployments' {} touched {} that still {}",
        plural(changes, "change", "changes"),
        plural(files, "file", "files"),
        if files == 1 { "exists" } else { "exist" }
    );
    if let Some(h) = top_hotspot {
        summary.push_str(&format!(
            "; the top hotspot among them is {}, #{} of {} changed in the window ({}, {})",
            h.path,
            h.rank,
            ranked_files,
            plural(h.changes, "change", "changes"),
            plural(h.lines_changed as usize, "line changed", "lines changed")
        ));
    }
    if files > 0 {
        if knowledge_islands.is_empty() {
            summary.push_str("; no knowledge island among them");
        } else {
            let list: Vec<String> = knowledge_islands
                .iter()
                .take(3)
                .map(|i| {
                    format!(
                        "{} ({} wrote {:.0}%, last commit {})",
                        i.path,
                        i.main_author.split(" <").next().unwrap_or(&i.main_author),
                        i.main_share * 100.0,
                        crate::time::date(i.last_commit)
                    )
                })
                .collect();
            let more = knowledge_islands.len() - list.len();
            summary.push_str(&format!(
                "; {} among them: {}{}",
                if knowledge_islands.len() == 1 {
                    "a knowledge island".to_owned()
                } else {
                    format!("{} knowledge islands", knowledge_islands.len())
                },
                list.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    summary
}

/// The notice of a git report whose failed deployments' files are not
/// named because reading them needs the file changes of `pending` commits,
/// more than a report reads (`budget`).
pub fn not_cached_notice(pending: usize, budget: usize) -> Notice {
    Notice {
        code: "code_not_cached",
        message: format!(
            "the failed deployments' files are not named: that needs the file changes of {pending} commits, more than a report reads ({budget}); run `nextneck code` once (it caches them) and later reports will name the hotspot and knowledge islands among those files"
        ),
    }
}

/// The notice of a git report whose failed deployments' file changes could
/// not be read (`error` says why).
pub fn unavailable_notice(error: &str) -> Notice {
    Notice {
        code: "code_unavailable",
        message: format!(
            "could not read the file changes of the failed deployments ({error}); the delivery figures are unaffected"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_left_out(attributes: &[(&str, &str)], path: &str, expected: Option<LeftOutReason>) {
        let snapshot = Snapshot {
            commit: nextneck_model::CommitId([0; 20]),
            files: Vec::new(),
            attributes: attributes
                .iter()
                .map(|(dir, text)| nextneck_model::code::AttributesFile {
                    dir: (*dir).into(),
                    text: (*text).to_owned(),
                })
                .collect(),
        };
        let attributes = Attributes::from_snapshot(Some(&snapshot));
        assert_eq!(left_out_reason(path, &attributes), expected, "{path}");
    }

    #[test]
    fn files_are_left_out_by_attributes_then_built_in_lists() {
        use LeftOutReason::*;
        check_left_out(&[], "Cargo.lock", Some(Lockfile));
        check_left_out(&[], "fuzz/Cargo.lock", Some(Lockfile));
        check_left_out(&[], "src/Cargo.lock.rs", None);
        check_left_out(&[], "web/app.min.js", Some(Generated));
        check_left_out(&[], "api/v1/x.pb.go", Some(Generated));
        check_left_out(&[], "vendor/a/b.go", Some(Vendored));
        check_left_out(&[], "a/third_party/b.c", Some(Vendored));
        check_left_out(&[], "vendor.go", None);
        check_left_out(&[], "po/de.po", Some(Translation));
        check_left_out(&[], "src/main.rs", None);
        let root = [(
            "",
            "*.gen.rs linguist-generated\n/docs/** linguist-vendored=true\n",
        )];
        check_left_out(&root, "a/b/x.gen.rs", Some(LinguistGenerated));
        check_left_out(&root, "docs/a/b.md", Some(LinguistVendored));
        check_left_out(&root, "src/docs/b.md", None);
        // `*` does not cross `/` in a pattern with a slash.
        check_left_out(&[("", "src/*.rs linguist-generated")], "src/a/b.rs", None);
        check_left_out(
            &[("", "src/*.rs linguist-generated")],
            "src/b.rs",
            Some(LinguistGenerated),
        );
        // The last line wins; a deeper file wins over the root's.
        let layered = [
            ("", "*.rs linguist-generated\n"),
            ("keep/", "*.rs -linguist-generated\n"),
        ];
        check_left_out(&layered, "keep/a.rs", None);
        check_left_out(&layered, "other/a.rs", Some(LinguistGenerated));
        // An explicit unset keeps a lockfile; comments and macros are skipped.
        check_left_out(
            &[(
                "",
                "# x\n[attr]gen linguist-generated\nCargo.lock linguist-generated=false",
            )],
            "Cargo.lock",
            None,
        );
    }

    #[test]
    fn path_patterns() {
        let check = |pattern: &str, path: &str, expected: bool| {
            let p = PathPattern::parse(pattern).expect("valid pattern");
            assert_eq!(p.matches(path), expected, "{pattern} vs {path}");
        };
        check("src", "src/a.rs", true);
        check("src/", "src/a.rs", true);
        check("./src", "src/deep/a.rs", true);
        check("src", "srcx/a.rs", false);
        check("src", "lib/src/a.rs", false);
        check("src/a.rs", "src/a.rs", true);
        check(".", "anything/at/all", true);
        check("*.rs", "src/deep/a.rs", true);
        check("*.rs", "src/deep/a.rsx", false);
        check("src/*.rs", "src/a.rs", true);
        check("src/*.rs", "src/deep/a.rs", true);
        check("src/*", "src/deep/a.rs", true);
        check("src/*", "lib/a.rs", false);
        check("*/vendor", "x/vendor/y.c", true);
        check("crates/*/tests", "crates/x/tests/a.rs", true);
        check("crates/*/tests", "crates/x/src/a.rs", false);
        check("*file?.txt", "dir/file1.txt", true);
        check("*file?.txt", "dir/file10.txt", false);
        check("[ab]*.c", "b.c", true);
        check("[!ab]*.c", "b.c", false);
        check("[a-c]x", "cx", true);
        check("[a-c]x", "dx", false);
        check("[oops", "[oops", true);
        assert!(PathPattern::parse("  ").is_err());
    }

    #[test]
    fn ancestors_start_at_the_root() {
        let got: Vec<&str> = ancestors("a/b/c.rs").collect();
        assert_eq!(got, [".", "a", "a/b"]);
        let got: Vec<&str> = ancestors("top.rs").collect();
        assert_eq!(got, ["."]);
    }
}

// ---------------------------------------------------------------------------
// Files left out by default: lockfiles, generated, vendored and translations.

/// Lockfiles, matched by file name at any depth.
pub const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
    "deno.lock",
    "Gemfile.lock",
    "poetry.lock",
    "Pipfile.lock",
    "pdm.lock",
    "uv.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "Package.resolved",
    "packages.lock.json",
    "gradle.lockfile",
    "conan.lock",
    "shard.lock",
    "renv.lock",
];

/// Generated files, matched against the file name (`*` any characters).
pub const GENERATED_PATTERNS: &[&str] = &[
    "*.min.js",
    "*.min.css",
    "*.pb.go",
    "*.pb.cc",
    "*.pb.h",
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.pb.swift",
    "*.g.dart",
    "*.freezed.dart",
    "*.designer.cs",
    "*.generated.*",
];

/// Directories of vendored code: a file below one, at any depth, is vendored.
pub const VENDORED_DIRECTORIES: &[&str] = &[
    "vendor",
    "third_party",
    "third-party",
    "thirdparty",
    "node_modules",
    "bower_components",
];

/// Translation catalogues, matched against the file name.
pub const TRANSLATION_PATTERNS: &[&str] = &["*.po", "*.pot", "*.mo", "*.xlf", "*.xliff"];

/// Why a file is left out of hotspots, coupling and knowledge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutReason {
    /// A lockfile ([`LOCKFILES`]).
    Lockfile,
    /// Marked `linguist-generated` in `.gitattributes`.
    LinguistGenerated,
    /// Marked `linguist-vendored` in `.gitattributes`.
    LinguistVendored,
    /// A built-in generated pattern ([`GENERATED_PATTERNS`]).
    Generated,
    /// Below a vendored directory ([`VENDORED_DIRECTORIES`]).
    Vendored,
    /// A translation catalogue ([`TRANSLATION_PATTERNS`]).
    Translation,
}

impl LeftOutReason {
    /// How the reason reads in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            LeftOutReason::Lockfile => "lockfiles",
            LeftOutReason::LinguistGenerated => "linguist-generated in .gitattributes",
            LeftOutReason::LinguistVendored => "linguist-vendored in .gitattributes",
            LeftOutReason::Generated => "generated by name",
            LeftOutReason::Vendored => "vendored directories",
            LeftOutReason::Translation => "translations",
        }
    }
}

/// One `.gitattributes` line that sets or unsets the linguist attributes.
struct AttributeRule {
    /// The directory of its file (`""` or `dir/`).
    dir: String,
    /// The pattern, without a leading `/`.
    pattern: Vec<char>,
    /// Matched against the file name only (no `/` in the pattern).
    basename: bool,
    generated: Option<bool>,
    vendored: Option<bool>,
}

/// The `linguist-generated` and `linguist-vendored` attributes of a
/// snapshot's `.gitattributes` files. Patterns follow git's rules for
/// attributes: without a `/` they match the file name at any depth below
/// the file's directory, with one they match the path relative to it
/// (`*` and `?` not crossing `/`, `**` crossing it); the last matching line
/// wins, deeper files over shallower ones. Macros and quoted patterns are
/// not read.
pub struct Attributes {
    rules: Vec<AttributeRule>,
}

impl Attributes {
    /// Reads the snapshot's `.gitattributes` files (root first).
    pub fn from_snapshot(snapshot: Option<&Snapshot>) -> Attributes {
        let mut files: Vec<(&str, &str)> = snapshot
            .map(|s| {
                s.attributes
                    .iter()
                    .map(|a| (&*a.dir, a.text.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        files.sort_by_key(|(dir, _)| (dir.matches('/').count(), *dir));
        let mut rules = Vec::new();
        for (dir, text) in files {
            for line in text.lines() {
                if let Some(rule) = parse_attribute_line(dir, line) {
                    rules.push(rule);
                }
            }
        }
        Attributes { rules }
    }

    /// `(generated, vendored)` for a path; `None` when no line says.
    fn of(&self, path: &str) -> (Option<bool>, Option<bool>) {
        let mut generated = None;
        let mut vendored = None;
        for rule in &self.rules {
            let Some(rest) = path.strip_prefix(rule.dir.as_str()) else {
                continue;
            };
            let subject = if rule.basename {
                rest.rsplit('/').next().unwrap_or(rest)
            } else {
                rest
            };
            let chars: Vec<char> = subject.chars().collect();
            if glob::matches(glob::ATTRIBUTES, &rule.pattern, &chars) {
                generated = rule.generated.or(generated);
                vendored = rule.vendored.or(vendored);
            }
        }
        (generated, vendored)
    }
}

fn parse_attribute_line(dir: &str, line: &str) -> Option<AttributeRule> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('"') {
        return None;
    }
    let mut parts = line.split_ascii_whitespace();
    let pattern = parts.next()?;
    if pattern.starts_with("[attr]") || pattern.ends_with('/') {
        return None;
    }
    let mut generated = None;
    let mut vendored = None;
    for attr in parts {
        let (name, value) = if let Some(name) = attr.strip_prefix(['-', '!']) {
            (name, false)
        } else if let Some((name, value)) = attr.split_once('=') {
            (name, !matches!(value, "false" | "0"))
        } else {
            (attr, true)
        };
        match name {
            "linguist-generated" => generated = Some(value),
            "linguist-vendored" => vendored = Some(value),
            _ => {}
        }
    }
    if generated.is_none() && vendored.is_none() {
        return None;
    }
    let basename = !pattern.contains('/');
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    Some(AttributeRule {
        dir: dir.to_owned(),
        pattern: pattern.chars().collect(),
        basename,
        generated,
        vendored,
    })
}

/// Why `path` is left out by default, if it is: the attributes first (an
/// explicit `-linguist-generated` or `linguist-vendored=false` keeps a file
/// the built-in lists would leave out), then lockfiles, the built-in
/// generated patterns, vendored directories and translations.
pub fn left_out_reason(path: &str, attributes: &Attributes) -> Option<LeftOutReason> {
    let (generated, vendored) = attributes.of(path);
    if generated == Some(true) {
        return Some(LeftOutReason::LinguistGenerated);
    }
    if vendored == Some(true) {
        return Some(LeftOutReason::LinguistVendored);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let name_chars: Vec<char> = name.chars().collect();
    let matches_any = |patterns: &[&str]| {
        patterns.iter().any(|p| {
            let p: Vec<char> = p.chars().collect();
            glob::matches(glob::PATHSPEC, &p, &name_chars)
        })
    };
    if generated.is_none() {
        if LOCKFILES.contains(&name) {
            return Some(LeftOutReason::Lockfile);
        }
        if matches_any(GENERATED_PATTERNS) {
            return Some(LeftOutReason::Generated);
        }
    }
    if vendored.is_none() {
        let mut dirs = path.split('/');
        dirs.next_back();
        if dirs.any(|d| VENDORED_DIRECTORIES.contains(&d)) {
            return Some(LeftOutReason::Vendored);
        }
    }
    if generated.is_none() && matches_any(TRANSLATION_PATTERNS) {
        return Some(LeftOutReason::Translation);
    }
    None
}

/// Files of one reason left out at the snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct LeftOut {
    /// Why.
    pub reason: LeftOutReason,
    /// How many files of the snapshot (in the `--path`/`--exclude` scope).
    pub files: usize,
    /// The first few of them, by path.
    pub examples: Vec<String>,
}

/// Examples kept per reason in [`Scope::left_out`].
const LEFT_OUT_EXAMPLES: usize = 3;

// ---------------------------------------------------------------------------
// One name under several e-mail addresses.

/// A name that appears under several e-mail addresses after the mailmap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitIdentity {
    /// The name.
    pub name: String,
    /// Its addresses, most commits first.
    pub emails: Vec<String>,
    /// Commits under each address, in the same order.
    pub commits: Vec<usize>,
    /// `.mailmap` lines that would merge them under the first address.
    pub mailmap: Vec<String>,
}

/// Names with several addresses, most commits first. Names are compared
/// case-insensitively after trimming; an empty name is never grouped.
fn split_identities(history: &CodeHistory) -> Vec<SplitIdentity> {
    let mut commits = vec![0usize; history.authors.len()];
    for c in &history.commits {
        if let Some(n) = commits.get_mut(c.author as usize) {
            *n += 1;
        }
    }
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in history.authors.iter().enumerate() {
        let key = a.name.trim().to_lowercase();
        if !key.is_empty() && commits[i] > 0 {
            by_name.entry(key).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (_, mut ids) in by_name {
        ids.sort_by(|&a, &b| {
            commits[b]
                .cmp(&commits[a])
                .then_with(|| history.authors[a].email.cmp(&history.authors[b].email))
        });
        ids.dedup_by(|a, b| {
            history.authors[*a]
                .email
                .eq_ignore_ascii_case(&history.authors[*b].email)
        });
        if ids.len() < 2 {
            continue;
        }
        let main = &history.authors[ids[0]];
        out.push(SplitIdentity {
            name: main.name.clone(),
            emails: ids
                .iter()
                .map(|&i| history.authors[i].email.clone())
                .collect(),
            commits: ids.iter().map(|&i| commits[i]).collect(),
            mailmap: ids[1..]
                .iter()
                .map(|&i| {
                    format!(
                        "{} <{}> <{}>",
                        main.name, main.email, history.authors[i].email
                    )
                })
                .collect(),
        });
    }
    out.sort_by(|a, b| {
        let total = |s: &SplitIdentity| s.commits.iter().sum::<usize>();
        total(b).cmp(&total(a)).then(a.name.cmp(&b.name))
    });
    out
}
