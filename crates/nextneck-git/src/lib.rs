//! Reads a git repository into nextneck's [`History`] with gix.
//!
//! This crate is the only one that knows git's storage: it discovers the
//! repository (work trees, bare repositories and linked worktrees alike),
//! lists its tags and branches, and walks every commit reachable from them,
//! keeping only what the metrics need (parents, author and committer times,
//! the subject, and the commits the message says it reverts). It reads no
//! trees and computes no diffs, so the walk costs about what
//! `git log --format='%H %P %at %ct'` costs.
//!
//! When the repository holds pull or merge request refs
//! (`refs/pull/N/head`, `refs/merge-requests/N/head`), it also reads, for
//! each request a commit message names (or whose head is in the history),
//! the author times of the head's commits outside the history: a walk that
//! stops where it meets the history, at most
//! [`nextneck_model::REQUEST_COMMIT_LIMIT`] commits per request.
//!
//! It does not decide what a deployment is; that is a metric definition and
//! lives in `nextneck-metrics`.
//!
//! [`changes`] reads what each commit changed, file by file (for
//! `nextneck code`): that one does read trees and compute diffs, on every
//! core, and keeps what it computed in an on-disk cache.

use std::path::{Path, PathBuf};

mod cache;
pub mod changes;
mod header;
mod objects;
mod prefetch;

use gix::ObjectId;
use gix::hashtable::HashMap;
use nextneck_model::{
    Branch, Commit, CommitId, CommitIdx, History, REQUEST_COMMIT_LIMIT, Request, RequestKind,
    RequestRef, Tag, TagTarget, Timestamp,
};

/// Why a repository could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path is not inside a git repository.
    #[error("{path}: not a git repository (or any parent); pass the path of a clone")]
    NotARepository {
        /// The path the user gave.
        path: PathBuf,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The repository has no commit reachable from `HEAD`, a branch or a tag.
    #[error(
        "{path}: the repository has no commits yet; commit something or pass another repository"
    )]
    Empty {
        /// The repository's path.
        path: PathBuf,
    },
    /// A branch the caller asked for does not exist.
    #[error("branch `{name}` not found in {path}; branches here: {available}")]
    BranchNotFound {
        /// The name asked for.
        name: String,
        /// The repository's path.
        path: PathBuf,
        /// The local branches, comma separated.
        available: String,
    },
    /// A branch the caller asked for points at something other than a commit.
    #[error("`{name}` in {path} does not point at a commit")]
    BranchNotACommit {
        /// The name asked for.
        name: String,
        /// The repository's path.
        path: PathBuf,
    },
    /// A commit object could not be read or parsed.
    #[error("commit {id}: {reason}; the repository may be corrupt (try `git fsck`)")]
    BadCommit {
        /// The commit's id.
        id: String,
        /// What was wrong.
        reason: String,
    },
    /// A tree or blob could not be read (`nextneck code`).
    #[error(
        "object {id}: {reason}; the repository may be corrupt (try `git fsck`), or a partial clone (made with --filter) that lacks it: use a full clone"
    )]
    BadObject {
        /// The object's id.
        id: String,
        /// What was wrong.
        reason: String,
    },
    /// Any other failure while reading objects or references.
    #[error("{path}: could not read {what}")]
    Read {
        /// The repository's path.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
}

/// What to load besides `HEAD`, local branches and tags.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Branches to resolve and include (for example the deployment branch).
    /// A name is looked up as git would (`main`, `heads/main`,
    /// `origin/main`, `refs/remotes/origin/main`), then as `origin/NAME`.
    pub branches: Vec<String>,
}

/// Progress of the commit walk, reported to a caller-supplied sink.
pub trait Progress {
    /// Called every few thousand commits with the number read so far.
    fn commits_read(&mut self, count: usize);

    /// Called as commits are diffed (`nextneck code`), with the number done
    /// and the number to do.
    fn commits_diffed(&mut self, _done: usize, _total: usize) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn commits_read(&mut self, _count: usize) {}
}

