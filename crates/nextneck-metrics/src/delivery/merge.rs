//! Merging observations: the stored events are grouped by the thing they
//! observe (`(source, kind, id)`), each group in order, and each group is
//! merged into one thing (a deployment with its outcome, a change, a CI
//! run, an incident, a postmortem, an issue) by the rules of
//! `docs/metrics.md`: the latest non-null value, the earliest time, the
//! status of the latest observation.

use std::collections::{BTreeMap, BTreeSet};

use nextneck_model::Timestamp;
use nextneck_model::events::{
    Actor, CiConclusion, CiStatus, DeploymentStatus, EventBody, IncidentStatus,
};
use regex::Regex;

use super::TracedEvent;
use super::ci::{TestKey, TestRun};
use super::link::{deployment_ids_in, shas_in};
use super::names::{IssueRole, Names, issue_role, production_reason};
use super::releases::{MRelease, merge_release};
use crate::report::{EventRef, IncidentRef};

/// Observations grouped by what they observe.
pub(super) struct Observed<'e> {
    /// Observations of a deployment, change, CI run, incident, postmortem
    /// or issue, by `(source, kind, id)`.
    pub(super) groups: BTreeMap<(&'e str, &'static str, String), Vec<&'e TracedEvent<'e>>>,
    /// Reviews by `(source, change id)`, then by review id.
    pub(super) reviews: BTreeMap<(&'e str, String), BTreeMap<String, Vec<&'e TracedEvent<'e>>>>,
    /// Pushes by `(repository, after)`.
    pub(super) pushes: BTreeMap<(String, String), Vec<&'e TracedEvent<'e>>>,
    /// Test executions.
    pub(super) tests: BTreeMap<TestKey, TestRun>,
    /// The oldest and newest event times.
    pub(super) oldest: Option<Timestamp>,
    pub(super) newest: Option<Timestamp>,
}

impl<'e> Observed<'e> {
    /// Groups `events`, in the order they come.
    pub(super) fn of(events: &'e [TracedEvent<'e>]) -> Observed<'e> {
        let mut observed = Observed {
            groups: BTreeMap::new(),
            reviews: BTreeMap::new(),
            pushes: BTreeMap::new(),
            tests: BTreeMap::new(),
            oldest: None,
            newest: None,
        };
        for e in events {
            observed.add(e);
        }
        observed
    }

    fn add(&mut self, e: &'e TracedEvent<'e>) {
        if let Some(at) = e.event.at {
            self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
            self.oldest = Some(self.oldest.map_or(at, |o| o.min(at)));
        }
        match &e.event.body {
            EventBody::Review(r) => self
                .reviews
                .entry((e.event.source.as_str(), r.change_id.clone()))
                .or_default()
                .entry(r.id.clone())
                .or_default()
                .push(e),
            EventBody::Push(p) => self
                .pushes
                .entry((p.repository.clone(), p.after.clone()))
                .or_default()
                .push(e),
            EventBody::TestCase(t) => {
                let (key, run) = TestRun::of(e, t);
                self.tests.insert(key, run);
            }
            _ => self
                .groups
                .entry((e.event.source.as_str(), e.event.kind(), e.event.entity_id()))
                .or_default()
                .push(e),
        }
    }
}

/// The things merged from the observations, in group order; postmortems
/// by publication.
pub(super) struct Merged {
    pub(super) deployments: Vec<MDeployment>,
    /// Releases, each as the deployment it would be.
    pub(super) releases: Vec<MRelease>,
    pub(super) changes: Vec<MChange>,
    pub(super) runs: Vec<MRun>,
    pub(super) incidents: Vec<MIncident>,
    pub(super) postmortems: Vec<MPostmortem>,
}

