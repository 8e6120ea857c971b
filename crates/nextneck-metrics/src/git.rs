//! The delivery report of a git history: deployments from tags or a
//! branch, the changes each one shipped, lead time and its stages, failures,
//! recovery, rework and the bottleneck. `docs/metrics.md` is the
//! definition; this module is its implementation, and the tests of
//! `nextneck-cli` pin the two together on real repositories.

use std::collections::HashMap;
use std::ops::Range;

use std::collections::HashSet;

use nextneck_model::{
    CommitId, CommitIdx, History, REQUEST_COMMIT_LIMIT, RequestRef, TagTarget, Timestamp,
};
use regex::Regex;

use crate::common::{bottleneck, build_stages, lead_time_histogram, sample_notices};
use crate::report::*;
use crate::time::DAY;
pub use crate::types::{DEFAULT_WINDOW_DAYS, ReportError, WindowSpec};
use crate::window::{DefaultStart, resolve_window};
use crate::words::plural;

/// The default `--deploy-tags`: `v1.2`, `1.2.3`, `v1.2.3`; no pre-releases.
pub const DEFAULT_DEPLOY_TAGS: &str = r"^v?[0-9]+(\.[0-9]+){1,2}$";
/// The default `--hotfix-pattern`, matched against commit subjects.
pub const DEFAULT_HOTFIX_PATTERN: &str = r"(?i)\bhotfix\b";
/// Where deployments come from.
#[derive(Clone, Debug)]
pub enum DeploySource {
    /// Tags whose name matches.
    Tags(Regex),
    /// Every first-parent commit of this branch (as loaded into the history).
    Branch(String),
}

/// Everything the git report needs besides the history.
#[derive(Clone, Debug)]
pub struct GitSettings {
    /// The repository path as the user gave it (for the report header).
    pub path: String,
    /// Where deployments come from.
    pub deploy: DeploySource,
    /// Matched against subjects to find hotfixes.
    pub hotfix: Regex,
    /// The window.
    pub window: WindowSpec,
    /// Whether to fill [`Report::explain`].
    pub explain: bool,
    /// Whether to fill [`Report::series`] (the data behind charts).
    pub series: bool,
}

const NONE: u32 = u32::MAX;

/// A deployment: one commit, at one time, shipping a set of commits.
#[derive(Clone, Debug)]
struct Deployment {
    commit: CommitIdx,
    time: Timestamp,
    name: String,
    aliases: Vec<String>,
    /// Range into `Shipping::order`.
    shipped: Range<usize>,
}

/// Which deployment shipped each commit, and where it landed.
struct Shipping {
    /// Deployment index per commit, or `NONE`.
    by: Vec<u32>,
    /// Landing commit per commit (first commit of the deployment's
    /// first-parent chain containing it), or `NONE`.
    landing: Vec<u32>,
    /// Shipped commits grouped by deployment.
    order: Vec<CommitIdx>,
}

/// Computes the report.
pub fn git_report(history: &History, settings: &GitSettings) -> Result<Report, ReportError> {
    report_and_failed_changes(history, settings).map(|(report, _)| report)
}

/// The report, and the non-merge commits the window's failed deployments
/// shipped: what `nextneck report` reads the files of for the code tie-in
/// ([`crate::code::failure_code`]).
pub fn report_and_failed_changes(
    history: &History,
    settings: &GitSettings,
) -> Result<(Report, Vec<CommitId>), ReportError> {
    let mut notices = Vec::new();
    let generation = generations(history);
    let (mut deployments, deployments_from) =
        ordered_deployments(history, settings, &generation, &mut notices)?;
    let shipping = ship(history, &mut deployments);
    // A shipped commit reverted by a commit a later deployment ships.
    let failures = failures(history, &shipping);
    let requests = Requests::new(history);
    let (since, until, selection) = window(history, &deployments, settings.window)?;
    let in_window: Vec<usize> = (0..deployments.len())
        .filter(|&d| (since..until).contains(&deployments[d].time))
        .collect();
    let facts = Facts {
        history,
        settings,
        generation,
        deployments,
        shipping,
        failures,
        requests,
        since,
        until,
        in_window,
    };
    let measured = facts.measure_changes();
    let (dora, rework_of) = facts.dora(&measured);
    let (stages, bottleneck) = facts.stages_and_bottleneck(&measured, &mut notices);
    facts.notices(&dora, &measured, &mut notices);
    notices.extend(sample_notices(&dora, bottleneck.as_ref()));
    let report = Report {
        schema_version: SCHEMA_VERSION,
        source: Source {
            kind: "git",
            path: settings.path.clone(),
            commits: history.commits.len(),
            tags: history.tags.len(),
            shallow: history.shallow,
            db: None,
            events: None,
            read: None,
        },
        window: Window {
            since,
            until,
            days: (until - since) as f64 / DAY as f64,
            selection,
        },
        deployments_from,
        dora,
        stages,
        bottleneck,
        undeployed: facts.undeployed(),
        notices,
        series: settings.series.then(|| facts.series(measured.points)),
        explain: settings.explain.then(|| facts.explain(rework_of)),
        incidents: None,
        ci: None,
        code: None,
    };
    Ok((report, facts.failed_changes()))
}

