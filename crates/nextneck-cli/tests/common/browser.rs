//! Opening pages in a real headless Chromium, as a person would: the DOM
//! after scripts ran, console messages, every network request the page made
//! (from Chromium's net log), and a screenshot kept under
//! `target/screenshots/`.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a page did when loaded.
pub struct Page {
    /// The serialized DOM after loading and running scripts.
    pub dom: String,
    /// Console messages and uncaught errors.
    pub console: Vec<String>,
    /// URLs the page requested (Chromium's own background requests are not
    /// included).
    pub requests: Vec<String>,
}

/// The Chromium binary: `NEXTNECK_CHROMIUM`, else `chromium` on `PATH`.
/// Missing Chromium is a failure with instructions, never a skip.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("NEXTNECK_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        }
    }
    panic!(
        "Chromium is needed for the browser tests: run ./test.sh (it installs Debian's chromium), or install it and set NEXTNECK_CHROMIUM"
    );
}

fn base_command(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Loads `url`, returning its DOM, console output and requests.
///
/// Loading an http page requests at least the page itself, so a net log
/// without any page request means Chromium did not write it in full (seen
/// on a loaded machine, when it exits right after dumping the DOM): the
/// page is loaded again, up to three times, rather than trusting an empty
/// log. (A `file://` page's own load is not in the log.)
pub fn load(url: &str) -> Page {
    let mut page = load_once(url);
    for _ in 0..2 {
        if !page.requests.is_empty() || !url.starts_with("http") {
            break;
        }
        page = load_once(url);
    }
    page
}

fn load_once(url: &str) -> Page {
    let profile = tempfile::tempdir().unwrap();
    let netlog = profile.path().join("netlog.json");
    let out = base_command(&profile.path().join("profile"))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    Page {
        dom: String::from_utf8(out.stdout).unwrap(),
        console,
        requests: page_requests(&netlog),
    }
}

/// The URLs requested on behalf of a page (an initiator that is an origin or
/// `null`); Chromium's own requests have the initiator "not an origin".
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).unwrap();
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .unwrap();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_i64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// True for a URL that stays on this machine.
pub fn is_local(url: &str) -> bool {
    [
        "file://",
        "data:",
        "blob:",
        "http://127.0.0.1",
        "http://localhost",
        "http://[::1]",
        "about:",
    ]
    .iter()
    .any(|p| url.starts_with(p))
}

/// Saves a screenshot of `url` as `target/screenshots/NAME.png`.
pub fn screenshot(url: &str, name: &str, width: u32, height: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let profile = tempfile::tempdir().unwrap();
    let out = base_command(profile.path())
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&path).unwrap().len() > 1000,
        "empty screenshot"
    );
    path
}

/// Asserts the accessibility basics and that every chart drew marks.
pub fn check_page(page: &Page, charts: &[&str]) {
    let dom = &page.dom;
    assert!(
        page.console.is_empty(),
        "console messages: {:?}",
        page.console
    );
    let remote: Vec<&String> = page.requests.iter().filter(|u| !is_local(u)).collect();
    assert!(
        remote.is_empty(),
        "requests leaving this machine: {remote:?}"
    );
    assert!(dom.contains("<html lang=\"en\""), "no lang attribute");
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    assert!(!title.trim().is_empty(), "no page title");
    for img in dom.split("<img").skip(1) {
        assert!(
            img.split('>').next().unwrap_or("").contains("alt="),
            "an image without alt text"
        );
    }
    for id in charts {
        let start = dom
            .find(&format!("<svg class=\"chart\" id=\"{id}\""))
            .unwrap_or_else(|| panic!("chart {id} missing"));
        let svg = &dom[start..start + dom[start..].find("</svg>").unwrap()];
        assert!(svg.contains("role=\"img\""), "chart {id} has no role");
        assert!(
            svg.contains(&format!("<title id=\"{id}-title\">")),
            "chart {id} has no title"
        );
        assert!(
            svg.contains(&format!("<desc id=\"{id}-desc\">")),
            "chart {id} has no description"
        );
        assert!(
            svg.contains("class=\"axis-title\""),
            "chart {id} has no axis label"
        );
        let marks = svg.matches("class=\"mark").count();
        assert!(marks > 0, "chart {id} drew no marks");
    }
    let svgs = dom.matches("<svg class=\"chart\"").count();
    assert_eq!(svgs, charts.len(), "charts on the page");
}

