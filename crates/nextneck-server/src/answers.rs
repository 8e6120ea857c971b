//! Answers of the delivery report routes, kept until the store changes.
//!
//! A report's answer depends only on its route, its query, the server's
//! settings and the store's state (and, for an empty store, today's date).
//! So an answer is kept under its route and query with the store's change
//! mark (`Store::change_mark`, read by index) and the UTC day: a request
//! whose mark and day match is answered from memory, without a permit.
//! Requests for the same route and query wait for one computation instead
//! of computing side by side (eight dashboards opening the same page cost
//! one report). Errors are never kept. The memory is bounded whatever the
//! queries: at most [`MAX_ANSWERS`] answers are kept (beyond that the
//! oldest half is forgotten), and only answers of at most
//! [`MAX_ANSWER_BYTES`] (a large `--explain` answer is computed each time,
//! under the report gate like any report).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::read::{compute, read_store};
use crate::{ApiError, AppState, Shared};

/// How many answers are kept at most.
pub(crate) const MAX_ANSWERS: usize = 32;

/// The largest answer kept, in bytes: with [`MAX_ANSWERS`], kept answers
/// hold at most 128 MiB.
pub(crate) const MAX_ANSWER_BYTES: usize = 4 << 20;

/// One route and query's answer, and the store state it was computed over.
#[derive(Default)]
struct Slot<T> {
    answer: Option<(String, Arc<T>)>,
}

type Slots<T> = Mutex<HashMap<String, (u64, Arc<tokio::sync::Mutex<Slot<T>>>)>>;

/// The kept answers of one kind (JSON bodies or pages).
pub(crate) struct Answers<T> {
    slots: Slots<T>,
    /// Incremented for every slot made (under the slots' lock), so the
    /// oldest can be forgotten.
    made: std::sync::atomic::AtomicU64,
    /// Answers served from memory (`AppState::answers_from_memory`).
    pub(crate) hits: std::sync::atomic::AtomicU64,
}

impl<T> Default for Answers<T> {
    fn default() -> Self {
        Answers {
            slots: Mutex::new(HashMap::new()),
            made: std::sync::atomic::AtomicU64::new(0),
            hits: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl<T: Send + Sync + 'static> Answers<T> {
    /// The slot of `key`, made when missing (forgetting the oldest half when
    /// full).
    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Slot<T>>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, slot)) = slots.get(key) {
            return slot.clone();
        }
        if slots.len() >= MAX_ANSWERS {
            let mut ages: Vec<u64> = slots.values().map(|(age, _)| *age).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            slots.retain(|_, (age, _)| *age >= cut);
        }
        let age = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = Arc::new(tokio::sync::Mutex::new(Slot { answer: None }));
        slots.insert(key.to_owned(), (age, slot.clone()));
        slot
    }
}

/// The store's state as answers are kept under: its change mark and the
/// UTC day (an empty store's default window ends today).
fn state_mark(shared: &Shared) -> Result<String, ApiError> {
    let mark = read_store(shared, |s| s.change_mark())?;
    Ok(format!("{mark}@{}", crate::now_ms().div_euclid(86_400_000)))
}

/// The answer of `key` (a route and its query) over the store as it is
/// now: kept, or computed by `f` under the report gate (see `compute`) and
/// kept.
pub(crate) async fn answer<T: AsRef<[u8]> + Send + Sync + 'static>(
    state: &AppState,
    answers: &Answers<T>,
    key: String,
    f: impl FnOnce(&Shared) -> Result<T, ApiError> + Send + 'static,
) -> Result<Arc<T>, ApiError> {
    let slot = answers.slot(&key);
    let mut slot = slot.lock().await;
    let shared = state.shared.clone();
    let mark = tokio::task::spawn_blocking(move || state_mark(&shared))
        .await
        .unwrap_or_else(|_| Err(crate::read::internal()))?;
    if let Some((kept, answer)) = &slot.answer
        && *kept == mark
    {
        answers
            .hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(answer.clone());
    }
    let answer = Arc::new(compute(state, f).await?);
    slot.answer = kept(answer.as_ref().as_ref().len()).then(|| (mark, answer.clone()));
    Ok(answer)
}

/// Whether an answer of `bytes` is kept.
fn kept(bytes: usize) -> bool {
    bytes <= MAX_ANSWER_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_answers_are_bounded_in_number_and_size() {
        let answers = Answers::<Vec<u8>>::default();
        for i in 0..MAX_ANSWERS * 3 {
            answers.slot(&format!("k{i}"));
        }
        let slots = answers.slots.lock().unwrap_or_else(|p| p.into_inner());
        assert!(slots.len() <= MAX_ANSWERS, "{} slots", slots.len());
        assert!(slots.contains_key(&format!("k{}", MAX_ANSWERS * 3 - 1)));
        assert!(!slots.contains_key("k0"));
        assert!(kept(MAX_ANSWER_BYTES));
        assert!(!kept(MAX_ANSWER_BYTES + 1));
    }
}
