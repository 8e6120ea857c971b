//! Pieces every report shares, so that the git report and the delivery
//! events report apply one definition: deployment frequency's days per
//! week, the stages' figures, the trend rule and the bottleneck with its
//! evidence (`docs/metrics.md`). The window is in [`crate::window`], the
//! words in [`crate::words`].

use nextneck_model::Timestamp;

use crate::report::{
    Bottleneck, Dora, Evidence, LeadTimeBin, Notice, RunnerUp, SeriesChange, Stage,
};
use crate::stats::{Summary, share_intervals};
use crate::tiers::minimum;
use crate::time::{DAY, WEEK};
use crate::words::{Holds, holds_sentence, plural, runner_up_words, trend_words};

/// Median over whole 7-day blocks, counted back from `until`, of the number
/// of 24-hour days (counted the same way) holding a deployment.
pub(crate) fn deploy_days_per_week(
    times: &[Timestamp],
    since: Timestamp,
    until: Timestamp,
) -> (Option<f64>, usize) {
    let weeks = ((until - since) / WEEK) as usize;
    if weeks == 0 {
        return (None, 0);
    }
    let first = until - weeks as i64 * WEEK;
    let mut days = vec![[false; 7]; weeks];
    for &t in times {
        if (first..until).contains(&t) {
            let offset = t - first;
            days[(offset / WEEK) as usize][((offset % WEEK) / DAY) as usize] = true;
        }
    }
    let mut counts: Vec<f64> = days
        .iter()
        .map(|w| w.iter().filter(|&&x| x).count() as f64)
        .collect();
    (Summary::of(&mut counts).median, weeks)
}

/// The lead-time histogram's bins, `[min, max)` in seconds (`None`: no
/// upper bound): hours, days, weeks, quarters.
const LEAD_TIME_BINS: [(i64, Option<i64>, &str); 9] = [
    (0, Some(3600), "< 1h"),
    (3600, Some(21_600), "1–6h"),
    (21_600, Some(86_400), "6h–1d"),
    (86_400, Some(259_200), "1–3d"),
    (259_200, Some(604_800), "3–7d"),
    (604_800, Some(1_209_600), "1–2w"),
    (1_209_600, Some(2_419_200), "2–4w"),
    (2_419_200, Some(7_862_400), "4–13w"),
    (7_862_400, None, "≥ 13w"),
];

/// The changes counted by lead time in [`LEAD_TIME_BINS`] (a negative lead
/// time, never measured, falls in none).
pub(crate) fn lead_time_histogram(changes: &[SeriesChange]) -> Vec<LeadTimeBin> {
    LEAD_TIME_BINS
        .iter()
        .map(|&(min, max, label)| LeadTimeBin {
            label,
            min_seconds: min,
            max_seconds: max,
            changes: changes
                .iter()
                .filter(|c| {
                    c.lead_time_seconds >= min && max.is_none_or(|m| c.lead_time_seconds < m)
                })
                .count(),
        })
        .collect()
}