/// The history's deployments from tags or a branch, in time order (then
/// generation, then name), and how they were recognised.
fn ordered_deployments(
    history: &History,
    settings: &GitSettings,
    generation: &[u32],
    notices: &mut Vec<Notice>,
) -> Result<(Vec<Deployment>, DeploymentsFrom), ReportError> {
    let (mut deployments, deployments_from) = match &settings.deploy {
        DeploySource::Tags(pattern) => tag_deployments(history, pattern, notices),
        DeploySource::Branch(name) => {
            let branch = history
                .branch(name)
                .ok_or_else(|| ReportError::BranchNotLoaded(name.clone()))?;
            let deployments = branch_deployments(history, name, branch.tip);
            (
                deployments,
                DeploymentsFrom::Branch {
                    branch: name.clone(),
                },
            )
        }
    };
    deployments.sort_by(|a, b| {
        (a.time, generation[a.commit as usize], &a.name).cmp(&(
            b.time,
            generation[b.commit as usize],
            &b.name,
        ))
    });
    Ok((deployments, deployments_from))
}

/// The window, from the oldest and newest commit or deployment.
fn window(
    history: &History,
    deployments: &[Deployment],
    spec: WindowSpec,
) -> Result<(Timestamp, Timestamp, &'static str), ReportError> {
    let times = || {
        history
            .commits
            .iter()
            .map(|c| c.committer_time)
            .chain(deployments.iter().map(|d| d.time))
    };
    let newest = times().max().unwrap_or(0);
    let oldest = times().min().unwrap_or(0);
    Ok(resolve_window(spec, oldest, newest, DefaultStart::Fixed)?)
}

/// What the report's steps read: the deployments, what each shipped, the
/// failures, and the window's deployments (indices, oldest first).
struct Facts<'a> {
    history: &'a History,
    settings: &'a GitSettings,
    generation: Vec<u32>,
    deployments: Vec<Deployment>,
    shipping: Shipping,
    failures: Failures,
    requests: Requests,
    since: Timestamp,
    until: Timestamp,
    in_window: Vec<usize>,
}

/// The window's changes with a lead time, and what was left out.
#[derive(Default)]
struct Measured {
    lead: Vec<i64>,
    coding: Vec<i64>,
    deploy: Vec<i64>,
    /// `halves[h]`: coding and deploy seconds in half `h` of the window.
    halves: [Vec<i64>; 2],
    half_changes: [usize; 2],
    negative_dropped: usize,
    baseline_changes: usize,
    points: Vec<SeriesChange>,
    /// Changes whose start is their request's first commit.
    requests_used: usize,
}

