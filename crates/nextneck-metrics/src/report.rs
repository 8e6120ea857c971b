//! The delivery report: what `nextneck report` computes and every renderer
//! prints. Its serde form is the documented JSON schema (`docs/metrics.md`);
//! a figure that cannot be computed is `None` (JSON `null`), never `0`.

use nextneck_model::Timestamp;
use serde::Serialize;

use crate::code::FailureCode;
use crate::stats::wilson_interval;
use crate::tiers::{Tier, minimum, rated};
use crate::time::serde_rfc3339;
pub use crate::types::{Notice, Window};

/// The JSON schema version; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A delivery report over one window.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where the events came from.
    pub source: Source,
    /// The half-open window `[since, until)`.
    pub window: Window,
    /// How deployments were recognised.
    pub deployments_from: DeploymentsFrom,
    /// The four DORA keys and rework rate.
    pub dora: Dora,
    /// The lead time split into stages, in flow order.
    pub stages: Vec<Stage>,
    /// The stage with the largest share of change time, if any time was
    /// measured.
    pub bottleneck: Option<Bottleneck>,
    /// Changes on the deployed line that no deployment has shipped yet.
    pub undeployed: Undeployed,
    /// Things the reader should know: cut history, skipped tags, hints.
    pub notices: Vec<Notice>,
    /// The data behind the charts (every deployment and measured change in
    /// the window, and the figures of each half); present when asked for
    /// (HTML output).
    pub series: Option<Series>,
    /// Every deployment in the window with its changes and links; present
    /// when asked for (`--explain`).
    pub explain: Option<Explain>,
    /// Incidents, time to restore and time to reflect: reports over
    /// delivery events (`nextneck report --db`); `None` for a git report.
    pub incidents: Option<Incidents>,
    /// CI health per workflow, flaky and slowest tests: reports over
    /// delivery events; `None` for a git report.
    pub ci: Option<Ci>,
    /// What the code says about the files the window's failed deployments
    /// touched (the top hotspot among them, knowledge islands); `None`
    /// when the window has no failed deployment or the file changes could
    /// not be read. Filled by [`crate::code::failure_code`].
    pub code: Option<FailureCode>,
}

/// The points behind the charts.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    /// Deployments in the window, oldest first.
    pub deployments: Vec<SeriesDeployment>,
    /// Every change with a counted lead time, in deployment order.
    pub changes: Vec<SeriesChange>,
    /// The DORA figures of the window's first and second half, for trends.
    pub halves: [HalfFigures; 2],
    /// The changes' lead times counted in fixed bins from under an hour to
    /// 13 weeks and more ([`crate::common::lead_time_histogram`]).
    pub lead_time_histogram: Vec<LeadTimeBin>,
}

/// One deployment on the time axis.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesDeployment {
    /// When.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// Tag or branch name.
    pub name: String,
    /// Whether it failed.
    pub failed: bool,
    /// Whether it is the history's baseline.
    pub baseline: bool,
    /// Non-merge commits shipped.
    pub changes: usize,
}

/// One measured change.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SeriesChange {
    /// Its deployment's time.
    #[serde(with = "serde_rfc3339")]
    pub deployed_at: Timestamp,
    /// Lead time, seconds.
    pub lead_time_seconds: i64,
    /// `coding` stage, seconds.
    pub coding_seconds: i64,
    /// `deploy` stage, seconds.
    pub deploy_seconds: i64,
}

/// One bar of the lead-time histogram: the window's changes whose lead
/// time is in `[min_seconds, max_seconds)`.
#[derive(Clone, Debug, Serialize)]
pub struct LeadTimeBin {
    /// The range in words: `< 1h`, `1–6h`, ..., `≥ 13w`.
    pub label: &'static str,
    /// Inclusive lower bound, seconds.
    pub min_seconds: i64,
    /// Exclusive upper bound, seconds; `None` for the last bin.
    pub max_seconds: Option<i64>,
    /// Changes in the bin.
    pub changes: usize,
}

