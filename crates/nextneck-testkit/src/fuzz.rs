//! Fuzzing on stable Rust with proptest (feature `fuzz`): the runner every
//! fuzz target uses (`NEXTNECK_FUZZ_CASES` cases, default 64;
//! `scripts/fuzz.sh` raises it), byte-level mutations of a seed, and the
//! check that an error message is well-formed.

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestRunner};

/// The number of cases per target: `NEXTNECK_FUZZ_CASES`, default 64.
pub fn cases() -> u32 {
    std::env::var("NEXTNECK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// A runner of [`cases`] cases that persists no failure file.
pub fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// An edit at a position given as any number (taken modulo the length).
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Sets the byte at the position.
    Set(usize, u8),
    /// Deletes up to this many bytes from the position.
    Delete(usize, usize),
    /// Inserts these bytes at the position.
    Insert(usize, Vec<u8>),
    /// Repeats up to this many bytes from the position after themselves.
    Duplicate(usize, usize),
    /// Cuts the body at the position.
    Truncate(usize),
}

/// What mutations a target draws: the bytes that matter to its format
/// (drawn as often each as any other byte is in all), and bounds.
#[derive(Clone, Copy, Debug)]
pub struct Space {
    /// Bytes that matter to the format.
    pub bytes: &'static [u8],
    /// Deletions remove fewer than this many bytes.
    pub delete_below: usize,
    /// Insertions bring fewer than this many bytes (at least one).
    pub insert_below: usize,
    /// Duplications copy fewer than this many bytes (at least one).
    pub duplicate_below: usize,
    /// Whether cutting the body is one of the mutations.
    pub truncate: bool,
}

/// One mutation from `space`.
pub fn mutation(space: Space) -> impl Strategy<Value = Mutation> {
    let special = u32::try_from(space.bytes.len()).unwrap_or(u32::MAX);
    let byte = prop_oneof![
        special => proptest::sample::select(space.bytes),
        1 => any::<u8>(),
    ];
    let mut kinds = vec![
        (any::<usize>(), byte.clone())
            .prop_map(|(at, b)| Mutation::Set(at, b))
            .boxed(),
        (any::<usize>(), 0..space.delete_below)
            .prop_map(|(at, n)| Mutation::Delete(at, n))
            .boxed(),
        (
            any::<usize>(),
            proptest::collection::vec(byte, 1..space.insert_below),
        )
            .prop_map(|(at, b)| Mutation::Insert(at, b))
            .boxed(),
        (any::<usize>(), 1..space.duplicate_below)
            .prop_map(|(at, n)| Mutation::Duplicate(at, n))
            .boxed(),
    ];
    if space.truncate {
        kinds.push(any::<usize>().prop_map(Mutation::Truncate).boxed());
    }
    Union::new(kinds)
}

/// `body` with `mutations` applied in order.
pub fn mutate(mut body: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = body.len().max(1);
        match m {
            Mutation::Set(at, b) => {
                if !body.is_empty() {
                    body[at % len] = *b;
                }
            }
            Mutation::Delete(at, n) => {
                let at = (at % len).min(body.len());
                let end = (at + n).min(body.len());
                body.drain(at..end);
            }
            Mutation::Insert(at, bytes) => {
                let at = (at % len).min(body.len());
                body.splice(at..at, bytes.iter().copied());
            }
            Mutation::Duplicate(at, n) => {
                let at = (at % len).min(body.len());
                let end = (at + n).min(body.len());
                let copy = body[at..end].to_vec();
                body.splice(end..end, copy);
            }
            Mutation::Truncate(at) => body.truncate(at % len),
        }
    }
    body
}

/// Asserts the house rules for an error message: not empty, lower case,
/// no trailing period, no raw control character; `what` names the input
/// in a failure.
#[track_caller]
pub fn assert_well_formed(what: &str, e: &str) {
    let first = e.chars().next().unwrap_or(' ');
    assert!(!e.is_empty(), "{what}: empty error");
    assert!(!first.is_uppercase(), "{what}: not lower case: {e}");
    assert!(!e.ends_with('.'), "{what}: trailing period: {e}");
    assert!(
        !e.chars().any(char::is_control),
        "{what}: raw control character: {e:?}"
    );
}