/// Measures the laid-out charts of a page in Chromium at `width` pixels: a
/// copy of `html` with a script that writes what the browser computed (each
/// stage mark's fill, the boxes of legends, marks, axis lines and plot
/// labels, the count axes' tick labels) into the DOM as JSON. The pages
/// themselves carry no script; only this copy does.
pub fn measure(html: &str, width: u32) -> serde_json::Value {
    const PROBE: &str = r#"<script>
(function () {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const charts = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const group = svg.closest('article') ? svg.closest('article').id : '';
    charts.push({
      id: svg.id,
      group: group,
      stages: [...svg.querySelectorAll('[data-stage]')].map(e => ({
        stage: e.dataset.stage,
        fill: getComputedStyle(e).fill,
        legend: !!e.closest('.legend'),
      })),
      legends: [...svg.querySelectorAll('.legend')].map(box),
      marks: [...svg.querySelectorAll('.mark')].map(box),
      axis_lines: [...svg.querySelectorAll('.axis > line:first-child')].map(box),
      labels: [...svg.querySelectorAll('text')]
        .filter(t => !t.closest('.axis') && !t.closest('.legend') && !t.closest('.ref'))
        .map(t => ({ text: t.textContent, box: box(t) })),
      counts: [...svg.querySelectorAll('.axis.count > text:not(.axis-title)')].map(t => t.textContent),
      width: svg.getBoundingClientRect().width,
    });
  }
  const pre = document.createElement('pre');
  pre.id = 'nextneck-probe';
  pre.textContent = JSON.stringify({ charts: charts, main: document.querySelector('main').getBoundingClientRect().width });
  document.body.appendChild(pre);
})();
</script>"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.html");
    let probed = match html.rfind("</body>") {
        Some(i) => format!("{}{PROBE}{}", &html[..i], &html[i..]),
        None => format!("{html}{PROBE}"),
    };
    std::fs::write(&file, probed).unwrap();
    let out = base_command(&dir.path().join("profile"))
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(format!("--window-size={width},1200"))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    let json = dom
        .split("<pre id=\"nextneck-probe\">")
        .nth(1)
        .and_then(|t| t.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run"));
    let json = json
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

fn overlap(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let f = |v: &serde_json::Value, i: usize| v[i].as_f64().unwrap();
    f(a, 0) < f(b, 2) && f(b, 0) < f(a, 2) && f(a, 1) < f(b, 3) && f(b, 1) < f(a, 3)
}

/// The fill of every stage, per group of charts (a stream's `<article>`, or
/// the page), checked to be one fill per stage in each group: the same on
/// every chart and in every legend.
pub fn stage_fills(
    measured: &serde_json::Value,
) -> std::collections::BTreeMap<(String, String), String> {
    let mut fills = std::collections::BTreeMap::new();
    for chart in measured["charts"].as_array().unwrap() {
        let group = chart["group"].as_str().unwrap().to_owned();
        for s in chart["stages"].as_array().unwrap() {
            let stage = s["stage"].as_str().unwrap().to_owned();
            let fill = s["fill"].as_str().unwrap().to_owned();
            let seen = fills
                .entry((group.clone(), stage.clone()))
                .or_insert_with(|| fill.clone());
            assert_eq!(
                *seen, fill,
                "{group}/{stage} changes colour in chart {}",
                chart["id"]
            );
        }
    }
    fills
}

/// What a wall screen needs, measured in the browser: one colour per stage
/// across the page's charts, done always in one colour that no stage
/// takes; no legend box over a mark; no plot label on an axis line; count
/// axes ticked in whole numbers; charts as wide as the screen allows.
pub fn check_wall_screen(measured: &serde_json::Value) {
    let fills = stage_fills(measured);
    let done: std::collections::BTreeSet<&String> = fills
        .iter()
        .filter(|((_, stage), _)| stage == "done")
        .map(|(_, f)| f)
        .collect();
    assert!(done.len() <= 1, "done in several colours: {done:?}");
    for ((group, stage), fill) in &fills {
        if stage != "done" {
            assert!(
                !done.contains(fill),
                "{group}/{stage} takes done's colour {fill}"
            );
        }
    }
    for chart in measured["charts"].as_array().unwrap() {
        let id = chart["id"].as_str().unwrap();
        for legend in chart["legends"].as_array().unwrap() {
            for mark in chart["marks"].as_array().unwrap() {
                assert!(
                    !overlap(legend, mark),
                    "chart {id}: legend {legend} covers mark {mark}"
                );
            }
        }
        for label in chart["labels"].as_array().unwrap() {
            for axis in chart["axis_lines"].as_array().unwrap() {
                // An axis line is a zero-width box: widen it by a pixel.
                let widened = serde_json::json!([
                    axis[0].as_f64().unwrap() - 1.0,
                    axis[1].as_f64().unwrap() - 1.0,
                    axis[2].as_f64().unwrap() + 1.0,
                    axis[3].as_f64().unwrap() + 1.0
                ]);
                assert!(
                    !overlap(&label["box"], &widened),
                    "chart {id}: label {} sits on an axis",
                    label["text"]
                );
            }
        }
        for tick in chart["counts"].as_array().unwrap() {
            let t = tick.as_str().unwrap();
            assert!(
                t.parse::<u64>().is_ok(),
                "chart {id}: count tick {t:?} is not a whole number"
            );
        }
    }
}

/// The text a reader sees: the DOM without its style and tags, and
/// without its `<code>` spans (which may quote a name on purpose) unless
/// `code`.
pub fn visible_text(dom: &str, code: bool) -> String {
    let mut s = dom.to_owned();
    let hidden: &[(&str, &str)] = if code {
        &[("<style>", "</style>")]
    } else {
        &[("<style>", "</style>"), ("<code>", "</code>")]
    };
    for &(open, close) in hidden {
        while let Some(i) = s.find(open) {
            let end = s[i..].find(close).map_or(s.len(), |j| i + j + close.len());
            s.replace_range(i..end, " ");
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&#39;", "'")
}

/// Words a reader should never see: literal Markdown backticks, internal
/// snake_case names, wrong ordinals ("2th"), and, on the dashboard
/// (`dashboard`), command-line flags.
pub fn check_words(dom: &str, dashboard: bool) {
    let text = visible_text(dom, false);
    assert!(!text.contains('`'), "a literal backtick in: {text}");
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')) {
        let snake = word.contains('_')
            && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !word.starts_with('_')
            && !word.ends_with('_');
        assert!(!snake, "internal name {word:?} shown");
        if let Some(number) = word.strip_suffix("th")
            && let Ok(n) = number.parse::<u64>()
        {
            assert!(
                matches!(n % 100, 11..=13) || !matches!(n % 10, 1..=3),
                "wrong ordinal {word:?}"
            );
        }
    }
    if dashboard {
        let text = visible_text(dom, true);
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')) {
            assert!(
                !(word.starts_with("--") && word.len() > 2),
                "the dashboard gives command-line advice: {word:?}"
            );
        }
    }
}