/// DORA figures over half of the window.
#[derive(Clone, Debug, Serialize)]
pub struct HalfFigures {
    /// Start, inclusive.
    #[serde(with = "serde_rfc3339")]
    pub since: Timestamp,
    /// End, exclusive.
    #[serde(with = "serde_rfc3339")]
    pub until: Timestamp,
    /// Deployments in the half.
    pub deployments: usize,
    /// Deployments per week.
    pub per_week: Option<f64>,
    /// Median lead time of the half's changes.
    pub lead_time_median_seconds: Option<f64>,
    /// Failed / deployments in the half.
    pub change_failure_rate: Option<f64>,
    /// Median recovery time of the half's failed deployments.
    pub recovery_median_seconds: Option<f64>,
}

/// Where the report's events came from.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    /// `git` for a repository clone; `events` for the event store,
    /// `events+git` for the event store with a clone for commit ranges.
    pub kind: &'static str,
    /// The repository's path, as given; empty without a clone.
    pub path: String,
    /// Commits read.
    pub commits: usize,
    /// Tags in the repository.
    pub tags: usize,
    /// True when the history is cut (a shallow clone or missing parents).
    pub shallow: bool,
    /// The event store (its URL without a password); `None` for a git report.
    pub db: Option<String>,
    /// Normalized events read from the store; `None` for a git report.
    pub events: Option<usize>,
    /// The times a windowed events report read (the window widened by the
    /// look-back before and after it), when that left some of the store's
    /// events out; absent when every event was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadSpan>,
}

/// What a windowed events report read: every thing observed within
/// `[since, until)` (docs/metrics.md, "What a report reads").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReadSpan {
    /// Start, inclusive.
    #[serde(with = "serde_rfc3339")]
    pub since: Timestamp,
    /// End, exclusive.
    #[serde(with = "serde_rfc3339")]
    pub until: Timestamp,
    /// The look-back, in days, before and after the window.
    pub look_back_days: i64,
}

/// How deployments were recognised.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum DeploymentsFrom {
    /// Tags matching a pattern.
    Tags {
        /// The regular expression.
        pattern: String,
        /// Tags whose name matches it.
        matching_tags: usize,
        /// Matching tags that peel to a tree or blob, not a commit.
        skipped_not_commit: usize,
    },
    /// Every first-parent commit of a branch.
    Branch {
        /// The branch name.
        branch: String,
    },
    /// Deployment events: successful production deployments.
    Events {
        /// Environment names matching this regular expression are
        /// production (as is any deployment the source flags production).
        production_pattern: String,
        /// Production deployments seen (any status), in the whole history.
        production: usize,
        /// Other deployments seen (staging, preview, ...), not counted.
        not_production: usize,
        /// Releases, and how many of them count as deployments.
        releases: ReleasesSeen,
    },
}

/// Releases seen in the events and the rule deciding which count as
/// deployments (`[delivery] deployments_from`).
#[derive(Clone, Debug, Serialize)]
pub struct ReleasesSeen {
    /// `auto`, `deployments`, `releases` or `deployments+releases`.
    pub deployments_from: &'static str,
    /// Whether pre-releases count when releases do.
    pub prereleases: bool,
    /// Releases counted as production deployments (any outcome), in the
    /// whole history; they are among `production`.
    pub counted: usize,
    /// Releases not counted: drafts, deleted, pre-releases (unless
    /// counted), and those the rule leaves out.
    pub not_counted: usize,
}

/// The DORA figures.
#[derive(Clone, Debug, Serialize)]
pub struct Dora {
    /// Deployments in the window.
    pub deployments: Deployments,
    /// How often.
    pub deployment_frequency: DeploymentFrequency,
    /// From commit to deployment.
    pub lead_time: LeadTime,
    /// Share of deployments that failed.
    pub change_failure_rate: ChangeFailureRate,
    /// From a failed deployment to the one that recovered it.
    pub recovery_time: RecoveryTime,
    /// Share of deployments that shipped a revert or a hotfix.
    pub rework_rate: ReworkRate,
}

