//! Normalized delivery events: what webhooks, API exports, JUnit reports and
//! the generic event format say happened, in one shape whatever the source.
//!
//! An [`Event`] is one observation: "deployment 42 of service api reached
//! `success` at 12:00", "pull request 7 was merged at 15:00". The same thing
//! (a deployment, a change, an incident) is usually observed several times,
//! once per status change and again when an export is imported; every
//! observation names the thing by its `id` within its `source`, so the
//! metrics can merge them. Nothing here decides what counts as a production
//! deployment, an incident or a flaky test: the events state facts (an
//! environment's name, a label, a rerun) and the metrics decide.
//!
//! Every stored event also knows the raw delivery it was derived from (the
//! store keeps that link), so every figure can be traced back to the bytes
//! a provider sent.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One stored observation and the raw delivery it was derived from: what
/// the metrics read, so that every figure can name its deliveries.
#[derive(Clone, Copy, Debug)]
pub struct TracedEvent<'a> {
    /// The store's id of the raw delivery.
    pub delivery_id: i64,
    /// The event's position among that delivery's events.
    pub seq: u32,
    /// The observation.
    pub event: &'a Event,
}

/// One normalized observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Where it came from: `github`, `gitlab`, `pagerduty`, `opsgenie`,
    /// `jira`, `junit` or `events` (the generic format).
    pub source: String,
    /// When the observed thing happened (a status's time, a merge, a push);
    /// the time the provider reports, never the time nextneck received it.
    /// `None` when the source gives no time at all.
    pub at: Option<Timestamp>,
    /// What was observed.
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// The kind as stored and documented (`deployment`, `change`, ...).
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }

    /// The thing this observation belongs to, as the store indexes it:
    /// `kind:source:id` of a deployment, release, change, CI run, incident,
    /// postmortem, issue or push (a review belongs to its change). `None`
    /// for observations that are not merged with others into a thing (CI
    /// jobs, test cases, status changes, stage transitions): a store
    /// selects those by their own time.
    pub fn thing(&self) -> Option<String> {
        let (kind, id) = match &self.body {
            EventBody::Deployment(d) => ("deployment", &d.id),
            EventBody::Release(r) => ("release", &r.id),
            EventBody::Change(c) => ("change", &c.id),
            EventBody::Review(r) => ("change", &r.change_id),
            EventBody::CiRun(r) => ("ci_run", &r.id),
            EventBody::Incident(i) => ("incident", &i.id),
            EventBody::Postmortem(p) => ("postmortem", &p.id),
            EventBody::Issue(i) => ("issue", &i.id),
            EventBody::Push(p) => {
                return Some(format!("push:{}:{}@{}", self.source, p.repository, p.after));
            }
            EventBody::CiJob(_)
            | EventBody::IssueStatusChange(_)
            | EventBody::TestCase(_)
            | EventBody::StageTransition(_) => return None,
        };
        Some(format!("{kind}:{}:{id}", self.source))
    }

    /// The id of the observed thing within its source (a deployment id, a
    /// change id, an incident id, a test's full name, ...).
    pub fn entity_id(&self) -> String {
        match &self.body {
            EventBody::Deployment(d) => d.id.clone(),
            EventBody::Release(r) => r.id.clone(),
            EventBody::Change(c) => c.id.clone(),
            EventBody::Review(r) => format!("{}/review/{}", r.change_id, r.id),
            EventBody::Push(p) => format!("{}@{}", p.repository, p.after),
            EventBody::CiRun(r) => r.id.clone(),
            EventBody::CiJob(j) => j.id.clone(),
            EventBody::Incident(i) => i.id.clone(),
            EventBody::Postmortem(p) => p.id.clone(),
            EventBody::Issue(i) => i.id.clone(),
            EventBody::IssueStatusChange(s) => s.issue_id.clone(),
            EventBody::TestCase(t) => t.full_name(),
            EventBody::StageTransition(s) => s.id.clone(),
        }
    }
}

