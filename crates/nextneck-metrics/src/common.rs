//! Pieces every report shares, so that the git report and the delivery
//! events report apply one definition: the window, deployment frequency's
//! days per week, the stages' figures and the bottleneck with its evidence
//! (`docs/metrics.md`).

use nextneck_model::Timestamp;

use crate::git::{DEFAULT_WINDOW_DAYS, ReportError, WindowSpec};
use crate::report::{Bottleneck, Evidence, RunnerUp, Stage};
use crate::stats::Summary;
use crate::time::{self, DAY, WEEK};

/// The window `[since, until)` and how it was selected, from the spec and
/// the oldest and newest event times (see "The window" in
/// `docs/metrics.md`).
pub(crate) fn resolve_window(
    spec: WindowSpec,
    oldest: Timestamp,
    newest: Timestamp,
) -> Result<(Timestamp, Timestamp, &'static str), ReportError> {
    let end_of_newest_day = time::day_floor(newest) + DAY;
    let (since, until, selection) = match spec {
        WindowSpec::Default => (
            end_of_newest_day - DEFAULT_WINDOW_DAYS * DAY,
            end_of_newest_day,
            "default",
        ),
        WindowSpec::All => (time::day_floor(oldest), end_of_newest_day, "all"),
        WindowSpec::Range { since, until } => {
            let until = until.unwrap_or(end_of_newest_day);
            let since = since.unwrap_or(until - DEFAULT_WINDOW_DAYS * DAY);
            (since, until, "explicit")
        }
    };
    if since >= until {
        return Err(ReportError::EmptyWindow {
            since: time::rfc3339(since),
            until: time::rfc3339(until),
        });
    }
    Ok((since, until, selection))
}

/// `1 change`, `2 changes`: the count and the word that agrees with it.
pub(crate) fn plural(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

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

/// The stages' figures; each stage's share is of the sum over all stages.
pub(crate) fn build_stages(stages: &[(&'static str, Vec<i64>)]) -> Vec<Stage> {
    let grand: i64 = stages.iter().flat_map(|(_, v)| v.iter()).sum();
    stages
        .iter()
        .map(|(name, values)| {
            let s = Summary::of_seconds(values);
            Stage {
                name,
                median_seconds: s.median,
                p85_seconds: s.p85,
                total_seconds: s.total,
                share: (grand > 0).then(|| s.total / grand as f64),
                changes: s.count,
            }
        })
        .collect()
}

/// The stage with the largest share, with its evidence and the runner-up.
/// `halves[h][i]` is stage `i`'s total seconds in half `h` of the window.
pub(crate) fn bottleneck(stages: &[Stage], halves: &[Vec<i64>; 2]) -> Option<Bottleneck> {
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
    let half_share = |h: &Vec<i64>| {
        let sum: i64 = h.iter().sum();
        (sum > 0).then(|| h.get(index).copied().unwrap_or(0) as f64 / sum as f64)
    };
    let first = half_share(&halves[0]);
    let second = half_share(&halves[1]);
    let trend = match (first, second) {
        (Some(a), Some(b)) if b - a > 0.05 => Some("rising"),
        (Some(a), Some(b)) if a - b > 0.05 => Some("falling"),
        (Some(_), Some(_)) => Some("steady"),
        _ => None,
    };
    let next = ranked.get(1).map(|(_, s)| RunnerUp {
        stage: s.name,
        share: s.share.unwrap_or(0.0),
        median_seconds: s.median_seconds,
    });
    let mut summary = format!(
        "{} holds {:.0}% of change time (median {}, p85 {}, {})",
        top.name,
        share * 100.0,
        top.median_seconds.map_or("n/a".to_owned(), time::human),
        top.p85_seconds.map_or("n/a".to_owned(), time::human),
        plural(top.changes, "change", "changes")
    );
    if let (Some(t), Some(a), Some(b)) = (trend, first, second) {
        summary.push_str(&format!(
            "; {t} ({:.0}% in the window's first half, {:.0}% in the second)",
            a * 100.0,
            b * 100.0
        ));
    }
    if let Some(n) = &next {
        summary.push_str(&format!("; next: {} at {:.0}%", n.stage, n.share * 100.0));
    }
    Some(Bottleneck {
        stage: top.name,
        share,
        evidence: Evidence {
            median_seconds: top.median_seconds,
            p85_seconds: top.p85_seconds,
            changes: top.changes,
            first_half_share: first,
            second_half_share: second,
            trend,
            summary,
        },
        next,
    })
}
