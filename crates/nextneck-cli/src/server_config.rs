//! The `[server]` section of `nextneck.toml` (read by `config.rs`): where
//! `serve` listens, its store, and the webhook secrets; environment
//! variables override the file.
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8080"
//! db = "postgres://nextneck@db.internal/nextneck"
//! github_secret = "..."      # or NEXTNECK_GITHUB_SECRET
//! gitlab_token = "..."       # or NEXTNECK_GITLAB_TOKEN
//! pagerduty_secret = "..."   # or NEXTNECK_PAGERDUTY_SECRET
//! jira_secret = "..."        # or NEXTNECK_JIRA_SECRET
//! opsgenie_token = "..."     # or NEXTNECK_OPSGENIE_TOKEN
//! events_token = "..."       # or NEXTNECK_EVENTS_TOKEN
//! read_token = "..."         # or NEXTNECK_READ_TOKEN: the dashboard, API, /metrics
//! show_db_location = false   # true: reports and pages name the store's redacted URL, not its kind
//! ```

use std::path::Path;

use nextneck_server::Secrets;
use serde::Deserialize;

/// The `[server]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<String>,
    pub db: Option<String>,
    pub github_secret: Option<String>,
    pub gitlab_token: Option<String>,
    pub pagerduty_secret: Option<String>,
    pub jira_secret: Option<String>,
    pub opsgenie_token: Option<String>,
    pub events_token: Option<String>,
    pub read_token: Option<String>,
    /// Reports, the dashboard and the API name the store by its kind
    /// (`sqlite`, `postgres`) unless this is true (then its URL, redacted).
    pub show_db_location: Option<bool>,
}

/// Reads `[server]` from `path`, or from ./nextneck.toml when it exists.
pub fn load(path: Option<&Path>) -> anyhow::Result<ServerSection> {
    Ok(crate::config::load(path)?
        .map(|c| c.server)
        .unwrap_or_default())
}

impl ServerSection {
    /// The secrets: each environment variable over the file's key.
    pub fn secrets(&self, env: &dyn Fn(&str) -> Option<String>) -> Secrets {
        let pick = |var: &str, file: &Option<String>| {
            env(var).filter(|v| !v.is_empty()).or_else(|| file.clone())
        };
        Secrets {
            github: pick("NEXTNECK_GITHUB_SECRET", &self.github_secret),
            gitlab: pick("NEXTNECK_GITLAB_TOKEN", &self.gitlab_token),
            pagerduty: pick("NEXTNECK_PAGERDUTY_SECRET", &self.pagerduty_secret),
            jira: pick("NEXTNECK_JIRA_SECRET", &self.jira_secret),
            opsgenie: pick("NEXTNECK_OPSGENIE_TOKEN", &self.opsgenie_token),
            events: pick("NEXTNECK_EVENTS_TOKEN", &self.events_token),
        }
    }

    /// The read token of the dashboard, the API and `/metrics`: the
    /// environment over the file; empty is unset.
    pub fn read_token(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        env("NEXTNECK_READ_TOKEN")
            .filter(|v| !v.is_empty())
            .or_else(|| self.read_token.clone())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerSection, String> {
        crate::config::parse(text).map(|c| c.server)
    }

    #[test]
    fn server_section_and_environment() {
        let section = parse(
            "[server]\nlisten = \"0.0.0.0:9000\"\ngithub_secret = \"file\"\njira_secret = \"j\"\n",
        )
        .expect("parses");
        assert_eq!(section.listen.as_deref(), Some("0.0.0.0:9000"));
        let env = |k: &str| (k == "NEXTNECK_GITHUB_SECRET").then(|| "env".to_owned());
        let s = section.secrets(&env);
        assert_eq!(s.github.as_deref(), Some("env"), "the environment wins");
        assert_eq!(s.jira.as_deref(), Some("j"));
        assert_eq!(s.gitlab, None);
        assert_eq!(
            section.read_token(&|_| None),
            None,
            "no read token: the dashboard is open"
        );
        let section = parse("[server]\nread_token = \"file\"\n").expect("parses");
        assert_eq!(section.read_token(&|_| None).as_deref(), Some("file"));
        let env = |k: &str| (k == "NEXTNECK_READ_TOKEN").then(|| "env".to_owned());
        assert_eq!(section.read_token(&env).as_deref(), Some("env"));
        let empty = |k: &str| (k == "NEXTNECK_READ_TOKEN").then(String::new);
        assert_eq!(section.read_token(&empty).as_deref(), Some("file"));
        assert!(
            parse("[server]\ngithub_secrt = \"x\"\n").is_err(),
            "typos are errors"
        );
        assert!(parse("").expect("empty is fine").listen.is_none());
    }
}
