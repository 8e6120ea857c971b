//! The delivery report over normalized events (`nextneck report --db`):
//! deployments from deployment events, the four stages of a change
//! (`coding`, `pickup`, `review`, `deploy`), failures from deployment
//! statuses and incidents, time to restore, time to reflect, and CI health.
//! `docs/metrics.md` ("Live delivery events") is the definition; this module
//! implements it and nothing else.
//!
//! The input is every stored observation with the delivery it came from.
//! Observations of one thing (a deployment, a change, an incident, ...) are
//! merged by `(source, kind, id)` first; then things are linked by explicit,
//! named rules (deployment ↔ changes, incident ↔ deployment, postmortem ↔
//! incident), and every link and every failure to link is kept for
//! `--explain`. A git [`History`] of a clone, when given, lets deployments
//! be linked to changes by commit range.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nextneck_model::events::{
    Actor, CiConclusion, CiStatus, DeploymentStatus, EventBody, IncidentStatus, TestOutcome,
};
use nextneck_model::{CommitId, CommitIdx, History, Timestamp};
use regex::Regex;

use crate::common::{
    bottleneck, build_stages, deploy_days_per_week, lead_time_histogram, sample_notices,
};
use crate::report::*;
use crate::stats::Summary;
use crate::time::{self, DAY};
use crate::types::{ReportError, WindowSpec};
use crate::window::{DefaultStart, resolve_window};
use crate::words::plural;

/// The default production pattern: `production`, `prod`, and names that
/// start with either followed by a separator (`prod-eu`, `production/us`).
pub const DEFAULT_PRODUCTION: &str = r"(?i)^(prod|production)([-_./: ].*)?$";

/// The kinds a delivery report reads from the store.
pub const KINDS: &[&str] = &[
    "deployment",
    "change",
    "review",
    "push",
    "ci_run",
    "incident",
    "postmortem",
    "issue",
    "test_case",
];

/// The stage names, in flow order. `unreviewed` is the time from pickup
/// start to merge of a change merged without a review, which has no
/// `pickup` and no `review`: with it the stages add up to the lead time.
pub const STAGES: [&str; 5] = ["coding", "pickup", "review", "unreviewed", "deploy"];

/// How many slowest tests the report lists.
const SLOWEST: usize = 10;

pub use nextneck_model::events::TracedEvent;

/// How merged changes are linked to the deployment that shipped them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeLinking {
    /// By commit range when the clone holds the merge commit and a
    /// deployment's commit, else the first deployment after the merge.
    Auto,
    /// By commit range only (a clone is required).
    CommitRange,
    /// The first successful production deployment at or after the merge.
    AfterMerge,
}

/// How incidents are linked to deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentLinking {
    /// An explicit reference, else the latest successful production
    /// deployment of the incident's service before it opened.
    ExplicitOrService,
    /// Explicit references only.
    Explicit,
}

/// A service and what belongs to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRule {
    /// The service's name.
    pub name: String,
    /// Repositories or project paths (`acme/shop`, `acme/payments/*`).
    pub repositories: Vec<String>,
    /// Service names in the incident tools (`Checkout API (prod)`).
    pub incident_services: Vec<String>,
}

/// A team and what it owns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamRule {
    /// The team's name.
    pub name: String,
    /// Repositories or project paths (globs).
    pub repositories: Vec<String>,
    /// Services (globs).
    pub services: Vec<String>,
    /// CODEOWNERS owners (`@acme/web`) that stand for this team.
    pub codeowners: Vec<String>,
}

/// Which things the figures are about; empty lists select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Repositories or project paths (globs).
    pub repositories: Vec<String>,
    /// Services.
    pub services: Vec<String>,
    /// Teams.
    pub teams: Vec<String>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.services.is_empty() && self.teams.is_empty()
    }
}

/// Everything the delivery report needs besides the events and the clone.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The event store, as shown (without a password).
    pub db: String,
    /// The clone's path as given, when there is one.
    pub path: Option<String>,
    /// The window.
    pub window: WindowSpec,
    /// Whether to fill [`Report::explain`].
    pub explain: bool,
    /// Whether to fill [`Report::series`].
    pub series: bool,
    /// Environment names that are production.
    pub production: Regex,
    /// Logins that are bots, besides accounts the source flags as bots.
    pub bots: Vec<String>,
    /// Change titles and source branches that are hotfixes.
    pub hotfix: Regex,
    /// How changes are linked to deployments.
    pub link_changes: ChangeLinking,
    /// How incidents are linked to deployments.
    pub link_incidents: IncidentLinking,
    /// The service mapping.
    pub services: Vec<ServiceRule>,
    /// The team mapping.
    pub teams: Vec<TeamRule>,
    /// The owners of every file in the clone's CODEOWNERS (its last rule
    /// matching every path), when a clone with one is given.
    pub codeowners: Vec<String>,
    /// `--repo`, `--service`, `--team`.
    pub filter: Filter,
    /// The caller's clock, used for one thing only: when the store holds no
    /// event at all, the default window ends with this time's day (instead
    /// of the Unix epoch's). Any event makes the report independent of it.
    pub now: Option<Timestamp>,
}

impl DeliverySettings {
    /// Defaults for a store: the default production pattern, hotfix
    /// pattern and linking rules, no mappings, no filter.
    pub fn new(db: &str) -> DeliverySettings {
        DeliverySettings {
            db: db.to_owned(),
            path: None,
            window: WindowSpec::Default,
            explain: false,
            series: false,
            production: Regex::new(DEFAULT_PRODUCTION).expect("a literal pattern compiles"),
            bots: Vec::new(),
            hotfix: Regex::new(crate::git::DEFAULT_HOTFIX_PATTERN)
                .expect("a literal pattern compiles"),
            link_changes: ChangeLinking::Auto,
            link_incidents: IncidentLinking::ExplicitOrService,
            services: Vec::new(),
            teams: Vec::new(),
            codeowners: Vec::new(),
            filter: Filter::default(),
            now: None,
        }
    }
}

// ---------------------------------------------------------------------------
// Names: globs, services and teams.

pub use crate::glob::glob_match;

/// The name of the rule whose pattern matches `value` most specifically:
/// an exact name beats a glob, a glob with more literal characters beats
/// one with fewer; ties go to the rule listed first (rules come sorted by
/// name from the configuration).
fn best_match<'a>(
    rules: impl Iterator<Item = (&'a str, &'a [String])>,
    value: &str,
) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for (name, patterns) in rules {
        for p in patterns {
            if !glob_match(p, value) {
                continue;
            }
            let literal = p.chars().filter(|c| *c != '*' && *c != '?').count();
            let score = if literal == p.chars().count() {
                usize::MAX
            } else {
                literal
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, name));
            }
        }
    }
    best.map(|(_, name)| name)
}

struct Names<'s> {
    settings: &'s DeliverySettings,
    /// Repositories the clone holds (their events name commits in it).
    clone_repositories: BTreeSet<String>,
}

impl Names<'_> {
    fn service_of_repository(&self, repo: &str) -> Option<String> {
        best_match(
            self.settings
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.repositories.as_slice())),
            repo,
        )
        .map(str::to_owned)
    }

    fn service_of_incident(&self, raw: &str) -> String {
        best_match(
            self.settings
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.incident_services.as_slice())),
            raw,
        )
        .unwrap_or(raw)
        .to_owned()
    }

    fn team_of_service(&self, service: &str) -> Option<&str> {
        best_match(
            self.settings
                .teams
                .iter()
                .map(|t| (t.name.as_str(), t.services.as_slice())),
            service,
        )
    }

    fn team_of_repository(&self, repo: &str) -> Option<&str> {
        if let Some(t) = best_match(
            self.settings
                .teams
                .iter()
                .map(|t| (t.name.as_str(), t.repositories.as_slice())),
            repo,
        ) {
            return Some(t);
        }
        if let Some(t) = self
            .service_of_repository(repo)
            .and_then(|s| self.team_of_service(&s).map(str::to_owned))
        {
            return self
                .settings
                .teams
                .iter()
                .find(|team| team.name == t)
                .map(|team| team.name.as_str());
        }
        if self.clone_repositories.contains(&repo.to_lowercase()) {
            return self
                .settings
                .teams
                .iter()
                .find(|t| {
                    t.codeowners.iter().any(|o| {
                        self.settings
                            .codeowners
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(o))
                    })
                })
                .map(|t| t.name.as_str());
        }
        None
    }

    /// Whether a thing with this repository and service passes the filter.
    fn selects(&self, repository: Option<&str>, service: Option<&str>) -> bool {
        let f = &self.settings.filter;
        if !f.repositories.is_empty()
            && !repository.is_some_and(|r| f.repositories.iter().any(|p| glob_match(p, r)))
        {
            return false;
        }
        if !f.services.is_empty()
            && !service.is_some_and(|s| f.services.iter().any(|p| glob_match(p, s)))
        {
            return false;
        }
        if !f.teams.is_empty() {
            let team = repository
                .and_then(|r| self.team_of_repository(r))
                .or_else(|| service.and_then(|s| self.team_of_service(s)));
            if !team.is_some_and(|t| f.teams.iter().any(|p| p.eq_ignore_ascii_case(t))) {
                return false;
            }
        }
        true
    }

    fn is_bot(&self, actor: &Actor) -> bool {
        actor.bot
            || actor.login.as_deref().is_some_and(|l| {
                l.ends_with("[bot]") || self.settings.bots.iter().any(|b| b.eq_ignore_ascii_case(l))
            })
    }
}

