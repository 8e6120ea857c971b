//! Renderers: a [`Report`] to a terminal table, JSON, Markdown or a
//! self-contained HTML page with SVG charts.
//!
//! Every renderer is a sink writing to any [`std::io::Write`]; none decides
//! anything about the figures, and none reads the environment: whether to
//! use colour is the caller's decision, passed in.

use std::io::{self, Write};

use nextneck_metrics::report::{DeploymentsFrom, ExplainedDeployment, Report};
use nextneck_metrics::tiers::Tier;
use nextneck_metrics::time::{date, human, rfc3339};

pub mod code;
pub mod dashboard;
pub mod delivery;
pub mod digest;
pub mod flow;
pub mod html;
pub mod md;
pub mod svg;
mod table;
pub mod views;

use table::{Style, Table};

pub use code::render_code;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// The documented JSON schema.
    Json,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// A self-contained HTML page with charts.
    Html,
}

/// Writes `report` in `format`. `color` only affects [`Format::Table`].
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table_report(report, color, out),
        Format::Json => json(report, out),
        Format::Markdown => markdown(report, out),
        Format::Html => html::report(report, out),
    }
}

/// Pretty-printed JSON followed by a newline.
pub fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    writeln!(out)
}

/// `1 change`, `2 changes`.
pub(crate) fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// ` (from #12, 3 own commits, first 2025-01-02T...)` for a change a
/// request landed, empty otherwise.
fn request_note(c: &nextneck_metrics::report::ExplainedChange) -> String {
    let Some(r) = &c.request else {
        return String::new();
    };
    match r.first_commit_time {
        Some(first) => format!(
            " (from {}: {} of its own, first {})",
            r.request,
            count(r.own_commits, "commit", "commits"),
            rfc3339(first)
        ),
        None => format!(" (from {})", r.request),
    }
}

pub(crate) fn opt_human(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), human)
}

pub(crate) fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), whole_percent)
}

fn tier_style(t: Option<Tier>) -> Style {
    match t {
        Some(Tier::Elite) => Style::Green,
        Some(Tier::High) => Style::Cyan,
        Some(Tier::Medium) => Style::Yellow,
        Some(Tier::Low) => Style::Red,
        None => Style::Plain,
    }
}

pub(crate) fn source_line(report: &Report) -> String {
    source_line_with(report, &str::to_owned)
}

/// The source line with its path passed through `q` (Markdown makes it a
/// code span).
fn source_line_with(report: &Report, q: &dyn Fn(&str) -> String) -> String {
    let s = &report.source;
    if let Some(db) = &s.db {
        let mut line = format!("{db} ({} events", s.events.unwrap_or(0));
        if !s.path.is_empty() {
            line.push_str(&format!(
                "; clone {}, {} commits{}",
                q(&s.path),
                s.commits,
                if s.shallow { ", shallow" } else { "" }
            ));
        }
        line.push(')');
        return line;
    }
    format!(
        "{} ({} commits, {} tags{})",
        q(&s.path),
        s.commits,
        s.tags,
        if s.shallow { ", shallow" } else { "" }
    )
}

fn window_line(report: &Report) -> String {
    let w = &report.window;
    format!(
        "{} to {} ({} days, {})",
        rfc3339(w.since),
        rfc3339(w.until),
        trim_float(w.days),
        w.selection
    )
}

pub(crate) fn deployments_line(report: &Report) -> String {
    deployments_line_with(report, &str::to_owned)
}

/// The deployments line with its pattern or branch passed through `q`.
fn deployments_line_with(report: &Report, q: &dyn Fn(&str) -> String) -> String {
    match &report.deployments_from {
        DeploymentsFrom::Tags {
            pattern,
            matching_tags,
            ..
        } => {
            format!("tags matching {} ({matching_tags} tags)", q(pattern))
        }
        DeploymentsFrom::Branch { branch } => {
            format!("every first-parent commit of {}", q(branch))
        }
        DeploymentsFrom::Events {
            production_pattern,
            production,
            not_production,
            releases,
        } => {
            let counted = if releases.counted > 0 {
                format!(
                    "; {} counted as deployments (deployments_from {})",
                    count(releases.counted, "release", "releases"),
                    releases.deployments_from
                )
            } else {
                String::new()
            };
            format!(
                "successful production deployment events (environment matching {} or flagged production; {production} production, {not_production} other deployments seen{counted})",
                q(production_pattern)
            )
        }
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A DORA row's level column: the level, `too few to rate`, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// A level.
    Rated(Tier),
    /// A figure whose sample is below the documented minimum.
    TooFew,
    /// No level (no figure, or a figure without levels).
    None,
}

impl Level {
    fn of(tier: Option<Tier>, too_few: bool) -> Level {
        match (tier, too_few) {
            (Some(t), _) => Level::Rated(t),
            (None, true) => Level::TooFew,
            (None, false) => Level::None,
        }
    }

    /// The words in the level column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Level::Rated(t) => t.as_str(),
            Level::TooFew => "too few to rate",
            Level::None => "",
        }
    }

    fn tier(self) -> Option<Tier> {
        match self {
            Level::Rated(t) => Some(t),
            _ => None,
        }
    }
}

