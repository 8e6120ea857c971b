//! A small SVG chart kit for the HTML reports: axes, bars, points and lines
//! with a title, a description and a hover title on every mark. Colours are
//! CSS classes (`c-0`, `c-1`, ... and `c-bad`), so one stylesheet serves the
//! light and the dark theme. Output is deterministic: the same data gives
//! the same bytes.

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

/// A chart under construction.
pub struct Chart {
    id: String,
    height: f64,
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
            body: String::new(),
            title: title.to_owned(),
            desc: desc.to_owned(),
        }
    }

    /// The plotting area: (left, top, right, bottom).
    pub fn plot_area(&self) -> (f64, f64, f64, f64) {
        (LEFT, TOP, WIDTH - RIGHT, self.height - BOTTOM)
    }

    /// An x axis with tick labels at `ticks` (position, label) and a title.
    pub fn x_axis(&mut self, ticks: &[(f64, String)], label: &str) {
        let (l, _, r, b) = self.plot_area();
        let _ = write!(
            self.body,
            r#"<g class="axis"><line x1="{l:.1}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}"/>"#
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

    /// A y axis for counts from zero to about `max` (four or so round
    /// ticks), drawn, and its scale.
    pub fn count_axis(&mut self, max: f64, label: &str) -> Scale {
        let (_, t, _, b) = self.plot_area();
        let ticks = nice_ticks(max, 4);
        let y = Scale::linear(0.0, ticks.last().copied().unwrap_or(1.0), b, t);
        let labels: Vec<(f64, String)> = ticks.iter().map(|&v| (y.at(v), format!("{v}"))).collect();
        self.y_axis(&labels, label);
        y
    }

    /// A y axis with tick labels and grid lines, and a title.
    pub fn y_axis(&mut self, ticks: &[(f64, String)], label: &str) {
        let (l, t, r, b) = self.plot_area();
        let _ = write!(
            self.body,
            r#"<g class="axis"><line x1="{l:.1}" y1="{t:.1}" x2="{l:.1}" y2="{b:.1}"/>"#
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
        let _ = write!(
            self.body,
            r#"<rect class="mark {class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            w.max(0.0),
            h.max(0.0),
            esc(hover)
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

    /// A legend: a swatch and a label for each series, in a row above the
    /// plot's top right corner.
    pub fn legend(&mut self, entries: &[(String, String)]) {
        let (_, t, r, _) = self.plot_area();
        let mut x = r;
        let mut items = Vec::new();
        for (class, label) in entries.iter().rev() {
            let width = 16.0 + 6.5 * label.chars().count() as f64 + 12.0;
            x -= width;
            items.push((x, class, label));
        }
        self.body.push_str(r#"<g class="legend">"#);
        for (x, class, label) in items.into_iter().rev() {
            let _ = write!(
                self.body,
                r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="10" height="10"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                t - 1.0,
                x + 14.0,
                t + 8.0,
                esc(label)
            );
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

    /// A filled polygon (a band of a cumulative flow diagram).
    pub fn area(&mut self, points: &[(f64, f64)], class: &str, hover: &str) {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
        }
        d.push_str(" Z");
        let _ = write!(
            self.body,
            r#"<path class="mark {class}" d="{d}"><title>{}</title></path>"#,
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
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