impl Facts<'_> {
    fn mid(&self) -> Timestamp {
        self.since + (self.until - self.since) / 2
    }

    /// Whether a deployment failed (a later one reverts what it shipped).
    fn failed(&self, d: usize) -> bool {
        self.failures.first[d] != NONE
    }

    /// From a failed deployment to the one that reverts it, seconds.
    fn recovery(&self, d: usize) -> i64 {
        self.deployments[self.failures.first[d] as usize].time - self.deployments[d].time
    }

    /// Lead times and stages of the window's changes: every non-merge
    /// commit a window deployment shipped, except the baseline's.
    fn measure_changes(&self) -> Measured {
        let history = self.history;
        let mid = self.mid();
        let mut m = Measured {
            halves: [vec![0i64; 2], vec![0i64; 2]],
            ..Measured::default()
        };
        for &d in &self.in_window {
            let dep = &self.deployments[d];
            for &c in &self.shipping.order[dep.shipped.clone()] {
                if history.commit(c).is_merge() {
                    continue;
                }
                if d == 0 {
                    m.baseline_changes += 1;
                    continue;
                }
                let origin = self
                    .requests
                    .origin(history, &self.shipping, &self.generation, c, d);
                m.requests_used += usize::from(origin.first_commit_time.is_some());
                let Some((lt, cd, dp)) =
                    stage_split(history, &self.shipping, c, origin.start, dep.time)
                else {
                    m.negative_dropped += 1;
                    continue;
                };
                m.points.push(SeriesChange {
                    deployed_at: dep.time,
                    lead_time_seconds: lt,
                    coding_seconds: cd,
                    deploy_seconds: dp,
                });
                m.lead.push(lt);
                m.coding.push(cd);
                m.deploy.push(dp);
                let half = usize::from(dep.time >= mid);
                m.halves[half][0] += cd;
                m.halves[half][1] += dp;
                m.half_changes[half] += 1;
            }
        }
        m
    }

    /// The DORA figures and rework rate, with each window deployment's
    /// rework reasons (for `--explain`).
    fn dora(&self, m: &Measured) -> (Dora, Vec<Vec<ReworkReason>>) {
        let count = self.in_window.len();
        let times: Vec<Timestamp> = self.deployments.iter().map(|d| d.time).collect();
        let failed: Vec<usize> = self
            .in_window
            .iter()
            .copied()
            .filter(|&d| self.failed(d))
            .collect();
        let recoveries: Vec<i64> = failed.iter().map(|&d| self.recovery(d)).collect();
        let rework_of: Vec<Vec<ReworkReason>> = self
            .in_window
            .iter()
            .map(|&d| {
                rework_reasons(
                    self.history,
                    &self.shipping,
                    &self.deployments[d],
                    &self.settings.hotfix,
                )
            })
            .collect();
        // Every deployment succeeds: the attempts are the deployments. With
        // no deployment in the whole history there is nothing to count
        // (deployments are not recognised), not a frequency of zero.
        let dora = crate::dora::assemble(&crate::dora::Counts {
            since: self.since,
            until: self.until,
            deployments: count,
            attempts: count,
            failed: failed.len(),
            in_history: self.deployments.len(),
            baseline_in_window: self.in_window.first() == Some(&0),
            recognised: !self.deployments.is_empty(),
            deployment_times: &times,
            lead_times: &m.lead,
            negative_dropped: m.negative_dropped,
            baseline_changes: m.baseline_changes,
            recoveries: &recoveries,
            reworked: rework_of.iter().filter(|r| !r.is_empty()).count(),
        });
        (dora, rework_of)
    }

    /// The non-merge commits the window's failed deployments shipped.
    fn failed_changes(&self) -> Vec<CommitId> {
        self.in_window
            .iter()
            .filter(|&&d| self.failed(d))
            .flat_map(|&d| self.shipping.order[self.deployments[d].shipped.clone()].iter())
            .map(|&c| self.history.commit(c))
            .filter(|c| !c.is_merge())
            .map(|c| c.id)
            .collect()
    }

    /// The stages and the bottleneck; on squash merges without request refs
    /// `coding` is not observable and no bottleneck is named (a notice says
    /// why).
    fn stages_and_bottleneck(
        &self,
        m: &Measured,
        notices: &mut Vec<Notice>,
    ) -> (Vec<Stage>, Option<Bottleneck>) {
        let mut stages =
            build_stages(&[("coding", m.coding.clone()), ("deploy", m.deploy.clone())]);
        let mut bottleneck = bottleneck(&stages, &m.halves, m.half_changes);
        let squashed = squash_merged(
            self.history,
            &self.shipping,
            &self.deployments,
            &self.in_window,
            &self.requests,
        );
        if let Some((squashes, first_parent)) = squashed {
            // The squash commit's author time is the merge: the time before
            // it is not in the history, so neither `coding` nor a verdict is
            // shown.
            for stage in &mut stages {
                stage.share = None;
                stage.share_ci = None;
                if stage.name == "coding" {
                    *stage = not_observable(stage.name);
                }
            }
            bottleneck = None;
            notices.push(Notice {
                code: "squash_merges_without_request_refs",
                message: format!(
                    "{squashes} of the window's {first_parent} first-parent commits look squash-merged (a `(#N)` or `See merge request !N` message) and the repository holds no pull or merge request refs: the time before the merge is not observable, so `coding` is not shown, no bottleneck is named and lead time counts from the merge; fetch the requests' own commits with `git fetch origin '+refs/pull/*/head:refs/pull/*/head'` (GitLab: `git fetch origin '+refs/merge-requests/*/head:refs/merge-requests/*/head'`) and run again"
                ),
            });
        }
        (stages, bottleneck)
    }

    /// What waits undeployed on the deployed line.
    fn undeployed(&self) -> Undeployed {
        let tip = match &self.settings.deploy {
            DeploySource::Branch(name) => self.history.branch(name).map(|b| b.tip),
            DeploySource::Tags(_) => self.history.head,
        };
        undeployed(self.history, &self.shipping, tip)
    }

    /// The notices about the history, the deployments and the changes left
    /// out or measured differently.
    fn notices(&self, dora: &Dora, m: &Measured, notices: &mut Vec<Notice>) {
        let history = self.history;
        if history.shallow {
            notices.push(Notice {
                code: "shallow_clone",
                message: "the history is cut (a shallow clone or missing parents): lead times of the oldest changes are cut too; run `git fetch --unshallow` for exact figures".to_owned(),
            });
        }
        notices.extend(self.deployment_notice());
        if dora.deployments.baseline_in_window {
            notices.push(crate::dora::baseline_notice(
                crate::dora::Baseline::OldestInHistory(&self.deployments[0].name),
                m.baseline_changes,
            ));
        }
        if m.requests_used > 0 {
            notices.push(Notice {
                code: "request_refs",
                message: format!(
                    "{} start at the first commit of the pull or merge request that the merge squashed (from `refs/pull/N/head` or `refs/merge-requests/N/head`); --explain names the request of each change",
                    plural(m.requests_used, "change's lead time and coding", "changes' lead times and coding")
                ),
            });
        }
        let truncated = self.requests.truncated_in_use(
            history,
            &self.shipping,
            &self.in_window,
            &self.deployments,
        );
        if truncated > 0 {
            notices.push(Notice {
                code: "request_refs_truncated",
                message: format!(
                    "{} more than {REQUEST_COMMIT_LIMIT} own commits; {} the merge's author time",
                    plural(truncated, "merged request has", "merged requests have"),
                    if truncated == 1 {
                        "its change keeps"
                    } else {
                        "their changes keep"
                    }
                ),
            });
        }
        if m.negative_dropped > 0 {
            notices.push(crate::dora::negative_lead_times_notice(
                crate::dora::NegativeLead::AuthoredAfterDeployment,
                m.negative_dropped,
            ));
        }
    }

    /// No deployment at all, or none in the window.
    fn deployment_notice(&self) -> Option<Notice> {
        if self.deployments.is_empty() {
            let how = match &self.settings.deploy {
                DeploySource::Tags(p) => format!("no tag matches `--deploy-tags '{p}'`"),
                DeploySource::Branch(b) => format!("branch `{b}` has no commits"),
            };
            Some(Notice {
                code: "no_deployments",
                message: format!(
                    "no deployment found: {how}; if every commit on the main line is deployed, pass `--deploy-branch main`, or pass `--deploy-tags` with a pattern your release tags match"
                ),
            })
        } else if self.in_window.is_empty() {
            Some(Notice {
                code: "no_deployments_in_window",
                message: format!(
                    "none of the history's {} is in the window; widen it with --since/--until or pass --all",
                    plural(self.deployments.len(), "deployment", "deployments")
                ),
            })
        } else {
            None
        }
    }

    /// The window's deployments as the per-half figures count them.
    fn half_deployments(&self) -> Vec<crate::dora::HalfDeployment> {
        self.in_window
            .iter()
            .map(|&d| crate::dora::HalfDeployment {
                time: self.deployments[d].time,
                succeeded: true,
                failed: self.failed(d),
                recovery_seconds: self.failed(d).then(|| self.recovery(d)),
            })
            .collect()
    }

    /// The data behind the charts.
    fn series(&self, points: Vec<SeriesChange>) -> Series {
        let recognised = !self.deployments.is_empty();
        let halves = crate::dora::halves(
            &self.half_deployments(),
            &points,
            recognised,
            self.since,
            self.until,
        );
        Series {
            deployments: self
                .in_window
                .iter()
                .map(|&d| {
                    let dep = &self.deployments[d];
                    SeriesDeployment {
                        time: dep.time,
                        name: dep.name.clone(),
                        failed: self.failed(d),
                        baseline: d == 0,
                        changes: self.shipping.order[dep.shipped.clone()]
                            .iter()
                            .filter(|&&c| !self.history.commit(c).is_merge())
                            .count(),
                    }
                })
                .collect(),
            lead_time_histogram: lead_time_histogram(&points),
            halves,
            changes: points,
        }
    }

    /// Every window deployment with what it shipped and how it failed.
    fn explain(&self, rework_of: Vec<Vec<ReworkReason>>) -> Explain {
        let context = ExplainContext {
            history: self.history,
            shipping: &self.shipping,
            deployments: &self.deployments,
            failures: &self.failures,
            requests: &self.requests,
            generation: &self.generation,
        };
        Explain {
            deployments: self
                .in_window
                .iter()
                .zip(rework_of)
                .map(|(&d, rework)| explain_deployment(&context, d, rework))
                .collect(),
            delivery: None,
        }
    }
}

