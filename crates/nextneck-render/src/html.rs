//! Self-contained HTML reports: one file, no network (no CDN, no web
//! fonts, no scripts from elsewhere), light and dark, readable on a phone.
//! Charts are inline SVG from [`crate::svg`]; every chart has a title, axis
//! labels with units, a hover title on every mark and a data table as its
//! text alternative.

use std::fmt::Write as _;
use std::io::{self, Write};

use nextneck_metrics::report::{Report, Series};
use nextneck_metrics::tiers::Tier;
use nextneck_metrics::time::{DAY, WEEK, date, human, rfc3339};

use crate::svg::{Chart, Scale, duration_ticks, esc};

/// One colour in both themes.
#[derive(Clone, Copy, Debug)]
pub struct Swatch {
    /// CSS class suffix.
    pub name: &'static str,
    /// On the light background.
    pub light: &'static str,
    /// On the dark background.
    pub dark: &'static str,
}

/// Page background and text, light then dark.
pub const BACKGROUND: (&str, &str) = ("#ffffff", "#0d1117");
/// Body text, light then dark.
pub const TEXT: (&str, &str) = ("#1f2328", "#e6edf3");
/// Secondary text (axes, captions), light then dark.
pub const MUTED: (&str, &str) = ("#59636e", "#9198a1");

/// Series colours (a colour-blind-safe order: blue, orange, teal, purple,
/// brown, pink), the colour of done (finished items, never a stage's) and
/// the colour for failures and the bottleneck.
pub const PALETTE: [Swatch; 8] = [
    Swatch {
        name: "c-0",
        light: "#0969da",
        dark: "#4493f8",
    },
    Swatch {
        name: "c-1",
        light: "#b35900",
        dark: "#f0883e",
    },
    Swatch {
        name: "c-2",
        light: "#1a7f64",
        dark: "#3fb9a0",
    },
    Swatch {
        name: "c-3",
        light: "#8250df",
        dark: "#ab7df8",
    },
    Swatch {
        name: "c-4",
        light: "#8a5a2b",
        dark: "#c69026",
    },
    Swatch {
        name: "c-5",
        light: "#bf3989",
        dark: "#db61a2",
    },
    Swatch {
        name: "c-done",
        light: "#57606a",
        dark: "#8b949e",
    },
    Swatch {
        name: "c-bad",
        light: "#cf222e",
        dark: "#ff7b72",
    },
];

/// The stage colours (`c-0` to `c-5`, in turn).
const STAGE_COLOURS: usize = 6;
/// The class of done and of finished items, in every chart.
pub(crate) const DONE: &str = "c-done";

/// One colour per stage, decided once for a page from the stages' flow
/// order: the n-th stage gets the n-th stage colour (in turn past six), on
/// every chart, and done always [`DONE`]. The same stream gets the same
/// colours on every page, because its stages come in the same order.
pub(crate) struct StageColours(Vec<String>);

impl StageColours {
    /// Colours for `stages`, in flow order.
    pub(crate) fn new<'a>(stages: impl IntoIterator<Item = &'a str>) -> StageColours {
        StageColours(stages.into_iter().map(str::to_owned).collect())
    }

    /// The class of `stage` (a stage not in the list gets one after them).
    pub(crate) fn class(&self, stage: &str) -> String {
        let i = self
            .0
            .iter()
            .position(|s| s == stage)
            .unwrap_or(self.0.len());
        format!("c-{}", i % STAGE_COLOURS)
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`...
pub(crate) fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Who reads a page: its command line (`nextneck ... --format html`) or the
/// served dashboard, whose advice names its own controls, not flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Voice {
    /// A page written by a command.
    Cli,
    /// A page of `nextneck serve`.
    Dashboard,
}

/// What the dashboard says instead of a notice's command-line advice.
const DASHBOARD_ADVICE: [(&str, &str); 7] = [
    ("(see --explain)", "(see the Detail page)"),
    (
        "widen it with --since/--until or pass --all",
        "widen it with Since and Until, or tick whole history",
    ),
    (
        "widen the window with --all or check the done stages (--done)",
        "tick whole history, or check the stream's done stages (done in the server's nextneck.toml)",
    ),
    (
        "name the done stages with --done if that is wrong",
        "name the done stages (done in the server's nextneck.toml) if that is wrong",
    ),
    (
        "pass --active and --wait, or set categories in nextneck.toml",
        "set the stream's active and wait stages in the server's nextneck.toml",
    ),
    (
        "import JUnit reports with --run or --commit",
        "import JUnit reports with their CI run or commit",
    ),
    (
        "widen the history with --since",
        "widen the history with Since",
    ),
];

/// A notice's message in the page's voice.
fn in_voice(message: &str, voice: Voice) -> String {
    match voice {
        Voice::Cli => message.to_owned(),
        Voice::Dashboard => {
            let m = DASHBOARD_ADVICE
                .iter()
                .fold(message.to_owned(), |m, (cli, ours)| m.replace(cli, ours));
            // `...; pass --done "NAME" to end the flow there`.
            match m
                .split_once("; pass --done ")
                .and_then(|(head, tail)| Some((head, tail.strip_suffix(" to end the flow there")?)))
            {
                Some((head, name)) => format!(
                    "{head}; add {name} to the stream's done stages (done in the server's nextneck.toml) to end the flow there"
                ),
                None => m,
            }
        }
    }
}

/// Inline Markdown as HTML: `` `code` `` and `**strong**`; everything else
/// escaped. An unpaired marker stays as it is.
pub(crate) fn inline_markdown(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let next = [("`", "code"), ("**", "strong")]
            .into_iter()
            .filter_map(|(m, tag)| {
                let start = rest.find(m)?;
                let end = rest[start + m.len()..].find(m)? + start + m.len();
                Some((start, end, m, tag))
            })
            .min_by_key(|&(start, ..)| start);
        match next {
            Some((start, end, m, tag)) if end > start + m.len() => {
                out.push_str(&esc(&rest[..start]));
                let _ = write!(out, "<{tag}>{}</{tag}>", esc(&rest[start + m.len()..end]));
                rest = &rest[end + m.len()..];
            }
            _ => {
                out.push_str(&esc(rest));
                return out;
            }
        }
    }
}