/// The stages' figures; each stage's share is of the sum over all stages,
/// with its bootstrap interval ([`crate::stats::share_intervals`]).
pub(crate) fn build_stages(stages: &[(&'static str, Vec<i64>)]) -> Vec<Stage> {
    let grand: i64 = stages.iter().flat_map(|(_, v)| v.iter()).sum();
    let parts: Vec<&[i64]> = stages.iter().map(|(_, v)| v.as_slice()).collect();
    let intervals = share_intervals(&parts);
    stages
        .iter()
        .zip(intervals)
        .map(|((name, values), share_ci)| {
            let s = Summary::of_seconds(values);
            Stage {
                name,
                median_seconds: s.median,
                p85_seconds: s.p85,
                total_seconds: s.total,
                share: (grand > 0).then(|| s.total / grand as f64),
                share_ci: share_ci.filter(|_| grand > 0),
                median_ci_seconds: s.median_ci,
                changes: s.count,
            }
        })
        .collect()
}

/// `rising`, `falling` or `steady` from a share in each half (more than 5
/// percentage points apart is a move); `None` when a half has fewer than
/// [`minimum::TREND_ITEMS_PER_HALF`] items or no time. The one trend rule
/// of the git, events and flow reports.
pub(crate) fn trend(shares: [Option<f64>; 2], items: [usize; 2]) -> Option<&'static str> {
    if items.iter().any(|&n| n < minimum::TREND_ITEMS_PER_HALF) {
        return None;
    }
    // A move of exactly 5 points (0.55 − 0.50 is 0.0500000…04 in floating
    // point) is steady.
    const MOVE: f64 = 0.05 + 1e-9;
    match shares {
        [Some(a), Some(b)] if b - a > MOVE => Some("rising"),
        [Some(a), Some(b)] if a - b > MOVE => Some("falling"),
        [Some(_), Some(_)] => Some("steady"),
        _ => None,
    }
}

/// Each half's share of the time: `part[h]` of `whole[h]`, `None` for a
/// half without time. With [`trend`], the trend rule of every report.
pub(crate) fn half_shares(part: [i64; 2], whole: [i64; 2]) -> [Option<f64>; 2] {
    [0, 1].map(|h| (whole[h] > 0).then(|| part[h] as f64 / whole[h] as f64))
}

/// Whether `share` is inside the interval `ci`.
pub(crate) fn within(ci: Option<[f64; 2]>, share: f64) -> bool {
    ci.is_some_and(|[lo, _]| share >= lo)
}

/// The stage with the largest share, with its evidence and the runner-up.
/// `halves[h][i]` is stage `i`'s total seconds in half `h` of the window;
/// `half_changes[h]` the changes measured in half `h`. Below
/// [`minimum::BOTTLENECK_ITEMS`] changes the stage is shown but not called
/// the bottleneck (`too_few_to_call`).
pub(crate) fn bottleneck(
    stages: &[Stage],
    halves: &[Vec<i64>; 2],
    half_changes: [usize; 2],
) -> Option<Bottleneck> {
    let mut ranked: Vec<(usize, &Stage)> = stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.share.is_some())
        .collect();
    // Largest share first; on a tie, the earlier stage in flow order.
    ranked.sort_by(|a, b| {
        b.1.total_seconds
            .total_cmp(&a.1.total_seconds)
            .then(a.0.cmp(&b.0))
    });
    let (index, top) = *ranked.first()?;
    let share = top.share?;
    let part = halves
        .each_ref()
        .map(|h| h.get(index).copied().unwrap_or(0));
    let shares = half_shares(part, halves.each_ref().map(|h| h.iter().sum()));
    let trend = trend(shares, half_changes);
    let next = ranked.get(1).map(|(_, s)| {
        let share = s.share.unwrap_or(0.0);
        RunnerUp {
            stage: s.name,
            share,
            median_seconds: s.median_seconds,
            within_interval: within(top.share_ci, share),
        }
    });
    let measured = top
        .changes
        .max(ranked.iter().map(|(_, s)| s.changes).max().unwrap_or(0));
    let too_few_to_call = measured < minimum::BOTTLENECK_ITEMS;
    let mut summary = holds_sentence(&Holds {
        stage: top.name,
        share,
        share_ci: top.share_ci,
        median: top.median_seconds,
        p85: top.p85_seconds,
        count: top.changes,
        of: "change time",
        item: ["change", "changes"],
        too_few: too_few_to_call.then_some(measured),
    });
    summary.push_str(&trend_words(trend, shares, half_changes, "changes"));
    if let Some(n) = &next {
        summary.push_str(&runner_up_words(top.name, top.share_ci, n.stage, n.share));
    }
    Some(Bottleneck {
        stage: top.name,
        share,
        share_ci: top.share_ci,
        too_few_to_call,
        evidence: Evidence {
            median_seconds: top.median_seconds,
            p85_seconds: top.p85_seconds,
            changes: top.changes,
            first_half_share: shares[0],
            second_half_share: shares[1],
            half_changes,
            trend,
            summary,
        },
        next,
    })
}

