//! The linked things: one struct per production deployment, change and
//! incident, holding what its observations say (`seen`) and what linking
//! found, addressed by typed indices into [`Things`].

use std::collections::BTreeMap;
use std::ops::Index;

use regex::Regex;

use super::Span;
use super::clone::CloneGraph;
use super::incidents;
use super::link::{
    ChangeLink, IncidentLink, link_change, link_incident, link_postmortems, listing,
    successes_by_service,
};
use super::merge::{MChange, MDeployment, MIncident, MPostmortem, Merged, Observed, Outcome};
use super::names::{Names, rework_reason};
use super::stages::{ChangeTimes, Stages, change_times};
use crate::report::{Link, Unlinked, UnlinkedThing};

/// A production deployment's position in [`Things::deployments`] (time
/// order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct DeploymentIx(pub(super) usize);

/// A change's position in [`Things::changes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct ChangeIx(pub(super) usize);

/// An incident's position in [`Things::incidents`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct IncidentIx(pub(super) usize);

/// A postmortem's position in [`Things::postmortems`] (publication order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct PostmortemIx(pub(super) usize);

/// A production deployment with an outcome (a success or a failure).
#[derive(Clone, Debug)]
pub(super) struct Deployment {
    /// What its observations say.
    pub(super) seen: MDeployment,
    /// Whether it passes `--repo`, `--service` and `--team`.
    pub(super) selected: bool,
    /// The first success of its target: its changes get no lead time.
    pub(super) baseline: bool,
    /// The changes it shipped.
    pub(super) shipped: Vec<ChangeIx>,
    /// The incidents linked to it.
    pub(super) incidents: Vec<IncidentIx>,
    /// Why it failed (its status, else its incidents); empty when it did not.
    pub(super) failed: Vec<String>,
    /// When it failed: how long until the service recovered, and how.
    pub(super) recovery: Option<Recovery>,
}

/// A failed deployment's recovery.
#[derive(Clone, Debug)]
pub(super) struct Recovery {
    pub(super) seconds: i64,
    /// What recovered it, in words.
    pub(super) by: String,
}

/// A change with its link to the deployment that shipped it.
#[derive(Clone, Debug)]
pub(super) struct Change {
    /// What its observations say.
    pub(super) seen: MChange,
    /// Whether it passes the filter.
    pub(super) selected: bool,
    /// The deployment that shipped it, or why none did.
    pub(super) link: Result<ChangeLink, String>,
    /// Its stage boundaries before the merge.
    pub(super) times: ChangeTimes,
    /// Its stages, when a successful deployment in the window shipped it.
    pub(super) stages: Option<Stages>,
}

/// An incident with its links.
#[derive(Clone, Debug)]
pub(super) struct Incident {
    /// What its observations say.
    pub(super) seen: MIncident,
    /// Whether it passes the filter (by its service, or its deployment's).
    pub(super) selected: bool,
    /// The deployment it is about, or why none.
    pub(super) link: Result<IncidentLink, String>,
    /// Its postmortem and why.
    pub(super) postmortem: Option<(PostmortemIx, Link)>,
}

/// Everything linked, and what was seen of deployments that are not
/// production or have no outcome.
pub(super) struct Things {
    /// Production deployments with an outcome, in time order.
    pub(super) deployments: Vec<Deployment>,
    pub(super) changes: Vec<Change>,
    pub(super) incidents: Vec<Incident>,
    /// Postmortems, by publication.
    pub(super) postmortems: Vec<MPostmortem>,
    pub(super) unlinked_postmortems: Vec<UnlinkedThing>,
    /// Production deployments seen, with an outcome or not.
    pub(super) production_seen: usize,
    /// Deployments seen that are not production.
    pub(super) not_production: usize,
    /// Successful deployments per target (lower case), in time order.
    pub(super) by_target: BTreeMap<String, Vec<DeploymentIx>>,
}

