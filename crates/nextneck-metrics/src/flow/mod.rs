//! Flow metrics of any value stream, from an [`EventLog`]: time per stage,
//! flow time, throughput, work in progress and its aging, flow efficiency,
//! net flow, the data of a cumulative flow diagram and a scatterplot, and
//! the bottleneck with its evidence and runner-up.
//!
//! `docs/metrics.md` ("Value streams") is the definition; this module is its
//! implementation. Two models read the same events:
//!
//! * **transitions**: a row means the item entered that stage at that time;
//!   it stays until its next row;
//! * **activities**: start/complete pairs or rows with both times; each
//!   occurrence gets a wait (since the previous completion in the case) and
//!   a service time (start to complete).
//!
//! Both are turned into *stays*: an item in a stage from `enter` to `exit`
//! (open when it has not left), and every figure is computed from stays.

use std::borrow::Cow;
use std::collections::HashMap;

use nextneck_model::Timestamp;
use nextneck_model::flow::{Event, EventLog, NO_TIME, StageIdx};
use regex::Regex;
use serde::Serialize;

use crate::common;
use crate::report::SCHEMA_VERSION;
use crate::stats::percentiles_unsorted;
use crate::tiers::minimum;
use crate::time::{self, DAY, WEEK, serde_rfc3339};
use crate::types::{EmptyWindow, Notice, Window, WindowSpec};
use crate::window::{DefaultStart, resolve_window};
use crate::words::{Holds, holds_sentence, human_or_na, plural, runner_up_words, trend_words};

mod scatter;
mod summaries;

use scatter::scatter_by_finish;
use summaries::{Seconds, ShareSample, Summarized, summarize_all};
#[cfg(test)]
use {scatter::radix_sort_high, summaries::median_p85};

/// Stage names that mean "finished" by default (compared without case).
pub const DEFAULT_DONE: &[&str] = &[
    "done",
    "closed",
    "resolved",
    "complete",
    "completed",
    "finished",
    "shipped",
    "released",
    "deployed",
    "merged",
    "hired",
    "won",
    "lost",
    "canceled",
    "cancelled",
    "rejected",
    "paid",
    "signed",
];

/// Which model reads the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// A row is an entry into a stage.
    Transitions,
    /// Start/complete pairs or rows with both times.
    Activities,
}

/// The model to use, or `Auto`: activities when the log has a lifecycle or
/// start-time column or is XES, else transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// Decide from the log's shape.
    Auto,
    /// Force one model.
    Fixed(Model),
}

/// Everything a flow report needs besides the log.
#[derive(Clone, Debug)]
pub struct FlowSettings {
    /// The stream's name (a configured name, or the files).
    pub stream: String,
    /// Which model.
    pub model: ModelChoice,
    /// Configured done stages (compared without case); empty means the
    /// default names.
    pub done: Vec<String>,
    /// Stages where work happens (for flow efficiency).
    pub active: Vec<String>,
    /// Stages where items wait (for flow efficiency).
    pub wait: Vec<String>,
    /// The window.
    pub window: WindowSpec,
    /// "Now"; default the newest time in the log.
    pub now: Option<Timestamp>,
    /// The commitment point: the stage where an item's flow starts
    /// (compared without case); `None`: its first stage.
    pub start: Option<String>,
}

impl FlowSettings {
    /// Settings with every default, for `stream`.
    pub fn new(stream: impl Into<String>) -> Self {
        FlowSettings {
            stream: stream.into(),
            model: ModelChoice::Auto,
            done: Vec::new(),
            active: Vec::new(),
            wait: Vec::new(),
            window: WindowSpec::Default,
            now: None,
            start: None,
        }
    }
}

/// Why a flow report could not be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FlowError {
    /// No event at all.
    #[error("the log has no events; check the file and its columns")]
    Empty,
    /// The window is empty or inverted.
    #[error(transparent)]
    EmptyWindow(#[from] EmptyWindow),
    /// A configured stage name is not in the log.
    #[error("{what} \"{name}\" is not a stage of the log; the stages are {stages}")]
    UnknownStage {
        /// Which setting named it (`--done`, `--active`, `--wait`).
        what: &'static str,
        /// The name.
        name: String,
        /// The log's stages, quoted and comma-separated.
        stages: String,
    },
}

/// A flow report: what `nextneck flow` computes and renders. Its serde form
/// is the documented JSON schema.
#[derive(Clone, Debug, Serialize)]
pub struct FlowReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `flow`.
    pub kind: &'static str,
    /// What was read.
    pub source: FlowSource,
    /// Which model read it.
    pub model: Model,
    /// The window `[since, until)`.
    pub window: Window,
    /// "Now" for work in progress and aging.
    #[serde(with = "serde_rfc3339")]
    pub now: Timestamp,
    /// The stages where an item's flow ends, and why each one is done.
    pub done_stages: Vec<DoneStage>,
    /// Per stage (not done stages in the transitions model), in flow order.
    pub stages: Vec<FlowStage>,
    /// The stage holding the largest share of item time.
    pub bottleneck: Option<FlowBottleneck>,
    /// Stream-level figures.
    pub flow: Flow,
    /// Cumulative flow diagram data.
    pub cfd: Cfd,
    /// Cycle-time scatterplot data: items finished in the window, by finish.
    pub scatter: Scatter,
    /// Things the reader should know.
    pub notices: Vec<Notice>,
}

/// What a flow report read.
#[derive(Clone, Debug, Serialize)]
pub struct FlowSource {
    /// `eventlog`.
    pub kind: &'static str,
    /// The stream's name.
    pub stream: String,
    /// The files, in order.
    pub files: Vec<String>,
    /// Events read.
    pub events: usize,
    /// Distinct items.
    pub items: usize,
}

/// A done stage and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoneStage {
    /// Its name.
    pub name: String,
    /// `configured`, `name` (a default done name) or `never_left`.
    pub reason: &'static str,
}

/// Figures of one stage.
#[derive(Clone, Debug, Serialize)]
pub struct FlowStage {
    /// Its name.
    pub name: String,
    /// Completed stays (occurrences) counted.
    pub count: usize,
    /// Median time in the stage, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// The median's 95 % interval (order statistics, `docs/metrics.md`);
    /// `None` below 6 stays.
    pub median_ci_seconds: Option<[f64; 2]>,
    /// Sum, seconds.
    pub total_seconds: f64,
    /// total / all stages' totals.
    pub share: Option<f64>,
    /// The share's 95 % interval (seeded bootstrap, `docs/metrics.md`).
    pub share_ci: Option<[f64; 2]>,
    /// Activities model: median wait before the activity started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_median_seconds: Option<Option<f64>>,
    /// Activities model: median service time (start to complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_median_seconds: Option<Option<f64>>,
    /// `active`, `wait` or `null` (stage categories).
    pub category: Option<&'static str>,
    /// Items in the stage now.
    pub wip: usize,
    /// Of those, items older than the p85 flow time.
    pub aging: usize,
    /// (Entries − exits in the window) per week.
    pub net_flow_per_week: f64,
}

/// The bottleneck verdict.
#[derive(Clone, Debug, Serialize)]
pub struct FlowBottleneck {
    /// The stage with the largest share.
    pub stage: String,
    /// Its share of all item time.
    pub share: f64,
    /// The share's 95 % interval.
    pub share_ci: Option<[f64; 2]>,
    /// True when too few stays were counted to call it the bottleneck
    /// ([`crate::tiers::minimum::BOTTLENECK_ITEMS`]): it is only the
    /// largest stage.
    pub too_few_to_call: bool,
    /// Why it is credible (or not).
    pub evidence: FlowEvidence,
    /// The runner-up: your next bottleneck.
    pub next: Option<NextStage>,
}

