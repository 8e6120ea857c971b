//! Decoding commits on the other cores while the walk runs.
//!
//! The walk is sequential: a commit's parents are known only once it is
//! decoded, and zlib inflation is most of the cost. But git writes packs with
//! all commits first, newest first, which is roughly the order the walk wants
//! them. So before the walk, the packs' commit regions are located (reading
//! only entry headers at the start of each pack), and while the walk runs,
//! helper threads decode those commits in pack order into slots. The walk
//! takes a decoded commit from its slot, or decodes it itself when no helper
//! got there first; it never waits for work that has not started.
//!
//! Anything this misses (loose objects, deltified commits, packs written in
//! another order) the walk reads through the object database as usual, so
//! the result never depends on the prefetch; only the speed does. Commits
//! decoded but unreachable (other refs) cost a helper's time, not the walk's.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use gix::ObjectId;
use gix::hashtable::HashMap;
use gix::odb::pack;

const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// Stop scanning a pack for commits after this many entries in a row that
/// are neither commits nor tags: git writes commits first, then tags, then
/// trees and blobs.
const MAX_MISSES: usize = 4096;

struct Slot<T> {
    bundle: usize,
    entry: pack::data::Entry,
    state: AtomicU8,
    value: Mutex<Option<T>>,
}

/// Packed commits, decoded (by `parse`, into a `T`) by whoever gets to
/// them first.
pub(crate) struct Prefetch<T> {
    bundles: Vec<pack::Bundle>,
    slots: Vec<Slot<T>>,
    parse: fn(&[u8]) -> Option<T>,
    by_id: HashMap<ObjectId, usize>,
    cursor: AtomicUsize,
    stop: AtomicBool,
}

impl<T: Send> Prefetch<T> {
    /// Locates the commits in the repository's packs. Unreadable packs are
    /// skipped (the walk reads through them itself).
    pub(crate) fn new(repo: &gix::Repository, parse: fn(&[u8]) -> Option<T>) -> Prefetch<T> {
        let mut prefetch = Prefetch {
            bundles: Vec::new(),
            slots: Vec::new(),
            parse,
            by_id: HashMap::default(),
            cursor: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        };
        let pack_dir = repo.common_dir().join("objects").join("pack");
        let Ok(entries) = std::fs::read_dir(&pack_dir) else {
            return prefetch;
        };
        let mut idx_paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx_paths.sort();
        for path in idx_paths {
            let Ok(bundle) = pack::Bundle::at(&path, repo.object_hash()) else {
                continue;
            };
            let b = prefetch.bundles.len();
            let first_slot = prefetch.slots.len();
            let mut misses = 0;
            for offset in bundle.index.sorted_offsets() {
                let Ok(entry) = bundle.pack.entry(offset) else {
                    break;
                };
                match entry.header {
                    pack::data::entry::Header::Commit => {
                        misses = 0;
                        prefetch.slots.push(Slot {
                            bundle: b,
                            entry,
                            state: AtomicU8::new(FREE),
                            value: Mutex::new(None),
                        });
                    }
                    pack::data::entry::Header::Tag => {}
                    _ => {
                        misses += 1;
                        if misses > MAX_MISSES {
                            break;
                        }
                    }
                }
            }
            if prefetch.slots.len() > first_slot {
                let mut slot_of: std::collections::HashMap<u64, usize> =
                    std::collections::HashMap::new();
                for (i, slot) in prefetch.slots[first_slot..].iter().enumerate() {
                    slot_of.insert(slot.entry.pack_offset(), first_slot + i);
                }
                for entry in bundle.index.iter() {
                    if let Some(&slot) = slot_of.get(&entry.pack_offset) {
                        prefetch.by_id.insert(entry.oid, slot);
                    }
                }
            }
            prefetch.bundles.push(bundle);
        }
        prefetch
    }

    /// A prefetch with nothing to decode: every `take` misses.
    pub(crate) fn empty(parse: fn(&[u8]) -> Option<T>) -> Prefetch<T> {
        Prefetch {
            bundles: Vec::new(),
            slots: Vec::new(),
            parse,
            by_id: HashMap::default(),
            cursor: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }

    /// True when there is nothing to prefetch.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// A helper thread's loop: decode free slots in pack order until all are
    /// claimed or [`Prefetch::finish`] is called.
    pub(crate) fn help(&self) {
        let mut inflate = gix::zlib::Inflate::default();
        let mut buf = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            let i = self.cursor.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.slots.get(i) else {
                return;
            };
            if slot
                .state
                .compare_exchange(FREE, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            let decoded = self.decode(slot, &mut inflate, &mut buf);
            if let Ok(mut value) = slot.value.lock() {
                *value = decoded;
            }
            slot.state.store(DONE, Ordering::Release);
        }
    }

    /// Tells the helpers to stop.
    pub(crate) fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The decoded commit `id`: taken from its slot, or decoded here when no
    /// helper has started on it. `None` when `id` is not a prefetchable
    /// commit or did not decode (the caller then reads it the usual way).
    pub(crate) fn take(
        &self,
        id: &ObjectId,
        inflate: &mut gix::zlib::Inflate,
        buf: &mut Vec<u8>,
    ) -> Option<T> {
        let slot = &self.slots[*self.by_id.get(id)?];
        loop {
            match slot
                .state
                .compare_exchange(FREE, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let decoded = self.decode(slot, inflate, buf);
                    slot.state.store(DONE, Ordering::Release);
                    return decoded;
                }
                Err(DONE) => return slot.value.lock().ok()?.take(),
                // A helper is decoding it right now: a few microseconds.
                Err(_) => std::thread::yield_now(),
            }
        }
    }

    fn decode(
        &self,
        slot: &Slot<T>,
        inflate: &mut gix::zlib::Inflate,
        buf: &mut Vec<u8>,
    ) -> Option<T> {
        let size = usize::try_from(slot.entry.decompressed_size).ok()?;
        buf.resize(size, 0);
        self.bundles[slot.bundle]
            .pack
            .decompress_entry(&slot.entry, inflate, buf)
            .ok()?;
        (self.parse)(buf)
    }
}
