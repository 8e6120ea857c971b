//! Event logs of any value stream: which item (case) was where (stage or
//! activity) when.
//!
//! A source (CSV, NDJSON or XES files today, webhooks later) turns its rows
//! into [`Event`]s; the metrics decide what they mean (the transitions or the
//! activities model). The types are compact so that ten million events fit
//! in a few hundred MiB: case ids and stage names are interned into
//! [`Names`] and referred to by `u32` index, times are whole seconds.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::Timestamp;

/// Index of a name in [`EventLog::cases`].
pub type CaseIdx = u32;
/// Index of a name in [`EventLog::stages`].
pub type StageIdx = u32;

/// "No time" in [`Event::start`] and [`Event::time`].
pub const NO_TIME: Timestamp = i64::MIN;
/// "No name" in an index column such as [`EventLog::case_types`].
pub const NO_NAME: u32 = u32::MAX;

/// One row of an event log.
///
/// * A row of a transitions log (case, stage, time): `time` is when the
///   item entered the stage, `start` is [`NO_TIME`].
/// * A `start` lifecycle event: `start` is its time, `time` is [`NO_TIME`].
/// * A `complete` lifecycle event: `time` is its time, `start` is
///   [`NO_TIME`].
/// * A row with both a start and a complete time (one activity occurrence,
///   PM4Py's `start_timestamp` convention): both are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// When it started, or [`NO_TIME`].
    pub start: Timestamp,
    /// When it happened or completed, or [`NO_TIME`].
    pub time: Timestamp,
    /// The item.
    pub case: CaseIdx,
    /// The stage or activity.
    pub stage: StageIdx,
}

impl Event {
    /// The time used to order events: `time`, or `start` when there is none.
    pub fn at(&self) -> Timestamp {
        if self.time != NO_TIME {
            self.time
        } else {
            self.start
        }
    }
}

/// What the rows of a log say, as read from the file (not what the metrics
/// make of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The log has a lifecycle column (start/complete events).
    pub lifecycle: bool,
    /// The log has a start-time column (one row per occurrence).
    pub start_times: bool,
    /// At least one file was XES.
    pub xes: bool,
}

/// A file that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as given.
    pub path: String,
    /// Events read from it.
    pub events: usize,
    /// Rows skipped because their lifecycle was neither start nor complete
    /// (`schedule`, `suspend`, ...).
    pub skipped_lifecycle: usize,
}

/// A whole event log: every file read, in the order given.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    /// Case (item) ids.
    pub cases: Names,
    /// Stage or activity names.
    pub stages: Names,
    /// Item type names (from a `type` column).
    pub types: Names,
    /// Per case: its type in [`EventLog::types`], or [`NO_NAME`].
    pub case_types: Vec<u32>,
    /// The events in input order: files in the order given, rows in file
    /// order.
    pub events: Vec<Event>,
    /// What the rows say.
    pub shape: Shape,
    /// The files read.
    pub sources: Vec<SourceFile>,
}

impl EventLog {
    /// The newest time of any event (start or time), if any.
    pub fn newest(&self) -> Option<Timestamp> {
        self.events
            .iter()
            .map(|e| e.time.max(e.start))
            .filter(|&t| t != NO_TIME)
            .max()
    }

    /// The oldest time of any event, if any.
    pub fn oldest(&self) -> Option<Timestamp> {
        self.events
            .iter()
            .flat_map(|e| [e.start, e.time])
            .filter(|&t| t != NO_TIME)
            .min()
    }

    /// Sets the type of `case` (the first non-empty value wins).
    pub fn set_case_type(&mut self, case: CaseIdx, ty: u32) {
        let i = case as usize;
        if self.case_types.len() <= i {
            self.case_types.resize(i + 1, NO_NAME);
        }
        if self.case_types[i] == NO_NAME {
            self.case_types[i] = ty;
        }
    }
}

/// Interned strings: each distinct string is stored once and named by its
/// index, in order of first appearance.
#[derive(Clone, Default)]
pub struct Names {
    text: String,
    ends: Vec<usize>,
    /// Each name's hash, so that growing the table does not hash the text
    /// again. Lookups do not read it: the table's control bytes already
    /// hold 7 bits of the hash, and a lookup that finds its name (most do)
    /// would pay one more cache miss for it on a large table.
    hashes: Vec<u64>,
    table: HashTable<u32>,
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn hash(s: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6e65_7874_6e65_636b).hash_one(s)
}

impl Names {
    /// How many names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of all names together.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The bytes of the name at `idx` (cheaper than [`Names::get`], which
    /// checks that the range is on character boundaries). Panics when out
    /// of range.
    pub fn get_bytes(&self, idx: u32) -> &[u8] {
        bytes(&self.text, &self.ends, idx)
    }

    /// The name at `idx`. Panics when out of range.
    pub fn get(&self, idx: u32) -> &str {
        let i = idx as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// True when the name at `idx` is `name` (cheaper than comparing
    /// [`Names::get_bytes`]: no call for short names). Panics when out of
    /// range.
    pub fn is_at(&self, idx: u32, name: &[u8]) -> bool {
        same_bytes(bytes(&self.text, &self.ends, idx), name)
    }

    /// The index of `name`, if it was interned.
    pub fn find(&self, name: &str) -> Option<u32> {
        let h = hash(name.as_bytes());
        let Names {
            text, ends, table, ..
        } = self;
        table
            .find(h, |&i| same_bytes(bytes(text, ends, i), name.as_bytes()))
            .copied()
    }

    /// The index of `name`, interning it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        self.intern_hashed(name, hash(name.as_bytes()))
    }