/// Opens the repository at or above `path` and loads its history.
pub fn load(
    path: &Path,
    options: &LoadOptions,
    progress: &mut dyn Progress,
) -> Result<History, Error> {
    let repo = gix::discover(path).map_err(|source| Error::NotARepository {
        path: path.to_owned(),
        source,
    })?;
    let display_path = repo.git_dir().to_owned();
    let shallow = repo
        .is_shallow()
        .map_err(read_err(&display_path, "the shallow file"))?;
    let mut loader = Loader::new(&repo);
    let platform = repo
        .references()
        .map_err(read_err(&display_path, "references"))?;
    let tags = read_tags(&platform, &mut loader, &display_path)?;
    let branches = read_branches(&platform, &mut loader, options, &display_path)?;
    let head = match repo.head_id().ok().map(|id| id.detach()) {
        Some(id) if loader.is_commit(id)? => Some(id),
        _ => None,
    };
    let mut tips: Vec<ObjectId> = Vec::new();
    tips.extend(head);
    tips.extend(branches.iter().map(|(_, id)| *id));
    tips.extend(tags.iter().filter_map(|(_, t, _)| *t));
    walk_from(&repo, &mut loader, tips, progress)?;
    if loader.commits.is_empty() {
        return Err(Error::Empty { path: display_path });
    }
    let raw_requests = request_refs(&repo, &display_path)?;
    let history = assemble(loader, tags, branches, head, shallow, raw_requests)?;
    debug_assert_eq!(history.validate(), Ok(()));
    Ok(history)
}

/// A tag: its name, the commit it finally points at, its tagger time.
type RawTag = (String, Option<ObjectId>, Option<Timestamp>);

/// What a failed read of `what` in the repository at `path` is.
fn read_err(path: &Path, what: &str) -> impl FnOnce(gix::Error) -> Error {
    let (path, what) = (path.to_owned(), what.to_owned());
    move |source| Error::Read { path, what, source }
}

/// The tags, peeled to what they finally point at.
fn read_tags(
    platform: &gix::reference::iter::Platform<'_>,
    loader: &mut Loader<'_>,
    path: &Path,
) -> Result<Vec<RawTag>, Error> {
    let mut tags = Vec::new();
    for reference in platform.tags().map_err(read_err(path, "tags"))? {
        let mut reference = reference.map_err(read_err(path, "a tag reference"))?;
        let name = String::from_utf8_lossy(reference.name().shorten()).into_owned();
        let Ok(id) = reference.follow_to_object() else {
            tags.push((name, None, None));
            continue;
        };
        let (target, tagger_time) = loader.peel_tag(id.detach())?;
        tags.push((name, target, tagger_time));
    }
    Ok(tags)
}

/// The local branches that point at commits, and the branches `options`
/// asks for (found among the remote ones when not local).
fn read_branches(
    platform: &gix::reference::iter::Platform<'_>,
    loader: &mut Loader<'_>,
    options: &LoadOptions,
    path: &Path,
) -> Result<Vec<(String, ObjectId)>, Error> {
    let mut branches = Vec::new();
    for reference in platform
        .local_branches()
        .map_err(read_err(path, "branches"))?
    {
        let mut reference = reference.map_err(read_err(path, "a branch reference"))?;
        let name = String::from_utf8_lossy(reference.name().shorten()).into_owned();
        if let Ok(id) = reference.peel_to_id()
            && loader.is_commit(id.detach())?
        {
            branches.push((name, id.detach()));
        }
    }
    for wanted in &options.branches {
        if branches.iter().any(|(name, _)| name == wanted) {
            continue;
        }
        let id = resolve_branch(loader.repo, wanted).ok_or_else(|| Error::BranchNotFound {
            name: wanted.clone(),
            path: path.to_owned(),
            available: list_or_none(branches.iter().map(|(n, _)| n.as_str())),
        })?;
        if !loader.is_commit(id)? {
            return Err(Error::BranchNotACommit {
                name: wanted.clone(),
                path: path.to_owned(),
            });
        }
        branches.push((wanted.clone(), id));
    }
    Ok(branches)
}