/// The DORA rows: (metric, value, level). The words for a deployment, an
/// attempt and a failure are those of `docs/metrics.md`: deployments are
/// successful ones, attempts are deployments plus failed attempts, and a
/// failure is a failed attempt or a deployment that failed.
fn dora_rows(report: &Report) -> Vec<(&'static str, String, Level)> {
    let d = &report.dora;
    let f = &d.deployment_frequency;
    let freq = match f.per_week {
        Some(pw) => {
            let attempts = if f.failed_attempts > 0 {
                format!(
                    "; {} not counted",
                    count(f.failed_attempts, "failed attempt", "failed attempts")
                )
            } else {
                String::new()
            };
            let days = f.median_deploy_days_per_week.map_or(String::new(), |m| {
                format!(
                    "; in a typical week, deployments on {} of 7 days (median of {})",
                    trim_float(m),
                    count(f.weeks, "week", "weeks")
                )
            });
            format!(
                "{}/week ({}{attempts}{days})",
                fixed(pw, 2),
                count(d.deployments.count, "deployment", "deployments")
            )
        }
        None => "n/a (no deployment recognised)".to_owned(),
    };
    let lead = match d.lead_time.median_seconds {
        Some(m) => format!(
            "median {}, p85 {} ({})",
            human(m),
            opt_human(d.lead_time.p85_seconds),
            count(d.lead_time.changes, "change", "changes")
        ),
        None => "n/a (no measured change)".to_owned(),
    };
    let c = &d.change_failure_rate;
    let cfr = match c.ratio {
        Some(r) if c.deployments == d.deployments.count => format!(
            "{} ({} of {} failed)",
            whole_percent(r),
            c.failed,
            count(c.deployments, "deployment", "deployments")
        ),
        Some(r) => format!(
            "{} ({} of {} failed: {}, {})",
            whole_percent(r),
            c.failed,
            count(c.deployments, "attempt", "attempts"),
            count(d.deployments.count, "deployment", "deployments"),
            count(f.failed_attempts, "failed attempt", "failed attempts")
        ),
        None => "n/a (no deployment attempt)".to_owned(),
    };
    let rt = &d.recovery_time;
    let recovery = match rt.median_seconds {
        Some(m) => format!(
            "median {}, p85 {} ({})",
            human(m),
            opt_human(rt.p85_seconds),
            count(rt.recoveries, "recovery", "recoveries")
        ),
        None if rt.failed > 0 => format!(
            "n/a ({}, none recovered yet)",
            count(rt.failed, "failure", "failures")
        ),
        None => "n/a (no failure)".to_owned(),
    };
    let rework = match d.rework_rate.ratio {
        Some(r) => format!(
            "{} ({} of {})",
            whole_percent(r),
            d.rework_rate.reworked,
            count(d.rework_rate.deployments, "deployment", "deployments")
        ),
        None => "n/a (no deployment)".to_owned(),
    };
    vec![
        (
            "deployment frequency",
            freq,
            Level::of(f.tier, f.too_few_to_rate),
        ),
        (
            "lead time for changes",
            lead,
            Level::of(d.lead_time.tier, d.lead_time.too_few_to_rate),
        ),
        (
            "change failure rate",
            cfr,
            Level::of(c.tier, c.too_few_to_rate),
        ),
        (
            "recovery time",
            recovery,
            Level::of(rt.tier, rt.too_few_to_rate),
        ),
        ("rework rate", rework, Level::None),
    ]
}

/// `v` with `decimals` decimals, never `-0`: a value that rounds to zero
/// prints without a sign.
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// A ratio as a whole percentage, never `-0%`.
pub(crate) fn whole_percent(r: f64) -> String {
    format!("{}%", fixed(r * 100.0, 0))
}

/// `N changes not deployed yet (oldest authored DATE)`: the table's, the
/// Markdown's and the page's "waiting" line.
pub(crate) fn waiting_line(report: &Report) -> String {
    format!(
        "{} not deployed yet{}",
        count(report.undeployed.changes, "change", "changes"),
        oldest_authored(report)
    )
}

/// ` (oldest authored DATE)`, or nothing when no author time is known.
fn oldest_authored(report: &Report) -> String {
    report
        .undeployed
        .oldest_author_time
        .map_or_else(String::new, |t| format!(" (oldest authored {})", date(t)))
}

fn bar(share: Option<f64>, width: usize) -> String {
    let Some(share) = share else {
        return String::new();
    };
    let cells = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    "█".repeat(cells)
}

