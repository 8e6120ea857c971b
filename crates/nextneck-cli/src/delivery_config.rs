//! The delivery sections of `nextneck.toml` (read by `config.rs`), used by
//! `nextneck report --db`: `[delivery]` (what counts as production, bots, hotfixes, which
//! linking rules), `[services.NAME]` (which repositories and incident-tool
//! services are a service) and `[teams.NAME]` (which repositories, services
//! and CODEOWNERS owners are a team). An unknown key is an error, so a typo
//! is not silently ignored.
//!
//! ```toml
//! [delivery]
//! production = "(?i)^(prod|production|live)([-_./: ].*)?$"
//! bots = ["deploy-bot", "renovate"]
//! hotfix = "(?i)\\bhotfix\\b"
//! link_changes = "auto"                # or "commit_range", "after_merge"
//! link_incidents = "explicit_or_service" # or "explicit"
//! deployments_from = "auto"            # or ["deployments"], ["releases"], ["deployments", "releases"]
//! prereleases = false                  # whether pre-releases count when releases do
//! look_back_days = 90                  # how far before and after its window a report reads
//!
//! [services.checkout]
//! repositories = ["acme/shop", "acme/checkout-*"]
//! incident_services = ["Checkout API (production)"]
//!
//! [teams.web]
//! repositories = ["acme/web-*"]
//! services = ["checkout"]
//! codeowners = ["@acme/web"]
//! ```

use std::path::Path;

use nextneck_metrics::delivery::{
    ChangeLinking, DeploymentSources, IncidentLinking, ServiceRule, TeamRule,
};
use regex::Regex;
use serde::Deserialize;

use crate::UsageError;

/// The longest look-back, in days (a century).
pub const MAX_LOOK_BACK_DAYS: i64 = 36_525;

/// The `[delivery]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    production: Option<String>,
    #[serde(default)]
    bots: Vec<String>,
    hotfix: Option<String>,
    link_changes: Option<String>,
    link_incidents: Option<String>,
    deployments_from: Option<OneOrMany>,
    prereleases: Option<bool>,
    look_back_days: Option<i64>,
}

/// A word or a list of words.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A `[services.NAME]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    incident_services: Vec<String>,
}

/// A `[teams.NAME]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSection {
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    codeowners: Vec<String>,
}

/// What the file says, checked: patterns compile, rule names are known.
#[derive(Debug, Default)]
pub struct DeliveryConfig {
    /// `[delivery] production`.
    pub production: Option<Regex>,
    /// `[delivery] bots`.
    pub bots: Vec<String>,
    /// `[delivery] hotfix`.
    pub hotfix: Option<Regex>,
    /// `[delivery] link_changes`.
    pub link_changes: Option<ChangeLinking>,
    /// `[delivery] link_incidents`.
    pub link_incidents: Option<IncidentLinking>,
    /// `[delivery] deployments_from`.
    pub deployments_from: Option<DeploymentSources>,
    /// `[delivery] prereleases`.
    pub prereleases: Option<bool>,
    /// `[delivery] look_back_days`.
    pub look_back_days: Option<i64>,
    /// `[services.NAME]`, by name.
    pub services: Vec<ServiceRule>,
    /// `[teams.NAME]`, by name.
    pub teams: Vec<TeamRule>,
}

/// Reads the delivery sections from `path`, or from ./nextneck.toml when it
/// exists.
pub fn load(path: Option<&Path>) -> anyhow::Result<DeliveryConfig> {
    let file = crate::config::load(path)?.unwrap_or_default();
    from_file(file).map_err(|e| {
        let shown = path.map_or_else(
            || crate::config::FILE_NAME.to_owned(),
            |p| p.display().to_string(),
        );
        UsageError(format!("{shown}: {e}")).into()
    })
}

/// Parses the file's text.
#[cfg(test)]
pub fn parse(text: &str) -> Result<DeliveryConfig, String> {
    from_file(crate::config::parse(text)?)
}