/// Walks everything reachable from `tips`, with helper threads reading
/// and parsing the commits ahead of the walk.
fn walk_from(
    repo: &gix::Repository,
    loader: &mut Loader<'_>,
    tips: Vec<ObjectId>,
    progress: &mut dyn Progress,
) -> Result<(), Error> {
    let prefetch = prefetch::Prefetch::new(repo, |data| OwnedCommit::parse(data).ok());
    let helpers = if prefetch.is_empty() {
        0
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(2, 8)
            - 1
    };
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|| prefetch.help());
        }
        let walked = loader.walk(tips, &prefetch, progress);
        prefetch.finish();
        walked
    })
}

/// The history: the walked commits, with tags, branches, head and the
/// requests' refs translated to commit indices.
fn assemble(
    mut loader: Loader<'_>,
    tags: Vec<RawTag>,
    branches: Vec<(String, ObjectId)>,
    head: Option<ObjectId>,
    shallow: bool,
    raw_requests: Vec<RawRequest>,
) -> Result<History, Error> {
    let index = &loader.index;
    let idx = |id: &ObjectId| index.get(id).copied();
    let tags = tags
        .into_iter()
        .map(|(name, target, tagger_time)| Tag {
            name,
            target: target
                .and_then(|t| idx(&t))
                .map_or(TagTarget::NotACommit, TagTarget::Commit),
            tagger_time,
        })
        .collect();
    let branches = branches
        .into_iter()
        .filter_map(|(name, id)| idx(&id).map(|tip| Branch { name, tip }))
        .collect();
    let head = head.and_then(|id| idx(&id));
    let request_refs = raw_requests
        .iter()
        .filter(|(_, head, _)| head.is_some())
        .count();
    let requests = loader.requests(raw_requests)?;
    let missing_parents = loader.link_parents();
    Ok(History {
        commits: loader.commits,
        tags,
        branches,
        head,
        shallow: shallow || missing_parents > 0,
        mentions: loader.mentions,
        request_refs,
        requests,
    })
}

/// A request's refs: which request, its head and its merge commit.
type RawRequest = (RequestRef, Option<ObjectId>, Option<ObjectId>);

/// Every `refs/pull/N/{head,merge}` and `refs/merge-requests/N/{head,merge}`,
/// one entry per request, in order.
fn request_refs(repo: &gix::Repository, path: &Path) -> Result<Vec<RawRequest>, Error> {
    let read_err = |source: gix::Error| Error::Read {
        path: path.to_owned(),
        what: "pull and merge request refs".to_owned(),
        source,
    };
    let platform = repo.references().map_err(read_err)?;
    let mut by_request: std::collections::BTreeMap<
        RequestRef,
        (Option<ObjectId>, Option<ObjectId>),
    > = std::collections::BTreeMap::new();
    for (prefix, kind) in [
        ("refs/pull/", RequestKind::Pull),
        ("refs/merge-requests/", RequestKind::MergeRequest),
    ] {
        let iter = platform.prefixed(prefix).map_err(read_err)?;
        for reference in iter {
            let reference = reference.map_err(read_err)?;
            let name = reference.name().as_bstr().to_vec();
            let Some((number, which)) = parse_request_ref(&name[prefix.len()..]) else {
                continue;
            };
            let Some(id) = reference.target().try_id().map(|id| id.to_owned()) else {
                continue;
            };
            let entry = by_request.entry(RequestRef { kind, number }).or_default();
            match which {
                RefPart::Head => entry.0 = Some(id),
                RefPart::Merge => entry.1 = Some(id),
            }
        }
    }
    Ok(by_request
        .into_iter()
        .map(|(request, (head, merge))| (request, head, merge))
        .collect())
}

enum RefPart {
    Head,
    Merge,
}

