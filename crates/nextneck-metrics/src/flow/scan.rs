//! The scan: one pass over the cases (on all cores for large logs) that
//! reads each as the model does and adds up what every figure needs, per
//! stage ([`StageAcc`]) and for the stream ([`Part`]).

use std::collections::HashMap;

use nextneck_model::Timestamp;
use nextneck_model::flow::{EventLog, NO_TIME, StageIdx};

use super::group::{CaseEvents, Grouped};
use super::items::{Item, Occurrence, Stay, activities_item, commit_rows, transition_rows};
use super::setup::Setup;
use super::summaries::Seconds;
use super::{Model, NONE, joined};

/// Per-stage accumulators.
#[derive(Clone, Default)]
pub(super) struct StageAcc {
    pub(super) durations: Seconds,
    pub(super) waits: Seconds,
    pub(super) services: Seconds,
    pub(super) total: i64,
    pub(super) halves: [i64; 2],
    /// Stays ended in each half.
    pub(super) half_counts: [usize; 2],
    pub(super) entries: i64,
    pub(super) exits: i64,
    pub(super) wip: usize,
    pub(super) aging: usize,
    pub(super) rank_sum: u64,
    pub(super) rank_n: u64,
    pub(super) seen: bool,
}

/// What one pass over the cases needs.
pub(super) struct Scan<'a> {
    pub(super) log: &'a EventLog,
    pub(super) grouped: &'a Grouped<'a>,
    pub(super) model: Model,
    pub(super) now: Timestamp,
    pub(super) done: &'a [bool],
    pub(super) resolution_like: &'a [bool],
    /// The commitment point ([`super::FlowSettings::start`]).
    pub(super) start: Option<StageIdx>,
    pub(super) since: Timestamp,
    pub(super) until: Timestamp,
    pub(super) mid: Timestamp,
    pub(super) cfd_start: Timestamp,
    /// CFD points (see [`super::cfd_step_days`]).
    pub(super) cfd_days: usize,
    /// Seconds between CFD points: a day, or more on long windows.
    pub(super) cfd_step: i64,
    /// The end of the last CFD point (the end of now's day, or `until`).
    pub(super) cfd_end: Timestamp,
    /// `since` when the window is at most 2^32 seconds long (136 years):
    /// then a finish and a case fit in one number (see [`Finished`]).
    pub(super) finish_base: Option<Timestamp>,
}

/// The items finished in the window, in case order: `(finish − base) << 32
/// | case` and the flow time when there is a base (see
/// [`Scan::finish_base`]); else (case, finish, flow time).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Finished {
    pub(super) keys: Vec<(u64, i64)>,
    pub(super) wide: Vec<(u32, Timestamp, i64)>,
}

impl Finished {
    fn reserve(&mut self, base: Option<Timestamp>, n: usize) {
        match base {
            Some(_) => self.keys.reserve(n),
            None => self.wide.reserve(n),
        }
    }

