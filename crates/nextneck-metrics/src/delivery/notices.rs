//! What the events report tells its reader about its input: no events, no
//! (or no window's) deployments, baselines, negative lead times, changes
//! merged without a review, and what could not be linked.

use regex::Regex;

use super::stages::Counted;
use super::things::Things;
use crate::dora::{Baseline, NegativeLead, baseline_notice, negative_lead_times_notice};
use crate::report::{Dora, Notice, ReadSpan, Unlinked};
use crate::words::plural;

/// What the notices are about.
pub(super) struct Facts<'a> {
    /// How many events the store holds.
    pub(super) events: usize,
    pub(super) things: &'a Things,
    pub(super) dora: &'a Dora,
    pub(super) counted: &'a Counted,
    pub(super) production: &'a Regex,
    /// What a windowed read covered, when it left events out.
    pub(super) read: Option<ReadSpan>,
}

/// The notices, in the order the report lists them.
pub(super) fn of(f: &Facts<'_>) -> Vec<Notice> {
    let mut notices = Vec::new();
    if f.events == 0 && f.read.is_none() {
        notices.push(Notice {
            code: "no_events",
            message: "the event store holds no delivery events yet: point webhooks at `nextneck serve`, or load API exports with `nextneck import` (docs/events.md)".to_owned(),
        });
    }
    notices.extend(deployments(f));
    if f.counted.baseline_changes > 0 {
        notices.push(baseline_notice(
            Baseline::OldestOfEachService,
            f.counted.baseline_changes,
        ));
    }
    if f.counted.negative_dropped > 0 {
        notices.push(negative_lead_times_notice(
            NegativeLead::DeployedBeforeFirstCommit,
            f.counted.negative_dropped,
        ));
    }
    if f.counted.unreviewed > 0 {
        notices.push(Notice {
            code: "unreviewed_changes",
            message: format!(
                "{} merged without a review by someone other than the author (bots excluded): no pickup or review stage; the time from pickup start to merge is the `unreviewed` stage",
                plural(f.counted.unreviewed, "change was", "changes were")
            ),
        });
    }
    notices
}

/// `no_deployments` when no production deployment is recognised,
/// `no_deployments_in_window` when none succeeded in the window.
fn deployments(f: &Facts<'_>) -> Option<Notice> {
    if !f.things.recognised() {
        Some(Notice {
            code: "no_deployments",
            message: format!(
                "no successful production deployment in the events ({} production and {} other deployments seen); production environments are those the source flags, or whose name matches {} (set `production` in the [delivery] section of nextneck.toml)",
                f.things.production_seen,
                f.things.not_production,
                f.production.as_str()
            ),
        })
    } else if f.dora.deployments.count == 0 {
        Some(Notice {
            code: "no_deployments_in_window",
            message: "no successful production deployment is in the window; widen it with --since/--until or pass --all".to_owned(),
        })
    } else {
        None
    }
}

/// `unlinked_changes` and `unlinked_incidents`, after the sample notices.
pub(super) fn unlinked(unlinked: &Unlinked) -> Vec<Notice> {
    let mut notices = Vec::new();
    let changes = unlinked.changes.len();
    if changes > 0 {
        notices.push(Notice {
            code: "unlinked_changes",
            message: format!(
                "{} merged in the window {} not linked to a successful production deployment (see --explain)",
                plural(changes, "change", "changes"),
                if changes == 1 { "is" } else { "are" }
            ),
        });
    }
    let incidents = unlinked.incidents.len();
    if incidents > 0 {
        notices.push(Notice {
            code: "unlinked_incidents",
            message: format!(
                "{} in the window {} not linked to a deployment (see --explain)",
                plural(incidents, "incident", "incidents"),
                if incidents == 1 { "is" } else { "are" }
            ),
        });
    }
    notices
}
