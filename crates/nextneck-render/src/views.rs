//! HTML pages of the value-stream, forecast and code reports, built with the
//! same kit as the delivery report ([`crate::html`], [`crate::svg`]): every
//! chart has a title, a description, axis labels with units, hover titles on
//! its marks and a data table as its text alternative. The sections are
//! public so that the dashboard can embed them.

use std::fmt::Write as _;
use std::io::{self, Write};

use nextneck_metrics::code::CodeReport;
use nextneck_metrics::flow::{FlowReport, OverviewRow};
use nextneck_metrics::forecast::{Bucket, ForecastReport};
use nextneck_metrics::time::{WEEK, date, human, rfc3339};

use crate::html::{
    DONE, DurationScatter, SharePart, StageColours, Voice, figure, notes, opt, ordinal, page,
    scatter_step, share_bar, time_ticks,
};
use crate::svg::{Chart, Scale, count_ticks, esc};

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn tile(name: &str, value: &str, note: &str) -> String {
    format!(
        "<div class=\"tile\"><div class=\"name\">{}</div><div class=\"value\">{}</div><div class=\"trend muted\">{}</div></div>",
        esc(name),
        esc(value),
        esc(note)
    )
}

/// The sections of a value stream's page (no `<html>` around them), in
/// `voice`.
pub fn flow_sections(report: &FlowReport, voice: Voice) -> String {
    flow_sections_in(report, "", voice)
}

/// The same, with every chart id prefixed by `p` (several streams on one
/// page need unique ids).
pub fn flow_sections_in(report: &FlowReport, p: &str, voice: Voice) -> String {
    let mut body = String::new();
    let colours = StageColours::new(report.stages.iter().map(|s| s.name.as_str()));
    // The lines the table starts with: what was read, the window, the
    // done stages.
    let _ = write!(
        body,
        "<header><h1>Where {} waits</h1><p class=\"meta\">{}</p><p class=\"meta\">Window {}. Done: {}.</p></header>",
        esc(&report.source.stream),
        esc(&crate::flow::source_line(report)),
        esc(&crate::flow::window_line(report)),
        esc(&crate::flow::done_line(report))
    );
    let f = &report.flow;
    body.push_str("<section class=\"tiles\" aria-label=\"Flow figures\">");
    body.push_str(&tile(
        "Throughput",
        &format!("{:.2}/week", f.throughput_per_week),
        &format!("{} finished", f.completed),
    ));
    body.push_str(&tile(
        "Flow time (median)",
        &opt(f.flow_time.median_seconds, human),
        &format!("p85 {}", opt(f.flow_time.p85_seconds, human)),
    ));
    body.push_str(&tile(
        "Work in progress",
        &f.wip.to_string(),
        &format!("{} aging past the p85 flow time", f.aging.items),
    ));
    body.push_str(&tile(
        "Net flow",
        &format!("{:+.2}/week", f.net_flow_per_week),
        "arrivals − departures",
    ));
    body.push_str(&tile(
        "Flow efficiency",
        &opt(f.efficiency.as_ref().and_then(|e| e.ratio), pct),
        f.efficiency
            .as_ref()
            .map_or("stage categories unknown", |e| {
                crate::flow::efficiency_basis(e.basis)
            }),
    ));
    body.push_str("</section>");

    // Where the time goes.
    body.push_str("<section><h2>Where the time goes</h2>");
    let bottleneck = report.bottleneck.as_ref().map(|b| b.stage.as_str());
    let parts: Vec<SharePart> = report
        .stages
        .iter()
        .map(|st| SharePart {
            stage: st.name.clone(),
            share: st.share.unwrap_or(0.0),
            class: colours.class(&st.name),
            highlight: Some(st.name.as_str()) == bottleneck,
            hover: format!(
                "{}: {} of item time, median {}, p85 {}, {} stays, {} in progress",
                st.name,
                opt(st.share, pct),
                opt(st.median_seconds, human),
                opt(st.p85_seconds, human),
                st.count,
                st.wip
            ),
        })
        .collect();
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|st| {
            vec![
                st.name.clone(),
                st.count.to_string(),
                opt(st.median_seconds, human),
                crate::html::range(st.median_ci_seconds, &human),
                opt(st.p85_seconds, human),
                human(st.total_seconds),
                opt(st.share, |v| format!("{:.1}%", v * 100.0)),
                crate::html::range(st.share_ci, &|v| format!("{:.1}%", v * 100.0)),
                st.wip.to_string(),
                st.aging.to_string(),
            ]
        })
        .collect();
    if report.stages.iter().any(|st| st.share.is_some()) {
        body.push_str(&figure(
            share_bar(
                &format!("{p}flow-stages"),
                "Item time split into stages",
                "share of all time in stages (%)",
                &parts,
            ),
            "Each segment is a stage's share of the time finished stays spent in it; the outlined one is the bottleneck. The 95% intervals are those of docs/metrics.md.",
            &[
                "stage",
                "stays",
                "median",
                "median 95% interval",
                "p85",
                "total",
                "share",
                "share 95% interval",
                "in progress",
                "aging",
            ],
            &rows,
        ));
    } else {
        body.push_str("<p>No item has left a stage yet, so no stage to compare.</p>");
    }
    match &report.bottleneck {
        Some(b) => {
            let _ = write!(
                body,
                "<p class=\"verdict\"><strong>{}: {}.</strong> {}.</p>",
                crate::verdict_name(b.too_few_to_call),
                esc(&b.stage),
                esc(&b.evidence.summary)
            );
        }
        None => body.push_str(
            "<p class=\"verdict\"><strong>Bottleneck: none.</strong> No completed stay in the window.</p>",
        ),
    }
    let _ = write!(
        body,
        "<p><strong>Flow:</strong> {}.</p>",
        esc(&crate::flow::flow_line(report))
    );
    if let Some(oldest) = crate::flow::oldest_line(report) {
        let _ = write!(body, "<p><strong>Oldest:</strong> {}.</p>", esc(&oldest));
    }
    body.push_str("</section>");

    body.push_str(&cfd(report, p, &colours));
    body.push_str(&aging(report, p, &colours));
    body.push_str(&throughput(report, p));
    body.push_str(&flow_scatter(report, p));
    body.push_str(&notes(&report.notices, voice));
    body
}

