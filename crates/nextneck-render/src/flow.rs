//! Renderers for value streams: a [`FlowReport`], the overview of several
//! streams, and a [`ForecastReport`], as a table, JSON or Markdown.

use std::io::{self, Write};

use nextneck_metrics::flow::{
    Cfd, DoneStage, Flow, FlowBottleneck, FlowReport, FlowSource, FlowStage, Model, OverviewRow,
    Scatter,
};
use nextneck_metrics::forecast::ForecastReport;
use nextneck_metrics::report::{Notice, Window};
use nextneck_metrics::time::{human, rfc3339};
use serde::Serialize;

use crate::table::{Style, Table};
use crate::{Format, bar, count, md, md_escape, opt_human, percent, trim_float};

/// Writes a flow report.
pub fn render_flow(
    report: &FlowReport,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => flow_json(report, out),
        Format::Table => flow_table(report, color, out),
        Format::Markdown => flow_markdown(report, out),
        Format::Html => crate::views::flow_page(report, out),
    }
}

/// Writes several streams' reports and the overview that ranks their
/// bottlenecks.
pub fn render_streams(
    reports: &[FlowReport],
    overview: &[OverviewRow],
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Streams<'a> {
                schema_version: u32,
                kind: &'static str,
                overview: &'a [OverviewRow],
                streams: &'a [FlowReport],
            }
            json(
                &Streams {
                    schema_version: nextneck_metrics::report::SCHEMA_VERSION,
                    kind: "streams",
                    overview,
                    streams: reports,
                },
                out,
            )
        }
        Format::Table => {
            let bold = |s: &str| Style::Bold.paint(s, color);
            writeln!(
                out,
                "{} every stream's bottleneck, longest median first",
                bold("nextneck flow:")
            )?;
            overview_table(overview, color, out)?;
            for r in reports {
                writeln!(out)?;
                flow_table(r, color, out)?;
            }
            Ok(())
        }
        Format::Html => crate::views::streams_page(reports, overview, out),
        Format::Markdown => {
            writeln!(out, "## nextneck flow: every stream's bottleneck")?;
            writeln!(out)?;
            writeln!(
                out,
                "| rank | stream | bottleneck | share | median | aging | throughput/week | flow time median |"
            )?;
            writeln!(out, "|---:|---|---|---:|---:|---:|---:|---:|")?;
            for r in overview {
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {:.2} | {} |",
                    r.rank,
                    md_escape(&r.stream),
                    md_escape(r.stage.as_deref().unwrap_or("none")),
                    percent(r.share),
                    opt_human(r.median_seconds),
                    r.aging,
                    r.throughput_per_week,
                    opt_human(r.flow_time_median_seconds)
                )?;
            }
            for r in reports {
                writeln!(out)?;
                flow_markdown(r, out)?;
            }
            Ok(())
        }
    }
}

/// Value streams have no HTML page yet; the commands refuse `--format html`
/// before they start, so this is only reached by other callers.
fn overview_table(overview: &[OverviewRow], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let mut t = Table::new(&[
        "rank",
        "stream",
        "bottleneck",
        "share",
        "median",
        "aging",
        "throughput",
        "flow time",
    ]);
    for r in overview {
        t.row(vec![
            (r.rank.to_string(), Style::Plain),
            (r.stream.clone(), Style::Bold),
            (
                r.stage.clone().unwrap_or_else(|| "none".to_owned()),
                if r.rank == 1 {
                    Style::Red
                } else {
                    Style::Plain
                },
            ),
            (percent(r.share), Style::Plain),
            (opt_human(r.median_seconds), Style::Plain),
            (r.aging.to_string(), Style::Plain),
            (format!("{:.2}/week", r.throughput_per_week), Style::Plain),
            (opt_human(r.flow_time_median_seconds), Style::Plain),
        ]);
    }
    t.write(out, color)
}

fn json<T: Serialize>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    // A buffer of our own: serde_json writes many small pieces, and each
    // write through `dyn Write` is a call that cannot be inlined.
    let mut buf = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buf, value).map_err(io::Error::from)?;
    writeln!(buf)?;
    buf.flush()
}