/// Lead time, coding and deploy seconds of change `c`, started at `start`
/// (its author time, or its request's first commit) and deployed at `at`;
/// `None` for a negative lead time. The landing time is clamped into
/// `[start, at]` so that coding + deploy = lead time.
fn stage_split(
    history: &History,
    shipping: &Shipping,
    c: CommitIdx,
    start: Timestamp,
    at: Timestamp,
) -> Option<(i64, i64, i64)> {
    let lead = at - start;
    if lead < 0 {
        return None;
    }
    let landed = history.commit(shipping.landing[c as usize]).committer_time;
    let coding = (landed - start).clamp(0, lead);
    Some((lead, coding, lead - coding))
}

/// A stage whose time the history cannot show.
fn not_observable(name: &'static str) -> Stage {
    Stage {
        name,
        median_seconds: None,
        p85_seconds: None,
        total_seconds: 0.0,
        share: None,
        share_ci: None,
        median_ci_seconds: None,
        changes: 0,
    }
}

/// `Some((squash-like, all))` when more than half of the window's
/// first-parent commits that landed changes are non-merge commits whose
/// message names a request, and the repository holds no request refs.
fn squash_merged(
    history: &History,
    shipping: &Shipping,
    deployments: &[Deployment],
    in_window: &[usize],
    requests: &Requests,
) -> Option<(usize, usize)> {
    if history.request_refs > 0 {
        return None;
    }
    let landings: HashSet<CommitIdx> = in_window
        .iter()
        .flat_map(|&d| shipping.order[deployments[d].shipped.clone()].iter())
        .map(|&c| shipping.landing[c as usize])
        .collect();
    let squashes = landings
        .iter()
        .filter(|&&l| !history.commit(l).is_merge() && requests.mention.contains_key(&l))
        .count();
    (squashes * 2 > landings.len()).then_some((squashes, landings.len()))
}