/// The observation itself, tagged by `kind` in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A deployment, or a change of its status.
    Deployment(Deployment),
    /// A release (GitHub release, GitLab release) as it stood; whether it
    /// counts as a deployment is decided by the metrics.
    Release(Release),
    /// A pull request or merge request as it stood.
    Change(Change),
    /// One review of a change.
    Review(Review),
    /// A push of commits to a branch or tag.
    Push(Push),
    /// A CI run (GitHub workflow run, GitLab pipeline, generic CI run).
    CiRun(CiRun),
    /// One job of a CI run.
    CiJob(CiJob),
    /// An incident as it stood (PagerDuty, Opsgenie, generic).
    Incident(Incident),
    /// A postmortem's publication.
    Postmortem(Postmortem),
    /// An issue or work item as it stood (GitHub, GitLab, Jira).
    Issue(Issue),
    /// An issue moved from one status to another.
    IssueStatusChange(IssueStatusChange),
    /// One test case of a JUnit report.
    TestCase(TestCase),
    /// An item of a value stream entered a stage.
    StageTransition(StageTransition),
}

impl EventBody {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Deployment(_) => "deployment",
            EventBody::Release(_) => "release",
            EventBody::Change(_) => "change",
            EventBody::Review(_) => "review",
            EventBody::Push(_) => "push",
            EventBody::CiRun(_) => "ci_run",
            EventBody::CiJob(_) => "ci_job",
            EventBody::Incident(_) => "incident",
            EventBody::Postmortem(_) => "postmortem",
            EventBody::Issue(_) => "issue",
            EventBody::IssueStatusChange(_) => "issue_status_change",
            EventBody::TestCase(_) => "test_case",
            EventBody::StageTransition(_) => "stage_transition",
        }
    }
}

/// A deployment's status as the source states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    /// Created or waiting (GitHub `pending`, `queued`; GitLab `created`).
    Pending,
    /// Running (GitHub `in_progress`, GitLab `running`).
    InProgress,
    /// Succeeded.
    Success,
    /// Failed (GitHub `failure`, GitLab `failed`).
    Failure,
    /// Errored (GitHub `error`).
    Error,
    /// Canceled.
    Canceled,
    /// Superseded by a later deployment (GitHub `inactive`).
    Inactive,
    /// Anything else; the source's word is kept.
    Other(String),
}

/// A deployment observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The deployment's id in its source.
    pub id: String,
    /// `owner/name` of the repository, when known.
    pub repository: Option<String>,
    /// The service deployed, when the source names one.
    pub service: Option<String>,
    /// The environment's name as given (`production`, `prod-eu`, ...).
    pub environment: Option<String>,
    /// The source's own production flag (GitHub `production_environment`,
    /// GitLab `environment_tier == "production"`), when it has one.
    pub production: Option<bool>,
    /// The deployed commit (40 hex digits when the source gives it whole).
    pub sha: Option<String>,
    /// The deployed ref (branch or tag), when known.
    pub git_ref: Option<String>,
    /// The status this observation reports; `None` when the deployment was
    /// only created.
    pub status: Option<DeploymentStatus>,
    /// When the deployment was created.
    pub created_at: Option<Timestamp>,
    /// When it started running, when known.
    pub started_at: Option<Timestamp>,
    /// When it finished, when known.
    pub finished_at: Option<Timestamp>,
    /// The status record's own id (GitHub deployment status id), when any.
    pub status_id: Option<String>,
    /// The commits it shipped, as the source lists them (the generic
    /// format's `commits`); empty when it lists none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
    /// The changes it shipped, by change id, as the source lists them (the
    /// generic format's `changes`); empty when it lists none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

/// A release observation: a GitHub release (webhook `release` or the
/// releases API) or a GitLab release (release hook or the releases API).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// The release's id in its source (GitHub release id; GitLab
    /// `project@tag`, as GitLab names releases by their tag).
    pub id: String,
    /// `owner/name` or the GitLab project path, when known.
    pub repository: Option<String>,
    /// The tag's name.
    pub tag: String,
    /// The release's title, when any.
    pub name: Option<String>,
    /// What the tag points at as the source states it: GitHub
    /// `target_commitish` (a commit or a branch name), GitLab `commit.id`.
    pub target: Option<String>,
    /// True while a draft (GitHub `draft`).
    pub draft: bool,
    /// True for a pre-release (GitHub `prerelease`), or a GitLab
    /// `upcoming_release` (released in the future).
    pub prerelease: bool,
    /// When it was published (GitHub `published_at`, GitLab `released_at`);
    /// `None` for a draft.
    pub published_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// The webhook's action (`published`, `deleted`, `unpublished`, GitLab
    /// `create`, `update`, `delete`), when the observation is a webhook.
    pub action: Option<String>,
}

