//! The parts of a delivery events report that a git report does not have:
//! incidents (time to restore, time to reflect, resolved incidents without
//! a postmortem), CI health (workflows, flaky and slowest tests) and the
//! links behind every figure (`--explain`), as text, Markdown and HTML.

use std::io::{self, Write};

use nextneck_metrics::report::{
    Ci, DeliveryExplain, EventChange, EventDeployment, EventIncident, IncidentRef, Incidents,
    Report, UnlinkedThing,
};
use nextneck_metrics::time::{human, rfc3339};

use crate::table::{Style, Table};
use crate::{count, md, md_escape, opt_human, percent};

fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "n/a".to_owned(), rfc3339)
}

fn opt_secs(v: Option<i64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |s| human(s as f64))
}

fn incident_name(i: &IncidentRef) -> String {
    let mut s = format!("{}:{}", i.source, i.id);
    if let Some(t) = &i.title {
        s.push_str(&format!(" \"{t}\""));
    }
    if let Some(svc) = &i.service {
        s.push_str(&format!(" ({svc})"));
    }
    s
}

/// The incident rows: (figure, value).
fn incident_rows(i: &Incidents) -> Vec<(&'static str, String)> {
    vec![
        (
            "incidents",
            format!(
                "{} opened ({} resolved, {} linked to a deployment)",
                i.count, i.resolved, i.linked_to_deployment
            ),
        ),
        (
            "time to restore",
            match i.time_to_restore.median_seconds {
                Some(m) => format!(
                    "median {}, p85 {} ({})",
                    human(m),
                    opt_human(i.time_to_restore.p85_seconds),
                    count(i.time_to_restore.incidents, "incident", "incidents")
                ),
                None => "n/a (no resolved incident)".to_owned(),
            },
        ),
        (
            "time to reflect",
            match i.time_to_reflect.median_seconds {
                Some(m) => format!(
                    "median {}, p85 {} ({} with a postmortem)",
                    human(m),
                    opt_human(i.time_to_reflect.p85_seconds),
                    count(i.time_to_reflect.incidents, "incident", "incidents")
                ),
                None => "n/a (no postmortem after a resolution)".to_owned(),
            },
        ),
        (
            "without postmortem",
            format!(
                "{} resolved without a postmortem",
                count(i.without_postmortem.len(), "incident", "incidents")
            ),
        ),
    ]
}

/// One line per CI workflow: (name, cells).
fn workflow_rows(ci: &Ci) -> Vec<Vec<String>> {
    ci.workflows
        .iter()
        .map(|w| {
            vec![
                match &w.repository {
                    Some(r) => format!("{r} {}", w.workflow),
                    None => w.workflow.clone(),
                },
                w.runs.to_string(),
                percent(w.success_rate),
                opt_human(w.duration_median_seconds),
                opt_human(w.duration_p85_seconds),
                opt_human(w.queue_median_seconds),
                opt_human(w.queue_p85_seconds),
            ]
        })
        .collect()
}

const WORKFLOW_HEAD: [&str; 7] = [
    "workflow",
    "runs",
    "success",
    "duration p50",
    "p85",
    "queue p50",
    "p85",
];

