//! The bottleneck: the stage holding the largest share of item time, the
//! evidence for it (or against calling it), its trend and the runner-up,
//! in one sentence too.

use crate::common;
use crate::tiers::minimum;
use crate::words::{Holds, holds_sentence, human_or_na, runner_up_words, trend_words};

use super::scan::StageAcc;
use super::{FlowBottleneck, FlowEvidence, FlowStage, Model, NextStage};

/// The stage holding the largest share of item time, with its evidence,
/// its trend over the window's halves and the runner-up.
pub(super) fn bottleneck(
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