/// A flow report as JSON: byte for byte what `serde_json::to_writer_pretty`
/// writes, with the scatterplot (a point per finished item, over a million
/// on large logs, most of the output) formatted directly, in chunks, on two
/// threads when it is large.
fn flow_json(report: &FlowReport, out: &mut dyn Write) -> io::Result<()> {
    // Every field, so that a new one cannot be forgotten here.
    let FlowReport {
        schema_version,
        kind,
        source,
        model,
        window,
        now,
        done_stages,
        stages,
        bottleneck,
        flow,
        cfd,
        scatter,
        notices,
    } = report;
    /// The fields before `scatter`, in the report's order.
    #[derive(Serialize)]
    struct Head<'a> {
        schema_version: u32,
        kind: &'a str,
        source: &'a FlowSource,
        model: Model,
        window: &'a Window,
        now: String,
        done_stages: &'a [DoneStage],
        stages: &'a [FlowStage],
        bottleneck: &'a Option<FlowBottleneck>,
        flow: &'a Flow,
        cfd: &'a Cfd,
    }
    /// The fields after it.
    #[derive(Serialize)]
    struct Tail<'a> {
        notices: &'a [Notice],
    }
    let head = serde_json::to_vec_pretty(&Head {
        schema_version: *schema_version,
        kind,
        source,
        model: *model,
        window,
        now: rfc3339(*now),
        done_stages,
        stages,
        bottleneck,
        flow,
        cfd,
    })?;
    let tail = serde_json::to_vec_pretty(&Tail { notices })?;
    // `{ ...head fields\n}` and `{\n  "notices": ...}`: the fields of one
    // object at the same indentation.
    let (Some(head), Some(tail)) = (head.strip_suffix(b"\n}"), tail.strip_prefix(b"{\n")) else {
        return Err(io::Error::other("unexpected JSON shape"));
    };
    out.write_all(head)?;
    out.write_all(b",\n  \"scatter\": ")?;
    write_scatter(scatter, out)?;
    out.write_all(b",\n")?;
    out.write_all(tail)?;
    out.write_all(b"\n")
}

/// Points per chunk of the scatterplot (about 1.8 MB of JSON).
const SCATTER_CHUNK: usize = 16 * 1024;

/// The scatterplot array as serde_json's pretty printer writes it at the
/// second level of indentation.
fn write_scatter(points: &Scatter, out: &mut dyn Write) -> io::Result<()> {
    if points.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let n = points.len();
    let chunks: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(SCATTER_CHUNK)
        .map(|i| i..(i + SCATTER_CHUNK).min(n))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if chunks.len() < 4 || threads < 2 {
        let mut buf = Vec::new();
        for chunk in chunks {
            buf.clear();
            scatter_chunk(points, chunk, &mut buf)?;
            out.write_all(&buf)?;
        }
    } else {
        // A helper formats the odd chunks while this thread formats the
        // even ones and writes both in order; buffers go back and forth.
        std::thread::scope(|scope| -> io::Result<()> {
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
            let (free_tx, free_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
            let odd: Vec<std::ops::Range<usize>> =
                chunks.iter().skip(1).step_by(2).cloned().collect();
            scope.spawn(move || {
                for chunk in odd {
                    let mut buf = free_rx.try_recv().unwrap_or_default();
                    buf.clear();
                    let r = scatter_chunk(points, chunk, &mut buf).map(|()| buf);
                    if done_tx.send(r).is_err() {
                        return;
                    }
                }
            });
            let mut buf = Vec::new();
            for (i, chunk) in chunks.iter().enumerate().step_by(2) {
                buf.clear();
                scatter_chunk(points, chunk.clone(), &mut buf)?;
                out.write_all(&buf)?;
                if i + 1 < chunks.len() {
                    let other = done_rx
                        .recv()
                        .map_err(|_| io::Error::other("the formatting thread failed"))??;
                    out.write_all(&other)?;
                    // The helper may have finished: then the buffer is dropped.
                    let _ = free_tx.try_send(other);
                }
            }
            Ok(())
        })?;
    }
    out.write_all(b"\n  ]")
}

/// Appends the points in `range` to `buf`, each preceded by `,` unless it
/// is the array's first.
fn scatter_chunk(
    points: &Scatter,
    range: std::ops::Range<usize>,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    buf.reserve(range.len() * 112);
    for i in range {
        let Some(p) = points.get(i) else { break };
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"\n    {\n      \"case\": ");
        json_str(p.case, buf)?;
        buf.extend_from_slice(b",\n      \"finished\": \"");
        rfc3339_into(p.finished, buf);
        buf.extend_from_slice(b"\",\n      \"flow_time_seconds\": ");
        int_into(p.flow_time_seconds, buf);
        buf.extend_from_slice(b"\n    }");
    }
    Ok(())
}

/// A JSON string as serde_json writes it.
fn json_str(s: &str, buf: &mut Vec<u8>) -> io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(buf, s).map_err(io::Error::from)
    }
}

/// `i64` in decimal.
fn int_into(v: i64, buf: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&digits[i..]);
}