/// Incidents and CI as text.
pub(crate) fn text(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    if let Some(i) = &report.incidents {
        writeln!(out)?;
        let mut t = Table::new(&["INCIDENTS", "value"]);
        for (name, value) in incident_rows(i) {
            t.row(vec![(name.to_owned(), Style::Plain), (value, Style::Plain)]);
        }
        t.write(out, color)?;
        if !i.without_postmortem.is_empty() {
            writeln!(
                out,
                "{}",
                bold("resolved without a postmortem, oldest first")
            )?;
            for inc in &i.without_postmortem {
                writeln!(
                    out,
                    "  {}  opened {}  resolved {}",
                    incident_name(inc),
                    opt_time(inc.opened_at),
                    opt_time(inc.resolved_at)
                )?;
            }
        }
    }
    if let Some(ci) = &report.ci {
        if !ci.workflows.is_empty() {
            writeln!(out)?;
            let mut head = WORKFLOW_HEAD;
            head[0] = "CI WORKFLOW";
            let mut t = Table::new(&head);
            for row in workflow_rows(ci) {
                t.row(row.into_iter().map(|c| (c, Style::Plain)).collect());
            }
            t.write(out, color)?;
        }
        if !ci.flaky_tests.is_empty() {
            writeln!(out)?;
            writeln!(out, "{}", bold("flaky tests"))?;
            for f in &ci.flaky_tests {
                writeln!(
                    out,
                    "  {}  flaky on {}, {} of {} executions failed, {} marked flaky by a rerun",
                    f.test,
                    count(f.flaky_commits, "commit", "commits"),
                    f.failed,
                    f.executions,
                    f.marked_flaky
                )?;
            }
        }
        if !ci.slowest_tests.is_empty() {
            writeln!(out)?;
            writeln!(out, "{}", bold("slowest tests"))?;
            for s in &ci.slowest_tests {
                writeln!(
                    out,
                    "  {}  median {}, p85 {}, max {} ({})",
                    s.test,
                    opt_human(s.median_seconds),
                    opt_human(s.p85_seconds),
                    human(s.max_seconds),
                    count(s.executions, "execution", "executions")
                )?;
            }
        }
    }
    Ok(())
}

fn deployment_head(d: &EventDeployment) -> String {
    let mut head = format!(
        "{}:{}  {}  {}",
        d.thing.source,
        d.thing.id,
        rfc3339(d.time),
        d.status
    );
    if let Some(s) = &d.service {
        head.push_str(&format!("  service {s}"));
    }
    if let Some(r) = &d.repository {
        head.push_str(&format!("  {r}"));
    }
    if let Some(sha) = &d.sha {
        head.push_str(&format!("  {}", sha.get(..12).unwrap_or(sha)));
    }
    if d.baseline {
        head.push_str("  baseline: its changes get no lead time");
    }
    head
}

fn deliveries(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("deliveries {}", list.join(", "))
}

/// `--explain` for delivery events, as text.
pub(crate) fn explain_text(
    e: &DeliveryExplain,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        bold("production deployments in the window, oldest first")
    )?;
    for d in &e.deployments {
        deployment_text(d, color, out)?;
    }
    if !e.incidents.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", bold("incidents in the window, oldest first"))?;
        for i in &e.incidents {
            incident_text(i, color, out)?;
        }
    }
    let unlinked: [(&str, &[UnlinkedThing]); 3] = [
        ("changes", &e.unlinked.changes),
        ("incidents", &e.unlinked.incidents),
        ("postmortems", &e.unlinked.postmortems),
    ];
    for (what, list) in unlinked {
        if list.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", bold(&format!("{what} not linked")))?;
        for u in list {
            writeln!(
                out,
                "  {}:{}  {} ({})",
                u.thing.source,
                u.thing.id,
                u.reason,
                deliveries(&u.thing.deliveries)
            )?;
        }
    }
    Ok(())
}

/// One deployment of `--explain`, as text: its head, its changes with
/// their links and stages, why it failed, its recovery and rework.
fn deployment_text(d: &EventDeployment, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(out, "{}", bold(&deployment_head(d)))?;
    writeln!(
        out,
        "  production: {}; {}",
        d.production,
        deliveries(&d.thing.deliveries)
    )?;
    for c in &d.changes {
        writeln!(
            out,
            "  change {}:{}  {}",
            c.thing.source,
            c.thing.id,
            c.title.as_deref().unwrap_or("")
        )?;
        writeln!(out, "    linked by {}: {}", c.link.rule, c.link.reason)?;
        let stages = stages_text(c, d.baseline);
        writeln!(
            out,
            "    first commit {}, opened {}, ready {}, first review {}{}, merged {}; {}",
            opt_time(c.first_commit_at),
            opt_time(c.opened_at),
            opt_time(c.ready_at),
            opt_time(c.first_review_at),
            c.first_reviewer
                .as_ref()
                .map_or(String::new(), |r| format!(" by {r}")),
            opt_time(c.merged_at),
            stages
        )?;
    }
    for why in &d.failed {
        writeln!(out, "  {} {why}", Style::Red.paint("failed:", color))?;
    }
    if let (Some(r), Some(by)) = (d.recovery_seconds, &d.recovered_by) {
        writeln!(out, "  recovery time {} (by {by})", human(r as f64))?;
    }
    for r in &d.rework {
        writeln!(out, "  rework: {r}")?;
    }
    Ok(())
}