/// Merges each group into its thing; issues become incidents or
/// postmortems by their role.
pub(super) fn merge(
    groups: &BTreeMap<(&str, &'static str, String), Vec<&TracedEvent<'_>>>,
    names: &Names<'_>,
    production: &Regex,
) -> Merged {
    let mut m = Merged {
        deployments: Vec::new(),
        releases: Vec::new(),
        changes: Vec::new(),
        runs: Vec::new(),
        incidents: Vec::new(),
        postmortems: Vec::new(),
    };
    let mut issues = Vec::new();
    for ((_, kind, _), obs) in groups {
        let obs = ordered(obs.clone());
        match *kind {
            "deployment" => m
                .deployments
                .extend(merge_deployment(&obs, names, production)),
            "release" => m.releases.extend(merge_release(&obs, names)),
            "change" => m.changes.extend(merge_change(&obs, names)),
            "ci_run" => m.runs.extend(merge_run(&obs)),
            "incident" => m.incidents.extend(merge_incident(&obs, names)),
            "issue" => issues.extend(merge_issue(&obs)),
            "postmortem" => m.postmortems.extend(merge_postmortem(&obs)),
            _ => {}
        }
    }
    for issue in issues {
        match issue.role {
            IssueRole::Incident => m.incidents.push(issue.into_incident(names)),
            IssueRole::Postmortem => m.postmortems.push(issue.into_postmortem()),
            IssueRole::Other => {}
        }
    }
    m.postmortems
        .sort_by(|a, b| (a.published, &a.source, &a.id).cmp(&(b.published, &b.source, &b.id)));
    m
}

/// the order they were stored in.
pub(super) fn ordered<'e, 'a>(mut obs: Vec<&'e TracedEvent<'a>>) -> Vec<&'e TracedEvent<'a>> {
    obs.sort_by_key(|o| (o.event.at.unwrap_or(i64::MIN), o.delivery_id, o.seq));
    obs
}

pub(super) fn deliveries(obs: &[&TracedEvent<'_>]) -> Vec<i64> {
    let set: BTreeSet<i64> = obs.iter().map(|o| o.delivery_id).collect();
    set.into_iter().collect()
}

/// The latest non-null value.
pub(super) fn latest<T: Clone>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.flatten().last()
}

pub(super) fn earliest(values: impl Iterator<Item = Option<Timestamp>>) -> Option<Timestamp> {
    values.flatten().min()
}

pub(super) fn merge_actor(into: &mut Option<Actor>, new: &Option<Actor>) {
    let Some(new) = new else { return };
    match into {
        None => *into = Some(new.clone()),
        Some(old) => {
            if new.login.is_some() {
                old.login = new.login.clone();
            }
            if new.id.is_some() {
                old.id = new.id.clone();
            }
            old.bot |= new.bot;
        }
    }
}

/// A deployment's outcome by its latest status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Succeeded at its first success time.
    Success(Timestamp),
    /// Failed (`failure` or `error`) at its first failure time.
    Failed(Timestamp, &'static str),
    /// Pending, running, canceled or without a time: not counted.
    Other,
}

/// A deployment, merged from its observations (`M`: merged).
#[derive(Clone, Debug)]
pub(super) struct MDeployment {
    pub(super) source: String,
    pub(super) id: String,
    pub(super) deliveries: Vec<i64>,
    pub(super) repository: Option<String>,
    /// Its own service, or its repository's by the mapping.
    pub(super) service: Option<String>,
    pub(super) environment: Option<String>,
    pub(super) sha: Option<String>,
    /// Why it is production; `None` when it is not.
    pub(super) production: Option<String>,
    pub(super) outcome: Outcome,
    /// Its service, else its repository: deployments and changes of one
    /// target are compared.
    pub(super) target: Option<String>,
    /// What linking by merge time says besides its rule (a release whose
    /// tag targets a branch, not a commit).
    pub(super) link_note: Option<String>,
    /// What it says it shipped: commit SHAs (lower case) and change ids,
    /// each sorted, over all its observations.
    pub(super) listed: Listed,
}

/// The commits and changes a deployment lists as shipped.
#[derive(Clone, Debug, Default)]
pub(super) struct Listed {
    /// Commit SHAs, lower case.
    pub(super) commits: BTreeSet<String>,
    /// Change ids, as given.
    pub(super) changes: BTreeSet<String>,
}

impl Listed {
    /// The union of what the observations list.
    fn of<'d>(ds: impl Iterator<Item = &'d nextneck_model::events::Deployment>) -> Listed {
        let mut listed = Listed::default();
        for d in ds {
            listed
                .commits
                .extend(d.commits.iter().map(|c| c.to_lowercase()));
            listed.changes.extend(d.changes.iter().cloned());
        }
        listed
    }

    pub(super) fn is_empty(&self) -> bool {
        self.commits.is_empty() && self.changes.is_empty()
    }
}

