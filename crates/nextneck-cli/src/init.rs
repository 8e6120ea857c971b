//! `nextneck init`: looks at a repository (the tags its releases use, its
//! main branch, its CODEOWNERS, the components its tag prefixes name) and
//! writes a commented `nextneck.toml` to edit. It never overwrites a file
//! without `--force`, and what it writes is read back with the one reader
//! of the file (`config.rs`) before it is put in place.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use nextneck_metrics::git::{DEFAULT_DEPLOY_TAGS, component_pattern, component_prefix};
use nextneck_model::{History, TagTarget};
use regex::Regex;

use crate::UsageError;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository to look at (default `.`).
    path: Option<PathBuf>,

    /// Where to write (default: nextneck.toml in the repository's directory).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Replace the file when it exists.
    #[arg(long)]
    force: bool,
}

/// What `init` found in the repository.
#[derive(Debug, Default, PartialEq)]
pub struct Findings {
    /// Tags in the repository.
    pub tags: usize,
    /// Tags like `v1.2.3` (the default deployment pattern).
    pub plain_releases: usize,
    /// Component tag prefixes with their release count, most releases first.
    pub components: Vec<(String, usize)>,
    /// The main branch, when one is found.
    pub main_branch: Option<String>,
    /// Where CODEOWNERS was found and its team owners (`@org/team`).
    pub codeowners: Option<(String, Vec<String>)>,
}

/// Looks at a loaded history and the work tree's CODEOWNERS.
pub fn look(history: &History, work_tree: &Path) -> Findings {
    let default = Regex::new(DEFAULT_DEPLOY_TAGS).expect("the default pattern compiles");
    let mut f = Findings::default();
    let mut components: BTreeMap<String, usize> = BTreeMap::new();
    for tag in &history.tags {
        f.tags += 1;
        if !matches!(tag.target, TagTarget::Commit(_)) {
            continue;
        }
        if default.is_match(&tag.name) {
            f.plain_releases += 1;
        } else if let Some(prefix) = component_prefix(&tag.name) {
            *components.entry(prefix.to_owned()).or_default() += 1;
        }
    }
    f.components = components.into_iter().collect();
    f.components
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.main_branch = main_branch(history);
    f.codeowners = codeowners(work_tree);
    f
}

/// `main`, `master`, `trunk` or `develop`, the first one present; else the
/// branch `HEAD` is on.
fn main_branch(history: &History) -> Option<String> {
    let names: Vec<&str> = history.branches.iter().map(|b| b.name.as_str()).collect();
    ["main", "master", "trunk", "develop"]
        .iter()
        .find(|n| names.contains(n))
        .map(|n| (*n).to_owned())
        .or_else(|| {
            let head = history.head?;
            history
                .branches
                .iter()
                .find(|b| b.tip == head)
                .map(|b| b.name.clone())
        })
}

/// The CODEOWNERS file's place and its team owners (`@org/team`), in order
/// of first appearance.
fn codeowners(work_tree: &Path) -> Option<(String, Vec<String>)> {
    let (place, text) = [
        ".github/CODEOWNERS",
        "CODEOWNERS",
        "docs/CODEOWNERS",
        ".gitlab/CODEOWNERS",
    ]
    .iter()
    .find_map(|rel| {
        std::fs::read_to_string(work_tree.join(rel))
            .ok()
            .map(|t| (*rel, t))
    })?;
    let mut teams: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') || line.starts_with("^[") {
            continue;
        }
        for owner in line.split_whitespace().skip(1) {
            if owner.starts_with('@') && owner.contains('/') && !teams.iter().any(|t| t == owner) {
                teams.push(owner.to_owned());
            }
        }
    }
    Some((place.to_owned(), teams))
}

/// A TOML string, quoted and escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML table key: bare when it can be.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        s.to_owned()
    } else {
        quoted(s)
    }
}

/// The team's name in `[teams.NAME]`: the part after the organisation.
fn team_name(owner: &str) -> &str {
    owner.rsplit('/').next().unwrap_or(owner)
}

/// The commented file for what was found.
pub fn write_config(f: &Findings, repo: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# nextneck.toml, written by `nextneck init` for {repo}. Edit it freely:\n# every section is optional and an unknown key is an error naming its line.\n# docs/nextneck.example.toml shows every section; docs/metrics.md says what\n# each setting does."
    );
    t.push_str(&git_section(f));
    t.push_str(&teams_section(f));
    t.push_str(
        "\n# `nextneck report --db URL`: the delivery events of webhooks and imports.\n# [delivery]\n# production = \"(?i)^(prod|production|live)([-_./: ].*)?$\"\n# bots = [\"renovate\"]\n\n# `nextneck serve`: where it listens and its store. The webhook secrets are\n# best kept in the environment (NEXTNECK_GITHUB_SECRET, ...), not here.\n# [server]\n# listen = \"127.0.0.1:8080\"\n# db = \"sqlite:nextneck.db\"\n\n# `nextneck serve` posts the weekly digest to a chat's incoming webhook\n# (slack, teams, mattermost or discord; the URL may be NEXTNECK_DIGEST_URL).\n# [digest]\n# to = \"slack\"\n# url = \"https://hooks.slack.com/services/...\"\n# weekday = \"monday\"\n# hour = 8\n",
    );
    t
}