/// A change's stages as a sum, or why they are not counted.
fn stages_text(c: &EventChange, baseline: bool) -> String {
    if c.counted {
        match c.unreviewed_seconds {
            Some(u) => format!(
                "lead {} = coding {} + unreviewed {} + deploy {}",
                opt_secs(c.lead_time_seconds),
                opt_secs(c.coding_seconds),
                opt_secs(Some(u)),
                opt_secs(c.deploy_seconds)
            ),
            None => format!(
                "lead {} = coding {} + pickup {} + review {} + deploy {}",
                opt_secs(c.lead_time_seconds),
                opt_secs(c.coding_seconds),
                opt_secs(c.pickup_seconds),
                opt_secs(c.review_seconds),
                opt_secs(c.deploy_seconds)
            ),
        }
    } else if baseline {
        "baseline: not counted".to_owned()
    } else {
        "deployed before its first commit: not counted".to_owned()
    }
}

/// One incident of `--explain`, as text: its times, deployment and
/// postmortem.
fn incident_text(i: &EventIncident, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(
        out,
        "{}",
        bold(&format!(
            "{}:{}  opened {}  resolved {}{}",
            i.thing.source,
            i.thing.id,
            opt_time(i.opened_at),
            opt_time(i.resolved_at),
            i.service
                .as_ref()
                .map_or(String::new(), |s| format!("  service {s}"))
        ))
    )?;
    writeln!(
        out,
        "  {}; time to restore {}",
        deliveries(&i.thing.deliveries),
        opt_secs(i.time_to_restore_seconds)
    )?;
    match (&i.deployment, &i.deployment_link) {
        (Some(d), Some(l)) => {
            writeln!(out, "  deployment {d}, linked by {}: {}", l.rule, l.reason)?
        }
        _ => writeln!(out, "  no deployment")?,
    }
    match (&i.postmortem, &i.postmortem_link) {
        (Some(p), Some(l)) => writeln!(
            out,
            "  postmortem {p} published {}, linked by {}: {}; time to reflect {}",
            opt_time(i.postmortem_published_at),
            l.rule,
            l.reason,
            opt_secs(i.time_to_reflect_seconds)
        )?,
        _ => writeln!(out, "  no postmortem")?,
    }
    Ok(())
}