/// Deployment count.
#[derive(Clone, Debug, Serialize)]
pub struct Deployments {
    /// Deployments whose time is in the window.
    pub count: usize,
    /// Deployments in the whole history.
    pub in_history: usize,
    /// True when the history's oldest deployment (the baseline, whose
    /// changes get no lead time) is in the window.
    pub baseline_in_window: bool,
}

/// Deployment frequency.
#[derive(Clone, Debug, Serialize)]
pub struct DeploymentFrequency {
    /// Deployments per week: count / (window days / 7).
    pub per_week: Option<f64>,
    /// Median over the window's whole weeks (counted back from `until`) of
    /// the number of days in the week with at least one deployment.
    pub median_deploy_days_per_week: Option<f64>,
    /// Whole weeks that median is over.
    pub weeks: usize,
    /// Deployment attempts in the window that did not succeed (delivery
    /// events; always 0 for a git report): not counted as deployments.
    pub failed_attempts: usize,
    /// DORA level; `null` when too few to rate.
    pub tier: Option<Tier>,
    /// True when the window has fewer whole weeks than a level needs
    /// ([`crate::tiers::minimum::FREQUENCY_WEEKS`]).
    pub too_few_to_rate: bool,
}

/// Lead time for changes.
#[derive(Clone, Debug, Serialize)]
pub struct LeadTime {
    /// Median, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Changes measured.
    pub changes: usize,
    /// Changes whose deployment time is before their author time, left out.
    pub negative_dropped: usize,
    /// Changes shipped by the baseline deployment, which get no lead time.
    pub baseline_changes: usize,
    /// The median's 95 % confidence interval, seconds.
    pub median_ci_seconds: Option<[f64; 2]>,
    /// DORA level (of the median); `null` when too few to rate.
    pub tier: Option<Tier>,
    /// True when fewer changes were measured than a level needs.
    pub too_few_to_rate: bool,
}

/// Change failure rate.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeFailureRate {
    /// failed / deployments.
    pub ratio: Option<f64>,
    /// The ratio's 95 % Wilson score interval.
    pub ratio_ci: Option<[f64; 2]>,
    /// Failed deployments (and failed attempts) in the window.
    pub failed: usize,
    /// Deployment attempts in the window: deployments plus failed attempts
    /// (a git report has no failed attempts).
    pub deployments: usize,
    /// DORA level; `null` when too few to rate.
    pub tier: Option<Tier>,
    /// True when there are fewer attempts than a level needs.
    pub too_few_to_rate: bool,
}

/// Failed deployment recovery time.
#[derive(Clone, Debug, Serialize)]
pub struct RecoveryTime {
    /// Median, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Failed deployments in the window with a recovery.
    pub recoveries: usize,
    /// Failed deployments (and failed attempts) in the window, recovered
    /// or not.
    pub failed: usize,
    /// The median's 95 % confidence interval, seconds.
    pub median_ci_seconds: Option<[f64; 2]>,
    /// DORA level (of the median); `null` when too few to rate.
    pub tier: Option<Tier>,
    /// True when fewer recoveries were measured than a level needs.
    pub too_few_to_rate: bool,
}

/// Rework rate.
#[derive(Clone, Debug, Serialize)]
pub struct ReworkRate {
    /// reworked / deployments.
    pub ratio: Option<f64>,
    /// The ratio's 95 % Wilson score interval.
    pub ratio_ci: Option<[f64; 2]>,
    /// Deployments that shipped a revert or a hotfix.
    pub reworked: usize,
    /// Deployments in the window.
    pub deployments: usize,
}

// The DORA figures both reports build: each with its level decided here,
// once, from the definitions in `tiers`.