/// `123/head` or `123/merge`, the part of a request ref after its prefix.
fn parse_request_ref(rest: &[u8]) -> Option<(u64, RefPart)> {
    let slash = rest.iter().position(|&b| b == b'/')?;
    let number = std::str::from_utf8(&rest[..slash]).ok()?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.parse().ok()?;
    match &rest[slash + 1..] {
        b"head" => Some((number, RefPart::Head)),
        b"merge" => Some((number, RefPart::Merge)),
        _ => None,
    }
}

fn list_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn resolve_branch(repo: &gix::Repository, name: &str) -> Option<ObjectId> {
    let candidates = [name.to_owned(), format!("origin/{name}")];
    candidates.iter().find_map(|candidate| {
        let mut reference = repo.try_find_reference(candidate.as_str()).ok()??;
        reference.peel_to_id().ok().map(|id| id.detach())
    })
}

struct Loader<'r> {
    repo: &'r gix::Repository,
    buf: Vec<u8>,
    index: HashMap<ObjectId, CommitIdx>,
    commits: Vec<Commit>,
    /// Parent ids of each commit, resolved to indices after the walk.
    parent_ids: Vec<Vec<ObjectId>>,
    inflate: gix::zlib::Inflate,
    /// Commits whose message names a request as its merge does.
    mentions: Vec<(CommitIdx, RequestRef)>,
}

impl<'r> Loader<'r> {
    fn new(repo: &'r gix::Repository) -> Self {
        Loader {
            repo,
            buf: Vec::with_capacity(4096),
            index: HashMap::default(),
            commits: Vec::new(),
            parent_ids: Vec::new(),
            inflate: gix::zlib::Inflate::default(),
            mentions: Vec::new(),
        }
    }

