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
//!
//! [`flow_report`] below is the pipeline; each step lives in its module:
//! [`group`] (the log by case, in time order), [`setup`] (the settings
//! resolved against the log), [`items`] (how a model reads one item into
//! stays), [`scan`] (one pass over the cases, on all cores), [`wip`] (flow
//! time, aging, the oldest work in progress), [`stages`] (flow order, the
//! stages' figures, flow efficiency; [`summaries`] holds their order
//! statistics), [`bottleneck`], [`cfd`], [`scatter`] and [`notices`].

use nextneck_model::Timestamp;
use nextneck_model::flow::EventLog;
use serde::Serialize;

use crate::report::SCHEMA_VERSION;
use crate::time::{DAY, serde_rfc3339};
use crate::types::{EmptyWindow, Notice, Window, WindowSpec};

mod bottleneck;
mod cfd;
mod group;
mod items;
mod notices;
mod scan;
mod scatter;
mod setup;
mod stages;
mod summaries;
mod wip;

pub use cfd::{MAX_SERIES_POINTS, cfd_step_days};

use bottleneck::bottleneck;
use group::group;
use scan::Scan;
use scatter::scatter_by_finish;
use setup::Setup;

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

/// No stage: an item in progress with no open stay.
const NONE: u32 = u32::MAX;

/// Computes the flow report: one call per step.
pub fn flow_report(log: &EventLog, settings: &FlowSettings) -> Result<FlowReport, FlowError> {
    // 1. The log grouped by case, each case's events in time order.
    let grouped = group(log);
    // 2. The settings resolved against the log: model, now, window, done
    //    stages, the commitment point, the CFD's points.
    let setup = Setup::resolve(log, &grouped, settings)?;
    // 3. One pass over the cases, on all cores.
    let scan = Scan::new(log, &grouped, &setup);
    let mut part = scan.all();
    // 4. Flow time, and the work in progress older than its p85.
    let flow_time = wip::flow_time(&part.finished);
    let aging = wip::aging(&part.wip_items, flow_time.p85_seconds, &mut part.acc);
    // 5. The stages in flow order, with their figures.
    let order = stages::flow_order(&part.acc, &setup.done, setup.model);
    let half_totals = stages::half_totals(&order, &part.acc);
    let stages = stages::figures(log, &order, &mut part.acc, &setup);
    // 6. Flow efficiency.
    let efficiency = stages::efficiency(settings, &stages, &part);
    // 7. The bottleneck.
    let bottleneck = bottleneck(&stages, &order, &part.acc, half_totals, setup.model);
    // 8. The oldest work in progress.
    let oldest_wip = wip::oldest(log, &mut part.wip_items);
    // 9. The cumulative flow diagram.
    let cfd = cfd::diagram(
        log,
        &order,
        &setup.done,
        setup.model,
        &setup.cfd,
        &part.cfd_diff,
        &part.done_diff,
    );
    // 10. Notices.
    let notices = notices::of(&notices::Facts {
        log,
        grouped: &grouped,
        setup: &setup,
        part: &part,
        completed: flow_time.count,
        efficiency: efficiency.as_ref(),
        bottleneck: bottleneck.as_ref(),
    });
    // 11. The scatterplot, and the report.
    let finish_base = scan.finish_base;
    let flow = Flow {
        arrived: part.arrived,
        completed: flow_time.count,
        wip: part.wip_items.len(),
        throughput_per_week: flow_time.count as f64 / setup.weeks,
        net_flow_per_week: (part.arrived as f64 - flow_time.count as f64) / setup.weeks,
        flow_time,
        aging,
        efficiency,
        oldest_wip,
    };
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
        model: setup.model,
        window: Window {
            since: setup.since,
            until: setup.until,
            days: (setup.until - setup.since) as f64 / DAY as f64,
            selection: setup.selection,
        },
        now: setup.now,
        done_stages: done_stages(log, &setup),
        stages,
        bottleneck,
        flow,
        cfd,
        scatter: scatter_by_finish(log, part.finished, finish_base),
        notices,
    })
}

/// The done stages and why each is done, in the log's stage order.
fn done_stages(log: &EventLog, setup: &Setup) -> Vec<DoneStage> {
    (0..log.stages.len())
        .filter_map(|s| {
            setup.done_reason[s].map(|reason| DoneStage {
                name: log.stages.get(s as u32).to_owned(),
                reason,
            })
        })
        .collect()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use nextneck_model::flow::{Event, NO_TIME};

    use super::group::{group_by_sorting, group_in_place};
    use super::scan::Finished;
    use super::scatter::radix_sort_high;
    use super::summaries::{Seconds, Summarized, median_p85};
    use super::*;
    use crate::stats::percentiles_unsorted;

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
