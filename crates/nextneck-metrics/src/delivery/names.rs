//! Names and rules: globs, the service and team mappings, the filter,
//! bots, and the rules that say what a thing is (a production deployment,
//! a rework, an incident or a postmortem issue).

use std::collections::BTreeSet;

use nextneck_model::events::Actor;
use regex::Regex;

use super::DeliverySettings;

pub use crate::glob::glob_match;

/// The name of the rule whose pattern matches `value` most specifically:
/// an exact name beats a glob, a glob with more literal characters beats
/// one with fewer; ties go to the rule listed first (rules come sorted by
/// name from the configuration).
pub(super) fn best_match<'a>(
    rules: impl Iterator<Item = (&'a str, &'a [String])>,
    value: &str,
) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for (name, patterns) in rules {
        for p in patterns {
            if !glob_match(p, value) {
                continue;
            }
            let literal = p.chars().filter(|c| *c != '*' && *c != '?').count();
            let score = if literal == p.chars().count() {
                usize::MAX
            } else {
                literal
            };
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, name));
            }
        }
    }
    best.map(|(_, name)| name)
}

/// The mappings and the filter, applied to names the events carry.
pub(super) struct Names<'s> {
    pub(super) settings: &'s DeliverySettings,
    /// Repositories the clone holds (their events name commits in it).
    pub(super) clone_repositories: BTreeSet<String>,
}

impl Names<'_> {
    pub(super) fn service_of_repository(&self, repo: &str) -> Option<String> {
        best_match(
            self.settings
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.repositories.as_slice())),
            repo,
        )
        .map(str::to_owned)
    }

    pub(super) fn service_of_incident(&self, raw: &str) -> String {
        best_match(
            self.settings
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.incident_services.as_slice())),
            raw,
        )
        .unwrap_or(raw)
        .to_owned()
    }

    pub(super) fn team_of_service(&self, service: &str) -> Option<&str> {
        best_match(
            self.settings
                .teams
                .iter()
                .map(|t| (t.name.as_str(), t.services.as_slice())),
            service,
        )
    }

    pub(super) fn team_of_repository(&self, repo: &str) -> Option<&str> {
        if let Some(t) = best_match(
            self.settings
                .teams
                .iter()
                .map(|t| (t.name.as_str(), t.repositories.as_slice())),
            repo,
        ) {
            return Some(t);
        }
        if let Some(t) = self
            .service_of_repository(repo)
            .and_then(|s| self.team_of_service(&s).map(str::to_owned))
        {
            return self
                .settings
                .teams
                .iter()
                .find(|team| team.name == t)
                .map(|team| team.name.as_str());
        }
        if self.clone_repositories.contains(&repo.to_lowercase()) {
            return self
                .settings
                .teams
                .iter()
                .find(|t| {
                    t.codeowners.iter().any(|o| {
                        self.settings
                            .codeowners
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(o))
                    })
                })
                .map(|t| t.name.as_str());
        }
        None
    }

    /// Whether a thing with this repository and service passes the filter.
    pub(super) fn selects(&self, repository: Option<&str>, service: Option<&str>) -> bool {
        let f = &self.settings.filter;
        if !f.repositories.is_empty()
            && !repository.is_some_and(|r| f.repositories.iter().any(|p| glob_match(p, r)))
        {
            return false;
        }
        if !f.services.is_empty()
            && !service.is_some_and(|s| f.services.iter().any(|p| glob_match(p, s)))
        {
            return false;
        }
        if !f.teams.is_empty() {
            let team = repository
                .and_then(|r| self.team_of_repository(r))
                .or_else(|| service.and_then(|s| self.team_of_service(s)));
            if !team.is_some_and(|t| f.teams.iter().any(|p| p.eq_ignore_ascii_case(t))) {
                return false;
            }
        }
        true
    }

    pub(super) fn is_bot(&self, actor: &Actor) -> bool {
        actor.bot
            || actor.login.as_deref().is_some_and(|l| {
                l.ends_with("[bot]") || self.settings.bots.iter().any(|b| b.eq_ignore_ascii_case(l))
            })
    }
}