/// A person or account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Login or user name, when the source gives one.
    pub login: Option<String>,
    /// The source's numeric or opaque user id, when given (GitLab names a
    /// merge request's author only by id).
    pub id: Option<String>,
    /// True when the source marks the account as a bot (GitHub
    /// `type: Bot`, GitLab `bot: true`). Logins configured as bots are
    /// decided by the metrics, not here.
    pub bot: bool,
}

/// A change's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Open (including drafts).
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

/// A commit belonging to a change or a push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCommit {
    /// The commit id.
    pub sha: String,
    /// Author time, when known.
    pub authored_at: Option<Timestamp>,
    /// Committer time, when known.
    pub committed_at: Option<Timestamp>,
    /// Author name or login, when known.
    pub author: Option<String>,
}

/// A pull request or merge request observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `owner/name#number` (GitHub), `group/project!iid` (GitLab), or the
    /// generic event's id.
    pub id: String,
    /// `owner/name` of the target repository.
    pub repository: Option<String>,
    /// The number (GitHub) or iid (GitLab).
    pub number: Option<u64>,
    /// Title.
    pub title: Option<String>,
    /// Author.
    pub author: Option<Actor>,
    /// State as observed.
    pub state: ChangeState,
    /// True while a draft (GitHub `draft`, GitLab `work_in_progress`/`draft`).
    pub draft: Option<bool>,
    /// Opened (created).
    pub opened_at: Option<Timestamp>,
    /// Marked ready for review (only known from a `ready_for_review` event
    /// or a generic event).
    pub ready_at: Option<Timestamp>,
    /// First review, when the source states it (generic events); reviews
    /// themselves come as [`Review`] events.
    pub first_review_at: Option<Timestamp>,
    /// Merged.
    pub merged_at: Option<Timestamp>,
    /// Closed (merged or not).
    pub closed_at: Option<Timestamp>,
    /// The merge commit, or the squashed/rebased commit, when known.
    pub merge_sha: Option<String>,
    /// The head commit of the source branch, when known.
    pub head_sha: Option<String>,
    /// Target branch.
    pub base_ref: Option<String>,
    /// Source branch.
    pub head_ref: Option<String>,
    /// Commits with their author times, when the source lists them
    /// (exports with commits, generic events; a webhook gives at most the
    /// last commit).
    pub commits: Vec<ChangeCommit>,
    /// Requested reviewers and assignees named as reviewers.
    pub reviewers: Vec<Actor>,
    /// Labels.
    pub labels: Vec<String>,
}

/// A review's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Approved.
    Approved,
    /// Changes requested.
    ChangesRequested,
    /// A comment (GitHub review `commented`, GitLab note on a merge request).
    Commented,
    /// Dismissed.
    Dismissed,
    /// Anything else.
    Other(String),
}

/// One review of a change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The review's (or note's, or approval's) id.
    pub id: String,
    /// The reviewed change's id (as in [`Change::id`]).
    pub change_id: String,
    /// The change's author, when the payload says, so "someone other than
    /// the author" can be decided without the change.
    pub change_author: Option<Actor>,
    /// Who reviewed.
    pub reviewer: Option<Actor>,
    /// Verdict.
    pub state: ReviewState,
    /// When.
    pub submitted_at: Option<Timestamp>,
    /// The commit reviewed, when known.
    pub commit: Option<String>,
}

/// A push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Push {
    /// `owner/name`.
    pub repository: String,
    /// The full ref (`refs/heads/main`).
    pub git_ref: String,
    /// Previous tip (all zeros for a new branch).
    pub before: String,
    /// New tip.
    pub after: String,
    /// Who pushed.
    pub pusher: Option<String>,
    /// The pushed commits, oldest first, as the provider lists them.
    pub commits: Vec<ChangeCommit>,
}