/// A value stream as a page.
pub fn flow_page(report: &FlowReport, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("nextneck flow: {}", report.source.stream);
    out.write_all(page(&title, &flow_sections(report, Voice::Cli)).as_bytes())
}

/// Several streams: the overview ranking their bottlenecks, then each one.
pub fn streams_page(
    reports: &[FlowReport],
    overview: &[OverviewRow],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut body = String::from(
        "<header><h1>Which stream waits most</h1><p class=\"meta\">Streams ranked by their bottleneck's median time: the delay a typical item suffers there.</p></header>",
    );
    body.push_str("<section><table><thead><tr><th scope=\"col\">rank</th><th scope=\"col\">stream</th><th scope=\"col\">bottleneck</th><th scope=\"col\">share</th><th scope=\"col\">median there</th><th scope=\"col\">aging there</th><th scope=\"col\">throughput</th><th scope=\"col\">flow time</th></tr></thead><tbody>");
    for row in overview {
        let _ = write!(
            body,
            "<tr><td>{}</td><td><a href=\"#stream-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}/week</td><td>{}</td></tr>",
            row.rank,
            css_id(&row.stream),
            esc(&row.stream),
            esc(row.stage.as_deref().unwrap_or("none")),
            opt(row.share, pct),
            opt(row.median_seconds, human),
            row.aging,
            row.throughput_per_week,
            opt(row.flow_time_median_seconds, human)
        );
    }
    body.push_str("</tbody></table></section>");
    for r in reports {
        // Chart ids must be unique in the page: prefix them by stream.
        let sections = flow_sections_in(r, &format!("{}-", css_id(&r.source.stream)), Voice::Cli);
        let _ = write!(
            body,
            "<article id=\"stream-{}\">{sections}</article>",
            css_id(&r.source.stream)
        );
    }
    out.write_all(page("nextneck flow: streams", &body).as_bytes())
}