fn stylesheet() -> String {
    let mut css = String::from(
        "*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:var(--bg);color:var(--fg)}\
main{max-width:1100px;margin:0 auto;padding:16px clamp(16px,2vw,40px)}\
@media (min-width:1400px){body{font-size:16px}main{max-width:2400px}main,article{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:0 40px;align-content:start}\
main>*,article>*{grid-column:1/-1}main>section:has(figure),article>section:has(figure){grid-column:auto}\
main>section.notes-section,article>section.notes-section,main>section.wide{grid-column:1/-1}}\
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .4rem}\
.meta,figcaption,.muted{color:var(--muted)}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:1rem}\
.tile{border:1px solid var(--line);border-radius:8px;padding:10px 12px}\
.tile .name{font-size:.85rem;color:var(--muted)}.tile .value{font-size:1.35rem;font-weight:600}\
.tier{display:inline-block;border-radius:10px;padding:0 8px;font-size:.8rem;border:1px solid currentColor}\
.tier-elite{color:var(--c-2)}.tier-high{color:var(--c-0)}.tier-medium{color:var(--c-1)}.tier-low{color:var(--c-bad)}\
.trend{font-size:.85rem}.good{color:var(--c-2)}.bad{color:var(--c-bad)}\
figure{margin:0 0 1rem;overflow-x:auto}svg.chart{width:100%;min-width:600px;max-height:80vh;height:auto;display:block}\
svg text{fill:var(--fg);font-size:12px}svg .axis line{stroke:var(--muted)}svg .axis text{fill:var(--muted)}\
svg .axis-title{fill:var(--fg)!important;font-size:12px}svg line.grid{stroke:var(--line)}\
svg .ref line{stroke:var(--fg);stroke-dasharray:4 3}svg .ref text{font-size:11px}\
svg path.line{fill:none!important;stroke-width:2}svg .mark:hover{opacity:.75}\
svg .highlight{stroke:var(--c-bad);stroke-width:3}\
.verdict{border-left:4px solid var(--c-bad);padding:4px 12px}\
table{border-collapse:collapse;font-size:.85rem}td,th{padding:2px 8px;border-bottom:1px solid var(--line);text-align:right}\
td:first-child,th:first-child{text-align:left}details{margin:.3rem 0 1rem}\
.notes li{margin:.2rem 0}code{font-size:.9em}\
a{color:var(--c-0)}.scroll{overflow-x:auto}td{vertical-align:top}.nav{display:flex;flex-wrap:wrap;gap:4px 16px;padding:4px 0 8px;border-bottom:1px solid var(--line)}\
.nav a[aria-current]{font-weight:600;color:var(--fg)}\
form.filter{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-end;margin:12px 0}\
form.filter label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}\
form.filter label.check{flex-direction:row;gap:4px;align-items:center}\
input,select,button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:2px 6px}",
    );
    let vars = |bg: &str, fg: &str, muted: &str, line: &str, dark: bool| {
        let mut v = format!("--bg:{bg};--fg:{fg};--muted:{muted};--line:{line};");
        for s in PALETTE {
            let _ = write!(v, "--{}:{};", s.name, if dark { s.dark } else { s.light });
        }
        v
    };
    let _ = write!(
        css,
        ":root{{{}}}",
        vars(BACKGROUND.0, TEXT.0, MUTED.0, "#d1d9e0", false)
    );
    let _ = write!(
        css,
        "@media (prefers-color-scheme:dark){{:root{{{}}}}}",
        vars(BACKGROUND.1, TEXT.1, MUTED.1, "#3d444d", true)
    );
    for s in PALETTE {
        let _ = write!(
            css,
            "svg .{0}{{fill:var(--{0})}}svg .line.{0}{{stroke:var(--{0})}}",
            s.name
        );
    }
    css
}