/// The notices of figures shown without a level or a verdict because their
/// sample is too small: one notice, `too_few_to_rate`, naming each.
pub(crate) fn sample_notices(dora: &Dora, bottleneck: Option<&Bottleneck>) -> Vec<Notice> {
    let mut unrated = Vec::new();
    let d = &dora.deployment_frequency;
    if d.too_few_to_rate {
        unrated.push(format!(
            "deployment frequency (the window has {}, a level needs {})",
            plural(d.weeks, "whole week", "whole weeks"),
            minimum::FREQUENCY_WEEKS
        ));
    }
    if dora.lead_time.too_few_to_rate {
        unrated.push(format!(
            "lead time ({}, a level needs {})",
            plural(dora.lead_time.changes, "change", "changes"),
            minimum::MEDIAN_VALUES
        ));
    }
    let c = &dora.change_failure_rate;
    if c.too_few_to_rate {
        unrated.push(format!(
            "change failure rate ({}, a level needs {})",
            plural(c.deployments, "deployment attempt", "deployment attempts"),
            minimum::FAILURE_RATE_ATTEMPTS
        ));
    }
    let r = &dora.recovery_time;
    if r.too_few_to_rate {
        unrated.push(format!(
            "recovery time ({}, a level needs {})",
            plural(r.recoveries, "recovery", "recoveries"),
            minimum::MEDIAN_VALUES
        ));
    }
    let mut notices = Vec::new();
    if !unrated.is_empty() {
        notices.push(Notice {
            code: "too_few_to_rate",
            message: format!(
                "too few to rate, shown without a level: {}",
                unrated.join("; ")
            ),
        });
    }
    if let Some(b) = bottleneck.filter(|b| b.too_few_to_call) {
        notices.push(Notice {
            code: "too_few_for_bottleneck",
            message: format!(
                "{} is the largest stage, but too few changes were measured to call it the bottleneck (at least {} needed)",
                b.stage,
                minimum::BOTTLENECK_ITEMS
            ),
        });
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_needs_five_items_in_each_half_and_a_five_point_move() {
        let check = |shares: [Option<f64>; 2], items: [usize; 2], expected: Option<&str>| {
            assert_eq!(trend(shares, items), expected, "{shares:?} {items:?}");
        };
        check([Some(0.45), Some(0.54)], [2, 2], None);
        check([Some(0.45), Some(0.54)], [5, 4], None);
        check([Some(0.45), Some(0.54)], [5, 5], Some("rising"));
        check([Some(0.54), Some(0.45)], [9, 30], Some("falling"));
        check([Some(0.50), Some(0.55)], [9, 30], Some("steady"));
        check([None, Some(0.55)], [0, 30], None);
    }

    fn stage(name: &'static str, values: Vec<i64>) -> (&'static str, Vec<i64>) {
        (name, values)
    }

    /// (coding values, deploy values, changes per half) → (stage,
    /// too_few_to_call, trend, runner-up within the interval).
    #[test]
    fn a_bottleneck_needs_ten_changes_and_names_a_close_runner_up() {
        let check = |coding: Vec<i64>,
                     deploy: Vec<i64>,
                     half_changes: [usize; 2],
                     expected: (&str, bool, Option<&str>, bool)| {
            let stages = build_stages(&[stage("coding", coding), stage("deploy", deploy)]);
            let total = |i: usize| stages[i].total_seconds as i64;
            // Half the time of each stage in each half.
            let halves = [
                vec![total(0) / 2, total(1) / 2],
                vec![total(0) / 2, total(1) / 2],
            ];
            let b = bottleneck(&stages, &halves, half_changes).expect("a bottleneck");
            let next_within = b.next.as_ref().is_some_and(|n| n.within_interval);
            assert_eq!(
                (b.stage, b.too_few_to_call, b.evidence.trend, next_within),
                expected,
                "{}",
                b.evidence.summary
            );
        };
        // Four changes: the largest stage, not a bottleneck, and no trend.
        check(
            vec![10, 10, 10, 10],
            vec![30, 30, 30, 30],
            [2, 2],
            ("deploy", true, None, false),
        );
        // Ten changes, steady, the runner-up far below.
        check(
            vec![10; 10],
            vec![100; 10],
            [5, 5],
            ("deploy", false, Some("steady"), false),
        );
        // Ten changes of wildly varying length: coding's 45% is inside
        // deploy's interval.
        check(
            vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 4491],
            vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 5491],
            [5, 5],
            ("deploy", false, Some("steady"), true),
        );
    }
}