fn css_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn cfd(report: &FlowReport, p: &str, colours: &StageColours) -> String {
    let days = &report.cfd.days;
    let stages = &report.cfd.stages;
    if days.is_empty() {
        return String::new();
    }
    let totals: Vec<u64> = days
        .iter()
        .map(|d| d.done + d.counts.iter().sum::<u64>())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0) as f64;
    let mut chart = Chart::new(
        &format!("{p}flow-cfd"),
        300.0,
        "Cumulative flow diagram",
        &format!(
            "For each of {} days, the items in each stage at the end of the day stacked on the items finished since the window began; a band that widens is a queue that grows.",
            days.len()
        ),
    );
    // Bands from the bottom: done, then the stages from the last to the first.
    let mut bands: Vec<(String, String, Vec<f64>)> = vec![(
        "done".to_owned(),
        DONE.to_owned(),
        days.iter().map(|d| d.done as f64).collect(),
    )];
    for (k, name) in stages.iter().enumerate().rev() {
        bands.push((
            name.clone(),
            colours.class(name),
            days.iter()
                .map(|d| d.counts.get(k).copied().unwrap_or(0) as f64)
                .collect(),
        ));
    }
    // The legend reads in flow order, done last, above the plot.
    let legend: Vec<(String, String)> = bands
        .iter()
        .rev()
        .map(|(name, class, _)| (class.clone(), name.clone()))
        .collect();
    chart.legend(&legend);
    let (l, _, r, _) = chart.plot_area();
    let y = chart.count_axis(max, "items");
    let n = days.len();
    let x_of = |i: usize| {
        if n > 1 {
            l + (r - l) * i as f64 / (n - 1) as f64
        } else {
            (l + r) / 2.0
        }
    };
    let mut lower = vec![0.0f64; n];
    for (name, class, values) in &bands {
        let upper: Vec<f64> = lower.iter().zip(values).map(|(a, v)| a + v).collect();
        let mut points: Vec<(f64, f64)> = (0..n).map(|d| (x_of(d), y.at(upper[d]))).collect();
        points.extend((0..n).rev().map(|d| (x_of(d), y.at(lower[d]))));
        let last = values.last().copied().unwrap_or(0.0);
        chart.stage_area(
            &points,
            name,
            class,
            &format!("{name}: {last} at the end of {}", days[n - 1].date),
        );
        lower = upper;
    }
    let every = n.div_ceil(6).max(1);
    let x_ticks: Vec<(f64, String)> = (0..n)
        .step_by(every)
        .map(|d| (x_of(d), days[d].date.clone()))
        .collect();
    chart.x_axis(&x_ticks, "day (UTC)");
    let mut head: Vec<&str> = vec!["day"];
    head.extend(stages.iter().map(String::as_str));
    head.push("done");
    let step = n.div_ceil(60).max(1);
    let rows: Vec<Vec<String>> = days
        .iter()
        .step_by(step)
        .map(|d| {
            let mut row = vec![d.date.clone()];
            row.extend(d.counts.iter().map(u64::to_string));
            row.push(d.done.to_string());
            row
        })
        .collect();
    format!(
        "<section><h2>Cumulative flow</h2>{}</section>",
        figure(
            chart.finish(),
            &format!(
                "Bands from the bottom: {}.{}",
                bands
                    .iter()
                    .map(|(name, ..)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if step > 1 {
                    format!(" The table shows every {} day.", ordinal(step))
                } else {
                    String::new()
                }
            ),
            &head,
            &rows
        )
    )
}

