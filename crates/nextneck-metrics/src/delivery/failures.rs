//! Failures and recovery: a production deployment failed when its status
//! says so, or when an incident is linked to it; it recovered at the next
//! successful deployment of its target (a failed status), or when the last
//! of its incidents was resolved.

use super::merge::{MIncident, Outcome};
use super::things::{DeploymentIx, Recovery, Things};

/// Fills each deployment's failures and recovery.
pub(super) fn assess(things: &mut Things) {
    let assessed: Vec<(Vec<String>, Option<Recovery>)> = things
        .deployment_ixs()
        .map(|d| (failures(things, d), recovery(things, d)))
        .collect();
    for (dep, (failed, recovery)) in things.deployments.iter_mut().zip(assessed) {
        dep.failed = failed;
        dep.recovery = recovery;
    }
}

/// Why a deployment failed: its status, else each incident linked to it.
fn failures(things: &Things, d: DeploymentIx) -> Vec<String> {
    match things[d].seen.outcome {
        Outcome::Failed(_, status) => vec![format!("deployment status `{status}`")],
        _ => things[d]
            .incidents
            .iter()
            .map(|&i| format!("incident {}", things[i].seen.name()))
            .collect(),
    }
}

/// A failed deployment's recovery: the next successful deployment of its
/// target at or after the failure; for a success with incidents, the
/// resolution of the last of them (none while any is unresolved).
fn recovery(things: &Things, d: DeploymentIx) -> Option<Recovery> {
    let dep = &things[d];
    match dep.seen.outcome {
        Outcome::Failed(t, _) => {
            let target = dep.seen.target.as_deref()?.to_lowercase();
            let next = things
                .by_target
                .get(&target)?
                .iter()
                .map(|&n| &things[n].seen)
                .find(|n| n.success().is_some_and(|s| s >= t))?;
            Some(Recovery {
                seconds: next.success()? - t,
                by: format!("the next successful deployment {}", next.name()),
            })
        }
        Outcome::Success(t) if !dep.incidents.is_empty() => {
            let mut last: Option<(i64, &MIncident)> = None;
            for &i in &dep.incidents {
                let r = things[i].seen.resolved_at?;
                if last.is_none_or(|(l, _)| r > l) {
                    last = Some((r, &things[i].seen));
                }
            }
            let (r, inc) = last?;
            (r >= t).then(|| Recovery {
                seconds: r - t,
                by: format!("the resolution of incident {}", inc.name()),
            })
        }
        _ => None,
    }
}