impl MDeployment {
    pub(super) fn time(&self) -> Option<Timestamp> {
        match self.outcome {
            Outcome::Success(t) | Outcome::Failed(t, _) => Some(t),
            Outcome::Other => None,
        }
    }

    pub(super) fn success(&self) -> Option<Timestamp> {
        match self.outcome {
            Outcome::Success(t) => Some(t),
            _ => None,
        }
    }

    pub(super) fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }

    pub(super) fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }
}

fn status_rank(s: &DeploymentStatus) -> u8 {
    match s {
        DeploymentStatus::Pending | DeploymentStatus::Other(_) => 0,
        DeploymentStatus::InProgress => 1,
        DeploymentStatus::Success
        | DeploymentStatus::Failure
        | DeploymentStatus::Error
        | DeploymentStatus::Canceled => 2,
        DeploymentStatus::Inactive => 0,
    }
}

pub(super) fn merge_deployment(
    obs: &[&TracedEvent<'_>],
    names: &Names<'_>,
    production: &Regex,
) -> Option<MDeployment> {
    let ds: Vec<(&TracedEvent<'_>, &nextneck_model::events::Deployment)> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Deployment(d) => Some((*o, d)),
            _ => None,
        })
        .collect();
    let (first, d0) = ds.first()?;
    let repository = latest(ds.iter().map(|(_, d)| d.repository.clone()));
    let own_service = latest(ds.iter().map(|(_, d)| d.service.clone()));
    let environment = latest(ds.iter().map(|(_, d)| d.environment.clone()));
    let flag = latest(ds.iter().map(|(_, d)| d.production));
    let sha = latest(ds.iter().map(|(_, d)| d.sha.clone()));
    // The status of the latest observation with one (`inactive` only says a
    // later deployment superseded it); equal times: the later stage wins.
    let status = ds
        .iter()
        .filter_map(|(o, d)| {
            d.status
                .as_ref()
                .filter(|s| **s != DeploymentStatus::Inactive)
                .map(|s| {
                    (
                        (
                            o.event.at.unwrap_or(i64::MIN),
                            status_rank(s),
                            o.delivery_id,
                            o.seq,
                        ),
                        s,
                    )
                })
        })
        .max_by_key(|(k, _)| *k)
        .map(|(_, s)| s.clone());
    let time_of = |wanted: &dyn Fn(&DeploymentStatus) -> bool| {
        earliest(ds.iter().map(|(o, d)| {
            d.status
                .as_ref()
                .filter(|s| wanted(s))
                .and_then(|_| d.finished_at.or(o.event.at))
        }))
    };
    let outcome = match status {
        Some(DeploymentStatus::Success) => {
            time_of(&|s| *s == DeploymentStatus::Success).map_or(Outcome::Other, Outcome::Success)
        }
        Some(DeploymentStatus::Failure) => {
            time_of(&|s| matches!(s, DeploymentStatus::Failure | DeploymentStatus::Error))
                .map_or(Outcome::Other, |t| Outcome::Failed(t, "failure"))
        }
        Some(DeploymentStatus::Error) => {
            time_of(&|s| matches!(s, DeploymentStatus::Failure | DeploymentStatus::Error))
                .map_or(Outcome::Other, |t| Outcome::Failed(t, "error"))
        }
        _ => Outcome::Other,
    };
    let production = production_reason(flag, environment.as_deref(), production);
    let service = own_service.or_else(|| {
        repository
            .as_deref()
            .and_then(|r| names.service_of_repository(r))
    });
    let target = service.clone().or_else(|| repository.clone());
    Some(MDeployment {
        source: first.event.source.clone(),
        id: d0.id.clone(),
        deliveries: deliveries(obs),
        repository,
        service,
        environment,
        sha,
        production,
        outcome,
        target,
        link_note: None,
        listed: Listed::of(ds.iter().map(|(_, d)| *d)),
    })
}

