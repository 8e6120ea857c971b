//! End-to-end tests of `nextneck flow` and `nextneck forecast`: the real
//! binary on real files (every example of examples/, split logs, broken
//! logs) and on a real git repository.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn config() -> String {
    examples().join("nextneck.toml").display().to_string()
}

fn ok_json(args: &[&str]) -> Value {
    let (code, out, err) = run_text(args);
    assert_eq!(code, 0, "nextneck {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// Every example stream, as the README runs it, with the bottleneck its
/// generator built in.
#[test]
fn every_example_runs() {
    let cases = [
        ("hiring", "transitions", "interview"),
        ("sales-leads", "transitions", "proposal"),
        ("supplier-tickets", "transitions", "waiting on supplier"),
        ("contract-review", "activities", "Legal review"),
        ("billing", "transitions", "sent"),
        ("delivery", "activities", "code review"),
    ];
    let cfg = config();
    for (stream, model, bottleneck) in cases {
        let r = ok_json(&[
            "flow", "--config", &cfg, "--stream", stream, "--format", "json",
        ]);
        assert_eq!(r["source"]["stream"], stream);
        assert_eq!(r["model"], model, "{stream}");
        assert_eq!(r["bottleneck"]["stage"], bottleneck, "{stream}");
        assert!(r["flow"]["completed"].as_u64().unwrap() > 20, "{stream}");
        assert!(r["bottleneck"]["next"]["stage"].is_string(), "{stream}");
        for format in ["table", "markdown"] {
            let (code, out, err) = run_text(&[
                "flow", "--config", &cfg, "--stream", stream, "--format", format,
            ]);
            assert_eq!(code, 0, "{stream} {format}: {err}");
            assert!(out.contains(bottleneck), "{stream} {format}:\n{out}");
        }
        let f = ok_json(&[
            "forecast", "--config", &cfg, "--stream", stream, "--items", "10", "--days", "14",
            "--format", "json",
        ]);
        assert!(f["forecast"]["when"]["p85"]["days"].as_u64().unwrap() >= 1);
        assert!(
            f["forecast"]["how_many"]["p85"]["items"].as_u64()
                <= f["forecast"]["how_many"]["p50"]["items"].as_u64()
        );
    }
    // Every stream at once: the overview ranks their bottlenecks.
    let all = ok_json(&["flow", "--config", &cfg, "--format", "json"]);
    assert_eq!(all["kind"], "streams");
    assert_eq!(all["streams"].as_array().unwrap().len(), 6);
    let medians: Vec<f64> = all["overview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["median_seconds"].as_f64().unwrap())
        .collect();
    assert!(medians.windows(2).all(|w| w[0] >= w[1]), "{medians:?}");
    assert_eq!(all["overview"][0]["rank"], 1);
    // And from the config's folder, with no flags at all.
    let out = nextneck()
        .arg("flow")
        .current_dir(examples())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("nextneck flow: every stream's bottleneck"),
        "{text}"
    );
}

const LOG: &str = "case_id,stage,timestamp
C,doing,2024-03-01T08:00:00Z
A,done,2024-03-01T10:00:00Z
A,new,2024-03-01T00:00:00Z
B,new,2024-03-01T01:00:00Z
A,doing,2024-03-01T02:00:00Z
C,new,2024-03-01T03:00:00Z
B,doing,2024-03-01T04:00:00Z
B,done,2024-03-01T04:00:00Z
A,review,2024-03-01T05:00:00Z
A,doing,2024-03-01T06:00:00Z
";

#[test]
fn the_table_and_split_files() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.csv");
    std::fs::write(&one, LOG).unwrap();
    let (code, out, err) = run_text(&["flow", one.to_str().unwrap(), "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    let out = out.replace(one.to_str().unwrap(), "one.csv");
    insta::assert_snapshot!(out, @"
    nextneck flow one.csv (one.csv; 10 events, 3 items, transitions model)
    window  2024-03-01T00:00:00Z to 2024-03-02T00:00:00Z (1 day, default); now 2024-03-01T10:00:00Z
    done    done

    stage   count  median  p85   total  share  wip  aging
    new     3      3.0h    4.4h  10.0h  56%    0    0      █████████████
    doing   3      3.0h    3.7h  7.0h   39%    1    0      █████████
    review  1      1.0h    1.0h  1.0h   6%     0    0      █

    flow: 2 items finished (14.00/week), 1 in progress (0 older than the p85 flow time 8.9h); flow time median 6.5h, p85 8.9h; net flow +7.00/week; flow efficiency n/a
    largest stage: new holds 56% of item time (95% interval 39–89%; median 3.0h, p85 4.4h, 3 stays); 3 stays are too few to call it the bottleneck (at least 10 needed); its queue is not growing; next: doing at 39%, inside new's 95% interval (39–89%): the data cannot tell the two apart
    oldest: C (doing, 7.0h)

    notes
      - flow efficiency needs to know which stages are work and which are waiting: pass --active and --wait, or set categories in nextneck.toml
      - new is the largest stage, but 3 stays are too few to call it the bottleneck (at least 10 needed)
    ");

    // The same log split over a CSV and an NDJSON file gives the same figures.
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.ndjson");
    let lines: Vec<&str> = LOG.lines().collect();
    std::fs::write(&a, format!("{}\n{}\n", lines[0], lines[1..6].join("\n"))).unwrap();
    let ndjson: String = lines[6..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!(
                "{{\"case_id\": \"{}\", \"stage\": \"{}\", \"timestamp\": \"{}\"}}\n",
                f[0], f[1], f[2]
            )
        })
        .collect();
    std::fs::write(&b, ndjson).unwrap();
    let whole = ok_json(&["flow", one.to_str().unwrap(), "--format", "json"]);
    let split = ok_json(&[
        "flow",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    for key in ["stages", "bottleneck", "flow", "cfd", "scatter"] {
        assert_eq!(whole[key], split[key], "{key}");
    }
    assert_eq!(split["source"]["files"].as_array().unwrap().len(), 2);
}

/// The page says what the table says: three stays are too few to call a
/// bottleneck, so the verdict names the largest stage, with the intervals.
#[test]
fn the_page_calls_a_small_samples_stage_the_largest_not_the_bottleneck() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.csv");
    std::fs::write(&one, LOG).unwrap();
    let (code, page, err) = run_text(&["flow", one.to_str().unwrap(), "--format", "html"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.contains("<strong>Largest stage: new.</strong>"),
        "{page}"
    );
    assert!(!page.contains("<strong>Bottleneck: "), "{page}");
    assert!(page.contains("median 95% interval"), "{page}");
}

#[test]
fn errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "case_id,stage,timestamp\nA,new,2024-03-01\nA,done,31/12/2024\n",
    )
    .unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, LOG).unwrap();
    let (bad_s, good_s) = (bad.to_str().unwrap(), good.to_str().unwrap());
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec!["flow", bad_s],
            1,
            format!("error: {bad_s}:3: field \"timestamp\": \"31/12/2024\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")\n"),
        ),
        (
            vec!["flow", good_s, "--done", "shipped"],
            2,
            "error: --done \"shipped\" is not a stage of the log; the stages are \"doing\", \"done\", \"new\", \"review\"\n".to_owned(),
        ),
        (
            vec!["flow", good_s, "--stream", "x", "--config", "/nonexistent/nextneck.toml"],
            2,
            "error: cannot read the configuration /nonexistent/nextneck.toml: No such file or directory (os error 2)\n".to_owned(),
        ),
        (
            vec!["flow", good_s, "--tz", "Mars/Olympus"],
            2,
            "error: --tz Mars/Olympus: not a time zone; use an IANA name such as Europe/Paris or UTC\n".to_owned(),
        ),
        (
            vec!["forecast", good_s, "--items", "3", "--since", "2024-01-01", "--until", "2024-02-01"],
            1,
            "error: no items completed between 2024-01-01T00:00:00Z and 2024-02-01T00:00:00Z, so there is no throughput to forecast from; widen the history with --since, or check what counts as done\n".to_owned(),
        ),
    ];
    for (args, want_code, want_err) in cases {
        let (code, _, err) = run_text(&args);
        assert_eq!(
            (code, err.as_str()),
            (want_code, want_err.as_str()),
            "{args:?}"
        );
    }
    let cfg = config();
    let (code, _, err) = run_text(&["flow", "--config", &cfg, "--stream", "payroll"]);
    assert_eq!(code, 2);
    assert!(err.contains("no stream \"payroll\" in the configuration; it has billing, contract-review, delivery, hiring, sales-leads, supplier-tickets"), "{err}");
}

