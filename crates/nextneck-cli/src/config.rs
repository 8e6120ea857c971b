//! `nextneck.toml`: the configuration file.
//!
//! Settings are layered: command-line arguments over this file over
//! defaults, resolved into one settings struct per command before any work
//! starts. This module is the one reader of the file; each top-level table
//! belongs to one area:
//!
//! * `[server]`: `nextneck serve` (see `server_config.rs`);
//! * `[delivery]`, `[services.NAME]`, `[teams.NAME]`: `nextneck report --db`
//!   (see `delivery_config.rs`);
//! * `[streams.NAME]`: `nextneck flow` and `nextneck forecast` (below);
//! * `[git]`: how `nextneck report PATH` finds deployments (below);
//! * `[digest]`: where `nextneck serve` posts the weekly digest (see `digest.rs`).
//! * `[sync]`, `[sync.github|gitlab|pagerduty|jira]`: `nextneck sync` (see
//!   `sync.rs`) and its schedule in `nextneck serve` (`sync_schedule.rs`).
//!
//! An unknown table or key anywhere is an error naming its line and column:
//! a typo is never silently ignored. An example with every section is
//! `docs/nextneck.example.toml`.
//!
//! ```toml
//! [streams.hiring]
//! files = ["hiring.csv"]            # relative to this file
//! done = ["hired", "rejected"]      # default: the usual done names
//! model = "transitions"             # or "activities"; default: from the log
//! tz = "Europe/Paris"               # for times without an offset
//! start = "screen"                  # the commitment point (default: none)
//! time_format = "%d/%m/%Y %H:%M"    # times in a local form (strftime)
//! layout = "wide"                   # a row per item (default: from the header)
//!
//! [streams.hiring.columns]          # default: found by their usual names
//! case = "candidate"
//!
//! [streams.hiring.stages]           # for flow efficiency
//! active = ["interview"]
//! wait = ["screen", "offer"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::UsageError;

/// The file's name, looked for in the current directory.
pub const FILE_NAME: &str = "nextneck.toml";

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    #[serde(default)]
    pub server: crate::server_config::ServerSection,
    /// `[delivery]`.
    #[serde(default)]
    pub delivery: crate::delivery_config::DeliverySection,
    /// `[services.NAME]`.
    #[serde(default)]
    pub services: BTreeMap<String, crate::delivery_config::ServiceSection>,
    /// `[teams.NAME]`.
    #[serde(default)]
    pub teams: BTreeMap<String, crate::delivery_config::TeamSection>,
    /// Value streams by name.
    #[serde(default)]
    pub streams: BTreeMap<String, Stream>,
    /// `[git]`.
    #[serde(default)]
    pub git: GitSection,
    /// `[digest]`.
    #[serde(default)]
    pub digest: crate::digest::DigestSection,
    /// `[sync]`: `nextneck sync` (see `sync.rs`) and its schedule.
    #[serde(default)]
    pub sync: crate::sync::SyncSection,
    /// Where the file is (paths in it are relative to its folder).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// `[git]`: the deployments of `nextneck report PATH` when no
/// `--deploy-tags` or `--deploy-branch` is given (`nextneck init` writes it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSection {
    /// Tags whose name matches this regular expression are deployments.
    pub deploy_tags: Option<String>,
    /// Every first-parent commit of this branch is a deployment.
    pub deploy_branch: Option<String>,
}

/// One value stream.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// One event log file.
    pub file: Option<PathBuf>,
    /// Several event log files, read in order.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Column names.
    #[serde(default)]
    pub columns: Columns,
    /// Done stages.
    #[serde(default)]
    pub done: Vec<String>,
    /// `transitions` or `activities`.
    pub model: Option<String>,
    /// Time zone of times written without an offset.
    pub tz: Option<String>,
    /// The strftime format of times in a local form.
    pub time_format: Option<String>,
    /// `long` or `wide`; default: from the header.
    #[serde(default, deserialize_with = "layout")]
    pub layout: Option<String>,
    /// The commitment point: the stage where an item's flow starts.
    pub start: Option<String>,
    /// Stage categories.
    #[serde(default)]
    pub stages: Categories,
}