/// The notes section, its Markdown rendered, in the page's voice; empty
/// when there are none.
pub(crate) fn notes(notices: &[nextneck_metrics::report::Notice], voice: Voice) -> String {
    if notices.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("<section class=\"notes-section\"><h2>Notes</h2><ul class=\"notes\">");
    for n in notices {
        let _ = write!(
            out,
            "<li>{}</li>",
            inline_markdown(&in_voice(&n.message, voice))
        );
    }
    out.push_str("</ul></section>");
    out
}

/// A whole page around `body`, written by a command.
pub fn page(title: &str, body: &str) -> String {
    page_in(title, body, Voice::Cli, None)
}

/// A whole page around `body` in `voice`, reloading itself every
/// `refresh` seconds if given.
pub fn page_in(title: &str, body: &str, voice: Voice, refresh: Option<u32>) -> String {
    let refresh = refresh.map_or_else(String::new, |s| {
        format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n")
    });
    let trace = match voice {
        Voice::Cli => "run with <code>--explain</code> to trace it to commits",
        Voice::Dashboard => "the Detail page traces the delivery figures to their events",
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n{refresh}<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n{}\n<footer class=\"muted\"><p>Generated by nextneck {}. Every figure is defined in docs/metrics.md; {trace}.</p></footer>\n</main>\n</body>\n</html>\n",
        esc(title),
        stylesheet(),
        body,
        env!("CARGO_PKG_VERSION")
    )
}

/// A table of text cells (escaped here) under column headers.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    table_of(head, rows, esc)
}

/// A table whose cells are turned into HTML by `cell`.
pub(crate) fn table_of(head: &[&str], rows: &[Vec<String>], cell: fn(&str) -> String) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(t, "<th scope=\"col\">{}</th>", esc(h));
    }
    t.push_str("</tr></thead><tbody>");
    for row in rows {
        t.push_str("<tr>");
        for value in row {
            let _ = write!(t, "<td>{}</td>", cell(value));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// A figure: the chart, a caption, and its data table as text alternative.
pub fn figure(chart: String, caption: &str, table_head: &[&str], rows: &[Vec<String>]) -> String {
    let t = table(table_head, rows);
    format!(
        "<figure>{chart}<figcaption>{}</figcaption><details><summary>Data table</summary>{t}</details></figure>",
        esc(caption)
    )
}

pub(crate) fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "n/a".to_owned(), f)
}

/// The git delivery report as a page. The report must carry its
/// [`Series`] (set `GitSettings::series`); without it the charts are
/// replaced by a note.
pub fn report(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let title = format!(
        "nextneck report: {}",
        report.source.db.as_deref().unwrap_or(&report.source.path)
    );
    out.write_all(page(&title, &report_sections(report, &|_| None, Voice::Cli)).as_bytes())
}

/// The sections of the report's page (no `<html>` around them), for the
/// page and the dashboard. `link` gives the address of a figure's detail
/// (`deployments`, `lead_time`, `change_failure_rate`, `recovery_time`,
/// `rework_rate`, `stages`), if it has one.
pub fn report_sections(
    report: &Report,
    link: &dyn Fn(&str) -> Option<String>,
    voice: Voice,
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>Where delivery waits</h1><p class=\"meta\">{} · window {} to {} ({} days) · deployments: {}</p></header>",
        esc(&source_meta(report)),
        esc(&date(report.window.since)),
        esc(&date(report.window.until)),
        report.window.days,
        esc(&crate::deployments_line(report))
    );
    body.push_str(&tiles(report, link));
    body.push_str(&bottleneck_section(report));
    if let Some(href) = link("stages") {
        let _ = write!(
            body,
            "<p><a href=\"{}\">The changes behind these stages</a></p>",
            esc(&href)
        );
    }
    match &report.series {
        Some(series) => {
            body.push_str(&lead_histogram(series));
            body.push_str(&scatter(report, series));
            body.push_str(&deployments_chart(report, series));
        }
        None => body.push_str("<p class=\"muted\">No chart data in this report.</p>"),
    }
    body.push_str(&crate::delivery::html(report));
    body.push_str(&notes(&report.notices, voice));
    body
}

