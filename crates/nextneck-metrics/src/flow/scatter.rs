//! The flow report's scatterplot: the finished items sorted by finish time
//! (a radix sort on large logs) with their names, read on two cores.

use nextneck_model::Timestamp;
use nextneck_model::flow::EventLog;

use super::scan::Finished;
use super::{Scatter, joined};

/// The scatterplot of the finished items (in case order), by finish time;
/// equal times stay in case order.
pub(super) fn scatter_by_finish(
    log: &EventLog,
    finished: Finished,
    base: Option<Timestamp>,
) -> Scatter {
    let Finished { mut keys, mut wide } = finished;
    match base {
        Some(_) => {
            // Sorting (finish − base, case) sorts by finish then case.
            radix_sort_high(&mut keys);
            let (text, ends) = names(log, keys.len(), |i| keys[i].0 as u32);
            Scatter {
                text,
                ends,
                points: keys,
                base,
            }
        }
        None => {
            wide.sort_by_key(|p| p.1);
            let (text, ends) = names(log, wide.len(), |i| wide[i].0);
            Scatter {
                text,
                ends,
                points: wide.iter().map(|&(_, f, ft)| (f as u64, ft)).collect(),
                base,
            }
        }
    }
}

/// The names of `n` cases (`case(i)` for each), one after another, and
/// where each ends. The names are read in finish order, a cache miss or two
/// each: on large logs the two halves are read on two cores.
pub(super) fn names(
    log: &EventLog,
    n: usize,
    case: impl Fn(usize) -> u32 + Sync,
) -> (String, Vec<usize>) {
    let per_name = log.cases.text_len().div_ceil(log.cases.len().max(1));
    // Room for `room` names (the first half has room for the second).
    let part = |range: std::ops::Range<usize>, room: usize| {
        let mut text = String::with_capacity(room * per_name);
        let mut ends = Vec::with_capacity(room);
        for i in range {
            text.push_str(log.cases.get(case(i)));
            ends.push(text.len());
        }
        (text, ends)
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if n < 100_000 || threads < 2 {
        return part(0..n, n);
    }
    let mid = n / 2;
    std::thread::scope(|scope| {
        let second = scope.spawn(|| part(mid..n, n - mid));
        let (mut text, mut ends) = part(0..mid, n);
        let (more, more_ends) = joined(second);
        let offset = text.len();
        text.push_str(&more);
        ends.extend(more_ends.iter().map(|e| e + offset));
        (text, ends)
    })
}

/// Sorts by the high 32 bits of the key, stably (a radix sort: the low
/// bits, already in order, stay in order among equal high bits).
pub(super) fn radix_sort_high(v: &mut Vec<(u64, i64)>) {
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    let digit = |k: u64, pass: u32| ((k >> (32 + pass * BITS)) as usize) & (BUCKETS - 1);
    // 3 passes of 11 bits cover the high 32.
    let mut counts = vec![[0usize; BUCKETS]; 3];
    for &(k, _) in v.iter() {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[digit(k, pass as u32)] += 1;
        }
    }
    let mut other = vec![(0u64, 0i64); v.len()];
    for (pass, c) in counts.iter_mut().enumerate() {
        // A digit shared by every key orders nothing.
        if c.contains(&v.len()) {
            continue;
        }
        let mut at = 0;
        for n in c.iter_mut() {
            let here = *n;
            *n = at;
            at += here;
        }
        for &e in v.iter() {
            let d = digit(e.0, pass as u32);
            other[c[d]] = e;
            c[d] += 1;
        }
        std::mem::swap(v, &mut other);
    }
}
