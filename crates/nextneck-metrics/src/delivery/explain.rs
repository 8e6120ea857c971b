//! `--explain`: every production deployment of the window with the
//! changes it shipped (their link, stage boundaries and stages), its
//! failures, recovery and rework; every incident of the window with its
//! deployment and postmortem; and what could not be linked.

use regex::Regex;

use nextneck_model::Timestamp;

use super::incidents::{time_to_acknowledge, time_to_reflect, time_to_restore};
use super::merge::Outcome;
use super::things::{ChangeIx, DeploymentIx, IncidentIx, Things};
use crate::report::{
    DeliveryExplain, EventChange, EventDeployment, EventIncident, Explain, Link, Unlinked,
};

/// The explain section of the window's `deployments` and `incidents`
/// (`since` stands in for a deployment's unknown time).
pub(super) fn of(
    things: &Things,
    deployments: &[DeploymentIx],
    incidents: &[IncidentIx],
    unlinked: Unlinked,
    hotfix: &Regex,
    since: Timestamp,
) -> Explain {
    Explain {
        deployments: Vec::new(),
        delivery: Some(DeliveryExplain {
            deployments: deployments
                .iter()
                .map(|&d| deployment(things, d, hotfix, since))
                .collect(),
            incidents: incidents
                .iter()
                .map(|&i| incident(things, i, deployments))
                .collect(),
            unlinked,
        }),
    }
}

fn deployment(
    things: &Things,
    d: DeploymentIx,
    hotfix: &Regex,
    since: Timestamp,
) -> EventDeployment {
    let dep = &things[d];
    let mut changes: Vec<EventChange> = dep
        .shipped
        .iter()
        .filter(|&&c| things[c].selected)
        .map(|&c| change(things, c, dep.baseline))
        .collect();
    changes.sort_by(|a, b| (a.merged_at, &a.thing.id).cmp(&(b.merged_at, &b.thing.id)));
    EventDeployment {
        thing: dep.seen.thing(),
        repository: dep.seen.repository.clone(),
        service: dep.seen.service.clone(),
        environment: dep.seen.environment.clone(),
        production: dep.seen.production.clone().unwrap_or_default(),
        sha: dep.seen.sha.clone(),
        status: match dep.seen.outcome {
            Outcome::Failed(_, s) => s,
            _ => "success",
        },
        time: dep.seen.time().unwrap_or(since),
        baseline: dep.baseline,
        changes,
        failed: dep.failed.clone(),
        recovery_seconds: dep.recovery.as_ref().map(|r| r.seconds),
        recovered_by: dep.recovery.as_ref().map(|r| r.by.clone()),
        rework: if dep.seen.success().is_some() {
            things.rework_of(d, hotfix)
        } else {
            Vec::new()
        },
    }
}

/// A change a deployment shipped; its stages count unless the deployment
/// is a baseline or the lead time is negative.
fn change(things: &Things, c: ChangeIx, baseline: bool) -> EventChange {
    let ch = &things[c];
    let s = ch.stages.unwrap_or_default();
    let counted = !baseline && s.ordered;
    EventChange {
        thing: ch.seen.thing(),
        title: ch.seen.title.clone(),
        repository: ch.seen.repository.clone(),
        link: ch
            .link
            .as_ref()
            .map(|l| l.link.clone())
            .unwrap_or_else(|e| Link {
                rule: "none",
                reason: e.clone(),
            }),
        first_commit_at: s.first_commit,
        opened_at: ch.seen.opened,
        ready_at: s.ready,
        first_review_at: s.first_review,
        first_reviewer: ch
            .times
            .first_review
            .as_ref()
            .and_then(|r| r.reviewer.clone()),
        merged_at: ch.seen.merged,
        coding_seconds: s.values[0].filter(|_| counted),
        pickup_seconds: s.values[1].filter(|_| counted),
        review_seconds: s.values[2].filter(|_| counted),
        unreviewed_seconds: s.values[3].filter(|_| counted),
        deploy_seconds: s.values[4].filter(|_| counted),
        lead_time_seconds: s.lead,
        counted,
    }
}

/// An incident with its deployment (and that deployment's place among the
/// listed `deployments`, when it is one of them) and its postmortem.
fn incident(things: &Things, i: IncidentIx, deployments: &[DeploymentIx]) -> EventIncident {
    let inc = &things[i];
    let (deployment, deployment_link, deployment_index) = match &inc.link {
        Ok(l) => (
            Some(things[l.deployment].seen.name()),
            Some(l.link.clone()),
            // In time order, as the indices.
            deployments.binary_search(&l.deployment).ok(),
        ),
        Err(_) => (None, None, None),
    };
    let pm = inc.postmortem.as_ref();
    EventIncident {
        thing: inc.seen.thing(),
        title: inc.seen.title.clone(),
        service: inc.seen.service.clone(),
        opened_at: inc.seen.opened,
        acknowledged_at: inc.seen.acknowledged,
        time_to_acknowledge_seconds: time_to_acknowledge(&inc.seen),
        resolved_at: inc.seen.resolved_at,
        url: inc.seen.url.clone(),
        time_to_restore_seconds: time_to_restore(&inc.seen),
        deployment,
        deployment_link,
        deployment_index,
        postmortem: pm.map(|(p, _)| things[*p].name()),
        postmortem_published_at: pm.and_then(|(p, _)| things[*p].published),
        postmortem_link: pm.map(|(_, l)| l.clone()),
        time_to_reflect_seconds: time_to_reflect(things, i),
    }
}
