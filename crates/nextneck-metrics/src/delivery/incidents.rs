//! Incidents: which belong to the figures, the window's incidents, time to
//! restore (resolved − opened), time to reflect (postmortem published −
//! resolved), time to acknowledge, and the resolved incidents without a
//! postmortem.

use super::Span;
use super::link::IncidentLink;
use super::merge::MIncident;
use super::names::Names;
use super::things::{IncidentIx, Things};
use crate::report::{IncidentDurations, Incidents};
use crate::stats::Summary;

/// Whether an incident passes the filter: it belongs to its service, and
/// to the repository of its deployment (or its project, for an issue).
pub(super) fn selects(
    things: &Things,
    names: &Names<'_>,
    inc: &MIncident,
    link: &Result<IncidentLink, String>,
) -> bool {
    if names.settings.filter.is_empty() {
        return true;
    }
    let dep = link.as_ref().ok().map(|l| &things[l.deployment].seen);
    let repository = dep
        .and_then(|d| d.repository.as_deref())
        .or(inc.project.as_deref());
    names.selects(repository, inc.service.as_deref())
        || dep.is_some_and(|d| names.selects(d.repository.as_deref(), d.service.as_deref()))
}

/// The selected incidents opened in the window, oldest first.
pub(super) fn in_window(things: &Things, span: &Span) -> Vec<IncidentIx> {
    let mut listed: Vec<IncidentIx> = (0..things.incidents.len())
        .map(IncidentIx)
        .filter(|&i| things[i].selected && span.contains(things[i].seen.opened))
        .collect();
    listed.sort_by(|&a, &b| {
        let (x, y) = (&things[a].seen, &things[b].seen);
        (x.opened, &x.source, &x.id).cmp(&(y.opened, &y.source, &y.id))
    });
    listed
}

/// Resolved − opened, when both are known and in that order.
pub(super) fn time_to_restore(inc: &MIncident) -> Option<i64> {
    match (inc.opened, inc.resolved_at) {
        (Some(o), Some(r)) if r >= o => Some(r - o),
        _ => None,
    }
}

/// Acknowledged − opened, when both are known.
pub(super) fn time_to_acknowledge(inc: &MIncident) -> Option<i64> {
    Some(inc.acknowledged? - inc.opened?)
}

/// Its postmortem's publication − its resolution, when the postmortem
/// was published at or after it.
pub(super) fn time_to_reflect(things: &Things, i: IncidentIx) -> Option<i64> {
    let (p, _) = things[i].postmortem.as_ref()?;
    let published = things[*p].published?;
    let resolved = things[i].seen.resolved_at?;
    (published >= resolved).then(|| published - resolved)
}

/// The figures of the window's incidents.
pub(super) fn figures(things: &Things, window: &[IncidentIx]) -> Incidents {
    let restores: Vec<i64> = window
        .iter()
        .filter_map(|&i| time_to_restore(&things[i].seen))
        .collect();
    let reflects: Vec<i64> = window
        .iter()
        .filter_map(|&i| time_to_reflect(things, i))
        .collect();
    let mut without: Vec<&MIncident> = window
        .iter()
        .map(|&i| &things[i])
        .filter(|i| i.seen.resolved && i.postmortem.is_none())
        .map(|i| &i.seen)
        .collect();
    without.sort_by(|x, y| {
        (x.opened, x.resolved_at, &x.source, &x.id).cmp(&(
            y.opened,
            y.resolved_at,
            &y.source,
            &y.id,
        ))
    });
    Incidents {
        count: window.len(),
        resolved: window.iter().filter(|&&i| things[i].seen.resolved).count(),
        linked_to_deployment: window.iter().filter(|&&i| things[i].link.is_ok()).count(),
        time_to_restore: durations(&restores),
        time_to_reflect: durations(&reflects),
        without_postmortem: without.iter().map(|i| i.as_ref()).collect(),
    }
}

fn durations(seconds: &[i64]) -> IncidentDurations {
    let s = Summary::of_seconds(seconds);
    IncidentDurations {
        median_seconds: s.median,
        p85_seconds: s.p85,
        incidents: s.count,
    }
}
