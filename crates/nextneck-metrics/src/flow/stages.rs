//! The stages' figures in flow order: the order itself, each stage's
//! statistics and share (with their intervals), and flow efficiency.

use nextneck_model::flow::EventLog;

use crate::stats::{SharePart, share_intervals_of};

use super::scan::{Part, StageAcc};
use super::setup::Setup;
use super::summaries::{Seconds, ShareSample, Summarized, summarize_all};
use super::{Efficiency, FlowSettings, FlowStage, Model};

/// The stages an item was seen in (not done ones in the transitions
/// model), in flow order: not done before done, then by the mean position
/// of a stage's first stay in its cases, then by index.
pub(super) fn flow_order(acc: &[StageAcc], done: &[bool], model: Model) -> Vec<usize> {
    let mut order: Vec<usize> = (0..acc.len())
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
    order
}

/// The stages' time in each half of the window.
pub(super) fn half_totals(order: &[usize], acc: &[StageAcc]) -> [i64; 2] {
    [0, 1].map(|h| order.iter().map(|&s| acc[s].halves[h]).sum::<i64>())
}

/// Each stage's figures, in `order`. The stays' durations, waits and
/// services are taken from `acc` to be summarized.
pub(super) fn figures(
    log: &EventLog,
    order: &[usize],
    acc: &mut [StageAcc],
    setup: &Setup,
) -> Vec<FlowStage> {
    let grand_total: i64 = order.iter().map(|&s| acc[s].total).sum();
    // The shares' bootstrap intervals (docs/metrics.md), before the stays'
    // durations go to the summaries.
    let share_cis = share_intervals(order, acc);
    let summaries = summaries(order, acc);
    let mut stages = Vec::with_capacity(order.len());
    for (k, &s) in order.iter().enumerate() {
        let a = &acc[s];
        let Summarized {
            median,
            p85,
            median_ci,
        } = summaries[3 * k];
        let (wait_median, service_median) = if setup.model == Model::Activities {
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
            category: setup.category[s],
            wip: a.wip,
            aging: a.aging,
            net_flow_per_week: (a.entries - a.exits) as f64 / setup.weeks,
        });
    }
    stages
}

/// Each stage's share interval, in `order`.
fn share_intervals(order: &[usize], acc: &[StageAcc]) -> Vec<Option<[f64; 2]>> {
    let samples: Vec<ShareSample> = order
        .iter()
        .map(|&s| acc[s].durations.share_sample())
        .collect();
    let parts: Vec<SharePart<'_>> = samples.iter().map(ShareSample::part).collect();
    share_intervals_of(&parts)
}

/// Every stage's durations, waits and services summarized (three per
/// stage, in `order`), on all cores: selecting order statistics is most of
/// the work, and the result does not depend on how many cores there are.
fn summaries(order: &[usize], acc: &mut [StageAcc]) -> Vec<Summarized> {
    let mut jobs: Vec<(Seconds, bool)> = Vec::new();
    for &s in order {
        let a = &mut acc[s];
        jobs.push((std::mem::take(&mut a.durations), true));
        jobs.push((std::mem::take(&mut a.waits), false));
        jobs.push((std::mem::take(&mut a.services), false));
    }
    summarize_all(jobs)
}

/// Flow efficiency: from the configured stage categories when there are
/// some, else from the activities' service and wait times when known.
pub(super) fn efficiency(
    settings: &FlowSettings,
    stages: &[FlowStage],
    part: &Part,
) -> Option<Efficiency> {
    if !settings.active.is_empty() || !settings.wait.is_empty() {
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
    } else if part.eff_known {
        let (a, w) = (part.eff_active as f64, part.eff_wait as f64);
        Some(Efficiency {
            ratio: (a + w > 0.0).then(|| a / (a + w)),
            basis: "service_wait",
            active_seconds: a,
            wait_seconds: w,
        })
    } else {
        None
    }
}
