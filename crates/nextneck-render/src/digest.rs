//! The digest ([`Digest`]) as Markdown, JSON, and the payload of each chat
//! service's incoming webhook: Slack (Block Kit `blocks`), Microsoft Teams
//! (an Adaptive Card in a message's `attachments`), Mattermost (`text`)
//! and Discord (`content` and `embeds`). The figures and their directions
//! come from the digest; this module only words and formats them.

use std::io::{self, Write};

use nextneck_metrics::digest::{Digest, MIN_SAMPLE, Moved};
use nextneck_metrics::report::IncidentRef;
use nextneck_metrics::time::{date, human};
use serde_json::{Value, json};

/// Incidents listed by name; more are counted.
const LISTED_INCIDENTS: usize = 10;

/// The chat services a digest is posted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chat {
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams incoming webhook (or a Workflows webhook).
    Teams,
    /// Mattermost incoming webhook.
    Mattermost,
    /// Discord webhook.
    Discord,
}

/// The digest's JSON: its documented schema.
pub fn json(d: &Digest, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d)?;
    writeln!(out)
}

/// The digest as GitHub-flavoured Markdown (Mattermost's `text` too).
pub fn markdown(d: &Digest, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(markdown_text(d).as_bytes())
}

fn markdown_text(d: &Digest) -> String {
    let mut t = format!("### {}\n\n**{}**\n\n", title(d), bottleneck(d));
    t.push_str("| | now | before | change | |\n|---|---:|---:|---:|---|\n");
    for m in &d.moved {
        let [name, now, before, change, direction] = row(m);
        t.push_str(&format!(
            "| {name} | {now} | {before} | {change} | {direction} |\n"
        ));
    }
    t.push('\n');
    for line in incident_lines(d) {
        t.push_str(&line);
        t.push('\n');
    }
    if let Some(s) = stream_line(d) {
        t.push_str(&format!("\n{s}\n"));
    }
    t.push_str(&format!("\n{}\n", footer(d)));
    t
}

/// The payload posted to `chat`'s incoming webhook.
pub fn payload(d: &Digest, chat: Chat) -> Value {
    match chat {
        Chat::Slack => slack(d),
        Chat::Teams => teams(d),
        Chat::Mattermost => json!({ "username": "nextneck", "text": markdown_text(d) }),
        Chat::Discord => discord(d),
    }
}

/// Slack Block Kit: a header, the bottleneck, the figures, incidents and
/// the stream as `mrkdwn` sections (each under Slack's 3000 characters),
/// and `text` as the notification's fallback.
fn slack(d: &Digest) -> Value {
    let section = |text: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, 3000)}});
    let figures: Vec<String> = d
        .moved
        .iter()
        .map(|m| {
            let [name, now, before, change, direction] = row(m);
            format!("• {name}: *{now}* (before {before}, {change}) {direction}")
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": clip(&title(d), 150)}}),
        section(format!("*{}*", bottleneck(d))),
        section(figures.join("\n")),
        section(incident_lines(d).join("\n")),
    ];
    if let Some(s) = stream_line(d) {
        blocks.push(section(s));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(&footer(d), 3000)}]}));
    json!({ "text": format!("{}: {}", title(d), bottleneck(d)), "blocks": blocks })
}