impl DeploymentFrequency {
    /// `per_week` and the median deploy days over `weeks`; nothing (not a
    /// frequency of zero) when no deployment is `recognised` in the history.
    pub(crate) fn new(
        recognised: bool,
        per_week: f64,
        median_days: Option<f64>,
        weeks: usize,
    ) -> DeploymentFrequency {
        let tier = recognised.then(|| crate::tiers::deployment_frequency(per_week));
        DeploymentFrequency {
            per_week: recognised.then_some(per_week),
            median_deploy_days_per_week: median_days.filter(|_| recognised),
            weeks,
            failed_attempts: 0,
            tier: rated(tier, weeks, minimum::FREQUENCY_WEEKS),
            too_few_to_rate: tier.is_some() && weeks < minimum::FREQUENCY_WEEKS,
        }
    }

    /// With the window's failed deployment attempts, which the frequency
    /// does not count.
    pub(crate) fn with_failed_attempts(mut self, failed_attempts: usize) -> DeploymentFrequency {
        self.failed_attempts = failed_attempts;
        self
    }
}

impl LeadTime {
    /// From the lead times' summary and what was left out.
    pub(crate) fn new(
        lead: &crate::stats::Summary,
        negative_dropped: usize,
        baseline_changes: usize,
    ) -> LeadTime {
        let tier = lead.median.map(crate::tiers::lead_time);
        LeadTime {
            median_seconds: lead.median,
            p85_seconds: lead.p85,
            changes: lead.count,
            negative_dropped,
            baseline_changes,
            median_ci_seconds: lead.median_ci,
            tier: rated(tier, lead.count, minimum::MEDIAN_VALUES),
            too_few_to_rate: tier.is_some() && lead.count < minimum::MEDIAN_VALUES,
        }
    }
}

impl ChangeFailureRate {
    /// `failed` of `deployments`; no ratio without a deployment.
    pub(crate) fn new(failed: usize, deployments: usize) -> ChangeFailureRate {
        let ratio = (deployments > 0).then(|| failed as f64 / deployments as f64);
        let tier = ratio.map(crate::tiers::change_failure_rate);
        ChangeFailureRate {
            ratio,
            ratio_ci: wilson_interval(failed, deployments),
            failed,
            deployments,
            tier: rated(tier, deployments, minimum::FAILURE_RATE_ATTEMPTS),
            too_few_to_rate: tier.is_some() && deployments < minimum::FAILURE_RATE_ATTEMPTS,
        }
    }
}

impl RecoveryTime {
    /// From the recovery times' summary.
    pub(crate) fn new(recoveries: &crate::stats::Summary) -> RecoveryTime {
        let tier = recoveries.median.map(crate::tiers::recovery_time);
        RecoveryTime {
            median_seconds: recoveries.median,
            p85_seconds: recoveries.p85,
            recoveries: recoveries.count,
            failed: recoveries.count,
            median_ci_seconds: recoveries.median_ci,
            tier: rated(tier, recoveries.count, minimum::MEDIAN_VALUES),
            too_few_to_rate: tier.is_some() && recoveries.count < minimum::MEDIAN_VALUES,
        }
    }

    /// With the window's failures, recovered or not (by default, as many
    /// as the recoveries).
    pub(crate) fn with_failed(mut self, failed: usize) -> RecoveryTime {
        self.failed = failed;
        self
    }
}

impl ReworkRate {
    /// `reworked` of `deployments`; no ratio without a deployment.
    pub(crate) fn new(reworked: usize, deployments: usize) -> ReworkRate {
        ReworkRate {
            ratio: (deployments > 0).then(|| reworked as f64 / deployments as f64),
            ratio_ci: wilson_interval(reworked, deployments),
            reworked,
            deployments,
        }
    }
}

/// One stage of a change's way to production.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// `coding`, `deploy`, ...
    pub name: &'static str,
    /// Median, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Sum over all measured changes, seconds.
    pub total_seconds: f64,
    /// total / the sum of all stages' totals.
    pub share: Option<f64>,
    /// The share's 95 % interval (seeded bootstrap, `docs/metrics.md`).
    pub share_ci: Option<[f64; 2]>,
    /// The median's 95 % confidence interval, seconds.
    pub median_ci_seconds: Option<[f64; 2]>,
    /// Changes measured.
    pub changes: usize,
}

