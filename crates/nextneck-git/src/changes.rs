//! What each commit changed, file by file: the figures
//! `git log --no-renames --numstat` prints, read with gix on every core.
//!
//! [`CodeLoader::open`] walks every commit reachable from `HEAD`, the local
//! branches and the tags, reading its parents, tree, author and times (from
//! the cache when it knows the commit). [`CodeLoader::diff`] compares the
//! commits the caller asks for with their first parent, in parallel: one
//! tree walk over the two trees (skipping identical subtrees), then for each
//! changed file the lines added and deleted, computed as git does (Myers,
//! git's heuristics, lines including their terminator; a NUL byte in the
//! first 8,000 bytes of either side makes the file binary). Merges are not
//! diffed, as `git log` does not by default. [`CodeLoader::snapshot`] lists a
//! commit's files with their sizes in lines, and [`CodeLoader::finish`]
//! writes the cache (see `cache.rs`).
//!
//! Authors are resolved through the mailmap (`.mailmap` in the work tree,
//! `HEAD:.mailmap` in a bare repository, `mailmap.file`, `mailmap.blob`),
//! every run: the cache stores the identities as written in the commits.

use std::collections::HashMap as StdHashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gix::ObjectId;
use gix::hashtable::HashMap;
use nextneck_model::Timestamp;
use nextneck_model::code::{
    ATTRIBUTES_MAX_BYTES, AttributesFile, Author, ChangeKind, ChangedCommit, CodeHistory,
    FileChange, LineCounts, Snapshot, SnapshotFile,
};

use crate::cache::{self, CacheFile, StoredChange, StoredCommit};
use crate::objects::{Packs, Reader};
use crate::{Error, Progress, find, header, prefetch, to_commit_id};

mod line_diff;

#[cfg(test)]
use line_diff::FIRST_FEW_BYTES;
use line_diff::{LineDiff, count_lines, is_binary, text_lines};

/// The name of the files whose attributes mark generated and vendored code.
const ATTRIBUTES: &[u8] = b".gitattributes";

/// Inexact rename detection is skipped for commits with more deleted ×
/// added text files than this (git's default `diff.renameLimit` is 1,000
/// files a side).
const RENAME_PAIR_LIMIT: usize = 10_000;
/// Rename tracking pairs files at least this similar (git's default).
const RENAME_SIMILARITY: f64 = 0.5;
/// Commits handed to a thread at a time; consecutive commits in walk order
/// are mostly parent and child, so a thread's caches serve both.
const CHUNK: usize = 256;
/// Per thread: memory for decoded trees and blobs (git's delta base cache
/// is 96 MiB). A commit's tree and new blobs are its parent's old ones,
/// diffed next by the same thread, and a file's versions are deltas of one
/// another.
const OBJECT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Diffing this many commits or more reads most of the repository's
/// objects: then hash tables of the pack indices beat binary searches.
const HASH_INDICES_COMMITS: usize = 1000;

const NONE: u32 = u32::MAX;

/// How to read file changes.
#[derive(Clone, Debug, Default)]
pub struct CodeOptions {
    /// Track renames (`git log -M`): a deleted and an added file at least
    /// 50 % alike (in lines; identical content first) become one rename.
    pub renames: bool,
    /// Read and write the on-disk cache.
    pub cache: bool,
    /// Where to keep the cache when the repository's `.git/nextneck/` is
    /// not writable (a folder per repository is made inside it).
    pub user_cache_dir: Option<PathBuf>,
}

/// What the cache did in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheReport {
    /// The cache file used, if any.
    pub path: Option<PathBuf>,
    /// Commits whose changes came from the cache.
    pub reused: usize,
    /// Commits diffed in this run.
    pub diffed: usize,
    /// Whether the file was (re)written.
    pub written: bool,
    /// Why the cache could not be written, if it could not.
    pub warning: Option<String>,
}

/// Reads a repository's commits, their file changes and a snapshot's file
/// sizes. See the module documentation for the order of calls.
pub struct CodeLoader {
    sync: gix::ThreadSafeRepository,
    packs: Packs,
    options: CodeOptions,
    display_path: PathBuf,
    common_dir: PathBuf,
    history: CodeHistory,
    trees: Vec<ObjectId>,
    parents: Vec<Vec<ObjectId>>,
    identity: Vec<u32>,
    identities: Vec<Vec<u8>>,
    path_index: StdHashMap<Box<str>, u32>,
    blob_lines: HashMap<ObjectId, Option<u32>>,
    snapshot_blobs: Vec<(ObjectId, Option<u32>)>,
    cache_path: Option<PathBuf>,
    /// Commits and blob counts the cache file held when read.
    cached_commits: usize,
    cached_blobs: usize,
    /// Commits read from the object database (not the cache).
    read_commits: usize,
    reused: usize,
    diffed: usize,
    walk_index: HashMap<ObjectId, u32>,
}

/// The header of a commit: what the walk needs.
struct Header {
    tree: ObjectId,
    parents: Vec<ObjectId>,
    identity: Box<[u8]>,
    author_time: Timestamp,
    committer_time: Timestamp,
}

impl Header {
    /// The walk's parts of a raw commit ([`header::parse_commit`] with its
    /// tree).
    fn parse(data: &[u8]) -> Result<Header, String> {
        let h = header::parse_commit(data, true)?;
        Ok(Header {
            tree: h.tree.ok_or("no tree line")?,
            parents: h.parents,
            identity: h.identity.to_vec().into_boxed_slice(),
            author_time: h.author_time,
            committer_time: h.committer_time,
        })
    }
}

fn kind_code(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Added => 0,
        ChangeKind::Deleted => 1,
        ChangeKind::Modified => 2,
        ChangeKind::Renamed => 3,
    }
}

