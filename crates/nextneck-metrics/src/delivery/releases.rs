//! Releases as deployments (`docs/metrics.md`, "Releases as deployments"):
//! a release's observations are merged into the production deployment it
//! would be (successful at its publication, of its tag's commit), and
//! `deployments_from` decides which of them count: none, all, or (`auto`,
//! the default) those of a repository or service with no production
//! deployment event at all. Drafts and deleted releases never count,
//! pre-releases only when `prereleases` is on.

use std::collections::BTreeSet;

use nextneck_model::events::{EventBody, Release};

use super::clone::CloneGraph;
use super::merge::{Listed, MDeployment, Merged, Outcome, deliveries, earliest, latest};
use super::names::Names;
use super::{DeliverySettings, DeploymentSources, TracedEvent};
use crate::report::ReleasesSeen;

/// A release, as the deployment it would be, and why it cannot be one.
#[derive(Clone, Debug)]
pub(super) struct MRelease {
    /// The deployment it would be; its `production` says it is a release.
    pub(super) deployment: MDeployment,
    /// The tag's name.
    pub(super) tag: String,
    /// A pre-release (GitHub `prerelease`, GitLab `upcoming_release`).
    pub(super) prerelease: bool,
    /// Why it never counts (a draft, deleted, never published).
    pub(super) excluded: Option<&'static str>,
}

/// Webhook actions after which a release is gone.
const GONE: [&str; 3] = ["deleted", "unpublished", "delete"];

/// Merges a release's observations: the latest non-null values, the
/// earliest publication, drafts and deletions by the latest observation.
pub(super) fn merge_release(obs: &[&TracedEvent<'_>], names: &Names<'_>) -> Option<MRelease> {
    let rs: Vec<&Release> = obs
        .iter()
        .filter_map(|o| match &o.event.body {
            EventBody::Release(r) => Some(r),
            _ => None,
        })
        .collect();
    let last = rs.last()?;
    let repository = latest(rs.iter().map(|r| r.repository.clone()));
    let target_ref = latest(rs.iter().map(|r| r.target.clone()));
    let published = earliest(rs.iter().map(|r| r.published_at));
    let excluded = if last.action.as_deref().is_some_and(|a| GONE.contains(&a)) {
        Some("deleted")
    } else if last.draft {
        Some("a draft")
    } else if published.is_none() {
        Some("not published")
    } else {
        None
    };
    let service = repository
        .as_deref()
        .and_then(|r| names.service_of_repository(r));
    let sha = target_ref.clone().filter(|t| is_commit(t));
    let link_note = match (&sha, &target_ref) {
        (None, Some(branch)) => Some(format!(
            "release `{}` targets branch `{branch}`, not a commit: linked by time",
            last.tag
        )),
        _ => None,
    };
    let deployment = MDeployment {
        source: obs[0].event.source.clone(),
        id: last.id.clone(),
        deliveries: deliveries(obs),
        target: service.clone().or_else(|| repository.clone()),
        repository,
        service,
        environment: None,
        sha,
        production: None,
        outcome: published.map_or(Outcome::Other, Outcome::Success),
        link_note,
        listed: Listed::default(),
    };
    Some(MRelease {
        deployment,
        tag: last.tag.clone(),
        prerelease: last.prerelease,
        excluded,
    })
}

/// Whether a release's target is a commit id (7 to 40 hex digits), not a
/// branch name such as `main`.
fn is_commit(target: &str) -> bool {
    (7..=40).contains(&target.len()) && target.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Moves the releases that count into the deployments (and, for
/// `releases`, drops the deployment events), by `deployments_from`; with a
/// clone, a release whose target is a branch takes its tag's commit.
pub(super) fn admit(
    merged: &mut Merged,
    settings: &DeliverySettings,
    clone: Option<&CloneGraph<'_>>,
) -> ReleasesSeen {
    let rule = settings.deployments_from;
    let deployed = deployed_targets(&merged.deployments);
    if rule == DeploymentSources::Releases {
        merged.deployments.clear();
    }
    let releases = std::mem::take(&mut merged.releases);
    let total = releases.len();
    let mut counted = 0;
    for r in releases {
        if let Some(why) = counts(&r, rule, settings.prereleases, &deployed) {
            merged.deployments.push(as_deployment(r, why, clone));
            counted += 1;
        }
    }
    ReleasesSeen {
        deployments_from: rule.as_str(),
        prereleases: settings.prereleases,
        counted,
        not_counted: total - counted,
    }
}

/// The targets (lower case) with a production deployment event.
fn deployed_targets(deployments: &[MDeployment]) -> BTreeSet<String> {
    deployments
        .iter()
        .filter(|d| d.production.is_some())
        .filter_map(|d| d.target.as_ref().map(|t| t.to_lowercase()))
        .collect()
}

/// Why a release counts as a production deployment; `None` when it does
/// not.
fn counts(
    r: &MRelease,
    rule: DeploymentSources,
    prereleases: bool,
    deployed: &BTreeSet<String>,
) -> Option<String> {
    if r.excluded.is_some() || (r.prerelease && !prereleases) {
        return None;
    }
    let of = r.deployment.repository.as_deref().unwrap_or("?");
    match rule {
        DeploymentSources::Deployments => None,
        DeploymentSources::Releases | DeploymentSources::Both => Some(format!(
            "release `{}` of `{of}` (deployments_from {})",
            r.tag,
            rule.as_str()
        )),
        DeploymentSources::Auto => {
            let target = r.deployment.target.as_ref()?;
            (!deployed.contains(&target.to_lowercase())).then(|| {
                format!(
                    "release `{}` of `{of}` (deployments_from auto: `{target}` has no production deployment events)",
                    r.tag
                )
            })
        }
    }
}

/// The release as a production deployment, `why` it is one; a branch
/// target gives way to the tag's commit in the clone.
fn as_deployment(r: MRelease, why: String, clone: Option<&CloneGraph<'_>>) -> MDeployment {
    let mut d = r.deployment;
    d.production = Some(why);
    if d.sha.is_none()
        && let Some(sha) = clone.and_then(|c| c.tag_commit(&r.tag))
    {
        d.sha = Some(sha);
        d.link_note = None;
    }
    d
}