/// The facts behind the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct FlowEvidence {
    /// Median time in the stage, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Stays counted.
    pub count: usize,
    /// Median wait: the wait before the activity (activities), the whole
    /// stay (transitions).
    pub wait_median_seconds: Option<f64>,
    /// (Entries − exits) per week in the window.
    pub net_flow_per_week: f64,
    /// True when more items entered than left in the window.
    pub queue_growing: bool,
    /// Items in the stage now.
    pub wip: usize,
    /// Items in the stage older than the p85 flow time.
    pub aging: usize,
    /// Share in the window's first half (by the time a stay ended).
    pub first_half_share: Option<f64>,
    /// Share in the second half.
    pub second_half_share: Option<f64>,
    /// Stays of the stage ended in the first and the second half.
    pub half_stays: [usize; 2],
    /// `rising`, `falling`, `steady`, or `null` (a half with fewer stays
    /// than a trend needs).
    pub trend: Option<&'static str>,
    /// The verdict in one sentence.
    pub summary: String,
}

/// The runner-up stage.
#[derive(Clone, Debug, Serialize)]
pub struct NextStage {
    /// Its name.
    pub stage: String,
    /// Its share.
    pub share: f64,
    /// Its median, seconds.
    pub median_seconds: Option<f64>,
    /// True when its share is inside the bottleneck's share interval.
    pub within_interval: bool,
}

/// Stream-level figures.
#[derive(Clone, Debug, Serialize)]
pub struct Flow {
    /// Items that arrived (first event) in the window.
    pub arrived: usize,
    /// Items that finished in the window.
    pub completed: usize,
    /// Items in progress now.
    pub wip: usize,
    /// completed / (window days / 7).
    pub throughput_per_week: f64,
    /// (arrived − completed) / (window days / 7).
    pub net_flow_per_week: f64,
    /// Flow time of the items finished in the window.
    pub flow_time: FlowTime,
    /// Work in progress older than the p85 flow time.
    pub aging: Aging,
    /// Active time / (active + waiting time); `null` when unknown.
    pub efficiency: Option<Efficiency>,
    /// The oldest items in progress (at most 10), oldest first.
    pub oldest_wip: Vec<WipItem>,
}

/// Flow time statistics.
#[derive(Clone, Debug, Serialize)]
pub struct FlowTime {
    /// Items.
    pub count: usize,
    /// Median, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
}

/// Aging work in progress.
#[derive(Clone, Debug, Serialize)]
pub struct Aging {
    /// The p85 flow time, seconds; `null` when no item finished.
    pub threshold_seconds: Option<f64>,
    /// Items in progress older than it.
    pub items: usize,
}

/// Flow efficiency.
#[derive(Clone, Debug, Serialize)]
pub struct Efficiency {
    /// active / (active + wait).
    pub ratio: Option<f64>,
    /// `service_wait` (activities' service and wait times) or
    /// `stage_categories` (configured active and wait stages).
    pub basis: &'static str,
    /// Active seconds.
    pub active_seconds: f64,
    /// Waiting seconds.
    pub wait_seconds: f64,
}

/// An item in progress.
#[derive(Clone, Debug, Serialize)]
pub struct WipItem {
    /// Its case id.
    pub case: String,
    /// The stage it is in, when known.
    pub stage: Option<String>,
    /// now − its first event, seconds.
    pub age_seconds: i64,
    /// now − its entry into the stage, seconds.
    pub stage_age_seconds: Option<i64>,
}

/// Cumulative flow diagram data: per UTC day of the window (up to now's
/// day), how many items are in each stage at the end of the day, and how
/// many have finished.
#[derive(Clone, Debug, Serialize)]
pub struct Cfd {
    /// Stage names, in flow order (the counts' order).
    pub stages: Vec<String>,
    /// Days between points: 1, or on windows longer than
    /// [`MAX_SERIES_POINTS`] days 7, 28, or a multiple of 364.
    pub step_days: u64,
    /// One entry per step: the state at the end of its last day.
    pub days: Vec<CfdDay>,
}

/// Most points of a per-day series (the CFD): a longer window is sampled
/// every week, every 28 days, or every multiple of 364 days, so that no
/// window, however long, answers more than this many points.
pub const MAX_SERIES_POINTS: u64 = 1000;

/// The days between two points of a series over `days` days: the smallest
/// of 1, 7, 28 and the multiples of 364 that gives at most
/// [`MAX_SERIES_POINTS`] points.
pub fn cfd_step_days(days: u64) -> u64 {
    [1, 7, 28]
        .into_iter()
        .find(|&step| days.div_ceil(step) <= MAX_SERIES_POINTS)
        .unwrap_or_else(|| 364 * days.div_ceil(364 * MAX_SERIES_POINTS).max(1))
}

/// One day of the CFD.
#[derive(Clone, Debug, Serialize)]
pub struct CfdDay {
    /// `2024-03-01`.
    pub date: String,
    /// Items in each stage at the end of the day.
    pub counts: Vec<u64>,
    /// Items finished by the end of the day since the window began.
    pub done: u64,
}

/// A point of the cycle-time scatterplot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScatterPoint<'a> {
    /// The item.
    pub case: &'a str,
    /// When it finished.
    #[serde(with = "serde_rfc3339")]
    pub finished: Timestamp,
    /// Its flow time, seconds.
    pub flow_time_seconds: i64,
}

/// Cycle-time scatterplot data: the items finished in the window, by finish
/// time (equal times in case order). Serialized as an array of
/// [`ScatterPoint`]s; held in columns, because large logs have millions of
/// points and a string each would cost an allocation each.
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    /// The case ids, one after another.
    text: String,
    /// Where each point's case id ends in `text`.
    ends: Vec<usize>,
    /// Each point's finish and flow time: the finish as `(finish − base)
    /// << 32 | case` when there is a base (the sort keys, kept), else as
    /// the finish's bits.
    points: Vec<(u64, i64)>,
    base: Option<Timestamp>,
}

impl PartialEq for Scatter {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Scatter {}

impl Scatter {
    /// How many points.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The point at `i`, if any.
    pub fn get(&self, i: usize) -> Option<ScatterPoint<'_>> {
        (i < self.len()).then(|| self.point(i))
    }

    fn point(&self, i: usize) -> ScatterPoint<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let (key, flow_time_seconds) = self.points[i];
        ScatterPoint {
            case: &self.text[start..self.ends[i]],
            finished: match self.base {
                Some(base) => base + (key >> 32) as i64,
                None => key as i64,
            },
            flow_time_seconds,
        }
    }

    /// Every point, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ScatterPoint<'_>> + Clone + '_ {
        (0..self.len()).map(|i| self.point(i))
    }
}

impl Serialize for Scatter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// One row of the overview of several streams.
#[derive(Clone, Debug, Serialize)]
pub struct OverviewRow {
    /// Rank, from 1.
    pub rank: usize,
    /// The stream.
    pub stream: String,
    /// Its bottleneck stage.
    pub stage: Option<String>,
    /// Its share.
    pub share: Option<f64>,
    /// Its median time, seconds.
    pub median_seconds: Option<f64>,
    /// Items aging in it.
    pub aging: usize,
    /// The stream's throughput per week.
    pub throughput_per_week: f64,
    /// The stream's median flow time.
    pub flow_time_median_seconds: Option<f64>,
}