/// The pull and merge requests behind the first-parent commits.
struct Requests {
    /// Index into `History::requests` per commit that merged the request:
    /// its message names it, or it is the request's head or merge commit.
    by_commit: HashMap<CommitIdx, usize>,
    /// The request each commit's message names, refs or not.
    mention: HashMap<CommitIdx, RequestRef>,
}

/// Where a change's time starts.
struct Origin {
    /// The change's author time, or its request's first commit.
    start: Timestamp,
    /// Index into `History::requests` of the request that landed it.
    request: Option<usize>,
    /// The request's own commits counted (squash merges).
    own_commits: usize,
    /// `Some(start)` when the start comes from the request's commits.
    first_commit_time: Option<Timestamp>,
}

impl Requests {
    fn new(history: &History) -> Requests {
        let by_ref: HashMap<RequestRef, usize> = history
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| (r.request, i))
            .collect();
        let mention: HashMap<CommitIdx, RequestRef> = history.mentions.iter().copied().collect();
        let mut by_commit: HashMap<CommitIdx, usize> = mention
            .iter()
            .filter_map(|(&c, r)| by_ref.get(r).map(|&i| (c, i)))
            .collect();
        for (i, r) in history.requests.iter().enumerate() {
            for c in [r.head_commit, r.merge_commit].into_iter().flatten() {
                by_commit.entry(c).or_insert(i);
            }
        }
        Requests { by_commit, mention }
    }

    /// Where change `c`, shipped by deployment `d`, starts. A change that
    /// is itself the first-parent commit merging a request (a squash, a
    /// rebase or a fast-forward) starts at the earliest author time among
    /// it and the request's commits not on the deployed line before it:
    /// the head's commits outside the history, and those in it that are
    /// not reachable from the merge's first parent.
    fn origin(
        &self,
        history: &History,
        shipping: &Shipping,
        generation: &[u32],
        c: CommitIdx,
        d: usize,
    ) -> Origin {
        let commit = history.commit(c);
        let landing = shipping.landing[c as usize];
        let request = self.by_commit.get(&landing).copied();
        let own = |start| Origin {
            start,
            request,
            own_commits: 0,
            first_commit_time: None,
        };
        let Some(r) = request else {
            return own(commit.author_time);
        };
        let req = &history.requests[r];
        if landing != c || req.truncated {
            return own(commit.author_time);
        }
        let mut start = commit.author_time;
        let mut own_commits = req.outside_author_times.len();
        for &t in &req.outside_author_times {
            start = start.min(t);
        }
        // Commits of the head inside the history: those not yet on the
        // deployed line when `c` landed.
        let before_landing = |x: CommitIdx| {
            let by = shipping.by[x as usize];
            by != NONE
                && (by < d as u32
                    || (by == d as u32
                        && generation[shipping.landing[x as usize] as usize]
                            < generation[c as usize]))
        };
        let mut seen: HashSet<CommitIdx> = HashSet::new();
        let mut stack: Vec<CommitIdx> = req.entries.clone();
        while let Some(x) = stack.pop() {
            if own_commits >= REQUEST_COMMIT_LIMIT || !seen.insert(x) || before_landing(x) {
                continue;
            }
            let commit = history.commit(x);
            if !commit.is_merge() {
                own_commits += 1;
                start = start.min(commit.author_time);
            }
            stack.extend(commit.parents.iter().copied());
        }
        Origin {
            start,
            request,
            own_commits,
            first_commit_time: Some(start),
        }
    }

    /// How many requests squashed into a change of the window were too
    /// long to read.
    fn truncated_in_use(
        &self,
        history: &History,
        shipping: &Shipping,
        in_window: &[usize],
        deployments: &[Deployment],
    ) -> usize {
        in_window
            .iter()
            .flat_map(|&d| shipping.order[deployments[d].shipped.clone()].iter())
            .filter(|&&c| shipping.landing[c as usize] == c)
            .filter_map(|c| self.by_commit.get(c))
            .filter(|&&r| history.requests[r].truncated)
            .count()
    }
}