#[test]
fn forecast_from_a_log_is_deterministic() {
    let cfg = config();
    let args = [
        "forecast", "--config", &cfg, "--stream", "billing", "--items", "30", "--days", "7",
        "--format", "json",
    ];
    let a = ok_json(&args);
    let b = ok_json(&args);
    assert_eq!(a, b);
    assert_eq!(a["trials"], 10_000);
    assert_eq!(a["seed"], 1);
    assert_eq!(a["source"]["unit"], "items");
    let mut other = args.to_vec();
    other.extend(["--seed", "2", "--trials", "500"]);
    let c = ok_json(&other);
    assert_eq!(c["trials"], 500);
    assert_eq!(c["history"], a["history"]);
}

#[test]
fn forecast_over_a_repositorys_deployments() {
    // A release every day for ten days, each shipping two commits.
    let mut repo = Repo::new();
    for d in 0..10 {
        repo.commit(&format!("a{d}"), at(d, 8), at(d, 8));
        let c = repo.commit(&format!("b{d}"), at(d, 9), at(d, 9));
        repo.tag(&format!("v1.{d}.0"), &c);
    }
    let path = repo.path().to_str().unwrap();
    let r = ok_json(&[
        "forecast", "--git", path, "--items", "5", "--format", "json",
    ]);
    // One deployment a day, every day of the ten-day history: 5 days.
    assert_eq!(r["source"]["unit"], "deployments");
    assert_eq!(r["history"]["days"], 10);
    assert_eq!(r["history"]["completed"], 10);
    assert_eq!(
        r["forecast"]["when"]["p95"],
        json!({"days": 5, "date": "2024-01-15"})
    );
    // Changes: two per deployment except the baseline's.
    let r = ok_json(&[
        "forecast", "--git", path, "--count", "changes", "--days", "3", "--format", "json",
    ]);
    assert_eq!(r["history"]["completed"], 18);
    // Day 1 has none (the baseline's changes are not throughput): the
    // history starts at the first completion, day 2, and every day of it
    // has 2: at least 6 in 3 days with 95 %.
    assert_eq!(r["history"]["since"], "2024-01-02T00:00:00Z");
    assert_eq!(r["history"]["days"], 9);
    assert_eq!(r["forecast"]["how_many"]["p95"]["items"], 6);
}