/// The bottleneck verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Bottleneck {
    /// The stage with the largest share.
    pub stage: &'static str,
    /// Its share of all change time.
    pub share: f64,
    /// The share's 95 % interval.
    pub share_ci: Option<[f64; 2]>,
    /// True when too few changes were measured to call it the bottleneck
    /// ([`crate::tiers::minimum::BOTTLENECK_ITEMS`]): it is only the
    /// largest stage.
    pub too_few_to_call: bool,
    /// Why it is credible.
    pub evidence: Evidence,
    /// The runner-up: the next bottleneck once this one is fixed.
    pub next: Option<RunnerUp>,
}

/// The facts behind a bottleneck verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Median time in the stage, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Changes measured.
    pub changes: usize,
    /// The stage's share in the window's first half (by deployment time).
    pub first_half_share: Option<f64>,
    /// The stage's share in the second half.
    pub second_half_share: Option<f64>,
    /// Changes measured in the first and the second half.
    pub half_changes: [usize; 2],
    /// `rising`, `falling` or `steady` (a change of more than 5 percentage
    /// points between halves); `None` when a half has fewer measured
    /// changes than a trend needs.
    pub trend: Option<&'static str>,
    /// The verdict in one sentence.
    pub summary: String,
}

/// The second-largest stage.
#[derive(Clone, Debug, Serialize)]
pub struct RunnerUp {
    /// Its name.
    pub stage: &'static str,
    /// Its share.
    pub share: f64,
    /// Its median, seconds.
    pub median_seconds: Option<f64>,
    /// True when its share is inside the bottleneck's share interval: the
    /// data cannot tell the two apart.
    pub within_interval: bool,
}

/// Changes waiting on the deployed line.
#[derive(Clone, Debug, Serialize)]
pub struct Undeployed {
    /// Non-merge commits reachable from the deployed line's tip (`HEAD`, or
    /// the deployment branch) that no deployment ships.
    pub changes: usize,
    /// The oldest such change's author time.
    #[serde(with = "serde_rfc3339::option")]
    pub oldest_author_time: Option<Timestamp>,
}

/// The traceable detail behind every figure.
#[derive(Clone, Debug, Serialize)]
pub struct Explain {
    /// Deployments in the window, oldest first (git reports; empty for
    /// delivery events).
    pub deployments: Vec<ExplainedDeployment>,
    /// Every link behind a delivery events report, and what could not be
    /// linked; `None` for a git report.
    pub delivery: Option<DeliveryExplain>,
}

/// One deployment with what it shipped and how it failed or recovered.
#[derive(Clone, Debug, Serialize)]
pub struct ExplainedDeployment {
    /// Tag name, or `BRANCH@SHORTSHA` in branch mode.
    pub name: String,
    /// Other matching tags on the same commit.
    pub aliases: Vec<String>,
    /// The deployed commit.
    pub commit: String,
    /// Deployment time.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// True for the history's oldest deployment.
    pub baseline: bool,
    /// Non-merge commits shipped, oldest author time first.
    pub changes: Vec<ExplainedChange>,
    /// Merge commits shipped (not changes, but they can be reverted).
    pub merges: usize,
    /// Shipped commits reverted by a later deployment.
    pub reverted: Vec<RevertLink>,
    /// Time to the first deployment that shipped a revert of this one's
    /// commits, seconds; `None` when it did not fail.
    pub recovery_seconds: Option<i64>,
    /// Why this deployment counts as rework.
    pub rework: Vec<ReworkReason>,
}

/// One change shipped by a deployment.
#[derive(Clone, Debug, Serialize)]
pub struct ExplainedChange {
    /// The commit.
    pub commit: String,
    /// Its subject.
    pub subject: String,
    /// Author time.
    #[serde(with = "serde_rfc3339")]
    pub author_time: Timestamp,
    /// The first commit of the deployment's first-parent chain containing
    /// this change (the merge, or the change itself).
    pub landed_by: String,
    /// When it landed: that commit's committer time.
    #[serde(with = "serde_rfc3339")]
    pub landed_at: Timestamp,
    /// Deployment time minus author time; present even when negative.
    pub lead_time_seconds: i64,
    /// `coding` stage, seconds; `None` when not counted.
    pub coding_seconds: Option<i64>,
    /// `deploy` stage, seconds; `None` when not counted.
    pub deploy_seconds: Option<i64>,
    /// Whether this change counts in lead time and stages (`false` for the
    /// baseline's changes and negative lead times).
    pub counted: bool,
    /// The pull or merge request whose merge landed this change, when the
    /// repository holds its refs; `None` otherwise.
    pub request: Option<ExplainedRequest>,
}