/// Incidents and CI as Markdown.
pub(crate) fn markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if let Some(i) = &report.incidents {
        writeln!(out)?;
        writeln!(out, "| incidents | value |")?;
        writeln!(out, "|---|---|")?;
        for (name, value) in incident_rows(i) {
            writeln!(out, "| {name} | {} |", md_escape(&value))?;
        }
        if !i.without_postmortem.is_empty() {
            writeln!(out)?;
            writeln!(out, "**Resolved without a postmortem, oldest first:**")?;
            writeln!(out)?;
            for inc in &i.without_postmortem {
                writeln!(
                    out,
                    "- {}: opened {}, resolved {}",
                    md::text(&incident_name(inc)),
                    opt_time(inc.opened_at),
                    opt_time(inc.resolved_at)
                )?;
            }
        }
    }
    if let Some(ci) = &report.ci {
        if !ci.workflows.is_empty() {
            writeln!(out)?;
            writeln!(out, "| {} |", WORKFLOW_HEAD.join(" | "))?;
            writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
            for row in workflow_rows(ci) {
                let cells: Vec<String> = row.iter().map(|c| md_escape(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        if !ci.flaky_tests.is_empty() {
            writeln!(out)?;
            writeln!(out, "**Flaky tests:**")?;
            writeln!(out)?;
            for f in &ci.flaky_tests {
                writeln!(
                    out,
                    "- {}: flaky on {}, {} of {} executions failed, {} marked flaky by a rerun",
                    md::code(&f.test),
                    count(f.flaky_commits, "commit", "commits"),
                    f.failed,
                    f.executions,
                    f.marked_flaky
                )?;
            }
        }
        if !ci.slowest_tests.is_empty() {
            writeln!(out)?;
            writeln!(out, "**Slowest tests:**")?;
            writeln!(out)?;
            for s in &ci.slowest_tests {
                writeln!(
                    out,
                    "- {}: median {}, p85 {}, max {}",
                    md::code(&s.test),
                    opt_human(s.median_seconds),
                    opt_human(s.p85_seconds),
                    human(s.max_seconds)
                )?;
            }
        }
    }
    Ok(())
}

/// `--explain` for delivery events, as Markdown.
pub(crate) fn explain_markdown(e: &DeliveryExplain, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "### Production deployments in the window")?;
    for d in &e.deployments {
        deployment_markdown(d, out)?;
    }
    if !e.incidents.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Incidents in the window")?;
        writeln!(out)?;
        writeln!(
            out,
            "| incident | opened | resolved | deployment | postmortem |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for i in &e.incidents {
            writeln!(
                out,
                "| {}:{} | {} | {} | {} | {} |",
                md_escape(&i.thing.source),
                md_escape(&i.thing.id),
                opt_time(i.opened_at),
                opt_time(i.resolved_at),
                match (&i.deployment, &i.deployment_link) {
                    (Some(d), Some(l)) => md_escape(&format!("{d} ({}: {})", l.rule, l.reason)),
                    _ => "none".to_owned(),
                },
                match (&i.postmortem, &i.postmortem_link) {
                    (Some(p), Some(l)) => md_escape(&format!("{p} ({}: {})", l.rule, l.reason)),
                    _ => "none".to_owned(),
                }
            )?;
        }
    }
    let unlinked: [(&str, &[UnlinkedThing]); 3] = [
        ("Changes", &e.unlinked.changes),
        ("Incidents", &e.unlinked.incidents),
        ("Postmortems", &e.unlinked.postmortems),
    ];
    for (what, list) in unlinked {
        if list.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "### {what} not linked")?;
        writeln!(out)?;
        for u in list {
            writeln!(
                out,
                "- {}:{}: {}",
                md::text(&u.thing.source),
                md::text(&u.thing.id),
                md::text(&u.reason)
            )?;
        }
    }
    Ok(())
}

/// One deployment of `--explain`, as Markdown: its head, a table of its
/// changes, why it failed and its recovery.
fn deployment_markdown(d: &EventDeployment, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "#### {}", md::text(&deployment_head(d)))?;
    writeln!(out)?;
    writeln!(
        out,
        "Production: {}; {}.",
        md::text(&d.production),
        deliveries(&d.thing.deliveries)
    )?;
    if !d.changes.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| change | link | lead | coding | pickup | review | unreviewed | deploy |"
        )?;
        writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
        for c in &d.changes {
            writeln!(
                out,
                "| {}:{} {} | {}: {} | {} | {} | {} | {} | {} | {} |",
                md_escape(&c.thing.source),
                md_escape(&c.thing.id),
                md_escape(c.title.as_deref().unwrap_or("")),
                c.link.rule,
                md_escape(&c.link.reason),
                if c.counted {
                    opt_secs(c.lead_time_seconds)
                } else {
                    "not counted".to_owned()
                },
                opt_secs(c.coding_seconds),
                opt_secs(c.pickup_seconds),
                opt_secs(c.review_seconds),
                opt_secs(c.unreviewed_seconds),
                opt_secs(c.deploy_seconds)
            )?;
        }
    }
    for why in &d.failed {
        writeln!(out)?;
        writeln!(out, "Failed: {}.", md::text(why))?;
    }
    if let (Some(r), Some(by)) = (d.recovery_seconds, &d.recovered_by) {
        writeln!(out)?;
        writeln!(
            out,
            "Recovery time: {} (by {}).",
            human(r as f64),
            md::text(by)
        )?;
    }
    Ok(())
}

