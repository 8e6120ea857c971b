//! The cumulative flow diagram: its points (a day each, or a few days on
//! long windows) and, from the scan's per-point differences, how many
//! items are in each stage and done at each point.

use nextneck_model::Timestamp;
use nextneck_model::flow::EventLog;

use crate::time::{self, DAY};

use super::{Cfd, CfdDay, Model};

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
/// The CFD's points: the window's days up to the end of now's day, a point
/// every day, or every few days on long windows.
pub(super) struct CfdGrid {
    /// The start of the window's first day.
    pub(super) start: Timestamp,
    /// Days from `start` to the end of the last point.
    pub(super) window_days: u64,
    /// Days between points ([`cfd_step_days`]).
    pub(super) step_days: u64,
    /// Seconds between points.
    pub(super) step: i64,
    /// How many points.
    pub(super) points: usize,
}

impl CfdGrid {
    /// The points of the window `[since, until)` seen at `now`.
    pub(super) fn of(since: Timestamp, until: Timestamp, now: Timestamp) -> CfdGrid {
        let end = until.min(time::day_floor(now) + DAY);
        let start = time::day_floor(since);
        let window_days = if end > start {
            ((end - start + DAY - 1) / DAY) as u64
        } else {
            0
        };
        let step_days = cfd_step_days(window_days);
        CfdGrid {
            start,
            window_days,
            step_days,
            step: step_days as i64 * DAY,
            points: window_days.div_ceil(step_days) as usize,
        }
    }

    /// The end of the last point (the end of now's day, or `until`).
    pub(super) fn end(&self) -> Timestamp {
        self.start + self.window_days as i64 * DAY
    }
}

/// The diagram: per point, the items in each of the stages `order` shows
/// (not done ones in the transitions model) and the items done, from the
/// scan's differences per point (`cfd_diff` per stage, `done_diff`).
pub(super) fn diagram(
    log: &EventLog,
    order: &[usize],
    done: &[bool],
    model: Model,
    grid: &CfdGrid,
    cfd_diff: &[Vec<i64>],
    done_diff: &[i64],
) -> Cfd {
    let cfd_stages: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&s| !done[s] || model == Model::Activities)
        .collect();
    let mut running = vec![0i64; log.stages.len()];
    let mut done_running = 0i64;
    let mut days = Vec::with_capacity(grid.points);
    for d in 0..grid.points {
        for &s in &cfd_stages {
            running[s] += cfd_diff[s][d];
        }
        done_running += done_diff[d];
        let last_day = (grid.start + (d as i64 + 1) * grid.step - DAY)
            .min(grid.start + (grid.window_days as i64 - 1) * DAY);
        days.push(CfdDay {
            date: time::date(last_day),
            counts: cfd_stages
                .iter()
                .map(|&s| running[s].max(0) as u64)
                .collect(),
            done: done_running.max(0) as u64,
        });
    }
    Cfd {
        step_days: grid.step_days,
        stages: cfd_stages
            .iter()
            .map(|&s| log.stages.get(s as u32).to_owned())
            .collect(),
        days,
    }
}