/// A change (pull or merge request), merged from its observations.
#[derive(Clone, Debug)]
pub(super) struct MChange {
    pub(super) source: String,
    pub(super) id: String,
    pub(super) deliveries: Vec<i64>,
    pub(super) repository: Option<String>,
    pub(super) title: Option<String>,
    pub(super) author: Option<Actor>,
    pub(super) head_ref: Option<String>,
    pub(super) merge_sha: Option<String>,
    pub(super) opened: Option<Timestamp>,
    pub(super) readies: Vec<Timestamp>,
    pub(super) stated_first_review: Option<Timestamp>,
    pub(super) merged: Option<Timestamp>,
    /// Merged by its latest observation (possibly without a time).
    pub(super) is_merged: bool,
    /// Commits it lists: sha → earliest author time.
    pub(super) commits: BTreeMap<String, Option<Timestamp>>,
    pub(super) service: Option<String>,
    pub(super) target: Option<String>,
}

impl MChange {
    pub(super) fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }
}

fn merge_change(obs: &[&TracedEvent<'_>], names: &Names<'_>) -> Option<MChange> {
    let cs: Vec<&nextneck_model::events::Change> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Change(c) => Some(c),
            _ => None,
        })
        .collect();
    let c0 = cs.first()?;
    let mut author = None;
    let mut commits: BTreeMap<String, Option<Timestamp>> = BTreeMap::new();
    for c in &cs {
        merge_actor(&mut author, &c.author);
        for commit in &c.commits {
            let slot = commits.entry(commit.sha.to_lowercase()).or_default();
            *slot = earliest([*slot, commit.authored_at].into_iter());
        }
    }
    let repository = latest(cs.iter().map(|c| c.repository.clone()));
    let service = repository
        .as_deref()
        .and_then(|r| names.service_of_repository(r));
    let target = service.clone().or_else(|| repository.clone());
    let merged = earliest(cs.iter().map(|c| c.merged_at));
    Some(MChange {
        source: obs[0].event.source.clone(),
        id: c0.id.clone(),
        deliveries: deliveries(obs),
        repository,
        title: latest(cs.iter().map(|c| c.title.clone())),
        author,
        head_ref: latest(cs.iter().map(|c| c.head_ref.clone())),
        merge_sha: latest(cs.iter().map(|c| c.merge_sha.clone())),
        opened: earliest(cs.iter().map(|c| c.opened_at)),
        readies: cs.iter().filter_map(|c| c.ready_at).collect(),
        stated_first_review: earliest(cs.iter().map(|c| c.first_review_at)),
        merged,
        is_merged: merged.is_some()
            || cs
                .last()
                .is_some_and(|c| c.state == nextneck_model::events::ChangeState::Merged),
        commits,
        service,
        target,
    })
}

/// A push, merged from its observations.
#[derive(Clone, Debug)]
pub(super) struct MPush {
    pub(super) repository: String,
    pub(super) git_ref: String,
    pub(super) at: Option<Timestamp>,
    pub(super) commits: Vec<(String, Option<Timestamp>)>,
}

/// A CI run (its latest attempt), merged from its observations.
#[derive(Clone, Debug)]
pub(super) struct MRun {
    pub(super) id: String,
    pub(super) repository: Option<String>,
    pub(super) workflow: Option<String>,
    pub(super) sha: Option<String>,
    pub(super) conclusion: Option<CiConclusion>,
    pub(super) completed: bool,
    pub(super) attempt: Option<u32>,
    pub(super) queued: Option<Timestamp>,
    pub(super) started: Option<Timestamp>,
    pub(super) finished: Option<Timestamp>,
}

impl MRun {
    pub(super) fn start(&self) -> Option<Timestamp> {
        self.queued.or(self.started).or(self.finished)
    }
}

fn merge_run(obs: &[&TracedEvent<'_>]) -> Option<MRun> {
    let rs: Vec<&nextneck_model::events::CiRun> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::CiRun(r) => Some(r),
            _ => None,
        })
        .collect();
    let last = rs.last()?;
    Some(MRun {
        id: last.id.clone(),
        repository: latest(rs.iter().map(|r| r.repository.clone())),
        workflow: latest(rs.iter().map(|r| r.workflow.clone())),
        sha: latest(rs.iter().map(|r| r.sha.clone())),
        conclusion: last.conclusion.clone(),
        completed: last.status == CiStatus::Completed,
        attempt: rs.iter().filter_map(|r| r.attempt).max(),
        queued: earliest(rs.iter().map(|r| r.queued_at)),
        started: latest(rs.iter().map(|r| r.started_at)),
        finished: latest(rs.iter().map(|r| r.finished_at)),
    })
}