fn kind_of(code: u8) -> ChangeKind {
    match code {
        0 => ChangeKind::Added,
        1 => ChangeKind::Deleted,
        3 => ChangeKind::Renamed,
        _ => ChangeKind::Modified,
    }
}

/// The cache file's name for a rename mode.
fn cache_name(renames: bool) -> String {
    if renames {
        format!("code-v{}-renames.bin", cache::FORMAT)
    } else {
        format!("code-v{}.bin", cache::FORMAT)
    }
}

impl CodeLoader {
    /// Opens the repository at or above `path` and walks every commit
    /// reachable from `HEAD`, the local branches and the tags.
    pub fn open(
        path: &Path,
        options: CodeOptions,
        progress: &mut dyn Progress,
    ) -> Result<CodeLoader, Error> {
        let repo = gix::discover(path).map_err(|source| Error::NotARepository {
            path: path.to_owned(),
            source,
        })?;
        let display_path = repo.git_dir().to_owned();
        let common_dir = repo.common_dir().to_owned();
        let mut loader = CodeLoader {
            sync: repo.clone().into_sync(),
            packs: Packs::open(&repo),
            options,
            display_path,
            common_dir,
            history: CodeHistory::default(),
            trees: Vec::new(),
            parents: Vec::new(),
            identity: Vec::new(),
            identities: Vec::new(),
            path_index: StdHashMap::new(),
            blob_lines: HashMap::default(),
            snapshot_blobs: Vec::new(),
            cache_path: None,
            cached_commits: 0,
            cached_blobs: 0,
            read_commits: 0,
            reused: 0,
            diffed: 0,
            walk_index: HashMap::default(),
        };
        loader.history.renames = loader.options.renames;
        let cache = if loader.options.cache {
            loader.read_cache()
        } else {
            None
        };
        let (tips, head) = tips(&repo, &loader.display_path)?;
        loader.walk(&repo, tips, cache, progress)?;
        if loader.history.commits.is_empty() {
            return Err(Error::Empty {
                path: loader.display_path,
            });
        }
        loader.link(head);
        loader.resolve_authors(&repo);
        Ok(loader)
    }

    /// Whether a cache file for `options` exists for the repository at or
    /// above `path` (without walking the history).
    pub fn cache_exists(path: &Path, options: &CodeOptions) -> bool {
        let Ok(repo) = gix::discover(path) else {
            return false;
        };
        let name = cache_name(options.renames);
        let common_dir = repo.common_dir().to_owned();
        let mut candidates = vec![common_dir.join("nextneck").join(&name)];
        if let Some(dir) = &options.user_cache_dir {
            let canonical = common_dir
                .canonicalize()
                .unwrap_or_else(|_| common_dir.clone());
            let key = cache::hex_hash(canonical.to_string_lossy().as_bytes());
            candidates.push(dir.join(key).join(&name));
        }
        candidates.iter().any(|c| c.is_file())
    }

    /// How many commits [`CodeLoader::diff`] with the same `before` would
    /// diff: those not known from the cache.
    pub fn pending_diffs(&self, before: Option<Timestamp>) -> usize {
        self.history
            .commits
            .iter()
            .filter(|c| {
                !c.diffed
                    && !c.is_merge()
                    && before.is_none_or(|b| c.committer_time < b)
                    && (c.parent_count == 0 || c.first_parent.is_some())
            })
            .count()
    }

    /// The history read so far.
    pub fn history(&self) -> &CodeHistory {
        &self.history
    }