/// Ranks streams by their bottleneck's median time (the delay a typical
/// item suffers there), longest first; streams without a bottleneck last;
/// ties by name.
pub fn overview(reports: &[&FlowReport]) -> Vec<OverviewRow> {
    let mut rows: Vec<OverviewRow> = reports
        .iter()
        .map(|r| OverviewRow {
            rank: 0,
            stream: r.source.stream.clone(),
            stage: r.bottleneck.as_ref().map(|b| b.stage.clone()),
            share: r.bottleneck.as_ref().map(|b| b.share),
            median_seconds: r
                .bottleneck
                .as_ref()
                .and_then(|b| b.evidence.median_seconds),
            aging: r.bottleneck.as_ref().map_or(0, |b| b.evidence.aging),
            throughput_per_week: r.flow.throughput_per_week,
            flow_time_median_seconds: r.flow.flow_time.median_seconds,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &OverviewRow| r.median_seconds.unwrap_or(f64::NEG_INFINITY);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.stream.cmp(&b.stream))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    rows
}

const NONE: u32 = u32::MAX;

/// A stay: an item in a stage from `enter` to `exit`.
#[derive(Clone, Copy, Debug)]
struct Stay {
    stage: StageIdx,
    enter: Timestamp,
    /// `NO_TIME` while the item is still there.
    exit: Timestamp,
    /// Activities: wait before the start (`NO_TIME` when unknown).
    wait: Timestamp,
    /// Activities: start to complete (`NO_TIME` when unknown).
    service: Timestamp,
    /// False for stays in done stages and after the flow's end.
    counted: bool,
}

/// One item's flow, as the model reads it.
#[derive(Default)]
struct Item {
    arrival: Option<Timestamp>,
    finish: Option<Timestamp>,
    stays: Vec<Stay>,
    /// Activities: the completion of a resolution-like activity before the
    /// flow's end, with its stage.
    resolution: Option<(StageIdx, Timestamp)>,
}

/// An activity occurrence.
#[derive(Clone, Copy, Debug)]
struct Occurrence {
    stage: StageIdx,
    start: Timestamp,
    complete: Timestamp,
}

/// The log grouped by case, each case's events in time order (equal times
/// keep their input order), with the log's oldest and newest times.
struct Grouped<'a> {
    /// The events in that order: the log's own when it is in that order
    /// already (each case's events together, cases in id order, times
    /// ascending: the usual file), else a copy in that order. Every pass
    /// after grouping reads them in order: through a permutation, each
    /// event of a time-ordered log (items interleaved, as tools export)
    /// would be a cache miss in every pass.
    events: Cow<'a, [Event]>,
    starts: Vec<usize>,
    /// Transitions: whether some item leaves each stage for another,
    /// found while checking the order (`None` on the other path).
    left: Option<Vec<bool>>,
    oldest: Option<Timestamp>,
    newest: Option<Timestamp>,
    /// Events per stage (to reserve room for stays).
    stage_events: Vec<usize>,
}

/// One case's events in time order.
#[derive(Clone, Copy)]
struct CaseEvents<'a> {
    events: &'a [Event],
}

impl<'a> CaseEvents<'a> {
    fn iter(self) -> impl Iterator<Item = Event> + 'a {
        self.events.iter().copied()
    }
}

fn group(log: &EventLog) -> Grouped<'_> {
    group_in_place(log).unwrap_or_else(|| group_by_sorting(log))
}

/// [`group`] of any log: a copy sorted by case, then time (stable).
fn group_by_sorting(log: &EventLog) -> Grouped<'_> {
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
fn group_in_place(log: &EventLog) -> Option<Grouped<'_>> {
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
    fn case(&self, c: usize) -> CaseEvents<'_> {
        CaseEvents {
            events: &self.events[self.starts[c]..self.starts[c + 1]],
        }
    }
}

/// A case's activity occurrences up to `now`: completed ones in
/// completion order, and open ones (started, not completed) in start order.
fn occurrences(
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

/// Which stages are done, and why.
fn done_stages(
    log: &EventLog,
    grouped: &Grouped,
    model: Model,
    settings: &FlowSettings,
) -> Vec<Option<&'static str>> {
    let n = log.stages.len();
    let mut reason: Vec<Option<&'static str>> = vec![None; n];
    for (i, name) in log.stages.iter().enumerate() {
        let configured = settings.done.iter().any(|d| d.eq_ignore_ascii_case(name));
        let by_name = settings.done.is_empty()
            && DEFAULT_DONE
                .iter()
                .any(|d| d.eq_ignore_ascii_case(name.trim()));
        if configured {
            reason[i] = Some("configured");
        } else if by_name {
            reason[i] = Some("name");
        }
    }
    // A stage that no item ever leaves (whole log, regardless of now).
    let mut left = vec![false; n];
    let mut completed = Vec::new();
    let mut open = Vec::new();
    if let (Model::Transitions, Some(found)) = (model, &grouped.left) {
        left.clone_from(found);
    }
    for c in 0..log.cases.len() {
        let events = grouped.case(c);
        match model {
            Model::Transitions if grouped.left.is_some() => break,
            Model::Transitions => {
                for (a, b) in events.iter().zip(events.iter().skip(1)) {
                    if a.stage != b.stage {
                        left[a.stage as usize] = true;
                    }
                }
            }
            Model::Activities => {
                occurrences(events, Timestamp::MAX, &mut completed, &mut open);
                let last = completed.len().saturating_sub(1);
                for o in completed.iter().take(last) {
                    left[o.stage as usize] = true;
                }
                // A started, unfinished activity is followed by nothing yet:
                // it does not make anything "left".
            }
        }
    }
    for i in 0..n {
        if reason[i].is_none() && !left[i] {
            reason[i] = Some("never_left");
        }
    }
    reason
}

