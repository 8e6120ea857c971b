//! A small SVG chart kit for the HTML reports: axes, bars, points and lines
//! with a title, a description and a hover title on every mark. Colours are
//! CSS classes (`c-0`, `c-1`, ... and `c-bad`), so one stylesheet serves the
//! light and the dark theme. Output is deterministic: the same data gives
//! the same bytes.
//!
//! Legends and reference-line labels live in a strip above the plot that
//! [`Chart::legend`] and [`Chart::label_strip`] reserve, so they never
//! cover a mark; marks of a stage carry `data-stage`, and count axes are
//! `class="axis count"` with whole-number ticks, so that the browser tests
//! can check both.

use std::fmt::Write as _;

/// Escapes text for HTML and SVG content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Chart size in SVG user units; the page scales it to its width.
pub const WIDTH: f64 = 720.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
/// The height of a row of the strip above the plot.
const STRIP_ROW: f64 = 18.0;

/// A chart under construction.
pub struct Chart {
    id: String,
    height: f64,
    top: f64,
    body: String,
    title: String,
    desc: String,
}

/// A mapping from data values to a pixel range.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    log: bool,
}

impl Scale {
    /// A linear scale from `[d0, d1]` to `[r0, r1]`.
    pub fn linear(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let d1 = if d1 == d0 { d0 + 1.0 } else { d1 };
        Scale {
            d0,
            d1,
            r0,
            r1,
            log: false,
        }
    }

    /// A base-10 logarithmic scale; `d0` must be positive.
    pub fn log(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let d0 = d0.max(f64::MIN_POSITIVE);
        let d1 = if d1 <= d0 { d0 * 10.0 } else { d1 };
        Scale {
            d0,
            d1,
            r0,
            r1,
            log: true,
        }
    }

    /// The pixel position of `v` (values below a log scale's floor sit on it).
    pub fn at(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.max(self.d0).log10() - self.d0.log10()) / (self.d1.log10() - self.d0.log10())
        } else {
            (v - self.d0) / (self.d1 - self.d0)
        };
        self.r0 + t * (self.r1 - self.r0)
    }
}

impl Chart {
    /// A new chart; `id` must be unique in the page.
    pub fn new(id: &str, height: f64, title: &str, desc: &str) -> Chart {
        Chart {
            id: id.to_owned(),
            height,
            top: TOP,
            body: String::new(),
            title: title.to_owned(),
            desc: desc.to_owned(),
        }
    }

    /// The plotting area: (left, top, right, bottom).
    pub fn plot_area(&self) -> (f64, f64, f64, f64) {
        (LEFT, self.top, WIDTH - RIGHT, self.height - BOTTOM)
    }

    /// Reserves `rows` lines of text above the plot (the chart grows by
    /// as much): call it before anything is drawn. Returns the baseline of
    /// the first row.
    pub fn label_strip(&mut self, rows: usize) -> f64 {
        let first = self.top + 10.0;
        let extra = rows as f64 * STRIP_ROW;
        self.top += extra;
        self.height += extra;
        first
    }

    /// An x axis with tick labels at `ticks` (position, label) and a title.
    pub fn x_axis(&mut self, ticks: &[(f64, String)], label: &str) {
        self.x_axis_classed(ticks, label, "axis");
    }

    /// An x axis of counts (whole-number tick labels).
    pub fn x_count_axis(&mut self, ticks: &[(f64, String)], label: &str) {
        self.x_axis_classed(ticks, label, "axis count");
    }

    fn x_axis_classed(&mut self, ticks: &[(f64, String)], label: &str, class: &str) {
        let (l, _, r, b) = self.plot_area();
        let _ = write!(
            self.body,
            r#"<g class="{class}"><line x1="{l:.1}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}"/>"#
        );
        for (x, text) in ticks {
            let _ = write!(
                self.body,
                r#"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                b + 4.0,
                b + 16.0,
                esc(text)
            );
        }
        let _ = write!(
            self.body,
            r#"<text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            (l + r) / 2.0,
            self.height - 6.0,
            esc(label)
        );
    }

    /// A y axis for counts from zero to about `max` (four or so round,
    /// whole-number ticks), drawn, and its scale.
    pub fn count_axis(&mut self, max: f64, label: &str) -> Scale {
        let (_, t, _, b) = self.plot_area();
        let ticks = count_ticks(max, 4);
        let y = Scale::linear(0.0, ticks.last().copied().unwrap_or(1.0), b, t);
        let labels: Vec<(f64, String)> = ticks.iter().map(|&v| (y.at(v), format!("{v}"))).collect();
        self.y_axis_classed(&labels, label, "axis count");
        y
    }

    /// A y axis with tick labels and grid lines, and a title.
    pub fn y_axis(&mut self, ticks: &[(f64, String)], label: &str) {
        self.y_axis_classed(ticks, label, "axis");
    }

