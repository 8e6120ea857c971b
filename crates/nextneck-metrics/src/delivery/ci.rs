//! CI health: runs per workflow (success rate, duration, queue time) and
//! the tests' flakiness and durations, in the window.

use std::collections::{BTreeMap, HashMap};

use nextneck_model::events::{CiConclusion, TestCase, TestOutcome};
use nextneck_model::{CommitId, History, Timestamp};

use super::merge::MRun;
use super::names::Names;
use super::{Span, TracedEvent};
use crate::report::{Ci, CiWorkflow, FlakyTest, Notice, SlowTest};
use crate::stats::Summary;
use crate::words::plural;

/// How many slowest tests the report lists.
const SLOWEST: usize = 10;

/// A test execution: the test, its commit, its run, and (without a run)
/// the observation itself.
pub(super) type TestKey = (String, Option<String>, Option<String>, Option<String>);

/// One execution of a test.
#[derive(Clone, Debug)]
pub(super) struct TestRun {
    name: String,
    outcome: TestOutcome,
    flaky: bool,
    duration: Option<f64>,
    commit: Option<String>,
    run_id: Option<String>,
    at: Option<Timestamp>,
}

impl TestRun {
    /// An execution is a test on a commit in a run; the same report stored
    /// twice is one execution. Without a run, each delivery is its own.
    pub(super) fn of(e: &TracedEvent<'_>, t: &TestCase) -> (TestKey, TestRun) {
        let key = (
            t.full_name(),
            t.commit.clone(),
            t.run_id.clone(),
            t.run_id
                .is_none()
                .then(|| format!("{}/{}", e.delivery_id, e.seq)),
        );
        let run = TestRun {
            name: t.full_name(),
            outcome: t.outcome.clone(),
            flaky: t.flaky,
            duration: t.duration_seconds,
            commit: t.commit.clone().map(|c| c.to_lowercase()),
            run_id: t.run_id.clone(),
            at: e.event.at,
        };
        (key, run)
    }
}

