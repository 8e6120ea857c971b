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
    v.map_or_else(|| "n/a".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn tier(t: Option<Tier>) -> &'static str {
    t.map_or("", Tier::as_str)
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
    let s = &report.source;
    if let Some(db) = &s.db {
        let mut line = format!("{db} ({} events", s.events.unwrap_or(0));
        if !s.path.is_empty() {
            line.push_str(&format!(
                "; clone {}, {} commits{}",
                s.path,
                s.commits,
                if s.shallow { ", shallow" } else { "" }
            ));
        }
        line.push(')');
        return line;
    }
    format!(
        "{} ({} commits, {} tags{})",
        s.path,
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
    match &report.deployments_from {
        DeploymentsFrom::Tags {
            pattern,
            matching_tags,
            ..
        } => {
            format!("tags matching {pattern} ({matching_tags} tags)")
        }
        DeploymentsFrom::Branch { branch } => format!("every first-parent commit of {branch}"),
        DeploymentsFrom::Events {
            production_pattern,
            production,
            not_production,
        } => format!(
            "successful production deployment events (environment matching {production_pattern} or flagged production; {production} production, {not_production} other deployments seen)"
        ),
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The DORA rows: (metric, value, tier).
fn dora_rows(report: &Report) -> Vec<(&'static str, String, Option<Tier>)> {
    let d = &report.dora;
    let freq = match d.deployment_frequency.per_week {
        Some(pw) => {
            let days = d
                .deployment_frequency
                .median_deploy_days_per_week
                .map_or(String::new(), |m| {
                    format!(", median {} deploy days/week", trim_float(m))
                });
            format!(
                "{:.2}/week ({}{days})",
                pw,
                count(d.deployments.count, "deployment", "deployments")
            )
        }
        None => "n/a".to_owned(),
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
    let cfr = match d.change_failure_rate.ratio {
        Some(r) => format!(
            "{:.0}% ({} of {})",
            r * 100.0,
            d.change_failure_rate.failed,
            count(
                d.change_failure_rate.deployments,
                "deployment",
                "deployments"
            )
        ),
        None => "n/a (no deployment)".to_owned(),
    };
    let recovery = match d.recovery_time.median_seconds {
        Some(m) => format!(
            "median {}, p85 {} ({})",
            human(m),
            opt_human(d.recovery_time.p85_seconds),
            count(d.recovery_time.recoveries, "recovery", "recoveries")
        ),
        None => "n/a (no failed deployment)".to_owned(),
    };
    let rework = match d.rework_rate.ratio {
        Some(r) => format!(
            "{:.0}% ({} of {} deployments)",
            r * 100.0,
            d.rework_rate.reworked,
            d.rework_rate.deployments
        ),
        None => "n/a (no deployment)".to_owned(),
    };
    vec![
        ("deployment frequency", freq, d.deployment_frequency.tier),
        ("lead time for changes", lead, d.lead_time.tier),
        ("change failure rate", cfr, d.change_failure_rate.tier),
        ("recovery time", recovery, d.recovery_time.tier),
        ("rework rate", rework, None),
    ]
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
            (tier(level).to_owned(), tier_style(level)),
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
        Some(b) => writeln!(out, "{} {}", bold("bottleneck:"), b.evidence.summary)?,
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

pub(crate) fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## nextneck report: {}",
        md_escape(&source_line(report))
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Window: {}. Deployments: {}.",
        window_line(report),
        md_escape(&deployments_line(report))
    )?;
    writeln!(out)?;
    writeln!(out, "| DORA | value | level |")?;
    writeln!(out, "|---|---|---|")?;
    for (metric, value, level) in dora_rows(report) {
        writeln!(
            out,
            "| {metric} | {} | {} |",
            md_escape(&value),
            tier(level)
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
        Some(b) => writeln!(out, "**Bottleneck:** {}.", md_escape(&b.evidence.summary))?,
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
        writeln!(out, "**Code:** {}.", md_escape(&code.summary))?;
    }
    delivery::markdown(report, out)?;
    if !report.notices.is_empty() {
        writeln!(out)?;
        for n in &report.notices {
            writeln!(out, "> {}", md_escape(&n.message))?;
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
                md_escape(&d.name),
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
                    md_escape(&l.revert_deployment),
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
                    md_escape(&r.subject)
                )?;
            }
        }
    }
    Ok(())
}