/// What the report read: the repository and its commits, or the event
/// store (and the clone).
fn source_meta(report: &Report) -> String {
    if report.source.db.is_some() {
        crate::source_line(report)
    } else {
        format!("{} · {} commits", report.source.path, report.source.commits)
    }
}

fn tier_badge(t: Option<Tier>, too_few: bool) -> String {
    match t {
        Some(t) => format!("<span class=\"tier tier-{0}\">{0}</span>", t.as_str()),
        None if too_few => "<span class=\"tier too-few\">too few to rate</span>".to_owned(),
        None => String::new(),
    }
}

/// `95% interval A–B` under a figure, or nothing.
fn interval_html(ci: Option<[f64; 2]>, fmt: &dyn Fn(f64) -> String) -> String {
    ci.map_or_else(String::new, |[a, b]| {
        format!(
            "<div class=\"ci muted\">95% interval {}–{}</div>",
            esc(&fmt(a)),
            esc(&fmt(b))
        )
    })
}

/// `first → second`, marked good or bad by whether lower is better.
fn trend(
    first: Option<f64>,
    second: Option<f64>,
    lower_is_better: bool,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    match (first, second) {
        (Some(a), Some(b)) => {
            let (arrow, class) = if (b - a).abs() < f64::EPSILON * a.abs().max(1.0) {
                ("→", "muted")
            } else if (b < a) == lower_is_better {
                (if b < a { "↓" } else { "↑" }, "good")
            } else {
                (if b < a { "↓" } else { "↑" }, "bad")
            };
            format!(
                "<div class=\"trend {class}\">{arrow} {} in the first half, {} in the second</div>",
                esc(&fmt(a)),
                esc(&fmt(b))
            )
        }
        _ => String::new(),
    }
}

fn tiles(report: &Report, link: &dyn Fn(&str) -> Option<String>) -> String {
    let d = &report.dora;
    let halves = report.series.as_ref().map(|s| &s.halves);
    let h = |f: &dyn Fn(&nextneck_metrics::report::HalfFigures) -> Option<f64>| {
        halves.map_or((None, None), |[a, b]| (f(a), f(b)))
    };
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let per_week = |v: f64| format!("{v:.2}/week");
    let mut out = String::from("<section class=\"tiles\" aria-label=\"DORA metrics\">");
    // Each value carries its figure's name and exact number, so that a
    // reader (or a test) can check it against the JSON.
    let mut tile = |name: &str,
                    figure: &str,
                    exact: Option<f64>,
                    value: String,
                    (tier, too_few, ci): (Option<Tier>, bool, String),
                    trend_html: String| {
        let data = match exact {
            Some(v) => format!(" data-figure=\"{figure}\" data-value=\"{v}\""),
            None => format!(" data-figure=\"{figure}\""),
        };
        let shown = match link(figure) {
            Some(href) => format!(
                "<a href=\"{}\" title=\"The events behind this figure\">{}</a>",
                esc(&href),
                esc(&value)
            ),
            None => esc(&value),
        };
        let _ = write!(
            out,
            "<div class=\"tile\"><div class=\"name\">{}</div><div class=\"value\"{data}>{shown}</div>{ci}{}{}</div>",
            esc(name),
            tier_badge(tier, too_few),
            trend_html
        );
    };
    let (a, b) = h(&|x| x.per_week);
    tile(
        "Deployment frequency",
        "deployments",
        d.deployment_frequency.per_week,
        opt(d.deployment_frequency.per_week, per_week),
        (
            d.deployment_frequency.tier,
            d.deployment_frequency.too_few_to_rate,
            String::new(),
        ),
        trend(a, b, false, &per_week),
    );
    let (a, b) = h(&|x| x.lead_time_median_seconds);
    tile(
        "Lead time for changes (median)",
        "lead_time",
        d.lead_time.median_seconds,
        opt(d.lead_time.median_seconds, human),
        (
            d.lead_time.tier,
            d.lead_time.too_few_to_rate,
            interval_html(d.lead_time.median_ci_seconds, &human),
        ),
        trend(a, b, true, &human),
    );
    let (a, b) = h(&|x| x.change_failure_rate);
    tile(
        "Change failure rate",
        "change_failure_rate",
        d.change_failure_rate.ratio,
        opt(d.change_failure_rate.ratio, pct),
        (
            d.change_failure_rate.tier,
            d.change_failure_rate.too_few_to_rate,
            interval_html(d.change_failure_rate.ratio_ci, &pct),
        ),
        trend(a, b, true, &pct),
    );
    let (a, b) = h(&|x| x.recovery_median_seconds);
    tile(
        "Recovery time (median)",
        "recovery_time",
        d.recovery_time.median_seconds,
        opt(d.recovery_time.median_seconds, human),
        (
            d.recovery_time.tier,
            d.recovery_time.too_few_to_rate,
            interval_html(d.recovery_time.median_ci_seconds, &human),
        ),
        trend(a, b, true, &human),
    );
    tile(
        "Rework rate",
        "rework_rate",
        d.rework_rate.ratio,
        opt(d.rework_rate.ratio, pct),
        (None, false, interval_html(d.rework_rate.ratio_ci, &pct)),
        String::new(),
    );
    out.push_str("</section>");
    out
}