/// Generation numbers: 1 for a root, else 1 + the largest parent's.
fn generations(history: &History) -> Vec<u32> {
    let n = history.commits.len();
    let mut generation = vec![0u32; n];
    let mut stack: Vec<(CommitIdx, bool)> = Vec::new();
    for start in 0..n as CommitIdx {
        if generation[start as usize] != 0 {
            continue;
        }
        stack.push((start, false));
        while let Some((c, expanded)) = stack.pop() {
            if generation[c as usize] != 0 {
                continue;
            }
            let parents = &history.commit(c).parents;
            if expanded {
                let max = parents
                    .iter()
                    .map(|&p| generation[p as usize])
                    .max()
                    .unwrap_or(0);
                generation[c as usize] = max + 1;
            } else {
                stack.push((c, true));
                stack.extend(
                    parents
                        .iter()
                        .filter(|&&p| generation[p as usize] == 0)
                        .map(|&p| (p, false)),
                );
            }
        }
    }
    generation
}

fn tag_deployments(
    history: &History,
    pattern: &Regex,
    notices: &mut Vec<Notice>,
) -> (Vec<Deployment>, DeploymentsFrom) {
    let mut by_commit: HashMap<CommitIdx, Deployment> = HashMap::new();
    let mut matching = 0;
    let mut skipped = 0;
    let mut other: Vec<&str> = Vec::new();
    for tag in &history.tags {
        if !pattern.is_match(&tag.name) {
            other.push(&tag.name);
            continue;
        }
        matching += 1;
        let TagTarget::Commit(commit) = tag.target else {
            skipped += 1;
            continue;
        };
        let time = tag
            .tagger_time
            .unwrap_or(history.commit(commit).committer_time);
        match by_commit.get_mut(&commit) {
            None => {
                by_commit.insert(
                    commit,
                    Deployment {
                        commit,
                        time,
                        name: tag.name.clone(),
                        aliases: Vec::new(),
                        shipped: 0..0,
                    },
                );
            }
            Some(existing) => {
                if (time, &tag.name) < (existing.time, &existing.name) {
                    let old_name = std::mem::replace(&mut existing.name, tag.name.clone());
                    existing.aliases.push(old_name);
                    existing.time = time;
                } else {
                    existing.aliases.push(tag.name.clone());
                }
            }
        }
    }
    let mut deployments: Vec<Deployment> = by_commit.into_values().collect();
    for d in &mut deployments {
        d.aliases.sort();
    }
    if skipped > 0 {
        notices.push(Notice {
            code: "tags_not_commits",
            message: format!(
                "{} a tree or blob, not a commit, and {} skipped",
                plural(skipped, "matching tag points at", "matching tags point at"),
                if skipped == 1 { "is" } else { "are" }
            ),
        });
    }
    if let Some(hint) = component_tag_hint(&other) {
        notices.push(hint);
    }
    let from = DeploymentsFrom::Tags {
        pattern: pattern.as_str().to_owned(),
        matching_tags: matching,
        skipped_not_commit: skipped,
    };
    (deployments, from)
}

/// Tags like `tokio-1.38.0` or `api/v2.1.0`: releases of a monorepo's
/// components that the pattern does not select.
fn component_tag_hint(other: &[&str]) -> Option<Notice> {
    let re = component_tag_regex();
    let mut groups: HashMap<&str, usize> = HashMap::new();
    let mut total = 0;
    for name in other {
        if let Some(caps) = re.captures(name)
            && let Some(prefix) = caps.get(1)
        {
            *groups.entry(prefix.as_str()).or_default() += 1;
            total += 1;
        }
    }
    if total == 0 {
        return None;
    }
    let mut groups: Vec<(&str, usize)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let examples: Vec<String> = groups
        .iter()
        .take(3)
        .map(|(prefix, n)| format!("{n} of `{prefix}`"))
        .collect();
    let (top, _) = groups[0];
    Some(Notice {
        code: "component_release_tags",
        message: format!(
            "{total} other {} like releases of components ({}{}); to count the releases of `{}` as deployments, pass `--deploy-tags '{}'`",
            if total == 1 { "tag looks" } else { "tags look" },
            examples.join(", "),
            if groups.len() > 3 {
                format!(", {} more components", groups.len() - 3)
            } else {
                String::new()
            },
            top.trim_end_matches(['-', '/', '_', '@']),
            component_pattern(top),
        ),
    })
}