fn git_section(f: &Findings) -> String {
    let mut t = String::from(
        "\n# `nextneck report PATH`: which tags or commits are deployments\n# (--deploy-tags and --deploy-branch override this).\n[git]\n",
    );
    let others = f.tags - f.plain_releases - f.components.iter().map(|c| c.1).sum::<usize>();
    let _ = writeln!(
        t,
        "# Found {} {}: {} like v1.2.3, {} of {} {}, {} other.",
        f.tags,
        if f.tags == 1 { "tag" } else { "tags" },
        f.plain_releases,
        f.components.iter().map(|c| c.1).sum::<usize>(),
        f.components.len(),
        if f.components.len() == 1 {
            "component"
        } else {
            "components"
        },
        others
    );
    let branch = f.main_branch.as_deref().unwrap_or("main");
    // The main choice, then the alternatives commented out.
    let mut alternatives: Vec<String> = Vec::new();
    if f.plain_releases > 0 {
        let _ = writeln!(t, "# Tags like v1.2.3 are releases:");
        let _ = writeln!(t, "deploy_tags = {}", quoted(DEFAULT_DEPLOY_TAGS));
    } else if let Some((prefix, n)) = f.components.first() {
        let _ = writeln!(
            t,
            "# The releases of `{}` ({}), the component with the most:",
            prefix.trim_end_matches(['-', '/', '_', '@']),
            plural(*n, "tag")
        );
        let _ = writeln!(t, "deploy_tags = {}", quoted(&component_pattern(prefix)));
    } else {
        let _ = writeln!(
            t,
            "# No tag looks like a release, so every first-parent commit of the main\n# branch is a deployment (continuous deployment):"
        );
        let _ = writeln!(t, "deploy_branch = {}", quoted(branch));
    }
    let skip = usize::from(f.plain_releases == 0);
    for (prefix, n) in f.components.iter().skip(skip) {
        alternatives.push(format!(
            "# deploy_tags = {}   # {}: {}",
            quoted(&component_pattern(prefix)),
            prefix.trim_end_matches(['-', '/', '_', '@']),
            plural(*n, "tag")
        ));
    }
    if f.plain_releases > 0 || !f.components.is_empty() {
        alternatives.push(format!(
            "# deploy_branch = {}   # every first-parent commit of the main branch (instead of deploy_tags)",
            quoted(branch)
        ));
    }
    if !alternatives.is_empty() {
        let _ = writeln!(
            t,
            "# Instead (one of deploy_tags and deploy_branch; a monorepo's components\n# are reported one at a time, or pass --deploy-tags):"
        );
        for a in alternatives {
            let _ = writeln!(t, "{a}");
        }
    }
    t
}

fn teams_section(f: &Findings) -> String {
    let mut t = String::new();
    match &f.codeowners {
        Some((place, teams)) if !teams.is_empty() => {
            let _ = writeln!(
                t,
                "\n# Teams, from the owners of {place}: `report --db URL PATH --team NAME`\n# reports one team's changes (add the repositories and services it owns)."
            );
            for owner in teams {
                let _ = writeln!(
                    t,
                    "[teams.{}]\ncodeowners = [{}]",
                    key(team_name(owner)),
                    quoted(owner)
                );
            }
        }
        Some((place, _)) => {
            let _ = writeln!(
                t,
                "\n# {place} names no team (@org/team), only people; a team looks like:\n# [teams.web]\n# codeowners = [\"@acme/web\"]"
            );
        }
        None => {
            let _ = writeln!(
                t,
                "\n# No CODEOWNERS file; teams are named by hand:\n# [teams.web]\n# repositories = [\"acme/web-*\"]\n# codeowners = [\"@acme/web\"]"
            );
        }
    }
    t
}

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| path.join(crate::config::FILE_NAME));
    if target.exists() && !args.force {
        return Err(UsageError(format!(
            "{} exists; edit it, or pass --force to replace it",
            target.display()
        ))
        .into());
    }
    let history = nextneck_git::load(
        &path,
        &nextneck_git::LoadOptions::default(),
        &mut nextneck_git::NoProgress,
    )?;
    let findings = look(&history, &path);
    let text = write_config(&findings, &path.display().to_string());
    crate::config::parse(&text).map_err(|e| {
        anyhow::anyhow!("the written configuration does not load ({e}); please report this")
    })?;
    crate::output::write_to(Some(&target), |out| out.write_all(text.as_bytes()))
        .with_context(|| format!("could not write {}", target.display()))?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "wrote {}: {} {}, main branch {}, {}; edit it, then run `nextneck report`",
        target.display(),
        findings.tags,
        if findings.tags == 1 { "tag" } else { "tags" },
        findings.main_branch.as_deref().unwrap_or("not found"),
        match &findings.codeowners {
            Some((place, teams)) => format!("{} from {place}", plural(teams.len(), "team")),
            None => "no CODEOWNERS".to_owned(),
        }
    );
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