    /// Diffs every commit that is not a merge, whose committer time is
    /// before `before` (all when `None`), whose first parent is present (or
    /// that has none) and whose changes are not known yet.
    pub fn diff(
        &mut self,
        before: Option<Timestamp>,
        progress: &mut dyn Progress,
    ) -> Result<(), Error> {
        let jobs: Vec<u32> = self
            .history
            .commits
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !c.diffed
                    && !c.is_merge()
                    && before.is_none_or(|b| c.committer_time < b)
                    && (c.parent_count == 0 || c.first_parent.is_some())
            })
            .map(|(i, _)| i as u32)
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        if jobs.len() >= HASH_INDICES_COMMITS {
            self.packs.hash_indices();
        }
        let work: Vec<(u32, ObjectId, Option<ObjectId>)> = jobs
            .iter()
            .map(|&c| {
                let commit = &self.history.commits[c as usize];
                let old = commit.first_parent.map(|p| self.trees[p as usize]);
                (c, self.trees[c as usize], old)
            })
            .collect();
        let results = run_parallel(
            &self.sync,
            &self.packs,
            &work,
            self.options.renames,
            progress,
            |differ, &(_, new, old)| differ.diff_commit(new, old),
        )?;
        for (paths, done) in results {
            let remap: Vec<u32> = paths.iter().map(|p| self.intern(p)).collect();
            for (position, changes) in done {
                let c = work[position as usize].0;
                let commit = &mut self.history.commits[c as usize];
                commit.changes = changes
                    .into_iter()
                    .map(|ch| FileChange {
                        path: remap[ch.path as usize],
                        from: (ch.from != NONE).then(|| remap[ch.from as usize]),
                        kind: ch.kind,
                        lines: ch.lines,
                    })
                    .collect();
                commit.diffed = true;
                self.diffed += 1;
            }
        }
        Ok(())
    }

    /// The files of commit `commit`'s tree (an index into the history's
    /// commits) with their sizes in lines, and its `.gitattributes` files.
    pub fn snapshot(&mut self, commit: u32) -> Result<Snapshot, Error> {
        let tree = self.trees[commit as usize];
        let mut reader = Reader::new(&self.packs, self.sync.to_thread_local(), OBJECT_CACHE_BYTES);
        let mut files: Vec<(Vec<u8>, ObjectId, u32)> = Vec::new();
        let mut stack = vec![(Vec::new(), tree)];
        while let Some((prefix, id)) = stack.pop() {
            let data = reader.read(&id, gix::object::Kind::Tree)?;
            for entry in TreeEntries::new(&data) {
                let entry = entry.map_err(|reason| Error::BadObject {
                    id: id.to_string(),
                    reason,
                })?;
                let mut path = prefix.clone();
                path.extend_from_slice(entry.name);
                if entry.is_tree() {
                    path.push(b'/');
                    stack.push((path, entry.oid));
                } else {
                    files.push((path, entry.oid, entry.mode));
                }
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let attribute_files: Vec<(Vec<u8>, ObjectId, u32)> = files
            .iter()
            .filter(|(path, _, mode)| {
                !is_gitlink(*mode)
                    && path.ends_with(ATTRIBUTES)
                    && (path.len() == ATTRIBUTES.len()
                        || path[path.len() - ATTRIBUTES.len() - 1] == b'/')
            })
            .cloned()
            .collect();
        let missing: Vec<(ObjectId, u32)> = {
            let mut seen = HashMap::default();
            files
                .iter()
                .filter(|(_, id, mode)| {
                    !is_gitlink(*mode)
                        && !self.blob_lines.contains_key(id)
                        && seen.insert(*id, ()).is_none()
                })
                .map(|(_, id, mode)| (*id, *mode))
                .collect()
        };
        if !missing.is_empty() {
            let results = run_parallel(
                &self.sync,
                &self.packs,
                &missing,
                false,
                &mut crate::NoProgress,
                |differ, &(id, mode)| {
                    let len = differ.content(&id, mode, Side::Old)?;
                    Ok(text_lines(&differ.old[..len]))
                },
            )?;
            for (_, done) in results {
                for (i, lines) in done {
                    self.blob_lines.insert(missing[i as usize].0, lines);
                }
            }
        }
        self.snapshot_blobs.clear();
        let files = files
            .into_iter()
            .map(|(path, id, mode)| {
                let lines = if is_gitlink(mode) {
                    Some(1)
                } else {
                    let lines = self.blob_lines.get(&id).copied().flatten();
                    let binary = self.blob_lines.get(&id).is_some_and(Option::is_none);
                    self.snapshot_blobs.push((id, lines));
                    if binary { None } else { lines }
                };
                SnapshotFile {
                    path: String::from_utf8_lossy(&path).into(),
                    lines,
                }
            })
            .collect();
        self.snapshot_blobs.sort_unstable();
        self.snapshot_blobs.dedup();
        let mut attributes = Vec::new();
        for (path, id, _) in attribute_files {
            let data = reader.read(&id, gix::object::Kind::Blob)?;
            let text = &data[..data.len().min(ATTRIBUTES_MAX_BYTES)];
            let dir = &path[..path.len() - ATTRIBUTES.len()];
            attributes.push(AttributesFile {
                dir: String::from_utf8_lossy(dir).into(),
                text: String::from_utf8_lossy(text).into_owned(),
            });
        }
        Ok(Snapshot {
            commit: self.history.commits[commit as usize].id,
            files,
            attributes,
        })
    }

    /// Writes the cache (when enabled and anything changed) and returns
    /// the history.
    pub fn finish(mut self) -> (CodeHistory, CacheReport) {
        let mut report = CacheReport {
            path: None,
            reused: self.reused,
            diffed: self.diffed,
            written: false,
            warning: None,
        };
        if !self.options.cache {
            return (self.history, report);
        }
        let changed = self.diffed > 0
            || self.read_commits > 0
            || self.cached_commits != self.history.commits.len()
            || self.cached_blobs != self.snapshot_blobs.len();
        report.path = self.cache_path.clone();
        if changed {
            let bytes = self.encode_cache().encode();
            let mut errors = Vec::new();
            for candidate in self.cache_candidates() {
                match cache::write_atomic(&candidate, &bytes) {
                    Ok(()) => {
                        report.path = Some(candidate);
                        report.written = true;
                        break;
                    }
                    Err(e) => errors.push(format!("{}: {e}", candidate.display())),
                }
            }
            if !report.written {
                report.warning = Some(format!(
                    "could not write the cache ({}); the next run diffs every commit again",
                    if errors.is_empty() {
                        "no writable place".to_owned()
                    } else {
                        errors.join("; ")
                    }
                ));
            }
        }
        self.history.renames = self.options.renames;
        (self.history, report)
    }

    fn cache_name(&self) -> String {
        cache_name(self.options.renames)
    }

    /// Where the cache may live, in order of preference.
    fn cache_candidates(&self) -> Vec<PathBuf> {
        let name = self.cache_name();
        let mut out = vec![self.common_dir.join("nextneck").join(&name)];
        if let Some(dir) = &self.options.user_cache_dir {
            let canonical = self
                .common_dir
                .canonicalize()
                .unwrap_or_else(|_| self.common_dir.clone());
            let key = cache::hex_hash(canonical.to_string_lossy().as_bytes());
            out.push(dir.join(key).join(&name));
        }
        out
    }

    fn read_cache(&mut self) -> Option<CacheFile> {
        for candidate in self.cache_candidates() {
            if let Some(file) = cache::read(&candidate)
                && file.renames == self.options.renames
            {
                self.cache_path = Some(candidate);
                return Some(file);
            }
        }
        None
    }

    fn encode_cache(&self) -> CacheFile {
        let commits = self
            .history
            .commits
            .iter()
            .enumerate()
            .map(|(i, c)| StoredCommit {
                id: ObjectId::try_from(&c.id.0[..])
                    .unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1)),
                tree: self.trees[i],
                parents: self.parents[i].clone(),
                identity: self.identity[i],
                author_time: c.author_time,
                committer_time: c.committer_time,
                changes: c.diffed.then(|| {
                    c.changes
                        .iter()
                        .map(|ch| {
                            let (added, deleted) =
                                ch.lines.map_or((NONE, NONE), |l| (l.added, l.deleted));
                            StoredChange {
                                kind: kind_code(ch.kind),
                                path: ch.path,
                                from: ch.from.unwrap_or(NONE),
                                added,
                                deleted,
                            }
                        })
                        .collect()
                }),
            })
            .collect();
        CacheFile {
            renames: self.options.renames,
            identities: self.identities.clone(),
            paths: self.history.paths.clone(),
            commits,
            blob_lines: self.snapshot_blobs.clone(),
        }
    }

    fn intern(&mut self, path: &[u8]) -> u32 {
        let path: Box<str> = String::from_utf8_lossy(path).into();
        self.intern_str(path)
    }

    fn intern_str(&mut self, path: Box<str>) -> u32 {
        if let Some(&i) = self.path_index.get(&path) {
            return i;
        }
        let i = self.history.paths.len() as u32;
        self.history.paths.push(path.clone());
        self.path_index.insert(path, i);
        i
    }

    // Long: the walk over every commit while the prefetch threads run; its stack, buffers, remaps and identity index would otherwise be passed around.
    fn walk(
        &mut self,
        repo: &gix::Repository,
        tips: Vec<ObjectId>,
        cache: Option<CacheFile>,
        progress: &mut dyn Progress,
    ) -> Result<(), Error> {
        let cache = cache.unwrap_or_default();
        let cache_index = cache.index();
        self.cached_commits = cache.commits.len();
        self.cached_blobs = cache.blob_lines.len();
        self.blob_lines.extend(cache.blob_lines.iter().copied());
        let path_remap: Vec<u32> = cache
            .paths
            .iter()
            .map(|p| self.intern_str(p.clone()))
            .collect();
        let mut identity_index: StdHashMap<Vec<u8>, u32> = StdHashMap::new();
        let mut identity_remap: Vec<u32> = vec![NONE; cache.identities.len()];
        let mut index: HashMap<ObjectId, u32> = HashMap::default();
        // Decode packed commits on other cores only when the cache is cold:
        // with a warm one, the walk reads almost nothing.
        let parse = |data: &[u8]| Header::parse(data).ok();
        let prefetch = if cache.commits.is_empty() {
            prefetch::Prefetch::new(repo, parse)
        } else {
            prefetch::Prefetch::empty(parse)
        };
        let helpers = if prefetch.is_empty() {
            0
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(2, 8)
                - 1
        };
        let mut buf = Vec::new();
        let mut inflate = gix::zlib::Inflate::default();
        let mut intern_identity = |this: &mut CodeLoader, raw: &[u8]| -> u32 {
            if let Some(&i) = identity_index.get(raw) {
                return i;
            }
            let i = this.identities.len() as u32;
            this.identities.push(raw.to_vec());
            identity_index.insert(raw.to_vec(), i);
            i
        };
        std::thread::scope(|scope| -> Result<(), Error> {
            for _ in 0..helpers {
                scope.spawn(|| prefetch.help());
            }
            let mut stack = tips;
            let result = (|| -> Result<(), Error> {
                while let Some(id) = stack.pop() {
                    if index.contains_key(&id) {
                        continue;
                    }
                    let (header, changes) = if let Some(&ci) = cache_index.get(&id) {
                        let stored = &cache.commits[ci as usize];
                        let slot = &mut identity_remap[stored.identity as usize];
                        if *slot == NONE {
                            *slot =
                                intern_identity(self, &cache.identities[stored.identity as usize]);
                        }
                        let identity = *slot;
                        let changes = stored.changes.as_ref().map(|changes| {
                            changes
                                .iter()
                                .map(|ch| FileChange {
                                    path: path_remap[ch.path as usize],
                                    from: (ch.from != NONE).then(|| path_remap[ch.from as usize]),
                                    kind: kind_of(ch.kind),
                                    lines: (ch.added != NONE || ch.deleted != NONE).then_some(
                                        LineCounts {
                                            added: ch.added,
                                            deleted: ch.deleted,
                                        },
                                    ),
                                })
                                .collect::<Vec<_>>()
                        });
                        let header = (
                            stored.tree,
                            stored.parents.clone(),
                            identity,
                            stored.author_time,
                            stored.committer_time,
                        );
                        (header, changes)
                    } else {
                        let parsed = match prefetch.take(&id, &mut inflate, &mut buf) {
                            Some(h) => h,
                            None => {
                                let Some(data) = find(repo, &id, &mut buf)? else {
                                    // Beyond a shallow boundary.
                                    continue;
                                };
                                if data.kind != gix::object::Kind::Commit {
                                    continue;
                                }
                                Header::parse(data.data).map_err(|reason| Error::BadCommit {
                                    id: id.to_string(),
                                    reason,
                                })?
                            }
                        };
                        self.read_commits += 1;
                        let identity = intern_identity(self, &parsed.identity);
                        let header = (
                            parsed.tree,
                            parsed.parents,
                            identity,
                            parsed.author_time,
                            parsed.committer_time,
                        );
                        (header, None)
                    };
                    let (tree, parents, identity, author_time, committer_time) = header;
                    let idx = self.history.commits.len() as u32;
                    index.insert(id, idx);
                    stack.extend(parents.iter().rev().copied());
                    if changes.is_some() {
                        self.reused += 1;
                    }
                    self.history.commits.push(ChangedCommit {
                        id: to_commit_id(&id),
                        first_parent: None,
                        parent_count: parents.len() as u32,
                        author: 0,
                        author_time,
                        committer_time,
                        diffed: changes.is_some(),
                        changes: changes.unwrap_or_default(),
                    });
                    self.trees.push(tree);
                    self.parents.push(parents);
                    self.identity.push(identity);
                    if self.history.commits.len().is_multiple_of(4096) {
                        progress.commits_read(self.history.commits.len());
                    }
                }
                progress.commits_read(self.history.commits.len());
                Ok(())
            })();
            prefetch.finish();
            result
        })?;
        self.walk_index = index;
        Ok(())
    }

    fn link(&mut self, head: Option<ObjectId>) {
        let index = std::mem::take(&mut self.walk_index);
        for (i, parents) in self.parents.iter().enumerate() {
            let commit = &mut self.history.commits[i];
            commit.first_parent = parents.first().and_then(|p| index.get(p).copied());
            if parents.iter().any(|p| !index.contains_key(p)) {
                self.history.shallow = true;
            }
        }
        self.history.head = head.and_then(|h| index.get(&h).copied());
    }

    fn resolve_authors(&mut self, repo: &gix::Repository) {
        let mailmap = repo.open_mailmap();
        let mut authors: StdHashMap<Author, u32> = StdHashMap::new();
        let mut map = Vec::with_capacity(self.identities.len());
        for raw in &self.identities {
            let (name, email) = split_identity(raw);
            let signature = gix::actor::SignatureRef {
                name: name.into(),
                email: email.into(),
                time: "",
            };
            let (name, email) = match mailmap.try_resolve_ref(signature) {
                Some(resolved) => (
                    resolved.name.map_or(name, |n| n),
                    resolved.email.map_or(email, |e| e),
                ),
                None => (name, email),
            };
            let author = Author {
                name: String::from_utf8_lossy(name).trim().to_owned(),
                email: String::from_utf8_lossy(email).trim().to_owned(),
            };
            let next = authors.len() as u32;
            let idx = *authors.entry(author.clone()).or_insert_with(|| {
                self.history.authors.push(author);
                next
            });
            map.push(idx);
        }
        for (commit, &identity) in self.history.commits.iter_mut().zip(&self.identity) {
            commit.author = map[identity as usize];
        }
    }
}

