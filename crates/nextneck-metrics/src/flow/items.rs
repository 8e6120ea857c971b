//! How a model reads one item (a case): transitions as (stage, entry)
//! rows, activities as occurrences paired from starts and completions;
//! both cut at the commitment point and turned into [`Stay`]s.

use nextneck_model::Timestamp;
use nextneck_model::flow::{NO_TIME, StageIdx};

use super::group::{CaseEvents, Grouped};

/// A stay: an item in a stage from `enter` to `exit`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stay {
    pub(super) stage: StageIdx,
    pub(super) enter: Timestamp,
    /// `NO_TIME` while the item is still there.
    pub(super) exit: Timestamp,
    /// Activities: wait before the start (`NO_TIME` when unknown).
    pub(super) wait: Timestamp,
    /// Activities: start to complete (`NO_TIME` when unknown).
    pub(super) service: Timestamp,
    /// False for stays in done stages and after the flow's end.
    pub(super) counted: bool,
}

/// One item's flow, as the model reads it.
#[derive(Default)]
pub(super) struct Item {
    pub(super) arrival: Option<Timestamp>,
    pub(super) finish: Option<Timestamp>,
    pub(super) stays: Vec<Stay>,
    /// Activities: the completion of a resolution-like activity before the
    /// flow's end, with its stage.
    pub(super) resolution: Option<(StageIdx, Timestamp)>,
}

/// An activity occurrence.
#[derive(Clone, Copy, Debug)]
pub(super) struct Occurrence {
    pub(super) stage: StageIdx,
    start: Timestamp,
    complete: Timestamp,
}

/// A case's activity occurrences up to `now`: completed ones in
/// completion order, and open ones (started, not completed) in start order.
pub(super) fn occurrences(
    events: CaseEvents<'_>,
    now: Timestamp,
    completed: &mut Vec<Occurrence>,
    open: &mut Vec<Occurrence>,
) -> Option<Timestamp> {
    completed.clear();
    open.clear();
    let mut arrival: Option<Timestamp> = None;
    for e in events.iter() {
        let first = if e.start != NO_TIME { e.start } else { e.time };
        if first > now {
            continue;
        }
        arrival = Some(arrival.map_or(first, |a| a.min(first)));
        match (e.start != NO_TIME, e.time != NO_TIME && e.time <= now) {
            (true, true) => completed.push(Occurrence {
                stage: e.stage,
                start: e.start,
                complete: e.time,
            }),
            (true, false) => open.push(Occurrence {
                stage: e.stage,
                start: e.start,
                complete: NO_TIME,
            }),
            (false, _) => {
                // A completion: pairs with the earliest open start of the
                // same activity, else stands alone.
                match open.iter().position(|o| o.stage == e.stage) {
                    Some(p) => {
                        let o = open.remove(p);
                        completed.push(Occurrence {
                            complete: e.time,
                            ..o
                        });
                    }
                    None => completed.push(Occurrence {
                        stage: e.stage,
                        start: NO_TIME,
                        complete: e.time,
                    }),
                }
            }
        }
    }
    // Stable: equal completions keep their input order.
    completed.sort_by_key(|o| o.complete);
    arrival
}

/// Reads one case as transitions: its (stage, entry) rows up to now,
/// repeated stages collapsed, into `rows`; with its arrival, the index of
/// the first row of the final run of done rows (the flow's end) and the
/// finish (that row's entry) when the last row is done; `None` when it has
/// no row up to now. Every row before the final done run is a stay until
/// the next row; those in done stages are not counted.
pub(super) fn transition_rows(
    events: CaseEvents<'_>,
    now: Timestamp,
    done: &[bool],
    rows: &mut Vec<(StageIdx, Timestamp)>,
) -> Option<(Timestamp, usize, Option<Timestamp>)> {
    rows.clear();
    for e in events.iter() {
        let t = e.at();
        if t > now {
            break;
        }
        if rows.last().is_some_and(|&(s, _)| s == e.stage) {
            continue;
        }
        rows.push((e.stage, t));
    }
    let &(last_stage, _) = rows.last()?;
    let mut run = rows.len();
    let mut finish = None;
    if done[last_stage as usize] {
        while run > 0 && done[rows[run - 1].0 as usize] {
            run -= 1;
        }
        finish = Some(rows[run].1);
    }
    Some((rows[0].1, run, finish))
}