/// Checks and converts the delivery sections of a parsed file.
pub fn from_file(file: crate::config::Config) -> Result<DeliveryConfig, String> {
    let d = file.delivery;
    let regex = |key: &str, v: Option<String>| {
        v.map(|p| {
            Regex::new(&p)
                .map_err(|e| format!("[delivery] {key}: not a valid regular expression: {e}"))
        })
        .transpose()
    };
    Ok(DeliveryConfig {
        production: regex("production", d.production)?,
        bots: d.bots,
        hotfix: regex("hotfix", d.hotfix)?,
        link_changes: d
            .link_changes
            .map(|v| {
                change_linking(&v).ok_or_else(|| {
                    format!(
                        "[delivery] link_changes: `{v}` is not a rule; use auto, commit_range or after_merge"
                    )
                })
            })
            .transpose()?,
        link_incidents: d
            .link_incidents
            .map(|v| {
                incident_linking(&v).ok_or_else(|| {
                    format!(
                        "[delivery] link_incidents: `{v}` is not a rule; use explicit_or_service or explicit"
                    )
                })
            })
            .transpose()?,
        deployments_from: d
            .deployments_from
            .map(|v| {
                let words = match v {
                    OneOrMany::One(w) => vec![w],
                    OneOrMany::Many(ws) => ws,
                };
                deployment_sources(&words).map_err(|e| format!("[delivery] deployments_from: {e}"))
            })
            .transpose()?,
        prereleases: d.prereleases,
        look_back_days: d
            .look_back_days
            .map(|days| {
                if (0..=MAX_LOOK_BACK_DAYS).contains(&days) {
                    Ok(days)
                } else {
                    Err(format!(
                        "[delivery] look_back_days: {days} is not a number of days from 0 to {MAX_LOOK_BACK_DAYS}"
                    ))
                }
            })
            .transpose()?,
        services: file
            .services
            .into_iter()
            .map(|(name, s)| ServiceRule {
                name,
                repositories: s.repositories,
                incident_services: s.incident_services,
            })
            .collect(),
        teams: file
            .teams
            .into_iter()
            .map(|(name, t)| TeamRule {
                name,
                repositories: t.repositories,
                services: t.services,
                codeowners: t.codeowners,
            })
            .collect(),
    })
}

/// `auto`, `commit_range` (or `commit-range`), `after_merge`.
pub fn change_linking(v: &str) -> Option<ChangeLinking> {
    match v.replace('-', "_").as_str() {
        "auto" => Some(ChangeLinking::Auto),
        "commit_range" => Some(ChangeLinking::CommitRange),
        "after_merge" => Some(ChangeLinking::AfterMerge),
        _ => None,
    }
}

/// `auto`, or a list of `deployments` and `releases`.
pub fn deployment_sources<S: AsRef<str>>(words: &[S]) -> Result<DeploymentSources, String> {
    let mut deployments = false;
    let mut releases = false;
    for w in words {
        match w.as_ref().trim() {
            "auto" if words.len() == 1 => return Ok(DeploymentSources::Auto),
            "deployments" => deployments = true,
            "releases" => releases = true,
            other => {
                return Err(format!(
                    "`{other}` is not a source; use auto, or deployments and/or releases"
                ));
            }
        }
    }
    match (deployments, releases) {
        (true, true) => Ok(DeploymentSources::Both),
        (true, false) => Ok(DeploymentSources::Deployments),
        (false, true) => Ok(DeploymentSources::Releases),
        (false, false) => {
            Err("no source given; use auto, or deployments and/or releases".to_owned())
        }
    }
}

/// `explicit_or_service` (or `explicit-or-service`), `explicit`.
pub fn incident_linking(v: &str) -> Option<IncidentLinking> {
    match v.replace('-', "_").as_str() {
        "explicit_or_service" => Some(IncidentLinking::ExplicitOrService),
        "explicit" => Some(IncidentLinking::Explicit),
        _ => None,
    }
}

/// The owners of every file in a CODEOWNERS text: those of its last rule
/// whose pattern matches every path (`*`, `/*`, `**`, `/**`); GitHub and
/// GitLab let the last matching rule win. GitLab `[Section]` headers are
/// skipped.
pub fn default_owners(codeowners: &str) -> Vec<String> {
    let mut owners = Vec::new();
    for line in codeowners.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('[') || line.starts_with("^[") {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next() else {
            continue;
        };
        if matches!(pattern, "*" | "/*" | "**" | "/**") {
            owners = words.map(str::to_owned).collect();
        }
    }
    owners
}