/// `Name <email>` split into its parts (without the angle brackets).
fn split_identity(raw: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'<', raw) {
        Some(open) => {
            let name = raw[..open].trim_ascii();
            let rest = &raw[open + 1..];
            let email = match memchr::memrchr(b'>', rest) {
                Some(close) => &rest[..close],
                None => rest,
            };
            (name, email)
        }
        None => (raw.trim_ascii(), &raw[raw.len()..]),
    }
}

/// `HEAD`, local branches and tags (annotated tags peeled).
fn tips(
    repo: &gix::Repository,
    display_path: &Path,
) -> Result<(Vec<ObjectId>, Option<ObjectId>), Error> {
    let read_err = |what: &str| {
        let path = display_path.to_owned();
        let what = what.to_owned();
        move |source: gix::Error| Error::Read { path, what, source }
    };
    let mut tips = Vec::new();
    let head = repo.head_id().ok().map(|id| id.detach());
    let platform = repo.references().map_err(read_err("references"))?;
    for reference in platform.local_branches().map_err(read_err("branches"))? {
        let mut reference = reference.map_err(read_err("a branch reference"))?;
        if let Ok(id) = reference.peel_to_id() {
            tips.push(id.detach());
        }
    }
    for reference in platform.tags().map_err(read_err("tags"))? {
        let mut reference = reference.map_err(read_err("a tag reference"))?;
        if let Ok(id) = reference.peel_to_id() {
            tips.push(id.detach());
        }
    }
    // HEAD last, so that it is walked first: its first-parent line gets the
    // smallest indices.
    tips.extend(head);
    Ok((tips, head))
}

