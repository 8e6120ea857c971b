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
