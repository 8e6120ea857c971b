//! `nextneck serve` running `nextneck sync` on a schedule, so a server
//! catches what its webhooks missed while it was down:
//!
//! ```toml
//! [sync]
//! every_minutes = 60        # at the server's start, then every hour
//! since = "2025-01-01"      # the first run's reach (default: all history)
//! [sync.github]
//! repos = ["acme/shop"]     # and/or orgs = ["acme"]
//! [sync.gitlab]
//! groups = ["acme"]         # and/or projects = ["acme/api"]
//! [sync.pagerduty]
//! services = ["PIJ90N7"]
//! [sync.jira]
//! api_url = "https://acme.atlassian.net"
//! projects = ["SHOP"]
//! ```
//!
//! Each run is the command itself (`nextneck sync PROVIDER ...`, this same
//! binary, the same store and configuration file, tokens from the same
//! environment or file), one provider after the other, so a scheduled sync
//! stores, deduplicates and resumes exactly as one typed by hand; its
//! summary or its error goes to the server's stderr, and a failed run is
//! continued by the next one from the cursors it left.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::UsageError;
use crate::sync::{SyncSection, parse_since};

/// A flag of a scheduled command and its values (`--repo`, the repos).
type Flag<'a> = (&'static str, &'a [String]);

/// What `nextneck serve` runs, and how often.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncSchedule {
    /// Minutes between the starts of two rounds.
    pub every_minutes: u64,
    /// Each command's arguments after `sync`.
    pub commands: Vec<Vec<String>>,
}

impl SyncSection {
    /// The schedule `[sync]` asks for, if any.
    pub fn schedule(&self) -> Result<Option<SyncSchedule>, UsageError> {
        let Some(every_minutes) = self.every_minutes else {
            return Ok(None);
        };
        if every_minutes == 0 {
            return Err(UsageError(
                "[sync] every_minutes: 0 is not a period; use 1 or more (60 for hourly)".to_owned(),
            ));
        }
        let since = match &self.since {
            Some(s) => Some(parse_since(s).map_err(|e| UsageError(format!("[sync] {}", e.0)))?),
            None => None,
        };
        let mut commands = Vec::new();
        let github = &self.github;
        let gitlab = &self.gitlab;
        let providers: [(&str, Vec<Flag<'_>>); 4] = [
            (
                "github",
                vec![("--repo", &github.repos), ("--org", &github.orgs)],
            ),
            (
                "gitlab",
                vec![("--project", &gitlab.projects), ("--group", &gitlab.groups)],
            ),
            ("pagerduty", vec![("--service", &self.pagerduty.services)]),
            ("jira", vec![("--project", &self.jira.projects)]),
        ];
        for (name, flags) in providers {
            let mut args = vec![name.to_owned()];
            for (flag, values) in flags {
                for v in values.iter() {
                    args.extend([(*flag).to_owned(), v.clone()]);
                }
            }
            if args.len() == 1 {
                continue;
            }
            if let Some(s) = since {
                args.extend(["--since".to_owned(), s.to_string()]);
            }
            commands.push(args);
        }
        if commands.is_empty() {
            return Err(UsageError(
                "[sync] every_minutes is set but nothing is listed to sync; add repos = [\"OWNER/NAME\"] to [sync.github] (or projects, groups, services to [sync.gitlab], [sync.pagerduty], [sync.jira])".to_owned(),
            ));
        }
        Ok(Some(SyncSchedule {
            every_minutes,
            commands,
        }))
    }
}

impl SyncSchedule {
    /// The banner line of `nextneck serve`.
    pub fn describe(&self) -> String {
        let what: Vec<String> = self.commands.iter().map(|c| c.join(" ")).collect();
        format!(
            "syncing every {} minutes, and now: {}",
            self.every_minutes,
            what.join("; ")
        )
    }
}

/// Runs the schedule on a thread of its own: a round at once, then one
/// every `every_minutes` from the start of the last.
pub fn spawn_scheduler(schedule: SyncSchedule, db: String, config: Option<PathBuf>) {
    std::thread::spawn(move || {
        loop {
            let started = std::time::Instant::now();
            for args in &schedule.commands {
                run_one(args, &db, config.as_ref());
            }
            let period = Duration::from_secs(schedule.every_minutes.saturating_mul(60));
            std::thread::sleep(period.saturating_sub(started.elapsed()));
        }
    });
}

/// One `nextneck sync ...`, its summary or error said on stderr.
fn run_one(args: &[String], db: &str, config: Option<&PathBuf>) {
    let provider = args.first().map(String::as_str).unwrap_or("");
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            log(&format!("cannot run the {provider} sync: {e}"));
            return;
        }
    };
    // The store's URL (it may hold a password) goes by the environment,
    // not the command line other users can list.
    let mut cmd = Command::new(exe);
    cmd.arg("sync").args(args).env("NEXTNECK_DB", db);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let out = cmd.stdin(Stdio::null()).output();
    match out {
        Ok(o) if o.status.success() => {
            log(String::from_utf8_lossy(&o.stdout).trim());
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            log(&format!(
                "the {provider} sync did not finish: {last}; the next round continues from where it stopped"
            ));
        }
        Err(e) => log(&format!("cannot run the {provider} sync: {e}")),
    }
}

fn log(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "nextneck serve: {line}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> SyncSection {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn schedules_from_the_section() {
        let check = |text: &str, expected: Result<Option<(u64, Vec<&str>)>, &str>| {
            let got = section(text).schedule();
            match (got, expected) {
                (Ok(got), Ok(want)) => {
                    let want = want.map(|(every, cmds)| SyncSchedule {
                        every_minutes: every,
                        commands: cmds
                            .iter()
                            .map(|c| c.split(' ').map(str::to_owned).collect())
                            .collect(),
                    });
                    assert_eq!(got, want, "{text}");
                }
                (Err(e), Err(want)) => assert!(e.0.contains(want), "{text}: {}", e.0),
                (got, want) => panic!("{text}: {got:?} is not {want:?}"),
            }
        };
        check("", Ok(None));
        check("[github]\nrepos = [\"a/b\"]\n", Ok(None));
        check(
            "every_minutes = 30\n[github]\nrepos = [\"a/b\", \"a/c\"]\norgs = [\"o\"]\n[jira]\nprojects = [\"SHOP\"]\n",
            Ok(Some((
                30,
                vec![
                    "github --repo a/b --repo a/c --org o",
                    "jira --project SHOP",
                ],
            ))),
        );
        check(
            "every_minutes = 60\nsince = \"2025-01-01\"\n[pagerduty]\nservices = [\"P1\"]\n",
            Ok(Some((
                60,
                vec!["pagerduty --service P1 --since 2025-01-01T00:00:00Z"],
            ))),
        );
        check("every_minutes = 0\n", Err("0 is not a period"));
        check("every_minutes = 5\n", Err("nothing is listed to sync"));
        check(
            "every_minutes = 5\nsince = \"soon\"\n[gitlab]\ngroups = [\"g\"]\n",
            Err("[sync] --since: `soon` is not a date"),
        );
    }
}