/// Runs `job` over `items` on every core (the calling thread included),
/// each thread with its own repository handle and caches. Returns, per
/// thread, its path table and its `(item index, result)` pairs.
#[allow(clippy::type_complexity)]
fn run_parallel<I: Sync, R: Send>(
    sync: &gix::ThreadSafeRepository,
    packs: &Packs,
    items: &[I],
    renames: bool,
    progress: &mut dyn Progress,
    job: impl Fn(&mut Differ<'_>, &I) -> Result<R, Error> + Sync,
) -> Result<Vec<(Vec<Vec<u8>>, Vec<(u32, R)>)>, Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(items.len().div_ceil(CHUNK).max(1));
    let cursor = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let run = |report: &mut dyn FnMut(usize)| -> (Vec<Vec<u8>>, Vec<(u32, R)>) {
        let mut differ = Differ::new(
            Reader::new(packs, sync.to_thread_local(), OBJECT_CACHE_BYTES),
            renames,
        );
        let mut out = Vec::new();
        loop {
            if failed.load(Ordering::Relaxed) {
                break;
            }
            let start = cursor.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= items.len() {
                break;
            }
            let end = (start + CHUNK).min(items.len());
            for (i, item) in items[start..end].iter().enumerate() {
                match job(&mut differ, item) {
                    Ok(r) => out.push(((start + i) as u32, r)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(e);
                        }
                        break;
                    }
                }
            }
            let total = done.fetch_add(end - start, Ordering::Relaxed) + end - start;
            report(total);
        }
        (differ.path_list, out)
    };
    let mut results = Vec::with_capacity(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads)
            .map(|_| scope.spawn(|| run(&mut |_| {})))
            .collect();
        let total = items.len();
        results.push(run(&mut |n| progress.commits_diffed(n, total)));
        for handle in handles {
            match handle.join() {
                Ok(r) => results.push(r),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
    });
    if let Some(e) = first_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    Ok(results)
}

