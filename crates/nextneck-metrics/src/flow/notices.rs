//! What the reader of a flow report should know: stages taken as done
//! because nothing leaves them, items that skipped the commitment point,
//! skipped events, events after now, nothing finished, administrative lag,
//! no stage categories, and a bottleneck with too few stays to call.

use nextneck_model::flow::EventLog;

use crate::tiers::minimum;
use crate::time;
use crate::types::Notice;
use crate::words::plural;

use super::group::Grouped;
use super::items::skipped_start;
use super::scan::Part;
use super::setup::Setup;
use super::{Efficiency, FlowBottleneck, Model};

/// What the notices are about.
pub(super) struct Facts<'a> {
    pub(super) log: &'a EventLog,
    pub(super) grouped: &'a Grouped<'a>,
    pub(super) setup: &'a Setup,
    pub(super) part: &'a Part,
    /// Items finished in the window.
    pub(super) completed: usize,
    pub(super) efficiency: Option<&'a Efficiency>,
    pub(super) bottleneck: Option<&'a FlowBottleneck>,
}

/// The notices, in the report's order.
pub(super) fn of(facts: &Facts<'_>) -> Vec<Notice> {
    let mut notices = Vec::new();
    notices.extend(done_never_left(facts));
    notices.extend(skipped(facts));
    notices.extend(nothing_finished_or_lag(facts));
    if facts.setup.model == Model::Transitions && facts.efficiency.is_none() {
        notices.push(Notice {
            code: "no_stage_categories",
            message: "flow efficiency needs to know which stages are work and which are waiting: pass --active and --wait, or set categories in nextneck.toml".to_owned(),
        });
    }
    if let Some(b) = facts.bottleneck.filter(|b| b.too_few_to_call) {
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
    notices
}

/// Stages counted as done because no item ever leaves them.
fn done_never_left(facts: &Facts<'_>) -> Option<Notice> {
    let log = facts.log;
    let never_left: Vec<String> = (0..log.stages.len())
        .filter(|&s| facts.setup.done_reason[s] == Some("never_left"))
        .map(|s| format!("\"{}\"", log.stages.get(s as u32)))
        .collect();
    (!never_left.is_empty()).then(|| Notice {
        code: "done_never_left",
        message: format!(
            "{} counted as done because no item ever leaves {}; name the done stages with --done if that is wrong",
            never_left.join(", "),
            if never_left.len() == 1 { "it" } else { "them" }
        ),
    })
}

/// Items and events left out: items finished without entering the
/// commitment point, events of other lifecycles, events after now.
fn skipped(facts: &Facts<'_>) -> Vec<Notice> {
    let Facts {
        log, setup, part, ..
    } = facts;
    let mut notices = Vec::new();
    if let Some(start) = setup.start {
        let skipped = skipped_start(
            facts.grouped,
            log.cases.len(),
            setup.now,
            &setup.done,
            start,
        );
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
    let after_now = part.after_now;
    if after_now > 0 {
        notices.push(Notice {
            code: "events_after_now",
            message: format!(
                "{after_now} events after now ({}) were left out",
                time::rfc3339(setup.now)
            ),
        });
    }
    notices
}

/// No item finished in the window; or most of the finished items' flow
/// time comes after a resolution-like stage (administrative lag).
fn nothing_finished_or_lag(facts: &Facts<'_>) -> Vec<Notice> {
    let part = facts.part;
    let mut notices = Vec::new();
    if facts.completed == 0 {
        notices.push(Notice {
            code: "no_completed_items",
            message: "no item finished in the window, so there is no flow time, throughput or aging; widen the window with --all or check the done stages (--done)".to_owned(),
        });
    }
    if part.lag_flow_total > 0
        && part.lag_total * 2 > part.lag_flow_total
        && let Some((&stage, _)) = part
            .lag_by_stage
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
    {
        let name = facts.log.stages.get(stage);
        notices.push(Notice {
            code: "admin_lag",
            message: format!(
                "{:.0}% of the flow time of finished items comes after \"{name}\", which looks like resolution: that is administrative lag, not work; pass --done \"{name}\" to end the flow there",
                part.lag_total as f64 * 100.0 / part.lag_flow_total as f64
            ),
        });
    }
    notices
}