/// Cuts a case's transition rows (with its arrival and the index of its
/// final done run, as [`transition_rows`] gives them) at the commitment
/// point `start`: the rows before its first entry into `start` are not
/// flow. Its arrival and the final run's index after the cut; `None` when
/// it never entered `start` before its flow ended (it is not in the flow).
pub(super) fn commit_rows(
    rows: &mut Vec<(StageIdx, Timestamp)>,
    arrival: Timestamp,
    run: usize,
    start: Option<StageIdx>,
) -> Option<(Timestamp, usize)> {
    let Some(start) = start else {
        return Some((arrival, run));
    };
    let k = rows
        .iter()
        .position(|r| r.0 == start)
        .filter(|&k| k <= run)?;
    rows.drain(..k);
    Some((rows[0].1, run - k))
}

/// Cuts a case's activity occurrences at the commitment point `start`:
/// those completed before its first occurrence of `start` are not flow.
/// Its arrival (the start of that occurrence, else its completion);
/// `None` when it has no occurrence of `start`.
fn commit_occurrences(
    completed: &mut Vec<Occurrence>,
    open: &[Occurrence],
    start: StageIdx,
) -> Option<Timestamp> {
    match completed.iter().position(|o| o.stage == start) {
        Some(p) => {
            completed.drain(..p);
            let o = completed[0];
            Some(if o.start != NO_TIME {
                o.start
            } else {
                o.complete
            })
        }
        None => {
            let o = open.iter().find(|o| o.stage == start)?;
            completed.clear();
            Some(o.start)
        }
    }
}

/// How many items reached a done stage at or before `now` without entering
/// the commitment point `start`: they are left out of the flow.
pub(super) fn skipped_start(
    grouped: &Grouped<'_>,
    cases: usize,
    now: Timestamp,
    done: &[bool],
    start: StageIdx,
) -> usize {
    (0..cases)
        .filter(|&c| {
            let mut finished = false;
            for e in grouped.case(c).iter().filter(|e| e.at() <= now) {
                if e.stage == start {
                    return false;
                }
                finished = done[e.stage as usize];
            }
            finished
        })
        .count()
}

/// Reads one case as activities.
#[allow(clippy::too_many_arguments)]
pub(super) fn activities_item(
    events: CaseEvents<'_>,
    now: Timestamp,
    done: &[bool],
    resolution_like: &[bool],
    start: Option<StageIdx>,
    completed: &mut Vec<Occurrence>,
    open: &mut Vec<Occurrence>,
    item: &mut Item,
) {
    item.stays.clear();
    item.finish = None;
    item.resolution = None;
    item.arrival = occurrences(events, now, completed, open);
    if let Some(start) = start {
        item.arrival = commit_occurrences(completed, open, start);
    }
    if item.arrival.is_none() {
        return;
    }
    // The flow ends at the first occurrence of the final run of done
    // activities, when nothing is open.
    let mut end = completed.len();
    if open.is_empty()
        && let Some(last) = completed.last()
        && done[last.stage as usize]
    {
        let mut run = completed.len() - 1;
        while run > 0 && done[completed[run - 1].stage as usize] {
            run -= 1;
        }
        item.finish = Some(completed[run].complete);
        end = run + 1;
    }
    let mut prev: Timestamp = NO_TIME;
    for (i, o) in completed.iter().enumerate() {
        let counted = i < end;
        let wait = match (prev, o.start) {
            (NO_TIME, _) => NO_TIME,
            (p, NO_TIME) => o.complete - p,
            (p, s) => (s - p).max(0),
        };
        let service = if o.start == NO_TIME {
            NO_TIME
        } else {
            o.complete - o.start
        };
        // From the previous completion (or its own start when first) to its
        // completion: the stays of a case partition its flow time.
        let enter = if prev != NO_TIME {
            prev
        } else if o.start != NO_TIME {
            o.start
        } else {
            o.complete
        };
        item.stays.push(Stay {
            stage: o.stage,
            enter,
            exit: o.complete,
            wait,
            service,
            counted,
        });
        if counted && item.finish.is_some() && i + 1 < end && resolution_like[o.stage as usize] {
            item.resolution = Some((o.stage, o.complete));
        }
        prev = o.complete;
    }
    if item.finish.is_none() {
        for o in open.iter() {
            let enter = if prev != NO_TIME {
                prev.min(o.start)
            } else {
                o.start
            };
            item.stays.push(Stay {
                stage: o.stage,
                enter,
                exit: NO_TIME,
                wait: if prev != NO_TIME {
                    (o.start - prev).max(0)
                } else {
                    NO_TIME
                },
                service: NO_TIME,
                counted: true,
            });
        }
    }
}