fn bottleneck_section(report: &Report) -> String {
    let mut out = String::from("<section><h2>Where the time goes</h2>");
    let total: f64 = report.stages.iter().map(|s| s.total_seconds).sum();
    if total <= 0.0 {
        out.push_str(
            "<p>No change with a lead time in the window, so no stage to compare.</p></section>",
        );
        return out;
    }
    let bottleneck = report.bottleneck.as_ref().map(|b| b.stage);
    let colours = StageColours::new(report.stages.iter().map(|s| s.name));
    let parts: Vec<SharePart> = report
        .stages
        .iter()
        .map(|s| SharePart {
            stage: s.name.to_owned(),
            share: s.share.unwrap_or(0.0),
            class: colours.class(s.name),
            hover: format!(
                "{}: {} of change time, median {}, p85 {}, {} changes",
                s.name,
                opt(s.share, |v| format!("{:.0}%", v * 100.0)),
                opt(s.median_seconds, human),
                opt(s.p85_seconds, human),
                s.changes
            ),
            highlight: Some(s.name) == bottleneck,
        })
        .collect();
    let chart = share_bar(
        "stages",
        "Lead time split into stages",
        "share of all change time (%)",
        &parts,
    );
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|s| {
            vec![
                s.name.to_owned(),
                opt(s.median_seconds, human),
                range(s.median_ci_seconds, &human),
                opt(s.p85_seconds, human),
                human(s.total_seconds),
                opt(s.share, |v| crate::fixed(v * 100.0, 1) + "%"),
                range(s.share_ci, &|v| crate::fixed(v * 100.0, 1) + "%"),
            ]
        })
        .collect();
    out.push_str(&figure(
        chart,
        "Each segment is a stage's share of the total time changes spent between being written and being deployed; the outlined one is the bottleneck. The 95% intervals are those of docs/metrics.md.",
        &[
            "stage",
            "median",
            "median 95% interval",
            "p85",
            "total",
            "share",
            "share 95% interval",
        ],
        &rows,
    ));
    match &report.bottleneck {
        Some(b) => {
            let _ = write!(
                out,
                "<p class=\"verdict\" data-figure=\"bottleneck\" data-value=\"{0}\"><strong>{2}: {0}.</strong> {1}.</p>",
                esc(b.stage),
                esc(&b.evidence.summary),
                crate::verdict_name(b.too_few_to_call)
            );
        }
        None => out.push_str(
            "<p class=\"verdict\"><strong>Bottleneck: none.</strong> No change with a lead time in the window.</p>",
        ),
    }
    if report.undeployed.changes > 0 {
        let _ = write!(
            out,
            "<p data-figure=\"waiting\" data-value=\"{}\"><strong>Waiting:</strong> {}.</p>",
            report.undeployed.changes,
            esc(&crate::waiting_line(report))
        );
    }
    if let Some(code) = &report.code {
        let _ = write!(
            out,
            "<p class=\"verdict\"><strong>Code:</strong> {}.</p>",
            esc(&code.summary)
        );
    }
    out.push_str("</section>");
    out
}

/// `A–B`, or `n/a` without an interval.
pub(crate) fn range(ci: Option<[f64; 2]>, fmt: &dyn Fn(f64) -> String) -> String {
    ci.map_or_else(
        || "n/a".to_owned(),
        |[a, b]| format!("{}–{}", fmt(a), fmt(b)),
    )
}

/// A segment of a [`share_bar`].
pub(crate) struct SharePart {
    /// The stage.
    pub(crate) stage: String,
    /// Its share, 0 to 1.
    pub(crate) share: f64,
    /// Its colour class.
    pub(crate) class: String,
    /// The hover text.
    pub(crate) hover: String,
    /// Outlined (the bottleneck).
    pub(crate) highlight: bool,
}