fn aging(report: &FlowReport, p: &str, colours: &StageColours) -> String {
    let stages: Vec<_> = report.stages.iter().filter(|s| s.wip > 0).collect();
    if stages.is_empty() {
        return "<section><h2>Aging work in progress</h2><p>Nothing is in progress.</p></section>"
            .to_owned();
    }
    let max = stages.iter().map(|s| s.wip).max().unwrap_or(0) as f64;
    let threshold = report.flow.aging.threshold_seconds;
    let mut chart = Chart::new(
        &format!("{p}flow-aging"),
        260.0,
        "Work in progress per stage, aging part marked",
        &format!(
            "Items in progress in each stage, in the stage's colour; the part older than the p85 flow time ({}) in the failure colour.",
            opt(threshold, human)
        ),
    );
    let (l, _, r, b) = chart.plot_area();
    let y = chart.count_axis(max, "items in progress");
    let slot = (r - l) / stages.len() as f64;
    let mut x_ticks = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let x0 = l + i as f64 * slot + slot * 0.15;
        let w = slot * 0.7;
        let young = s.wip.saturating_sub(s.aging) as f64;
        chart.stage_rect(
            (x0, y.at(young), w, b - y.at(young)),
            &s.name,
            &colours.class(&s.name),
            &format!(
                "{}: {} in progress younger than the threshold",
                s.name,
                s.wip - s.aging
            ),
        );
        if s.aging > 0 {
            let top = y.at(s.wip as f64);
            chart.rect(
                x0,
                top,
                w,
                y.at(young) - top,
                "c-bad",
                &format!("{}: {} aging", s.name, s.aging),
            );
        }
        x_ticks.push((x0 + w / 2.0, s.name.clone()));
    }
    chart.x_axis(&x_ticks, "stage");
    let rows: Vec<Vec<String>> = report
        .flow
        .oldest_wip
        .iter()
        .map(|w| {
            vec![
                w.case.clone(),
                w.stage.clone().unwrap_or_default(),
                human(w.age_seconds as f64),
                w.stage_age_seconds
                    .map_or_else(String::new, |a| human(a as f64)),
            ]
        })
        .collect();
    format!(
        "<section><h2>Aging work in progress</h2>{}</section>",
        figure(
            chart.finish(),
            "The table lists the oldest items in progress (age since their first event, and time in their current stage).",
            &["item", "stage", "age", "in stage"],
            &rows
        )
    )
}

fn throughput(report: &FlowReport, p: &str) -> String {
    let days = &report.cfd.days;
    if days.is_empty() {
        return String::new();
    }
    // Finished per week, from the CFD's running count of finished items.
    let first = report.window.since;
    let weeks = days.len().div_ceil(7);
    let mut per_week = vec![0u64; weeks];
    let mut previous = 0u64;
    for (i, d) in days.iter().enumerate() {
        per_week[i / 7] += d.done.saturating_sub(previous);
        previous = d.done;
    }
    let max = per_week.iter().copied().max().unwrap_or(0) as f64;
    let mut chart = Chart::new(
        &format!("{p}flow-throughput"),
        240.0,
        "Throughput run chart",
        &format!(
            "Items finished in each week of the window ({weeks} weeks), as a run chart with its median."
        ),
    );
    let (l, _, r, _) = chart.plot_area();
    let y = chart.count_axis(max, "items finished per week");
    let x = Scale::linear(first as f64, (first + weeks as i64 * WEEK) as f64, l, r);
    let points: Vec<(f64, f64)> = per_week
        .iter()
        .enumerate()
        .map(|(w, &n)| {
            (
                x.at((first + w as i64 * WEEK) as f64 + WEEK as f64 / 2.0),
                y.at(n as f64),
            )
        })
        .collect();
    chart.line(&points, DONE, "items finished per week");
    for (w, (&n, &(px, py))) in per_week.iter().zip(&points).enumerate() {
        chart.point(
            px,
            py,
            DONE,
            &format!("week from {}: {n} finished", date(first + w as i64 * WEEK)),
        );
    }
    let mut sorted: Vec<f64> = per_week.iter().map(|&n| n as f64).collect();
    sorted.sort_by(f64::total_cmp);
    if let Some(m) = nextneck_metrics::stats::percentile_sorted(&sorted, 50) {
        chart.hline(y.at(m), "p50", &format!("median {m}"));
    }
    chart.x_axis(
        &time_ticks(first, first + weeks as i64 * WEEK, &x),
        "week (UTC)",
    );
    let rows: Vec<Vec<String>> = per_week
        .iter()
        .enumerate()
        .map(|(w, n)| vec![date(first + w as i64 * WEEK), n.to_string()])
        .collect();
    format!(
        "<section><h2>Throughput</h2>{}</section>",
        figure(
            chart.finish(),
            "Weeks are counted from the window's start; the last may be partial.",
            &["week from", "finished"],
            &rows
        )
    )
}