    /// The requests the history can be linked to (a commit mentions them,
    /// or their head or merge commit is in the history), each with the
    /// commits of its head that are outside the history. Each outside
    /// commit is read once, however many requests reach it.
    fn requests(&mut self, raw: Vec<RawRequest>) -> Result<Vec<Request>, Error> {
        let mentioned: std::collections::HashSet<RequestRef> =
            self.mentions.iter().map(|(_, r)| *r).collect();
        let mut outside: HashMap<ObjectId, (Timestamp, Vec<ObjectId>)> = HashMap::default();
        let mut out = Vec::new();
        for (request, head, merge) in raw {
            let Some(head) = head else { continue };
            let head_commit = self.index.get(&head).copied();
            let merge_commit = merge.and_then(|m| self.index.get(&m).copied());
            if head_commit.is_none() && merge_commit.is_none() && !mentioned.contains(&request) {
                continue;
            }
            let mut found = Request {
                request,
                head: to_commit_id(&head),
                head_commit,
                merge_commit,
                outside_author_times: Vec::new(),
                entries: Vec::new(),
                truncated: false,
            };
            let mut seen: std::collections::HashSet<ObjectId> = std::collections::HashSet::new();
            let mut stack = vec![head];
            while let Some(id) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                if let Some(&idx) = self.index.get(&id) {
                    found.entries.push(idx);
                    continue;
                }
                if found.outside_author_times.len() == REQUEST_COMMIT_LIMIT {
                    found.truncated = true;
                    break;
                }
                if !outside.contains_key(&id) {
                    let Some(data) = find(self.repo, &id, &mut self.buf)? else {
                        continue;
                    };
                    if data.kind != gix::object::Kind::Commit {
                        continue;
                    }
                    let parsed = parse_commit(data.data).map_err(|reason| Error::BadCommit {
                        id: id.to_string(),
                        reason,
                    })?;
                    outside.insert(id, (parsed.author_time, parsed.parents));
                }
                if let Some((time, parents)) = outside.get(&id) {
                    found.outside_author_times.push(*time);
                    stack.extend(parents.iter().copied());
                }
            }
            found.entries.sort_unstable();
            out.push(found);
        }
        Ok(out)
    }

    fn is_commit(&mut self, id: ObjectId) -> Result<bool, Error> {
        let found = find(self.repo, &id, &mut self.buf)?;
        Ok(found.is_some_and(|d| d.kind == gix::object::Kind::Commit))
    }

    /// Follows a tag reference's object through annotated tags. Returns the
    /// commit it ends at (if any) and the first annotated tag's tagger time.
    fn peel_tag(
        &mut self,
        mut id: ObjectId,
    ) -> Result<(Option<ObjectId>, Option<Timestamp>), Error> {
        let mut tagger_time = None;
        for depth in 0..32 {
            let found = find(self.repo, &id, &mut self.buf)?;
            let Some(data) = found else {
                return Ok((None, tagger_time));
            };
            match data.kind {
                gix::object::Kind::Commit => return Ok((Some(id), tagger_time)),
                gix::object::Kind::Tag => {
                    let tag = gix::objs::TagRef::from_bytes(data.data, data.object_hash).map_err(
                        |e| Error::BadCommit {
                            id: id.to_string(),
                            reason: format!("unreadable tag object: {e}"),
                        },
                    )?;
                    if depth == 0 {
                        tagger_time = tag.tagger.and_then(|raw| header::signature_time(raw).ok());
                    }
                    id = tag.target();
                }
                _ => return Ok((None, tagger_time)),
            }
        }
        Ok((None, tagger_time))
    }

    fn walk(
        &mut self,
        tips: Vec<ObjectId>,
        prefetch: &prefetch::Prefetch<OwnedCommit>,
        progress: &mut dyn Progress,
    ) -> Result<(), Error> {
        let mut stack = tips;
        while let Some(id) = stack.pop() {
            if self.index.contains_key(&id) {
                continue;
            }
            let owned = match prefetch.take(&id, &mut self.inflate, &mut self.buf) {
                Some(owned) => owned,
                None => {
                    let Some(data) = find(self.repo, &id, &mut self.buf)? else {
                        // A parent beyond a shallow boundary or a partial clone.
                        continue;
                    };
                    if data.kind != gix::object::Kind::Commit {
                        continue;
                    }
                    OwnedCommit::parse(data.data).map_err(|reason| Error::BadCommit {
                        id: id.to_string(),
                        reason,
                    })?
                }
            };
            let idx = self.commits.len() as CommitIdx;
            self.index.insert(id, idx);
            if let Some(mention) = owned.mention {
                self.mentions.push((idx, mention));
            }
            stack.extend(owned.parents.iter().rev().copied());
            self.commits.push(Commit {
                id: to_commit_id(&id),
                parents: Vec::new(),
                parent_count: owned.parents.len() as u32,
                author_time: owned.author_time,
                committer_time: owned.committer_time,
                subject: owned.subject,
                reverts: owned.reverts,
            });
            self.parent_ids.push(owned.parents);
            if self.commits.len().is_multiple_of(4096) {
                progress.commits_read(self.commits.len());
            }
        }
        progress.commits_read(self.commits.len());
        Ok(())
    }

    /// Resolves parent ids to indices; returns how many were missing.
    fn link_parents(&mut self) -> usize {
        let mut missing = 0;
        for (commit, ids) in self.commits.iter_mut().zip(self.parent_ids.drain(..)) {
            commit.parents = ids
                .iter()
                .filter_map(|id| {
                    let found = self.index.get(id).copied();
                    missing += usize::from(found.is_none());
                    found
                })
                .collect();
        }
        missing
    }
}

fn find<'b>(
    repo: &gix::Repository,
    id: &ObjectId,
    buf: &'b mut Vec<u8>,
) -> Result<Option<gix::objs::Data<'b>>, Error> {
    use gix::prelude::Find;
    repo.objects
        .try_find(id, buf)
        .map_err(|source| Error::Read {
            path: repo.git_dir().to_owned(),
            what: format!("object {id}"),
            source,
        })
}

fn to_commit_id(id: &ObjectId) -> CommitId {
    let mut out = [0u8; 20];
    let bytes = id.as_slice();
    let n = bytes.len().min(20);
    out[..n].copy_from_slice(&bytes[..n]);
    CommitId(out)
}