/// [`rfc3339`] without allocating, for years 0 to 9999 (others through it).
fn rfc3339_into(t: i64, buf: &mut Vec<u8>) {
    const DAY: i64 = 86_400;
    if !(0..253_402_300_800).contains(&t) {
        buf.extend_from_slice(rfc3339(t).as_bytes());
        return;
    }
    let (days, secs) = (t / DAY, t % DAY);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let [y1, y2] = two(y / 100);
    let [y3, y4] = two(y % 100);
    let [m1, m2] = two(m);
    let [d1, d2] = two(d);
    let [h1, h2] = two(secs / 3600);
    let [n1, n2] = two(secs % 3600 / 60);
    let [s1, s2] = two(secs % 60);
    buf.extend_from_slice(&[
        y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2, b'Z',
    ]);
}

fn model_name(m: Model) -> &'static str {
    match m {
        Model::Transitions => "transitions",
        Model::Activities => "activities",
    }
}

pub(crate) fn source_line(r: &FlowReport) -> String {
    source_line_with(r, &str::to_owned)
}

/// The source line with each file passed through `q` (Markdown: a code
/// span).
fn source_line_with(r: &FlowReport, q: &dyn Fn(&str) -> String) -> String {
    let files: Vec<String> = r.source.files.iter().map(|f| q(f)).collect();
    format!(
        "{} ({}; {}, {}, {} model)",
        r.source.stream,
        files.join(", "),
        count(r.source.events, "event", "events"),
        count(r.source.items, "item", "items"),
        model_name(r.model)
    )
}

pub(crate) fn window_line(r: &FlowReport) -> String {
    format!(
        "{} to {} ({} {}, {}); now {}",
        rfc3339(r.window.since),
        rfc3339(r.window.until),
        trim_float(r.window.days),
        if r.window.days == 1.0 { "day" } else { "days" },
        r.window.selection,
        rfc3339(r.now)
    )
}