/// The incidents and CI sections of the HTML page.
pub(crate) fn html(report: &Report) -> String {
    let mut out = String::new();
    if let Some(i) = &report.incidents {
        out.push_str("<section><h2>Incidents</h2>");
        let rows: Vec<Vec<String>> = incident_rows(i)
            .into_iter()
            .map(|(n, v)| vec![n.to_owned(), v])
            .collect();
        out.push_str(&crate::html::table(&["figure", "value"], &rows));
        out.push_str("<p class=\"muted\">Time to reflect is the median time from an incident's resolution to its postmortem's publication.</p>");
        if !i.without_postmortem.is_empty() {
            out.push_str("<h3>Resolved without a postmortem, oldest first</h3>");
            let rows: Vec<Vec<String>> = i
                .without_postmortem
                .iter()
                .map(|inc| {
                    vec![
                        format!("{}:{}", inc.source, inc.id),
                        inc.title.clone().unwrap_or_default(),
                        inc.service.clone().unwrap_or_default(),
                        opt_time(inc.opened_at),
                        opt_time(inc.resolved_at),
                    ]
                })
                .collect();
            out.push_str(&crate::html::table(
                &["incident", "title", "service", "opened", "resolved"],
                &rows,
            ));
        }
        out.push_str("</section>");
    }
    if let Some(ci) = &report.ci {
        out.push_str("<section><h2>CI</h2>");
        if ci.workflows.is_empty() {
            out.push_str("<p class=\"muted\">No CI run in the window.</p>");
        } else {
            out.push_str(&crate::html::table(&WORKFLOW_HEAD, &workflow_rows(ci)));
        }
        if !ci.flaky_tests.is_empty() {
            out.push_str("<h3>Flaky tests</h3>");
            let rows: Vec<Vec<String>> = ci
                .flaky_tests
                .iter()
                .map(|f| {
                    vec![
                        f.test.clone(),
                        f.flaky_commits.to_string(),
                        f.executions.to_string(),
                        f.failed.to_string(),
                        f.marked_flaky.to_string(),
                    ]
                })
                .collect();
            out.push_str(&crate::html::table(
                &[
                    "test",
                    "flaky commits",
                    "executions",
                    "failed",
                    "marked flaky",
                ],
                &rows,
            ));
        }
        if !ci.slowest_tests.is_empty() {
            out.push_str("<h3>Slowest tests</h3>");
            let rows: Vec<Vec<String>> = ci
                .slowest_tests
                .iter()
                .map(|s| {
                    vec![
                        s.test.clone(),
                        s.executions.to_string(),
                        opt_human(s.median_seconds),
                        opt_human(s.p85_seconds),
                        human(s.max_seconds),
                    ]
                })
                .collect();
            out.push_str(&crate::html::table(
                &["test", "executions", "median", "p85", "max"],
                &rows,
            ));
        }
        out.push_str("</section>");
    }
    out
}