/// The clone's CODEOWNERS file, where GitHub and GitLab look for it:
/// `.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS`, `.gitlab/CODEOWNERS`.
pub fn read_codeowners(work_tree: &Path) -> Option<String> {
    [
        ".github/CODEOWNERS",
        "CODEOWNERS",
        "docs/CODEOWNERS",
        ".gitlab/CODEOWNERS",
    ]
    .iter()
    .find_map(|rel| std::fs::read_to_string(work_tree.join(rel)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse_and_others_are_ignored() {
        let c = parse(
            "[server]\nlisten = \"x\"\n[streams.hiring]\nfile = \"h.csv\"\n\n[delivery]\nproduction = \"^live$\"\nbots = [\"ci-bot\"]\nlink_changes = \"after_merge\"\nlink_incidents = \"explicit\"\n\n[services.checkout]\nrepositories = [\"acme/shop\"]\nincident_services = [\"Checkout\"]\n\n[teams.web]\nservices = [\"checkout\"]\ncodeowners = [\"@acme/web\"]\n",
        )
        .expect("parses");
        assert_eq!(
            c.production.map(|r| r.as_str().to_owned()).as_deref(),
            Some("^live$")
        );
        assert_eq!(c.bots, ["ci-bot"]);
        assert_eq!(c.link_changes, Some(ChangeLinking::AfterMerge));
        assert_eq!(c.link_incidents, Some(IncidentLinking::Explicit));
        assert_eq!(
            c.services,
            [ServiceRule {
                name: "checkout".into(),
                repositories: vec!["acme/shop".into()],
                incident_services: vec!["Checkout".into()],
            }]
        );
        assert_eq!(c.teams[0].name, "web");
        assert!(parse("").is_ok());
    }

    #[test]
    fn the_documented_example_parses() {
        let c = parse(include_str!("../../../docs/nextneck.example.toml")).expect("parses");
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.teams.len(), 2);
        assert_eq!(c.link_changes, Some(ChangeLinking::Auto));
        assert!(c.production.is_some_and(|p| p.is_match("live-eu")));
    }

    #[test]
    fn mistakes_are_errors() {
        let check = |text: &str, wanted: &str| {
            let err = parse(text).expect_err(text);
            assert!(err.contains(wanted), "{text}: {err}");
        };
        check("[delivery]\nproducton = \"x\"\n", "unknown field");
        check(
            "[delivery]\nproduction = \"(\"\n",
            "[delivery] production: not a valid regular expression",
        );
        check(
            "[delivery]\nlink_changes = \"nearest\"\n",
            "use auto, commit_range or after_merge",
        );
        check(
            "[delivery]\nlink_incidents = \"time\"\n",
            "use explicit_or_service or explicit",
        );
        check(
            "[delivery]\ndeployments_from = [\"tags\"]\n",
            "[delivery] deployments_from: `tags` is not a source; use auto, or deployments and/or releases",
        );
        check(
            "[delivery]\ndeployments_from = []\n",
            "[delivery] deployments_from: no source given",
        );
        check(
            "[delivery]\ndeployments_from = [\"auto\", \"releases\"]\n",
            "`auto` is not a source",
        );
        check("[services.a]\nrepos = []\n", "unknown field");
        check("[teams.a]\nmembers = []\n", "unknown field");
    }

    #[test]
    fn deployments_from_words() {
        let check = |text: &str, wanted: DeploymentSources| {
            let c = parse(&format!("[delivery]\ndeployments_from = {text}\n")).expect(text);
            assert_eq!(c.deployments_from, Some(wanted), "{text}");
        };
        check("\"auto\"", DeploymentSources::Auto);
        check("[\"auto\"]", DeploymentSources::Auto);
        check("\"releases\"", DeploymentSources::Releases);
        check("[\"deployments\"]", DeploymentSources::Deployments);
        check("[\"releases\", \"deployments\"]", DeploymentSources::Both);
        let c = parse("[delivery]\nprereleases = true\n").expect("parses");
        assert_eq!(c.prereleases, Some(true));
        assert_eq!(parse("").expect("parses").deployments_from, None);
    }

    #[test]
    fn codeowners_default_owners() {
        let check = |text: &str, wanted: &[&str]| {
            assert_eq!(default_owners(text), wanted, "{text}");
        };
        check("", &[]);
        check("# owners\n*       @acme/web @ada\n", &["@acme/web", "@ada"]);
        check("* @a\n/docs/ @docs\n* @b # later wins\n", &["@b"]);
        check("/src/ @core\n*.js @js\n", &[]);
        check("[Backend]\n/** @acme/backend\n", &["@acme/backend"]);
    }
}
