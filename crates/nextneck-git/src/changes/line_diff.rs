//! Lines added and deleted between two versions of a file, counted as
//! `git diff --numstat` counts them: Myers with git's heuristics (imara-diff
//! reproduces xdiff), lines including their terminator, common first and
//! last lines skipped without hashing, and a NUL byte in the first 8,000
//! bytes of either side making the file binary.

use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

use gix::diff::blob::{Algorithm, Diff, Token};
use nextneck_model::code::LineCounts;

use super::NONE;

/// git reads this many bytes of a file to decide whether it is binary.
pub(super) const FIRST_FEW_BYTES: usize = 8000;
/// git's default `core.bigFileThreshold`: larger files are binary.
const BIG_FILE_THRESHOLD: usize = 512 * 1024 * 1024;

/// A fast hash for lines (FxHash's mixing, eight bytes at a time).
#[derive(Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        self.0 = (self.0.rotate_left(5) ^ bytes.len() as u64).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Line counts of text diffs, as git computes them for `--numstat`.
///
/// git (`xdl_prepare_env`) hashes every line of both files, trims the
/// common first and last lines, classifies the remaining lines by how often
/// they occur in the whole other file, and runs Myers with its heuristics on
/// them. imara-diff's `Myers` reproduces that given one token per line. Two
/// shortcuts give the same counts for less work:
///
/// * When the lines between the common ends of the two files have no line
///   in common (the usual edit), every one of them is deleted or added:
///   there is nothing to search, and the ends are never split into lines.
/// * Otherwise the tokens of the common ends matter only through the counts
///   of the lines between them, so only end lines equal to one of those get
///   a real token; every other end line gets token 0, and most are never
///   hashed (a cheap fingerprint rules them out).
#[derive(Default)]
pub(super) struct LineDiff {
    old_ends: Vec<u32>,
    new_ends: Vec<u32>,
    mid_tokens: Vec<Token>,
    end_tokens: Vec<Token>,
    before: Vec<Token>,
    after: Vec<Token>,
    tokens: Tokens,
    diff: Diff,
}

/// A hash of a line.
fn line_hash(line: &[u8]) -> u64 {
    let mut h = LineHasher::default();
    h.write(line);
    h.finish()
}

/// Hashes a key that is already a hash.
#[derive(Default)]
struct HashOfHash(u64);

impl Hasher for HashOfHash {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// The tokens of the distinct lines between the common ends, kept from one
/// diff to the next (so their table is not allocated anew): the first token
/// of each line hash, chains of tokens whose lines share a hash, and where
/// each token's line is (old or new, start, end). Token 0 is every other
/// line.
#[derive(Default)]
struct Tokens {
    first: StdHashMap<u64, u32, BuildHasherDefault<HashOfHash>>,
    next: Vec<u32>,
    at: Vec<(bool, u32, u32)>,
}

impl Tokens {
    fn clear(&mut self) {
        self.first.clear();
        self.next.clear();
        self.at.clear();
        self.next.push(NONE);
        self.at.push((false, 0, 0));
    }

    /// Real tokens so far.
    fn len(&self) -> usize {
        self.at.len() - 1
    }

    fn text<'a>(&self, t: u32, old: &'a [u8], new: &'a [u8]) -> &'a [u8] {
        let (in_old, start, end) = self.at[t as usize];
        let data = if in_old { old } else { new };
        &data[start as usize..end as usize]
    }

    fn find(&self, line: &[u8], hash: u64, old: &[u8], new: &[u8]) -> Option<u32> {
        let mut t = *self.first.get(&hash)?;
        while t != NONE {
            if self.text(t, old, new) == line {
                return Some(t);
            }
            t = self.next[t as usize];
        }
        None
    }

    /// The token of the line at `start..end` of `old` (or `new`).
    fn intern(&mut self, in_old: bool, start: u32, end: u32, old: &[u8], new: &[u8]) -> u32 {
        let data = if in_old { old } else { new };
        let line = &data[start as usize..end as usize];
        let hash = line_hash(line);
        if let Some(t) = self.find(line, hash, old, new) {
            return t;
        }
        let t = self.at.len() as u32;
        self.at.push((in_old, start, end));
        let previous = self.first.insert(hash, t).unwrap_or(NONE);
        self.next.push(previous);
        t
    }
}

/// End offsets (exclusive) of the lines of `data`.
fn line_ends(data: &[u8], ends: &mut Vec<u32>) {
    ends.clear();
    ends.extend(memchr::memchr_iter(b'\n', data).map(|i| i as u32 + 1));
    if data.last().is_some_and(|&b| b != b'\n') {
        ends.push(data.len() as u32);
    }
}

/// Length of the common prefix of two byte strings.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 32 <= n && a[i..i + 32] == b[i..i + 32] {
        i += 32;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Length of the common suffix of two byte strings, at most `limit`.
fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + 32 <= limit && a[la - i - 32..la - i] == b[lb - i - 32..lb - i] {
        i += 32;
    }
    while i < limit && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
}

/// A cheap fingerprint of a line for a 4,096-bit filter.
fn fingerprint(line: &[u8]) -> usize {
    let first = line.first().copied().unwrap_or(0) as usize;
    let mid = line.get(line.len() / 2).copied().unwrap_or(0) as usize;
    (line.len().wrapping_mul(31) ^ first.wrapping_mul(131) ^ mid.wrapping_mul(7)) & 4095
}

