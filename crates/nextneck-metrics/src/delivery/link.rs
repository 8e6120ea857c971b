//! Linking, by explicit named rules, each kept for `--explain` with the
//! reason a link failed: a merged change to the production deployment
//! that shipped it, an incident to the deployment it is about, a
//! postmortem to its incident (`docs/metrics.md`, "Live delivery events").

use std::collections::{BTreeMap, HashMap};

use nextneck_model::{CommitIdx, Timestamp};
use regex::Regex;

use super::clone::CloneGraph;
use super::merge::{MChange, MDeployment, MIncident, MPostmortem};
use super::things::{DeploymentIx, PostmortemIx};
use super::{ChangeLinking, IncidentLinking};
use crate::report::{Link, UnlinkedThing};
use crate::time;

// ---------------------------------------------------------------------------
// References written in text.

/// Full commit SHAs (40 hex digits) written in a text.
pub(super) fn shas_in(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)\b[0-9a-f]{40}\b").expect("a literal pattern compiles")
    });
    RE.find_iter(text)
        .map(|m| m.as_str().to_lowercase())
        .collect()
}

/// Deployment ids written as `deployment 123`, `deployment #123` or
/// `deployment: d-41` in a text.
pub(super) fn deployment_ids_in(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?i)\bdeployment\s*[:#]?\s*#?([A-Za-z0-9][A-Za-z0-9._-]*)")
            .expect("a literal pattern compiles")
    });
    RE.captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().trim_end_matches(['.', '-', '_']).to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `text` holds `token` with no letter, digit, `-` or `_` right