fn same_actor(a: &Actor, b: &Actor) -> bool {
    match (&a.id, &b.id) {
        (Some(x), Some(y)) if x == y => return true,
        _ => {}
    }
    match (&a.login, &b.login) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

fn actor_name(a: &Actor) -> String {
    a.login
        .clone()
        .or_else(|| a.id.as_ref().map(|id| format!("user {id}")))
        .unwrap_or_else(|| "someone".to_owned())
}

// ---------------------------------------------------------------------------
// Merging observations.

/// Observations of one thing, in order: by their time (no time first), then
/// the order they were stored in.
fn ordered<'e, 'a>(mut obs: Vec<&'e TracedEvent<'a>>) -> Vec<&'e TracedEvent<'a>> {
    obs.sort_by_key(|o| (o.event.at.unwrap_or(i64::MIN), o.delivery_id, o.seq));
    obs
}

fn deliveries(obs: &[&TracedEvent<'_>]) -> Vec<i64> {
    let set: BTreeSet<i64> = obs.iter().map(|o| o.delivery_id).collect();
    set.into_iter().collect()
}

/// The latest non-null value.
fn latest<T: Clone>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.flatten().last()
}

fn earliest(values: impl Iterator<Item = Option<Timestamp>>) -> Option<Timestamp> {
    values.flatten().min()
}

fn merge_actor(into: &mut Option<Actor>, new: &Option<Actor>) {
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

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Succeeded at its first success time.
    Success(Timestamp),
    /// Failed (`failure` or `error`) at its first failure time.
    Failed(Timestamp, &'static str),
    /// Pending, running, canceled or without a time: not counted.
    Other,
}

#[derive(Clone, Debug)]
struct MDeployment {
    source: String,
    id: String,
    deliveries: Vec<i64>,
    repository: Option<String>,
    /// Its own service, or its repository's by the mapping.
    service: Option<String>,
    environment: Option<String>,
    sha: Option<String>,
    /// Why it is production; `None` when it is not.
    production: Option<String>,
    outcome: Outcome,
    /// Its service, else its repository: deployments and changes of one
    /// target are compared.
    target: Option<String>,
}

impl MDeployment {
    fn time(&self) -> Option<Timestamp> {
        match self.outcome {
            Outcome::Success(t) | Outcome::Failed(t, _) => Some(t),
            Outcome::Other => None,
        }
    }

    fn success(&self) -> Option<Timestamp> {
        match self.outcome {
            Outcome::Success(t) => Some(t),
            _ => None,
        }
    }

    fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }

    fn thing(&self) -> EventRef {
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

fn merge_deployment(
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
    let production = if flag == Some(true) {
        Some("the source flags its environment as production".to_owned())
    } else {
        environment.as_deref().and_then(|e| {
            production
                .is_match(e)
                .then(|| format!("environment `{e}` matches {}", production.as_str()))
        })
    };
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
    })
}

#[derive(Clone, Debug)]
struct MChange {
    source: String,
    id: String,
    deliveries: Vec<i64>,
    repository: Option<String>,
    title: Option<String>,
    author: Option<Actor>,
    head_ref: Option<String>,
    merge_sha: Option<String>,
    opened: Option<Timestamp>,
    readies: Vec<Timestamp>,
    stated_first_review: Option<Timestamp>,
    merged: Option<Timestamp>,
    /// Merged by its latest observation (possibly without a time).
    is_merged: bool,
    /// Commits it lists: sha → earliest author time.
    commits: BTreeMap<String, Option<Timestamp>>,
    service: Option<String>,
    target: Option<String>,
}

impl MChange {
    fn thing(&self) -> EventRef {
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

#[derive(Clone, Debug)]
struct MReview {
    reviewer: Option<Actor>,
    change_author: Option<Actor>,
    at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
struct MPush {
    repository: String,
    git_ref: String,
    at: Option<Timestamp>,
    commits: Vec<(String, Option<Timestamp>)>,
}

#[derive(Clone, Debug)]
struct MRun {
    id: String,
    repository: Option<String>,
    workflow: Option<String>,
    sha: Option<String>,
    conclusion: Option<CiConclusion>,
    completed: bool,
    attempt: Option<u32>,
    queued: Option<Timestamp>,
    started: Option<Timestamp>,
    finished: Option<Timestamp>,
}

impl MRun {
    fn start(&self) -> Option<Timestamp> {
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

#[derive(Clone, Debug)]
struct MIncident {
    source: String,
    id: String,
    deliveries: Vec<i64>,
    title: Option<String>,
    /// The service after the mapping.
    service: Option<String>,
    opened: Option<Timestamp>,
    /// The earliest acknowledgement, when the source reports one.
    acknowledged: Option<Timestamp>,
    /// Resolved by its latest observation.
    resolved: bool,
    resolved_at: Option<Timestamp>,
    deployment_ids: Vec<String>,
    shas: Vec<String>,
    url: Option<String>,
    /// For an issue: its project, and `#N` for references in that project.
    project: Option<String>,
    number_ref: Option<String>,
}

impl MIncident {
    fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }

    fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }

    fn as_ref(&self) -> IncidentRef {
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

/// An issue is an incident when its type is `Incident` (GitLab, Jira) or
/// it carries the label `incident`; a postmortem when its type is
/// `Postmortem`, `Post-mortem` or `Post-incident review`, or it carries the
/// label `postmortem` or `post-mortem`. A postmortem is never an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IssueRole {
    Incident,
    Postmortem,
    Other,
}

fn issue_role(issue_type: Option<&str>, labels: &[String]) -> IssueRole {
    let t = issue_type.map(str::to_lowercase);
    let has = |names: &[&str]| {
        labels
            .iter()
            .any(|l| names.iter().any(|n| l.eq_ignore_ascii_case(n)))
    };
    if matches!(
        t.as_deref(),
        Some("postmortem" | "post-mortem" | "post-incident review")
    ) || has(&["postmortem", "post-mortem"])
    {
        IssueRole::Postmortem
    } else if t.as_deref() == Some("incident") || has(&["incident"]) {
        IssueRole::Incident
    } else {
        IssueRole::Other
    }
}

struct MIssue {
    source: String,
    id: String,
    deliveries: Vec<i64>,
    role: IssueRole,
    project: Option<String>,
    title: Option<String>,
    text: String,
    created: Option<Timestamp>,
    closed: bool,
    closed_at: Option<Timestamp>,
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

/// Full commit SHAs (40 hex digits) written in a text.
fn shas_in(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)\b[0-9a-f]{40}\b").expect("a literal pattern compiles")
    });
    RE.find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .collect()
}

/// Deployment ids written as `deployment 123`, `deployment #123` or
/// `deployment: d-41` in a text.
fn deployment_ids_in(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)\bdeployment\s*[:#]?\s*#?([A-Za-z0-9][A-Za-z0-9._-]*)")
            .expect("a literal pattern compiles")
    });
    RE.captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().trim_end_matches(['.', '-', '_']).to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `text` holds `token` with no letter, digit, `-` or `_` right
/// before or after it.
fn mentions(text: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut start = 0;
    while let Some(pos) = text[start..].find(token) {
        let at = start + pos;
        let end = at + token.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(word) && !after.is_some_and(word) {
            return true;
        }
        start = at + token.len().max(1);
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

#[derive(Clone, Debug)]
struct MPostmortem {
    source: String,
    id: String,
    deliveries: Vec<i64>,
    published: Option<Timestamp>,
    /// A generic postmortem names its incident.
    incident_id: Option<String>,
    /// An issue references incidents in its text.
    text: Option<(String, Option<String>)>,
}

impl MPostmortem {
    fn thing(&self) -> EventRef {
        EventRef {
            source: self.source.clone(),
            id: self.id.clone(),
            deliveries: self.deliveries.clone(),
        }
    }

    fn name(&self) -> String {
        format!("{}:{}", self.source, self.id)
    }
}

/// A test execution: the test, its commit, its run, and (without a run)
/// the observation itself.
type TestKey = (String, Option<String>, Option<String>, Option<String>);

/// A change's first commit time, pickup start, and first review (its time
/// and reviewer).
type ChangeTimes = (
    Option<Timestamp>,
    Option<Timestamp>,
    Option<(Timestamp, Option<String>)>,
);

#[derive(Clone, Debug)]
struct TestRun {
    name: String,
    outcome: TestOutcome,
    flaky: bool,
    duration: Option<f64>,
    commit: Option<String>,
    run_id: Option<String>,
    at: Option<Timestamp>,
}

// ---------------------------------------------------------------------------
// Reachability in the clone.

struct CloneGraph<'h> {
    history: &'h History,
    index: HashMap<CommitId, CommitIdx>,
    /// Ancestors (itself included) of a commit, as a bitset, on demand.
    reach: HashMap<CommitIdx, Vec<u64>>,
}

impl<'h> CloneGraph<'h> {
    fn new(history: &'h History) -> CloneGraph<'h> {
        CloneGraph {
            history,
            index: history.index_by_id(),
            reach: HashMap::new(),
        }
    }

    fn find(&self, sha: &str) -> Option<CommitIdx> {
        CommitId::from_hex(sha.as_bytes()).and_then(|id| self.index.get(&id).copied())
    }

    /// Whether `descendant` reaches `ancestor` (or is it).
    fn contains(&mut self, descendant: CommitIdx, ancestor: CommitIdx) -> bool {
        let n = self.history.commits.len();
        let history = self.history;
        let bits = self.reach.entry(descendant).or_insert_with(|| {
            let mut bits = vec![0u64; n.div_ceil(64)];
            let mut stack = vec![descendant];
            while let Some(c) = stack.pop() {
                let (w, b) = (c as usize / 64, c as usize % 64);
                if bits[w] & (1 << b) != 0 {
                    continue;
                }
                bits[w] |= 1 << b;
                stack.extend(history.commit(c).parents.iter().copied());
            }
            bits
        });
        let (w, b) = (ancestor as usize / 64, ancestor as usize % 64);
        bits.get(w).is_some_and(|word| word & (1 << b) != 0)
    }
}

// ---------------------------------------------------------------------------
// The report.

/// A change's link to the deployment that shipped it.
#[derive(Clone, Debug)]
struct ChangeLink {
    deployment: usize,
    link: Link,
}

/// A change's stage boundaries and stages.
#[derive(Clone, Copy, Debug, Default)]
struct Stages {
    first_commit: Option<Timestamp>,
    ready: Option<Timestamp>,
    first_review: Option<Timestamp>,
    lead: Option<i64>,
    /// coding, pickup, review, unreviewed, deploy.
    values: [Option<i64>; 5],
    /// False for a negative lead time.
    ordered: bool,
}

/// The stages of a change deployed at `deployed`: boundaries first commit,
/// pickup start, first review, merge, deployment. Each known boundary is
/// clamped into [the previous known one, the deployment], so that the
/// stages add up to the lead time; a stage needs both its boundaries.
/// Without a first review, pickup start to merge is `unreviewed`.
fn stages_of(
    first_commit: Option<Timestamp>,
    pickup_start: Option<Timestamp>,
    first_review: Option<Timestamp>,
    merged: Option<Timestamp>,
    deployed: Timestamp,
) -> Stages {
    let raw = [
        first_commit,
        pickup_start,
        first_review,
        merged,
        Some(deployed),
    ];
    let first_known = raw.iter().flatten().next().copied().unwrap_or(deployed);
    let ordered = first_known <= deployed;
    let mut bounds = raw;
    let mut floor: Option<Timestamp> = None;
    for t in bounds.iter_mut().flatten() {
        let lo = floor.unwrap_or(*t);
        *t = (*t).max(lo).min(deployed.max(lo));
        floor = Some(*t);
    }
    let span = |a: usize, b: usize| Some(bounds[b]? - bounds[a]?);
    let unreviewed = if bounds[2].is_none() {
        span(1, 3)
    } else {
        None
    };
    let values = [span(0, 1), span(1, 2), span(2, 3), unreviewed, span(3, 4)];
    Stages {
        first_commit,
        ready: pickup_start,
        first_review,
        lead: first_commit.map(|f| deployed - f),
        values,
        ordered,
    }
}

/// Computes the delivery report. `history` is the clone used to link
/// deployments to changes by commit range, when given.
pub fn delivery_report(
    events: &[TracedEvent<'_>],
    history: Option<&History>,
    settings: &DeliverySettings,
) -> Result<Report, ReportError> {
    let mut notices: Vec<Notice> = Vec::new();
    let mut clone = history.map(CloneGraph::new);

    // 1. Observations grouped by (source, kind, id), each group in order.
    let mut groups: BTreeMap<(&str, &'static str, String), Vec<&TracedEvent<'_>>> = BTreeMap::new();
    let mut reviews: BTreeMap<(&str, String), BTreeMap<String, Vec<&TracedEvent<'_>>>> =
        BTreeMap::new();
    let mut pushes: BTreeMap<(String, String), Vec<&TracedEvent<'_>>> = BTreeMap::new();
    let mut tests: BTreeMap<TestKey, TestRun> = BTreeMap::new();
    let mut newest: Option<Timestamp> = None;
    let mut oldest: Option<Timestamp> = None;
    for e in events {
        if let Some(at) = e.event.at {
            newest = Some(newest.map_or(at, |n| n.max(at)));
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
        }
        match &e.event.body {
            EventBody::Review(r) => reviews
                .entry((e.event.source.as_str(), r.change_id.clone()))
                .or_default()
                .entry(r.id.clone())
                .or_default()
                .push(e),
            EventBody::Push(p) => pushes
                .entry((p.repository.clone(), p.after.clone()))
                .or_default()
                .push(e),
            EventBody::TestCase(t) => {
                // An execution is a test on a commit in a run; the same
                // report stored twice is one execution. Without a run, each
                // delivery is its own.
                let key = (
                    t.full_name(),
                    t.commit.clone(),
                    t.run_id.clone(),
                    t.run_id
                        .is_none()
                        .then(|| format!("{}/{}", e.delivery_id, e.seq)),
                );
                tests.insert(
                    key,
                    TestRun {
                        name: t.full_name(),
                        outcome: t.outcome.clone(),
                        flaky: t.flaky,
                        duration: t.duration_seconds,
                        commit: t.commit.clone().map(|c| c.to_lowercase()),
                        run_id: t.run_id.clone(),
                        at: e.event.at,
                    },
                );
            }
            _ => {
                groups
                    .entry((e.event.source.as_str(), e.event.kind(), e.event.entity_id()))
                    .or_default()
                    .push(e);
            }
        }
    }

    // Repositories the clone holds: those whose events name its commits.
    let mut clone_repositories = BTreeSet::new();
    if let Some(c) = &clone {
        for e in events {
            let (repo, sha) = match &e.event.body {
                EventBody::Deployment(d) => (d.repository.as_ref(), d.sha.as_ref()),
                EventBody::Change(ch) => (ch.repository.as_ref(), ch.merge_sha.as_ref()),
                _ => (None, None),
            };
            if let (Some(r), Some(s)) = (repo, sha)
                && c.find(s).is_some()
            {
                clone_repositories.insert(r.to_lowercase());
            }
        }
    }
    let names = Names {
        settings,
        clone_repositories,
    };

    // 2. Merge observations into things.
    let mut deployments = Vec::new();
    let mut changes = Vec::new();
    let mut runs = Vec::new();
    let mut incidents = Vec::new();
    let mut postmortems = Vec::new();
    let mut issues = Vec::new();
    for ((_, kind, _), obs) in groups {
        let obs = ordered(obs);
        match kind {
            "deployment" => {
                deployments.extend(merge_deployment(&obs, &names, &settings.production))
            }
            "change" => changes.extend(merge_change(&obs, &names)),
            "ci_run" => runs.extend(merge_run(&obs)),
            "incident" => incidents.extend(merge_incident(&obs, &names)),
            "issue" => issues.extend(merge_issue(&obs)),
            "postmortem" => {
                let ps: Vec<&nextneck_model::events::Postmortem> = obs
                    .iter()
                    .filter_map(|o| match &o.event.body {
                        EventBody::Postmortem(p) => Some(p),
                        _ => None,
                    })
                    .collect();
                if let Some(last) = ps.last() {
                    postmortems.push(MPostmortem {
                        source: obs[0].event.source.clone(),
                        id: last.id.clone(),
                        deliveries: deliveries(&obs),
                        published: ps.iter().map(|p| p.published_at).min(),
                        incident_id: Some(last.incident_id.clone()),
                        text: None,
                    });
                }
            }
            _ => {}
        }
    }
    for issue in issues {
        match issue.role {
            IssueRole::Incident => {
                let service = issue.project.as_deref().map(|p| {
                    names
                        .service_of_repository(p)
                        .unwrap_or_else(|| p.to_owned())
                });
                let number_ref = issue
                    .id
                    .rsplit_once('#')
                    .map(|(_, n)| format!("#{n}"))
                    .filter(|_| issue.source != "jira");
                incidents.push(MIncident {
                    source: issue.source,
                    id: issue.id,
                    deliveries: issue.deliveries,
                    title: issue.title,
                    service,
                    opened: issue.created,
                    // Issues carry no acknowledgement.
                    acknowledged: None,
                    resolved: issue.closed,
                    resolved_at: issue.closed_at,
                    deployment_ids: deployment_ids_in(&issue.text),
                    shas: shas_in(&issue.text),
                    url: None,
                    project: issue.project,
                    number_ref,
                });
            }
            IssueRole::Postmortem => postmortems.push(MPostmortem {
                source: issue.source,
                id: issue.id,
                deliveries: issue.deliveries,
                published: issue.created,
                incident_id: None,
                text: Some((issue.text, issue.project)),
            }),
            IssueRole::Other => {}
        }
    }

    postmortems
        .sort_by(|a, b| (a.published, &a.source, &a.id).cmp(&(b.published, &b.source, &b.id)));

    // Production deployments with an outcome, in time order.
    let not_production = deployments
        .iter()
        .filter(|d| d.production.is_none())
        .count();
    let mut prod: Vec<MDeployment> = deployments
        .into_iter()
        .filter(|d| d.production.is_some())
        .collect();
    let production_seen = prod.len();
    prod.retain(|d| d.outcome != Outcome::Other);
    prod.sort_by(|a, b| (a.time(), &a.source, &a.id).cmp(&(b.time(), &b.source, &b.id)));
    // Successful deployments per target, in time order.
    let mut by_target: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in prod.iter().enumerate() {
        if d.success().is_some()
            && let Some(t) = &d.target
        {
            by_target.entry(t.to_lowercase()).or_default().push(i);
        }
    }
    let baseline: BTreeSet<usize> = by_target
        .values()
        .filter_map(|v| v.first().copied())
        .collect();

    // 3. Changes ↔ deployments.
    let mut change_links: Vec<Result<ChangeLink, String>> = Vec::with_capacity(changes.len());
    for c in &changes {
        change_links.push(link_change(
            c,
            &prod,
            &by_target,
            clone.as_mut(),
            settings.link_changes,
        ));
    }

    // Pickup and first review of each change.
    let push_list: Vec<MPush> = pushes
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
        .collect();
    let branches = Branches::new(&changes, &push_list);
    let mut change_stages: Vec<ChangeTimes> = Vec::with_capacity(changes.len());
    for c in &changes {
        let first_review = first_review(c, reviews.get(&(c.source.as_str(), c.id.clone())), &names);
        let pickup = c.opened.map(|o| {
            let until = first_review.as_ref().map(|r| r.0).or(c.merged);
            c.readies
                .iter()
                .copied()
                .filter(|r| until.is_none_or(|u| *r <= u))
                .fold(o, Timestamp::max)
        });
        let first_commit = first_commit(c, &branches);
        change_stages.push((first_commit, pickup, first_review));
    }

    // 4. Incidents ↔ deployments, postmortems ↔ incidents.
    let by_service = successes_by_service(&prod);
    let incident_links: Vec<Result<(usize, Link), String>> = incidents
        .iter()
        .map(|i| {
            link_incident(
                i,
                &prod,
                &by_service,
                clone.as_mut(),
                settings.link_incidents,
            )
        })
        .collect();
    let mut postmortem_of: Vec<Option<(usize, Link)>> = vec![None; incidents.len()];
    let mut unlinked_postmortems = Vec::new();
    for (p, pm) in postmortems.iter().enumerate() {
        let mut linked = false;
        for (i, inc) in incidents.iter().enumerate() {
            let link = match (&pm.incident_id, &pm.text) {
                (Some(id), _) if *id == inc.id => Some(Link {
                    rule: "postmortem_event",
                    reason: format!("postmortem {} names incident {}", pm.id, inc.id),
                }),
                (None, Some((text, project))) => {
                    let by_id = mentions(text, &inc.id);
                    let by_number = inc.number_ref.as_deref().is_some_and(|n| {
                        project.is_some() && *project == inc.project && mentions(text, n)
                    });
                    let by_url = inc.url.as_deref().is_some_and(|u| text.contains(u));
                    (by_id || by_number || by_url).then(|| Link {
                        rule: "postmortem_issue_reference",
                        reason: format!(
                            "postmortem issue {} mentions {}",
                            pm.id,
                            if by_id {
                                inc.id.clone()
                            } else if by_number {
                                inc.number_ref.clone().unwrap_or_default()
                            } else {
                                inc.url.clone().unwrap_or_default()
                            }
                        ),
                    })
                }
                _ => None,
            };
            if let Some(link) = link {
                linked = true;
                let earlier = postmortem_of[i]
                    .as_ref()
                    .is_some_and(|(q, _)| postmortems[*q].published <= pm.published);
                if !earlier {
                    postmortem_of[i] = Some((p, link));
                }
            }
        }
        if !linked {
            unlinked_postmortems.push(UnlinkedThing {
                thing: pm.thing(),
                reason: match &pm.incident_id {
                    Some(id) => format!("no incident has the id `{id}`"),
                    None => "its title and description mention no known incident".to_owned(),
                },
            });
        }
    }

    // 5. Failures and recovery.
    let mut incidents_of: Vec<Vec<usize>> = vec![Vec::new(); prod.len()];
    for (i, l) in incident_links.iter().enumerate() {
        if let Ok((d, _)) = l {
            incidents_of[*d].push(i);
        }
    }
    let failed_why: Vec<Vec<String>> = prod
        .iter()
        .enumerate()
        .map(|(d, dep)| match dep.outcome {
            Outcome::Failed(_, status) => vec![format!("deployment status `{status}`")],
            _ => incidents_of[d]
                .iter()
                .map(|&i| format!("incident {}", incidents[i].name()))
                .collect(),
        })
        .collect();
    let recovery: Vec<Option<(i64, String)>> = prod
        .iter()
        .enumerate()
        .map(|(d, dep)| match dep.outcome {
            Outcome::Failed(t, _) => {
                let target = dep.target.as_deref()?.to_lowercase();
                let next = by_target
                    .get(&target)?
                    .iter()
                    .map(|&n| &prod[n])
                    .find(|n| n.success().is_some_and(|s| s >= t))?;
                Some((
                    next.success()? - t,
                    format!("the next successful deployment {}", next.name()),
                ))
            }
            Outcome::Success(t) if !incidents_of[d].is_empty() => {
                let mut last: Option<(Timestamp, &MIncident)> = None;
                for &i in &incidents_of[d] {
                    let inc = &incidents[i];
                    let r = inc.resolved_at?;
                    if last.is_none_or(|(l, _)| r > l) {
                        last = Some((r, inc));
                    }
                }
                let (r, inc) = last?;
                (r >= t).then(|| (r - t, format!("the resolution of incident {}", inc.name())))
            }
            _ => None,
        })
        .collect();

    // 6. The window.
    let (since, until, selection) = resolve_window(
        settings.window,
        oldest.or(settings.now).unwrap_or(0),
        newest.or(settings.now).unwrap_or(0),
        DefaultStart::Fixed,
    )?;
    let in_window = |t: Option<Timestamp>| t.is_some_and(|t| (since..until).contains(&t));
    let mid = since + (until - since) / 2;

    let dep_selected: Vec<bool> = prod
        .iter()
        .map(|d| names.selects(d.repository.as_deref(), d.service.as_deref()))
        .collect();
    let window_deps: Vec<usize> = (0..prod.len())
        .filter(|&d| dep_selected[d] && in_window(prod[d].time()))
        .collect();
    let successes: Vec<usize> = window_deps
        .iter()
        .copied()
        .filter(|&d| prod[d].success().is_some())
        .collect();
    let failed: Vec<usize> = window_deps
        .iter()
        .copied()
        .filter(|&d| !failed_why[d].is_empty())
        .collect();

    // Changes per deployment.
    let mut shipped: Vec<Vec<usize>> = vec![Vec::new(); prod.len()];
    for (c, l) in change_links.iter().enumerate() {
        if let Ok(l) = l {
            shipped[l.deployment].push(c);
        }
    }
    let change_selected: Vec<bool> = changes
        .iter()
        .map(|c| names.selects(c.repository.as_deref(), c.service.as_deref()))
        .collect();

    // 7. Stages of the window's deployed changes.
    let mut values: [Vec<i64>; 5] = Default::default();
    let mut lead = Vec::new();
    let mut halves = [vec![0i64; STAGES.len()], vec![0i64; STAGES.len()]];
    let mut half_changes = [0usize; 2];
    let mut negative_dropped = 0;
    let mut baseline_changes = 0;
    let mut unreviewed = 0;
    let mut points = Vec::new();
    let mut stages_by_change: HashMap<usize, Stages> = HashMap::new();
    for &d in &successes {
        let Some(t) = prod[d].success() else { continue };
        for &c in &shipped[d] {
            if !change_selected[c] {
                continue;
            }
            let (fc, pickup, review) = &change_stages[c];
            let s = stages_of(
                *fc,
                *pickup,
                review.as_ref().map(|r| r.0),
                changes[c].merged,
                t,
            );
            stages_by_change.insert(c, s);
            if baseline.contains(&d) {
                baseline_changes += 1;
                continue;
            }
            if !s.ordered {
                negative_dropped += 1;
                continue;
            }
            if review.is_none() {
                unreviewed += 1;
            }
            let half = usize::from(t >= mid);
            half_changes[half] += 1;
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    values[i].push(*v);
                    halves[half][i] += v;
                }
            }
            if let Some(l) = s.lead {
                lead.push(l);
                if let (Some(cd), Some(dp)) = (s.values[0], s.values[4]) {
                    points.push(SeriesChange {
                        deployed_at: t,
                        lead_time_seconds: l,
                        coding_seconds: cd,
                        deploy_seconds: dp,
                    });
                }
            }
        }
    }
    let named: Vec<(&'static str, Vec<i64>)> = STAGES.into_iter().zip(values).collect();
    let stages = build_stages(&named);
    let bottleneck = bottleneck(&stages, &halves, half_changes);

    // 8. DORA figures.
    let window_days = (until - since) as f64 / DAY as f64;
    let count = successes.len();
    let attempts = window_deps.len();
    // Deployments are recognised when any production deployment, even a
    // failed attempt, is: then no success is a frequency of 0, not n/a.
    let recognised = prod
        .iter()
        .enumerate()
        .any(|(d, dep)| dep_selected[d] && dep.time().is_some());
    let per_week = count as f64 / (window_days / 7.0);
    let times: Vec<Timestamp> = prod
        .iter()
        .enumerate()
        .filter(|(d, _)| dep_selected[*d])
        .filter_map(|(_, d)| d.success())
        .collect();
    let (median_days, weeks) = deploy_days_per_week(&times, since, until);
    let lead_summary = Summary::of_seconds(&lead);
    let recoveries: Vec<i64> = failed
        .iter()
        .filter_map(|&d| recovery[d].as_ref().map(|r| r.0))
        .collect();
    let recovery_summary = Summary::of_seconds(&recoveries);
    let rework_of = |d: usize| -> Vec<String> {
        shipped[d]
            .iter()
            .filter(|&&c| change_selected[c])
            .filter_map(|&c| {
                let ch = &changes[c];
                let title = ch.title.as_deref().unwrap_or("");
                if title.starts_with("Revert \"") {
                    Some(format!("{} reverts: {title}", ch.id))
                } else if settings.hotfix.is_match(title)
                    || ch
                        .head_ref
                        .as_deref()
                        .is_some_and(|h| settings.hotfix.is_match(h))
                {
                    Some(format!("{} is a hotfix: {title}", ch.id))
                } else {
                    None
                }
            })
            .collect()
    };
    let reworked = successes
        .iter()
        .filter(|&&d| !rework_of(d).is_empty())
        .count();
    let dora = Dora {
        deployments: Deployments {
            count,
            in_history: prod
                .iter()
                .enumerate()
                .filter(|(d, dep)| dep_selected[*d] && dep.success().is_some())
                .count(),
            baseline_in_window: successes.iter().any(|d| baseline.contains(d)),
        },
        deployment_frequency: DeploymentFrequency::new(recognised, per_week, median_days, weeks)
            .with_failed_attempts(attempts - count),
        lead_time: LeadTime::new(&lead_summary, negative_dropped, baseline_changes),
        change_failure_rate: ChangeFailureRate::new(failed.len(), attempts),
        recovery_time: RecoveryTime::new(&recovery_summary).with_failed(failed.len()),
        rework_rate: ReworkRate::new(reworked, count),
    };

    // 9. Incidents.
    let incident_selected: Vec<bool> = incidents
        .iter()
        .enumerate()
        .map(|(i, inc)| {
            let dep = incident_links[i].as_ref().ok().map(|(d, _)| &prod[*d]);
            let repository = dep
                .and_then(|d| d.repository.as_deref())
                .or(inc.project.as_deref());
            let f = &settings.filter;
            if f.is_empty() {
                return true;
            }
            // An incident belongs to its service, and to the repository of
            // its deployment (or its project, for an issue).
            names.selects(repository, inc.service.as_deref())
                || dep.is_some_and(|d| names.selects(d.repository.as_deref(), d.service.as_deref()))
        })
        .collect();
    let mut window_incidents: Vec<usize> = (0..incidents.len())
        .filter(|&i| incident_selected[i] && in_window(incidents[i].opened))
        .collect();
    window_incidents.sort_by(|&a, &b| {
        let (x, y) = (&incidents[a], &incidents[b]);
        (x.opened, &x.source, &x.id).cmp(&(y.opened, &y.source, &y.id))
    });
    let restore = |inc: &MIncident| match (inc.opened, inc.resolved_at) {
        (Some(o), Some(r)) if r >= o => Some(r - o),
        _ => None,
    };
    let reflect = |i: usize| -> Option<i64> {
        let inc = &incidents[i];
        let (p, _) = postmortem_of[i].as_ref()?;
        let published = postmortems[*p].published?;
        let resolved = inc.resolved_at?;
        (published >= resolved).then(|| published - resolved)
    };
    let restores: Vec<i64> = window_incidents
        .iter()
        .filter_map(|&i| restore(&incidents[i]))
        .collect();
    let reflects: Vec<i64> = window_incidents
        .iter()
        .filter_map(|&i| reflect(i))
        .collect();
    let mut without: Vec<usize> = window_incidents
        .iter()
        .copied()
        .filter(|&i| incidents[i].resolved && postmortem_of[i].is_none())
        .collect();
    without.sort_by(|&a, &b| {
        let (x, y) = (&incidents[a], &incidents[b]);
        (x.opened, x.resolved_at, &x.source, &x.id).cmp(&(
            y.opened,
            y.resolved_at,
            &y.source,
            &y.id,
        ))
    });
    let restore_summary = Summary::of_seconds(&restores);
    let reflect_summary = Summary::of_seconds(&reflects);
    let incident_figures = Incidents {
        count: window_incidents.len(),
        resolved: window_incidents
            .iter()
            .filter(|&&i| incidents[i].resolved)
            .count(),
        linked_to_deployment: window_incidents
            .iter()
            .filter(|&&i| incident_links[i].is_ok())
            .count(),
        time_to_restore: IncidentDurations {
            median_seconds: restore_summary.median,
            p85_seconds: restore_summary.p85,
            incidents: restore_summary.count,
        },
        time_to_reflect: IncidentDurations {
            median_seconds: reflect_summary.median,
            p85_seconds: reflect_summary.p85,
            incidents: reflect_summary.count,
        },
        without_postmortem: without.iter().map(|&i| incidents[i].as_ref()).collect(),
    };

    // 10. CI.
    let ci = ci_figures(&runs, &tests, history, &names, since, until, &mut notices);

    // 11. What waits undeployed.
    let mut undeployed = Undeployed {
        changes: 0,
        oldest_author_time: None,
    };
    for (c, ch) in changes.iter().enumerate() {
        if change_selected[c]
            && ch.is_merged
            && change_links[c].is_err()
            && ch.merged.is_none_or(|m| m < until)
        {
            undeployed.changes += 1;
            if let Some(t) = change_stages[c].0 {
                undeployed.oldest_author_time =
                    Some(undeployed.oldest_author_time.map_or(t, |o| o.min(t)));
            }
        }
    }

    // 12. Notices.
    if events.is_empty() {
        notices.push(Notice {
            code: "no_events",
            message: "the event store holds no delivery events yet: point webhooks at `nextneck serve`, or load API exports with `nextneck import` (docs/events.md)".to_owned(),
        });
    }
    if !recognised {
        notices.push(Notice {
            code: "no_deployments",
            message: format!(
                "no successful production deployment in the events ({} production and {} other deployments seen); production environments are those the source flags, or whose name matches {} (set `production` in the [delivery] section of nextneck.toml)",
                production_seen,
                not_production,
                settings.production.as_str()
            ),
        });
    } else if count == 0 {
        notices.push(Notice {
            code: "no_deployments_in_window",
            message: "no successful production deployment is in the window; widen it with --since/--until or pass --all".to_owned(),
        });
    }
    if baseline_changes > 0 {
        notices.push(Notice {
            code: "baseline",
            message: format!(
                "the oldest successful production deployment of each service is its baseline: it counts as a deployment, but its {} no lead time (it may ship anything merged before the events begin)",
                plural(baseline_changes, "change gets", "changes get")
            ),
        });
    }
    if negative_dropped > 0 {
        notices.push(Notice {
            code: "negative_lead_times",
            message: format!(
                "{} deployed before {} first commit (clock skew) and left out of lead time and stages",
                plural(negative_dropped, "change was", "changes were"),
                if negative_dropped == 1 { "its" } else { "their" }
            ),
        });
    }
    if unreviewed > 0 {
        notices.push(Notice {
            code: "unreviewed_changes",
            message: format!(
                "{} merged without a review by someone other than the author (bots excluded): no pickup or review stage; the time from pickup start to merge is the `unreviewed` stage",
                plural(unreviewed, "change was", "changes were")
            ),
        });
    }
    notices.extend(sample_notices(&dora, bottleneck.as_ref()));
    let mut merged_order: Vec<usize> = (0..changes.len()).collect();
    merged_order.sort_by(|&a, &b| {
        let (x, y) = (&changes[a], &changes[b]);
        (x.merged, &x.source, &x.id).cmp(&(y.merged, &y.source, &y.id))
    });
    let unlinked_changes: Vec<UnlinkedThing> = merged_order
        .iter()
        .map(|&c| (c, &changes[c]))
        .filter(|(c, ch)| {
            change_selected[*c] && ch.is_merged && (ch.merged.is_none() || in_window(ch.merged))
        })
        .filter_map(|(c, ch)| {
            change_links[c].as_ref().err().map(|reason| UnlinkedThing {
                thing: ch.thing(),
                reason: reason.clone(),
            })
        })
        .collect();
    if !unlinked_changes.is_empty() {
        notices.push(Notice {
            code: "unlinked_changes",
            message: format!(
                "{} merged in the window {} not linked to a successful production deployment (see --explain)",
                plural(unlinked_changes.len(), "change", "changes"),
                if unlinked_changes.len() == 1 { "is" } else { "are" }
            ),
        });
    }
    let unlinked_incidents: Vec<UnlinkedThing> = window_incidents
        .iter()
        .filter_map(|&i| {
            incident_links[i]
                .as_ref()
                .err()
                .map(|reason| UnlinkedThing {
                    thing: incidents[i].thing(),
                    reason: reason.clone(),
                })
        })
        .collect();
    if !unlinked_incidents.is_empty() {
        notices.push(Notice {
            code: "unlinked_incidents",
            message: format!(
                "{} in the window {} not linked to a deployment (see --explain)",
                plural(unlinked_incidents.len(), "incident", "incidents"),
                if unlinked_incidents.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            ),
        });
    }

    // 13. Series and explain.
    let series = settings.series.then(|| {
        let half = |from: Timestamp, to: Timestamp| {
            let ds: Vec<usize> = window_deps
                .iter()
                .copied()
                .filter(|&d| prod[d].time().is_some_and(|t| (from..to).contains(&t)))
                .collect();
            let ok = ds.iter().filter(|&&d| prod[d].success().is_some()).count();
            let leads: Vec<i64> = points
                .iter()
                .filter(|p| (from..to).contains(&p.deployed_at))
                .map(|p| p.lead_time_seconds)
                .collect();
            let failed_half: Vec<usize> = ds
                .iter()
                .copied()
                .filter(|&d| !failed_why[d].is_empty())
                .collect();
            let rec: Vec<i64> = failed_half
                .iter()
                .filter_map(|&d| recovery[d].as_ref().map(|r| r.0))
                .collect();
            let days = (to - from) as f64 / DAY as f64;
            HalfFigures {
                since: from,
                until: to,
                deployments: ok,
                per_week: (recognised && days > 0.0).then(|| ok as f64 / (days / 7.0)),
                lead_time_median_seconds: Summary::of_seconds(&leads).median,
                change_failure_rate: (!ds.is_empty())
                    .then(|| failed_half.len() as f64 / ds.len() as f64),
                recovery_median_seconds: Summary::of_seconds(&rec).median,
            }
        };
        Series {
            deployments: window_deps
                .iter()
                .map(|&d| SeriesDeployment {
                    time: prod[d].time().unwrap_or(since),
                    name: prod[d].name(),
                    failed: !failed_why[d].is_empty(),
                    baseline: baseline.contains(&d),
                    changes: shipped[d].iter().filter(|&&c| change_selected[c]).count(),
                })
                .collect(),
            lead_time_histogram: lead_time_histogram(&points),
            changes: points.clone(),
            halves: [half(since, mid), half(mid, until)],
        }
    });

    let explain = settings.explain.then(|| {
        let event_deployments = window_deps
            .iter()
            .map(|&d| {
                let dep = &prod[d];
                let mut explained: Vec<EventChange> = shipped[d]
                    .iter()
                    .filter(|&&c| change_selected[c])
                    .map(|&c| {
                        let ch = &changes[c];
                        let s = stages_by_change.get(&c).copied().unwrap_or_default();
                        let counted = !baseline.contains(&d) && s.ordered;
                        let (_, _, review) = &change_stages[c];
                        EventChange {
                            thing: ch.thing(),
                            title: ch.title.clone(),
                            repository: ch.repository.clone(),
                            link: change_links[c]
                                .as_ref()
                                .map(|l| l.link.clone())
                                .unwrap_or_else(|e| Link {
                                    rule: "none",
                                    reason: e.clone(),
                                }),
                            first_commit_at: s.first_commit,
                            opened_at: ch.opened,
                            ready_at: s.ready,
                            first_review_at: s.first_review,
                            first_reviewer: review.as_ref().and_then(|r| r.1.clone()),
                            merged_at: ch.merged,
                            coding_seconds: s.values[0].filter(|_| counted),
                            pickup_seconds: s.values[1].filter(|_| counted),
                            review_seconds: s.values[2].filter(|_| counted),
                            unreviewed_seconds: s.values[3].filter(|_| counted),
                            deploy_seconds: s.values[4].filter(|_| counted),
                            lead_time_seconds: s.lead,
                            counted,
                        }
                    })
                    .collect();
                explained
                    .sort_by(|a, b| (a.merged_at, &a.thing.id).cmp(&(b.merged_at, &b.thing.id)));
                EventDeployment {
                    thing: dep.thing(),
                    repository: dep.repository.clone(),
                    service: dep.service.clone(),
                    environment: dep.environment.clone(),
                    production: dep.production.clone().unwrap_or_default(),
                    sha: dep.sha.clone(),
                    status: match dep.outcome {
                        Outcome::Failed(_, s) => s,
                        _ => "success",
                    },
                    time: dep.time().unwrap_or(since),
                    baseline: baseline.contains(&d),
                    changes: explained,
                    failed: failed_why[d].clone(),
                    recovery_seconds: recovery[d].as_ref().map(|r| r.0),
                    recovered_by: recovery[d].as_ref().map(|r| r.1.clone()),
                    rework: if dep.success().is_some() {
                        rework_of(d)
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        let mut listed: Vec<usize> = window_incidents.clone();
        listed.sort_by(|&a, &b| {
            (incidents[a].opened, &incidents[a].source, &incidents[a].id).cmp(&(
                incidents[b].opened,
                &incidents[b].source,
                &incidents[b].id,
            ))
        });
        let event_incidents = listed
            .iter()
            .map(|&i| {
                let inc = &incidents[i];
                let (deployment, deployment_link) = match &incident_links[i] {
                    Ok((d, l)) => (Some(prod[*d].name()), Some(l.clone())),
                    Err(_) => (None, None),
                };
                let pm = postmortem_of[i].as_ref();
                EventIncident {
                    thing: inc.thing(),
                    title: inc.title.clone(),
                    service: inc.service.clone(),
                    opened_at: inc.opened,
                    acknowledged_at: inc.acknowledged,
                    resolved_at: inc.resolved_at,
                    url: inc.url.clone(),
                    time_to_restore_seconds: restore(inc),
                    deployment,
                    deployment_link,
                    postmortem: pm.map(|(p, _)| postmortems[*p].name()),
                    postmortem_published_at: pm.and_then(|(p, _)| postmortems[*p].published),
                    postmortem_link: pm.map(|(_, l)| l.clone()),
                    time_to_reflect_seconds: reflect(i),
                }
            })
            .collect();
        Explain {
            deployments: Vec::new(),
            delivery: Some(DeliveryExplain {
                deployments: event_deployments,
                incidents: event_incidents,
                unlinked: Unlinked {
                    changes: unlinked_changes.clone(),
                    incidents: unlinked_incidents.clone(),
                    postmortems: unlinked_postmortems.clone(),
                },
            }),
        }
    });

    Ok(Report {
        schema_version: SCHEMA_VERSION,
        source: Source {
            kind: if history.is_some() {
                "events+git"
            } else {
                "events"
            },
            path: settings.path.clone().unwrap_or_default(),
            commits: history.map_or(0, |h| h.commits.len()),
            tags: history.map_or(0, |h| h.tags.len()),
            shallow: history.is_some_and(|h| h.shallow),
            db: Some(settings.db.clone()),
            events: Some(events.len()),
        },
        window: Window {
            since,
            until,
            days: window_days,
            selection,
        },
        deployments_from: DeploymentsFrom::Events {
            production_pattern: settings.production.as_str().to_owned(),
            production: production_seen,
            not_production,
        },
        dora,
        stages,
        bottleneck,
        undeployed,
        notices,
        series,
        explain,
        incidents: Some(incident_figures),
        ci: Some(ci),
        // The code tie-in reads a git report's failed changes; an events
        // report does not feed it (yet).
        code: None,
    })
}

/// The first review of a change by someone other than its author, not a
/// bot, at or before its merge: its time and who gave it. A first review
/// time stated by the change itself (generic events) counts too.
fn first_review(
    c: &MChange,
    reviews: Option<&BTreeMap<String, Vec<&TracedEvent<'_>>>>,
    names: &Names<'_>,
) -> Option<(Timestamp, Option<String>)> {
    let before_merge = |t: Timestamp| c.merged.is_none_or(|m| t <= m);
    let mut best: Option<(Timestamp, Option<String>)> = c
        .stated_first_review
        .filter(|t| before_merge(*t))
        .map(|t| (t, None));
    for obs in reviews.into_iter().flat_map(|r| r.values()) {
        let mut merged = MReview {
            reviewer: None,
            change_author: None,
            at: None,
        };
        for o in obs {
            if let EventBody::Review(r) = &o.event.body {
                merge_actor(&mut merged.reviewer, &r.reviewer);
                merge_actor(&mut merged.change_author, &r.change_author);
                merged.at = earliest([merged.at, r.submitted_at].into_iter());
            }
        }
        let (Some(reviewer), Some(at)) = (&merged.reviewer, merged.at) else {
            continue;
        };
        let author = c.author.as_ref().or(merged.change_author.as_ref());
        if author.is_some_and(|a| same_actor(a, reviewer)) || names.is_bot(reviewer) {
            continue;
        }
        if !before_merge(at) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _)| at < *b) {
            best = Some((at, Some(actor_name(reviewer))));
        }
    }
    best
}

/// Changes and pushes by repository (lower case) and branch, to find a
/// change's pushed commits without scanning everything for each change.
#[derive(Default)]
struct Branches<'a> {
    changes: HashMap<(String, String), Vec<&'a MChange>>,
    pushes: HashMap<(String, String), Vec<&'a MPush>>,
}

impl<'a> Branches<'a> {
    fn new(changes: &'a [MChange], pushes: &'a [MPush]) -> Branches<'a> {
        let mut b = Branches::default();
        for c in changes {
            if let (Some(r), Some(h)) = (&c.repository, &c.head_ref) {
                b.changes
                    .entry((r.to_lowercase(), format!("refs/heads/{h}")))
                    .or_default()
                    .push(c);
            }
        }
        for p in pushes {
            b.pushes
                .entry((p.repository.clone(), p.git_ref.clone()))
                .or_default()
                .push(p);
        }
        b
    }
}

/// The earliest author time of a change's commits: those it lists, or
/// else those pushed to its source branch in its repository after the
/// previous change from that branch merged and no later than its merge.
fn first_commit(c: &MChange, branches: &Branches<'_>) -> Option<Timestamp> {
    let listed = c.commits.values().flatten().min().copied();
    if listed.is_some() {
        return listed;
    }
    let (Some(repo), Some(head)) = (&c.repository, &c.head_ref) else {
        return None;
    };
    let key = (repo.to_lowercase(), format!("refs/heads/{head}"));
    let previous = branches
        .changes
        .get(&key)
        .into_iter()
        .flatten()
        .filter(|o| o.id != c.id)
        .filter_map(|o| o.merged)
        .filter(|m| c.opened.is_some_and(|opened| *m < opened))
        .max();
    branches
        .pushes
        .get(&key)
        .into_iter()
        .flatten()
        .filter(|p| {
            p.at.is_some_and(|at| {
                previous.is_none_or(|prev| at > prev) && c.merged.is_none_or(|m| at <= m)
            })
        })
        .flat_map(|p| p.commits.iter().filter_map(|(_, t)| *t))
        .min()
}

/// The deployment that shipped a merged change, and why; or why none.
fn link_change(
    c: &MChange,
    prod: &[MDeployment],
    by_target: &BTreeMap<String, Vec<usize>>,
    clone: Option<&mut CloneGraph<'_>>,
    rule: ChangeLinking,
) -> Result<ChangeLink, String> {
    if !c.is_merged {
        return Err("not merged".to_owned());
    }
    let Some(target) = &c.target else {
        return Err(
            "it names no repository, so no deployment can be of the same service".to_owned(),
        );
    };
    let candidates: &[usize] = by_target
        .get(&target.to_lowercase())
        .map_or(&[], |v| v.as_slice());
    if candidates.is_empty() {
        return Err(format!(
            "no successful production deployment of `{target}` (map its repository to the deployments' service in [services])"
        ));
    }
    // By commit range: the first deployment (in time order) whose commit
    // contains the merge commit, when the clone holds both.
    if rule != ChangeLinking::AfterMerge {
        match clone {
            Some(clone) => {
                let merge = c.merge_sha.as_deref().and_then(|s| clone.find(s));
                let in_clone: Vec<(usize, CommitIdx)> = candidates
                    .iter()
                    .filter_map(|&d| {
                        prod[d]
                            .sha
                            .as_deref()
                            .and_then(|s| clone.find(s))
                            .map(|x| (d, x))
                    })
                    .collect();
                match merge {
                    Some(m) if !in_clone.is_empty() => {
                        for (d, x) in in_clone {
                            if clone.contains(x, m) {
                                return Ok(ChangeLink {
                                    deployment: d,
                                    link: Link {
                                        rule: "commit_range",
                                        reason: format!(
                                            "deployed commit {} contains merge commit {}",
                                            short(prod[d].sha.as_deref().unwrap_or("")),
                                            short(c.merge_sha.as_deref().unwrap_or(""))
                                        ),
                                    },
                                });
                            }
                        }
                        return Err(format!(
                            "no successful production deployment of `{target}` contains merge commit {} yet",
                            short(c.merge_sha.as_deref().unwrap_or(""))
                        ));
                    }
                    _ if rule == ChangeLinking::CommitRange => {
                        return Err(match merge {
                            None => "its merge commit is not in the clone".to_owned(),
                            Some(_) => format!("no deployed commit of `{target}` is in the clone"),
                        });
                    }
                    _ => {}
                }
            }
            None if rule == ChangeLinking::CommitRange => {
                return Err("linking by commit range needs a clone (PATH)".to_owned());
            }
            None => {}
        }
    }
    let Some(merged) = c.merged else {
        return Err("merged, but the merge time is unknown".to_owned());
    };
    candidates
        .iter()
        .copied()
        .find(|&d| prod[d].success().is_some_and(|t| t >= merged))
        .map(|d| ChangeLink {
            deployment: d,
            link: Link {
                rule: "first_deployment_after_merge",
                reason: format!(
                    "the first successful production deployment of `{target}` at or after the merge at {}",
                    time::rfc3339(merged)
                ),
            },
        })
        .ok_or_else(|| {
            format!(
                "no successful production deployment of `{target}` at or after the merge at {}",
                time::rfc3339(merged)
            )
        })
}

/// Whether two commit ids name the same commit: one is a prefix of the
/// other, ignoring case, and the shorter has at least 7 hex digits (GitLab
/// sends 8-digit short SHAs; people write 7 to 12).
fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.len() >= 7
        && short.bytes().all(|c| c.is_ascii_hexdigit())
        && long.starts_with(short.as_str())
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The deployment an incident is linked to, and why; or why none.
/// The successful production deployments of each service (its name in
/// ASCII lower case, as services compare), in `(time, index)` order: linking
/// an incident by service looks up the latest at or before it opened here
/// instead of scanning every deployment.
fn successes_by_service(prod: &[MDeployment]) -> HashMap<String, Vec<(Timestamp, usize)>> {
    let mut by: HashMap<String, Vec<(Timestamp, usize)>> = HashMap::new();
    for (d, dep) in prod.iter().enumerate() {
        if let (Some(t), Some(service)) = (dep.success(), &dep.target) {
            by.entry(service.to_ascii_lowercase())
                .or_default()
                .push((t, d));
        }
    }
    for list in by.values_mut() {
        list.sort_unstable();
    }
    by
}

fn link_incident(
    inc: &MIncident,
    prod: &[MDeployment],
    by_service: &HashMap<String, Vec<(Timestamp, usize)>>,
    mut clone: Option<&mut CloneGraph<'_>>,
    rule: IncidentLinking,
) -> Result<(usize, Link), String> {
    let same_service = |d: &MDeployment| match (&inc.service, &d.target) {
        (Some(s), Some(t)) => s.eq_ignore_ascii_case(t),
        _ => false,
    };
    // Among several candidates: those of the incident's service, then the
    // latest at or before it opened, else the earliest.
    let choose = |mut cands: Vec<usize>| -> Option<usize> {
        if cands.iter().any(|&d| same_service(&prod[d])) {
            cands.retain(|&d| same_service(&prod[d]));
        }
        let before = cands
            .iter()
            .copied()
            .filter(|&d| {
                inc.opened
                    .is_some_and(|o| prod[d].time().is_some_and(|t| t <= o))
            })
            .max_by_key(|&d| (prod[d].time(), d));
        before.or_else(|| cands.iter().copied().min_by_key(|&d| (prod[d].time(), d)))
    };
    for id in &inc.deployment_ids {
        let cands: Vec<usize> = (0..prod.len()).filter(|&d| prod[d].id == *id).collect();
        if let Some(d) = choose(cands) {
            return Ok((
                d,
                Link {
                    rule: "explicit_deployment_id",
                    reason: format!("the incident names deployment {id}"),
                },
            ));
        }
    }
    for sha in &inc.shas {
        let sha_l = sha.to_lowercase();
        let cands: Vec<usize> = (0..prod.len())
            .filter(|&d| {
                prod[d].success().is_some()
                    && prod[d]
                        .sha
                        .as_deref()
                        .is_some_and(|s| same_commit(s, &sha_l))
            })
            .collect();
        if let Some(d) = choose(cands) {
            return Ok((
                d,
                Link {
                    rule: "explicit_sha",
                    reason: format!(
                        "the incident names commit {}, which it deployed",
                        short(sha)
                    ),
                },
            ));
        }
        // With a clone: the first deployment whose commit contains it.
        if let Some(clone) = clone.as_deref_mut()
            && let Some(x) = clone.find(sha)
        {
            let mut cands: Vec<usize> = (0..prod.len())
                .filter(|&d| prod[d].success().is_some())
                .filter(|&d| {
                    prod[d]
                        .sha
                        .as_deref()
                        .and_then(|s| clone.find(s))
                        .is_some_and(|y| clone.contains(y, x))
                })
                .collect();
            if cands.iter().any(|&d| same_service(&prod[d])) {
                cands.retain(|&d| same_service(&prod[d]));
            }
            if let Some(d) = cands.into_iter().min_by_key(|&d| (prod[d].time(), d)) {
                return Ok((
                    d,
                    Link {
                        rule: "explicit_sha",
                        reason: format!(
                            "the incident names commit {}, first deployed by commit {}",
                            short(sha),
                            short(prod[d].sha.as_deref().unwrap_or(""))
                        ),
                    },
                ));
            }
        }
    }
    let named = !inc.deployment_ids.is_empty() || !inc.shas.is_empty();
    let unresolved = if named {
        format!(
            "it names {} that no production deployment matches; ",
            inc.deployment_ids
                .iter()
                .map(|d| format!("deployment {d}"))
                .chain(inc.shas.iter().map(|s| format!("commit {}", short(s))))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    if rule == IncidentLinking::Explicit {
        return Err(format!(
            "{unresolved}no explicit reference links it (linking by service is off)"
        ));
    }
    let Some(service) = &inc.service else {
        return Err(format!("{unresolved}it names no service"));
    };
    let Some(opened) = inc.opened else {
        return Err(format!("{unresolved}its opening time is unknown"));
    };
    // The latest (by time, then index) successful deployment of the
    // service at or before the opening.
    by_service
        .get(&service.to_ascii_lowercase())
        .and_then(|list| {
            let at_or_before = list.partition_point(|&(t, _)| t <= opened);
            at_or_before.checked_sub(1).map(|i| list[i].1)
        })
        .map(|d| {
            (
                d,
                Link {
                    rule: "latest_deployment_of_service",
                    reason: format!(
                        "the latest successful production deployment of `{service}` at or before the incident opened at {}",
                        time::rfc3339(opened)
                    ),
                },
            )
        })
        .ok_or_else(|| {
            format!(
                "{unresolved}no successful production deployment of `{service}` at or before it opened at {}",
                time::rfc3339(opened)
            )
        })
}

/// CI runs per workflow and the tests' flakiness and durations in the window.
fn ci_figures(
    runs: &[MRun],
    tests: &BTreeMap<TestKey, TestRun>,
    history: Option<&History>,
    names: &Names<'_>,
    since: Timestamp,
    until: Timestamp,
    notices: &mut Vec<Notice>,
) -> Ci {
    let selected = |r: &MRun| {
        names.selects(
            r.repository.as_deref(),
            r.repository
                .as_deref()
                .and_then(|repo| names.service_of_repository(repo))
                .as_deref(),
        )
    };
    let mut by_workflow: BTreeMap<(Option<String>, String), Vec<&MRun>> = BTreeMap::new();
    for r in runs {
        if !selected(r) || !r.start().is_some_and(|t| (since..until).contains(&t)) {
            continue;
        }
        let workflow = r.workflow.clone().unwrap_or_else(|| "(unnamed)".to_owned());
        by_workflow
            .entry((r.repository.clone(), workflow))
            .or_default()
            .push(r);
    }
    let workflows = by_workflow
        .into_iter()
        .map(|((repository, workflow), rs)| {
            let concluded: Vec<&&MRun> = rs
                .iter()
                .filter(|r| {
                    r.completed
                        && matches!(
                            r.conclusion,
                            Some(
                                CiConclusion::Success
                                    | CiConclusion::Failure
                                    | CiConclusion::TimedOut
                            )
                        )
                })
                .collect();
            let succeeded = concluded
                .iter()
                .filter(|r| r.conclusion == Some(CiConclusion::Success))
                .count();
            let durations: Vec<i64> = rs
                .iter()
                .filter(|r| r.completed)
                .filter_map(|r| match (r.started, r.finished) {
                    (Some(s), Some(f)) if f >= s => Some(f - s),
                    _ => None,
                })
                .collect();
            // A rerun's queued time is its first attempt's, so its queue
            // time is not measured.
            let queues: Vec<i64> = rs
                .iter()
                .filter(|r| r.attempt.is_none_or(|a| a <= 1))
                .filter_map(|r| match (r.queued, r.started) {
                    (Some(q), Some(s)) if s >= q => Some(s - q),
                    _ => None,
                })
                .collect();
            let d = Summary::of_seconds(&durations);
            let q = Summary::of_seconds(&queues);
            CiWorkflow {
                repository,
                workflow,
                runs: rs.len(),
                concluded: concluded.len(),
                succeeded,
                success_rate: (!concluded.is_empty())
                    .then(|| succeeded as f64 / concluded.len() as f64),
                duration_median_seconds: d.median,
                duration_p85_seconds: d.p85,
                queue_median_seconds: q.median,
                queue_p85_seconds: q.p85,
            }
        })
        .collect();

    // A test execution's time: its report's, else its run's start, else
    // the earliest run on its commit, else its commit's committer time in
    // the clone.
    let run_by_id: HashMap<&str, &MRun> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut runs_by_sha: HashMap<String, Vec<&MRun>> = HashMap::new();
    for r in runs {
        if let Some(s) = &r.sha {
            runs_by_sha.entry(s.to_lowercase()).or_default().push(r);
        }
    }
    let clone_times: HashMap<CommitId, Timestamp> = history
        .map(|h| h.commits.iter().map(|c| (c.id, c.committer_time)).collect())
        .unwrap_or_default();
    let filtering = !names.settings.filter.is_empty();
    let mut untimed = 0;
    let mut executions: BTreeMap<&str, Vec<&TestRun>> = BTreeMap::new();
    for t in tests.values() {
        let run = t
            .run_id
            .as_deref()
            .and_then(|id| run_by_id.get(id).copied());
        let commit_runs = t
            .commit
            .as_deref()
            .and_then(|c| runs_by_sha.get(c))
            .map_or(&[][..], |v| v.as_slice());
        let at =
            t.at.or_else(|| run.and_then(|r| r.start()))
                .or_else(|| commit_runs.iter().filter_map(|r| r.start()).min())
                .or_else(|| {
                    t.commit
                        .as_deref()
                        .and_then(|c| CommitId::from_hex(c.as_bytes()))
                        .and_then(|id| clone_times.get(&id).copied())
                });
        let Some(at) = at else {
            untimed += 1;
            continue;
        };
        if !(since..until).contains(&at) {
            continue;
        }
        if filtering {
            let known: Vec<&MRun> = run.into_iter().chain(commit_runs.iter().copied()).collect();
            if !known.iter().any(|r| selected(r)) {
                continue;
            }
        }
        executions.entry(t.name.as_str()).or_default().push(t);
    }
    if untimed > 0 {
        notices.push(Notice {
            code: "untimed_tests",
            message: format!(
                "{} no time (no timestamp in the report, no known CI run or commit time) and {} in no window; import JUnit reports with --run or --commit",
                plural(untimed, "test result has", "test results have"),
                if untimed == 1 { "is" } else { "are" }
            ),
        });
    }
    let mut flaky_tests = Vec::new();
    let mut slowest = Vec::new();
    for (name, execs) in &executions {
        let failed = |t: &TestRun| matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error);
        let mut commits: Vec<String> = Vec::new();
        let mut per_commit: BTreeMap<&str, (bool, bool, bool)> = BTreeMap::new();
        for t in execs {
            let Some(c) = t.commit.as_deref() else {
                continue;
            };
            if !per_commit.contains_key(c) {
                commits.push(c.to_owned());
            }
            let slot = per_commit.entry(c).or_default();
            slot.0 |= failed(t);
            slot.1 |= t.outcome == TestOutcome::Passed;
            slot.2 |= t.flaky;
        }
        let marked = execs.iter().filter(|t| t.flaky).count();
        commits.retain(|c| {
            per_commit
                .get(c.as_str())
                .is_some_and(|(f, p, m)| (*f && *p) || *m)
        });
        // A report that marks a test flaky without naming a commit still
        // makes it flaky.
        if !commits.is_empty() || marked > 0 {
            flaky_tests.push(FlakyTest {
                test: (*name).to_owned(),
                flaky_commits: commits.len(),
                commits,
                executions: execs.len(),
                failed: execs.iter().filter(|t| failed(t)).count(),
                marked_flaky: marked,
            });
        }
        let durations: Vec<f64> = execs.iter().filter_map(|t| t.duration).collect();
        if !durations.is_empty() {
            let mut d = durations.clone();
            let s = Summary::of(&mut d);
            slowest.push(SlowTest {
                test: (*name).to_owned(),
                executions: d.len(),
                median_seconds: s.median,
                p85_seconds: s.p85,
                max_seconds: d.last().copied().unwrap_or(0.0),
            });
        }
    }
    flaky_tests.sort_by(|a, b| {
        (b.flaky_commits, b.marked_flaky)
            .cmp(&(a.flaky_commits, a.marked_flaky))
            .then(a.test.cmp(&b.test))
    });
    slowest.sort_by(|a, b| {
        b.median_seconds
            .unwrap_or(0.0)
            .total_cmp(&a.median_seconds.unwrap_or(0.0))
            .then(a.test.cmp(&b.test))
    });
    slowest.truncate(SLOWEST);
    Ci {
        workflows,
        flaky_tests,
        slowest_tests: slowest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nextneck_model::Commit;
    use nextneck_model::events::{
        Change, ChangeCommit, ChangeState, CiRun, Deployment, Event, Incident, Issue, Postmortem,
        Review, ReviewState, TestCase,
    };
    use serde_json::{Value, json};

    /// 2024-01-01T00:00:00Z.
    const BASE: Timestamp = 1_704_067_200;
    const H: i64 = 3600;

    /// `BASE` + `day` days + `hour` hours.
    fn at(day: i64, hour: i64) -> Timestamp {
        BASE + day * DAY + hour * H
    }

    fn ev(source: &str, at: Option<Timestamp>, body: EventBody) -> Event {
        Event {
            source: source.to_owned(),
            at,
            body,
        }
    }

    fn deployment(id: &str, status: Option<DeploymentStatus>, t: Timestamp) -> Deployment {
        let terminal = matches!(
            status,
            Some(DeploymentStatus::Success | DeploymentStatus::Failure | DeploymentStatus::Error)
        );
        Deployment {
            id: id.to_owned(),
            repository: Some("acme/shop".to_owned()),
            service: None,
            environment: Some("production".to_owned()),
            production: None,
            sha: None,
            git_ref: None,
            status,
            created_at: None,
            started_at: None,
            finished_at: terminal.then_some(t),
            status_id: None,
        }
    }

    fn deployed(id: &str, t: Timestamp) -> Event {
        ev(
            "github",
            Some(t),
            EventBody::Deployment(deployment(id, Some(DeploymentStatus::Success), t)),
        )
    }

    fn actor(login: &str) -> Actor {
        Actor {
            login: Some(login.to_owned()),
            id: None,
            bot: false,
        }
    }

    fn change(id: &str, opened: Timestamp, merged: Option<Timestamp>) -> Change {
        Change {
            id: id.to_owned(),
            repository: Some("acme/shop".to_owned()),
            number: None,
            title: Some(format!("change {id}")),
            author: Some(actor("ada")),
            state: if merged.is_some() {
                ChangeState::Merged
            } else {
                ChangeState::Open
            },
            draft: None,
            opened_at: Some(opened),
            ready_at: None,
            first_review_at: None,
            merged_at: merged,
            closed_at: merged,
            merge_sha: None,
            head_sha: None,
            base_ref: None,
            head_ref: None,
            commits: Vec::new(),
            reviewers: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn merged(id: &str, opened: Timestamp, merged: Timestamp) -> Event {
        ev(
            "github",
            Some(merged),
            EventBody::Change(change(id, opened, Some(merged))),
        )
    }

    fn review(change_id: &str, id: &str, who: Actor, t: Timestamp) -> Event {
        ev(
            "github",
            Some(t),
            EventBody::Review(Review {
                id: id.to_owned(),
                change_id: change_id.to_owned(),
                change_author: None,
                reviewer: Some(who),
                state: ReviewState::Approved,
                submitted_at: Some(t),
                commit: None,
            }),
        )
    }

    fn incident(
        id: &str,
        service: Option<&str>,
        opened: Timestamp,
        resolved: Option<Timestamp>,
    ) -> Incident {
        Incident {
            id: id.to_owned(),
            title: None,
            service: service.map(str::to_owned),
            status: if resolved.is_some() {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Triggered
            },
            opened_at: Some(opened),
            acknowledged_at: None,
            resolved_at: resolved,
            deployment_id: None,
            sha: None,
            action: None,
            priority: None,
            url: None,
        }
    }

    fn traced(events: &[Event]) -> Vec<TracedEvent<'_>> {
        events
            .iter()
            .enumerate()
            .map(|(i, event)| TracedEvent {
                delivery_id: i as i64 + 1,
                seq: 0,
                event,
            })
            .collect()
    }

    fn settings() -> DeliverySettings {
        let mut s = DeliverySettings::new("sqlite:test.db");
        s.window = WindowSpec::All;
        s.explain = true;
        s.services = vec![ServiceRule {
            name: "shop".into(),
            repositories: vec!["acme/shop".into()],
            incident_services: vec!["Shop (PagerDuty)".into()],
        }];
        s
    }

    fn report_with(events: &[Event], history: Option<&History>, s: &DeliverySettings) -> Value {
        let r = delivery_report(&traced(events), history, s).expect("a report");
        serde_json::to_value(&r).expect("serializes")
    }

    /// Asserts each JSON pointer's value.
    fn check(report: &Value, expected: &[(&str, Value)]) {
        let mut failures = Vec::new();
        for (pointer, want) in expected {
            let got = report.pointer(pointer).unwrap_or(&Value::Null);
            let same = match (got.as_f64(), want.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                _ => got == want,
            };
            if !same {
                failures.push(format!("{pointer}: got {got}, want {want}"));
            }
        }
        assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    }

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

    #[test]
    fn the_first_review_is_by_someone_else_and_not_a_bot() {
        let bot_flagged = Actor {
            login: Some("ci".into()),
            id: None,
            bot: true,
        };
        let same_id = Actor {
            login: Some("ada-renamed".into()),
            id: Some("42".into()),
            bot: false,
        };
        let mut c = change("acme/shop#1", at(0, 0), Some(at(0, 20)));
        c.author = Some(Actor {
            login: Some("ada".into()),
            id: Some("42".into()),
            bot: false,
        });
        let events = vec![
            ev("github", Some(at(0, 20)), EventBody::Change(c)),
            review("acme/shop#1", "r1", actor("ADA"), at(0, 1)),
            review("acme/shop#1", "r2", same_id, at(0, 2)),
            review("acme/shop#1", "r3", actor("dependabot[bot]"), at(0, 3)),
            review("acme/shop#1", "r4", actor("renovate"), at(0, 4)),
            review("acme/shop#1", "r5", bot_flagged, at(0, 5)),
            review("acme/shop#1", "r7", actor("carol"), at(0, 7)),
            review("acme/shop#1", "r6", actor("bob"), at(0, 6)),
            // After the merge: not a review that ended the pickup.
            review("acme/shop#1", "r0", actor("dan"), at(0, 21)),
        ];
        let mut s = settings();
        s.bots = vec!["Renovate".into()];
        let r = report_with(
            &[
                vec![deployed("0", at(0, 0) - 1), deployed("1", at(1, 0))],
                events,
            ]
            .concat(),
            None,
            &s,
        );
        check(
            &r,
            &[
                (
                    "/explain/delivery/deployments/1/changes/0/first_review_at",
                    json!("2024-01-01T06:00:00Z"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/first_reviewer",
                    json!("bob"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/pickup_seconds",
                    json!(6 * H),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/review_seconds",
                    json!(14 * H),
                ),
            ],
        );
        // Only bots and the author reviewed it: no pickup or review stage.
        s.bots.clear();
        let mut c = change("acme/shop#2", at(0, 0), Some(at(0, 20)));
        c.author = Some(actor("ada"));
        let events = vec![
            deployed("0", at(0, 0) - 1),
            deployed("1", at(1, 0)),
            ev("github", Some(at(0, 20)), EventBody::Change(c)),
            review("acme/shop#2", "r1", actor("ada"), at(0, 1)),
            review("acme/shop#2", "r2", actor("renovate[bot]"), at(0, 2)),
            review("acme/shop#2", "r3", actor("bob"), at(0, 21)),
        ];
        let r = report_with(&events, None, &s);
        check(
            &r,
            &[
                (
                    "/explain/delivery/deployments/1/changes/0/first_review_at",
                    Value::Null,
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/pickup_seconds",
                    Value::Null,
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/review_seconds",
                    Value::Null,
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                    json!(4 * H),
                ),
                ("/stages/1/changes", json!(0)),
                ("/stages/1/median_seconds", Value::Null),
                ("/notices/0/code", json!("unreviewed_changes")),
            ],
        );
    }

    #[test]
    fn stage_boundaries_are_clamped_in_order() {
        // want: coding, pickup, review, unreviewed, deploy.
        let check = |b: [Option<Timestamp>; 4],
                     deployed: Timestamp,
                     want: [Option<i64>; 5],
                     lead: Option<i64>,
                     ordered: bool| {
            let s = stages_of(b[0], b[1], b[2], b[3], deployed);
            assert_eq!(
                (s.values, s.lead, s.ordered),
                (want, lead, ordered),
                "{b:?} {deployed}"
            );
        };
        check(
            [Some(0), Some(10), Some(20), Some(30)],
            40,
            [Some(10), Some(10), Some(10), None, Some(10)],
            Some(40),
            true,
        );
        // Equal times are zero-length stages, not missing ones.
        check(
            [Some(10), Some(10), Some(10), Some(10)],
            10,
            [Some(0), Some(0), Some(0), None, Some(0)],
            Some(0),
            true,
        );
        // A commit authored after the opening: coding is 0 and pickup starts
        // at the commit, so the stages still add up to the lead time.
        check(
            [Some(15), Some(10), Some(20), Some(30)],
            40,
            [Some(0), Some(5), Some(10), None, Some(10)],
            Some(25),
            true,
        );
        // No review: no pickup and no review stage; open to merge is
        // `unreviewed`, so the stages still add up to the lead time.
        check(
            [Some(0), Some(10), None, Some(30)],
            40,
            [Some(10), None, None, Some(20), Some(10)],
            Some(40),
            true,
        );
        // No commit time: no coding stage and no lead time, never a 0.
        check(
            [None, Some(10), Some(20), Some(30)],
            40,
            [None, Some(10), Some(10), None, Some(10)],
            None,
            true,
        );
        // Merged after the deployment that contains it (clock skew): the
        // merge is clamped to the deployment.
        check(
            [Some(0), Some(10), Some(20), Some(50)],
            40,
            [Some(10), Some(10), Some(20), None, Some(0)],
            Some(40),
            true,
        );
        // Deployed before its first commit: not counted.
        check(
            [Some(50), Some(60), None, Some(70)],
            40,
            [Some(0), None, None, Some(0), Some(0)],
            Some(-10),
            false,
        );
    }

    /// The claim of docs/metrics.md: whenever a change's first commit, its
    /// pickup start and its merge are known and it was deployed after its
    /// first commit, its stages add up to its lead time, reviewed or not,
    /// in any order of the times.
    #[test]
    fn stages_add_up_to_the_lead_time_in_every_combination() {
        let times = [0, 5, 10, 20, 30, 45];
        let mut combinations = 0;
        for fc in times {
            for pickup in times {
                for review in times.map(Some).into_iter().chain([None]) {
                    for merged in times {
                        let s = stages_of(Some(fc), Some(pickup), review, Some(merged), 40);
                        if !s.ordered {
                            continue;
                        }
                        let sum: i64 = s.values.iter().flatten().sum();
                        assert_eq!(
                            Some(sum),
                            s.lead,
                            "{fc} {pickup} {review:?} {merged}: {:?}",
                            s.values
                        );
                        combinations += 1;
                    }
                }
            }
        }
        assert_eq!(combinations, 6 * 6 * 7 * 6 - 7 * 6 * 6);
    }

    #[test]
    fn changes_link_to_the_first_deployment_at_or_after_the_merge() {
        let events = vec![
            deployed("100", at(1, 0)),
            deployed("101", at(3, 0)),
            deployed("102", at(5, 0)),
            // Merged before the first deployment: shipped by the baseline.
            merged("acme/shop#1", at(0, 0), at(0, 12)),
            // Merged exactly when 101 succeeded: 101 ships it.
            merged("acme/shop#2", at(2, 0), at(3, 0)),
            // Merged a second later: 102.
            merged("acme/shop#3", at(2, 0), at(3, 0) + 1),
            // Merged after the last deployment: undeployed.
            merged("acme/shop#4", at(5, 0), at(5, 1)),
            // Not merged.
            ev(
                "github",
                Some(at(5, 0)),
                EventBody::Change(change("acme/shop#5", at(5, 0), None)),
            ),
            // Another repository, mapped to no deployment.
            ev(
                "github",
                Some(at(2, 0)),
                EventBody::Change(Change {
                    repository: Some("acme/other".into()),
                    ..change("acme/other#1", at(1, 0), Some(at(2, 0)))
                }),
            ),
        ];
        let r = report_with(&events, None, &settings());
        let rule = "first_deployment_after_merge";
        check(
            &r,
            &[
                ("/explain/delivery/deployments/0/baseline", json!(true)),
                (
                    "/explain/delivery/deployments/0/changes/0/id",
                    json!("acme/shop#1"),
                ),
                (
                    "/explain/delivery/deployments/0/changes/0/counted",
                    json!(false),
                ),
                (
                    "/explain/delivery/deployments/0/changes/0/deploy_seconds",
                    Value::Null,
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/id",
                    json!("acme/shop#2"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/link/rule",
                    json!(rule),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                    json!(0),
                ),
                (
                    "/explain/delivery/deployments/2/changes/0/id",
                    json!("acme/shop#3"),
                ),
                (
                    "/explain/delivery/deployments/2/changes/0/deploy_seconds",
                    json!(2 * DAY - 1),
                ),
                (
                    "/explain/delivery/unlinked/changes/0/id",
                    json!("acme/other#1"),
                ),
                (
                    "/explain/delivery/unlinked/changes/0/reason",
                    json!(
                        "no successful production deployment of `acme/other` (map its repository to the deployments' service in [services])"
                    ),
                ),
                (
                    "/explain/delivery/unlinked/changes/1/id",
                    json!("acme/shop#4"),
                ),
                (
                    "/explain/delivery/unlinked/changes/1/reason",
                    json!(
                        "no successful production deployment of `shop` at or after the merge at 2024-01-06T01:00:00Z"
                    ),
                ),
                ("/explain/delivery/unlinked/changes/2", Value::Null),
                ("/dora/deployments/count", json!(3)),
                ("/dora/lead_time/baseline_changes", json!(1)),
                ("/stages/4/changes", json!(2)),
                ("/undeployed/changes", json!(2)),
            ],
        );
    }

    /// c0 ← c1 ← c2 ← c3, one line.
    fn line_history(times: &[Timestamp]) -> History {
        let commits = times
            .iter()
            .enumerate()
            .map(|(i, &t)| Commit {
                id: CommitId([i as u8 + 1; 20]),
                parents: if i == 0 { vec![] } else { vec![i as u32 - 1] },
                parent_count: u32::from(i > 0),
                author_time: t,
                committer_time: t,
                subject: format!("c{i}").into(),
                reverts: vec![],
            })
            .collect();
        History {
            commits,
            head: Some(times.len() as u32 - 1),
            ..History::default()
        }
    }

    fn sha(i: u8) -> String {
        CommitId([i + 1; 20]).to_hex()
    }

    #[test]
    fn changes_link_by_commit_range_with_a_clone() {
        let history = line_history(&[at(0, 0), at(1, 0), at(2, 0), at(3, 0)]);
        let dep = |id: &str, t: Timestamp, commit: u8| {
            let mut d = deployment(id, Some(DeploymentStatus::Success), t);
            d.sha = Some(sha(commit));
            ev("github", Some(t), EventBody::Deployment(d))
        };
        let with_merge = |id: &str, opened, merged: Timestamp, commit: Option<String>| {
            let mut c = change(id, opened, Some(merged));
            c.merge_sha = commit;
            ev("github", Some(merged), EventBody::Change(c))
        };
        let events = vec![
            dep("100", at(0, 1), 0),
            // Deployed commit c2 at day 2 06:00 contains c1 and c2.
            dep("101", at(2, 6), 2),
            dep("102", at(3, 6), 3),
            // Its merge says day 2 08:00 (after 101, clock skew), but the
            // commit range says 101 shipped it.
            with_merge("acme/shop#1", at(0, 12), at(2, 8), Some(sha(1))),
            // A merge commit the clone does not hold: after the merge.
            with_merge("acme/shop#2", at(0, 12), at(2, 8), Some("ab".repeat(20))),
        ];
        let r = report_with(&events, Some(&history), &settings());
        check(
            &r,
            &[
                ("/source/kind", json!("events+git")),
                ("/explain/delivery/deployments/1/id", json!("101")),
                (
                    "/explain/delivery/deployments/1/changes/0/id",
                    json!("acme/shop#1"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/link/rule",
                    json!("commit_range"),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/link/reason",
                    json!(format!(
                        "deployed commit {} contains merge commit {}",
                        &sha(2)[..12],
                        &sha(1)[..12]
                    )),
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/deploy_seconds",
                    json!(0),
                ),
                (
                    "/explain/delivery/deployments/2/changes/0/id",
                    json!("acme/shop#2"),
                ),
                (
                    "/explain/delivery/deployments/2/changes/0/link/rule",
                    json!("first_deployment_after_merge"),
                ),
            ],
        );
        // Commit ranges only: the merge commit the clone lacks is unlinked.
        let mut s = settings();
        s.link_changes = ChangeLinking::CommitRange;
        let r = report_with(&events, Some(&history), &s);
        check(
            &r,
            &[
                (
                    "/explain/delivery/unlinked/changes/0/id",
                    json!("acme/shop#2"),
                ),
                (
                    "/explain/delivery/unlinked/changes/0/reason",
                    json!("its merge commit is not in the clone"),
                ),
            ],
        );
        // After the merge only: the clone is not asked.
        s.link_changes = ChangeLinking::AfterMerge;
        let r = report_with(&events, Some(&history), &s);
        check(
            &r,
            &[
                (
                    "/explain/delivery/deployments/2/changes/0/id",
                    json!("acme/shop#1"),
                ),
                (
                    "/explain/delivery/deployments/2/changes/1/id",
                    json!("acme/shop#2"),
                ),
            ],
        );
    }

    #[test]
    fn incidents_link_by_reference_else_by_service() {
        let history = line_history(&[at(0, 0), at(1, 0), at(2, 0)]);
        let dep = |id: &str, t: Timestamp, commit: u8, service: Option<&str>| {
            let mut d = deployment(id, Some(DeploymentStatus::Success), t);
            d.sha = Some(sha(commit));
            if let Some(s) = service {
                d.service = Some(s.to_owned());
                d.repository = None;
            }
            ev("events", Some(t), EventBody::Deployment(d))
        };
        let inc = |i: Incident| ev("pagerduty", i.opened_at, EventBody::Incident(i));
        let events = vec![
            dep("d0", at(0, 1), 0, None),
            dep("d1", at(1, 1), 1, None),
            dep("d2", at(2, 1), 2, None),
            dep("x1", at(2, 1), 2, Some("search")),
            // Names deployment d0 explicitly, though d2 is the latest.
            inc(Incident {
                deployment_id: Some("d0".into()),
                ..incident("P1", Some("Shop (PagerDuty)"), at(3, 0), Some(at(3, 2)))
            }),
            // Names a commit by a prefix of the SHA d1 deployed.
            inc(Incident {
                sha: Some(sha(1)[..10].to_owned()),
                ..incident("P2", Some("Shop (PagerDuty)"), at(3, 0), None)
            }),
            // Names commit c0 in full: with the clone, the first deployment
            // containing it (d0).
            inc(Incident {
                sha: Some(sha(0)),
                ..incident("P3", None, at(3, 0), None)
            }),
            // Opened exactly when d1 succeeded: d1 is at or before it.
            inc(incident("P4", Some("Shop (PagerDuty)"), at(1, 1), None)),
            // Another service.
            inc(incident("P5", Some("search"), at(2, 5), None)),
            // Before any deployment of its service.
            inc(incident("P6", Some("shop"), at(0, 0), None)),
            // No service.
            inc(incident("P7", None, at(2, 5), None)),
            // An unknown deployment id, and no service.
            inc(Incident {
                deployment_id: Some("d9".into()),
                ..incident("P8", None, at(2, 6), None)
            }),
        ];
        let r = report_with(&events, Some(&history), &settings());
        let link = |id: &str| -> (Value, Value) {
            let incidents = r
                .pointer("/explain/delivery/incidents")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let i = incidents
                .iter()
                .find(|i| i["id"] == id)
                .cloned()
                .unwrap_or(Value::Null);
            (
                i["deployment"].clone(),
                i["deployment_link"]["rule"].clone(),
            )
        };
        assert_eq!(
            link("P1"),
            (json!("events:d0"), json!("explicit_deployment_id"))
        );
        assert_eq!(link("P2"), (json!("events:d1"), json!("explicit_sha")));
        assert_eq!(link("P3"), (json!("events:d0"), json!("explicit_sha")));
        assert_eq!(
            link("P4"),
            (json!("events:d1"), json!("latest_deployment_of_service"))
        );
        assert_eq!(
            link("P5"),
            (json!("events:x1"), json!("latest_deployment_of_service"))
        );
        assert_eq!(link("P6"), (Value::Null, Value::Null));
        assert_eq!(link("P7"), (Value::Null, Value::Null));
        let unlinked: Vec<(String, String)> = r["explain"]["delivery"]["unlinked"]["incidents"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|u| {
                        (
                            u["id"].as_str().unwrap_or("").to_owned(),
                            u["reason"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            unlinked,
            [
                ("P6".to_owned(), "no successful production deployment of `shop` at or before it opened at 2024-01-01T00:00:00Z".to_owned()),
                ("P7".to_owned(), "it names no service".to_owned()),
                ("P8".to_owned(), "it names deployment d9 that no production deployment matches; it names no service".to_owned()),
            ]
        );
        // Explicit references only: the service rule is off.
        let mut s = settings();
        s.link_incidents = IncidentLinking::Explicit;
        let r = report_with(&events, Some(&history), &s);
        check(
            &r,
            &[
                ("/incidents/linked_to_deployment", json!(3)),
                ("/incidents/count", json!(8)),
            ],
        );
        // Failed deployments: d0 (P1, P3), d1 (P2, P4), x1 (P5) of 4.
        let r = report_with(&events, Some(&history), &settings());
        check(
            &r,
            &[
                ("/dora/change_failure_rate/failed", json!(3)),
                ("/dora/change_failure_rate/deployments", json!(4)),
                // A deployment recovers once every incident linked to it
                // is resolved: P3 (d0), P2 and P4 (d1), P5 (x1) never are.
                ("/dora/recovery_time/recoveries", json!(0)),
                ("/dora/recovery_time/median_seconds", Value::Null),
            ],
        );
    }

    #[test]
    fn recovery_of_failed_deployments() {
        let failed = |id: &str, t: Timestamp| {
            ev(
                "github",
                Some(t),
                EventBody::Deployment(deployment(id, Some(DeploymentStatus::Failure), t)),
            )
        };
        let events = vec![
            deployed("1", at(0, 0)),
            // Failed by its status; recovered by the next success (3).
            failed("2", at(1, 0)),
            deployed("3", at(1, 2)),
            // Failed by an incident resolved 5 hours after it.
            ev(
                "pagerduty",
                Some(at(1, 3)),
                EventBody::Incident(incident("P1", Some("shop"), at(1, 3), Some(at(1, 7)))),
            ),
            // Failed by its status, not recovered yet.
            failed("4", at(2, 0)),
        ];
        let r = report_with(&events, None, &settings());
        check(
            &r,
            &[
                ("/dora/deployments/count", json!(2)),
                ("/dora/change_failure_rate/failed", json!(3)),
                ("/dora/change_failure_rate/deployments", json!(4)),
                ("/dora/change_failure_rate/ratio", json!(0.75)),
                ("/dora/recovery_time/recoveries", json!(2)),
                // 2 h and 5 h: median 3.5 h.
                ("/dora/recovery_time/median_seconds", json!(3.5 * H as f64)),
                (
                    "/explain/delivery/deployments/1/recovered_by",
                    json!("the next successful deployment github:3"),
                ),
                (
                    "/explain/delivery/deployments/2/failed/0",
                    json!("incident pagerduty:P1"),
                ),
                (
                    "/explain/delivery/deployments/2/recovery_seconds",
                    json!(5 * H),
                ),
                (
                    "/explain/delivery/deployments/3/recovery_seconds",
                    Value::Null,
                ),
                ("/incidents/time_to_restore/median_seconds", json!(4 * H)),
            ],
        );
    }

    fn issue(
        id: &str,
        labels: &[&str],
        issue_type: Option<&str>,
        text: &str,
        created: Timestamp,
        closed: Option<Timestamp>,
    ) -> Event {
        ev(
            id.split_once('#').map_or("jira", |_| "github"),
            Some(closed.unwrap_or(created)),
            EventBody::Issue(Issue {
                id: id.to_owned(),
                project: id.split_once('#').map(|(p, _)| p.to_owned()),
                issue_type: issue_type.map(str::to_owned),
                title: Some(text.to_owned()),
                description: None,
                labels: labels.iter().map(|l| (*l).to_owned()).collect(),
                status: Some(if closed.is_some() { "closed" } else { "open" }.to_owned()),
                status_category: Some(if closed.is_some() { "closed" } else { "open" }.to_owned()),
                action: None,
                author: None,
                created_at: Some(created),
                closed_at: closed,
            }),
        )
    }

    #[test]
    fn postmortems_and_time_to_reflect() {
        let pm = |id: &str, incident: &str, t: Timestamp| {
            ev(
                "events",
                Some(t),
                EventBody::Postmortem(Postmortem {
                    id: id.to_owned(),
                    incident_id: incident.to_owned(),
                    published_at: t,
                    url: None,
                }),
            )
        };
        let pd = |id: &str, opened: Timestamp, resolved: Option<Timestamp>| {
            ev(
                "pagerduty",
                Some(opened),
                EventBody::Incident(incident(id, Some("shop"), opened, resolved)),
            )
        };
        let events = vec![
            deployed("1", at(0, 0)),
            pd("P1", at(1, 0), Some(at(1, 2))),
            pd("P2", at(2, 0), Some(at(2, 1))),
            pd("P3", at(3, 0), Some(at(3, 1))),
            pd("P4", at(4, 0), None),
            pd("P5", at(0, 12), Some(at(0, 13))),
            // A generic postmortem 2 days after P1's resolution, and a later
            // one: the earliest counts.
            pm("PM-1", "P1", at(3, 2)),
            pm("PM-1b", "P1", at(5, 2)),
            // A GitHub issue labelled postmortem mentioning P2 (not P22).
            issue(
                "acme/shop#9",
                &["postmortem"],
                None,
                "Postmortem: P2 and P22",
                at(2, 5),
                None,
            ),
            // A Jira postmortem that mentions P3 before its resolution:
            // linked, but no time to reflect.
            issue("OPS-3", &[], Some("Postmortem"), "About P3", at(3, 0), None),
            // A GitHub issue labelled incident, closed: an incident too.
            issue(
                "acme/shop#10",
                &["incident"],
                None,
                "Outage, see deployment 1",
                at(4, 1),
                Some(at(4, 3)),
            ),
            // A postmortem of nothing known.
            pm("PM-x", "P99", at(5, 0)),
        ];
        let r = report_with(&events, None, &settings());
        check(
            &r,
            &[
                ("/incidents/count", json!(6)),
                ("/incidents/resolved", json!(5)),
                // P1 2 h, P2 1 h, P3 1 h, P5 1 h, #10 2 h.
                ("/incidents/time_to_restore/median_seconds", json!(H)),
                ("/incidents/time_to_restore/incidents", json!(5)),
                // P1: 2 days; P2: 4 hours.
                ("/incidents/time_to_reflect/incidents", json!(2)),
                (
                    "/incidents/time_to_reflect/median_seconds",
                    json!((2 * DAY + 4 * H) as f64 / 2.0),
                ),
                // Resolved without a postmortem, oldest first.
                ("/incidents/without_postmortem/0/id", json!("P5")),
                ("/incidents/without_postmortem/1/id", json!("acme/shop#10")),
                ("/incidents/without_postmortem/2", Value::Null),
                ("/explain/delivery/unlinked/postmortems/0/id", json!("PM-x")),
                ("/explain/delivery/unlinked/postmortems/1", Value::Null),
            ],
        );
        let incidents = r["explain"]["delivery"]["incidents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let find = |id: &str| {
            incidents
                .iter()
                .find(|i| i["id"] == id)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(find("P1")["postmortem"], json!("events:PM-1"));
        assert_eq!(
            find("P1")["postmortem_link"]["rule"],
            json!("postmortem_event")
        );
        assert_eq!(find("P2")["postmortem"], json!("github:acme/shop#9"));
        assert_eq!(
            find("P2")["postmortem_link"]["reason"],
            json!("postmortem issue acme/shop#9 mentions P2")
        );
        assert_eq!(find("P3")["postmortem"], json!("jira:OPS-3"));
        assert_eq!(find("P3")["time_to_reflect_seconds"], Value::Null);
        assert_eq!(
            find("acme/shop#10")["deployment_link"]["rule"],
            json!("explicit_deployment_id")
        );
    }

    #[test]
    fn missing_times_are_null_not_zero() {
        // Nothing at all.
        let r = report_with(&[], None, &settings());
        check(
            &r,
            &[
                ("/dora/deployments/count", json!(0)),
                ("/dora/deployment_frequency/per_week", Value::Null),
                ("/dora/lead_time/median_seconds", Value::Null),
                ("/dora/change_failure_rate/ratio", Value::Null),
                ("/dora/recovery_time/median_seconds", Value::Null),
                ("/stages/0/median_seconds", Value::Null),
                ("/stages/0/share", Value::Null),
                ("/bottleneck", Value::Null),
                ("/incidents/count", json!(0)),
                ("/incidents/time_to_restore/median_seconds", Value::Null),
                ("/incidents/time_to_reflect/median_seconds", Value::Null),
                ("/ci/workflows", json!([])),
                ("/notices/0/code", json!("no_events")),
                ("/notices/1/code", json!("no_deployments")),
            ],
        );
        // A change without commit times, an unresolved incident, a run that
        // never started.
        let run = CiRun {
            id: "9".into(),
            repository: Some("acme/shop".into()),
            workflow: Some("ci".into()),
            sha: None,
            branch: None,
            status: CiStatus::Queued,
            conclusion: None,
            attempt: None,
            queued_at: Some(at(1, 0)),
            started_at: None,
            finished_at: None,
        };
        let events = vec![
            deployed("1", at(0, 0)),
            deployed("2", at(2, 0)),
            merged("acme/shop#1", at(1, 0), at(1, 1)),
            ev("github", Some(at(1, 0)), EventBody::CiRun(run)),
            ev(
                "pagerduty",
                Some(at(1, 0)),
                EventBody::Incident(incident("P1", Some("shop"), at(1, 0), None)),
            ),
        ];
        let r = report_with(&events, None, &settings());
        check(
            &r,
            &[
                ("/stages/0/changes", json!(0)),
                ("/stages/0/median_seconds", Value::Null),
                ("/stages/3/median_seconds", json!(H)),
                ("/stages/4/median_seconds", json!(23 * H)),
                ("/dora/lead_time/changes", json!(0)),
                ("/dora/lead_time/median_seconds", Value::Null),
                (
                    "/explain/delivery/deployments/1/changes/0/lead_time_seconds",
                    Value::Null,
                ),
                (
                    "/explain/delivery/deployments/1/changes/0/coding_seconds",
                    Value::Null,
                ),
                ("/incidents/time_to_restore/median_seconds", Value::Null),
                ("/incidents/without_postmortem", json!([])),
                ("/ci/workflows/0/runs", json!(1)),
                ("/ci/workflows/0/success_rate", Value::Null),
                ("/ci/workflows/0/duration_median_seconds", Value::Null),
                ("/ci/workflows/0/queue_median_seconds", Value::Null),
            ],
        );
    }

    #[test]
    fn coding_starts_at_the_first_commit_listed_or_pushed() {
        let mut listed = change("acme/shop#1", at(1, 0), Some(at(1, 5)));
        listed.commits = vec![
            ChangeCommit {
                sha: "a".into(),
                authored_at: Some(at(0, 9)),
                committed_at: None,
                author: None,
            },
            ChangeCommit {
                sha: "b".into(),
                authored_at: Some(at(0, 7)),
                committed_at: None,
                author: None,
            },
        ];
        let mut pushed = change("acme/shop#2", at(1, 0), Some(at(1, 5)));
        pushed.head_ref = Some("feature".into());
        let mut previous = change("acme/shop#0", at(0, 0), Some(at(0, 3)));
        previous.head_ref = Some("feature".into());
        let push = |after: &str, t: Timestamp, authored: Timestamp| {
            ev(
                "github",
                Some(t),
                EventBody::Push(nextneck_model::events::Push {
                    repository: "acme/shop".into(),
                    git_ref: "refs/heads/feature".into(),
                    before: "0".repeat(40),
                    after: after.into(),
                    pusher: None,
                    commits: vec![ChangeCommit {
                        sha: after.into(),
                        authored_at: Some(authored),
                        committed_at: None,
                        author: None,
                    }],
                }),
            )
        };
        let events = vec![
            deployed("0", at(0, 0) - 10),
            deployed("1", at(2, 0)),
            ev("github", Some(at(1, 5)), EventBody::Change(listed)),
            ev("github", Some(at(1, 5)), EventBody::Change(pushed)),
            ev("github", Some(at(0, 3)), EventBody::Change(previous)),
            // Pushed for the previous change from the same branch: not this one's.
            push("p0", at(0, 2), at(0, 1)),
            push("p1", at(0, 6), at(0, 5)),
            push("p2", at(0, 8), at(0, 8)),
            // Pushed after the merge: not part of it.
            push("p3", at(1, 6), at(0, 4)),
        ];
        let r = report_with(&events, None, &settings());
        let changes = r["explain"]["delivery"]["deployments"][1]["changes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let first = |id: &str| {
            changes
                .iter()
                .find(|c| c["id"] == id)
                .map(|c| c["first_commit_at"].clone())
        };
        assert_eq!(first("acme/shop#1"), Some(json!("2024-01-01T07:00:00Z")));
        assert_eq!(first("acme/shop#2"), Some(json!("2024-01-01T05:00:00Z")));
    }

    #[test]
    fn ci_workflows_and_tests() {
        let run = |id: &str,
                   workflow: &str,
                   conclusion: Option<CiConclusion>,
                   q: Timestamp,
                   s: Timestamp,
                   f: Timestamp,
                   attempt: u32| {
            ev(
                "github",
                Some(f),
                EventBody::CiRun(CiRun {
                    id: id.into(),
                    repository: Some("acme/shop".into()),
                    workflow: Some(workflow.into()),
                    sha: Some(format!("{id:0>40}")),
                    branch: None,
                    status: CiStatus::Completed,
                    conclusion,
                    attempt: Some(attempt),
                    queued_at: Some(q),
                    started_at: Some(s),
                    finished_at: Some(f),
                }),
            )
        };
        let test = |name: &str,
                    outcome: TestOutcome,
                    flaky: bool,
                    commit: &str,
                    run: Option<&str>,
                    secs: f64| {
            ev(
                "junit",
                None,
                EventBody::TestCase(TestCase {
                    suite: None,
                    classname: Some("shop.CartTest".into()),
                    name: name.into(),
                    file: None,
                    duration_seconds: Some(secs),
                    outcome,
                    reruns: u32::from(flaky),
                    flaky,
                    commit: Some(commit.into()),
                    run_id: run.map(str::to_owned),
                    report: None,
                }),
            )
        };
        let c1 = format!("{:0>40}", "1");
        let c2 = format!("{:0>40}", "2");
        let events = vec![
            run(
                "1",
                "ci",
                Some(CiConclusion::Success),
                at(0, 0),
                at(0, 0) + 60,
                at(0, 0) + 660,
                1,
            ),
            run(
                "2",
                "ci",
                Some(CiConclusion::Failure),
                at(0, 1),
                at(0, 1) + 120,
                at(0, 1) + 420,
                1,
            ),
            // A rerun: its queue time is not measured.
            run(
                "3",
                "ci",
                Some(CiConclusion::Success),
                at(0, 2),
                at(0, 3),
                at(0, 3) + 900,
                2,
            ),
            run(
                "4",
                "ci",
                Some(CiConclusion::Canceled),
                at(0, 4),
                at(0, 4) + 30,
                at(0, 4) + 40,
                1,
            ),
            run(
                "5",
                "lint",
                Some(CiConclusion::Success),
                at(0, 5),
                at(0, 5),
                at(0, 5) + 30,
                1,
            ),
            // checkout: failed and passed on commit 1.
            test("checkout", TestOutcome::Failed, false, &c1, Some("1"), 2.0),
            test("checkout", TestOutcome::Passed, false, &c1, Some("2"), 4.0),
            // total: failed on 1, passed on 2: not flaky.
            test("total", TestOutcome::Failed, false, &c1, Some("1"), 1.0),
            test("total", TestOutcome::Passed, false, &c2, Some("3"), 3.0),
            // discount: marked flaky by Surefire.
            test("discount", TestOutcome::Passed, true, &c2, Some("3"), 0.5),
            // rerun failures only: failed every time, not flaky.
            test("tax", TestOutcome::Failed, false, &c2, Some("3"), 9.0),
        ];
        let r = report_with(&events, None, &settings());
        check(
            &r,
            &[
                ("/ci/workflows/0/workflow", json!("ci")),
                ("/ci/workflows/0/runs", json!(4)),
                ("/ci/workflows/0/concluded", json!(3)),
                ("/ci/workflows/0/succeeded", json!(2)),
                ("/ci/workflows/0/success_rate", json!(2.0 / 3.0)),
                // Durations 600, 300, 900, 10: median 450, p85 at rank 2.55 = 600 + 0.55 × 300.
                ("/ci/workflows/0/duration_median_seconds", json!(450)),
                ("/ci/workflows/0/duration_p85_seconds", json!(765)),
                // Queues 60, 120, 30 (the rerun left out): median 60.
                ("/ci/workflows/0/queue_median_seconds", json!(60)),
                ("/ci/workflows/0/queue_p85_seconds", json!(102)),
                ("/ci/workflows/1/workflow", json!("lint")),
                ("/ci/workflows/1/queue_median_seconds", json!(0)),
                // Most flaky commits first, then most marked flaky.
                ("/ci/flaky_tests/0/test", json!("shop.CartTest.discount")),
                ("/ci/flaky_tests/0/flaky_commits", json!(1)),
                ("/ci/flaky_tests/0/commits/0", json!(c2)),
                ("/ci/flaky_tests/0/marked_flaky", json!(1)),
                ("/ci/flaky_tests/1/test", json!("shop.CartTest.checkout")),
                ("/ci/flaky_tests/1/commits/0", json!(c1)),
                ("/ci/flaky_tests/1/failed", json!(1)),
                ("/ci/flaky_tests/1/executions", json!(2)),
                ("/ci/flaky_tests/2", Value::Null),
                ("/ci/slowest_tests/0/test", json!("shop.CartTest.tax")),
                ("/ci/slowest_tests/1/test", json!("shop.CartTest.checkout")),
                ("/ci/slowest_tests/1/median_seconds", json!(3.0)),
                ("/ci/slowest_tests/1/max_seconds", json!(4.0)),
            ],
        );
    }

    #[test]
    fn filters_select_by_repository_service_and_team() {
        let other = |e: Event| match e.body {
            EventBody::Deployment(mut d) => {
                d.repository = Some("acme/search".into());
                ev(&e.source, e.at, EventBody::Deployment(d))
            }
            EventBody::Change(mut c) => {
                c.repository = Some("acme/search".into());
                ev(&e.source, e.at, EventBody::Change(c))
            }
            body => ev(&e.source, e.at, body),
        };
        let events = vec![
            deployed("1", at(0, 0)),
            deployed("2", at(2, 0)),
            merged("acme/shop#1", at(1, 0), at(1, 1)),
            other(deployed("3", at(0, 0))),
            other(deployed("4", at(2, 0))),
            other(deployed("5", at(3, 0))),
            other(merged("acme/search#1", at(1, 0), at(1, 1))),
            ev(
                "pagerduty",
                Some(at(2, 1)),
                EventBody::Incident(incident("P1", Some("Shop (PagerDuty)"), at(2, 1), None)),
            ),
        ];
        let mut s = settings();
        s.teams = vec![TeamRule {
            name: "web".into(),
            services: vec!["shop".into()],
            ..TeamRule::default()
        }];
        let count = |f: Filter| {
            let mut s = s.clone();
            s.filter = f;
            let r = report_with(&events, None, &s);
            (
                r["dora"]["deployments"]["count"].as_u64().unwrap_or(99),
                r["stages"][3]["changes"].as_u64().unwrap_or(99),
                r["incidents"]["count"].as_u64().unwrap_or(99),
            )
        };
        assert_eq!(count(Filter::default()), (5, 2, 1));
        let repo = |r: &str| Filter {
            repositories: vec![r.into()],
            ..Filter::default()
        };
        assert_eq!(count(repo("acme/search")), (3, 1, 0));
        assert_eq!(count(repo("ACME/*")), (5, 2, 1));
        assert_eq!(count(repo("acme/shop")), (2, 1, 1));
        assert_eq!(
            count(Filter {
                services: vec!["shop".into()],
                ..Filter::default()
            }),
            (2, 1, 1)
        );
        assert_eq!(
            count(Filter {
                teams: vec!["web".into()],
                ..Filter::default()
            }),
            (2, 1, 1)
        );
        assert_eq!(
            count(Filter {
                teams: vec!["nobody".into()],
                ..Filter::default()
            }),
            (0, 0, 0)
        );
    }

    #[test]
    fn globs_and_mapping_specificity() {
        let check = |p: &str, v: &str, want: bool| assert_eq!(glob_match(p, v), want, "{p} {v}");
        check("acme/shop", "acme/shop", true);
        check("acme/shop", "ACME/Shop", true);
        check("acme/*", "acme/shop", true);
        check("acme/*", "acme/payments/api", true);
        check("acme/*-api", "acme/shop-api", true);
        check("acme/*-api", "acme/shop-web", false);
        check("acme/sho?", "acme/shop", true);
        check("acme/shop", "acme/shop2", false);
        check("*", "", true);
        let rules = [
            ("all".to_owned(), vec!["acme/*".to_owned()]),
            ("payments".to_owned(), vec!["acme/payments/*".to_owned()]),
            ("shop".to_owned(), vec!["acme/shop".to_owned()]),
        ];
        let best = |v: &str| {
            best_match(rules.iter().map(|(n, p)| (n.as_str(), p.as_slice())), v).map(str::to_owned)
        };
        assert_eq!(best("acme/shop").as_deref(), Some("shop"));
        assert_eq!(best("acme/payments/api").as_deref(), Some("payments"));
        assert_eq!(best("acme/web").as_deref(), Some("all"));
        assert_eq!(best("other/web"), None);
    }

    #[test]
    fn references_in_text() {
        assert!(mentions("Postmortem: P2 and P22", "P2"));
        assert!(!mentions("P22 only", "P2"));
        assert!(mentions("see #12.", "#12"));
        assert!(!mentions("see #123", "#12"));
        assert!(!mentions("see other/repo#12", "#12"));
        assert!(!mentions("OPS-3b", "OPS-3"));
        assert!(mentions("(OPS-3)", "OPS-3"));
        assert_eq!(
            deployment_ids_in("caused by Deployment #41 and deployment: d-7."),
            ["41", "d-7"]
        );
        assert_eq!(
            shas_in(&format!("bad {} here", "A".repeat(40))),
            ["a".repeat(40)]
        );
        assert!(shas_in(&"a".repeat(41)).is_empty());
        let full = "58793660b22d6ceacbdc23b28a0562bca339702c";
        assert!(same_commit(full, "58793660"));
        assert!(same_commit("58793660", &full.to_uppercase()));
        assert!(same_commit(full, full));
        assert!(!same_commit(full, "587936"), "too short");
        assert!(!same_commit(full, "58793661"));
        assert!(!same_commit("deploy-1", "deploy-12"), "not hex");
    }
}