/// Production deployments with an outcome, in time order; how many
/// production deployments and others were seen.
fn production(deployments: Vec<MDeployment>) -> (Vec<MDeployment>, usize, usize) {
    let not_production = deployments
        .iter()
        .filter(|d| d.production.is_none())
        .count();
    let mut prod: Vec<MDeployment> = deployments
        .into_iter()
        .filter(|d| d.production.is_some())
        .collect();
    let seen = prod.len();
    prod.retain(|d| d.outcome != Outcome::Other);
    prod.sort_by(|a, b| (a.time(), &a.source, &a.id).cmp(&(b.time(), &b.source, &b.id)));
    (prod, seen, not_production)
}

/// Successful deployments per target (lower case), in time order.
fn successes_by_target(prod: &[MDeployment]) -> BTreeMap<String, Vec<DeploymentIx>> {
    let mut by_target: BTreeMap<String, Vec<DeploymentIx>> = BTreeMap::new();
    for (i, d) in prod.iter().enumerate() {
        if d.success().is_some()
            && let Some(t) = &d.target
        {
            by_target
                .entry(t.to_lowercase())
                .or_default()
                .push(DeploymentIx(i));
        }
    }
    by_target
}

impl Things {
    /// Links the merged things: changes to deployments (3.), incidents to
    /// deployments and postmortems to incidents (4.).
    pub(super) fn link(
        merged: Merged,
        observed: &Observed<'_>,
        names: &Names<'_>,
        mut clone: Option<&mut CloneGraph<'_>>,
    ) -> Things {
        let settings = names.settings;
        let (prod, production_seen, not_production) = production(merged.deployments);
        let by_target = successes_by_target(&prod);
        let listing = listing(&prod);
        let change_links: Vec<Result<ChangeLink, String>> = merged
            .changes
            .iter()
            .map(|c| {
                link_change(
                    c,
                    &prod,
                    &listing,
                    &by_target,
                    clone.as_deref_mut(),
                    settings.link_changes,
                )
            })
            .collect();
        let times = change_times(&merged.changes, observed, names);
        let by_service = successes_by_service(&prod);
        let incident_links: Vec<Result<IncidentLink, String>> = merged
            .incidents
            .iter()
            .map(|i| {
                link_incident(
                    i,
                    &prod,
                    &by_service,
                    clone.as_deref_mut(),
                    settings.link_incidents,
                )
            })
            .collect();
        let (postmortem_of, unlinked_postmortems) =
            link_postmortems(&merged.postmortems, &merged.incidents);
        let mut things = Things {
            deployments: deployments(prod, &by_target, names),
            changes: merged
                .changes
                .into_iter()
                .zip(change_links)
                .zip(times)
                .map(|((seen, link), times)| Change {
                    selected: names.selects(seen.repository.as_deref(), seen.service.as_deref()),
                    seen,
                    link,
                    times,
                    stages: None,
                })
                .collect(),
            incidents: Vec::new(),
            postmortems: merged.postmortems,
            unlinked_postmortems,
            production_seen,
            not_production,
            by_target,
        };
        things.incidents = merged
            .incidents
            .into_iter()
            .zip(incident_links)
            .zip(postmortem_of)
            .map(|((seen, link), postmortem)| Incident {
                selected: incidents::selects(&things, names, &seen, &link),
                seen,
                link,
                postmortem,
            })
            .collect();
        things.attach();
        things
    }

    /// Lists each change and incident on its deployment.
    fn attach(&mut self) {
        for (c, change) in self.changes.iter().enumerate() {
            if let Ok(l) = &change.link {
                self.deployments[l.deployment.0].shipped.push(ChangeIx(c));
            }
        }
        for (i, incident) in self.incidents.iter().enumerate() {
            if let Ok(l) = &incident.link {
                self.deployments[l.deployment.0]
                    .incidents
                    .push(IncidentIx(i));
            }
        }
    }

