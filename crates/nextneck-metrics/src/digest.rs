//! The digest: what changed between two reports over periods of the same
//! length (this week and the week before, by default), for one message in a
//! team's chat. Pure comparison of reports already computed: the bottleneck
//! now and before, the DORA figures and stage medians that moved and in
//! which direction, the incidents still waiting for a postmortem, and the
//! value stream whose bottleneck grew most. Definitions in
//! `docs/metrics.md`, "The digest".

use nextneck_model::Timestamp;
use serde::Serialize;

use crate::flow::FlowReport;
use crate::report::{IncidentRef, Report, SCHEMA_VERSION};
use crate::time::serde_rfc3339;

/// Measurements each period needs before a direction is called: the two
/// periods are compared as a trend compares a window's two halves, so the
/// rule is the trend's ([`crate::tiers::minimum::TREND_ITEMS_PER_HALF`]).
pub const MIN_SAMPLE: usize = crate::tiers::minimum::TREND_ITEMS_PER_HALF;
/// A duration or rate that moved less than this fraction of its former
/// value is steady.
pub const STEADY_RELATIVE: f64 = 0.10;
/// A ratio (change failure rate, rework rate, bottleneck share) that moved
/// less than this many points is steady.
pub const STEADY_POINTS: f64 = 0.05;

/// The digest of one period against the one before it.
#[derive(Clone, Debug, Serialize)]
pub struct Digest {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `digest`.
    pub kind: &'static str,
    /// The reports' source kind (`git`, `events`, `events+git`).
    pub source: &'static str,
    /// The repository path or store the reports read.
    pub from: String,
    /// The period.
    pub period: Period,
    /// The period of the same length before it.
    pub previous: Period,
    /// The bottleneck now and before.
    pub bottleneck: BottleneckMove,
    /// DORA figures, then stage medians, in report order.
    pub moved: Vec<Moved>,
    /// Resolved incidents of both periods without a postmortem, oldest
    /// first; `None` for a git report (no incidents).
    pub waiting_for_postmortem: Option<Vec<IncidentRef>>,
    /// The value stream whose bottleneck's share grew most; `None` when no
    /// stream's did (or no stream was given).
    pub stream: Option<StreamMove>,
    /// Streams compared, to say "none grew" from "none compared".
    pub streams_compared: usize,
}

/// A half-open period.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Period {
    /// Start, inclusive.
    #[serde(with = "serde_rfc3339")]
    pub since: Timestamp,
    /// End, exclusive.
    #[serde(with = "serde_rfc3339")]
    pub until: Timestamp,
    /// Length in days.
    pub days: f64,
}

/// The bottleneck of each period.
#[derive(Clone, Debug, Serialize)]
pub struct BottleneckMove {
    /// This period's.
    pub now: Option<StageShare>,
    /// The previous period's.
    pub before: Option<StageShare>,
    /// `moved` (another stage), `stayed`, or `unknown` (a period has no
    /// bottleneck or too few changes to call one).
    pub verdict: &'static str,
}

/// A stage and its share of change time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageShare {
    /// The stage.
    pub stage: String,
    /// Its share.
    pub share: f64,
    /// Changes measured in it.
    pub changes: usize,
}

/// A figure in both periods.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Moved {
    /// `deployment_frequency`, `lead_time`, `change_failure_rate`,
    /// `recovery_time`, `rework_rate`, or `stage:NAME` (its median).
    pub figure: String,
    /// `per_week`, `seconds` or `ratio`.
    pub unit: &'static str,
    /// This period's value.
    pub now: Option<f64>,
    /// The previous period's.
    pub before: Option<f64>,
    /// now − before.
    pub change: Option<f64>,
    /// `better`, `worse`, `steady`, or `unknown` (a value is missing or a
    /// period has fewer than [`MIN_SAMPLE`] measurements).
    pub direction: &'static str,
    /// Measurements behind it: this period's, then the previous one's.
    pub samples: [usize; 2],
}

