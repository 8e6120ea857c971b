//! `--series`: the window's deployments and counted changes one by one,
//! and the DORA figures of each half of the window.

use super::Span;
use super::things::{DeploymentIx, Things};
use crate::common::lead_time_histogram;
use crate::dora::{HalfDeployment, halves};
use crate::report::{Series, SeriesChange, SeriesDeployment};

/// The series of the window's `deployments` and counted `changes`.
pub(super) fn of(
    things: &Things,
    deployments: &[DeploymentIx],
    changes: &[SeriesChange],
    span: &Span,
) -> Series {
    let half_deployments: Vec<HalfDeployment> = deployments
        .iter()
        .map(|&d| HalfDeployment {
            time: things[d].seen.time().unwrap_or(span.since),
            succeeded: things[d].seen.success().is_some(),
            failed: !things[d].failed.is_empty(),
            recovery_seconds: things[d].recovery.as_ref().map(|r| r.seconds),
        })
        .collect();
    Series {
        deployments: deployments
            .iter()
            .map(|&d| SeriesDeployment {
                time: things[d].seen.time().unwrap_or(span.since),
                name: things[d].seen.name(),
                failed: !things[d].failed.is_empty(),
                baseline: things[d].baseline,
                changes: things[d]
                    .shipped
                    .iter()
                    .filter(|&&c| things[c].selected)
                    .count(),
            })
            .collect(),
        lead_time_histogram: lead_time_histogram(changes),
        changes: changes.to_vec(),
        halves: halves(
            &half_deployments,
            changes,
            things.recognised(),
            span.since,
            span.until,
        ),
    }
}
