//! What the git report and the delivery events report both do with their
//! counted deployments and changes, written once: the DORA figures
//! ([`assemble`]), the figures of each half of the window for the trend
//! series ([`halves`]), and the notices about changes that lead time
//! leaves out ([`baseline_notice`], [`negative_lead_times_notice`]).
//! Each report decides what a deployment, a failure and a recovery are
//! (`docs/metrics.md`); the arithmetic from there on is here.

use nextneck_model::Timestamp;

use crate::common::deploy_days_per_week;
use crate::report::{
    ChangeFailureRate, DeploymentFrequency, Deployments, Dora, HalfFigures, LeadTime, Notice,
    RecoveryTime, ReworkRate, SeriesChange,
};
use crate::stats::Summary;
use crate::time::DAY;
use crate::words::plural;

/// What a report counted in its window, for [`assemble`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counts<'a> {
    /// The window's start, inclusive.
    pub since: Timestamp,
    /// The window's end, exclusive.
    pub until: Timestamp,
    /// Successful deployments in the window.
    pub deployments: usize,
    /// Deployments with an outcome (successful or failed) in the window.
    pub attempts: usize,
    /// Failed deployments in the window.
    pub failed: usize,
    /// Successful deployments in the whole history.
    pub in_history: usize,
    /// Whether the window holds a baseline deployment.
    pub baseline_in_window: bool,
    /// Whether any deployment is recognised at all: without one, the
    /// frequency is nothing, not zero.
    pub recognised: bool,
    /// Every successful deployment's time (deploy days per week).
    pub deployment_times: &'a [Timestamp],
    /// The window's counted lead times, seconds.
    pub lead_times: &'a [i64],
    /// Changes left out of lead time for a negative one.
    pub negative_dropped: usize,
    /// Changes of baseline deployments, which get no lead time.
    pub baseline_changes: usize,
    /// The failed deployments' recovery times, seconds.
    pub recoveries: &'a [i64],
    /// Successful deployments that shipped a revert or a hotfix.
    pub reworked: usize,
}

/// The DORA figures, each rated in `report` from the definitions in
/// `tiers`.
pub(crate) fn assemble(c: &Counts<'_>) -> Dora {
    let window_days = (c.until - c.since) as f64 / DAY as f64;
    let per_week = c.deployments as f64 / (window_days / 7.0);
    let (median_days, weeks) = deploy_days_per_week(c.deployment_times, c.since, c.until);
    Dora {
        deployments: Deployments {
            count: c.deployments,
            in_history: c.in_history,
            baseline_in_window: c.baseline_in_window,
        },
        deployment_frequency: DeploymentFrequency::new(c.recognised, per_week, median_days, weeks)
            .with_failed_attempts(c.attempts - c.deployments),
        lead_time: LeadTime::new(
            &Summary::of_seconds(c.lead_times),
            c.negative_dropped,
            c.baseline_changes,
        ),
        change_failure_rate: ChangeFailureRate::new(c.failed, c.attempts),
        recovery_time: RecoveryTime::new(&Summary::of_seconds(c.recoveries)).with_failed(c.failed),
        rework_rate: ReworkRate::new(c.reworked, c.deployments),
    }
}

/// One deployment of the window, for [`halves`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct HalfDeployment {
    /// Its time.
    pub time: Timestamp,
    /// Whether it succeeded (it counts towards the frequency).
    pub succeeded: bool,
    /// Whether it failed (it counts towards the change failure rate).
    pub failed: bool,
    /// Its recovery time when it failed and recovered, seconds.
    pub recovery_seconds: Option<i64>,
}

/// The DORA figures of each half of `[since, until)`, split at its middle,
/// from the window's deployments and counted changes.
pub(crate) fn halves(
    deployments: &[HalfDeployment],
    changes: &[SeriesChange],
    recognised: bool,
    since: Timestamp,
    until: Timestamp,
) -> [HalfFigures; 2] {
    let mid = since + (until - since) / 2;
    [
        half(deployments, changes, recognised, since, mid),
        half(deployments, changes, recognised, mid, until),
    ]
}

fn half(
    deployments: &[HalfDeployment],
    changes: &[SeriesChange],
    recognised: bool,
    from: Timestamp,
    to: Timestamp,
) -> HalfFigures {
    let ds: Vec<&HalfDeployment> = deployments
        .iter()
        .filter(|d| (from..to).contains(&d.time))
        .collect();
    let ok = ds.iter().filter(|d| d.succeeded).count();
    let leads: Vec<i64> = changes
        .iter()
        .filter(|p| (from..to).contains(&p.deployed_at))
        .map(|p| p.lead_time_seconds)
        .collect();
    let failed: Vec<&&HalfDeployment> = ds.iter().filter(|d| d.failed).collect();
    let recoveries: Vec<i64> = failed.iter().filter_map(|d| d.recovery_seconds).collect();
    let days = (to - from) as f64 / DAY as f64;
    HalfFigures {
        since: from,
        until: to,
        deployments: ok,
        per_week: (recognised && days > 0.0).then(|| ok as f64 / (days / 7.0)),
        lead_time_median_seconds: Summary::of_seconds(&leads).median,
        change_failure_rate: (!ds.is_empty()).then(|| failed.len() as f64 / ds.len() as f64),
        recovery_median_seconds: Summary::of_seconds(&recoveries).median,
    }
}

/// Which deployments are baselines, as the notice says it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Baseline<'a> {
    /// The git report: the oldest deployment in the history, by name.
    OldestInHistory(&'a str),
    /// The events report: the oldest successful production deployment of
    /// each service.
    OldestOfEachService,
}

/// The `baseline` notice: a baseline deployment counts, its `changes`
/// get no lead time.
pub(crate) fn baseline_notice(baseline: Baseline<'_>, changes: usize) -> Notice {
    let changes = plural(changes, "change gets", "changes get");
    Notice {
        code: "baseline",
        message: match baseline {
            Baseline::OldestInHistory(name) => format!(
                "the oldest deployment in the history ({name}) is the baseline: it counts as a deployment, but its {changes} no lead time"
            ),
            Baseline::OldestOfEachService => format!(
                "the oldest successful production deployment of each service is its baseline: it counts as a deployment, but its {changes} no lead time (it may ship anything merged before the events begin)"
            ),
        },
    }
}

/// What a negative lead time means in a report, as the notice says it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NegativeLead {
    /// The git report: a commit authored after the deployment that
    /// shipped it.
    AuthoredAfterDeployment,
    /// The events report: deployed before its first commit; the stages
    /// leave it out too.
    DeployedBeforeFirstCommit,
}

/// The `negative_lead_times` notice for `dropped` changes (at least one).
pub(crate) fn negative_lead_times_notice(kind: NegativeLead, dropped: usize) -> Notice {
    let changes = plural(dropped, "change was", "changes were");
    let one = dropped == 1;
    Notice {
        code: "negative_lead_times",
        message: match kind {
            NegativeLead::AuthoredAfterDeployment => format!(
                "{changes} authored after the deployment that shipped {} (clock skew or rewritten dates) and left out of lead time",
                if one { "it" } else { "them" }
            ),
            NegativeLead::DeployedBeforeFirstCommit => format!(
                "{changes} deployed before {} first commit (clock skew) and left out of lead time and stages",
                if one { "its" } else { "their" }
            ),
        },
    }
}