/// The stream whose bottleneck grew most.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamMove {
    /// The stream.
    pub stream: String,
    /// Its bottleneck now.
    pub stage: String,
    /// That stage's share now.
    pub share_now: f64,
    /// That stage's share in the previous period.
    pub share_before: f64,
    /// share_now − share_before.
    pub growth: f64,
}

/// A value stream's flow report in both periods.
#[derive(Clone, Copy, Debug)]
pub struct StreamPair<'a> {
    /// This period's.
    pub now: &'a FlowReport,
    /// The previous period's.
    pub before: &'a FlowReport,
}

/// Compares `now` with `before` (the same source over the period before)
/// and the streams' two periods.
pub fn digest(now: &Report, before: &Report, streams: &[StreamPair<'_>]) -> Digest {
    let from = match &now.source.db {
        Some(db) if now.source.path.is_empty() => db.clone(),
        Some(db) => format!("{db} with {}", now.source.path),
        None => now.source.path.clone(),
    };
    Digest {
        schema_version: SCHEMA_VERSION,
        kind: "digest",
        source: now.source.kind,
        from,
        period: period(now),
        previous: period(before),
        bottleneck: bottleneck_move(now, before),
        moved: moved(now, before),
        waiting_for_postmortem: waiting(now, before),
        stream: grown_most(streams),
        streams_compared: streams.len(),
    }
}

fn period(r: &Report) -> Period {
    Period {
        since: r.window.since,
        until: r.window.until,
        days: r.window.days,
    }
}

fn stage_share(r: &Report) -> Option<StageShare> {
    r.bottleneck.as_ref().map(|b| StageShare {
        stage: b.stage.to_owned(),
        share: b.share,
        changes: b.evidence.changes,
    })
}

fn bottleneck_move(now: &Report, before: &Report) -> BottleneckMove {
    let (n, b) = (stage_share(now), stage_share(before));
    let verdict = match (&n, &b) {
        (Some(n), Some(b)) if n.changes >= MIN_SAMPLE && b.changes >= MIN_SAMPLE => {
            if n.stage == b.stage {
                "stayed"
            } else {
                "moved"
            }
        }
        _ => "unknown",
    };
    BottleneckMove {
        now: n,
        before: b,
        verdict,
    }
}

/// Which way is better.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

fn figure(
    name: String,
    unit: &'static str,
    values: [Option<f64>; 2],
    samples: [usize; 2],
    better: Better,
) -> Moved {
    let [now, before] = values;
    let change = now.zip(before).map(|(n, b)| n - b);
    let direction = match (now, before, change) {
        (Some(_), Some(b), Some(c)) if samples.iter().all(|s| *s >= MIN_SAMPLE) => {
            let steady = if unit == "ratio" {
                c.abs() < STEADY_POINTS
            } else {
                b == 0.0 && c == 0.0 || b != 0.0 && (c / b).abs() < STEADY_RELATIVE
            };
            match (steady, better, c > 0.0) {
                (true, _, _) => "steady",
                (false, Better::Higher, true) | (false, Better::Lower, false) => "better",
                (false, _, _) => "worse",
            }
        }
        _ => "unknown",
    };
    Moved {
        figure: name,
        unit,
        now,
        before,
        change,
        direction,
        samples,
    }
}

fn moved(now: &Report, before: &Report) -> Vec<Moved> {
    let (n, b) = (&now.dora, &before.dora);
    let mut out = vec![
        figure(
            "deployment_frequency".into(),
            "per_week",
            [
                n.deployment_frequency.per_week,
                b.deployment_frequency.per_week,
            ],
            [n.deployments.count, b.deployments.count],
            Better::Higher,
        ),
        figure(
            "lead_time".into(),
            "seconds",
            [n.lead_time.median_seconds, b.lead_time.median_seconds],
            [n.lead_time.changes, b.lead_time.changes],
            Better::Lower,
        ),
        figure(
            "change_failure_rate".into(),
            "ratio",
            [n.change_failure_rate.ratio, b.change_failure_rate.ratio],
            [
                n.change_failure_rate.deployments,
                b.change_failure_rate.deployments,
            ],
            Better::Lower,
        ),
        figure(
            "recovery_time".into(),
            "seconds",
            [
                n.recovery_time.median_seconds,
                b.recovery_time.median_seconds,
            ],
            [n.recovery_time.recoveries, b.recovery_time.recoveries],
            Better::Lower,
        ),
        figure(
            "rework_rate".into(),
            "ratio",
            [n.rework_rate.ratio, b.rework_rate.ratio],
            [n.rework_rate.deployments, b.rework_rate.deployments],
            Better::Lower,
        ),
    ];
    for stage in &now.stages {
        let earlier = before.stages.iter().find(|s| s.name == stage.name);
        out.push(figure(
            format!("stage:{}", stage.name),
            "seconds",
            [stage.median_seconds, earlier.and_then(|s| s.median_seconds)],
            [stage.changes, earlier.map_or(0, |s| s.changes)],
            Better::Lower,
        ));
    }
    out
}

fn waiting(now: &Report, before: &Report) -> Option<Vec<IncidentRef>> {
    if now.incidents.is_none() && before.incidents.is_none() {
        return None;
    }
    let mut all: Vec<IncidentRef> = Vec::new();
    for r in [before, now] {
        for i in r.incidents.iter().flat_map(|i| &i.without_postmortem) {
            if !all.iter().any(|a| a.source == i.source && a.id == i.id) {
                all.push(i.clone());
            }
        }
    }
    all.sort_by_key(|i| (i.resolved_at, i.opened_at));
    Some(all)
}

/// The stream whose current bottleneck stage holds a larger share than the
/// same stage did before, by the most points, among streams with at least
/// [`MIN_SAMPLE`] stays in that stage in both periods.
fn grown_most(streams: &[StreamPair<'_>]) -> Option<StreamMove> {
    streams
        .iter()
        .filter_map(|p| {
            let b = p.now.bottleneck.as_ref()?;
            let earlier = p.before.stages.iter().find(|s| s.name == b.stage)?;
            let share_before = earlier.share?;
            let enough = b.evidence.count >= MIN_SAMPLE && earlier.count >= MIN_SAMPLE;
            let growth = b.share - share_before;
            (enough && growth >= STEADY_POINTS).then(|| StreamMove {
                stream: p.now.source.stream.clone(),
                stage: b.stage.clone(),
                share_now: b.share,
                share_before,
                growth,
            })
        })
        .max_by(|a, b| {
            a.growth
                .total_cmp(&b.growth)
                .then_with(|| b.stream.cmp(&a.stream))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: [Option<f64>; 2], samples: [usize; 2], unit: &'static str, want: &str) {
        let m = figure("x".into(), unit, values, samples, Better::Lower);
        assert_eq!(m.direction, want, "{values:?} {samples:?} {unit}");
    }

    #[test]
    fn directions_need_samples_and_a_real_move() {
        let s = [5, 5];
        check([Some(80.0), Some(100.0)], s, "seconds", "better");
        check([Some(120.0), Some(100.0)], s, "seconds", "worse");
        check([Some(91.0), Some(100.0)], s, "seconds", "steady");
        check([Some(0.0), Some(0.0)], s, "seconds", "steady");
        check([Some(5.0), Some(0.0)], s, "seconds", "worse");
        check([Some(80.0), Some(100.0)], [4, 5], "seconds", "unknown");
        check([Some(80.0), Some(100.0)], [5, 0], "seconds", "unknown");
        check([None, Some(100.0)], s, "seconds", "unknown");
        check([Some(0.30), Some(0.20)], s, "ratio", "worse");
        check([Some(0.24), Some(0.20)], s, "ratio", "steady");
        check([Some(0.10), Some(0.20)], s, "ratio", "better");
        let higher = figure(
            "f".into(),
            "per_week",
            [Some(3.0), Some(2.0)],
            s,
            Better::Higher,
        );
        assert_eq!((higher.direction, higher.change), ("better", Some(1.0)));
    }
}