    /// Every production deployment, in time order.
    pub(super) fn deployment_ixs(&self) -> impl Iterator<Item = DeploymentIx> + use<> {
        (0..self.deployments.len()).map(DeploymentIx)
    }

    /// Whether deployments are recognised: any selected production
    /// deployment, even a failed attempt, is; then no success is a
    /// frequency of 0, not n/a.
    pub(super) fn recognised(&self) -> bool {
        self.deployments
            .iter()
            .any(|d| d.selected && d.seen.time().is_some())
    }

    /// Why a deployment is rework: the selected changes it shipped that
    /// are reverts or hotfixes.
    pub(super) fn rework_of(&self, d: DeploymentIx, hotfix: &Regex) -> Vec<String> {
        self[d]
            .shipped
            .iter()
            .map(|&c| &self[c])
            .filter(|c| c.selected)
            .filter_map(|c| {
                rework_reason(
                    &c.seen.id,
                    c.seen.title.as_deref(),
                    c.seen.head_ref.as_deref(),
                    hotfix,
                )
            })
            .collect()
    }

    /// What could not be linked: the selected changes merged in the window
    /// (or at an unknown time), by merge; the window's incidents; every
    /// postmortem.
    pub(super) fn unlinked(&self, window_incidents: &[IncidentIx], span: &Span) -> Unlinked {
        let mut merged_order: Vec<&Change> = self.changes.iter().collect();
        merged_order.sort_by(|x, y| {
            (x.seen.merged, &x.seen.source, &x.seen.id).cmp(&(
                y.seen.merged,
                &y.seen.source,
                &y.seen.id,
            ))
        });
        Unlinked {
            changes: merged_order
                .into_iter()
                .filter(|ch| {
                    ch.selected
                        && ch.seen.is_merged
                        && (ch.seen.merged.is_none() || span.contains(ch.seen.merged))
                })
                .filter_map(|ch| {
                    ch.link.as_ref().err().map(|reason| UnlinkedThing {
                        thing: ch.seen.thing(),
                        reason: reason.clone(),
                    })
                })
                .collect(),
            incidents: window_incidents
                .iter()
                .filter_map(|&i| {
                    self[i].link.as_ref().err().map(|reason| UnlinkedThing {
                        thing: self[i].seen.thing(),
                        reason: reason.clone(),
                    })
                })
                .collect(),
            postmortems: self.unlinked_postmortems.clone(),
        }
    }
}

/// The production deployments as things: selected, baseline or not;
/// shipped changes, incidents and failures come later.
fn deployments(
    prod: Vec<MDeployment>,
    by_target: &BTreeMap<String, Vec<DeploymentIx>>,
    names: &Names<'_>,
) -> Vec<Deployment> {
    let mut deployments: Vec<Deployment> = prod
        .into_iter()
        .map(|seen| Deployment {
            selected: names.selects(seen.repository.as_deref(), seen.service.as_deref()),
            seen,
            baseline: false,
            shipped: Vec::new(),
            incidents: Vec::new(),
            failed: Vec::new(),
            recovery: None,
        })
        .collect();
    for first in by_target.values().filter_map(|v| v.first()) {
        deployments[first.0].baseline = true;
    }
    deployments
}

impl Index<DeploymentIx> for Things {
    type Output = Deployment;
    fn index(&self, d: DeploymentIx) -> &Deployment {
        &self.deployments[d.0]
    }
}

impl Index<ChangeIx> for Things {
    type Output = Change;
    fn index(&self, c: ChangeIx) -> &Change {
        &self.changes[c.0]
    }
}

impl Index<IncidentIx> for Things {
    type Output = Incident;
    fn index(&self, i: IncidentIx) -> &Incident {
        &self.incidents[i.0]
    }
}

impl Index<PostmortemIx> for Things {
    type Output = MPostmortem;
    fn index(&self, p: PostmortemIx) -> &MPostmortem {
        &self.postmortems[p.0]
    }
}