/// A CI conclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiConclusion {
    /// Passed.
    Success,
    /// Failed.
    Failure,
    /// Canceled.
    Canceled,
    /// Skipped.
    Skipped,
    /// Timed out.
    TimedOut,
    /// Neutral or any other outcome; the source's word is kept.
    Other(String),
}

/// A CI run's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiStatus {
    /// Waiting for a runner (GitHub `queued`/`waiting`/`requested`, GitLab
    /// `created`/`pending`).
    Queued,
    /// Running.
    InProgress,
    /// Finished; see the conclusion.
    Completed,
}

/// A CI run observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CiRun {
    /// The run's id (GitHub workflow run id, GitLab pipeline id, ...).
    pub id: String,
    /// `owner/name`.
    pub repository: Option<String>,
    /// The workflow's name (GitHub workflow name or path, GitLab: the
    /// project's pipeline, named after the project).
    pub workflow: Option<String>,
    /// The commit built.
    pub sha: Option<String>,
    /// The branch or tag built.
    pub branch: Option<String>,
    /// Progress.
    pub status: CiStatus,
    /// Outcome once completed.
    pub conclusion: Option<CiConclusion>,
    /// Attempt number (GitHub `run_attempt`), when known.
    pub attempt: Option<u32>,
    /// Created (queued).
    pub queued_at: Option<Timestamp>,
    /// Started running.
    pub started_at: Option<Timestamp>,
    /// Finished.
    pub finished_at: Option<Timestamp>,
}

/// A CI job observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CiJob {
    /// The job's id.
    pub id: String,
    /// The run it belongs to, when known.
    pub run_id: Option<String>,
    /// `owner/name`.
    pub repository: Option<String>,
    /// The workflow's name, when known.
    pub workflow: Option<String>,
    /// The job's name.
    pub name: String,
    /// The stage (GitLab), when known.
    pub stage: Option<String>,
    /// The commit built.
    pub sha: Option<String>,
    /// Progress.
    pub status: CiStatus,
    /// Outcome once completed.
    pub conclusion: Option<CiConclusion>,
    /// Created (queued).
    pub queued_at: Option<Timestamp>,
    /// Started.
    pub started_at: Option<Timestamp>,
    /// Finished.
    pub finished_at: Option<Timestamp>,
}

/// An incident's status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Open, nobody acknowledged it yet (PagerDuty `triggered`, Opsgenie
    /// `Create`, reopened incidents).
    Triggered,
    /// Acknowledged.
    Acknowledged,
    /// Resolved or closed.
    Resolved,
}

/// An incident observation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident's id (PagerDuty incident id, Opsgenie alert id, generic).
    pub id: String,
    /// Title or message.
    pub title: Option<String>,
    /// The service as the source names it (PagerDuty service summary,
    /// Opsgenie entity, generic `service`). Mapping to nextneck services is
    /// configuration, applied by the metrics.
    pub service: Option<String>,
    /// The status this observation reports.
    pub status: IncidentStatus,
    /// When it opened, when the payload says.
    pub opened_at: Option<Timestamp>,
    /// When it was acknowledged, when this observation is the
    /// acknowledgement or the payload says.
    pub acknowledged_at: Option<Timestamp>,
    /// When it was resolved, when this observation is the resolution or the
    /// payload says.
    pub resolved_at: Option<Timestamp>,
    /// An explicit deployment id it is attributed to (generic events).
    pub deployment_id: Option<String>,
    /// An explicit commit it is attributed to (generic events).
    pub sha: Option<String>,
    /// The source's event name (`incident.acknowledged`, `Close`, ...).
    pub action: Option<String>,
    /// Priority or urgency as given (`P1`, `high`).
    pub priority: Option<String>,
    /// Link to the incident.
    pub url: Option<String>,
}

/// A postmortem's publication.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    /// The postmortem's id.
    pub id: String,
    /// The incident it is about.
    pub incident_id: String,
    /// When it was published.
    pub published_at: Timestamp,
    /// Link.
    pub url: Option<String>,
}