/// Reads one case as transitions: its (stage, entry) rows up to now,
/// repeated stages collapsed, into `rows`; with its arrival, the index of
/// the first row of the final run of done rows (the flow's end) and the
/// finish (that row's entry) when the last row is done; `None` when it has
/// no row up to now. Every row before the final done run is a stay until
/// the next row; those in done stages are not counted.
fn transition_rows(
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
fn commit_rows(
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
fn skipped_start(
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
fn activities_item(
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

/// Per-stage accumulators.
#[derive(Clone, Default)]
struct StageAcc {
    durations: Seconds,
    waits: Seconds,
    services: Seconds,
    total: i64,
    halves: [i64; 2],
    /// Stays ended in each half.
    half_counts: [usize; 2],
    entries: i64,
    exits: i64,
    wip: usize,
    aging: usize,
    rank_sum: u64,
    rank_n: u64,
    seen: bool,
}

/// What one pass over the cases needs.
struct Scan<'a> {
    log: &'a EventLog,
    grouped: &'a Grouped<'a>,
    model: Model,
    now: Timestamp,
    done: &'a [bool],
    resolution_like: &'a [bool],
    /// The commitment point ([`FlowSettings::start`]).
    start: Option<StageIdx>,
    since: Timestamp,
    until: Timestamp,
    mid: Timestamp,
    cfd_start: Timestamp,
    /// CFD points (see [`cfd_step_days`]).
    cfd_days: usize,
    /// Seconds between CFD points: a day, or more on long windows.
    cfd_step: i64,
    /// The end of the last CFD point (the end of now's day, or `until`).
    cfd_end: Timestamp,
    /// `since` when the window is at most 2^32 seconds long (136 years):
    /// then a finish and a case fit in one number (see [`Finished`]).
    finish_base: Option<Timestamp>,
}

/// The items finished in the window, in case order: `(finish − base) << 32
/// | case` and the flow time when there is a base (see
/// [`Scan::finish_base`]); else (case, finish, flow time).
#[derive(Debug, Default, PartialEq, Eq)]
struct Finished {
    keys: Vec<(u64, i64)>,
    wide: Vec<(u32, Timestamp, i64)>,
}

impl Finished {
    fn reserve(&mut self, base: Option<Timestamp>, n: usize) {
        match base {
            Some(_) => self.keys.reserve(n),
            None => self.wide.reserve(n),
        }
    }

    fn push(&mut self, base: Option<Timestamp>, case: u32, finish: Timestamp, ft: i64) {
        match base {
            Some(base) => self
                .keys
                .push((((finish - base) as u64) << 32 | u64::from(case), ft)),
            None => self.wide.push((case, finish, ft)),
        }
    }

    /// Adds `other`, which covers later cases.
    fn append(&mut self, other: Finished) {
        self.keys.reserve_exact(other.keys.len());
        self.keys.extend(other.keys);
        self.wide.reserve_exact(other.wide.len());
        self.wide.extend(other.wide);
    }

    fn flow_times(&self) -> Vec<i64> {
        let keys = self.keys.iter().map(|k| k.1);
        keys.chain(self.wide.iter().map(|w| w.2)).collect()
    }
}

/// What a pass over some cases adds up.
struct Part {
    acc: Vec<StageAcc>,
    finished: Finished,
    wip_items: Vec<(u32, u32, i64, Option<i64>)>,
    arrived: usize,
    eff_active: i64,
    eff_wait: i64,
    eff_known: bool,
    lag_total: i64,
    lag_flow_total: i64,
    lag_by_stage: HashMap<StageIdx, i64>,
    after_now: usize,
    cfd_diff: Vec<Vec<i64>>,
    done_diff: Vec<i64>,
}

impl Part {
    fn new(stages: usize, cfd_days: usize) -> Part {
        Part {
            acc: vec![StageAcc::default(); stages],
            finished: Finished::default(),
            wip_items: Vec::new(),
            arrived: 0,
            eff_active: 0,
            eff_wait: 0,
            eff_known: false,
            lag_total: 0,
            lag_flow_total: 0,
            lag_by_stage: HashMap::new(),
            after_now: 0,
            cfd_diff: vec![vec![0; cfd_days + 1]; stages],
            done_diff: vec![0; cfd_days + 1],
        }
    }

    /// Adds `other`, which covers later cases.
    fn add(&mut self, other: Part) {
        for (a, b) in self.acc.iter_mut().zip(other.acc) {
            for (to, from) in [
                (&mut a.durations, b.durations),
                (&mut a.waits, b.waits),
                (&mut a.services, b.services),
            ] {
                to.append(from);
            }
            a.total += b.total;
            a.halves[0] += b.halves[0];
            a.halves[1] += b.halves[1];
            a.half_counts[0] += b.half_counts[0];
            a.half_counts[1] += b.half_counts[1];
            a.entries += b.entries;
            a.exits += b.exits;
            a.wip += b.wip;
            a.aging += b.aging;
            a.rank_sum += b.rank_sum;
            a.rank_n += b.rank_n;
            a.seen |= b.seen;
        }
        self.finished.append(other.finished);
        self.wip_items.extend(other.wip_items);
        self.arrived += other.arrived;
        self.eff_active += other.eff_active;
        self.eff_wait += other.eff_wait;
        self.eff_known |= other.eff_known;
        self.lag_total += other.lag_total;
        self.lag_flow_total += other.lag_flow_total;
        for (k, v) in other.lag_by_stage {
            *self.lag_by_stage.entry(k).or_default() += v;
        }
        self.after_now += other.after_now;
        for (a, b) in self.cfd_diff.iter_mut().zip(other.cfd_diff) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (x, y) in self.done_diff.iter_mut().zip(other.done_diff) {
            *x += y;
        }
    }
}

impl Scan<'_> {
    fn in_window(&self, t: Timestamp) -> bool {
        t != NO_TIME && (self.since..self.until).contains(&t)
    }

    /// The first CFD point whose end (start + (d + 1) steps, the last one
    /// ending at `cfd_end`) is at or after t; the point count when none is.
    fn first_day(&self, t: Timestamp) -> usize {
        if t > self.cfd_end {
            return self.cfd_days;
        }
        let step = self.cfd_step;
        let d = (t - self.cfd_start + step - 1).div_euclid(step) - 1;
        d.clamp(0, self.cfd_days as i64 - 1).max(0) as usize
    }

    fn run(&self, cases: std::ops::Range<usize>) -> Part {
        let log = self.log;
        let (now, mid, cfd_days) = (self.now, self.mid, self.cfd_days);
        let stage_count = log.stages.len();
        let mut part = Part::new(stage_count, cfd_days);
        let Part {
            acc,
            finished,
            wip_items,
            arrived,
            eff_active,
            eff_wait,
            eff_known,
            lag_total,
            lag_flow_total,
            lag_by_stage,
            after_now,
            cfd_diff,
            done_diff,
        } = &mut part;
        // Room for this part's share of each stage's events (a stay per
        // event at most, in a log whose stages are spread over its cases):
        // vectors that grow by doubling copy and fault in memory again.
        let (first, end) = (
            self.grouped.starts[cases.start],
            self.grouped.starts[cases.end],
        );
        // The first part gets room for all: the others are appended to it.
        let share = if cases.start == 0 {
            1.0
        } else {
            (end - first) as f64 / self.grouped.events.len().max(1) as f64
        };
        for (a, &n) in acc.iter_mut().zip(&self.grouped.stage_events) {
            let room = (n as f64 * share * 1.05) as usize + 16;
            a.durations.reserve(room);
            if self.model == Model::Activities {
                a.waits.reserve(room);
                a.services.reserve(room);
            }
        }
        let all = self.grouped.starts.len() - 1;
        finished.reserve(
            self.finish_base,
            if cases.start == 0 { all } else { cases.len() },
        );
        let mut mark = vec![NONE; stage_count];
        let mut rows = Vec::new();
        let mut item = Item::default();
        let mut completed = Vec::new();
        let mut open = Vec::new();
        for c in cases {
            let events = self.grouped.case(c);
            // Nothing is after now when now is the newest time (the default).
            if self.grouped.newest.is_some_and(|newest| newest > now) {
                *after_now += events.iter().filter(|e| e.start.max(e.time) > now).count();
            }
            // The case as stays: transitions straight from its rows (no
            // list of stays), activities from the list `activities_item`
            // makes.
            let (arrival, run, finish, resolution) = match self.model {
                Model::Transitions => match transition_rows(events, now, self.done, &mut rows)
                    .and_then(|(arrival, run, finish)| {
                        let (arrival, run) = commit_rows(&mut rows, arrival, run, self.start)?;
                        Some((arrival, run, finish))
                    }) {
                    Some((arrival, run, finish)) => (arrival, run, finish, None),
                    None => continue,
                },
                Model::Activities => {
                    activities_item(
                        events,
                        now,
                        self.done,
                        self.resolution_like,
                        self.start,
                        &mut completed,
                        &mut open,
                        &mut item,
                    );
                    match item.arrival {
                        Some(arrival) => (arrival, 0, item.finish, item.resolution),
                        None => continue,
                    }
                }
            };
            if self.in_window(arrival) {
                *arrived += 1;
            }
            // Flow order: the position of each stage's first stay in the case.
            let mut pos = 0u64;
            let mut current: Option<Stay> = None;
            let mut visit = |s: Stay| {
                let a = &mut acc[s.stage as usize];
                if mark[s.stage as usize] != c as u32 {
                    mark[s.stage as usize] = c as u32;
                    a.rank_sum += pos;
                    a.rank_n += 1;
                    pos += 1;
                }
                a.seen = true;
                if !s.counted {
                    return;
                }
                if self.in_window(s.enter) {
                    a.entries += 1;
                }
                if s.exit == NO_TIME {
                    current = Some(s);
                } else if self.in_window(s.exit) {
                    a.exits += 1;
                    let d = s.exit - s.enter;
                    a.durations.push(d);
                    a.total += d;
                    a.halves[usize::from(s.exit >= mid)] += d;
                    a.half_counts[usize::from(s.exit >= mid)] += 1;
                    if s.wait != NO_TIME {
                        a.waits.push(s.wait);
                    }
                    if s.service != NO_TIME {
                        a.services.push(s.service);
                        *eff_known = true;
                        *eff_active += s.service;
                        if s.wait != NO_TIME {
                            *eff_wait += s.wait;
                        }
                    }
                }
                if cfd_days > 0 {
                    let lo = self.first_day(s.enter);
                    let hi = if s.exit == NO_TIME {
                        cfd_days
                    } else {
                        self.first_day(s.exit)
                    };
                    if lo < hi {
                        cfd_diff[s.stage as usize][lo] += 1;
                        cfd_diff[s.stage as usize][hi] -= 1;
                    }
                }
            };
            match self.model {
                Model::Transitions => {
                    // A stay per row before the final run of done rows,
                    // until the next row.
                    for i in 0..run {
                        let (stage, enter) = rows[i];
                        visit(Stay {
                            stage,
                            enter,
                            exit: rows.get(i + 1).map_or(NO_TIME, |r| r.1),
                            wait: NO_TIME,
                            service: NO_TIME,
                            counted: !self.done[stage as usize],
                        });
                    }
                }
                Model::Activities => item.stays.iter().for_each(|&s| visit(s)),
            }
            let current = current;
            match finish {
                Some(finish) => {
                    if self.in_window(finish) {
                        let ft = finish - arrival;
                        finished.push(self.finish_base, c as u32, finish, ft);
                        if cfd_days > 0 {
                            done_diff[self.first_day(finish)] += 1;
                        }
                        if let Some((stage, at)) = resolution {
                            let lag = finish - at;
                            *lag_total += lag;
                            *lag_by_stage.entry(stage).or_default() += lag;
                        }
                        *lag_flow_total += ft;
                    }
                }
                None => {
                    let stage = current.map_or(NONE, |s| s.stage);
                    if stage != NONE {
                        acc[stage as usize].wip += 1;
                    }
                    wip_items.push((
                        c as u32,
                        stage,
                        now - arrival,
                        current.map(|s| now - s.enter),
                    ));
                }
            }
        }
        part
    }
}

/// Computes the flow report.
// About 400 lines of setup, one parallel scan and the figures' assembly in
// flow order; not yet cut into named steps (left for a later commit).
pub fn flow_report(log: &EventLog, settings: &FlowSettings) -> Result<FlowReport, FlowError> {
    let grouped = group(log);
    let (Some(newest), Some(oldest)) = (grouped.newest, grouped.oldest) else {
        return Err(FlowError::Empty);
    };
    let start = settings.start.as_slice();
    for (what, names) in [
        ("--done", &settings.done[..]),
        ("--active", &settings.active[..]),
        ("--wait", &settings.wait[..]),
        ("--start", start),
    ] {
        for name in names {
            if !log.stages.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(FlowError::UnknownStage {
                    what,
                    name: name.clone(),
                    stages: log
                        .stages
                        .iter()
                        .map(|s| format!("\"{s}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let model = match settings.model {
        ModelChoice::Fixed(m) => m,
        ModelChoice::Auto => {
            if log.shape.lifecycle || log.shape.start_times || log.shape.xes {
                Model::Activities
            } else {
                Model::Transitions
            }
        }
    };
    let now = settings.now.unwrap_or(newest);
    let (since, until, selection) = resolve_window(
        settings.window,
        oldest,
        newest,
        DefaultStart::NotBeforeFirstEvent,
    )?;
    let mid = since + (until - since) / 2;
    let weeks = (until - since) as f64 / WEEK as f64;

    let done_reason = done_stages(log, &grouped, model, settings);
    let done: Vec<bool> = done_reason.iter().map(Option::is_some).collect();
    let stage_count = log.stages.len();
    let resolution_re = resolution_regex();
    let resolution_like: Vec<bool> = log
        .stages
        .iter()
        .map(|s| resolution_re.is_match(s))
        .collect();
    let category: Vec<Option<&'static str>> = log
        .stages
        .iter()
        .map(|s| {
            if settings.active.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                Some("active")
            } else if settings.wait.iter().any(|w| w.eq_ignore_ascii_case(s)) {
                Some("wait")
            } else {
                None
            }
        })
        .collect();

    // CFD points: the window's days up to the end of now's day, a point
    // every day, or every few days on long windows.
    let cfd_end = until.min(time::day_floor(now) + DAY);
    let cfd_start = time::day_floor(since);
    let window_days = if cfd_end > cfd_start {
        ((cfd_end - cfd_start + DAY - 1) / DAY) as u64
    } else {
        0
    };
    let start_stage = settings
        .start
        .as_ref()
        .and_then(|name| log.stages.iter().position(|s| s.eq_ignore_ascii_case(name)))
        .map(|s| s as StageIdx);
    let cfd_step_days = cfd_step_days(window_days);
    let cfd_days = window_days.div_ceil(cfd_step_days) as usize;
    let cfd_step = cfd_step_days as i64 * DAY;
    let scan = Scan {
        log,
        grouped: &grouped,
        model,
        now,
        done: &done,
        resolution_like: &resolution_like,
        start: start_stage,
        since,
        until,
        mid,
        cfd_start,
        cfd_days,
        cfd_step,
        cfd_end: cfd_start + window_days as i64 * DAY,
        finish_base: (until.abs_diff(since) <= 1 << 32).then_some(since),
    };
    // Cases are independent: halves of them are read on separate cores and
    // the parts added up in case order, so the result is the same.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(log.cases.len().div_ceil(10_000))
        .max(1);
    let cases = log.cases.len();
    let parts: Vec<Part> = if threads == 1 {
        vec![scan.run(0..cases)]
    } else {
        let chunk = cases.div_ceil(threads);
        std::thread::scope(|scope| {
            let scan = &scan;
            let handles: Vec<_> = (1..threads)
                .map(|t| scope.spawn(move || scan.run(t * chunk..((t + 1) * chunk).min(cases))))
                .collect();
            let mut parts = vec![scan.run(0..chunk.min(cases))];
            for h in handles {
                parts.push(joined(h));
            }
            parts
        })
    };
    let mut parts = parts.into_iter();
    let mut part = parts
        .next()
        .unwrap_or_else(|| Part::new(stage_count, cfd_days));
    for p in parts {
        part.add(p);
    }
    let Part {
        mut acc,
        finished,
        mut wip_items,
        arrived,
        eff_active,
        eff_wait,
        eff_known,
        lag_total,
        lag_flow_total,
        lag_by_stage,
        after_now,
        cfd_diff,
        done_diff,
    } = part;

    // Flow time and aging.
    let mut flow_times = finished.flow_times();
    let completed_count = flow_times.len();
    let [ft_median, ft_p85] = percentiles_unsorted(&mut flow_times, [50, 85]);
    drop(flow_times);
    let mut aging_items = 0;
    if let Some(threshold) = ft_p85 {
        for &(_, stage, age, _) in &wip_items {
            if age as f64 > threshold {
                aging_items += 1;
                if stage != NONE {
                    acc[stage as usize].aging += 1;
                }
            }
        }
    }

    // Stage order and statistics.
    let mut order: Vec<usize> = (0..stage_count)
        .filter(|&s| acc[s].seen && (model == Model::Activities || !done[s]))
        .collect();
    let mean_rank = |s: usize| {
        if acc[s].rank_n == 0 {
            f64::INFINITY
        } else {
            acc[s].rank_sum as f64 / acc[s].rank_n as f64
        }
    };
    order.sort_by(|&a, &b| {
        done[a]
            .cmp(&done[b])
            .then(mean_rank(a).total_cmp(&mean_rank(b)))
            .then(a.cmp(&b))
    });
    let grand_total: i64 = order.iter().map(|&s| acc[s].total).sum();
    let half_totals = [0, 1].map(|h| order.iter().map(|&s| acc[s].halves[h]).sum::<i64>());
    // Every stage's durations, waits and services are summarized on all
    // cores (selecting order statistics is most of the work); the result does not depend
    // on how many there are.
    // The shares' bootstrap intervals (docs/metrics.md), before the stays'
    // durations go to the summaries.
    let samples: Vec<ShareSample> = order
        .iter()
        .map(|&s| acc[s].durations.share_sample())
        .collect();
    let parts: Vec<crate::stats::SharePart<'_>> = samples.iter().map(ShareSample::part).collect();
    let share_cis = crate::stats::share_intervals_of(&parts);
    drop(parts);
    drop(samples);
    let mut jobs: Vec<(Seconds, bool)> = Vec::new();
    for &s in &order {
        let a = &mut acc[s];
        jobs.push((std::mem::take(&mut a.durations), true));
        jobs.push((std::mem::take(&mut a.waits), false));
        jobs.push((std::mem::take(&mut a.services), false));
    }
    let summaries = summarize_all(jobs);
    let mut stages = Vec::with_capacity(order.len());
    for (k, &s) in order.iter().enumerate() {
        let a = &acc[s];
        let Summarized {
            median,
            p85,
            median_ci,
        } = summaries[3 * k];
        let (wait_median, service_median) = if model == Model::Activities {
            (
                Some(summaries[3 * k + 1].median),
                Some(summaries[3 * k + 2].median),
            )
        } else {
            (None, None)
        };
        stages.push(FlowStage {
            name: log.stages.get(s as u32).to_owned(),
            count: a.exits as usize,
            median_seconds: median,
            p85_seconds: p85,
            median_ci_seconds: median_ci,
            total_seconds: a.total as f64,
            share: (grand_total > 0).then(|| a.total as f64 / grand_total as f64),
            share_ci: share_cis[k].filter(|_| grand_total > 0),
            wait_median_seconds: wait_median,
            service_median_seconds: service_median,
            category: category[s],
            wip: a.wip,
            aging: a.aging,
            net_flow_per_week: (a.entries - a.exits) as f64 / weeks,
        });
    }

    // Flow efficiency.
    let efficiency = if !settings.active.is_empty() || !settings.wait.is_empty() {
        let active: f64 = stages
            .iter()
            .filter(|s| s.category == Some("active"))
            .map(|s| s.total_seconds)
            .sum();
        let wait: f64 = stages
            .iter()
            .filter(|s| s.category == Some("wait"))
            .map(|s| s.total_seconds)
            .sum();
        Some(Efficiency {
            ratio: (active + wait > 0.0).then(|| active / (active + wait)),
            basis: "stage_categories",
            active_seconds: active,
            wait_seconds: wait,
        })
    } else if eff_known {
        let (a, w) = (eff_active as f64, eff_wait as f64);
        Some(Efficiency {
            ratio: (a + w > 0.0).then(|| a / (a + w)),
            basis: "service_wait",
            active_seconds: a,
            wait_seconds: w,
        })
    } else {
        None
    };

    let bottleneck = bottleneck(&stages, &order, &acc, half_totals, model);

    // Work in progress, oldest first.
    wip_items.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let oldest_wip = wip_items
        .iter()
        .take(10)
        .map(|&(c, stage, age, stage_age)| WipItem {
            case: log.cases.get(c).to_owned(),
            stage: (stage != NONE).then(|| log.stages.get(stage).to_owned()),
            age_seconds: age,
            stage_age_seconds: stage_age,
        })
        .collect();

    // CFD.
    let cfd_stages: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&s| !done[s] || model == Model::Activities)
        .collect();
    let mut running = vec![0i64; stage_count];
    let mut done_running = 0i64;
    let mut days = Vec::with_capacity(cfd_days);
    for d in 0..cfd_days {
        for &s in &cfd_stages {
            running[s] += cfd_diff[s][d];
        }
        done_running += done_diff[d];
        let last_day = (cfd_start + (d as i64 + 1) * cfd_step - DAY)
            .min(cfd_start + (window_days as i64 - 1) * DAY);
        days.push(CfdDay {
            date: time::date(last_day),
            counts: cfd_stages
                .iter()
                .map(|&s| running[s].max(0) as u64)
                .collect(),
            done: done_running.max(0) as u64,
        });
    }

    // Notices.
    let mut notices = Vec::new();
    let never_left: Vec<String> = (0..stage_count)
        .filter(|&s| done_reason[s] == Some("never_left"))
        .map(|s| format!("\"{}\"", log.stages.get(s as u32)))
        .collect();
    if !never_left.is_empty() {
        notices.push(Notice {
            code: "done_never_left",
            message: format!(
                "{} counted as done because no item ever leaves {}; name the done stages with --done if that is wrong",
                never_left.join(", "),
                if never_left.len() == 1 { "it" } else { "them" }
            ),
        });
    }
    if let Some(start) = start_stage {
        let skipped = skipped_start(&grouped, log.cases.len(), now, &done, start);
        if skipped > 0 {
            notices.push(Notice {
                code: "skipped_start",
                message: format!(
                    "{} finished without entering \"{}\", the commitment point, and {} left out of the flow; pass an earlier --start if {}",
                    plural(skipped, "item", "items"),
                    log.stages.get(start),
                    if skipped == 1 { "is" } else { "are" },
                    if skipped == 1 { "it belongs" } else { "they belong" },
                ),
            });
        }
    }
    let skipped: usize = log.sources.iter().map(|s| s.skipped_lifecycle).sum();
    if skipped > 0 {
        notices.push(Notice {
            code: "skipped_lifecycle",
            message: format!(
                "{skipped} events with a lifecycle other than start or complete (schedule, suspend, ...) were skipped"
            ),
        });
    }
    if after_now > 0 {
        notices.push(Notice {
            code: "events_after_now",
            message: format!(
                "{after_now} events after now ({}) were left out",
                time::rfc3339(now)
            ),
        });
    }
    if completed_count == 0 {
        notices.push(Notice {
            code: "no_completed_items",
            message: "no item finished in the window, so there is no flow time, throughput or aging; widen the window with --all or check the done stages (--done)".to_owned(),
        });
    }
    if lag_flow_total > 0
        && lag_total * 2 > lag_flow_total
        && let Some((&stage, _)) = lag_by_stage
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
    {
        let name = log.stages.get(stage);
        notices.push(Notice {
            code: "admin_lag",
            message: format!(
                "{:.0}% of the flow time of finished items comes after \"{name}\", which looks like resolution: that is administrative lag, not work; pass --done \"{name}\" to end the flow there",
                lag_total as f64 * 100.0 / lag_flow_total as f64
            ),
        });
    }
    if model == Model::Transitions && efficiency.is_none() {
        notices.push(Notice {
            code: "no_stage_categories",
            message: "flow efficiency needs to know which stages are work and which are waiting: pass --active and --wait, or set categories in nextneck.toml".to_owned(),
        });
    }
    if let Some(b) = bottleneck.as_ref().filter(|b| b.too_few_to_call) {
        notices.push(Notice {
            code: "too_few_for_bottleneck",
            message: format!(
                "{} is the largest stage, but {} too few to call it the bottleneck (at least {} needed)",
                b.stage,
                plural(b.evidence.count, "stay is", "stays are"),
                minimum::BOTTLENECK_ITEMS
            ),
        });
    }

    Ok(FlowReport {
        schema_version: SCHEMA_VERSION,
        kind: "flow",
        source: FlowSource {
            kind: "eventlog",
            stream: settings.stream.clone(),
            files: log.sources.iter().map(|s| s.path.clone()).collect(),
            events: log.events.len(),
            items: log.cases.len(),
        },
        model,
        window: Window {
            since,
            until,
            days: (until - since) as f64 / DAY as f64,
            selection,
        },
        now,
        done_stages: (0..stage_count)
            .filter_map(|s| {
                done_reason[s].map(|reason| DoneStage {
                    name: log.stages.get(s as u32).to_owned(),
                    reason,
                })
            })
            .collect(),
        stages,
        bottleneck,
        flow: Flow {
            arrived,
            completed: completed_count,
            wip: wip_items.len(),
            throughput_per_week: completed_count as f64 / weeks,
            net_flow_per_week: (arrived as f64 - completed_count as f64) / weeks,
            flow_time: FlowTime {
                count: completed_count,
                median_seconds: ft_median,
                p85_seconds: ft_p85,
            },
            aging: Aging {
                threshold_seconds: ft_p85,
                items: aging_items,
            },
            efficiency,
            oldest_wip,
        },
        cfd: Cfd {
            step_days: cfd_step_days,
            stages: cfd_stages
                .iter()
                .map(|&s| log.stages.get(s as u32).to_owned())
                .collect(),
            days,
        },
        scatter: scatter_by_finish(log, finished, scan.finish_base),
        notices,
    })
}

/// The finish times of every item finished at or before `now` (whole log,
/// no window), for forecasts; with the newest and oldest event times.
pub fn completions(
    log: &EventLog,
    settings: &FlowSettings,
) -> Result<(Vec<Timestamp>, Timestamp, Timestamp), FlowError> {
    let mut all = settings.clone();
    all.window = WindowSpec::All;
    let report = flow_report(log, &all)?;
    // The scatter holds the window's finished items; with the whole log as
    // the window that is every finished item.
    let finishes = report.scatter.iter().map(|p| p.finished).collect();
    let (Some(newest), Some(oldest)) = (log.newest(), log.oldest()) else {
        return Err(FlowError::Empty);
    };
    Ok((finishes, newest, oldest))
}

/// A worker's result; a worker's panic is re-raised here, never turned
/// into an empty part that would give silently wrong figures.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn resolution_regex() -> Regex {
    Regex::new(r"(?i)\b(resolve[sd]?|resolution|solved?|fix(ed)?|done|complete[sd]?|finish(ed)?)\b")
        .expect("the resolution pattern compiles")
}

fn bottleneck(
    stages: &[FlowStage],
    order: &[usize],
    acc: &[StageAcc],
    half_totals: [i64; 2],
    model: Model,
) -> Option<FlowBottleneck> {
    let mut ranked: Vec<usize> = (0..stages.len())
        .filter(|&i| stages[i].share.is_some_and(|s| s > 0.0))
        .collect();
    // Largest share first; ties: earlier in flow order.
    ranked.sort_by(|&a, &b| {
        let (sa, sb) = (
            stages[a].share.unwrap_or(0.0),
            stages[b].share.unwrap_or(0.0),
        );
        sb.total_cmp(&sa).then(a.cmp(&b))
    });
    let &top = ranked.first()?;
    let st = &stages[top];
    let a = &acc[order[top]];
    let [first, second] = common::half_shares(a.halves, half_totals);
    let trend = common::trend([first, second], a.half_counts);
    let next = ranked.get(1).map(|&i| {
        let share = stages[i].share.unwrap_or(0.0);
        NextStage {
            stage: stages[i].name.clone(),
            share,
            median_seconds: stages[i].median_seconds,
            within_interval: common::within(st.share_ci, share),
        }
    });
    let share = st.share.unwrap_or(0.0);
    let too_few_to_call = st.count < minimum::BOTTLENECK_ITEMS;
    let wait_median = match model {
        Model::Activities => st.wait_median_seconds.flatten(),
        Model::Transitions => st.median_seconds,
    };
    let mut summary = holds_sentence(&Holds {
        stage: &st.name,
        share,
        share_ci: st.share_ci,
        median: st.median_seconds,
        p85: st.p85_seconds,
        count: st.count,
        of: "item time",
        item: ["stay", "stays"],
        too_few: too_few_to_call.then_some(st.count),
    });
    if model == Model::Activities {
        summary.push_str(&format!(
            "; median wait before it {}",
            human_or_na(st.wait_median_seconds.flatten())
        ));
    }
    if st.net_flow_per_week > 0.0 {
        summary.push_str(&format!(
            "; its queue grows by {:.1} items/week",
            st.net_flow_per_week
        ));
    } else {
        summary.push_str("; its queue is not growing");
    }
    if st.wip > 0 {
        summary.push_str(&format!(
            "; {} of {} items in it are older than the p85 flow time",
            st.aging, st.wip
        ));
    }
    summary.push_str(&trend_words(trend, [first, second], a.half_counts, "stays"));
    match &next {
        Some(n) => summary.push_str(&runner_up_words(&st.name, st.share_ci, &n.stage, n.share)),
        None => summary.push_str("; no other stage holds time"),
    }
    Some(FlowBottleneck {
        stage: st.name.clone(),
        share,
        share_ci: st.share_ci,
        too_few_to_call,
        evidence: FlowEvidence {
            median_seconds: st.median_seconds,
            p85_seconds: st.p85_seconds,
            count: st.count,
            wait_median_seconds: wait_median,
            net_flow_per_week: st.net_flow_per_week,
            queue_growing: st.net_flow_per_week > 0.0,
            wip: st.wip,
            aging: st.aging,
            first_half_share: first,
            second_half_share: second,
            half_stays: a.half_counts,
            trend,
            summary,
        },
        next,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The radix sort orders by the high 32 bits and keeps the order of
    /// equal ones, as a stable sort does.
    #[test]
    fn radix_sort_is_a_stable_sort_by_the_high_bits() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for (n, spread) in [
            (0, 1),
            (1, 1),
            (1000, 1),
            (5000, 3),
            (20_000, 1 << 20),
            (20_000, 1 << 32),
        ] {
            let keys: Vec<(u64, i64)> = (0..n)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % spread) << 32 | i as u64, i as i64)
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort_by_key(|k| k.0 >> 32);
            let mut sorted = keys;
            radix_sort_high(&mut sorted);
            assert_eq!(sorted, expected, "{n} {spread}");
        }
    }

    /// The scatterplot is by finish time, equal times in case order, for
    /// finish times close together (radix sort) or far apart.
    #[test]
    fn scatter_is_by_finish_then_case() {
        // Small and large (read in two halves), as keys (close together) or
        // not (far apart).
        for (far, n) in [
            (0i64, 300u32),
            (1 << 33, 300),
            (0, 250_000),
            (1 << 33, 250_000),
        ] {
            let mut log = EventLog::default();
            let base = (far == 0).then_some(-5000);
            let mut finished = Finished::default();
            let mut expected = Vec::new();
            for c in 0..n {
                let case = log.cases.intern(&format!("c{c}"));
                let finish = i64::from(c % 7) * 1000 - 5000 + if c % 2 == 1 { far } else { 0 };
                finished.push(base, case, finish, i64::from(c));
                expected.push((case, finish, i64::from(c)));
            }
            expected.sort_by_key(|p| p.1);
            let scatter = scatter_by_finish(&log, finished, base);
            let got: Vec<(String, i64, i64)> = scatter
                .iter()
                .map(|p| (p.case.to_owned(), p.finished, p.flow_time_seconds))
                .collect();
            let expected: Vec<(String, i64, i64)> = expected
                .into_iter()
                .map(|(c, f, ft)| (log.cases.get(c).to_owned(), f, ft))
                .collect();
            assert_eq!(got, expected, "{far} {n}");
        }
    }

    /// A log in order is grouped in place (in two halves when large) as
    /// sorting would group it; one out of order, anywhere, is sorted.
    #[test]
    fn grouping_in_place_is_grouping_by_sorting() {
        let build = |n: usize| {
            let mut log = EventLog::default();
            for s in ["a", "b", "c"] {
                log.stages.intern(s);
            }
            let mut case = 0u32;
            while log.events.len() < n {
                let id = log.cases.intern(&format!("c{case}"));
                // Cases of 1 to 4 events, and one case with no event.
                if case == 7 {
                    log.cases.intern("no events");
                }
                for k in 0..(1 + case % 4) {
                    log.events.push(Event {
                        start: if k == 1 { 5 } else { NO_TIME },
                        time: i64::from(case % 1000) * 100 + i64::from(k / 2),
                        case: id,
                        stage: (case + k) % 3,
                    });
                }
                case += 1;
            }
            log.events.truncate(n);
            log
        };
        let same = |log: &EventLog, in_place: bool| {
            let (a, b) = (group_in_place(log), group_by_sorting(log));
            assert_eq!(a.is_some(), in_place);
            let Some(a) = a else { return };
            assert_eq!(a.starts, b.starts);
            assert_eq!((a.oldest, a.newest), (b.oldest, b.newest));
            assert_eq!(a.stage_events, b.stage_events);
            let mut left = vec![false; log.stages.len()];
            for c in 0..log.cases.len() {
                let (x, y) = (a.case(c), b.case(c));
                assert_eq!(x.iter().collect::<Vec<_>>(), y.iter().collect::<Vec<_>>());
                for (e, f) in y.iter().zip(y.iter().skip(1)) {
                    left[e.stage as usize] |= e.stage != f.stage;
                }
            }
            assert_eq!(a.left, Some(left));
        };
        // Large enough for two halves; the middle inside a case or not.
        let mut spans = [false; 2];
        for n in (1 << 20) + 1001..(1 << 20) + 1005 {
            let log = build(n);
            let mid = n / 2;
            spans[usize::from(log.events[mid - 1].case == log.events[mid].case)] = true;
            same(&log, true);
            // The event after the middle goes back in time or to an earlier
            // case; or an event far from it does.
            for (at, change) in [(mid, 0), (mid, 1), (mid + 2, 0), (17, 0), (n - 2, 1)] {
                let mut bad = log.clone();
                let before = bad.events[at - 1];
                if change == 0 {
                    bad.events[at].case = before.case;
                    bad.events[at].time = before.time - 1;
                    bad.events[at].start = NO_TIME;
                } else {
                    bad.events[at].case = before.case - 1;
                }
                same(&bad, false);
            }
        }
        assert_eq!(spans, [true, true]);
    }

    /// Durations are kept narrow while they fit and widened when one does
    /// not (negative, or 136 years and more), in any order of pushing and
    /// appending, with the same values and order statistics.
    #[test]
    fn seconds_widen_when_a_value_does_not_fit() {
        let values: [&[i64]; 4] = [
            &[5, 0, 3, 9, 1],
            &[7, -1, 2],
            &[1 << 32, 4],
            &[(1 << 32) - 1, 6],
        ];
        for a in values {
            for b in values {
                let mut x = Seconds::default();
                a.iter().for_each(|&v| x.push(v));
                let mut y = Seconds::default();
                b.iter().for_each(|&v| y.push(v));
                let narrow = |s: &Seconds| matches!(s, Seconds::Narrow(_));
                assert_eq!(narrow(&x), a.iter().all(|&v| (0..1 << 32).contains(&v)));
                x.append(y);
                let all: Vec<i64> = a.iter().chain(b).copied().collect();
                assert_eq!(x.to_vec(), all);
                assert_eq!(x.len(), all.len());
                let [m, p] = percentiles_unsorted(&mut all.clone(), [50, 85]);
                let mut sorted: Vec<f64> = all.iter().map(|&v| v as f64).collect();
                sorted.sort_by(f64::total_cmp);
                let ci = crate::stats::median_interval(&sorted);
                assert_eq!(
                    median_p85(x, true),
                    Summarized {
                        median: m,
                        p85: p,
                        median_ci: ci
                    }
                );
            }
        }
    }

    #[test]
    fn series_steps_keep_points_bounded() {
        let check = |days: u64, step: u64| {
            assert_eq!(cfd_step_days(days), step, "{days} days");
            assert!(days.div_ceil(step) <= MAX_SERIES_POINTS, "{days} days");
        };
        check(0, 1);
        check(30, 1);
        check(1000, 1);
        check(1001, 7);
        check(7000, 7);
        check(7001, 28);
        check(28_000, 28);
        check(28_001, 364);
        check(364_000, 364);
        check(364_001, 728);
        // Year 1 to year 9000.
        check(3_286_826, 364 * 10);
    }

    /// Parts of cases added up give what one pass over all of them gives.
    #[test]
    fn parts_add_up() {
        let mut log = EventLog::default();
        let stages = ["new", "doing", "review", "done"];
        for c in 0..500u32 {
            let case = log.cases.intern(&format!("c{c}"));
            let mut t = i64::from(c) * 3_600;
            for (k, stage) in stages.iter().enumerate().take(1 + (c as usize * 7) % 4) {
                let stage = log.stages.intern(stage);
                log.events.push(Event {
                    start: NO_TIME,
                    time: t,
                    case,
                    stage,
                });
                t += 600 * (1 + (i64::from(c) * 13 + k as i64) % 17);
            }
        }
        let grouped = group(&log);
        let done = vec![false, false, false, true];
        let scan = Scan {
            log: &log,
            grouped: &grouped,
            model: Model::Transitions,
            now: log.newest().unwrap(),
            done: &done,
            resolution_like: &[false; 4],
            start: None,
            since: 0,
            until: 100 * DAY,
            mid: 50 * DAY,
            cfd_start: 0,
            cfd_days: 30,
            cfd_step: DAY,
            cfd_end: 30 * DAY,
            finish_base: Some(0),
        };
        let whole = scan.run(0..500);
        let mut split = scan.run(0..123);
        split.add(scan.run(123..400));
        split.add(scan.run(400..500));
        assert_eq!(whole.finished, split.finished);
        assert_eq!(whole.wip_items, split.wip_items);
        assert_eq!(whole.cfd_diff, split.cfd_diff);
        assert_eq!(whole.done_diff, split.done_diff);
        assert_eq!(whole.arrived, split.arrived);
        for (a, b) in whole.acc.iter().zip(&split.acc) {
            assert_eq!(a.durations.to_vec(), b.durations.to_vec());
            assert_eq!(
                (a.total, a.halves, a.entries, a.exits, a.wip),
                (b.total, b.halves, b.entries, b.exits, b.wip)
            );
            assert_eq!((a.rank_sum, a.rank_n), (b.rank_sum, b.rank_n));
        }
        assert!(whole.finished.keys.len() > 100);
        // Finished items kept as (case, finish, flow time), as for windows
        // of 136 years and more, give the same flow times and scatterplot.
        let wide = Scan {
            finish_base: None,
            ..scan
        }
        .run(0..500);
        assert!(wide.finished.keys.is_empty());
        let sorted = |mut v: Vec<i64>| {
            v.sort_unstable();
            v
        };
        assert_eq!(
            sorted(whole.finished.flow_times()),
            sorted(wide.finished.flow_times())
        );
        assert_eq!(
            scatter_by_finish(&log, whole.finished, Some(0)),
            scatter_by_finish(&log, wide.finished, None)
        );
    }
}