    fn y_axis_classed(&mut self, ticks: &[(f64, String)], label: &str, class: &str) {
        let (l, t, r, b) = self.plot_area();
        let _ = write!(
            self.body,
            r#"<g class="{class}"><line x1="{l:.1}" y1="{t:.1}" x2="{l:.1}" y2="{b:.1}"/>"#
        );
        for (y, text) in ticks {
            let _ = write!(
                self.body,
                r#"<line class="grid" x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                l - 6.0,
                y + 4.0,
                esc(text)
            );
        }
        let _ = write!(
            self.body,
            r#"<text class="axis-title" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text></g>"#,
            (t + b) / 2.0,
            esc(label)
        );
    }

    /// A rectangle mark with a hover title.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, hover: &str) {
        self.rect_of(x, y, w, h, class, hover, None);
    }

    /// A rectangle mark that stands for a stage (`data-stage`).
    pub fn stage_rect(
        &mut self,
        (x, y, w, h): (f64, f64, f64, f64),
        stage: &str,
        class: &str,
        hover: &str,
    ) {
        self.rect_of(x, y, w, h, class, hover, Some(stage));
    }

    #[allow(clippy::too_many_arguments)]
    fn rect_of(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        class: &str,
        hover: &str,
        stage: Option<&str>,
    ) {
        let _ = write!(
            self.body,
            r#"<rect class="mark {class}"{} x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            stage_attr(stage),
            w.max(0.0),
            h.max(0.0),
            esc(hover)
        );
    }

    /// A vertical reference line across the plot, labelled in row `row`
    /// of the strip above it (reserve the rows with [`Chart::label_strip`]),
    /// so that no label crosses another line.
    pub fn vline(&mut self, x: f64, row: usize, class: &str, label: &str) {
        let (_, t, _, b) = self.plot_area();
        let rows = ((t - TOP) / STRIP_ROW).round().max(1.0);
        let ty = t - 4.0 - (rows - 1.0 - row as f64).max(0.0) * STRIP_ROW;
        let _ = write!(
            self.body,
            r#"<g class="ref {class}"><line x1="{x:.1}" y1="{t:.1}" x2="{x:.1}" y2="{b:.1}"><title>{label}</title></line><text x="{x:.1}" y="{ty:.1}" text-anchor="middle">{label}</text></g>"#,
            label = esc(label),
        );
    }

    /// A circle mark with a hover title.
    pub fn point(&mut self, x: f64, y: f64, class: &str, hover: &str) {
        let _ = write!(
            self.body,
            r#"<circle class="mark {class}" cx="{x:.1}" cy="{y:.1}" r="3"><title>{}</title></circle>"#,
            esc(hover)
        );
    }

    /// A horizontal reference line across the plot with a label at its
    /// right end.
    pub fn hline(&mut self, y: f64, class: &str, label: &str) {
        self.hline_labelled(y, class, label, false);
    }

    /// The same, labelled at the left end (for a second line close by).
    pub fn hline_left(&mut self, y: f64, class: &str, label: &str) {
        self.hline_labelled(y, class, label, true);
    }

    fn hline_labelled(&mut self, y: f64, class: &str, label: &str, left: bool) {
        let (l, _, r, _) = self.plot_area();
        let (tx, anchor) = if left {
            (l + 4.0, "start")
        } else {
            (r - 2.0, "end")
        };
        let _ = write!(
            self.body,
            r#"<g class="ref {class}"><line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}"><title>{label}</title></line><text x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{label}</text></g>"#,
            label = esc(label),
            ty = y - 4.0
        );
    }

    /// A legend of stages: a swatch (`class`) and a label for each, in
    /// rows in a strip above the plot, which it reserves: call it before
    /// anything is drawn.
    pub fn legend(&mut self, entries: &[(String, String)]) {
        let (l, _, r, _) = self.plot_area();
        let mut rows: Vec<Vec<(f64, &String, &String)>> = vec![Vec::new()];
        let mut x = l;
        for (class, label) in entries {
            let width = 14.0 + 7.0 * label.chars().count() as f64 + 14.0;
            if x + width > r && x > l {
                rows.push(Vec::new());
                x = l;
            }
            if let Some(row) = rows.last_mut() {
                row.push((x, class, label));
            }
            x += width;
        }
        let first = self.label_strip(rows.len());
        self.body.push_str(r#"<g class="legend">"#);
        for (i, row) in rows.into_iter().enumerate() {
            let y = first + i as f64 * STRIP_ROW;
            for (x, class, label) in row {
                let _ = write!(
                    self.body,
                    r#"<rect class="{class}" data-stage="{label}" x="{x:.1}" y="{:.1}" width="10" height="10"/><text x="{:.1}" y="{y:.1}">{label}</text>"#,
                    y - 9.0,
                    x + 14.0,
                    label = esc(label)
                );
            }
        }
        self.body.push_str("</g>");
    }

    /// A polyline (a run chart) with a hover title.
    pub fn line(&mut self, points: &[(f64, f64)], class: &str, hover: &str) {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
        }
        let _ = write!(
            self.body,
            r#"<path class="mark line {class}" d="{d}"><title>{}</title></path>"#,
            esc(hover)
        );
    }

    /// A filled polygon (a band of a cumulative flow diagram) that stands
    /// for a stage.
    pub fn stage_area(&mut self, points: &[(f64, f64)], stage: &str, class: &str, hover: &str) {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
        }
        d.push_str(" Z");
        let _ = write!(
            self.body,
            r#"<path class="mark {class}" data-stage="{}" d="{d}"><title>{}</title></path>"#,
            esc(stage),
            esc(hover)
        );
    }

    /// Free text in the plot.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
            esc(text)
        );
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        format!(
            r#"<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>"#,
            id = self.id,
            w = WIDTH,
            h = self.height,
            title = esc(&self.title),
            desc = esc(&self.desc),
            body = self.body
        )
    }
}