/// Whether two actors are one person: the same id, else the same login.
pub(super) fn same_actor(a: &Actor, b: &Actor) -> bool {
    match (&a.id, &b.id) {
        (Some(x), Some(y)) if x == y => return true,
        _ => {}
    }
    match (&a.login, &b.login) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// How the report names an actor.
pub(super) fn actor_name(a: &Actor) -> String {
    a.login
        .clone()
        .or_else(|| a.id.as_ref().map(|id| format!("user {id}")))
        .unwrap_or_else(|| "someone".to_owned())
}

/// Why a deployment is production, `None` when it is not: the source's
/// flag, else its environment's name matching the production pattern (a
/// false flag does not overrule the name).
pub(super) fn production_reason(
    flag: Option<bool>,
    environment: Option<&str>,
    production: &Regex,
) -> Option<String> {
    if flag == Some(true) {
        Some("the source flags its environment as production".to_owned())
    } else {
        environment.and_then(|e| {
            production
                .is_match(e)
                .then(|| format!("environment `{e}` matches {}", production.as_str()))
        })
    }
}

/// Why a change is rework, `None` when it is not: a revert (its title
/// starts with `Revert "`), or a hotfix (its title or source branch
/// matches the hotfix pattern).
pub(super) fn rework_reason(
    id: &str,
    title: Option<&str>,
    head_ref: Option<&str>,
    hotfix: &Regex,
) -> Option<String> {
    let title = title.unwrap_or("");
    if title.starts_with("Revert \"") {
        Some(format!("{id} reverts: {title}"))
    } else if hotfix.is_match(title) || head_ref.is_some_and(|h| hotfix.is_match(h)) {
        Some(format!("{id} is a hotfix: {title}"))
    } else {
        None
    }
}

/// An issue is an incident when its type is `Incident` (GitLab, Jira) or
/// it carries the label `incident`; a postmortem when its type is
/// `Postmortem`, `Post-mortem` or `Post-incident review`, or it carries the
/// label `postmortem` or `post-mortem`. A postmortem is never an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IssueRole {
    Incident,
    Postmortem,
    Other,
}

pub(super) fn issue_role(issue_type: Option<&str>, labels: &[String]) -> IssueRole {
    let t = issue_type.map(str::to_lowercase);
    let has = |names: &[&str]| {
        labels
            .iter()
            .any(|l| names.iter().any(|n| l.eq_ignore_ascii_case(n)))
    };
    if matches!(
        t.as_deref(),
        Some("postmortem" | "post-mortem" | "post-incident review")
    ) || has(&["postmortem", "post-mortem"])
    {
        IssueRole::Postmortem
    } else if t.as_deref() == Some("incident") || has(&["incident"]) {
        IssueRole::Incident
    } else {
        IssueRole::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_mapping_specificity() {
        let check = |p: &str, v: &str, want: bool| assert_eq!(glob_match(p, v), want, "{p} {v}");
        check("acme/shop", "acme/shop", true);
        check("acme/shop", "ACME/Shop", true);
        check("acme/*", "acme/shop", true);
        check("acme/*", "acme/payments/api", true);
        check("acme/*-api", "acme/shop-api", true);
        check("acme/*-api", "acme/shop-web", false);
        check("acme/sho?", "acme/shop", true);
        check("acme/shop", "acme/shop2", false);
        check("*", "", true);
        let rules = [
            ("all".to_owned(), vec!["acme/*".to_owned()]),
            ("payments".to_owned(), vec!["acme/payments/*".to_owned()]),
            ("shop".to_owned(), vec!["acme/shop".to_owned()]),
        ];
        let best = |v: &str| {
            best_match(rules.iter().map(|(n, p)| (n.as_str(), p.as_slice())), v).map(str::to_owned)
        };
        assert_eq!(best("acme/shop").as_deref(), Some("shop"));
        assert_eq!(best("acme/payments/api").as_deref(), Some("payments"));
        assert_eq!(best("acme/web").as_deref(), Some("all"));
        assert_eq!(best("other/web"), None);
    }
}
