//! The log grouped by case, each case's events in time order: in place
//! when the log is in that order already (checked in one pass, in two
//! halves on two cores for large logs), else a sorted copy.

use std::borrow::Cow;

use nextneck_model::Timestamp;
use nextneck_model::flow::{Event, EventLog, NO_TIME, StageIdx};

use super::joined;

/// The log grouped by case, each case's events in time order (equal times
/// keep their input order), with the log's oldest and newest times.
pub(super) struct Grouped<'a> {
    /// The events in that order: the log's own when it is in that order
    /// already (each case's events together, cases in id order, times
    /// ascending: the usual file), else a copy in that order. Every pass
    /// after grouping reads them in order: through a permutation, each
    /// event of a time-ordered log (items interleaved, as tools export)
    /// would be a cache miss in every pass.
    pub(super) events: Cow<'a, [Event]>,
    pub(super) starts: Vec<usize>,
    /// Transitions: whether some item leaves each stage for another,
    /// found while checking the order (`None` on the other path).
    pub(super) left: Option<Vec<bool>>,
    pub(super) oldest: Option<Timestamp>,
    pub(super) newest: Option<Timestamp>,
    /// Events per stage (to reserve room for stays).
    pub(super) stage_events: Vec<usize>,
}

/// One case's events in time order.
#[derive(Clone, Copy)]
pub(super) struct CaseEvents<'a> {
    events: &'a [Event],
}

impl<'a> CaseEvents<'a> {
    pub(super) fn iter(self) -> impl Iterator<Item = Event> + 'a {
        self.events.iter().copied()
    }
}

/// The log grouped: in place when it is in order, else sorted.
pub(super) fn group(log: &EventLog) -> Grouped<'_> {
    group_in_place(log).unwrap_or_else(|| group_by_sorting(log))
}

/// [`group`] of any log: a copy sorted by case, then time (stable).
pub(super) fn group_by_sorting(log: &EventLog) -> Grouped<'_> {
    let cases = log.cases.len();
    let mut starts = vec![0usize; cases + 1];
    let mut stage_events = vec![0usize; log.stages.len()];
    for e in &log.events {
        starts[e.case as usize + 1] += 1;
        stage_events[e.stage as usize] += 1;
    }
    for i in 0..cases {
        starts[i + 1] += starts[i];
    }
    // The events scattered into case order in one pass (each written once
    // where its case's next slot is), then each case's put in time order,
    // stably. A permutation read through afterwards would cost every later
    // pass a cache miss per event; a permutation gathered through would
    // cost one pass more.
    let mut fill = starts.clone();
    let mut events: Vec<Event> = match log.events.first() {
        Some(&first) => vec![first; log.events.len()],
        None => Vec::new(),
    };
    for e in &log.events {
        let slot = &mut fill[e.case as usize];
        events[*slot] = *e;
        *slot += 1;
    }
    drop(fill);
    for c in 0..cases {
        let slice = &mut events[starts[c]..starts[c + 1]];
        if !slice.is_sorted_by_key(Event::at) {
            slice.sort_by_key(Event::at);
        }
    }
    Grouped {
        events: Cow::Owned(events),
        starts,
        left: None,
        oldest: log.oldest(),
        newest: log.newest(),
        stage_events,
    }
}

/// [`group`] of a log already in order, in one pass that also finds the
/// oldest and newest times and the stages items leave; `None` when the log
/// is not in order.
pub(super) fn group_in_place(log: &EventLog) -> Option<Grouped<'_>> {
    let events = &log.events[..];
    let cases = log.cases.len();
    let stages = log.stages.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Two halves on two cores for large logs; the second starts after the
    // first's last event, which it checks its first against.
    let mid = if events.len() >= 1 << 20 && threads > 1 {
        events.len() / 2
    } else {
        events.len()
    };
    let first = || in_order(&events[..mid], 0, None, stages, cases + 1);
    let (a, b) = if mid < events.len() {
        let e = events[mid - 1];
        let prev = Some((e.case, e.at(), e.stage));
        std::thread::scope(|scope| {
            let second = scope.spawn(|| in_order(&events[mid..], mid, prev, stages, 0));
            let a = first();
            (a, joined(second))
        })
    } else {
        (first(), Some(InOrder::empty(stages)))
    };
    let (mut a, b) = (a?, b?);
    a.starts.extend(b.starts);
    for (x, y) in a.left.iter_mut().zip(b.left) {
        *x |= y;
    }
    for (x, y) in a.stage_events.iter_mut().zip(b.stage_events) {
        *x += y;
    }
    let mut starts = a.starts;
    while starts.len() <= cases {
        starts.push(events.len());
    }
    let (oldest, newest) = (a.oldest.min(b.oldest), a.newest.max(b.newest));
    Some(Grouped {
        events: Cow::Borrowed(events),
        starts,
        left: Some(a.left),
        oldest: (oldest != Timestamp::MAX).then_some(oldest),
        // NO_TIME is i64::MIN: never the newest.
        newest: (newest != NO_TIME).then_some(newest),
        stage_events: a.stage_events,
    })
}

/// What [`in_order`] finds in some events.
struct InOrder {
    /// The first event of each case from the one after the event before.
    starts: Vec<usize>,
    left: Vec<bool>,
    stage_events: Vec<usize>,
    oldest: Timestamp,
    newest: Timestamp,
}

impl InOrder {
    fn empty(stages: usize) -> InOrder {
        InOrder {
            starts: Vec::new(),
            left: vec![false; stages],
            stage_events: vec![0; stages],
            oldest: Timestamp::MAX,
            newest: Timestamp::MIN,
        }
    }
}

/// Checks that `events` (at `offset` in the log, after `prev`: case, time,
/// stage) continue the log's order; `None` when they do not. `room`: for
/// how many starts to reserve room.
fn in_order(
    events: &[Event],
    offset: usize,
    mut prev: Option<(u32, Timestamp, StageIdx)>,
    stages: usize,
    room: usize,
) -> Option<InOrder> {
    let mut found = InOrder::empty(stages);
    let mut next_case = prev.map_or(0, |p| p.0 as usize + 1);
    found.starts.reserve(room);
    for (i, e) in events.iter().enumerate() {
        let at = e.at();
        match prev {
            Some((case, t, stage)) if case == e.case => {
                if at < t {
                    return None;
                }
                if stage != e.stage {
                    found.left[stage as usize] = true;
                }
            }
            Some((case, _, _)) if case > e.case => return None,
            // A new case (ids without events get empty ranges).
            _ => {
                while next_case <= e.case as usize {
                    found.starts.push(offset + i);
                    next_case += 1;
                }
            }
        }
        prev = Some((e.case, at, e.stage));
        found.stage_events[e.stage as usize] += 1;
        // NO_TIME is i64::MIN: never the newest, and skipped for the oldest.
        found.newest = found.newest.max(e.time.max(e.start));
        for t in [e.start, e.time] {
            if t != NO_TIME {
                found.oldest = found.oldest.min(t);
            }
        }
    }
    Some(found)
}

impl Grouped<'_> {
    pub(super) fn case(&self, c: usize) -> CaseEvents<'_> {
        CaseEvents {
            events: &self.events[self.starts[c]..self.starts[c + 1]],
        }
    }
}