/// The request a change came from (git reports).
#[derive(Clone, Debug, Serialize)]
pub struct ExplainedRequest {
    /// `#N` (GitHub) or `!N` (GitLab).
    pub request: String,
    /// The ref holding its head, for example `refs/pull/12/head`.
    pub head_ref: String,
    /// The request's own commits not on the deployed line before the merge
    /// (0 for a change that is one of them, landed by a merge commit).
    pub own_commits: usize,
    /// The earliest author time among them and the change itself: where
    /// the change's lead time and `coding` start. `None` when the change
    /// keeps its own author time.
    #[serde(with = "serde_rfc3339::option")]
    pub first_commit_time: Option<Timestamp>,
}

/// A revert that made a deployment failed.
#[derive(Clone, Debug, Serialize)]
pub struct RevertLink {
    /// The reverted commit, shipped by this deployment.
    pub commit: String,
    /// The commit that reverts it.
    pub reverted_by: String,
    /// The later deployment that shipped the revert.
    pub revert_deployment: String,
    /// When that deployment happened.
    #[serde(with = "serde_rfc3339")]
    pub revert_deployment_time: Timestamp,
}

/// A shipped commit that makes a deployment rework.
#[derive(Clone, Debug, Serialize)]
pub struct ReworkReason {
    /// The commit.
    pub commit: String,
    /// `revert` or `hotfix`.
    pub reason: &'static str,
    /// Its subject.
    pub subject: String,
}

/// Incidents opened in the window.
#[derive(Clone, Debug, Serialize)]
pub struct Incidents {
    /// Incidents opened in the window.
    pub count: usize,
    /// Of those, resolved (by their latest observation).
    pub resolved: usize,
    /// Of those, linked to a deployment.
    pub linked_to_deployment: usize,
    /// Resolved − opened.
    pub time_to_restore: IncidentDurations,
    /// Postmortem published − resolved: the median, which the issue tracker
    /// calls "mean time to reflect".
    pub time_to_reflect: IncidentDurations,
    /// Resolved incidents without a postmortem, oldest first.
    pub without_postmortem: Vec<IncidentRef>,
}

/// A duration over incidents.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentDurations {
    /// Median, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Incidents measured.
    pub incidents: usize,
}

/// An incident, named.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentRef {
    /// `pagerduty`, `opsgenie`, `gitlab`, `jira`, `github` or `events`.
    pub source: String,
    /// Its id there.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// The service it is attributed to (after the service mapping).
    pub service: Option<String>,
    /// Opened.
    #[serde(with = "serde_rfc3339::option")]
    pub opened_at: Option<Timestamp>,
    /// Resolved.
    #[serde(with = "serde_rfc3339::option")]
    pub resolved_at: Option<Timestamp>,
}

/// CI health.
#[derive(Clone, Debug, Serialize)]
pub struct Ci {
    /// Per workflow (or pipeline), by repository then name.
    pub workflows: Vec<CiWorkflow>,
    /// Flaky tests, the most often flaky first.
    pub flaky_tests: Vec<FlakyTest>,
    /// The slowest tests by median duration, at most ten.
    pub slowest_tests: Vec<SlowTest>,
}