/// The prefix of a monorepo component's release tag (`api/` of
/// `api/v2.1.0`, `tokio-` of `tokio-1.38.0`), when the tag looks like one.
pub fn component_prefix(tag: &str) -> Option<&str> {
    component_tag_regex()
        .captures(tag)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

/// The `--deploy-tags` pattern selecting the releases of the component
/// whose tags start with `prefix`.
pub fn component_pattern(prefix: &str) -> String {
    format!("^{}v?[0-9]+(\\.[0-9]+){{1,2}}$", escape_literal(prefix))
}

fn component_tag_regex() -> &'static Regex {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"^(.*[^0-9.][-/_@])v?[0-9]+(\.[0-9]+){1,2}$")
            .expect("a literal pattern compiles")
    });
    &RE
}

fn escape_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if r"\.+*?()|[]{}^$#".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn branch_deployments(history: &History, name: &str, tip: CommitIdx) -> Vec<Deployment> {
    let mut out = Vec::new();
    let mut cursor = Some(tip);
    while let Some(c) = cursor {
        let commit = history.commit(c);
        out.push(Deployment {
            commit: c,
            time: commit.committer_time,
            name: format!("{name}@{}", commit.id.short(10)),
            aliases: Vec::new(),
            shipped: 0..0,
        });
        cursor = commit.parents.first().copied();
    }
    out
}

/// Assigns every commit reachable from a deployment to the first deployment
/// (in order) that reaches it, and records where on that deployment's
/// first-parent chain it landed.
fn ship(history: &History, deployments: &mut [Deployment]) -> Shipping {
    let n = history.commits.len();
    let mut by = vec![NONE; n];
    let mut landing = vec![NONE; n];
    let mut order = Vec::new();
    let mut chain = Vec::new();
    let mut stack = Vec::new();
    for (d, dep) in deployments.iter_mut().enumerate() {
        let start = order.len();
        chain.clear();
        let mut cursor = Some(dep.commit);
        while let Some(c) = cursor.filter(|&c| by[c as usize] == NONE) {
            chain.push(c);
            cursor = history.commit(c).parents.first().copied();
        }
        for &f in chain.iter().rev() {
            stack.push(f);
            while let Some(c) = stack.pop() {
                if by[c as usize] != NONE {
                    continue;
                }
                by[c as usize] = d as u32;
                landing[c as usize] = f;
                order.push(c);
                stack.extend(
                    history
                        .commit(c)
                        .parents
                        .iter()
                        .filter(|&&p| by[p as usize] == NONE),
                );
            }
        }
        dep.shipped = start..order.len();
    }
    Shipping { by, landing, order }
}

struct Failures {
    /// Per deployment: the first later deployment that shipped a revert of
    /// one of its commits, or `NONE`.
    first: Vec<u32>,
    /// (failed deployment, reverted commit, revert commit, revert deployment).
    links: Vec<(u32, CommitIdx, CommitIdx, u32)>,
}

fn failures(history: &History, shipping: &Shipping) -> Failures {
    let deployments = shipping
        .order
        .iter()
        .map(|&c| shipping.by[c as usize])
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut first = vec![NONE; deployments];
    let mut links = Vec::new();
    let has_reverts = history.commits.iter().any(|c| !c.reverts.is_empty());
    if !has_reverts {
        return Failures { first, links };
    }
    let index = history.index_by_id();
    for (r, commit) in history.commits.iter().enumerate() {
        let dr = shipping.by[r];
        if dr == NONE {
            continue;
        }
        for target in &commit.reverts {
            let Some(&x) = index.get(target) else {
                continue;
            };
            let dx = shipping.by[x as usize];
            if dx != NONE && dr > dx {
                links.push((dx, x, r as CommitIdx, dr));
                let slot = &mut first[dx as usize];
                *slot = (*slot).min(dr);
            }
        }
    }
    links.sort_unstable();
    Failures { first, links }
}

fn rework_reasons(
    history: &History,
    shipping: &Shipping,
    dep: &Deployment,
    hotfix: &Regex,
) -> Vec<ReworkReason> {
    shipping.order[dep.shipped.clone()]
        .iter()
        .filter_map(|&c| {
            let commit = history.commit(c);
            let reason = if !commit.reverts.is_empty() {
                "revert"
            } else if hotfix.is_match(&commit.subject) {
                "hotfix"
            } else {
                return None;
            };
            Some(ReworkReason {
                commit: commit.id.to_hex(),
                reason,
                subject: commit.subject.to_string(),
            })
        })
        .collect()
}

