//! Benchmark: `nextneck flow` on a 10-million-event log against PM4Py
//! (per-activity times: the performance DFG) and DuckDB (per-stage medians
//! in SQL), side by side in one run on the same file.
//!
//! `cargo bench -p nextneck-cli --bench flow` generates (once, cached under
//! `target/bench-data/`) a CSV event log, then runs the three alternately
//! and prints medians, ratios, CPU time and peak memory (every run goes
//! through `/usr/bin/time`; the largest peak is shown), with the load
//! average before and after (the machines are shared).
//! PM4Py and DuckDB come from PyPI: `pip install pm4py duckdb`; when one is
//! missing its column says so and the others still run. Nothing is
//! installed here.
//!
//! Environment:
//! * `NEXTNECK_BENCH_EVENTS=N`: the log's size (default 10,000,000).
//! * `NEXTNECK_BENCH_ROUNDS=N`: rounds (default 5; PM4Py, at over a minute
//!   a run, runs once, with no warm-up: `NEXTNECK_BENCH_PM4PY_ROUNDS=N`).
//! * `NEXTNECK_BENCH_PYTHON=PATH`: the Python with pm4py and duckdb.
//! * `NEXTNECK_BENCH_LAYOUT=case|time|both`: the log's row order (default
//!   both, one after the other, each with its own table): each item's rows
//!   together (`case`), or every row in time order with items interleaved
//!   (`time`, as tools export their logs). The rows are the same.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const PM4PY: &str = r#"
import sys, pandas as pd, pm4py
df = pd.read_csv(sys.argv[1])
df = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
dfg, start, end = pm4py.discover_performance_dfg(df)
print(len(dfg))
"#;

const DUCKDB: &str = r#"
import sys, duckdb
rows = duckdb.sql(f"""
WITH e AS (SELECT case_id, activity, CAST(timestamp AS TIMESTAMP) AS t FROM read_csv('{sys.argv[1]}')),
s AS (SELECT activity, epoch(lead(t) OVER (PARTITION BY case_id ORDER BY t)) - epoch(t) AS d FROM e)
SELECT activity, count(*), median(d), quantile_cont(d, 0.85), sum(d)
FROM s WHERE d IS NOT NULL GROUP BY activity ORDER BY activity
""").fetchall()
print(len(rows))
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("flow benchmark: run with `cargo bench -p nextneck-cli --bench flow`");
        return;
    }
    let events: usize = env_or("NEXTNECK_BENCH_EVENTS", 10_000_000);
    let rounds: usize = env_or("NEXTNECK_BENCH_ROUNDS", 5);
    let python = std::env::var("NEXTNECK_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let layouts: &[bool] = match std::env::var("NEXTNECK_BENCH_LAYOUT").as_deref() {
        Ok("case") => &[false],
        Ok("time") => &[true],
        _ => &[false, true],
    };
    for &time_ordered in layouts {
        let log = generated_log(events, time_ordered);
        bench_log(&log, events, rounds, &python);
    }
}

/// Runs the tools on one log and prints their table.
fn bench_log(log: &Path, events: usize, rounds: usize, python: &str) {
    let size = std::fs::metadata(log).unwrap().len();
    println!();
    println!(
        "log: {} ({events} events, {:.0} MiB)",
        log.display(),
        size as f64 / 1048576.0
    );
    let dir = log.parent().unwrap().to_path_buf();
    let pm4py_script = dir.join("pm4py_dfg.py");
    let duckdb_script = dir.join("duckdb_medians.py");
    std::fs::write(&pm4py_script, PM4PY).unwrap();
    std::fs::write(&duckdb_script, DUCKDB).unwrap();
    println!("load average before: {}", load_average());
    let has = |module: &str| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };

    let nextneck = env!("CARGO_BIN_EXE_nextneck");
    let log_s = log.to_str().unwrap().to_owned();
    let mut tools: Vec<Tool> = vec![Tool::new(
        "nextneck flow --all --format json",
        nextneck,
        vec![
            "flow".into(),
            log_s.clone(),
            "--all".into(),
            "--format".into(),
            "json".into(),
        ],
    )];
    if has("duckdb") {
        tools.push(Tool::new(
            "DuckDB: per-stage medians in SQL",
            python,
            vec![duckdb_script.display().to_string(), log_s.clone()],
        ));
    } else {
        println!("duckdb is not installed: pip install duckdb");
    }
    if has("pm4py") {
        let mut t = Tool::new(
            "PM4Py: performance DFG (per-activity times)",
            python,
            vec![pm4py_script.display().to_string(), log_s.clone()],
        );
        t.max_rounds = env_or("NEXTNECK_BENCH_PM4PY_ROUNDS", 1);
        tools.push(t);
    } else {
        println!("pm4py is not installed: pip install pm4py");
    }

    // One warm-up run each (page cache, Python imports), then rounds.
    for t in tools.iter_mut().filter(|t| t.max_rounds > 1) {
        let (s, _) = t.run();
        println!("warm-up {}: {s:.2} s", t.label);
    }
    for _ in 0..rounds {
        for t in &mut tools {
            if t.times.len() < t.max_rounds {
                let (s, cpu) = t.run();
                t.times.push(s);
                t.cpu.push(cpu);
            }
        }
    }
    let base = median(&mut tools[0].times.clone());
    println!("load average after: {}", load_average());
    println!();
    println!(
        "| tool | runs | median (s) | min (s) | max (s) | ratio to nextneck | CPU median (s) | peak memory |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for t in &tools {
        let mut times = t.times.clone();
        let m = median(&mut times);
        println!(
            "| {} | {} | {m:.2} | {:.2} | {:.2} | {:.1}× | {:.2} | {} |",
            t.label,
            times.len(),
            times[0],
            times[times.len() - 1],
            m / base,
            median(&mut t.cpu.clone()),
            t.rss.map_or("n/a".to_owned(), |k| format!(
                "{:.0} MiB",
                k as f64 / 1024.0
            ))
        );
    }
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