fn stage_attr(stage: Option<&str>) -> String {
    stage.map_or_else(String::new, |s| format!(" data-stage=\"{}\"", esc(s)))
}

/// Tick values for counts covering `[0, max]`: as [`nice_ticks`], but never
/// a step below 1, so every tick is a whole number.
pub fn count_ticks(max: f64, count: usize) -> Vec<f64> {
    nice_ticks(max.max(1.0).max(count.max(1) as f64 / 2.0), count)
        .into_iter()
        .filter(|v| v.fract() == 0.0)
        .collect()
}

/// "Nice" linear tick values covering `[0, max]`: 1, 2 or 5 times a power
/// of ten, about `count` of them.
pub fn nice_ticks(max: f64, count: usize) -> Vec<f64> {
    if max <= 0.0 || !max.is_finite() {
        return vec![0.0, 1.0];
    }
    let raw = max / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut ticks = Vec::new();
    let mut v = 0.0;
    while v <= max + step * 0.5 {
        ticks.push(v);
        v += step;
    }
    if ticks.last().is_some_and(|&last| last < max) {
        ticks.push(v);
    }
    ticks
}

/// Duration ticks for a log scale: those of 1m (labelled `≤1m`: the
/// scale's floor), 1h, 1d, 1w, 4w, 1y (52 weeks), 5y that fall in `[lo, hi]`.
pub fn duration_ticks(lo: f64, hi: f64) -> Vec<(f64, &'static str)> {
    const TICKS: [(f64, &str); 7] = [
        (60.0, "≤1m"),
        (3600.0, "1h"),
        (86_400.0, "1d"),
        (604_800.0, "1w"),
        (2_419_200.0, "4w"),
        (31_449_600.0, "1y"),
        (157_248_000.0, "5y"),
    ];
    TICKS
        .iter()
        .copied()
        .filter(|(v, _)| *v >= lo && *v <= hi)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_ends_to_ends() {
        let s = Scale::linear(0.0, 10.0, 100.0, 200.0);
        assert_eq!((s.at(0.0), s.at(5.0), s.at(10.0)), (100.0, 150.0, 200.0));
        let l = Scale::log(1.0, 100.0, 0.0, 100.0);
        assert_eq!(
            (l.at(1.0), l.at(10.0), l.at(100.0), l.at(0.0)),
            (0.0, 50.0, 100.0, 0.0)
        );
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_ticks(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(7.0, 4), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.0, 4), vec![0.0, 1.0]);
        for (max, expected) in [
            (0.0, vec![0.0, 1.0, 2.0]),
            (1.0, vec![0.0, 1.0, 2.0]),
            (2.0, vec![0.0, 1.0, 2.0]),
            (3.0, vec![0.0, 1.0, 2.0, 3.0]),
            (7.0, vec![0.0, 2.0, 4.0, 6.0, 8.0]),
        ] {
            assert_eq!(count_ticks(max, 4), expected, "{max}");
        }
    }

    #[test]
    fn legends_and_labels_get_a_strip_above_the_plot() {
        let mut chart = Chart::new("c", 200.0, "t", "d");
        let before = chart.plot_area();
        // Eight long names, three to a row: three rows of the strip.
        let entries: Vec<(String, String)> = (0..8)
            .map(|i| (format!("c-{i}"), format!("a rather long stage {i}")))
            .collect();
        chart.legend(&entries);
        let (l, t, r, b) = chart.plot_area();
        assert_eq!((l, r, b), (before.0, before.2, before.3 + 3.0 * STRIP_ROW));
        assert_eq!(t, before.1 + 3.0 * STRIP_ROW);
        let y = chart.count_axis(3.0, "items");
        assert_eq!(y.at(0.0), b);
        let svg = chart.finish();
        assert!(svg.contains(r#"viewBox="0 0 720 254""#), "{svg}");
        assert!(svg.contains(r#"<g class="axis count">"#));
        assert!(svg.contains(r#"data-stage="a rather long stage 7""#));
        // Every swatch lies above the plot's top.
        for part in svg.split(r#"<rect class="c-"#).skip(1) {
            let y: f64 = part
                .split(r#" y=""#)
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::MAX);
            assert!(y + 10.0 < t, "{y} {t}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