impl LineDiff {
    // Long: the line diff of every changed file, the hot loop of `nextneck code`; its positions and filter would otherwise be passed around.
    pub(super) fn count(&mut self, old: &[u8], new: &[u8]) -> LineCounts {
        // Common whole lines at the start: up to the last line break before
        // the first difference.
        let p = common_prefix(old, new);
        let head = memchr::memrchr(b'\n', &old[..p]).map_or(0, |i| i + 1);
        // Common whole lines at the end, not overlapping the start: the
        // common suffix, moved forward to a line start in both files.
        let limit = old.len().min(new.len()) - head;
        let s = common_suffix(old, new, limit);
        let (mut x, mut y) = (old.len() - s, new.len() - s);
        let at_line_start = |data: &[u8], pos: usize| pos == head || data[pos - 1] == b'\n';
        if x < old.len() && !(at_line_start(old, x) && at_line_start(new, y)) {
            let skip = memchr::memchr(b'\n', &old[x..]).map_or(old.len() - x, |i| i + 1);
            x += skip;
            y += skip;
        }
        let (old_mid, new_mid) = (&old[head..x], &new[head..y]);
        line_ends(old_mid, &mut self.old_ends);
        line_ends(new_mid, &mut self.new_ends);
        let (no, nn) = (self.old_ends.len(), self.new_ends.len());
        let all_changed = LineCounts {
            added: nn as u32,
            deleted: no as u32,
        };
        if no == 0 || nn == 0 {
            return all_changed;
        }
        // Tokens of the lines between the ends, in the order of the lines.
        let tokens = &mut self.tokens;
        tokens.clear();
        let mut mid_tokens = std::mem::take(&mut self.mid_tokens);
        mid_tokens.clear();
        let mut start = 0;
        for &end in &self.old_ends {
            mid_tokens.push(Token(tokens.intern(true, start, end, old_mid, new_mid)));
            start = end;
        }
        let old_distinct = tokens.len();
        let mut shared = false;
        let mut start = 0;
        for &end in &self.new_ends {
            let t = tokens.intern(false, start, end, old_mid, new_mid);
            shared |= t as usize <= old_distinct;
            mid_tokens.push(Token(t));
            start = end;
        }
        if !shared {
            self.mid_tokens = mid_tokens;
            return all_changed;
        }
        let (old_tokens, new_tokens) = mid_tokens.split_at(no);
        let mut filter = [0u64; 64];
        for t in 1..=tokens.len() as u32 {
            let f = fingerprint(tokens.text(t, old_mid, new_mid));
            filter[f >> 6] |= 1 << (f & 63);
        }
        let tokens = &self.tokens;
        let token_of = |l: &[u8]| -> Token {
            let f = fingerprint(l);
            let maybe = filter[f >> 6] & (1 << (f & 63)) != 0;
            Token(if maybe {
                tokens.find(l, line_hash(l), old_mid, new_mid).unwrap_or(0)
            } else {
                0
            })
        };
        // The common ends, identical in both files, tokenized once.
        let mut end_tokens = std::mem::take(&mut self.end_tokens);
        end_tokens.clear();
        let push_lines = |data: &[u8], out: &mut Vec<Token>| {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', data) {
                out.push(token_of(&data[start..=end]));
                start = end + 1;
            }
            if start < data.len() {
                out.push(token_of(&data[start..]));
            }
        };
        push_lines(&old[..head], &mut end_tokens);
        let head_lines = end_tokens.len();
        push_lines(&old[x..], &mut end_tokens);
        let (head_tokens, tail_tokens) = end_tokens.split_at(head_lines);
        self.before.clear();
        self.before.extend_from_slice(head_tokens);
        self.before.extend_from_slice(old_tokens);
        self.before.extend_from_slice(tail_tokens);
        self.after.clear();
        self.after.extend_from_slice(head_tokens);
        self.after.extend_from_slice(new_tokens);
        self.after.extend_from_slice(tail_tokens);
        let num_tokens = self.tokens.len() as u32 + 1;
        self.diff
            .compute_with(Algorithm::Myers, &self.before, &self.after, num_tokens);
        self.mid_tokens = mid_tokens;
        self.end_tokens = end_tokens;
        LineCounts {
            added: self.diff.count_additions(),
            deleted: self.diff.count_removals(),
        }
    }
}

/// git's binary test: a NUL byte in the first 8,000 bytes, or larger than
/// `core.bigFileThreshold`'s default.
pub(super) fn is_binary(data: &[u8]) -> bool {
    data.len() > BIG_FILE_THRESHOLD
        || memchr::memchr(0, &data[..data.len().min(FIRST_FEW_BYTES)]).is_some()
}

/// Lines as git counts them: line breaks, plus a last line without one.
pub(super) fn count_lines(data: &[u8]) -> u32 {
    let breaks = memchr::memchr_iter(b'\n', data).count();
    let partial = usize::from(data.last().is_some_and(|&b| b != b'\n'));
    (breaks + partial) as u32
}

/// A file's size in lines; `None` when binary.
pub(super) fn text_lines(data: &[u8]) -> Option<u32> {
    (!is_binary(data)).then(|| count_lines(data))
}