fn flow_scatter(report: &FlowReport, p: &str) -> String {
    let points = &report.scatter;
    if points.is_empty() {
        return String::new();
    }
    let n = points.len();
    let step = scatter_step(n);
    let shown: Vec<_> = points.iter().step_by(step).collect();
    let longest = points.iter().map(|p| p.flow_time_seconds).max();
    let mut chart = DurationScatter::new(
        &format!("{p}flow-scatter"),
        DONE,
        [
            "Flow time of each finished item by finish date",
            "Each point is a finished item: when it finished across, its flow time up on a logarithmic scale, with the P50 and P85 lines.",
            "flow time (log scale)",
            "finish date (UTC)",
        ],
        (report.window.since, report.window.until),
        longest.unwrap_or(0),
    );
    for p in &shown {
        chart.point(
            p.finished,
            p.flow_time_seconds,
            &format!(
                "{}: finished {}, flow time {}",
                p.case,
                date(p.finished),
                human(p.flow_time_seconds as f64)
            ),
        );
    }
    let ft = &report.flow.flow_time;
    let svg = chart.finish(ft.median_seconds, ft.p85_seconds);
    let caption = if step > 1 {
        format!(
            "Showing {} of {n} items (every {} in finish order); P50 and P85 are over all {n}.",
            shown.len(),
            ordinal(step)
        )
    } else {
        format!("{n} finished items. Lines at P50 and P85 of flow time.")
    };
    let rows: Vec<Vec<String>> = shown
        .iter()
        .take(200)
        .map(|p| {
            vec![
                p.case.to_owned(),
                rfc3339(p.finished),
                human(p.flow_time_seconds as f64),
            ]
        })
        .collect();
    format!(
        "<section><h2>Cycle time</h2>{}</section>",
        figure(svg, &caption, &["item", "finished", "flow time"], &rows)
    )
}

/// A percentile line of a forecast's histogram: its odds, where it stands
/// (in result units) and its label.
struct Percentile {
    odds: u32,
    at: f64,
    label: String,
}

/// Whole-number ticks about `count` of them over `[lo, hi]`.
fn integer_ticks(lo: u64, hi: u64, count: usize) -> Vec<u64> {
    let step = count_ticks((hi - lo) as f64, count)
        .get(1)
        .map_or(1, |&s| s as u64)
        .max(1);
    (lo.div_ceil(step)..=hi / step).map(|k| k * step).collect()
}