fn undeployed(history: &History, shipping: &Shipping, tip: Option<CommitIdx>) -> Undeployed {
    let mut seen = vec![false; history.commits.len()];
    let mut stack: Vec<CommitIdx> = tip.into_iter().collect();
    let mut changes = 0;
    let mut oldest: Option<Timestamp> = None;
    while let Some(c) = stack.pop() {
        if seen[c as usize] || shipping.by[c as usize] != NONE {
            continue;
        }
        seen[c as usize] = true;
        let commit = history.commit(c);
        if !commit.is_merge() {
            changes += 1;
            oldest = Some(oldest.map_or(commit.author_time, |o| o.min(commit.author_time)));
        }
        stack.extend(commit.parents.iter().copied());
    }
    Undeployed {
        changes,
        oldest_author_time: oldest,
    }
}

/// What `--explain` reads.
struct ExplainContext<'a> {
    history: &'a History,
    shipping: &'a Shipping,
    deployments: &'a [Deployment],
    failures: &'a Failures,
    requests: &'a Requests,
    generation: &'a [u32],
}

fn explain_deployment(
    context: &ExplainContext,
    d: usize,
    rework: Vec<ReworkReason>,
) -> ExplainedDeployment {
    let &ExplainContext {
        history,
        shipping,
        deployments,
        failures,
        requests,
        generation,
    } = context;
    let dep = &deployments[d];
    let mut changes = Vec::new();
    let mut merges = 0;
    for &c in &shipping.order[dep.shipped.clone()] {
        let commit = history.commit(c);
        if commit.is_merge() {
            merges += 1;
            continue;
        }
        let landing = history.commit(shipping.landing[c as usize]);
        let origin = requests.origin(history, shipping, generation, c, d);
        let split = if d == 0 {
            None
        } else {
            stage_split(history, shipping, c, origin.start, dep.time)
        };
        let request = origin.request.map(|r| {
            let req = &history.requests[r];
            ExplainedRequest {
                request: req.request.label(),
                head_ref: req.request.head_ref(),
                own_commits: origin.own_commits,
                first_commit_time: origin.first_commit_time,
            }
        });
        changes.push(ExplainedChange {
            commit: commit.id.to_hex(),
            subject: commit.subject.to_string(),
            author_time: commit.author_time,
            landed_by: landing.id.to_hex(),
            landed_at: landing.committer_time,
            lead_time_seconds: dep.time - origin.start,
            coding_seconds: split.map(|s| s.1),
            deploy_seconds: split.map(|s| s.2),
            counted: split.is_some(),
            request,
        });
    }
    changes.sort_by(|a, b| (a.author_time, &a.commit).cmp(&(b.author_time, &b.commit)));
    let reverted = failures
        .links
        .iter()
        .filter(|l| l.0 as usize == d)
        .map(|&(_, x, r, dr)| RevertLink {
            commit: history.commit(x).id.to_hex(),
            reverted_by: history.commit(r).id.to_hex(),
            revert_deployment: deployments[dr as usize].name.clone(),
            revert_deployment_time: deployments[dr as usize].time,
        })
        .collect();
    let first = failures.first.get(d).copied().unwrap_or(NONE);
    ExplainedDeployment {
        name: dep.name.clone(),
        aliases: dep.aliases.clone(),
        commit: history.commit(dep.commit).id.to_hex(),
        time: dep.time,
        baseline: d == 0,
        changes,
        merges,
        reverted,
        recovery_seconds: (first != NONE).then(|| deployments[first as usize].time - dep.time),
        rework,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_tags_get_a_pattern_that_selects_them() {
        let check = |tags: &[&str], expected: Option<&str>| {
            let got = component_tag_hint(tags).map(|n| n.message);
            assert_eq!(got.as_deref(), expected, "{tags:?}");
        };
        check(&["v1.0.0-rc1", "nightly", "1.2.3-beta"], None);
        check(
            &["tokio-1.38.0", "tokio-1.39.0", "api/v2.1.0"],
            Some(
                "3 other tags look like releases of components (2 of `tokio-`, 1 of `api/`); to count the releases of `tokio` as deployments, pass `--deploy-tags '^tokio-v?[0-9]+(\\.[0-9]+){1,2}$'`",
            ),
        );
        check(
            &["grep-cli-0.1.0"],
            Some(
                "1 other tag looks like releases of components (1 of `grep-cli-`); to count the releases of `grep-cli` as deployments, pass `--deploy-tags '^grep-cli-v?[0-9]+(\\.[0-9]+){1,2}$'`",
            ),
        );
        // The suggested pattern selects exactly the group's tags.
        let suggested = Regex::new(r"^tokio-v?[0-9]+(\.[0-9]+){1,2}$").expect("valid");
        assert!(suggested.is_match("tokio-1.38.0") && !suggested.is_match("tokio-macros-1.0.0"));
    }
}