pub(crate) fn done_line(r: &FlowReport) -> String {
    if r.done_stages.is_empty() {
        return "none".to_owned();
    }
    r.done_stages
        .iter()
        .map(|d| match d.reason {
            "never_left" => format!("{} (never left)", d.name),
            _ => d.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn flow_line(r: &FlowReport) -> String {
    let f = &r.flow;
    let mut s = format!(
        "{} finished ({:.2}/week), {} in progress",
        count(f.completed, "item", "items"),
        f.throughput_per_week,
        f.wip
    );
    if let Some(t) = f.aging.threshold_seconds {
        s.push_str(&format!(
            " ({} older than the p85 flow time {})",
            f.aging.items,
            human(t)
        ));
    }
    s.push_str(&format!(
        "; flow time median {}, p85 {}; net flow {:+.2}/week",
        opt_human(f.flow_time.median_seconds),
        opt_human(f.flow_time.p85_seconds),
        f.net_flow_per_week
    ));
    match &f.efficiency {
        Some(e) => s.push_str(&format!(
            "; flow efficiency {} ({})",
            percent(e.ratio),
            efficiency_basis(e.basis)
        )),
        None => s.push_str("; flow efficiency n/a"),
    }
    s
}

/// What a flow efficiency is computed from, in words.
pub(crate) fn efficiency_basis(basis: &str) -> &'static str {
    if basis == "service_wait" {
        "service vs wait"
    } else {
        "active vs wait stages"
    }
}

/// The oldest items in progress, as the table's `oldest:` line lists them.
pub(crate) fn oldest_line(r: &FlowReport) -> Option<String> {
    if r.flow.oldest_wip.is_empty() {
        return None;
    }
    let oldest: Vec<String> = r
        .flow
        .oldest_wip
        .iter()
        .take(3)
        .map(|w| {
            format!(
                "{} ({}, {})",
                w.case,
                w.stage.as_deref().unwrap_or("between activities"),
                human(w.age_seconds as f64)
            )
        })
        .collect();
    Some(oldest.join(", "))
}

fn flow_table(r: &FlowReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(out, "{} {}", bold("nextneck flow"), source_line(r))?;
    writeln!(out, "window  {}", window_line(r))?;
    writeln!(out, "done    {}", done_line(r))?;
    writeln!(out)?;
    let activities = r.model == Model::Activities;
    let mut header = vec!["stage", "count", "median", "p85"];
    if activities {
        header.extend(["wait", "service"]);
    }
    header.extend(["total", "share", "wip", "aging", ""]);
    let mut t = Table::new(&header);
    let bottleneck = r.bottleneck.as_ref().map(|b| b.stage.as_str());
    for s in &r.stages {
        let style = if Some(s.name.as_str()) == bottleneck {
            Style::Red
        } else {
            Style::Plain
        };
        let mut row = vec![
            (s.name.clone(), style),
            (s.count.to_string(), Style::Plain),
            (opt_human(s.median_seconds), Style::Plain),
            (opt_human(s.p85_seconds), Style::Plain),
        ];
        if activities {
            row.push((opt_human(s.wait_median_seconds.flatten()), Style::Plain));
            row.push((opt_human(s.service_median_seconds.flatten()), Style::Plain));
        }
        row.extend([
            (human(s.total_seconds), Style::Plain),
            (percent(s.share), Style::Plain),
            (s.wip.to_string(), Style::Plain),
            (s.aging.to_string(), Style::Plain),
            (bar(s.share, 24), style),
        ]);
        t.row(row);
    }
    t.write(out, color)?;
    writeln!(out)?;
    writeln!(out, "{} {}", bold("flow:"), flow_line(r))?;
    match &r.bottleneck {
        Some(b) => writeln!(
            out,
            "{} {}",
            bold(&format!(
                "{}:",
                crate::verdict_name(b.too_few_to_call).to_lowercase()
            )),
            b.evidence.summary
        )?,
        None => writeln!(
            out,
            "{} none: no completed stay in the window",
            bold("bottleneck:")
        )?,
    }
    if let Some(oldest) = oldest_line(r) {
        writeln!(out, "{} {}", bold("oldest:"), oldest)?;
    }
    if !r.notices.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", bold("notes"))?;
        for n in &r.notices {
            writeln!(out, "  - {}", n.message)?;
        }
    }
    Ok(())
}

fn flow_markdown(r: &FlowReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## nextneck flow: {}",
        md::text_with_code(&source_line_with(r, &md::mark))
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Window: {}. Done: {}.",
        window_line(r),
        md::text(&done_line(r))
    )?;
    writeln!(out)?;
    let activities = r.model == Model::Activities;
    if activities {
        writeln!(
            out,
            "| stage | count | median | p85 | wait | service | total | share | wip | aging |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    } else {
        writeln!(
            out,
            "| stage | count | median | p85 | total | share | wip | aging |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    }
    let bottleneck = r.bottleneck.as_ref().map(|b| b.stage.as_str());
    for s in &r.stages {
        let name = if Some(s.name.as_str()) == bottleneck {
            format!("**{}**", md_escape(&s.name))
        } else {
            md_escape(&s.name)
        };
        let extra = if activities {
            format!(
                " {} | {} |",
                opt_human(s.wait_median_seconds.flatten()),
                opt_human(s.service_median_seconds.flatten())
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "| {name} | {} | {} | {} |{extra} {} | {} | {} | {} |",
            s.count,
            opt_human(s.median_seconds),
            opt_human(s.p85_seconds),
            human(s.total_seconds),
            percent(s.share),
            s.wip,
            s.aging
        )?;
    }
    writeln!(out)?;
    writeln!(out, "**Flow:** {}.", md::text(&flow_line(r)))?;
    writeln!(out)?;
    match &r.bottleneck {
        Some(b) => writeln!(
            out,
            "**{}:** {}.",
            crate::verdict_name(b.too_few_to_call),
            md::text(&b.evidence.summary)
        )?,
        None => writeln!(
            out,
            "**Bottleneck:** none: no completed stay in the window."
        )?,
    }
    for n in &r.notices {
        writeln!(out)?;
        writeln!(out, "> {}", md::text(&n.message))?;
    }
    Ok(())
}

/// Writes a forecast.
pub fn render_forecast(
    report: &ForecastReport,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => json(report, out),
        Format::Table => forecast_text(report, color, false, out),
        Format::Markdown => forecast_text(report, color, true, out),
        Format::Html => crate::views::forecast_page(report, out),
    }
}

fn history_line(r: &ForecastReport) -> String {
    let h = &r.history;
    format!(
        "{} to {} ({}): {} {} done, {:.2}/day, {} with none; {} trials, seed {}",
        &rfc3339(h.since)[..10],
        &rfc3339(h.until)[..10],
        count(h.days as usize, "day", "days"),
        h.completed,
        r.source.unit,
        h.per_day_mean,
        count(h.zero_days as usize, "day", "days"),
        r.trials,
        r.seed
    )
}

fn forecast_text(
    r: &ForecastReport,
    color: bool,
    markdown: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    if markdown {
        writeln!(
            out,
            "## nextneck forecast: {} from {}",
            r.source.unit,
            md::text(&r.source.name)
        )?;
        writeln!(out)?;
        writeln!(out, "History: {}.", history_line(r))?;
    } else {
        writeln!(
            out,
            "{} {} from {}",
            bold("nextneck forecast:"),
            r.source.unit,
            r.source.name
        )?;
        writeln!(out, "history  {}", history_line(r))?;
    }
    if let Some(w) = &r.forecast.when {
        writeln!(out)?;
        let title = format!(
            "When will {} {} be done?",
            w.items,
            if w.items == 1 {
                r.source.unit.trim_end_matches('s')
            } else {
                r.source.unit
            }
        );
        let rows = [
            ("50%", &w.p50),
            ("70%", &w.p70),
            ("85%", &w.p85),
            ("95%", &w.p95),
        ];
        if markdown {
            writeln!(out, "**{title}**")?;
            writeln!(out)?;
            writeln!(out, "| odds | by day | date |")?;
            writeln!(out, "|---:|---:|---|")?;
            for (odds, at) in rows {
                writeln!(out, "| {odds} | {} | {} |", at.days, at.date)?;
            }
        } else {
            writeln!(out, "{}", bold(&title))?;
            let mut t = Table::new(&["odds", "by day", "date"]);
            for (odds, at) in rows {
                t.row(vec![
                    (odds.to_owned(), Style::Plain),
                    (at.days.to_string(), Style::Plain),
                    (at.date.clone(), Style::Plain),
                ]);
            }
            t.write(out, color)?;
        }
    }
    if let Some(h) = &r.forecast.how_many {
        writeln!(out)?;
        let title = format!(
            "How many {} in {}?",
            r.source.unit,
            count(h.days as usize, "day", "days")
        );
        let rows = [
            ("50%", h.p50.items),
            ("70%", h.p70.items),
            ("85%", h.p85.items),
            ("95%", h.p95.items),
        ];
        if markdown {
            writeln!(out, "**{title}**")?;
            writeln!(out)?;
            writeln!(out, "| odds | at least |")?;
            writeln!(out, "|---:|---:|")?;
            for (odds, n) in rows {
                writeln!(out, "| {odds} | {n} |")?;
            }
        } else {
            writeln!(out, "{}", bold(&title))?;
            let mut t = Table::new(&["odds", "at least"]);
            for (odds, n) in rows {
                t.row(vec![
                    (odds.to_owned(), Style::Plain),
                    (n.to_string(), Style::Plain),
                ]);
            }
            t.write(out, color)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use nextneck_metrics::WindowSpec;
    use nextneck_metrics::flow::{FlowSettings, flow_report};
    use nextneck_model::flow::{Event, EventLog, NO_TIME};

    /// `items` items going new → doing → done (every third still open),
    /// with names that need escaping and times before 1970.
    fn log(items: usize) -> EventLog {
        let mut log = EventLog::default();
        let odd = [
            "quote\"d",
            "back\\slash",
            "tab\there",
            "é ünïcode",
            "ctl\u{1}",
            "\u{7f}",
        ];
        for i in 0..items {
            let name = match odd.get(i) {
                Some(n) => (*n).to_owned(),
                None => format!("C{i:07}"),
            };
            let case = log.cases.intern(&name);
            let mut t = -400_000 + (i as i64 * 7_919) % 50_000_000;
            let stages: &[&str] = if i % 3 == 2 {
                &["new", "doing"]
            } else {
                &["new", "doing", "done"]
            };
            for s in stages {
                let stage = log.stages.intern(s);
                log.events.push(Event {
                    start: NO_TIME,
                    time: t,
                    case,
                    stage,
                });
                t += 3_600 + (i as i64 * 31) % 90_000;
            }
        }
        log
    }

    #[test]
    fn flow_json_is_what_serde_json_writes() {
        // 2 (now before any finish): no finished item; then one chunk,
        // and enough chunks for the second thread.
        for items in [2, 3, 10, 100_000] {
            let mut settings = FlowSettings::new("s\"tream");
            settings.window = WindowSpec::All;
            if items == 2 {
                settings.now = Some(-400_000);
            }
            let report = flow_report(&log(items), &settings).unwrap();
            let mut fast = Vec::new();
            render_flow(&report, Format::Json, false, &mut fast).unwrap();
            let mut expected = serde_json::to_vec_pretty(&report).unwrap();
            expected.push(b'\n');
            assert!(fast == expected, "{items} items");
            if items == 2 {
                assert!(report.scatter.is_empty());
            } else {
                assert!(!report.notices.is_empty() && !report.scatter.is_empty());
            }
        }
    }
}