/// A postmortem section a team can publish, one per incident: what
/// happened when (the deployment it is linked to, opened, acknowledged,
/// resolved, the postmortem), time to restore, time to reflect, and what the
/// deployment shipped. Every line comes from the report's `--explain`
/// detail, so it says nothing the figures do not.
pub fn postmortem_markdown(
    report: &Report,
    incidents: &[&EventIncident],
    out: &mut dyn Write,
) -> io::Result<()> {
    let deployments = report
        .explain
        .as_ref()
        .and_then(|e| e.delivery.as_ref())
        .map(|d| d.deployments.as_slice())
        .unwrap_or_default();
    for (n, i) in incidents.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let name = format!("{}:{}", i.thing.source, i.thing.id);
        let title = i.title.clone().unwrap_or_else(|| name.clone());
        writeln!(out, "## Incident: {}", md_escape(&title))?;
        writeln!(out)?;
        let deployment = i.deployment_index.and_then(|n| deployments.get(n));
        writeln!(out, "| | |")?;
        writeln!(out, "|---|---|")?;
        let link = i
            .url
            .as_ref()
            .map_or_else(|| format!("`{name}`"), |u| format!("[`{name}`]({u})"));
        writeln!(out, "| incident | {link} |")?;
        writeln!(
            out,
            "| service | {} |",
            md_escape(i.service.as_deref().unwrap_or("unknown"))
        )?;
        writeln!(
            out,
            "| time to restore | {} |",
            opt_secs(i.time_to_restore_seconds)
        )?;
        writeln!(
            out,
            "| time to reflect | {} |",
            match (i.time_to_reflect_seconds, &i.postmortem) {
                (Some(s), _) => human(s as f64),
                (None, None) if i.resolved_at.is_some() => "no postmortem yet".to_owned(),
                _ => "n/a".to_owned(),
            }
        )?;
        match (&i.deployment, &i.deployment_link) {
            (Some(d), Some(l)) => writeln!(
                out,
                "| linked to | deployment `{}` ({}: {}) |",
                md_escape(d),
                l.rule,
                md_escape(&l.reason)
            )?,
            (Some(d), None) => writeln!(out, "| linked to | deployment `{}` |", md_escape(d))?,
            _ => writeln!(out, "| linked to | no deployment |")?,
        }
        if let Some(d) = deployment
            && let Some(r) = d.recovery_seconds
        {
            writeln!(out, "| deployment recovery time | {} |", human(r as f64))?;
        }
        writeln!(out)?;
        writeln!(out, "### Timeline (UTC)")?;
        writeln!(out)?;
        let timeline = timeline(i, deployment);
        writeln!(out, "| time | what happened |")?;
        writeln!(out, "|---|---|")?;
        for (t, what) in &timeline {
            writeln!(out, "| {} | {what} |", rfc3339(*t))?;
        }
        if let Some(d) = deployment {
            shipped_markdown(d, out)?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "_Figures by nextneck from the events the sources sent (deliveries {}); definitions in docs/metrics.md._",
            i.thing
                .deliveries
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}

/// What happened when, for a postmortem: the linked deployment (when it is
/// in the window), opening, acknowledgement, resolution and the
/// postmortem's publication, in time order.
fn timeline(i: &EventIncident, deployment: Option<&EventDeployment>) -> Vec<(i64, String)> {
    let mut timeline: Vec<(i64, String)> = Vec::new();
    if let Some(d) = deployment {
        timeline.push((d.time, deployment_reached(d)));
    }
    if let Some(t) = i.opened_at {
        timeline.push((t, "incident opened".to_owned()));
    }
    if let Some(t) = i.acknowledged_at {
        let after = i.time_to_acknowledge_seconds.map_or_else(String::new, |s| {
            format!(" ({} after opening)", human(s as f64))
        });
        timeline.push((t, format!("acknowledged{after}")));
    }
    if let Some(t) = i.resolved_at {
        timeline.push((
            t,
            format!(
                "resolved (time to restore {})",
                opt_secs(i.time_to_restore_seconds)
            ),
        ));
    }
    if let (Some(t), Some(p)) = (i.postmortem_published_at, &i.postmortem) {
        timeline.push((
            t,
            format!(
                "postmortem `{}` published (time to reflect {})",
                md_escape(p),
                opt_secs(i.time_to_reflect_seconds)
            ),
        ));
    }
    timeline.sort_by_key(|e| e.0);
    timeline
}

/// The timeline's line for the linked deployment.
fn deployment_reached(d: &EventDeployment) -> String {
    match (&d.service, &d.sha) {
        (Some(svc), Some(sha)) => format!(
            "deployment `{}` of {} (`{}`) reached {}",
            md_escape(&format!("{}:{}", d.thing.source, d.thing.id)),
            md_escape(svc),
            sha.get(..12).unwrap_or(sha),
            d.status
        ),
        (None, Some(sha)) => format!(
            "deployment `{}` (`{}`) reached {}",
            md_escape(&format!("{}:{}", d.thing.source, d.thing.id)),
            sha.get(..12).unwrap_or(sha),
            d.status
        ),
        _ => format!(
            "deployment `{}` reached {}",
            md_escape(&format!("{}:{}", d.thing.source, d.thing.id)),
            d.status
        ),
    }
}

/// What the linked deployment shipped, when it shipped anything.
fn shipped_markdown(d: &EventDeployment, out: &mut dyn Write) -> io::Result<()> {
    if d.changes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "### What the deployment shipped")?;
    writeln!(out)?;
    for c in &d.changes {
        writeln!(
            out,
            "- `{}:{}` {}{}",
            c.thing.source,
            md_escape(&c.thing.id),
            md_escape(c.title.as_deref().unwrap_or("")),
            c.merged_at
                .map_or_else(String::new, |m| format!(" (merged {})", rfc3339(m)))
        )?;
    }
    Ok(())
}