/// A change whose paths index the thread's own path table.
struct LocalChange {
    path: u32,
    from: u32,
    kind: ChangeKind,
    lines: Option<LineCounts>,
}

/// One file that differs between two trees.
struct RawChange {
    path: u32,
    old: Option<(ObjectId, u32)>,
    new: Option<(ObjectId, u32)>,
}

#[derive(Default)]
struct Level {
    old: Rc<Vec<u8>>,
    new: Rc<Vec<u8>>,
}

#[derive(Clone, Copy)]
enum Side {
    Old,
    New,
}

/// A thread's diff machinery: its repository handle with large caches,
/// buffers, and a path table.
struct Differ<'p> {
    objects: Reader<'p>,
    renames: bool,
    levels: Vec<Level>,
    old: Rc<Vec<u8>>,
    new: Rc<Vec<u8>>,
    path: Vec<u8>,
    raw: Vec<RawChange>,
    path_index: StdHashMap<Vec<u8>, u32>,
    path_list: Vec<Vec<u8>>,
    lines: LineDiff,
}

impl<'p> Differ<'p> {
    fn new(objects: Reader<'p>, renames: bool) -> Differ<'p> {
        Differ {
            objects,
            renames,
            levels: Vec::new(),
            old: Rc::default(),
            new: Rc::default(),
            path: Vec::new(),
            raw: Vec::new(),
            path_index: StdHashMap::new(),
            path_list: Vec::new(),
            lines: LineDiff::default(),
        }
    }

    fn intern(&mut self, path: &[u8]) -> u32 {
        if let Some(&i) = self.path_index.get(path) {
            return i;
        }
        let i = self.path_list.len() as u32;
        self.path_list.push(path.to_vec());
        self.path_index.insert(path.to_vec(), i);
        i
    }

    fn diff_commit(
        &mut self,
        new: ObjectId,
        old: Option<ObjectId>,
    ) -> Result<Vec<LocalChange>, Error> {
        self.raw.clear();
        self.path.clear();
        self.diff_trees(old, Some(new), 0)?;
        let raw = std::mem::take(&mut self.raw);
        let mut changes = Vec::with_capacity(raw.len());
        let mut used = vec![false; raw.len()];
        if self.renames {
            self.pair_renames(&raw, &mut used, &mut changes)?;
        }
        for (i, r) in raw.iter().enumerate() {
            if used[i] {
                continue;
            }
            let kind = match (r.old, r.new) {
                (None, _) => ChangeKind::Added,
                (_, None) => ChangeKind::Deleted,
                _ => ChangeKind::Modified,
            };
            let lines = self.line_counts(r.old, r.new)?;
            changes.push(LocalChange {
                path: r.path,
                from: NONE,
                kind,
                lines,
            });
        }
        self.raw = raw;
        let paths = &self.path_list;
        changes.sort_by(|a, b| paths[a.path as usize].cmp(&paths[b.path as usize]));
        Ok(changes)
    }

    /// Pairs deleted and added files into renames: identical content first
    /// (in path order), then the most similar pairs of text files at least
    /// [`RENAME_SIMILARITY`] alike in lines.
    fn pair_renames(
        &mut self,
        raw: &[RawChange],
        used: &mut [bool],
        changes: &mut Vec<LocalChange>,
    ) -> Result<(), Error> {
        let deleted: Vec<usize> = (0..raw.len())
            .filter(|&i| raw[i].old.is_some() && raw[i].new.is_none())
            .collect();
        let added: Vec<usize> = (0..raw.len())
            .filter(|&i| raw[i].old.is_none() && raw[i].new.is_some())
            .collect();
        if deleted.is_empty() || added.is_empty() {
            return Ok(());
        }
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        // Identical content.
        for &a in &added {
            let Some((new_id, _)) = raw[a].new else {
                continue;
            };
            if let Some(&d) = deleted
                .iter()
                .find(|&&d| !used[d] && raw[d].old.is_some_and(|(id, _)| id == new_id))
            {
                used[d] = true;
                used[a] = true;
                pairs.push((d, a));
            }
        }
        // Similar content.
        let deleted: Vec<usize> = deleted.into_iter().filter(|&d| !used[d]).collect();
        let added: Vec<usize> = added.into_iter().filter(|&a| !used[a]).collect();
        if !deleted.is_empty()
            && !added.is_empty()
            && deleted.len() * added.len() <= RENAME_PAIR_LIMIT
        {
            let mut texts: StdHashMap<usize, Option<Vec<u8>>> = StdHashMap::new();
            for &i in deleted.iter().chain(&added) {
                let Some((id, mode)) = raw[i].old.or(raw[i].new) else {
                    continue;
                };
                let len = self.content(&id, mode, Side::Old)?;
                let data = &self.old[..len];
                texts.insert(i, (!is_binary(data)).then(|| data.to_vec()));
            }
            let mut scored: Vec<(f64, usize, usize)> = Vec::new();
            for &d in &deleted {
                for &a in &added {
                    let (Some(Some(old)), Some(Some(new))) = (texts.get(&d), texts.get(&a)) else {
                        continue;
                    };
                    let (old_lines, new_lines) = (count_lines(old), count_lines(new));
                    let larger = old_lines.max(new_lines);
                    if larger == 0
                        || (old_lines.min(new_lines) as f64) < RENAME_SIMILARITY * larger as f64
                    {
                        continue;
                    }
                    let counts = self.lines.count(old, new);
                    let kept = old_lines - counts.deleted;
                    let similarity = f64::from(kept) / f64::from(larger);
                    if similarity >= RENAME_SIMILARITY {
                        scored.push((similarity, d, a));
                    }
                }
            }
            scored.sort_by(|x, y| {
                y.0.total_cmp(&x.0)
                    .then(raw[x.2].path.cmp(&raw[y.2].path))
                    .then(x.1.cmp(&y.1))
            });
            for (_, d, a) in scored {
                if !used[d] && !used[a] {
                    used[d] = true;
                    used[a] = true;
                    pairs.push((d, a));
                }
            }
        }
        for (d, a) in pairs {
            let lines = self.line_counts(raw[d].old, raw[a].new)?;
            changes.push(LocalChange {
                path: raw[a].path,
                from: raw[d].path,
                kind: ChangeKind::Renamed,
                lines,
            });
        }
        Ok(())
    }

    /// Lines added and deleted between two versions of a file; `None` when
    /// either side is binary.
    fn line_counts(
        &mut self,
        old: Option<(ObjectId, u32)>,
        new: Option<(ObjectId, u32)>,
    ) -> Result<Option<LineCounts>, Error> {
        let old_len = match old {
            Some((id, mode)) => Some(self.content(&id, mode, Side::Old)?),
            None => None,
        };
        let new_len = match new {
            Some((id, mode)) => Some(self.content(&id, mode, Side::New)?),
            None => None,
        };
        let old_data = old_len.map(|n| &self.old[..n]);
        let new_data = new_len.map(|n| &self.new[..n]);
        let lines = &mut self.lines;
        if old_data.is_some_and(is_binary) || new_data.is_some_and(is_binary) {
            return Ok(None);
        }
        let counts = match (old_data, new_data) {
            (None, Some(new)) => LineCounts {
                added: count_lines(new),
                deleted: 0,
            },
            (Some(old), None) => LineCounts {
                added: 0,
                deleted: count_lines(old),
            },
            (Some(old), Some(new)) if old == new => LineCounts::default(),
            (Some(old), Some(new)) => lines.count(old, new),
            (None, None) => LineCounts::default(),
        };
        Ok(Some(counts))
    }

    /// Reads what git diffs for a tree entry into the buffer of `side`:
    /// a blob's bytes, or `Subproject commit <id>\n` for a submodule.
    /// Returns the length.
    fn content(&mut self, id: &ObjectId, mode: u32, side: Side) -> Result<usize, Error> {
        let data = if is_gitlink(mode) {
            Rc::new(format!("Subproject commit {id}\n").into_bytes())
        } else {
            self.objects.read(id, gix::object::Kind::Blob)?
        };
        let len = data.len();
        match side {
            Side::Old => self.old = data,
            Side::New => self.new = data,
        }
        Ok(len)
    }

    /// Compares two trees (either may be absent: everything added or
    /// deleted), recording every file that differs under `self.path`.
    fn diff_trees(
        &mut self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        depth: usize,
    ) -> Result<(), Error> {
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, Level::default);
        }
        let mut level = std::mem::take(&mut self.levels[depth]);
        let result = self.diff_level(&mut level, old, new, depth);
        self.levels[depth] = level;
        result
    }

    fn diff_level(
        &mut self,
        level: &mut Level,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        depth: usize,
    ) -> Result<(), Error> {
        level.old = match &old {
            Some(id) => self.objects.read(id, gix::object::Kind::Tree)?,
            None => Rc::default(),
        };
        level.new = match &new {
            Some(id) => self.objects.read(id, gix::object::Kind::Tree)?,
            None => Rc::default(),
        };
        let bad = |id: Option<ObjectId>| {
            move |reason: String| Error::BadObject {
                id: id.map_or_else(String::new, |id| id.to_string()),
                reason: format!("tree: {reason}"),
            }
        };
        let mut a = TreeEntries::new(&level.old);
        let mut b = TreeEntries::new(&level.new);
        let mut x = a.next().transpose().map_err(bad(old))?;
        let mut y = b.next().transpose().map_err(bad(new))?;
        let prefix = self.path.len();
        // Entries borrow the level's buffers, which stay put while deeper
        // levels use their own.
        loop {
            let order = match (&x, &y) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(e), Some(f)) => name_order(e.name, e.is_tree(), f.name, f.is_tree()),
            };
            match order {
                std::cmp::Ordering::Less => {
                    let Some(e) = x else { break };
                    self.entry_gone_or_new(e, true, prefix, depth)?;
                    x = a.next().transpose().map_err(bad(old))?;
                }
                std::cmp::Ordering::Greater => {
                    let Some(f) = y else { break };
                    self.entry_gone_or_new(f, false, prefix, depth)?;
                    y = b.next().transpose().map_err(bad(new))?;
                }
                std::cmp::Ordering::Equal => {
                    let (Some(e), Some(f)) = (x, y) else { break };
                    if e.oid != f.oid || e.mode != f.mode {
                        self.path.truncate(prefix);
                        self.path.extend_from_slice(e.name);
                        if e.is_tree() {
                            self.path.push(b'/');
                            self.diff_trees(Some(e.oid), Some(f.oid), depth + 1)?;
                        } else {
                            let path = self.intern(&self.path.clone());
                            self.raw.push(RawChange {
                                path,
                                old: Some((e.oid, e.mode)),
                                new: Some((f.oid, f.mode)),
                            });
                        }
                    }
                    x = a.next().transpose().map_err(bad(old))?;
                    y = b.next().transpose().map_err(bad(new))?;
                }
            }
        }
        self.path.truncate(prefix);
        Ok(())
    }

    /// An entry only one side has: deleted (`old`) or added.
    fn entry_gone_or_new(
        &mut self,
        e: Entry<'_>,
        old: bool,
        prefix: usize,
        depth: usize,
    ) -> Result<(), Error> {
        self.path.truncate(prefix);
        self.path.extend_from_slice(e.name);
        if e.is_tree() {
            self.path.push(b'/');
            if old {
                self.diff_trees(Some(e.oid), None, depth + 1)
            } else {
                self.diff_trees(None, Some(e.oid), depth + 1)
            }
        } else {
            let path = self.intern(&self.path.clone());
            let side = Some((e.oid, e.mode));
            self.raw.push(RawChange {
                path,
                old: if old { side } else { None },
                new: if old { None } else { side },
            });
            Ok(())
        }
    }
}