fn table_report(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(out, "{} {}", bold("nextneck report"), source_line(report))?;
    writeln!(out, "window       {}", window_line(report))?;
    writeln!(out, "deployments  {}", deployments_line(report))?;
    writeln!(out)?;

    let mut t = Table::new(&["DORA", "value", "level"]);
    for (metric, value, level) in dora_rows(report) {
        t.row(vec![
            (metric.to_owned(), Style::Plain),
            (value, Style::Plain),
            (level.as_str().to_owned(), tier_style(level.tier())),
        ]);
    }
    t.write(out, color)?;
    writeln!(out)?;

    let bottleneck = report.bottleneck.as_ref().map(|b| b.stage);
    let mut t = Table::new(&["stage", "median", "p85", "total", "share", ""]);
    for s in &report.stages {
        let style = if Some(s.name) == bottleneck {
            Style::Red
        } else {
            Style::Plain
        };
        t.row(vec![
            (s.name.to_owned(), style),
            (opt_human(s.median_seconds), Style::Plain),
            (opt_human(s.p85_seconds), Style::Plain),
            (human(s.total_seconds), Style::Plain),
            (percent(s.share), Style::Plain),
            (bar(s.share, 30), style),
        ]);
    }
    t.write(out, color)?;
    writeln!(out)?;

    match &report.bottleneck {
        Some(b) => writeln!(
            out,
            "{} {}",
            bold(&format!(
                "{}:",
                crate::verdict_name(b.too_few_to_call).to_lowercase()
            )),
            b.evidence.summary
        )?,
        None if report
            .notices
            .iter()
            .any(|n| n.code == "squash_merges_without_request_refs") =>
        {
            writeln!(
                out,
                "{} none: the time before the merge is not observable (see the notes)",
                bold("bottleneck:")
            )?
        }
        None => writeln!(
            out,
            "{} none: no change with a lead time in the window",
            bold("bottleneck:")
        )?,
    }
    if report.undeployed.changes > 0 {
        writeln!(out, "{} {}", bold("waiting:"), waiting_line(report))?;
    }
    if let Some(code) = &report.code {
        writeln!(out, "{} {}", bold("code:"), code.summary)?;
    }
    delivery::text(report, color, out)?;
    if !report.notices.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", bold("notes"))?;
        for n in &report.notices {
            writeln!(out, "  - {}", n.message)?;
        }
    }
    if let Some(explain) = &report.explain {
        match &explain.delivery {
            Some(e) => delivery::explain_text(e, color, out)?,
            None => {
                writeln!(out)?;
                writeln!(out, "{}", bold("deployments in the window, oldest first"))?;
                for d in &explain.deployments {
                    explain_text(d, color, out)?;
                }
            }
        }
    }
    Ok(())
}

fn explain_text(d: &ExplainedDeployment, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut head = format!(
        "{}  {}  {}",
        Style::Bold.paint(&d.name, color),
        rfc3339(d.time),
        &d.commit[..12]
    );
    if !d.aliases.is_empty() {
        head.push_str(&format!("  (also {})", d.aliases.join(", ")));
    }
    if d.baseline {
        head.push_str("  baseline: changes get no lead time");
    }
    writeln!(out, "{head}")?;
    let counted = d.changes.iter().filter(|c| c.counted).count();
    writeln!(
        out,
        "  {} ({} counted), {}",
        count(d.changes.len(), "change", "changes"),
        counted,
        count(d.merges, "merge", "merges")
    )?;
    for c in &d.changes {
        let times = match (c.coding_seconds, c.deploy_seconds) {
            (Some(cd), Some(dp)) => format!(
                "lead {} = coding {} + deploy {}",
                human(c.lead_time_seconds as f64),
                human(cd as f64),
                human(dp as f64)
            ),
            _ if d.baseline => "baseline".to_owned(),
            _ => format!(
                "lead {} (negative, not counted)",
                human(c.lead_time_seconds as f64)
            ),
        };
        writeln!(
            out,
            "    {}  {}  {}  {}{}",
            &c.commit[..10],
            rfc3339(c.author_time),
            times,
            c.subject,
            request_note(c)
        )?;
    }
    for l in &d.reverted {
        writeln!(
            out,
            "  {} {} reverted by {} shipped in {} ({})",
            Style::Red.paint("failed:", color),
            &l.commit[..10],
            &l.reverted_by[..10],
            l.revert_deployment,
            rfc3339(l.revert_deployment_time)
        )?;
    }
    if let Some(r) = d.recovery_seconds {
        writeln!(out, "  recovery time {}", human(r as f64))?;
    }
    for r in &d.rework {
        writeln!(
            out,
            "  rework ({}): {}  {}",
            r.reason,
            &r.commit[..10],
            r.subject
        )?;
    }
    Ok(())
}