/// The distribution of a forecast's trials as a histogram (a bar per
/// bucket, `from..=to`), with the percentile lines, as Monte Carlo tools
/// draw it.
fn distribution_chart(
    id: &str,
    titles: [&str; 3],
    buckets: &[Bucket],
    lines: &[Percentile],
) -> String {
    let [title, desc, x_title] = titles;
    let mut chart = Chart::new(id, 300.0, title, desc);
    chart.label_strip(lines.len());
    let (l, _, r, b) = chart.plot_area();
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return chart.finish();
    };
    let max = buckets.iter().map(|b| b.trials).max().unwrap_or(0) as f64;
    let y = chart.count_axis(max, "simulated futures (trials)");
    let x = Scale::linear(first.from as f64, (last.to + 1) as f64, l, r);
    let gap = if (r - l) / buckets.len() as f64 > 6.0 {
        1.0
    } else {
        0.0
    };
    for bucket in buckets {
        let (x0, x1) = (x.at(bucket.from as f64), x.at((bucket.to + 1) as f64));
        let range = if bucket.from == bucket.to {
            bucket.from.to_string()
        } else {
            format!("{} to {}", bucket.from, bucket.to)
        };
        chart.rect(
            x0 + gap,
            y.at(bucket.trials as f64),
            x1 - x0 - 2.0 * gap,
            b - y.at(bucket.trials as f64),
            "c-0",
            &format!("{range}: {} trials", bucket.trials),
        );
    }
    for (row, line) in lines.iter().enumerate() {
        chart.vline(x.at(line.at), row, &format!("p{}", line.odds), &line.label);
    }
    let ticks: Vec<(f64, String)> = integer_ticks(first.from, last.to, 6)
        .into_iter()
        .map(|v| (x.at(v as f64 + 0.5), v.to_string()))
        .collect();
    chart.x_count_axis(&ticks, x_title);
    chart.finish()
}

/// The histogram's data table: each bucket, its trials and the share of
/// trials up to it.
fn distribution_rows(buckets: &[Bucket]) -> Vec<Vec<String>> {
    let total: u64 = buckets.iter().map(|b| b.trials).sum();
    let mut running = 0;
    buckets
        .iter()
        .map(|b| {
            running += b.trials;
            vec![
                if b.from == b.to {
                    b.from.to_string()
                } else {
                    format!("{}–{}", b.from, b.to)
                },
                b.trials.to_string(),
                pct(running as f64 / total.max(1) as f64),
            ]
        })
        .collect()
}

/// The sections of a forecast's page.
pub fn forecast_sections(report: &ForecastReport) -> String {
    let h = &report.history;
    let mut body = format!(
        "<header><h1>Forecast: {}</h1><p class=\"meta\">Monte Carlo over {} days of history ({} to {}): {} {} done, {:.2} a day, {} days with none; {} trials, seed {}.</p></header>",
        esc(&report.source.name),
        h.days,
        esc(&date(h.since)),
        esc(&date(h.until)),
        h.completed,
        esc(report.source.unit),
        h.per_day_mean,
        h.zero_days,
        report.trials,
        report.seed
    );
    // The tiles first, then the charts, side by side on a wide screen.
    let mut charts = String::new();
    if let Some(w) = &report.forecast.when {
        let levels = [(50, &w.p50), (70, &w.p70), (85, &w.p85), (95, &w.p95)];
        body.push_str("<section class=\"tiles\" aria-label=\"When\">");
        for (q, at) in levels {
            body.push_str(&tile(
                &format!("{q}% likely by"),
                &at.date,
                &format!("{} days", at.days),
            ));
        }
        body.push_str("</section>");
        // Done by the end of day d: the line at the right edge of d.
        let lines: Vec<Percentile> = levels
            .iter()
            .map(|(q, at)| Percentile {
                odds: *q,
                at: at.days as f64 + 1.0,
                label: format!("{q}%: {} ({} days)", at.date, at.days),
            })
            .collect();
        let chart = distribution_chart(
            "forecast-when",
            [
                &format!("When will {} {} be done?", w.items, report.source.unit),
                &format!(
                    "How many of the {} simulated futures took how many days to finish {} {}, with the days by which 50, 70, 85 and 95 percent of them had finished.",
                    report.trials, w.items, report.source.unit
                ),
                "days after the history",
            ],
            &w.distribution,
            &lines,
        );
        let _ = write!(
            charts,
            "<section><h2>When</h2>{}</section>",
            figure(
                chart,
                "Each bar counts the simulated futures that finished on that day (or days); left of the 85% line lie 85% of them: an 85% chance to be done by its date.",
                &["days", "trials", "done by then"],
                &distribution_rows(&w.distribution)
            )
        );
    }
    if let Some(m) = &report.forecast.how_many {
        let levels = [
            (50, m.p50.items),
            (70, m.p70.items),
            (85, m.p85.items),
            (95, m.p95.items),
        ];
        body.push_str("<section class=\"tiles\" aria-label=\"How many\">");
        for (q, n) in levels {
            body.push_str(&tile(
                &format!("{q}% odds"),
                &format!("at least {n}"),
                &format!("{} in {} days", report.source.unit, m.days),
            ));
        }
        body.push_str("</section>");
        // At least n: the line at the left edge of n.
        let lines: Vec<Percentile> = levels
            .iter()
            .map(|&(q, n)| Percentile {
                odds: q,
                at: n as f64,
                label: format!("{q}%: at least {n}"),
            })
            .collect();
        let chart = distribution_chart(
            "forecast-how-many",
            [
                &format!("How many {} in {} days?", report.source.unit, m.days),
                &format!(
                    "How many of the {} simulated futures finished how many {} in {} days, with the counts reached with 50, 70, 85 and 95 percent odds.",
                    report.trials, report.source.unit, m.days
                ),
                &format!("{} finished in {} days", report.source.unit, m.days),
            ],
            &m.distribution,
            &lines,
        );
        let _ = write!(
            charts,
            "<section><h2>How many</h2>{}</section>",
            figure(
                chart,
                "Each bar counts the simulated futures that finished that many; right of the 85% line lie at least 85% of them. Higher odds, fewer items: plan with the 85% figure.",
                &[
                    &format!("{} in {} days", report.source.unit, m.days),
                    "trials",
                    "at most that many"
                ],
                &distribution_rows(&m.distribution)
            )
        );
    }
    body.push_str(&charts);
    body
}