/// The mode as git compares it (`canon_mode`): old repositories hold
/// files with modes such as `100664`, which git reads as `100644`.
fn canonical_mode(mode: u32) -> u32 {
    match mode & 0o170000 {
        0o100000 if mode & 0o100 != 0 => 0o100755,
        0o100000 => 0o100644,
        0o120000 => 0o120000,
        0o040000 => 0o040000,
        _ => 0o160000,
    }
}

fn is_gitlink(mode: u32) -> bool {
    mode & 0o170000 == 0o160000
}

/// git's tree order: names compared bytewise, a tree's name as if it ended
/// with `/`.
fn name_order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> std::cmp::Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        std::cmp::Ordering::Equal => {}
        other => return other,
    }
    let end = |name: &[u8], tree: bool| match name.get(common) {
        Some(&c) => c,
        None if tree => b'/',
        None => 0,
    };
    end(a, a_tree).cmp(&end(b, b_tree))
}

/// One entry of a raw tree object.
#[derive(Clone, Copy)]
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    oid: ObjectId,
}

impl Entry<'_> {
    fn is_tree(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

/// Iterates a raw tree object: `<octal mode> <name>\0<20-byte id>` entries.
struct TreeEntries<'a> {
    data: &'a [u8],
}

impl<'a> TreeEntries<'a> {
    fn new(data: &'a [u8]) -> Self {
        TreeEntries { data }
    }
}

