//! Stages: when each change's stages begin (first commit, pickup start,
//! first review, merge, deployment), the stages between them, and the
//! window's stages and lead times, counted over the changes its successful
//! deployments shipped; what waits undeployed.

use std::collections::{BTreeMap, HashMap};

use nextneck_model::Timestamp;
use nextneck_model::events::{Actor, EventBody};

use super::STAGES;
use super::TracedEvent;
use super::merge::{MChange, MPush, Observed, earliest, merge_actor, merge_pushes};
use super::names::{Names, actor_name, same_actor};
use super::things::{DeploymentIx, Things};
use crate::report::{SeriesChange, Undeployed};

/// A change's stage boundaries and stages.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Stages {
    pub(super) first_commit: Option<Timestamp>,
    pub(super) ready: Option<Timestamp>,
    pub(super) first_review: Option<Timestamp>,
    pub(super) lead: Option<i64>,
    /// coding, pickup, review, unreviewed, deploy.
    pub(super) values: [Option<i64>; 5],
    /// False for a negative lead time.
    pub(super) ordered: bool,
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

/// A change's first review: when, and by whom (unknown when the change
/// states the time itself).
#[derive(Clone, Debug)]
pub(super) struct FirstReview {
    pub(super) at: Timestamp,
    pub(super) reviewer: Option<String>,
}

/// A change's stage boundaries before its merge.
#[derive(Clone, Debug, Default)]
pub(super) struct ChangeTimes {
    pub(super) first_commit: Option<Timestamp>,
    /// Pickup start: the opening, or the latest ready-for-review before
    /// the first review (or the merge).
    pub(super) pickup: Option<Timestamp>,
    pub(super) first_review: Option<FirstReview>,
}

/// Each change's first commit, pickup start and first review.
pub(super) fn change_times(
    changes: &[MChange],
    observed: &Observed<'_>,
    names: &Names<'_>,
) -> Vec<ChangeTimes> {
    let pushes = merge_pushes(&observed.pushes);
    let branches = Branches::new(changes, &pushes);
    changes
        .iter()
        .map(|c| {
            let first_review = first_review(
                c,
                observed.reviews.get(&(c.source.as_str(), c.id.clone())),
                names,
            );
            let pickup = c.opened.map(|o| {
                let until = first_review.as_ref().map(|r| r.at).or(c.merged);
                c.readies
                    .iter()
                    .copied()
                    .filter(|r| until.is_none_or(|u| *r <= u))
                    .fold(o, Timestamp::max)
            });
            ChangeTimes {
                first_commit: first_commit(c, &branches),
                pickup,
                first_review,
            }
        })
        .collect()
}

#[derive(Clone, Debug)]
struct MReview {
    reviewer: Option<Actor>,
    change_author: Option<Actor>,
    at: Option<Timestamp>,
}

/// The first review of a change by someone other than its author, not a
/// bot, at or before its merge: its time and who gave it. A first review
/// time stated by the change itself (generic events) counts too.
fn first_review(
    c: &MChange,
    reviews: Option<&BTreeMap<String, Vec<&TracedEvent<'_>>>>,
    names: &Names<'_>,
) -> Option<FirstReview> {
    let before_merge = |t: Timestamp| c.merged.is_none_or(|m| t <= m);
    let mut best: Option<FirstReview> = c
        .stated_first_review
        .filter(|t| before_merge(*t))
        .map(|at| FirstReview { at, reviewer: None });
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
        if best.as_ref().is_none_or(|b| at < b.at) {
            best = Some(FirstReview {
                at,
                reviewer: Some(actor_name(reviewer)),
            });
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

/// The window's stages and lead times, over the selected changes its
/// successful deployments shipped, except a baseline's and a negative
/// lead time's.
#[derive(Clone, Debug, Default)]
pub(super) struct Counted {
    /// Each stage's values, named, in [`STAGES`] order.
    pub(super) stages: Vec<(&'static str, Vec<i64>)>,
    pub(super) lead: Vec<i64>,
    /// Each half's sum of each stage, and its changes.
    pub(super) halves: [Vec<i64>; 2],
    pub(super) half_changes: [usize; 2],
    pub(super) negative_dropped: usize,
    pub(super) baseline_changes: usize,
    pub(super) unreviewed: usize,
    /// Changes with a lead time, a coding and a deploy stage.
    pub(super) points: Vec<SeriesChange>,
}

/// Counts the stages of the changes the window's `successes` shipped, and
/// keeps each change's stages on it (for `--explain`).
pub(super) fn count(things: &mut Things, successes: &[DeploymentIx], mid: Timestamp) -> Counted {
    let mut counted = Counted {
        halves: [vec![0i64; STAGES.len()], vec![0i64; STAGES.len()]],
        ..Counted::default()
    };
    let mut values: [Vec<i64>; 5] = Default::default();
    for &d in successes {
        let dep = &things.deployments[d.0];
        let Some(t) = dep.seen.success() else {
            continue;
        };
        for &c in &dep.shipped {
            let change = &mut things.changes[c.0];
            if !change.selected {
                continue;
            }
            let s = stages_of(
                change.times.first_commit,
                change.times.pickup,
                change.times.first_review.as_ref().map(|r| r.at),
                change.seen.merged,
                t,
            );
            change.stages = Some(s);
            if dep.baseline {
                counted.baseline_changes += 1;
            } else if !s.ordered {
                counted.negative_dropped += 1;
            } else {
                counted.unreviewed += usize::from(change.times.first_review.is_none());
                counted.add(&s, t, mid, &mut values);
            }
        }
    }
    counted.stages = STAGES.into_iter().zip(values).collect();
    counted
}

impl Counted {
    fn add(&mut self, s: &Stages, t: Timestamp, mid: Timestamp, values: &mut [Vec<i64>; 5]) {
        let half = usize::from(t >= mid);
        self.half_changes[half] += 1;
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                values[i].push(*v);
                self.halves[half][i] += v;
            }
        }
        if let Some(l) = s.lead {
            self.lead.push(l);
            if let (Some(cd), Some(dp)) = (s.values[0], s.values[4]) {
                self.points.push(SeriesChange {
                    deployed_at: t,
                    lead_time_seconds: l,
                    coding_seconds: cd,
                    deploy_seconds: dp,
                });
            }
        }
    }
}

/// The selected changes merged before the window ends that no deployment
/// shipped, and the oldest first commit among them.
pub(super) fn undeployed(things: &Things, until: Timestamp) -> Undeployed {
    let mut undeployed = Undeployed {
        changes: 0,
        oldest_author_time: None,
    };
    for ch in &things.changes {
        if ch.selected
            && ch.seen.is_merged
            && ch.link.is_err()
            && ch.seen.merged.is_none_or(|m| m < until)
        {
            undeployed.changes += 1;
            if let Some(t) = ch.times.first_commit {
                undeployed.oldest_author_time =
                    Some(undeployed.oldest_author_time.map_or(t, |o| o.min(t)));
            }
        }
    }
    undeployed
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