struct Tool {
    label: &'static str,
    program: String,
    args: Vec<String>,
    times: Vec<f64>,
    /// User + system seconds of the timed runs.
    cpu: Vec<f64>,
    max_rounds: usize,
    rss: Option<u64>,
}

impl Tool {
    fn new(label: &'static str, program: &str, args: Vec<String>) -> Tool {
        Tool {
            label,
            program: program.to_owned(),
            args,
            times: Vec::new(),
            cpu: Vec::new(),
            max_rounds: usize::MAX,
            rss: None,
        }
    }

    /// One timed run under `/usr/bin/time`, which also gives its CPU time
    /// and peak memory (kept when larger than the runs before).
    fn run(&mut self) -> (f64, f64) {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M %U %S", &self.program])
            .args(&self.args)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert!(out.status.success(), "{} failed", self.label);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last: Vec<&str> = stderr
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let rss: Option<u64> = last.first().and_then(|v| v.parse().ok());
        let cpu: f64 = last[1..].iter().filter_map(|v| v.parse::<f64>().ok()).sum();
        self.rss = self.rss.max(rss);
        (elapsed, cpu)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A delivery-like log: items go new → triage → doing → review → (doing →
/// review again, a third of the time) → testing → done; 5 % are still in
/// progress; arrivals spread over a year; every row `case,activity,time`.
/// `time_ordered`: the same rows in time order (stable: an item's rows at
/// the same second keep their order), items interleaved, as exported logs
/// are; else each item's rows together.
fn generated_log(events: usize, time_ordered: bool) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let name = if time_ordered {
        format!("flow-{events}-time-v1.csv")
    } else {
        format!("flow-{events}-v1.csv")
    };
    let path = dir.join(name);
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).unwrap());
    writeln!(out, "case_id,activity,timestamp").unwrap();
    // Time-ordered: (time, case, stage) of every row, written after sorting.
    let mut rows: Vec<(i64, u32, &str)> = Vec::new();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let start: i64 = 1_704_067_200; // 2024-01-01
    let mut written = 0usize;
    let mut case = 0u64;
    let mut buf = String::new();
    while written < events {
        case += 1;
        let mut t = start + (next() % (365 * 86_400)) as i64;
        let mut path: Vec<&str> = vec!["new", "triage", "doing", "review"];
        if next() % 3 == 0 {
            path.extend(["doing", "review"]);
        }
        path.extend(["testing", "done"]);
        let open = next() % 20 == 0;
        let keep = if open {
            1 + (next() % (path.len() as u64 - 1)) as usize
        } else {
            path.len()
        };
        for stage in path.iter().take(keep) {
            if written >= events {
                break;
            }
            if time_ordered {
                rows.push((t, case as u32, stage));
            } else {
                write_row(&mut out, &mut buf, case as u32, stage, t);
            }
            written += 1;
            // Minutes to days in a stage; review waits longest.
            let scale = match *stage {
                "review" => 3 * 86_400,
                "doing" => 86_400,
                "new" => 12 * 3600,
                _ => 4 * 3600,
            };
            t += 60 + (next() % scale) as i64;
        }
    }
    rows.sort_by_key(|r| r.0);
    for (t, case, stage) in rows {
        write_row(&mut out, &mut buf, case, stage, t);
    }
    out.flush().unwrap();
    drop(out);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn write_row(out: &mut impl Write, buf: &mut String, case: u32, stage: &str, t: i64) {
    use std::fmt::Write as _;
    buf.clear();
    let ts = jiff::Timestamp::from_second(t).unwrap();
    write!(buf, "C{case:08},{stage},{ts}").unwrap();
    writeln!(out, "{buf}").unwrap();
}
