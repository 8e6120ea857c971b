//! Flow time of the finished items, and the work in progress: how much of
//! it is aging (older than the p85 flow time) and the oldest items.

use nextneck_model::flow::EventLog;

use crate::stats::percentiles_unsorted;

use super::scan::{Finished, StageAcc};
use super::{Aging, FlowTime, NONE, WipItem};

/// The flow time of the items finished in the window.
pub(super) fn flow_time(finished: &Finished) -> FlowTime {
    let mut flow_times = finished.flow_times();
    let count = flow_times.len();
    let [median, p85] = percentiles_unsorted(&mut flow_times, [50, 85]);
    FlowTime {
        count,
        median_seconds: median,
        p85_seconds: p85,
    }
}

/// The items in progress older than the p85 flow time `threshold`, counted
/// for the stream and (in `acc`) for the stage each one is in.
pub(super) fn aging(
    wip_items: &[(u32, u32, i64, Option<i64>)],
    threshold: Option<f64>,
    acc: &mut [StageAcc],
) -> Aging {
    let mut items = 0;
    if let Some(threshold) = threshold {
        for &(_, stage, age, _) in wip_items {
            if age as f64 > threshold {
                items += 1;
                if stage != NONE {
                    acc[stage as usize].aging += 1;
                }
            }
        }
    }
    Aging {
        threshold_seconds: threshold,
        items,
    }
}

/// The 10 oldest items in progress, oldest first (ties by case); sorts
/// `wip_items` so.
pub(super) fn oldest(
    log: &EventLog,
    wip_items: &mut [(u32, u32, i64, Option<i64>)],
) -> Vec<WipItem> {
    wip_items.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    wip_items
        .iter()
        .take(10)
        .map(|&(c, stage, age, stage_age)| WipItem {
            case: log.cases.get(c).to_owned(),
            stage: (stage != NONE).then(|| log.stages.get(stage).to_owned()),
            age_seconds: age,
            stage_age_seconds: stage_age,
        })
        .collect()
}