/// A forecast as a page.
pub fn forecast_page(report: &ForecastReport, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("nextneck forecast: {}", report.source.name);
    out.write_all(page(&title, &forecast_sections(report)).as_bytes())
}

/// The sections of a code report's page.
pub fn code_sections(report: &CodeReport) -> String {
    let s = &report.source;
    let mut body = format!(
        "<header><h1>Where the code waits</h1><p class=\"meta\">{} · {} commits ({} analysed) · window {} to {}</p></header>",
        esc(&s.path),
        s.commits,
        s.analysed_commits,
        esc(&date(report.window.since)),
        esc(&date(report.window.until))
    );
    let h = &report.hotspots;
    let k = &report.knowledge;
    body.push_str("<section class=\"tiles\" aria-label=\"Code figures\">");
    body.push_str(&tile(
        "Files changed",
        &h.files_changed.to_string(),
        &format!("{} changes in {} commits", h.changes, h.commits),
    ));
    body.push_str(&tile(
        &format!("Top {} files' share", h.top.files),
        &opt(h.top.change_share, pct),
        "of all changes",
    ));
    body.push_str(&tile(
        "Coupled pairs",
        &report.coupling.pairs.len().to_string(),
        &format!("degree ≥ {:.0}%", report.coupling.min_degree * 100.0),
    ));
    body.push_str(&tile(
        "Knowledge islands",
        &k.islands.len().to_string(),
        &format!("{} authors", k.authors),
    ));
    body.push_str(&tile(
        "Truck factor",
        &k.truck_factor
            .as_ref()
            .map_or_else(|| "n/a".to_owned(), |t| t.value.to_string()),
        "people who could leave before most files are orphaned",
    ));
    body.push_str("</section>");

    // Hotspots: horizontal bars of changes, labelled above each bar.
    let shown: Vec<_> = h.files.iter().take(20).collect();
    if !shown.is_empty() {
        let height = 60.0 + shown.len() as f64 * 28.0;
        let mut chart = Chart::new(
            "code-hotspots",
            height,
            "Hotspots: the files changed most often",
            &format!(
                "The {} files with the most changes in the window, as bars of their change count.",
                shown.len()
            ),
        );
        let (l, t, r, b) = chart.plot_area();
        let max = shown.iter().map(|f| f.changes).max().unwrap_or(1) as f64;
        let ticks = count_ticks(max, 5);
        let x = Scale::linear(0.0, ticks.last().copied().unwrap_or(1.0), l, r);
        let row_h = (b - t) / shown.len() as f64;
        for (i, f) in shown.iter().enumerate() {
            let y0 = t + i as f64 * row_h;
            chart.text(l + 4.0, y0 + 12.0, "start", "", &f.path);
            chart.rect(
                l,
                y0 + 15.0,
                x.at(f.changes as f64) - l,
                row_h - 18.0,
                "c-0",
                &format!(
                    "{}: {} changes, {} lines changed, {} authors{}",
                    f.path,
                    f.changes,
                    f.lines_changed,
                    f.authors,
                    f.size_lines
                        .map_or_else(String::new, |s| format!(", {s} lines now"))
                ),
            );
        }
        chart.x_count_axis(
            &ticks
                .iter()
                .map(|&v| (x.at(v), format!("{v}")))
                .collect::<Vec<_>>(),
            "changes (commits) in the window",
        );
        let rows: Vec<Vec<String>> = h
            .files
            .iter()
            .map(|f| {
                vec![
                    f.rank.to_string(),
                    f.path.clone(),
                    f.changes.to_string(),
                    f.lines_changed.to_string(),
                    f.authors.to_string(),
                    f.size_lines
                        .map_or_else(|| "binary".to_owned(), |s| s.to_string()),
                ]
            })
            .collect();
        let _ = write!(
            body,
            "<section><h2>Hotspots</h2>{}</section>",
            figure(
                chart.finish(),
                "Files ranked by changes, then lines changed.",
                &[
                    "rank",
                    "file",
                    "changes",
                    "lines changed",
                    "authors",
                    "lines now"
                ],
                &rows
            )
        );
    }
    if !report.coupling.pairs.is_empty() {
        body.push_str("<section><h2>Change coupling</h2><table><thead><tr><th scope=\"col\">file</th><th scope=\"col\">changes with</th><th scope=\"col\">shared commits</th><th scope=\"col\">degree</th></tr></thead><tbody>");
        for p in &report.coupling.pairs {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{} ({} and {})</td><td>{}</td></tr>",
                esc(&p.a),
                esc(&p.b),
                p.shared,
                p.a_commits,
                p.b_commits,
                pct(p.degree)
            );
        }
        body.push_str("</tbody></table></section>");
    }
    body.push_str("<section><h2>Knowledge</h2>");
    if k.islands.is_empty() {
        body.push_str(
            "<p>No knowledge island: no file is known mostly by one person who has gone quiet.</p>",
        );
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">island</th><th scope=\"col\">known by</th><th scope=\"col\">share</th><th scope=\"col\">last commit</th><th scope=\"col\">lines</th></tr></thead><tbody>");
        for i in &k.islands {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.path),
                esc(&i.main_author),
                pct(i.main_share),
                esc(&date(i.last_commit)),
                i.size_lines
                    .map_or_else(|| "binary".to_owned(), |s| s.to_string())
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(tf) = &k.truck_factor {
        let _ = write!(body, "<p>Truck factor {}: after ", tf.value);
        let names: Vec<String> = tf
            .removed
            .iter()
            .map(|a| format!("{} ({} of files orphaned)", a.name, pct(a.orphaned_share)))
            .collect();
        let _ = write!(
            body,
            "{} leave, more than half of {} files are orphaned.</p>",
            esc(&names.join(", then ")),
            tf.files
        );
    }
    body.push_str("</section>");
    body.push_str(&notes(&report.notices, Voice::Cli));
    body
}

/// A code report as a page.
pub fn code_page(report: &CodeReport, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("nextneck code: {}", report.source.path);
    out.write_all(page(&title, &code_sections(report)).as_bytes())
}
