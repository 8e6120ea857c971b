//! The clone graph: which commits of a git clone, when one is given,
//! contain which (reachability), and which repositories the clone holds.

use std::collections::{BTreeSet, HashMap};

use nextneck_model::events::EventBody;
use nextneck_model::{CommitId, CommitIdx, History, TagTarget};

use super::TracedEvent;

/// A clone's commits, found by id, with their ancestors on demand.
pub(super) struct CloneGraph<'h> {
    history: &'h History,
    index: HashMap<CommitId, CommitIdx>,
    /// Ancestors (itself included) of a commit, as a bitset, on demand.
    reach: HashMap<CommitIdx, Vec<u64>>,
}

impl<'h> CloneGraph<'h> {
    pub(super) fn new(history: &'h History) -> CloneGraph<'h> {
        CloneGraph {
            history,
            index: history.index_by_id(),
            reach: HashMap::new(),
        }
    }

    pub(super) fn find(&self, sha: &str) -> Option<CommitIdx> {
        CommitId::from_hex(sha.as_bytes()).and_then(|id| self.index.get(&id).copied())
    }

    /// The commit (40 hex digits) a tag of the clone points at, when the
    /// clone has the tag and it peels to a commit.
    pub(super) fn tag_commit(&self, name: &str) -> Option<String> {
        self.history.tags.iter().find_map(|t| match t.target {
            TagTarget::Commit(x) if t.name == name => Some(self.history.commit(x).id.to_hex()),
            _ => None,
        })
    }

    /// Whether `descendant` reaches `ancestor` (or is it).
    pub(super) fn contains(&mut self, descendant: CommitIdx, ancestor: CommitIdx) -> bool {
        let n = self.history.commits.len();
        let history = self.history;
        let bits = self.reach.entry(descendant).or_insert_with(|| {
            let mut bits = vec![0u64; n.div_ceil(64)];
            let mut stack = vec![descendant];
            while let Some(c) = stack.pop() {
                let (w, b) = (c as usize / 64, c as usize % 64);
                if bits[w] & (1 << b) != 0 {
                    continue;
                }
                bits[w] |= 1 << b;
                stack.extend(history.commit(c).parents.iter().copied());
            }
            bits
        });
        let (w, b) = (ancestor as usize / 64, ancestor as usize % 64);
        bits.get(w).is_some_and(|word| word & (1 << b) != 0)
    }
}

/// Repositories the clone holds: those whose events name its commits
/// (a deployment's commit, a change's merge commit), in lower case.
pub(super) fn repositories(
    clone: Option<&CloneGraph<'_>>,
    events: &[TracedEvent<'_>],
) -> BTreeSet<String> {
    let mut repositories = BTreeSet::new();
    let Some(c) = clone else {
        return repositories;
    };
    for e in events {
        let (repo, sha) = match &e.event.body {
            EventBody::Deployment(d) => (d.repository.as_ref(), d.sha.as_ref()),
            EventBody::Change(ch) => (ch.repository.as_ref(), ch.merge_sha.as_ref()),
            _ => (None, None),
        };
        if let (Some(r), Some(s)) = (repo, sha)
            && c.find(s).is_some()
        {
            repositories.insert(r.to_lowercase());
        }
    }
    repositories
}