/// An incident (from an incident tool, or an incident issue).
#[derive(Clone, Debug)]
pub(super) struct MIncident {
    pub(super) source: String,
    pub(super) id: String,
    pub(super) deliveries: Vec<i64>,
    pub(super) title: Option<String>,
    /// The service after the mapping.
    pub(super) service: Option<String>,
    pub(super) opened: Option<Timestamp>,
    /// The earliest acknowledgement, when the source reports one.
    pub(super) acknowledged: Option<Timestamp>,
    /// Resolved by its latest observation.
    pub(super) resolved: bool,
    pub(super) resolved_at: Option<Timestamp>,
    pub(super) deployment_ids: Vec<String>,
    pub(super) shas: Vec<String>,
    pub(super) url: Option<String>,
    /// For an issue: its project, and `#N` for references in that project.
    pub(super) project: Option<String>,
    pub(super) number_ref: Option<String>,
}

impl MIncident {
    pub(super) fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }

    pub(super) fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }

    pub(super) fn as_ref(&self) -> IncidentRef {
        IncidentRef {
            source: self.source.clone(),
            id: self.id.clone(),
            title: self.title.clone(),
            service: self.service.clone(),
            opened_at: self.opened,
            resolved_at: self.resolved_at,
        }
    }
}

fn merge_incident(obs: &[&TracedEvent<'_>], names: &Names<'_>) -> Option<MIncident> {
    let is: Vec<(&TracedEvent<'_>, &nextneck_model::events::Incident)> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Incident(i) => Some((*o, i)),
            _ => None,
        })
        .collect();
    let (_, last) = is.last()?;
    let resolved = last.status == IncidentStatus::Resolved;
    Some(MIncident {
        source: obs[0].event.source.clone(),
        id: last.id.clone(),
        deliveries: deliveries(obs),
        title: latest(is.iter().map(|(_, i)| i.title.clone())),
        service: latest(is.iter().map(|(_, i)| i.service.clone()))
            .filter(|s| !s.is_empty())
            .map(|s| names.service_of_incident(&s)),
        opened: earliest(is.iter().map(|(_, i)| i.opened_at))
            .or_else(|| earliest(is.iter().map(|(o, _)| o.event.at))),
        acknowledged: earliest(is.iter().map(|(_, i)| i.acknowledged_at)),
        resolved,
        resolved_at: if resolved {
            is.iter()
                .filter_map(|(o, i)| {
                    i.resolved_at.or(if i.status == IncidentStatus::Resolved {
                        o.event.at
                    } else {
                        None
                    })
                })
                .max()
        } else {
            None
        },
        deployment_ids: latest(is.iter().map(|(_, i)| i.deployment_id.clone()))
            .into_iter()
            .collect(),
        shas: latest(is.iter().map(|(_, i)| i.sha.clone()))
            .into_iter()
            .collect(),
        url: latest(is.iter().map(|(_, i)| i.url.clone())),
        project: None,
        number_ref: None,
    })
}

/// An issue, merged from its observations; its role decides what it is.
struct MIssue {
    pub(super) source: String,
    pub(super) id: String,
    pub(super) deliveries: Vec<i64>,
    pub(super) role: IssueRole,
    pub(super) project: Option<String>,
    pub(super) title: Option<String>,
    pub(super) text: String,
    pub(super) created: Option<Timestamp>,
    pub(super) closed: bool,
    pub(super) closed_at: Option<Timestamp>,
}