    pub(super) fn push(&mut self, base: Option<Timestamp>, case: u32, finish: Timestamp, ft: i64) {
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

    pub(super) fn flow_times(&self) -> Vec<i64> {
        let keys = self.keys.iter().map(|k| k.1);
        keys.chain(self.wide.iter().map(|w| w.2)).collect()
    }
}

/// What a pass over some cases adds up.
pub(super) struct Part {
    pub(super) acc: Vec<StageAcc>,
    pub(super) finished: Finished,
    pub(super) wip_items: Vec<(u32, u32, i64, Option<i64>)>,
    pub(super) arrived: usize,
    pub(super) eff_active: i64,
    pub(super) eff_wait: i64,
    pub(super) eff_known: bool,
    pub(super) lag_total: i64,
    pub(super) lag_flow_total: i64,
    pub(super) lag_by_stage: HashMap<StageIdx, i64>,
    pub(super) after_now: usize,
    pub(super) cfd_diff: Vec<Vec<i64>>,
    pub(super) done_diff: Vec<i64>,
}

impl Part {
    pub(super) fn new(stages: usize, cfd_days: usize) -> Part {
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
    pub(super) fn add(&mut self, other: Part) {
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

impl<'a> Scan<'a> {
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

    /// The scan of `log` grouped as `grouped`, with the resolved settings.
    pub(super) fn new(log: &'a EventLog, grouped: &'a Grouped<'a>, setup: &'a Setup) -> Scan<'a> {
        let grid = &setup.cfd;
        Scan {
            log,
            grouped,
            model: setup.model,
            now: setup.now,
            done: &setup.done,
            resolution_like: &setup.resolution_like,
            start: setup.start,
            since: setup.since,
            until: setup.until,
            mid: setup.mid,
            cfd_start: grid.start,
            cfd_days: grid.points,
            cfd_step: grid.step,
            cfd_end: grid.end(),
            finish_base: (setup.until.abs_diff(setup.since) <= 1 << 32).then_some(setup.since),
        }
    }

    /// Every case. Cases are independent: ranges of them are read on
    /// separate cores and the parts added up in case order, so the result
    /// is the same; a worker's panic is re-raised ([`joined`]).
    pub(super) fn all(&self) -> Part {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(self.log.cases.len().div_ceil(10_000))
            .max(1);
        let cases = self.log.cases.len();
        let parts: Vec<Part> = if threads == 1 {
            vec![self.run(0..cases)]
        } else {
            let chunk = cases.div_ceil(threads);
            std::thread::scope(|scope| {
                let scan = self;
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
            .unwrap_or_else(|| Part::new(self.log.stages.len(), self.cfd_days));
        for p in parts {
            part.add(p);
        }
        part
    }

    /// Reads the cases `cases` (in order) into a part.
    pub(super) fn run(&self, cases: std::ops::Range<usize>) -> Part {
        let mut part = self.part_with_room(&cases);
        let mut mark = vec![NONE; self.log.stages.len()];
        let mut scratch = Scratch::default();
        for c in cases {
            let events = self.grouped.case(c);
            // Nothing is after now when now is the newest time (the default).
            if self.grouped.newest.is_some_and(|newest| newest > self.now) {
                part.after_now += events
                    .iter()
                    .filter(|e| e.start.max(e.time) > self.now)
                    .count();
            }
            let Some(read) = self.read_case(events, &mut scratch) else {
                continue;
            };
            if self.in_window(read.arrival) {
                part.arrived += 1;
            }
            // Flow order: the position of each stage's first stay in the case.
            let mut pos = 0u64;
            let mut current: Option<Stay> = None;
            let mut visit = |s: Stay| {
                let a = &mut part.acc[s.stage as usize];
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
                if s.exit == NO_TIME {
                    current = Some(s);
                }
                part.count_stay(self, s);
            };
            match self.model {
                Model::Transitions => {
                    // A stay per row before the final run of done rows,
                    // until the next row.
                    let rows = &scratch.rows;
                    for i in 0..read.run {
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
                Model::Activities => scratch.item.stays.iter().for_each(|&s| visit(s)),
            }
            part.end_case(self, c, &read, current);
        }
        part
    }

    /// An empty part with room for its share of each stage's events (a
    /// stay per event at most, in a log whose stages are spread over its
    /// cases): vectors that grow by doubling copy and fault in memory again.
    fn part_with_room(&self, cases: &std::ops::Range<usize>) -> Part {
        let mut part = Part::new(self.log.stages.len(), self.cfd_days);
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
        for (a, &n) in part.acc.iter_mut().zip(&self.grouped.stage_events) {
            let room = (n as f64 * share * 1.05) as usize + 16;
            a.durations.reserve(room);
            if self.model == Model::Activities {
                a.waits.reserve(room);
                a.services.reserve(room);
            }
        }
        let all = self.grouped.starts.len() - 1;
        part.finished.reserve(
            self.finish_base,
            if cases.start == 0 { all } else { cases.len() },
        );
        part
    }

    /// Reads one case as the model does: transitions straight from its
    /// rows (no list of stays) into `scratch.rows`, activities into the list
    /// of stays of `scratch.item`; `None` when it is not in the flow.
    fn read_case(&self, events: CaseEvents<'_>, scratch: &mut Scratch) -> Option<CaseRead> {
        match self.model {
            Model::Transitions => {
                let (arrival, run, finish) =
                    transition_rows(events, self.now, self.done, &mut scratch.rows)?;
                let (arrival, run) = commit_rows(&mut scratch.rows, arrival, run, self.start)?;
                Some(CaseRead {
                    arrival,
                    run,
                    finish,
                    resolution: None,
                })
            }
            Model::Activities => {
                let item = &mut scratch.item;
                activities_item(
                    events,
                    self.now,
                    self.done,
                    self.resolution_like,
                    self.start,
                    &mut scratch.completed,
                    &mut scratch.open,
                    item,
                );
                Some(CaseRead {
                    arrival: item.arrival?,
                    run: 0,
                    finish: item.finish,
                    resolution: item.resolution,
                })
            }
        }
    }
}

/// What the scan keeps from one case to the next, to reuse its room.
#[derive(Default)]
struct Scratch {
    rows: Vec<(StageIdx, Timestamp)>,
    item: Item,
    completed: Vec<Occurrence>,
    open: Vec<Occurrence>,
}

/// One case as [`Scan::read_case`] read it.
struct CaseRead {
    arrival: Timestamp,
    /// Transitions: the index of the first row of the final done run.
    run: usize,
    finish: Option<Timestamp>,
    /// Activities: the resolution-like stage before the end, and when.
    resolution: Option<(StageIdx, Timestamp)>,
}

impl Part {
    /// Counts a counted stay: its entry and its exit in the window (its
    /// duration in its half, its wait and service), and its CFD points.
    fn count_stay(&mut self, scan: &Scan<'_>, s: Stay) {
        let a = &mut self.acc[s.stage as usize];
        if scan.in_window(s.enter) {
            a.entries += 1;
        }
        if s.exit != NO_TIME && scan.in_window(s.exit) {
            a.exits += 1;
            let d = s.exit - s.enter;
            a.durations.push(d);
            a.total += d;
            a.halves[usize::from(s.exit >= scan.mid)] += d;
            a.half_counts[usize::from(s.exit >= scan.mid)] += 1;
            if s.wait != NO_TIME {
                a.waits.push(s.wait);
            }
            if s.service != NO_TIME {
                a.services.push(s.service);
                self.eff_known = true;
                self.eff_active += s.service;
                if s.wait != NO_TIME {
                    self.eff_wait += s.wait;
                }
            }
        }
        let cfd_days = scan.cfd_days;
        if cfd_days > 0 {
            let lo = scan.first_day(s.enter);
            let hi = if s.exit == NO_TIME {
                cfd_days
            } else {
                scan.first_day(s.exit)
            };
            if lo < hi {
                self.cfd_diff[s.stage as usize][lo] += 1;
                self.cfd_diff[s.stage as usize][hi] -= 1;
            }
        }
    }

    /// Counts how case `c` ends: finished in the window (its flow time,
    /// the CFD's done count, the lag after a resolution), or in progress
    /// now, in the stage of its open stay `current` when it has one.
    fn end_case(&mut self, scan: &Scan<'_>, c: usize, read: &CaseRead, current: Option<Stay>) {
        match read.finish {
            Some(finish) => {
                if scan.in_window(finish) {
                    let ft = finish - read.arrival;
                    self.finished.push(scan.finish_base, c as u32, finish, ft);
                    if scan.cfd_days > 0 {
                        self.done_diff[scan.first_day(finish)] += 1;
                    }
                    if let Some((stage, at)) = read.resolution {
                        let lag = finish - at;
                        self.lag_total += lag;
                        *self.lag_by_stage.entry(stage).or_default() += lag;
                    }
                    self.lag_flow_total += ft;
                }
            }
            None => {
                let stage = current.map_or(NONE, |s| s.stage);
                if stage != NONE {
                    self.acc[stage as usize].wip += 1;
                }
                self.wip_items.push((
                    c as u32,
                    stage,
                    scan.now - read.arrival,
                    current.map(|s| scan.now - s.enter),
                ));
            }
        }
    }
}