/// before or after it.
pub(super) fn mentions(text: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut start = 0;
    while let Some(pos) = text[start..].find(token) {
        let at = start + pos;
        let end = at + token.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(word) && !after.is_some_and(word) {
            return true;
        }
        start = at + token.len().max(1);
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

/// Whether two commit ids name the same commit: one is a prefix of the
/// other, ignoring case, and the shorter has at least 7 hex digits (GitLab
/// sends 8-digit short SHAs; people write 7 to 12).
fn same_commit(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.len() >= 7
        && short.bytes().all(|c| c.is_ascii_hexdigit())
        && long.starts_with(short.as_str())
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

// ---------------------------------------------------------------------------
// Changes to deployments.

/// A change's link to the deployment that shipped it.
#[derive(Clone, Debug)]
pub(super) struct ChangeLink {
    pub(super) deployment: DeploymentIx,
    pub(super) link: Link,
}

/// The deployment that shipped a merged change, and why; or why none.
/// `listing` holds the successful production deployments that list what
/// they shipped, `by_target` those of each target (lower case), both in
/// time order.
pub(super) fn link_change(
    c: &MChange,
    prod: &[MDeployment],
    listing: &[DeploymentIx],
    by_target: &BTreeMap<String, Vec<DeploymentIx>>,
    clone: Option<&mut CloneGraph<'_>>,
    rule: ChangeLinking,
) -> Result<ChangeLink, String> {
    if !c.is_merged {
        return Err("not merged".to_owned());
    }
    if let Some(link) = listed_by_deployment(c, prod, listing) {
        return Ok(link);
    }
    let Some(target) = &c.target else {
        return Err(
            "it names no repository, so no deployment can be of the same service".to_owned(),
        );
    };
    let candidates: &[DeploymentIx] = by_target
        .get(&target.to_lowercase())
        .map_or(&[], |v| v.as_slice());
    if candidates.is_empty() {
        return Err(format!(
            "no successful production deployment of `{target}` (map its repository to the deployments' service in [services])"
        ));
    }
    if rule != ChangeLinking::AfterMerge
        && let Some(decided) = by_commit_range(c, target, prod, candidates, clone, rule)
    {
        return decided;
    }
    after_merge(c, target, prod, candidates)
}

/// The successful production deployments that list what they shipped
/// (commits or changes), in time order.
pub(super) fn listing(prod: &[MDeployment]) -> Vec<DeploymentIx> {
    (0..prod.len())
        .filter(|&d| prod[d].success().is_some() && !prod[d].listed.is_empty())
        .map(DeploymentIx)
        .collect()
}

/// Listed by a deployment: the first (in time order) successful
/// production deployment that lists the change's id, its merge commit or
/// one of its commits, whatever its target.
fn listed_by_deployment(
    c: &MChange,
    prod: &[MDeployment],
    listing: &[DeploymentIx],
) -> Option<ChangeLink> {
    listing.iter().find_map(|&d| {
        let what = what_it_lists(c, &prod[d.0])?;
        Some(ChangeLink {
            deployment: d,
            link: Link {
                rule: "listed_by_deployment",
                reason: format!("deployment {} lists {what}", prod[d.0].id),
            },
        })
    })
}

/// What of the change a deployment lists, in words: `it` (its id), `its
/// merge commit abc`, `its commit abc`; `None` when it lists nothing of it.
fn what_it_lists(c: &MChange, d: &MDeployment) -> Option<String> {
    if d.listed.changes.contains(&c.id) {
        return Some("it".to_owned());
    }
    let listed = |sha: &str| d.listed.commits.iter().any(|l| same_commit(l, sha));
    if let Some(merge) = c.merge_sha.as_deref().filter(|m| listed(m)) {
        return Some(format!("its merge commit {}", short(merge)));
    }
    c.commits
        .keys()
        .find(|sha| listed(sha))
        .map(|sha| format!("its commit {}", short(sha)))
}

/// By commit range: the first deployment (in time order) whose commit
/// contains the merge commit, when the clone holds both. `None` when the
/// rule falls back to the merge time.
fn by_commit_range(
    c: &MChange,
    target: &str,
    prod: &[MDeployment],
    candidates: &[DeploymentIx],
    clone: Option<&mut CloneGraph<'_>>,
    rule: ChangeLinking,
) -> Option<Result<ChangeLink, String>> {
    let Some(clone) = clone else {
        return (rule == ChangeLinking::CommitRange)
            .then(|| Err("linking by commit range needs a clone (PATH)".to_owned()));
    };
    let merge = c.merge_sha.as_deref().and_then(|s| clone.find(s));
    let in_clone: Vec<(DeploymentIx, CommitIdx)> = candidates
        .iter()
        .filter_map(|&d| {
            prod[d.0]
                .sha
                .as_deref()
                .and_then(|s| clone.find(s))
                .map(|x| (d, x))
        })
        .collect();
    let merge_sha = short(c.merge_sha.as_deref().unwrap_or(""));
    match merge {
        Some(m) if !in_clone.is_empty() => Some(
            in_clone
                .into_iter()
                .find(|&(_, x)| clone.contains(x, m))
                .map(|(d, _)| ChangeLink {
                    deployment: d,
                    link: Link {
                        rule: "commit_range",
                        reason: format!(
                            "deployed commit {} contains merge commit {merge_sha}",
                            short(prod[d.0].sha.as_deref().unwrap_or(""))
                        ),
                    },
                })
                .ok_or_else(|| {
                    format!(
                        "no successful production deployment of `{target}` contains merge commit {merge_sha} yet"
                    )
                }),
        ),
        _ if rule == ChangeLinking::CommitRange => Some(Err(match merge {
            None => "its merge commit is not in the clone".to_owned(),
            Some(_) => format!("no deployed commit of `{target}` is in the clone"),
        })),
        _ => None,
    }
}

/// The first successful production deployment of the target at or after
/// the merge.
fn after_merge(
    c: &MChange,
    target: &str,
    prod: &[MDeployment],
    candidates: &[DeploymentIx],
) -> Result<ChangeLink, String> {
    let Some(merged) = c.merged else {
        return Err("merged, but the merge time is unknown".to_owned());
    };
    candidates
        .iter()
        .copied()
        .find(|&d| prod[d.0].success().is_some_and(|t| t >= merged))
        .map(|d| ChangeLink {
            deployment: d,
            link: Link {
                rule: "first_deployment_after_merge",
                reason: format!(
                    "the first successful production deployment of `{target}` at or after the merge at {}{}",
                    time::rfc3339(merged),
                    prod[d.0]
                        .link_note
                        .as_deref()
                        .map_or_else(String::new, |n| format!(" ({n})"))
                ),
            },
        })
        .ok_or_else(|| {
            format!(
                "no successful production deployment of `{target}` at or after the merge at {}",
                time::rfc3339(merged)
            )
        })
}

// ---------------------------------------------------------------------------
// Incidents to deployments.

/// An incident's link to the deployment it is about.
#[derive(Clone, Debug)]
pub(super) struct IncidentLink {
    pub(super) deployment: DeploymentIx,
    pub(super) link: Link,
}

/// The successful production deployments of each service (its name in
/// ASCII lower case, as services compare), in `(time, index)` order: linking
/// an incident by service looks up the latest at or before it opened here
/// instead of scanning every deployment.
pub(super) type ByService = HashMap<String, Vec<(Timestamp, DeploymentIx)>>;

/// [`ByService`] of the production deployments.
pub(super) fn successes_by_service(prod: &[MDeployment]) -> ByService {
    let mut by: ByService = HashMap::new();
    for (d, dep) in prod.iter().enumerate() {
        if let (Some(t), Some(service)) = (dep.success(), &dep.target) {
            by.entry(service.to_ascii_lowercase())
                .or_default()
                .push((t, DeploymentIx(d)));
        }
    }
    for list in by.values_mut() {
        list.sort_unstable();
    }
    by
}

/// The deployment an incident is linked to, and why; or why none: a
/// deployment it names, else a commit it names, else (unless linking by
/// service is off) the latest successful deployment of its service before
/// it opened.
pub(super) fn link_incident(
    inc: &MIncident,
    prod: &[MDeployment],
    by_service: &ByService,
    mut clone: Option<&mut CloneGraph<'_>>,
    rule: IncidentLinking,
) -> Result<IncidentLink, String> {
    if let Some(link) = by_deployment_id(inc, prod) {
        return Ok(link);
    }
    for sha in &inc.shas {
        if let Some(link) = by_sha(inc, sha, prod) {
            return Ok(link);
        }
        if let Some(clone) = clone.as_deref_mut()
            && let Some(link) = by_sha_in_clone(inc, sha, prod, clone)
        {
            return Ok(link);
        }
    }
    let unresolved = unresolved(inc);
    if rule == IncidentLinking::Explicit {
        return Err(format!(
            "{unresolved}no explicit reference links it (linking by service is off)"
        ));
    }
    by_latest_of_service(inc, by_service, &unresolved)
}

fn same_service(inc: &MIncident, d: &MDeployment) -> bool {
    match (&inc.service, &d.target) {
        (Some(s), Some(t)) => s.eq_ignore_ascii_case(t),
        _ => false,
    }
}

/// Among several candidates: those of the incident's service, then the
/// latest at or before it opened, else the earliest.
fn choose(
    inc: &MIncident,
    prod: &[MDeployment],
    mut cands: Vec<DeploymentIx>,
) -> Option<DeploymentIx> {
    if cands.iter().any(|&d| same_service(inc, &prod[d.0])) {
        cands.retain(|&d| same_service(inc, &prod[d.0]));
    }
    let before = cands
        .iter()
        .copied()
        .filter(|&d| {
            inc.opened
                .is_some_and(|o| prod[d.0].time().is_some_and(|t| t <= o))
        })
        .max_by_key(|&d| (prod[d.0].time(), d));
    before.or_else(|| cands.iter().copied().min_by_key(|&d| (prod[d.0].time(), d)))
}

/// The first deployment id the incident names that a production
/// deployment has.
fn by_deployment_id(inc: &MIncident, prod: &[MDeployment]) -> Option<IncidentLink> {
    inc.deployment_ids.iter().find_map(|id| {
        let cands: Vec<DeploymentIx> = (0..prod.len())
            .filter(|&d| prod[d].id == *id)
            .map(DeploymentIx)
            .collect();
        choose(inc, prod, cands).map(|d| IncidentLink {
            deployment: d,
            link: Link {
                rule: "explicit_deployment_id",
                reason: format!("the incident names deployment {id}"),
            },
        })
    })
}

/// A successful deployment of the commit the incident names.
fn by_sha(inc: &MIncident, sha: &str, prod: &[MDeployment]) -> Option<IncidentLink> {
    let sha_l = sha.to_lowercase();
    let cands: Vec<DeploymentIx> = (0..prod.len())
        .filter(|&d| {
            prod[d].success().is_some()
                && prod[d]
                    .sha
                    .as_deref()
                    .is_some_and(|s| same_commit(s, &sha_l))
        })
        .map(DeploymentIx)
        .collect();
    choose(inc, prod, cands).map(|d| IncidentLink {
        deployment: d,
        link: Link {
            rule: "explicit_sha",
            reason: format!(
                "the incident names commit {}, which it deployed",
                short(sha)
            ),
        },
    })
}

/// With a clone: the first successful deployment whose commit contains
/// the commit the incident names (of its service, when any is).
fn by_sha_in_clone(
    inc: &MIncident,
    sha: &str,
    prod: &[MDeployment],
    clone: &mut CloneGraph<'_>,
) -> Option<IncidentLink> {
    let x = clone.find(sha)?;
    let mut cands: Vec<DeploymentIx> = (0..prod.len())
        .filter(|&d| prod[d].success().is_some())
        .filter(|&d| {
            prod[d]
                .sha
                .as_deref()
                .and_then(|s| clone.find(s))
                .is_some_and(|y| clone.contains(y, x))
        })
        .map(DeploymentIx)
        .collect();
    if cands.iter().any(|&d| same_service(inc, &prod[d.0])) {
        cands.retain(|&d| same_service(inc, &prod[d.0]));
    }
    let d = cands.into_iter().min_by_key(|&d| (prod[d.0].time(), d))?;
    Some(IncidentLink {
        deployment: d,
        link: Link {
            rule: "explicit_sha",
            reason: format!(
                "the incident names commit {}, first deployed by commit {}",
                short(sha),
                short(prod[d.0].sha.as_deref().unwrap_or(""))
            ),
        },
    })
}

/// What the incident names that matched nothing, as the start of a reason.
fn unresolved(inc: &MIncident) -> String {
    if inc.deployment_ids.is_empty() && inc.shas.is_empty() {
        return String::new();
    }
    format!(
        "it names {} that no production deployment matches; ",
        inc.deployment_ids
            .iter()
            .map(|d| format!("deployment {d}"))
            .chain(inc.shas.iter().map(|s| format!("commit {}", short(s))))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The latest (by time, then index) successful deployment of the
/// incident's service at or before it opened.
fn by_latest_of_service(
    inc: &MIncident,
    by_service: &ByService,
    unresolved: &str,
) -> Result<IncidentLink, String> {
    let Some(service) = &inc.service else {
        return Err(format!("{unresolved}it names no service"));
    };
    let Some(opened) = inc.opened else {
        return Err(format!("{unresolved}its opening time is unknown"));
    };
    by_service
        .get(&service.to_ascii_lowercase())
        .and_then(|list| {
            let at_or_before = list.partition_point(|&(t, _)| t <= opened);
            at_or_before.checked_sub(1).map(|i| list[i].1)
        })
        .map(|d| IncidentLink {
            deployment: d,
            link: Link {
                rule: "latest_deployment_of_service",
                reason: format!(
                    "the latest successful production deployment of `{service}` at or before the incident opened at {}",
                    time::rfc3339(opened)
                ),
            },
        })
        .ok_or_else(|| {
            format!(
                "{unresolved}no successful production deployment of `{service}` at or before it opened at {}",
                time::rfc3339(opened)
            )
        })
}

// ---------------------------------------------------------------------------
// Postmortems to incidents.

/// Each incident's postmortem (the earliest published of those that link
/// to it) and why, and the postmortems that link to no incident.
pub(super) fn link_postmortems(
    postmortems: &[MPostmortem],
    incidents: &[MIncident],
) -> (Vec<Option<(PostmortemIx, Link)>>, Vec<UnlinkedThing>) {
    let mut postmortem_of: Vec<Option<(PostmortemIx, Link)>> = vec![None; incidents.len()];
    let mut unlinked = Vec::new();
    for (p, pm) in postmortems.iter().enumerate() {
        let mut linked = false;
        for (i, inc) in incidents.iter().enumerate() {
            let Some(link) = postmortem_link(pm, inc) else {
                continue;
            };
            linked = true;
            let earlier = postmortem_of[i]
                .as_ref()
                .is_some_and(|(q, _)| postmortems[q.0].published <= pm.published);
            if !earlier {
                postmortem_of[i] = Some((PostmortemIx(p), link));
            }
        }
        if !linked {
            unlinked.push(UnlinkedThing {
                thing: pm.thing(),
                reason: match &pm.incident_id {
                    Some(id) => format!("no incident has the id `{id}`"),
                    None => "its title and description mention no known incident".to_owned(),
                },
            });
        }
    }
    (postmortem_of, unlinked)
}

/// Whether a postmortem is about an incident, and why: a generic
/// postmortem names its id; a postmortem issue mentions its id, its `#N`
/// in the same project, or its page.
fn postmortem_link(pm: &MPostmortem, inc: &MIncident) -> Option<Link> {
    match (&pm.incident_id, &pm.text) {
        (Some(id), _) if *id == inc.id => Some(Link {
            rule: "postmortem_event",
            reason: format!("postmortem {} names incident {}", pm.id, inc.id),
        }),
        (None, Some((text, project))) => {
            let by_id = mentions(text, &inc.id);
            let by_number = inc
                .number_ref
                .as_deref()
                .is_some_and(|n| project.is_some() && *project == inc.project && mentions(text, n));
            let by_url = inc.url.as_deref().is_some_and(|u| text.contains(u));
            (by_id || by_number || by_url).then(|| Link {
                rule: "postmortem_issue_reference",
                reason: format!(
                    "postmortem issue {} mentions {}",
                    pm.id,
                    if by_id {
                        inc.id.clone()
                    } else if by_number {
                        inc.number_ref.clone().unwrap_or_default()
                    } else {
                        inc.url.clone().unwrap_or_default()
                    }
                ),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_text() {
        assert!(mentions("Postmortem: P2 and P22", "P2"));
        assert!(!mentions("P22 only", "P2"));
        assert!(mentions("see #12.", "#12"));
        assert!(!mentions("see #123", "#12"));
        assert!(!mentions("see other/repo#12", "#12"));
        assert!(!mentions("OPS-3b", "OPS-3"));
        assert!(mentions("(OPS-3)", "OPS-3"));
        assert_eq!(
            deployment_ids_in("caused by Deployment #41 and deployment: d-7."),
            ["41", "d-7"]
        );
        assert_eq!(
            shas_in(&format!("bad {} here", "A".repeat(40))),
            ["a".repeat(40)]
        );
        assert!(shas_in(&"a".repeat(41)).is_empty());
        let full = "58793660b22d6ceacbdc23b28a0562bca339702c";
        assert!(same_commit(full, "58793660"));
        assert!(same_commit("58793660", &full.to_uppercase()));
        assert!(same_commit(full, full));
        assert!(!same_commit(full, "587936"), "too short");
        assert!(!same_commit(full, "58793661"));
        assert!(!same_commit("deploy-1", "deploy-12"), "not hex");
    }
}