/// One workflow's runs in the window.
#[derive(Clone, Debug, Serialize)]
pub struct CiWorkflow {
    /// `owner/name` or project path, when known.
    pub repository: Option<String>,
    /// The workflow's or pipeline's name.
    pub workflow: String,
    /// Runs started in the window.
    pub runs: usize,
    /// Of those, completed with success, failure or timed out (the success
    /// rate's denominator; canceled and skipped runs are not in it).
    pub concluded: usize,
    /// Of those, succeeded.
    pub succeeded: usize,
    /// succeeded / concluded.
    pub success_rate: Option<f64>,
    /// Median of finished − started, seconds.
    pub duration_median_seconds: Option<f64>,
    /// 85th percentile of finished − started, seconds.
    pub duration_p85_seconds: Option<f64>,
    /// Median of started − queued, seconds.
    pub queue_median_seconds: Option<f64>,
    /// 85th percentile of started − queued, seconds.
    pub queue_p85_seconds: Option<f64>,
}

/// A test that both failed and passed.
#[derive(Clone, Debug, Serialize)]
pub struct FlakyTest {
    /// `classname.name`.
    pub test: String,
    /// Commits on which it failed and passed, or on which a report marked
    /// it flaky (Surefire `flakyFailure`/`flakyError`).
    pub flaky_commits: usize,
    /// Those commits, in order of first appearance.
    pub commits: Vec<String>,
    /// Executions in the window.
    pub executions: usize,
    /// Executions that failed or errored.
    pub failed: usize,
    /// Executions a report marked flaky (failed, then passed on a rerun).
    pub marked_flaky: usize,
}

/// A slow test.
#[derive(Clone, Debug, Serialize)]
pub struct SlowTest {
    /// `classname.name`.
    pub test: String,
    /// Executions with a duration in the window.
    pub executions: usize,
    /// Median duration, seconds.
    pub median_seconds: Option<f64>,
    /// 85th percentile, seconds.
    pub p85_seconds: Option<f64>,
    /// Longest, seconds.
    pub max_seconds: f64,
}

/// Why two things were linked: the rule and the facts it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The rule's stable name (`commit_range`, `first_deployment_after_merge`,
    /// `explicit_deployment_id`, `explicit_sha`, `latest_deployment_of_service`,
    /// `postmortem_event`, `postmortem_issue_reference`).
    pub rule: &'static str,
    /// The facts, in words.
    pub reason: String,
}

/// Every link behind a delivery events report.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryExplain {
    /// Production deployments in the window (successful and failed), oldest
    /// first, with the changes each one shipped.
    pub deployments: Vec<EventDeployment>,
    /// Incidents opened in the window, oldest first, with their deployment
    /// and postmortem.
    pub incidents: Vec<EventIncident>,
    /// What could not be linked, and why.
    pub unlinked: Unlinked,
}

/// A thing as the sources named it, and the deliveries that observed it.
#[derive(Clone, Debug, Serialize)]
pub struct EventRef {
    /// The source.
    pub source: String,
    /// Its id there.
    pub id: String,
    /// The store's ids of the raw deliveries its observations came from.
    pub deliveries: Vec<i64>,
}

/// A production deployment with its changes and outcome.
#[derive(Clone, Debug, Serialize)]
pub struct EventDeployment {
    /// Which deployment.
    #[serde(flatten)]
    pub thing: EventRef,
    /// Repository.
    pub repository: Option<String>,
    /// Service (its own, or its repository's by the service mapping).
    pub service: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Why it is production.
    pub production: String,
    /// The deployed commit.
    pub sha: Option<String>,
    /// `success`, `failure` or `error`.
    pub status: &'static str,
    /// The first success time (or the first failure time).
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// True for the oldest successful production deployment of its service
    /// or repository: its changes get no lead time.
    pub baseline: bool,
    /// Changes it shipped.
    pub changes: Vec<EventChange>,
    /// Why it failed: its status, or the incidents linked to it.
    pub failed: Vec<String>,
    /// Time to recovery, seconds; `None` when it did not fail or has not
    /// recovered.
    pub recovery_seconds: Option<i64>,
    /// What recovered it.
    pub recovered_by: Option<String>,
    /// Shipped changes that make it rework (a revert or a hotfix).
    pub rework: Vec<String>,
}