/// An issue or work item observation (GitHub issue, GitLab issue or
/// incident, Jira issue). Whether it is an incident or a postmortem is
/// decided by the metrics from its type and labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// `owner/name#number` (GitHub), `group/project#iid` (GitLab), the key
    /// (Jira, `PROJ-12`).
    pub id: String,
    /// `owner/name`, GitLab project path or Jira project key.
    pub project: Option<String>,
    /// The issue type (`Bug`, `Incident`, `Postmortem`; GitLab `incident`);
    /// `None` for GitHub issues, which have labels instead.
    pub issue_type: Option<String>,
    /// Title or summary.
    pub title: Option<String>,
    /// The body or description, which may reference incidents, deployments
    /// or commits.
    pub description: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Status name (`open`, `closed`, `In Progress`).
    pub status: Option<String>,
    /// Jira status category key (`new`, `indeterminate`, `done`), or
    /// `open`/`closed` elsewhere.
    pub status_category: Option<String>,
    /// The action that produced this observation (`opened`, `closed`,
    /// `jira:issue_updated`), when any.
    pub action: Option<String>,
    /// Author or reporter.
    pub author: Option<String>,
    /// Created.
    pub created_at: Option<Timestamp>,
    /// Closed or resolved.
    pub closed_at: Option<Timestamp>,
}

/// An issue's move from one status to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssueStatusChange {
    /// The issue's id (as in [`Issue::id`]).
    pub issue_id: String,
    /// Status before, when known.
    pub from: Option<String>,
    /// Status after.
    pub to: String,
    /// Who moved it, when known.
    pub by: Option<String>,
}

/// A test case's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Passed (possibly after reruns: see `flaky`).
    Passed,
    /// Failed an assertion.
    Failed,
    /// Errored.
    Error,
    /// Skipped.
    Skipped,
}

/// One test case of a JUnit report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// The innermost `testsuite`'s name, when any.
    pub suite: Option<String>,
    /// The `classname` attribute, when any.
    pub classname: Option<String>,
    /// The `name` attribute.
    pub name: String,
    /// The `file` attribute, when any.
    pub file: Option<String>,
    /// Duration in seconds (`time`), when given.
    pub duration_seconds: Option<f64>,
    /// Outcome of the final attempt.
    pub outcome: TestOutcome,
    /// Failed attempts before the final one passed (Surefire
    /// `flakyFailure`/`flakyError`) or reruns that failed again
    /// (`rerunFailure`/`rerunError`).
    pub reruns: u32,
    /// True when the report itself marks the test flaky (a `flakyFailure`
    /// or `flakyError`: failed, then passed on a rerun).
    pub flaky: bool,
    /// The commit tested, when given to the import (`--commit`).
    pub commit: Option<String>,
    /// The CI run, when given to the import (`--run`).
    pub run_id: Option<String>,
    /// The report file's name, for tracing.
    pub report: Option<String>,
}

impl TestCase {
    /// `classname.name`, or `suite.name`, or the name alone.
    pub fn full_name(&self) -> String {
        match (&self.classname, &self.suite) {
            (Some(c), _) if !c.is_empty() => format!("{c}.{}", self.name),
            (_, Some(s)) if !s.is_empty() => format!("{s}.{}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// An item of a value stream entering a stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTransition {
    /// The event's own id.
    pub id: String,
    /// The value stream (`hiring`, `sales`, `delivery`).
    pub stream: String,
    /// The item moving through it (a candidate, a deal, a ticket).
    pub item: String,
    /// The stage entered.
    pub stage: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_a_kind_tag() {
        let e = Event {
            source: "events".into(),
            at: Some(1_709_251_200),
            body: EventBody::StageTransition(StageTransition {
                id: "t1".into(),
                stream: "hiring".into(),
                item: "cand-7".into(),
                stage: "onsite".into(),
            }),
        };
        let json = serde_json::to_value(&e).expect("serializes");
        assert_eq!(json["kind"], "stage_transition");
        assert_eq!(json["stream"], "hiring");
        let back: Event = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, e);
        assert_eq!(back.kind(), "stage_transition");
        assert_eq!(back.entity_id(), "t1");
    }
}