/// `long` or `wide`, or an error naming the choices.
fn layout<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    match v.as_str() {
        "long" | "wide" | "auto" => Ok(Some(v)),
        _ => Err(serde::de::Error::custom(format!(
            "layout \"{v}\": use \"long\" (a row per event) or \"wide\" (a row per item)"
        ))),
    }
}

/// Column names of a stream's files.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Case id.
    pub case: Option<String>,
    /// Stage or activity.
    pub stage: Option<String>,
    /// Time.
    pub time: Option<String>,
    /// Lifecycle.
    pub lifecycle: Option<String>,
    /// Start time.
    pub start: Option<String>,
    /// Resource.
    pub resource: Option<String>,
    /// Item type.
    #[serde(rename = "type")]
    pub item_type: Option<String>,
}

/// Stage categories, for flow efficiency.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    /// Stages where work happens.
    #[serde(default)]
    pub active: Vec<String>,
    /// Stages where items wait.
    #[serde(default)]
    pub wait: Vec<String>,
}

impl Stream {
    /// What the section says about the stream's meaning (model, done
    /// stages, stage categories), for a stream named `name`; the window and
    /// "now" are left at their defaults. `flow` and `forecast` lay their
    /// options over it; `serve` uses it as is.
    pub fn flow_settings(&self, name: &str) -> nextneck_metrics::flow::FlowSettings {
        use nextneck_metrics::flow::{FlowSettings, Model, ModelChoice};
        let mut flow = FlowSettings::new(name);
        flow.model = match self.model.as_deref() {
            Some("transitions") => ModelChoice::Fixed(Model::Transitions),
            Some("activities") => ModelChoice::Fixed(Model::Activities),
            _ => ModelChoice::Auto,
        };
        flow.done = self.done.clone();
        flow.start.clone_from(&self.start);
        flow.active = self.stages.active.clone();
        flow.wait = self.stages.wait.clone();
        flow
    }

    /// The stream's files, relative to the config file's folder.
    pub fn paths(&self, dir: &Path) -> Vec<PathBuf> {
        self.file
            .iter()
            .chain(&self.files)
            .map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    dir.join(p)
                }
            })
            .collect()
    }
}