/// A merged change with its stages.
#[derive(Clone, Debug, Serialize)]
pub struct EventChange {
    /// Which change.
    #[serde(flatten)]
    pub thing: EventRef,
    /// Title.
    pub title: Option<String>,
    /// Repository.
    pub repository: Option<String>,
    /// Why it is linked to this deployment.
    pub link: Link,
    /// The earliest author time of its commits.
    #[serde(with = "serde_rfc3339::option")]
    pub first_commit_at: Option<Timestamp>,
    /// Opened.
    #[serde(with = "serde_rfc3339::option")]
    pub opened_at: Option<Timestamp>,
    /// Where the pickup stage starts: opened, or marked ready later.
    #[serde(with = "serde_rfc3339::option")]
    pub ready_at: Option<Timestamp>,
    /// The first review by someone other than the author, not a bot.
    #[serde(with = "serde_rfc3339::option")]
    pub first_review_at: Option<Timestamp>,
    /// Who gave it.
    pub first_reviewer: Option<String>,
    /// Merged.
    #[serde(with = "serde_rfc3339::option")]
    pub merged_at: Option<Timestamp>,
    /// `coding`, seconds.
    pub coding_seconds: Option<i64>,
    /// `pickup`, seconds.
    pub pickup_seconds: Option<i64>,
    /// `review`, seconds.
    pub review_seconds: Option<i64>,
    /// `unreviewed` (pickup start to merge without a review), seconds.
    pub unreviewed_seconds: Option<i64>,
    /// `deploy`, seconds.
    pub deploy_seconds: Option<i64>,
    /// Deployment time − first commit time.
    pub lead_time_seconds: Option<i64>,
    /// Whether it counts in lead time and stages (not for a baseline's
    /// changes or a negative lead time).
    pub counted: bool,
}

/// An incident with its links.
#[derive(Clone, Debug, Serialize)]
pub struct EventIncident {
    /// Which incident.
    #[serde(flatten)]
    pub thing: EventRef,
    /// Title.
    pub title: Option<String>,
    /// Service, after the mapping.
    pub service: Option<String>,
    /// Opened.
    #[serde(with = "serde_rfc3339::option")]
    pub opened_at: Option<Timestamp>,
    /// First acknowledged, when the source reports it.
    #[serde(with = "serde_rfc3339::option")]
    pub acknowledged_at: Option<Timestamp>,
    /// Acknowledged − opened, when both are known.
    pub time_to_acknowledge_seconds: Option<i64>,
    /// Resolved.
    #[serde(with = "serde_rfc3339::option")]
    pub resolved_at: Option<Timestamp>,
    /// Its page at the source, when known.
    pub url: Option<String>,
    /// Resolved − opened.
    pub time_to_restore_seconds: Option<i64>,
    /// The deployment it is linked to (`source:id`).
    pub deployment: Option<String>,
    /// Why.
    pub deployment_link: Option<Link>,
    /// The linked deployment's position in this explain's `deployments`,
    /// when it is listed there (a selected deployment in the window).
    pub deployment_index: Option<usize>,
    /// Its postmortem (`source:id`).
    pub postmortem: Option<String>,
    /// When the postmortem was published.
    #[serde(with = "serde_rfc3339::option")]
    pub postmortem_published_at: Option<Timestamp>,
    /// Why that postmortem.
    pub postmortem_link: Option<Link>,
    /// Postmortem published − resolved.
    pub time_to_reflect_seconds: Option<i64>,
}

/// What could not be linked.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Unlinked {
    /// Changes merged in the window that no production deployment shipped.
    pub changes: Vec<UnlinkedThing>,
    /// Incidents opened in the window linked to no deployment.
    pub incidents: Vec<UnlinkedThing>,
    /// Postmortems that reference no known incident.
    pub postmortems: Vec<UnlinkedThing>,
}

/// A thing that could not be linked, and why.
#[derive(Clone, Debug, Serialize)]
pub struct UnlinkedThing {
    /// Which.
    #[serde(flatten)]
    pub thing: EventRef,
    /// Why.
    pub reason: String,
}