/// Microsoft Teams: a message whose one attachment is an Adaptive Card
/// (version 1.4) with the bottleneck, a fact set of the figures, incidents
/// and the stream.
fn teams(d: &Digest) -> Value {
    let text = |t: String, weight: &str| json!({"type": "TextBlock", "text": t, "wrap": true, "weight": weight});
    let facts: Vec<Value> = d
        .moved
        .iter()
        .map(|m| {
            let [name, now, before, change, direction] = row(m);
            json!({"title": name, "value": format!("{now} (before {before}, {change}) {direction}")})
        })
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": title(d), "size": "Large", "weight": "Bolder", "wrap": true}),
        text(bottleneck(d), "Bolder"),
        json!({"type": "FactSet", "facts": facts}),
        text(incident_lines(d).join("\n\n"), "Default"),
    ];
    if let Some(s) = stream_line(d) {
        body.push(text(s, "Default"));
    }
    body.push(json!({"type": "TextBlock", "text": footer(d), "isSubtle": true, "wrap": true, "size": "Small"}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

/// Discord: the bottleneck as `content` (under 2000 characters) and one
/// embed with a field per figure (at most 25, each under 1024 characters).
fn discord(d: &Digest) -> Value {
    let fields: Vec<Value> = d
        .moved
        .iter()
        .take(25)
        .map(|m| {
            let [name, now, before, change, direction] = row(m);
            json!({"name": clip(&name, 256), "value": clip(&format!("**{now}** (before {before}, {change}) {direction}"), 1024), "inline": true})
        })
        .collect();
    let mut description = incident_lines(d).join("\n");
    if let Some(s) = stream_line(d) {
        description.push_str(&format!("\n\n{s}"));
    }
    json!({
        "username": "nextneck",
        "content": clip(&format!("**{}**", bottleneck(d)), 2000),
        "embeds": [{
            "title": clip(&title(d), 256),
            "description": clip(&description, 4096),
            "fields": fields,
            "footer": {"text": clip(&footer(d), 2048)},
        }]
    })
}

fn title(d: &Digest) -> String {
    format!(
        "nextneck digest: {} to {} ({}), against the {} before",
        date(d.period.since),
        date(d.period.until - 1),
        days(d.period.days),
        days(d.previous.days)
    )
}

fn days(n: f64) -> String {
    if (n - 1.0).abs() < f64::EPSILON {
        "1 day".to_owned()
    } else if n.fract() == 0.0 {
        format!("{n:.0} days")
    } else {
        format!("{n:.1} days")
    }
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn bottleneck(d: &Digest) -> String {
    let b = &d.bottleneck;
    match (b.verdict, &b.now, &b.before) {
        ("moved", Some(n), Some(p)) => format!(
            "The bottleneck moved: now {} ({} of change time), it was {} ({})",
            n.stage,
            percent(n.share),
            p.stage,
            percent(p.share)
        ),
        ("stayed", Some(n), Some(p)) => format!(
            "The bottleneck is still {} ({} of change time, {} before)",
            n.stage,
            percent(n.share),
            percent(p.share)
        ),
        (_, now, before) => {
            let say = |s: &Option<nextneck_metrics::digest::StageShare>| match s {
                Some(s) => format!(
                    "{} ({}, {} {})",
                    s.stage,
                    percent(s.share),
                    s.changes,
                    if s.changes == 1 { "change" } else { "changes" }
                ),
                None => "none measured".to_owned(),
            };
            format!(
                "Too few changes to say where the bottleneck is (fewer than {MIN_SAMPLE} in a period): now {}, before {}",
                say(now),
                say(before)
            )
        }
    }
}

fn figure_name(figure: &str) -> String {
    match figure {
        "deployment_frequency" => "Deployments per week".to_owned(),
        "lead_time" => "Lead time (median)".to_owned(),
        "change_failure_rate" => "Change failure rate".to_owned(),
        "recovery_time" => "Recovery time (median)".to_owned(),
        "rework_rate" => "Rework rate".to_owned(),
        other => match other.strip_prefix("stage:") {
            Some(stage) => format!("Stage {stage} (median)"),
            None => other.to_owned(),
        },
    }
}

/// Name, now, before, change, direction: the words of one figure.
fn row(m: &Moved) -> [String; 5] {
    let value = |v: Option<f64>| match (v, m.unit) {
        (None, _) => "n/a".to_owned(),
        (Some(v), "seconds") => human(v),
        (Some(v), "ratio") => percent(v),
        (Some(v), _) => format!("{v:.1}"),
    };
    let change = match (m.change, m.unit) {
        (None, _) => "n/a".to_owned(),
        (Some(c), "seconds") => format!("{}{}", sign(c), human(c.abs())),
        (Some(c), "ratio") => format!("{}{:.0} pts", sign(c), (c * 100.0).abs()),
        (Some(c), _) => format!("{}{:.1}", sign(c), c.abs()),
    };
    let direction = match m.direction {
        "unknown" if m.now.is_some() && m.before.is_some() => {
            format!("too few to tell ({} and {})", m.samples[0], m.samples[1])
        }
        "unknown" => "n/a".to_owned(),
        d => d.to_owned(),
    };
    [
        figure_name(&m.figure),
        value(m.now),
        value(m.before),
        change,
        direction,
    ]
}

fn sign(c: f64) -> &'static str {
    if c > 0.0 {
        "+"
    } else if c < 0.0 {
        "−"
    } else {
        "±"
    }
}

fn incident_lines(d: &Digest) -> Vec<String> {
    let Some(list) = &d.waiting_for_postmortem else {
        return vec!["Incidents: none read (a git report; pass --db for incidents)".to_owned()];
    };
    if list.is_empty() {
        return vec!["No resolved incident is waiting for a postmortem".to_owned()];
    }
    let mut lines = vec![format!(
        "{} resolved {} waiting for a postmortem:",
        list.len(),
        if list.len() == 1 {
            "incident is"
        } else {
            "incidents are"
        }
    )];
    lines.extend(list.iter().take(LISTED_INCIDENTS).map(incident));
    if list.len() > LISTED_INCIDENTS {
        lines.push(format!("- and {} more", list.len() - LISTED_INCIDENTS));
    }
    lines
}

fn incident(i: &IncidentRef) -> String {
    let mut s = format!("- {}:{}", i.source, i.id);
    if let Some(t) = &i.title {
        s.push_str(&format!(" {t}"));
    }
    if let Some(svc) = &i.service {
        s.push_str(&format!(" ({svc})"));
    }
    if let Some(r) = i.resolved_at {
        s.push_str(&format!(", resolved {}", date(r)));
    }
    s
}

fn stream_line(d: &Digest) -> Option<String> {
    match &d.stream {
        Some(s) => Some(format!(
            "The bottleneck that grew most: stream {}, stage {} at {} of item time ({} before, +{:.0} pts)",
            s.stream,
            s.stage,
            percent(s.share_now),
            percent(s.share_before),
            s.growth * 100.0
        )),
        None if d.streams_compared > 0 => Some(format!(
            "No stream's bottleneck grew by 5 points or more ({} compared)",
            d.streams_compared
        )),
        None => None,
    }
}

fn footer(d: &Digest) -> String {
    format!(
        "From {} ({}). Directions need {MIN_SAMPLE} measurements in each period.",
        d.from, d.source
    )
}

/// At most `max` characters, an ellipsis marking a cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