// ---------------------------------------------------------------------------
// Reachability in the clone.
/// CI runs per workflow and the tests' flakiness and durations in the
/// window; a notice when test results have no time.
pub(super) fn figures(
    runs: &[MRun],
    tests: &BTreeMap<TestKey, TestRun>,
    history: Option<&History>,
    names: &Names<'_>,
    span: &Span,
    notices: &mut Vec<Notice>,
) -> Ci {
    let workflows = workflows(runs, names, span);
    let (executions, untimed) = executions(runs, tests, history, names, span);
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
    let mut flaky_tests: Vec<FlakyTest> = executions
        .iter()
        .filter_map(|(name, execs)| flaky(name, execs))
        .collect();
    let mut slowest: Vec<SlowTest> = executions
        .iter()
        .filter_map(|(name, execs)| slow(name, execs))
        .collect();
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

/// Whether a run passes the filter (by its repository and that
/// repository's service).
fn selected(names: &Names<'_>, r: &MRun) -> bool {
    names.selects(
        r.repository.as_deref(),
        r.repository
            .as_deref()
            .and_then(|repo| names.service_of_repository(repo))
            .as_deref(),
    )
}

/// The selected runs that started in the window, per repository and
/// workflow.
fn workflows(runs: &[MRun], names: &Names<'_>, span: &Span) -> Vec<CiWorkflow> {
    let mut by_workflow: BTreeMap<(Option<String>, String), Vec<&MRun>> = BTreeMap::new();
    for r in runs {
        if !selected(names, r) || !span.contains(r.start()) {
            continue;
        }
        let workflow = r.workflow.clone().unwrap_or_else(|| "(unnamed)".to_owned());
        by_workflow
            .entry((r.repository.clone(), workflow))
            .or_default()
            .push(r);
    }
    by_workflow
        .into_iter()
        .map(|((repository, workflow), rs)| workflow_figures(repository, workflow, &rs))
        .collect()
}

/// One workflow's runs: success rate over concluded runs, duration of
/// completed runs, queue time of first attempts.
fn workflow_figures(repository: Option<String>, workflow: String, rs: &[&MRun]) -> CiWorkflow {
    let concluded: Vec<&&MRun> = rs
        .iter()
        .filter(|r| {
            r.completed
                && matches!(
                    r.conclusion,
                    Some(CiConclusion::Success | CiConclusion::Failure | CiConclusion::TimedOut)
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
        success_rate: (!concluded.is_empty()).then(|| succeeded as f64 / concluded.len() as f64),
        duration_median_seconds: d.median,
        duration_p85_seconds: d.p85,
        queue_median_seconds: q.median,
        queue_p85_seconds: q.p85,
    }
}

/// The runs by id and by commit, and the clone's commit times: where a
/// test execution without a time of its own gets one.
struct RunIndex<'r> {
    by_id: HashMap<&'r str, &'r MRun>,
    by_sha: HashMap<String, Vec<&'r MRun>>,
    commit_times: HashMap<CommitId, Timestamp>,
}

impl<'r> RunIndex<'r> {
    fn new(runs: &'r [MRun], history: Option<&History>) -> RunIndex<'r> {
        let mut by_sha: HashMap<String, Vec<&MRun>> = HashMap::new();
        for r in runs {
            if let Some(s) = &r.sha {
                by_sha.entry(s.to_lowercase()).or_default().push(r);
            }
        }
        RunIndex {
            by_id: runs.iter().map(|r| (r.id.as_str(), r)).collect(),
            by_sha,
            commit_times: history
                .map(|h| h.commits.iter().map(|c| (c.id, c.committer_time)).collect())
                .unwrap_or_default(),
        }
    }

    /// A test execution's run and the runs on its commit.
    fn runs_of(&self, t: &TestRun) -> (Option<&'r MRun>, &[&'r MRun]) {
        let run = t
            .run_id
            .as_deref()
            .and_then(|id| self.by_id.get(id).copied());
        let commit_runs = t
            .commit
            .as_deref()
            .and_then(|c| self.by_sha.get(c))
            .map_or(&[][..], |v| v.as_slice());
        (run, commit_runs)
    }

    /// A test execution's time: its report's, else its run's start, else
    /// the earliest run on its commit, else its commit's committer time in
    /// the clone.
    fn time_of(&self, t: &TestRun) -> Option<Timestamp> {
        let (run, commit_runs) = self.runs_of(t);
        t.at.or_else(|| run.and_then(|r| r.start()))
            .or_else(|| commit_runs.iter().filter_map(|r| r.start()).min())
            .or_else(|| {
                t.commit
                    .as_deref()
                    .and_then(|c| CommitId::from_hex(c.as_bytes()))
                    .and_then(|id| self.commit_times.get(&id).copied())
            })
    }
}

/// The window's selected test executions by test name, and how many
/// executions have no time at all.
fn executions<'t>(
    runs: &[MRun],
    tests: &'t BTreeMap<TestKey, TestRun>,
    history: Option<&History>,
    names: &Names<'_>,
    span: &Span,
) -> (BTreeMap<&'t str, Vec<&'t TestRun>>, usize) {
    let index = RunIndex::new(runs, history);
    let filtering = !names.settings.filter.is_empty();
    let mut untimed = 0;
    let mut executions: BTreeMap<&str, Vec<&TestRun>> = BTreeMap::new();
    for t in tests.values() {
        let Some(at) = index.time_of(t) else {
            untimed += 1;
            continue;
        };
        if !span.contains(Some(at)) {
            continue;
        }
        if filtering {
            let (run, commit_runs) = index.runs_of(t);
            let mut known = run.into_iter().chain(commit_runs.iter().copied());
            if !known.any(|r| selected(names, r)) {
                continue;
            }
        }
        executions.entry(t.name.as_str()).or_default().push(t);
    }
    (executions, untimed)
}

fn failed(t: &TestRun) -> bool {
    matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error)
}

/// A test is flaky on a commit where it both failed and passed, or where a
/// rerun marked it flaky.
fn flaky(name: &str, execs: &[&TestRun]) -> Option<FlakyTest> {
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
    (!commits.is_empty() || marked > 0).then(|| FlakyTest {
        test: name.to_owned(),
        flaky_commits: commits.len(),
        commits,
        executions: execs.len(),
        failed: execs.iter().filter(|t| failed(t)).count(),
        marked_flaky: marked,
    })
}

/// A test's durations, when it reports any.
fn slow(name: &str, execs: &[&TestRun]) -> Option<SlowTest> {
    let mut d: Vec<f64> = execs.iter().filter_map(|t| t.duration).collect();
    if d.is_empty() {
        return None;
    }
    let s = Summary::of(&mut d);
    Some(SlowTest {
        test: name.to_owned(),
        executions: d.len(),
        median_seconds: s.median,
        p85_seconds: s.p85,
        max_seconds: d.last().copied().unwrap_or(0.0),
    })
}