/// A horizontal 100 % bar split into stages, each in its colour, labelled
/// above the bar (well clear of the axis); a segment too narrow for its
/// label is named in the hover text and the data table.
pub(crate) fn share_bar(id: &str, title: &str, axis: &str, parts: &[SharePart]) -> String {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let mut chart = Chart::new(
        id,
        140.0,
        title,
        &format!(
            "A bar of 100% split by stage: {}.",
            parts
                .iter()
                .map(|p| format!("{} {}", p.stage, pct(p.share)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let (l, t, r, b) = chart.plot_area();
    let x = Scale::linear(0.0, 1.0, l, r);
    let mut start = 0.0;
    for p in parts {
        let (x0, x1) = (x.at(start), x.at(start + p.share));
        let class = if p.highlight {
            format!("{} highlight", p.class)
        } else {
            p.class.clone()
        };
        chart.stage_rect(
            (x0, t + 22.0, x1 - x0, b - t - 34.0),
            &p.stage,
            &class,
            &p.hover,
        );
        if p.share > 0.08 {
            chart.text(
                (x0 + x1) / 2.0,
                t + 14.0,
                "middle",
                "",
                &format!("{} {}", p.stage, pct(p.share)),
            );
        }
        start += p.share;
    }
    let ticks: Vec<(f64, String)> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|&v| (x.at(v), pct(v)))
        .collect();
    chart.x_axis(&ticks, axis);
    chart.finish()
}

fn lead_histogram(series: &Series) -> String {
    let bins = &series.lead_time_histogram;
    let max = bins.iter().map(|b| b.changes).max().unwrap_or(0) as f64;
    let mut chart = Chart::new(
        "lead-histogram",
        260.0,
        "Lead time for changes, histogram",
        &format!(
            "How many of the window's {} changes took how long from commit to deployment.",
            series.changes.len()
        ),
    );
    let (l, _, r, b) = chart.plot_area();
    let y = chart.count_axis(max, "changes");
    let slot = (r - l) / bins.len() as f64;
    let mut x_ticks = Vec::new();
    for (i, bin) in bins.iter().enumerate() {
        let (label, n) = (bin.label, bin.changes);
        let x0 = l + i as f64 * slot + 4.0;
        chart.rect(
            x0,
            y.at(n as f64),
            slot - 8.0,
            b - y.at(n as f64),
            DONE,
            &format!("{label}: {n} changes"),
        );
        x_ticks.push((x0 + (slot - 8.0) / 2.0, label.to_owned()));
    }
    chart.x_axis(&x_ticks, "lead time (commit to deployment)");
    let rows: Vec<Vec<String>> = bins
        .iter()
        .map(|b| vec![b.label.to_owned(), b.changes.to_string()])
        .collect();
    format!(
        "<section><h2>Lead time for changes</h2>{}</section>",
        figure(
            chart.finish(),
            "Changes counted by how long they took from author time to deployment.",
            &["lead time", "changes"],
            &rows
        )
    )
}

/// At most this many points are drawn; above it, every k-th in order.
const MAX_POINTS: usize = 4000;

/// Every how many points one is drawn, for `n` points.
pub(crate) fn scatter_step(n: usize) -> usize {
    n.div_ceil(MAX_POINTS).max(1)
}

/// A scatterplot of durations over the window: time across, the duration up
/// on a logarithmic scale from a minute to the longest, with the P50 and
/// P85 lines. The git report's cycle time and a stream's flow time.
pub(crate) struct DurationScatter {
    chart: Chart,
    x: Scale,
    y: Scale,
    class: &'static str,
}

impl DurationScatter {
    /// `titles` is (chart title, description, y axis title, x axis title);
    /// the points are in colour `class`.
    pub(crate) fn new(
        id: &str,
        class: &'static str,
        titles: [&str; 4],
        (since, until): (i64, i64),
        longest_seconds: i64,
    ) -> DurationScatter {
        let [title, desc, y_title, x_title] = titles;
        let mut chart = Chart::new(id, 320.0, title, desc);
        let (l, t, r, b) = chart.plot_area();
        let x = Scale::linear(since as f64, until as f64, l, r);
        let top = longest_seconds.max(3600) as f64 * 1.2;
        let y = Scale::log(60.0, top, b, t);
        let y_ticks: Vec<(f64, String)> = duration_ticks(60.0, top)
            .into_iter()
            .map(|(v, s)| (y.at(v), s.to_owned()))
            .collect();
        chart.y_axis(&y_ticks, y_title);
        chart.x_axis(&time_ticks(since, until, &x), x_title);
        DurationScatter { chart, x, y, class }
    }

    /// One point, with its hover text.
    pub(crate) fn point(&mut self, at: i64, seconds: i64, hover: &str) {
        self.chart.point(
            self.x.at(at as f64),
            self.y.at(seconds as f64),
            self.class,
            hover,
        );
    }

    /// The P50 and P85 lines, and the SVG.
    pub(crate) fn finish(mut self, p50: Option<f64>, p85: Option<f64>) -> String {
        if let Some(m) = p50 {
            self.chart
                .hline_left(self.y.at(m), "p50", &format!("P50 {}", human(m)));
        }
        if let Some(p) = p85 {
            self.chart
                .hline(self.y.at(p), "p85", &format!("P85 {}", human(p)));
        }
        self.chart.finish()
    }
}

fn scatter(report: &Report, series: &Series) -> String {
    let n = series.changes.len();
    let step = scatter_step(n);
    let shown: Vec<_> = series.changes.iter().step_by(step).collect();
    let longest = series.changes.iter().map(|c| c.lead_time_seconds).max();
    let mut chart = DurationScatter::new(
        "cycle-scatter",
        DONE,
        [
            "Lead time of each change by deployment date",
            "Each point is a change: its deployment date across, its lead time up on a logarithmic scale, with the median (P50) and 85th percentile (P85) lines.",
            "lead time (log scale)",
            "deployment date (UTC)",
        ],
        (report.window.since, report.window.until),
        longest.unwrap_or(0),
    );
    for c in &shown {
        chart.point(
            c.deployed_at,
            c.lead_time_seconds,
            &format!(
                "deployed {}, lead {} (coding {}, deploy {})",
                date(c.deployed_at),
                human(c.lead_time_seconds as f64),
                human(c.coding_seconds as f64),
                human(c.deploy_seconds as f64)
            ),
        );
    }
    let svg = chart.finish(
        report.dora.lead_time.median_seconds,
        report.dora.lead_time.p85_seconds,
    );
    let caption = if step > 1 {
        format!(
            "Showing {} of {n} changes (every {}, in deployment order); P50 and P85 are over all {n}.",
            shown.len(),
            ordinal(step)
        )
    } else {
        format!("{n} changes. Lines at P50 and P85 of lead time.")
    };
    let rows: Vec<Vec<String>> = shown
        .iter()
        .take(200)
        .map(|c| {
            vec![
                rfc3339(c.deployed_at),
                human(c.lead_time_seconds as f64),
                human(c.coding_seconds as f64),
                human(c.deploy_seconds as f64),
            ]
        })
        .collect();
    format!(
        "<section><h2>Cycle time</h2>{}</section>",
        figure(
            svg,
            &caption,
            &["deployed", "lead time", "coding", "deploy"],
            &rows
        )
    )
}

/// Tick positions at whole UTC days, weeks, months or years, about six.
pub(crate) fn time_ticks(since: i64, until: i64, x: &Scale) -> Vec<(f64, String)> {
    let span = (until - since).max(1);
    let step = [
        DAY,
        7 * DAY,
        14 * DAY,
        30 * DAY,
        91 * DAY,
        182 * DAY,
        365 * DAY,
        730 * DAY,
        1825 * DAY,
    ]
    .into_iter()
    .find(|s| span / s <= 6)
    .unwrap_or(1825 * DAY);
    let first = (since.div_euclid(DAY) + 1) * DAY;
    (0..)
        .map(|i| first + i * step)
        .take_while(|&tick| tick < until)
        .map(|tick| (x.at(tick as f64), date(tick)))
        .collect()
}

fn deployments_chart(report: &Report, series: &Series) -> String {
    let since = report.window.since;
    let span = report.window.until - since;
    // Weekly bars, or four-weekly and thirteen-weekly ones for long windows.
    let (bucket, unit) = [
        (WEEK, "week"),
        (4 * WEEK, "4 weeks"),
        (13 * WEEK, "13 weeks"),
        (52 * WEEK, "52 weeks"),
    ]
    .into_iter()
    .find(|(b, _)| span / b <= 60)
    .unwrap_or((52 * WEEK, "52 weeks"));
    let buckets = ((span as f64 / bucket as f64).ceil() as usize).max(1);
    let mut ok = vec![0usize; buckets];
    let mut failed = vec![0usize; buckets];
    for d in &series.deployments {
        let i = (((d.time - since) / bucket) as usize).min(buckets - 1);
        if d.failed {
            failed[i] += 1;
        } else {
            ok[i] += 1;
        }
    }
    let max = (0..buckets).map(|i| ok[i] + failed[i]).max().unwrap_or(0) as f64;
    let mut chart = Chart::new(
        "deployments",
        240.0,
        &format!("Deployments per {unit}, failures marked"),
        &format!(
            "{} deployments in the window, counted per {unit}; failed ones stacked in the failure colour.",
            series.deployments.len()
        ),
    );
    let (l, _, r, b) = chart.plot_area();
    let y = chart.count_axis(max, "deployments");
    let x = Scale::linear(since as f64, (since + buckets as i64 * bucket) as f64, l, r);
    let slot = (r - l) / buckets as f64;
    let gap = if slot > 4.0 { 1.0 } else { 0.0 };
    for i in 0..buckets {
        let start = since + i as i64 * bucket;
        let x0 = x.at(start as f64) + gap;
        let width = slot - 2.0 * gap;
        let label = format!("{unit} from {}", date(start));
        if ok[i] > 0 {
            chart.rect(
                x0,
                y.at(ok[i] as f64),
                width,
                b - y.at(ok[i] as f64),
                DONE,
                &format!("{label}: {} successful", ok[i]),
            );
        }
        if failed[i] > 0 {
            let top = y.at((ok[i] + failed[i]) as f64);
            chart.rect(
                x0,
                top,
                width,
                y.at(ok[i] as f64) - top,
                "c-bad",
                &format!("{label}: {} failed", failed[i]),
            );
        }
    }
    chart.x_axis(&time_ticks(since, report.window.until, &x), "date (UTC)");
    let rows: Vec<Vec<String>> = series
        .deployments
        .iter()
        .map(|d| {
            vec![
                d.name.clone(),
                rfc3339(d.time),
                d.changes.to_string(),
                if d.failed {
                    "failed".to_owned()
                } else if d.baseline {
                    "baseline".to_owned()
                } else {
                    "ok".to_owned()
                },
            ]
        })
        .collect();
    format!(
        "<section><h2>Deployments</h2>{}</section>",
        figure(
            chart.finish(),
            &format!(
                "Deployments counted per {unit} of the window; failed deployments ({}) on top.",
                if report.source.db.is_some() {
                    "a failure or error status, or an incident linked to them"
                } else {
                    "a later deployment shipped a revert of one of their commits"
                }
            ),
            &["deployment", "time", "changes", "outcome"],
            &rows
        )
    )
}

/// WCAG 2 contrast ratio of two `#rrggbb` colours.
pub fn contrast(a: &str, b: &str) -> f64 {
    fn luminance(hex: &str) -> f64 {
        let h = hex.trim_start_matches('#');
        let channel = |i: usize| {
            let v =
                u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_right() {
        for (n, expected) in [
            (1, "1st"),
            (2, "2nd"),
            (3, "3rd"),
            (4, "4th"),
            (11, "11th"),
            (12, "12th"),
            (13, "13th"),
            (21, "21st"),
            (102, "102nd"),
            (111, "111th"),
        ] {
            assert_eq!(ordinal(n), expected);
        }
    }

    #[test]
    fn notes_render_inline_markdown_escaped() {
        for (text, expected) in [
            ("plain <b>", "plain &lt;b&gt;"),
            (
                "pass `--deploy-tags '^v<1>'` now",
                "pass <code>--deploy-tags &#39;^v&lt;1&gt;&#39;</code> now",
            ),
            (
                "**bold** and `a` `b`",
                "<strong>bold</strong> and <code>a</code> <code>b</code>",
            ),
            ("one ` alone", "one ` alone"),
            ("empty `` pair", "empty `` pair"),
        ] {
            assert_eq!(inline_markdown(text), expected, "{text}");
        }
    }

    #[test]
    fn stage_colours_follow_flow_order_and_done_has_its_own() {
        let c = StageColours::new(["new", "doing", "review", "a", "b", "c", "d"]);
        assert_eq!(
            ["new", "doing", "review", "d", "other"].map(|s| c.class(s)),
            ["c-0", "c-1", "c-2", "c-0", "c-1"]
        );
        assert!(PALETTE.iter().any(|s| s.name == DONE));
        assert!((0..STAGE_COLOURS).all(|i| format!("c-{i}") != DONE));
    }

    #[test]
    fn contrast_matches_wcag_examples() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
    }

    /// Text needs 4.5:1 against its background (WCAG 1.4.3); chart marks
    /// 3:1 (WCAG 1.4.11), in both themes.
    #[test]
    fn the_palette_is_readable_in_both_themes() {
        for (name, (light, dark)) in [("text", TEXT), ("muted", MUTED)] {
            assert!(
                contrast(light, BACKGROUND.0) >= 4.5,
                "{name} light: {}",
                contrast(light, BACKGROUND.0)
            );
            assert!(
                contrast(dark, BACKGROUND.1) >= 4.5,
                "{name} dark: {}",
                contrast(dark, BACKGROUND.1)
            );
        }
        for s in PALETTE {
            assert!(
                contrast(s.light, BACKGROUND.0) >= 3.0,
                "{} light: {}",
                s.name,
                contrast(s.light, BACKGROUND.0)
            );
            assert!(
                contrast(s.dark, BACKGROUND.1) >= 3.0,
                "{} dark: {}",
                s.name,
                contrast(s.dark, BACKGROUND.1)
            );
        }
    }
}