impl<'a> Iterator for TreeEntries<'a> {
    type Item = Result<Entry<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let parse = || -> Result<(Entry<'a>, &'a [u8]), String> {
            let space = memchr::memchr(b' ', self.data).ok_or("an entry without a mode")?;
            let mut mode = 0u32;
            for &d in &self.data[..space] {
                if !(b'0'..=b'7').contains(&d) {
                    return Err("a mode that is not octal".to_owned());
                }
                mode = (mode << 3) | u32::from(d - b'0');
            }
            let rest = &self.data[space + 1..];
            let nul = memchr::memchr(0, rest).ok_or("an entry without a name end")?;
            let name = &rest[..nul];
            let id = rest.get(nul + 1..nul + 21).ok_or("an entry cut short")?;
            let oid = ObjectId::try_from(id).map_err(|_| "a bad object id".to_owned())?;
            Ok((
                Entry {
                    mode: canonical_mode(mode),
                    name,
                    oid,
                },
                &rest[nul + 21..],
            ))
        };
        match parse() {
            Ok((entry, rest)) => {
                self.data = rest;
                Some(Ok(entry))
            }
            Err(e) => {
                self.data = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_git_counts_them() {
        let cases: &[(&[u8], u32)] = &[
            (b"", 0),
            (b"a", 1),
            (b"a\n", 1),
            (b"a\nb", 2),
            (b"\n\n", 2),
            (b"a\r\nb\r\n", 2),
        ];
        for (data, expected) in cases {
            assert_eq!(count_lines(data), *expected, "{data:?}");
        }
    }

    #[test]
    fn binary_means_a_nul_in_the_first_8000_bytes() {
        assert!(is_binary(b"a\0b"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'x'; FIRST_FEW_BYTES];
        late.push(0);
        assert!(!is_binary(&late), "a NUL after 8,000 bytes does not count");
        late[FIRST_FEW_BYTES - 1] = 0;
        assert!(is_binary(&late));
    }

    #[test]
    fn tree_order_puts_a_directory_after_its_name_with_a_dot() {
        use std::cmp::Ordering::*;
        assert_eq!(name_order(b"a.txt", false, b"a", true), Less);
        assert_eq!(name_order(b"a", true, b"a-b", false), Greater);
        assert_eq!(name_order(b"a", false, b"a", true), Less);
        assert_eq!(name_order(b"a", true, b"a", true), Equal);
        assert_eq!(name_order(b"b", false, b"a", false), Greater);
    }

    #[test]
    fn identities_split_into_name_and_email() {
        assert_eq!(
            split_identity(b"Ada Lovelace <ada@example.com>"),
            (&b"Ada Lovelace"[..], &b"ada@example.com"[..])
        );
        assert_eq!(split_identity(b"<x@y>"), (&b""[..], &b"x@y"[..]));
        assert_eq!(split_identity(b"nobody"), (&b"nobody"[..], &b""[..]));
    }

    #[test]
    fn headers_parse() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0123456789abcdef0123456789abcdef01234567\nauthor Ada <ada@x> 5 +0000\ncommitter Bo <bo@x> 6 +0000\n\nmsg\n";
        let h = Header::parse(raw).expect("parses");
        assert_eq!(h.parents.len(), 1);
        assert_eq!(&h.identity[..], b"Ada <ada@x>");
        assert_eq!((h.author_time, h.committer_time), (5, 6));
        assert!(Header::parse(b"author Ada <a> 5 +0000\ncommitter B <b> 6 +0000\n\n").is_err());
    }
}
