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
//! max_connections = 512      # connections held; beyond, the oldest idle one is closed (503 when all are busy)
//! header_timeout_seconds = 10   # for a request's headers, and an idle connection's next request
//! body_timeout_seconds = 60     # for a request's body (408)
//! max_body_bytes_in_flight = 67108864   # request bodies buffered at once, all requests together (503 past it)
//! max_header_bytes = 65536   # a request's line and headers (431 past it)
//! max_reports = 4            # report computations at once (default: the cores)
//! report_queue = 16          # report requests waiting (default: 4 × max_reports; 503 busy past it)
//! ```

use std::path::Path;

use std::time::Duration;

use nextneck_server::{Limits, Secrets};
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
    pub max_connections: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub body_timeout_seconds: Option<u64>,
    pub max_body_bytes_in_flight: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_reports: Option<usize>,
    pub report_queue: Option<usize>,
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

    /// The server's limits: the file's over the defaults; zero is a usage
    /// error (but for `report_queue`, where it means no waiting).
    pub fn limits(&self) -> Result<Limits, String> {
        let mut limits = Limits::default();
        let positive = |name: &str, v: Option<u64>| match v {
            Some(0) => Err(format!(
                "{name} in [server] of nextneck.toml is 0; give a positive number or leave it out for the default"
            )),
            other => Ok(other),
        };
        let as_u64 = |v: Option<usize>| v.map(|n| n as u64);
        if let Some(n) = positive("max_connections", as_u64(self.max_connections))? {
            limits.max_connections = n as usize;
        }
        if let Some(n) = positive("header_timeout_seconds", self.header_timeout_seconds)? {
            limits.header_timeout = Duration::from_secs(n);
        }
        if let Some(n) = positive("body_timeout_seconds", self.body_timeout_seconds)? {
            limits.body_timeout = Duration::from_secs(n);
        }
        if let Some(n) = positive(
            "max_body_bytes_in_flight",
            as_u64(self.max_body_bytes_in_flight),
        )? {
            limits.max_body_bytes_in_flight = n as usize;
        }
        if let Some(n) = positive("max_header_bytes", as_u64(self.max_header_bytes))? {
            limits.max_header_bytes = (n as usize).max(1024);
        }
        if let Some(n) = positive("max_reports", as_u64(self.max_reports))? {
            limits.max_reports = n as usize;
        }
        // 0 is allowed: no request waits, a busy server answers at once.
        limits.report_queue = self
            .report_queue
            .unwrap_or_else(|| limits.max_reports.saturating_mul(4));
        Ok(limits)
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

    #[test]
    fn server_limits() {
        let limits = |text: &str| parse(text).expect("parses").limits();
        assert_eq!(limits(""), Ok(Limits::default()));
        let set = limits(
            "[server]\nmax_connections = 100\nheader_timeout_seconds = 5\nbody_timeout_seconds = 30\nmax_body_bytes_in_flight = 1048576\nmax_header_bytes = 16384\nmax_reports = 3\nreport_queue = 7\n",
        )
        .expect("valid");
        assert_eq!(
            set,
            Limits {
                max_connections: 100,
                header_timeout: Duration::from_secs(5),
                body_timeout: Duration::from_secs(30),
                max_body_bytes_in_flight: 1 << 20,
                max_header_bytes: 16384,
                max_reports: 3,
                report_queue: 7,
                report_wait: Duration::from_secs(30),
            }
        );
        let zero = limits("[server]\nmax_connections = 0\n").expect_err("0 is refused");
        assert!(zero.starts_with("max_connections in [server]"), "{zero}");
    }

    #[test]
    fn report_limits() {
        let check = |text: &str, expected: Result<(usize, usize), &str>| {
            let got = parse(text)
                .and_then(|s| s.limits())
                .map(|l| (l.max_reports, l.report_queue));
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        };
        let cores = nextneck_server::available_cores();
        assert!(cores >= 1);
        check("", Ok((cores, 4 * cores)));
        check("[server]\nmax_reports = 2\n", Ok((2, 8)));
        check("[server]\nreport_queue = 0\n", Ok((cores, 0)));
        check("[server]\nmax_reports = 1\nreport_queue = 0\n", Ok((1, 0)));
        check(
            "[server]\nmax_reports = 0\n",
            Err(
                "max_reports in [server] of nextneck.toml is 0; give a positive number or leave it out for the default",
            ),
        );
        // Not a whole number: the parser names the line.
        check(
            "[server]\nmax_reports = -1\n",
            Err("line 2, column 15: invalid value: integer `-1`"),
        );
        check(
            "[server]\nreport_queue = \"many\"\n",
            Err("line 2, column 16:"),
        );
        check(
            "[server]\nmax_report = 2\n",
            Err("unknown field `max_report`"),
        );
    }
}