fn merge_issue(obs: &[&TracedEvent<'_>]) -> Option<MIssue> {
    let is: Vec<(&TracedEvent<'_>, &nextneck_model::events::Issue)> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Issue(i) => Some((*o, i)),
            _ => None,
        })
        .collect();
    let (last_obs, last) = is.last()?;
    let issue_type = latest(is.iter().map(|(_, i)| i.issue_type.clone()));
    let role = issue_role(issue_type.as_deref(), &last.labels);
    let category = last
        .status_category
        .as_deref()
        .or(last.status.as_deref())
        .map(str::to_lowercase);
    let closed = matches!(category.as_deref(), Some("closed" | "done" | "resolved"))
        || (category.is_none() && last.closed_at.is_some());
    let title = latest(is.iter().map(|(_, i)| i.title.clone()));
    let description = latest(is.iter().map(|(_, i)| i.description.clone()));
    Some(MIssue {
        source: obs[0].event.source.clone(),
        id: last.id.clone(),
        deliveries: deliveries(obs),
        role,
        project: latest(is.iter().map(|(_, i)| i.project.clone())),
        text: format!(
            "{}\n{}",
            title.clone().unwrap_or_default(),
            description.unwrap_or_default()
        ),
        title,
        created: earliest(is.iter().map(|(_, i)| i.created_at)),
        closed,
        closed_at: if closed {
            latest(is.iter().map(|(_, i)| i.closed_at)).or(last_obs.event.at)
        } else {
            None
        },
    })
}

/// A postmortem (generic, or a postmortem issue).
#[derive(Clone, Debug)]
pub(super) struct MPostmortem {
    pub(super) source: String,
    pub(super) id: String,
    pub(super) deliveries: Vec<i64>,
    pub(super) published: Option<Timestamp>,
    /// A generic postmortem names its incident.
    pub(super) incident_id: Option<String>,
    /// An issue references incidents in its text.
    pub(super) text: Option<(String, Option<String>)>,
}

impl MPostmortem {
    pub(super) fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }

    pub(super) fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }
}

/// A generic postmortem: published at its earliest publication time.
fn merge_postmortem(obs: &[&TracedEvent<'_>]) -> Option<MPostmortem> {
    let ps: Vec<&nextneck_model::events::Postmortem> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Postmortem(p) => Some(p),
            _ => None,
        })
        .collect();
    let last = ps.last()?;
    Some(MPostmortem {
        source: obs[0].event.source.clone(),
        id: last.id.clone(),
        deliveries: deliveries(obs),
        published: ps.iter().map(|p| p.published_at).min(),
        incident_id: Some(last.incident_id.clone()),
        text: None,
    })
}

impl MIssue {
    /// An incident issue: its project's service (or the project), the
    /// deployments and commits its text names.
    fn into_incident(self, names: &Names<'_>) -> MIncident {
        let service = self.project.as_deref().map(|p| {
            names
                .service_of_repository(p)
                .unwrap_or_else(|| p.to_owned())
        });
        let number_ref = self
            .id
            .rsplit_once('#')
            .map(|(_, n)| format!("#{n}"))
            .filter(|_| self.source != "jira");
        MIncident {
            source: self.source,
            id: self.id,
            deliveries: self.deliveries,
            title: self.title,
            service,
            opened: self.created,
            // Issues carry no acknowledgement.
            acknowledged: None,
            resolved: self.closed,
            resolved_at: self.closed_at,
            deployment_ids: deployment_ids_in(&self.text),
            shas: shas_in(&self.text),
            url: None,
            project: self.project,
            number_ref,
        }
    }

    /// A postmortem issue: published when created; its text references
    /// incidents.
    fn into_postmortem(self) -> MPostmortem {
        MPostmortem {
            source: self.source,
            id: self.id,
            deliveries: self.deliveries,
            published: self.created,
            incident_id: None,
            text: Some((self.text, self.project)),
        }
    }
}