/// Reads `explicit`, or `nextneck.toml` in the current directory when it
/// exists; `None` when there is no file to read.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Option<Config>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(FILE_NAME);
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UsageError(format!(
            "cannot read the configuration {}: {e}",
            path.display()
        ))
    })?;
    let mut config = parse(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    config.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Some(config))
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<Config, String> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("line {line}, column {column}: {}", e.message().trim())
    })?;
    if let Some(p) = &config.git.deploy_tags {
        regex::Regex::new(p)
            .map_err(|e| format!("[git] deploy_tags: not a valid regular expression: {e}"))?;
    }
    if config.git.deploy_tags.is_some() && config.git.deploy_branch.is_some() {
        return Err(
            "[git]: set deploy_tags or deploy_branch, not both (a deployment is a tag or a branch commit)"
                .to_owned(),
        );
    }
    for (name, s) in &config.streams {
        if let Some(m) = &s.model
            && m != "transitions"
            && m != "activities"
        {
            return Err(format!(
                "stream \"{name}\": model \"{m}\" is not a model; use \"transitions\" or \"activities\""
            ));
        }
    }
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_other_sections() {
        let c = parse(
            r#"
            [server]
            listen = "127.0.0.1:8080"

            [delivery]
            bots = ["renovate"]

            [streams.hiring]
            file = "hiring.csv"
            done = ["hired", "rejected"]
            [streams.hiring.columns]
            case = "candidate"
            [streams.hiring.stages]
            active = ["interview"]

            [streams.billing]
            files = ["a.ndjson", "/abs/b.csv"]
            model = "activities"
            "#,
        )
        .unwrap();
        assert_eq!(c.streams.len(), 2);
        let h = &c.streams["hiring"];
        assert_eq!(h.columns.case.as_deref(), Some("candidate"));
        assert_eq!(h.stages.active, ["interview"]);
        assert_eq!(
            c.streams["billing"].paths(Path::new("cfg")),
            [PathBuf::from("cfg/a.ndjson"), PathBuf::from("/abs/b.csv")]
        );
    }

    /// The documented example has every section, and parses.
    #[test]
    fn the_documented_example_parses() {
        let c = parse(include_str!("../../../docs/nextneck.example.toml")).unwrap();
        assert_eq!(c.server.listen.as_deref(), Some("0.0.0.0:8080"));
        let limits = c.server.limits().unwrap();
        assert_eq!((limits.max_reports, limits.report_queue), (4, 16));
        assert_eq!(c.streams["hiring"].done, ["hired", "rejected"]);
        assert_eq!(c.streams["hiring"].start.as_deref(), Some("screen"));
        assert_eq!(
            c.streams["hiring"].flow_settings("hiring").start.as_deref(),
            Some("screen")
        );
        assert!(c.services.contains_key("checkout") && c.teams.contains_key("web"));
        assert_eq!(
            c.git.deploy_tags.as_deref(),
            Some(r"^v?[0-9]+(\.[0-9]+){1,2}$")
        );
        assert_eq!(c.digest.to.as_deref(), Some("slack"));
        assert_eq!(
            c.sync.github.api_url.as_deref(),
            Some("https://github.example.com/api/v3")
        );
        parse(include_str!("../../../examples/nextneck.toml")).unwrap();
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                "[streams.x]\nfile = \"a.csv\"\ndone_stages = [\"x\"]\n",
                "line 3, column 1: unknown field `done_stages`",
            ),
            (
                "[streams.x]\nfile = \"a.csv\"\nmodel = \"petri\"\n",
                "model \"petri\" is not a model",
            ),
            (
                "[streams.x]\nfile = \"a.csv\"\nlayout = \"tall\"\n",
                "layout \"tall\": use \"long\" (a row per event) or \"wide\" (a row per item)",
            ),
            (
                "[streams.x\n",
                "line 1, column 11: unclosed table, expected `]`",
            ),
            (
                "[delivry]\nbots = []\n",
                "line 1, column 2: unknown field `delivry`, expected one of",
            ),
            (
                "[git]\ndeploy_tags = \"(\"\n",
                "[git] deploy_tags: not a valid regular expression",
            ),
            (
                "[git]\ndeploy_tags = \"^v\"\ndeploy_branch = \"main\"\n",
                "[git]: set deploy_tags or deploy_branch, not both",
            ),
            (
                "[digest]\nto = \"slack\"\nchannel = \"x\"\n",
                "line 3, column 1: unknown field `channel`",
            ),
            (
                "[server]\nlisten = \"x\"\ngithub_secrt = \"x\"\n",
                "line 3, column 1: unknown field `github_secrt`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}

/// Fuzzing on stable Rust: the documented example mutated byte by byte, and
/// values nested deep. The property: `parse` never panics or overflows the
/// stack, and its errors are well-formed (lower case, no trailing period).
/// `NEXTNECK_FUZZ_CASES` sets the number of cases (default 64;
/// `scripts/fuzz.sh` runs many more).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod fuzz {
    use proptest::prelude::*;

    use super::parse;

    fn check(text: &str) {
        if let Err(e) = parse(text) {
            let first = e.chars().next().unwrap_or(' ');
            assert!(!first.is_uppercase(), "not lower case: {e}");
            assert!(!e.ends_with('.'), "trailing period: {e}");
        }
    }

    #[test]
    fn the_config_file_survives_mutation() {
        let seed = include_str!("../../../docs/nextneck.example.toml").as_bytes();
        let edit = (
            any::<usize>(),
            0usize..3,
            prop_oneof![
                Just(b'['),
                Just(b']'),
                Just(b'"'),
                Just(b'='),
                Just(b'\n'),
                Just(b'{'),
                Just(0xc3),
                any::<u8>()
            ],
        );
        nextneck_testkit::fuzz::runner()
            .run(&proptest::collection::vec(edit, 1..10), |edits| {
                let mut text = seed.to_vec();
                for (at, op, b) in edits {
                    let at = at % text.len().max(1);
                    match op {
                        0 if !text.is_empty() => text[at] = b,
                        1 if !text.is_empty() => {
                            text.remove(at);
                        }
                        _ => text.insert(at.min(text.len()), b),
                    }
                }
                check(&String::from_utf8_lossy(&text));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn deeply_nested_values_are_refused_without_overflow() {
        for d in [1_000, 100_000] {
            check(&format!("x = {}{}", "[".repeat(d), "]".repeat(d)));
            check(&format!("x = {}{}", "{a = ".repeat(d), "}".repeat(d)));
        }
    }
}