/// A parsed commit that owns its parts, so it can cross threads.
struct OwnedCommit {
    parents: Vec<ObjectId>,
    author_time: Timestamp,
    committer_time: Timestamp,
    subject: Box<str>,
    reverts: Vec<CommitId>,
    mention: Option<RequestRef>,
}

impl OwnedCommit {
    fn parse(data: &[u8]) -> Result<OwnedCommit, String> {
        let p = parse_commit(data)?;
        Ok(OwnedCommit {
            reverts: nextneck_model::parse_reverts(p.message),
            mention: nextneck_model::parse_request_mention(p.message),
            parents: p.parents,
            author_time: p.author_time,
            committer_time: p.committer_time,
            subject: p.subject.into(),
        })
    }
}

/// The parts of a commit object the metrics need.
#[derive(Debug, PartialEq, Eq)]
struct ParsedCommit<'a> {
    parents: Vec<ObjectId>,
    author_time: Timestamp,
    committer_time: Timestamp,
    subject: String,
    message: &'a [u8],
}

/// Parses a raw commit object ([`header::parse_commit`]) and takes its
/// subject, the message's first line.
fn parse_commit(data: &[u8]) -> Result<ParsedCommit<'_>, String> {
    let header = header::parse_commit(data, false)?;
    let message = header.message;
    let first_line = message.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    Ok(ParsedCommit {
        parents: header.parents,
        author_time: header.author_time,
        committer_time: header.committer_time,
        subject: String::from_utf8_lossy(first_line).into_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<(usize, i64, i64, &str, &str), &str>) {
        let got = parse_commit(raw.as_bytes()).map(|p| {
            (
                p.parents.len(),
                p.author_time,
                p.committer_time,
                p.subject,
                String::from_utf8_lossy(p.message).into_owned(),
            )
        });
        let expected = expected
            .map(|(n, a, c, s, m)| (n, a, c, s.to_owned(), m.to_owned()))
            .map_err(str::to_owned);
        assert_eq!(got, expected, "input: {raw:?}");
    }

    const TREE: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
    const P1: &str = "parent 0123456789abcdef0123456789abcdef01234567\n";
    const P2: &str = "parent 89abcdef0123456789abcdef0123456789abcdef\n";

    #[test]
    fn commit_headers_and_message() {
        check(
            &format!(
                "{TREE}{P1}{P2}author A U <a@x> 1700000000 +0100\ncommitter C <c@x> 1700000100 -0500\n\nSubject line\n\nbody\n"
            ),
            Ok((
                2,
                1_700_000_000,
                1_700_000_100,
                "Subject line",
                "Subject line\n\nbody\n",
            )),
        );
        check(
            &format!(
                "{TREE}author A <a@x> 5 +0000\ncommitter C <c@x> 6 +0000\ngpgsig -----BEGIN\n line\n -----END\n\nsigned\r\n"
            ),
            Ok((0, 5, 6, "signed", "signed\r\n")),
        );
        // No message at all.
        check(
            &format!("{TREE}author A <a@x> 5 +0000\ncommitter C <c@x> 6 +0000\n"),
            Ok((0, 5, 6, "", "")),
        );
        // A name containing `>` still finds the time after the last one.
        check(
            &format!("{TREE}author A <b> <a@x> 7 +0000\ncommitter C <c@x> 8 +0000\n\nx"),
            Ok((0, 7, 8, "x", "x")),
        );
    }

    #[test]
    fn broken_commits_say_what_is_wrong() {
        check(
            &format!("{TREE}committer C <c@x> 6 +0000\n\nx"),
            Err("no author line"),
        );
        check(
            &format!("{TREE}author A <a@x> soon +0000\ncommitter C <c@x> 6 +0000\n\nx"),
            Err("author line: unreadable time `soon`"),
        );
        check(
            &format!("{TREE}parent 12\nauthor A <a@x> 5 +0000\ncommitter C <c@x> 6 +0000\n\nx"),
            Err("bad parent line `parent 12`"),
        );
    }
}