/// Writes a page with `nextneck ARGS --format html -o FILE` and opens it in
/// headless Chromium: every chart drew marks, nothing logged, nothing asked
/// of the network, accessibility basics; screenshots kept under
/// `target/screenshots/` (at a laptop's width and a wall screen's). Returns
/// the page.
fn page_in_browser(args: &[&str], name: &str, charts: &[String]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.html"));
    let out = nextneck()
        .current_dir(examples())
        .args(args)
        .args(["--format", "html", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("file://{}", file.display());
    let page = browser::load(&url);
    let charts: Vec<&str> = charts.iter().map(String::as_str).collect();
    browser::check_page(&page, &charts);
    browser::check_words(&page.dom, false);
    browser::screenshot(&url, name, 1000, 2600);
    browser::screenshot(&url, &format!("{name}-wall"), 1920, 1600);
    std::fs::read_to_string(&file).unwrap()
}

#[test]
fn flow_forecast_and_overview_pages_render_in_a_browser() {
    let config = config();
    let flow_charts = |prefix: &str| {
        [
            "flow-stages",
            "flow-cfd",
            "flow-aging",
            "flow-throughput",
            "flow-scatter",
        ]
        .iter()
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
    };
    let hiring = page_in_browser(
        &["flow", "--config", &config, "--stream", "hiring"],
        "flow-hiring",
        &flow_charts(""),
    );
    let forecast = page_in_browser(
        &[
            "forecast", "--config", &config, "--stream", "hiring", "--items", "20", "--days", "30",
        ],
        "forecast-hiring",
        &["forecast-when".to_owned(), "forecast-how-many".to_owned()],
    );
    // A wall screen and a laptop.
    let hiring_wall = browser::measure(&hiring, 1920);
    browser::check_wall_screen(&hiring_wall);
    browser::check_wall_screen(&browser::measure(&hiring, 1280));
    // The wide screen is used: two charts side by side, not a 980 px column.
    assert!(hiring_wall["main"].as_f64().unwrap() > 1800.0);
    let widths: Vec<f64> = hiring_wall["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["width"].as_f64().unwrap())
        .collect();
    assert!(widths.iter().all(|&w| w > 800.0 && w < 960.0), "{widths:?}");
    // Hiring's stages, each in one colour on the bar, the CFD and the aging
    // chart; done in its own.
    let fills = browser::stage_fills(&hiring_wall);
    for stage in ["applied", "screen", "interview", "offer", "done"] {
        assert!(
            fills.contains_key(&(String::new(), stage.to_owned())),
            "{stage}: {fills:?}"
        );
    }
    // The forecast: a histogram of the trials with the four percentile
    // lines, whole-number ticks.
    let measured = browser::measure(&forecast, 1920);
    browser::check_wall_screen(&measured);
    for chart in measured["charts"].as_array().unwrap() {
        assert!(
            chart["marks"].as_array().unwrap().len() >= 10,
            "{}",
            chart["id"]
        );
        assert!(!chart["counts"].as_array().unwrap().is_empty());
    }
    for line in ["ref p50", "ref p70", "ref p85", "ref p95"] {
        assert_eq!(
            forecast.matches(&format!("class=\"{line}\"")).count(),
            2,
            "{line}"
        );
    }
    // Every stream on one page: chart ids stay unique.
    let streams = [
        "hiring",
        "sales-leads",
        "supplier-tickets",
        "contract-review",
        "billing",
        "delivery",
    ];
    let mut all = Vec::new();
    for s in streams {
        all.extend(flow_charts(&format!("{s}-")));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("streams.html");
    let out = nextneck()
        .current_dir(examples())
        .args(["flow", "--config", &config, "--format", "html", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&file).unwrap();
    for s in streams {
        assert!(
            html.contains(&format!("href=\"#stream-{s}\"")),
            "the overview links to {s}"
        );
    }
    let page = browser::load(&format!("file://{}", file.display()));
    // Charts of streams without finished items or in-progress work may be
    // absent; those present drew marks.
    let present: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|id| html.contains(&format!("id=\"{id}\"")))
        .collect();
    assert!(present.len() >= 20, "only {} charts", present.len());
    browser::check_page(&page, &present);
    browser::check_words(&page.dom, false);
    // Every stream's charts: one colour per stage, done never a stage's
    // (billing's drafted was), legends off the data, whole-number counts.
    let measured = browser::measure(&html, 1920);
    browser::check_wall_screen(&measured);
    // Across pages: hiring's stages keep their colours on the streams page.
    let all_fills = browser::stage_fills(&measured);
    for ((_, stage), fill) in &fills {
        assert_eq!(
            all_fills.get(&("stream-hiring".to_owned(), stage.clone())),
            Some(fill),
            "{stage}"
        );
    }
    browser::screenshot(
        &format!("file://{}", file.display()),
        "flow-streams-wall",
        1920,
        3000,
    );
}