/// The pushes, each merged from its observations (its earliest time).
pub(super) fn merge_pushes(
    pushes: &BTreeMap<(String, String), Vec<&TracedEvent<'_>>>,
) -> Vec<MPush> {
    pushes
        .values()
        .filter_map(|obs| {
            let obs = ordered(obs.clone());
            let p = obs.iter().find_map(|o| match &o.event.body {
                EventBody::Push(p) => Some(p),
                _ => None,
            })?;
            Some(MPush {
                repository: p.repository.to_lowercase(),
                git_ref: p.git_ref.clone(),
                at: earliest(obs.iter().map(|o| o.event.at)),
                commits: p
                    .commits
                    .iter()
                    .map(|c| (c.sha.to_lowercase(), c.authored_at))
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use nextneck_model::events::{DeploymentStatus, Event, EventBody};
    use regex::Regex;

    use super::super::DEFAULT_PRODUCTION;
    use super::super::testing::*;
    use super::*;

    #[test]
    fn observations_of_a_deployment_merge_into_one_outcome() {
        use DeploymentStatus::*;
        // Observations as (status, time), in the order they were stored.
        let check = |obs: &[(Option<DeploymentStatus>, Timestamp)], want: Outcome| {
            let events: Vec<Event> = obs
                .iter()
                .map(|(s, t)| {
                    ev(
                        "github",
                        Some(*t),
                        EventBody::Deployment(deployment("7", s.clone(), *t)),
                    )
                })
                .collect();
            let traced = traced(&events);
            let refs = ordered(traced.iter().collect());
            let s = settings();
            let names = Names {
                settings: &s,
                clone_repositories: BTreeSet::new(),
            };
            let got = merge_deployment(&refs, &names, &s.production).expect("a deployment");
            assert_eq!(got.outcome, want, "{obs:?}");
        };
        check(
            &[
                (Some(Pending), 1),
                (Some(InProgress), 2),
                (Some(Success), 3),
            ],
            Outcome::Success(3),
        );
        // Stored out of order: the times decide, not the arrival.
        check(
            &[(Some(Success), 3), (Some(Pending), 1)],
            Outcome::Success(3),
        );
        // A later `inactive` (superseded) does not undo a success.
        check(
            &[(Some(Success), 3), (Some(Inactive), 9)],
            Outcome::Success(3),
        );
        // The first success time, however often it is observed.
        check(
            &[(Some(Success), 5), (Some(Success), 3)],
            Outcome::Success(3),
        );
        // The latest status wins: a retried failure succeeds ...
        check(
            &[(Some(Failure), 3), (Some(Success), 5)],
            Outcome::Success(5),
        );
        // ... and an error after a success fails, at the first failure time.
        check(
            &[(Some(Success), 3), (Some(Error), 5)],
            Outcome::Failed(5, "error"),
        );
        check(
            &[(Some(Failure), 4), (Some(Error), 6)],
            Outcome::Failed(4, "error"),
        );
        // Equal times: the later stage wins, whatever the arrival order.
        check(
            &[(Some(Success), 3), (Some(InProgress), 3)],
            Outcome::Success(3),
        );
        check(
            &[(Some(InProgress), 3), (Some(Success), 3)],
            Outcome::Success(3),
        );
        // Created, pending, running or canceled: not counted.
        check(&[(None, 1)], Outcome::Other);
        check(&[(Some(Pending), 1), (Some(InProgress), 2)], Outcome::Other);
        check(
            &[(Some(InProgress), 1), (Some(Canceled), 2)],
            Outcome::Other,
        );
    }

    #[test]
    fn production_by_environment_name_or_the_sources_flag() {
        let check = |env: Option<&str>, flag: Option<bool>, pattern: &str, want: bool| {
            let mut d = deployment("1", Some(DeploymentStatus::Success), 10);
            d.environment = env.map(str::to_owned);
            d.production = flag;
            let events = [ev("github", Some(10), EventBody::Deployment(d))];
            let traced = traced(&events);
            let mut s = settings();
            s.production = Regex::new(pattern).expect("valid");
            let names = Names {
                settings: &s,
                clone_repositories: BTreeSet::new(),
            };
            let got = merge_deployment(&traced.iter().collect::<Vec<_>>(), &names, &s.production)
                .expect("a deployment");
            assert_eq!(got.production.is_some(), want, "{env:?} {flag:?} {pattern}");
        };
        let default = DEFAULT_PRODUCTION;
        check(Some("production"), None, default, true);
        check(Some("Production"), None, default, true);
        check(Some("prod"), None, default, true);
        check(Some("prod-eu"), None, default, true);
        check(Some("production/us-east-1"), None, default, true);
        check(Some("staging"), None, default, false);
        check(Some("preprod"), None, default, false);
        check(Some("pre-production"), None, default, false);
        check(Some("non-prod"), None, default, false);
        check(Some("products"), None, default, false);
        check(None, None, default, false);
        // The source's flag makes any environment production; a false flag
        // does not overrule the name.
        check(Some("live"), Some(true), default, true);
        check(Some("production"), Some(false), default, true);
        check(Some("live"), None, "^live$", true);
        check(Some("production"), None, "^live$", false);
    }
}