/// Plain text with `` `code` `` marks, for a Markdown table cell.
pub(crate) fn md_escape(s: &str) -> String {
    md::cell(s)
}

/// The Markdown report, cut to fit a GitHub comment ([`md::cap`]).
fn markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut doc = Vec::new();
    markdown_full(report, &mut doc)?;
    let doc = String::from_utf8_lossy(&doc);
    out.write_all(
        md::cap(
            &doc,
            md::COMMENT_LIMIT,
            "run the same command with `--format json` or `--format table`",
        )
        .as_bytes(),
    )
}

fn markdown_full(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## nextneck report: {}",
        md::text_with_code(&source_line_with(report, &md::mark))
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Window: {}. Deployments: {}.",
        window_line(report),
        md::text_with_code(&deployments_line_with(report, &md::mark))
    )?;
    writeln!(out)?;
    writeln!(out, "| DORA | value | level |")?;
    writeln!(out, "|---|---|---|")?;
    for (metric, value, level) in dora_rows(report) {
        writeln!(
            out,
            "| {metric} | {} | {} |",
            md_escape(&value),
            level.as_str()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "| stage | median | p85 | total | share |")?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    let bottleneck = report.bottleneck.as_ref().map(|b| b.stage);
    for s in &report.stages {
        let name = if Some(s.name) == bottleneck {
            format!("**{}**", s.name)
        } else {
            s.name.to_owned()
        };
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            opt_human(s.median_seconds),
            opt_human(s.p85_seconds),
            human(s.total_seconds),
            percent(s.share)
        )?;
    }
    writeln!(out)?;
    match &report.bottleneck {
        Some(b) => writeln!(
            out,
            "**{}:** {}.",
            crate::verdict_name(b.too_few_to_call),
            md::text(&b.evidence.summary)
        )?,
        None => writeln!(
            out,
            "**Bottleneck:** none: no change with a lead time in the window."
        )?,
    }
    if report.undeployed.changes > 0 {
        writeln!(out)?;
        writeln!(out, "**Waiting:** {}.", waiting_line(report))?;
    }
    if let Some(code) = &report.code {
        writeln!(out)?;
        writeln!(out, "**Code:** {}.", md::text(&code.summary))?;
    }
    delivery::markdown(report, out)?;
    if !report.notices.is_empty() {
        writeln!(out)?;
        for n in &report.notices {
            writeln!(out, "> {}", md::text(&n.message))?;
            writeln!(out)?;
        }
    }
    if let Some(e) = report.explain.as_ref().and_then(|e| e.delivery.as_ref()) {
        delivery::explain_markdown(e, out)?;
    } else if let Some(explain) = &report.explain {
        writeln!(out)?;
        writeln!(out, "### Deployments in the window")?;
        for d in &explain.deployments {
            writeln!(out)?;
            writeln!(
                out,
                "#### {} · {} · `{}`{}",
                md::code(&d.name),
                rfc3339(d.time),
                &d.commit[..12],
                if d.baseline { " · baseline" } else { "" }
            )?;
            writeln!(out)?;
            writeln!(
                out,
                "| change | authored | lead | coding | deploy | subject |"
            )?;
            writeln!(out, "|---|---|---:|---:|---:|---|")?;
            for c in &d.changes {
                writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    &c.commit[..10],
                    rfc3339(c.author_time),
                    if c.counted {
                        human(c.lead_time_seconds as f64)
                    } else {
                        "not counted".to_owned()
                    },
                    c.coding_seconds.map_or("".to_owned(), |v| human(v as f64)),
                    c.deploy_seconds.map_or("".to_owned(), |v| human(v as f64)),
                    md_escape(&format!("{}{}", c.subject, request_note(c)))
                )?;
            }
            for l in &d.reverted {
                writeln!(out)?;
                writeln!(
                    out,
                    "Failed: `{}` reverted by `{}`, shipped in {} ({}).",
                    &l.commit[..10],
                    &l.reverted_by[..10],
                    md::code(&l.revert_deployment),
                    rfc3339(l.revert_deployment_time)
                )?;
            }
            if let Some(r) = d.recovery_seconds {
                writeln!(out)?;
                writeln!(out, "Recovery time: {}.", human(r as f64))?;
            }
            for r in &d.rework {
                writeln!(out)?;
                writeln!(
                    out,
                    "Rework ({}): `{}` {}",
                    r.reason,
                    &r.commit[..10],
                    md::text(&r.subject)
                )?;
            }
        }
    }
    Ok(())
}

/// What a verdict is called in every format: the bottleneck, or only the
/// largest stage when too few items were counted to call it one
/// (docs/metrics.md, "Sample sizes").
pub(crate) fn verdict_name(too_few_to_call: bool) -> &'static str {
    if too_few_to_call {
        "Largest stage"
    } else {
        "Bottleneck"
    }
}