    /// Like [`Names::intern`] for bytes; `None` when they are new and not
    /// UTF-8 (only new names are checked).
    pub fn intern_bytes(&mut self, name: &[u8]) -> Option<u32> {
        let h = hash(name);
        let Names {
            text, ends, table, ..
        } = self;
        if let Some(&i) = table.find(h, |&i| same_bytes(bytes(text, ends, i), name)) {
            return Some(i);
        }
        let name = std::str::from_utf8(name).ok()?;
        Some(self.intern_hashed(name, h))
    }

    /// The index in `self` of `other`'s name `idx`, interning it when new
    /// (reuses the hash `other` stored).
    pub fn intern_from(&mut self, other: &Names, idx: u32) -> u32 {
        self.intern_hashed(other.get(idx), other.hashes[idx as usize])
    }

    /// The index in `self` of every name of `other`, in order, interning the
    /// new ones ([`Names::intern_from`] of each).
    pub fn intern_all_from(&mut self, other: &Names) -> Vec<u32> {
        // How many names ahead the table is looked at: a large table's
        // lookups are cache misses, and looking where a later name will go
        // lets the processor wait for several at once.
        const AHEAD: usize = 16;
        let mut ids = Vec::with_capacity(other.len());
        for (i, &h) in other.hashes.iter().enumerate() {
            if let Some(&later) = other.hashes.get(i + AHEAD) {
                std::hint::black_box(self.table.find(later, |_| false).is_some());
            }
            ids.push(self.intern_hashed(other.get(i as u32), h));
        }
        ids
    }

    /// Forgets every name, keeping the memory.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.hashes.clear();
        self.table.clear();
    }

    /// Makes room for `names` more names of `bytes` bytes in all.
    pub fn reserve(&mut self, names: usize, bytes: usize) {
        self.text.reserve(bytes);
        self.ends.reserve(names);
        self.hashes.reserve(names);
        let hashes = &self.hashes;
        self.table.reserve(names, |&i| hashes[i as usize]);
    }

    fn intern_hashed(&mut self, name: &str, h: u64) -> u32 {
        let Names {
            text,
            ends,
            hashes,
            table,
        } = self;
        if let Some(&i) = table.find(h, |&i| same_bytes(bytes(text, ends, i), name.as_bytes())) {
            return i;
        }
        let idx = ends.len() as u32;
        text.push_str(name);
        ends.push(text.len());
        hashes.push(h);
        let hashes = &*hashes;
        table.insert_unique(h, idx, |&i| hashes[i as usize]);
        idx
    }

    /// Every name in index order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len() as u32).map(|i| self.get(i))
    }

    /// Bytes held (text and index), for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

fn bytes<'a>(text: &'a str, ends: &[usize], i: u32) -> &'a [u8] {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text.as_bytes()[start..ends[i]]
}

/// `a == b`, without a call into the C library for the short names most
/// logs have (case ids, stage names): a name is compared on every lookup,
/// and for names of up to 16 bytes two overlapping 8-byte loads per side
/// cost less than the call.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_share_a_prefix_or_a_length_stay_apart() {
        let long = "x".repeat(300);
        let names = [
            "",
            "a",
            "a\0",
            "abcdefghijk",
            "abcdefghijk1",
            "abcdefghijk2",
            "abcdefghijkl",
            &long[..255],
            &long[..256],
            &long,
        ];
        let mut n = Names::default();
        let ids: Vec<u32> = names.iter().map(|s| n.intern(s)).collect();
        assert_eq!(ids, (0..names.len() as u32).collect::<Vec<_>>());
        for (name, id) in names.iter().zip(&ids) {
            assert_eq!(n.find(name), Some(*id), "{name:?}");
            assert_eq!(n.intern_bytes(name.as_bytes()), Some(*id), "{name:?}");
            assert_eq!(n.get(*id), *name);
        }
        assert_eq!(n.find("abcdefghijk3"), None);
        assert_eq!(n.find(&long[..257]), None);
    }

    #[test]
    fn same_bytes_is_equality_at_every_length() {
        let base: Vec<u8> = (0u8..40).map(|b| b.wrapping_mul(37)).collect();
        for n in 0..40 {
            let a = &base[..n];
            assert!(same_bytes(a, a), "{n} bytes equal to themselves");
            assert!(
                !same_bytes(a, &base[..n + 1]),
                "{n} against {} bytes",
                n + 1
            );
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "{n} bytes differing at byte {at}");
            }
        }
    }

    #[test]
    fn names_are_interned_in_order_of_first_appearance() {
        let mut n = Names::default();
        assert_eq!(n.intern("b"), 0);
        assert_eq!(n.intern("a"), 1);
        assert_eq!(n.intern("b"), 0);
        assert_eq!(n.intern(""), 2);
        assert_eq!(n.len(), 3);
        assert_eq!(n.get(1), "a");
        assert_eq!(n.get(2), "");
        assert_eq!(n.find("a"), Some(1));
        assert_eq!(n.find("c"), None);
        assert_eq!(n.iter().collect::<Vec<_>>(), ["b", "a", ""]);
        for i in 0..10_000 {
            n.intern(&format!("case-{i}"));
        }
        assert_eq!(n.find("case-9999"), Some(10_002));
        let mut other = Names::default();
        other.intern("x");
        other.intern("case-17");
        other.intern("b");
        assert_eq!(n.intern_all_from(&other), [10_003, 20, 0]);
        n.clear();
        assert!(n.is_empty());
        assert_eq!(n.find("a"), None);
        assert_eq!(n.intern("a"), 0);
    }

    #[test]
    fn events_are_small() {
        assert_eq!(std::mem::size_of::<Event>(), 24);
    }
}
