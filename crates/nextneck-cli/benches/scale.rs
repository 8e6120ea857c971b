//! Benchmark: nextneck at organisation scale (issue 14), on SQLite and, when
//! `NEXTNECK_BENCH_POSTGRES` (or `NEXTNECK_TEST_POSTGRES`) names a server,
//! on PostgreSQL: the same organisation's delivery history (about 500,000
//! events a year) in a store of 1 million events (2 years) and of 10
//! million (20 years), so that a 90-day window holds the same work in both
//! and what grows from one to the other follows the store, not the window.
//!
//! The histories come from `scripts/gen_delivery_events.py` (`--events N
//! --years N/500000 --split-lines 1000000`), written once into
//! `target/scale-data/events-SIZE-v1/` and reused while its files have the
//! sizes its manifest lists. Per size and store, each figure the median over
//! rounds:
//! * `nextneck import events FILES… --db URL` into a fresh store: events/s
//!   and peak memory;
//! * `nextneck report --db URL --format json` (the default window: the 90
//!   days ending with the newest event's day) and with `--all`: wall time
//!   and peak memory;
//! * `nextneck serve` on the store (`NEXTNECK_READ_TOKEN` set, sent as a
//!   bearer token): `GET /api/v1/report` by 8 concurrent keep-alive clients,
//!   p50 and p95; `GET /metrics`, the first scrape, then the steady state
//!   (one client), p50 and p95; the server's peak memory (`VmHWM`);
//! * PostgreSQL only: signed GitHub deliveries for `NEXTNECK_BENCH_SECONDS`
//!   into one server on the store, then into two servers on the same
//!   database at once (the connections split between them): acknowledged
//!   deliveries/s together, and p99.
//!
//! Wall time is measured here, peak memory of a command by `/usr/bin/time
//! -f %M`. Every command runs in a process group killed after
//! `NEXTNECK_BENCH_TIMEOUT` seconds (default 1200), and is then reported
//! "timed out". Each store is a fresh SQLite file under
//! `target/scale-data/stores/` or a fresh PostgreSQL schema, deleted after.
//! With `NEXTNECK_BENCH_BASELINE=PATH` (a binary built from an older commit)
//! the import and the reports also run with it, alternately with nextneck,
//! each binary on a store it imported itself, on sizes up to 1M only, and
//! the table gives new / baseline. With more than one size it gives each
//! figure's largest / smallest ratio (10M / 1M). The goals of issue 14 are
//! marked ✓ or ✗ beside each figure they apply to.
//!
//! `cargo bench -p nextneck-cli --bench scale`. Environment:
//! * `NEXTNECK_SCALE`: sizes, comma-separated (`100k`, `1m`, `10m`; default
//!   `1m`);
//! * `NEXTNECK_BENCH_SKIP_ALL`: leave out `report --all` (minutes and
//!   GiBs on 10M) to measure the rest again.
//! * `NEXTNECK_BENCH_ROUNDS` (default 3), `NEXTNECK_BENCH_ROUNDS_10M` (for
//!   sizes of 10M and more, default 1: an import takes minutes);
//! * `NEXTNECK_BENCH_CLIENTS` (default 8), `NEXTNECK_BENCH_REQUESTS` (API
//!   requests and steady `/metrics` scrapes per round, default 48),
//!   `NEXTNECK_BENCH_REQUESTS_10M` (the same from 10M, default 16: while a
//!   report over 10M events takes a minute, 48 would hit the timeout);
//! * `NEXTNECK_BENCH_CONNECTIONS` (default 64), `NEXTNECK_BENCH_SECONDS`
//!   (default 5): the webhook load;
//! * `NEXTNECK_BENCH_PYTHON` (default `python3`): runs the generator.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod common;

use common::http::{GITHUB_SECRET, Reads, Server, github_deliveries, timed_gets};
use common::*;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const READ_TOKEN: &str = "bench-read-token";
/// The organisation's rate: a store of N events spans N / 500,000 years.
const EVENTS_PER_YEAR: f64 = 500_000.0;
/// Lines per generated file: about 300 MB, under the import's 512 MiB.
const LINES_PER_FILE: u64 = 1_000_000;
/// Bumped when the generator's output changes.
const DATA_VERSION: &str = "v1";
/// Sizes from which the report goals apply ("on 10M").
const LARGE: u64 = 10_000_000;
/// The largest size the baseline runs on.
const BASELINE_MAX: u64 = 1_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("scale benchmark: run with `cargo bench -p nextneck-cli --bench scale`");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/scale-data");
    std::fs::create_dir_all(root.join("stores")).unwrap();
    let root = root.canonicalize().unwrap();
    // No nextneck.toml of the working directory applies.
    std::env::set_current_dir(&root).unwrap();
    let s = Settings::from_env();
    let sizes: Vec<Size> = std::env::var("NEXTNECK_SCALE")
        .unwrap_or_else(|_| "1m".to_owned())
        .split(',')
        .map(|x| Size::parse(x.trim()))
        .collect();
    let mut backends = vec![Backend::Sqlite];
    if let Ok(pg) = std::env::var("NEXTNECK_BENCH_POSTGRES")
        .or_else(|_| std::env::var("NEXTNECK_TEST_POSTGRES"))
    {
        backends.push(Backend::Postgres(pg));
    }
    println!(
        "nextneck: {}\nbaseline: {}\nsizes: {}; stores: {}; rounds {} ({} from 10M); {} clients, {} requests a round ({} from 10M); webhooks: {} connections, {} s; timeout {} s; {} cores, load average {}",
        s.nextneck,
        s.baseline
            .as_deref()
            .unwrap_or("none (NEXTNECK_BENCH_BASELINE)"),
        sizes
            .iter()
            .map(|z| z.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        backends
            .iter()
            .map(Backend::name)
            .collect::<Vec<_>>()
            .join(", "),
        s.rounds,
        s.rounds_large,
        s.clients,
        s.requests,
        s.requests_large,
        s.connections,
        s.seconds,
        s.timeout.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut results = Results::default();
    for size in &sizes {
        let data = generated(&root, size, &s.python);
        for backend in &backends {
            measure(&s, &root, size, &data, backend, &mut results);
        }
    }
    println!("\nload average after: {}\n", load_average());
    print_table(&s, &sizes, &backends, &results);
}

struct Settings {
    nextneck: String,
    baseline: Option<String>,
    python: String,
    rounds: usize,
    rounds_large: usize,
    clients: usize,
    requests: usize,
    requests_large: usize,
    connections: usize,
    seconds: u64,
    timeout: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            nextneck: env!("CARGO_BIN_EXE_nextneck").to_owned(),
            baseline: std::env::var("NEXTNECK_BENCH_BASELINE")
                .ok()
                .filter(|b| !b.is_empty()),
            python: std::env::var("NEXTNECK_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()),
            rounds: env_or("NEXTNECK_BENCH_ROUNDS", 3usize).max(1),
            rounds_large: env_or("NEXTNECK_BENCH_ROUNDS_10M", 1usize).max(1),
            clients: env_or("NEXTNECK_BENCH_CLIENTS", 8usize).max(1),
            requests: env_or("NEXTNECK_BENCH_REQUESTS", 48usize).max(1),
            requests_large: env_or("NEXTNECK_BENCH_REQUESTS_10M", 16usize).max(1),
            connections: env_or("NEXTNECK_BENCH_CONNECTIONS", 64usize).max(2),
            seconds: env_or("NEXTNECK_BENCH_SECONDS", 5u64).max(1),
            timeout: Duration::from_secs(env_or("NEXTNECK_BENCH_TIMEOUT", 1200u64)),
        }
    }

    fn rounds_for(&self, size: &Size) -> usize {
        if size.events >= LARGE {
            self.rounds_large
        } else {
            self.rounds
        }
    }

    /// API requests and steady `/metrics` scrapes a round on a size.
    fn requests_for(&self, size: &Size) -> usize {
        if size.events >= LARGE {
            self.requests_large
        } else {
            self.requests
        }
    }

    /// The binaries to run on a size: nextneck, and the baseline up to 1M.
    fn binaries(&self, size: &Size) -> Vec<(Who, &str)> {
        let mut v = vec![(Who::New, self.nextneck.as_str())];
        if let Some(b) = &self.baseline
            && size.events <= BASELINE_MAX
        {
            v.push((Who::Baseline, b.as_str()));
        }
        v
    }
}

struct Size {
    label: String,
    events: u64,
}

impl Size {
    /// `100k`, `1m`, `10m`, `2.5m` or a plain number.
    fn parse(s: &str) -> Size {
        let lower = s.to_ascii_lowercase();
        let (number, factor) = match lower.strip_suffix('m') {
            Some(n) => (n, 1e6),
            None => match lower.strip_suffix('k') {
                Some(n) => (n, 1e3),
                None => (lower.as_str(), 1.0),
            },
        };
        let value: f64 = number
            .parse()
            .unwrap_or_else(|_| panic!("NEXTNECK_SCALE: `{s}` is not a size; use 100k, 1m or 10m"));
        let label = match lower.chars().last() {
            Some('m') => format!("{number}M"),
            _ => lower.clone(),
        };
        Size {
            label,
            events: (value * factor).round() as u64,
        }
    }
}

enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A fresh store: a SQLite file in a directory of its own, or a PostgreSQL
/// schema; deleted when dropped.
struct Store {
    url: String,
    dir: Option<tempfile::TempDir>,
}

impl Store {
    fn fresh(backend: &Backend, root: &Path) -> Store {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir_in(root.join("stores")).unwrap();
                let url = format!("sqlite:{}", dir.path().join("store.db").display());
                Store {
                    url,
                    dir: Some(dir),
                }
            }
            Backend::Postgres(base) => Store {
                url: nextneck_store::fresh_postgres_schema(base).unwrap(),
                dir: None,
            },
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        nextneck_store::drop_postgres_schema(&self.url);
    }
}

/// A generated history: its files and lines.
struct Data {
    files: Vec<PathBuf>,
    lines: u64,
    bytes: u64,
}

/// Generates (or reuses) the history of `size` events.
fn generated(root: &Path, size: &Size, python: &str) -> Data {
    let dir = root.join(format!(
        "events-{}-{DATA_VERSION}",
        size.label.to_ascii_lowercase()
    ));
    if let Some(data) = cached(&dir) {
        println!(
            "history {}: {} ({} lines in {} files, {:.0} MiB), cached",
            size.label,
            dir.display(),
            data.lines,
            data.files.len(),
            data.bytes as f64 / 1048576.0
        );
        return data;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let years = size.events as f64 / EVENTS_PER_YEAR;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gen_delivery_events.py");
    println!(
        "history {}: generating {} events over {years} years into {} (Python; about a minute per million) ...",
        size.label,
        size.events,
        dir.display()
    );
    let start = Instant::now();
    let status = Command::new(python)
        .arg(&script)
        .args(["--events", &size.events.to_string()])
        .args(["--years", &years.to_string()])
        .args(["--split-lines", &LINES_PER_FILE.to_string()])
        .arg("--output")
        .arg(dir.join("events"))
        .status()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(status.success(), "{} failed", script.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    files.sort();
    let mut manifest = String::new();
    let mut lines = 0u64;
    for f in &files {
        let text = std::fs::read(f).unwrap();
        lines += text.iter().filter(|&&b| b == b'\n').count() as u64;
        manifest.push_str(&format!(
            "{} {}\n",
            f.file_name().unwrap().to_str().unwrap(),
            text.len()
        ));
    }
    std::fs::write(dir.join("manifest"), format!("lines {lines}\n{manifest}")).unwrap();
    println!(
        "history {}: {lines} lines in {} files, generated in {:.0} s",
        size.label,
        files.len(),
        start.elapsed().as_secs_f64()
    );
    cached(&dir).unwrap()
}

/// The history in `dir` when its manifest is there and every file it lists
/// has the size it says.
fn cached(dir: &Path) -> Option<Data> {
    let manifest = std::fs::read_to_string(dir.join("manifest")).ok()?;
    let mut rows = manifest.lines();
    let lines: u64 = rows.next()?.strip_prefix("lines ")?.parse().ok()?;
    let mut data = Data {
        files: Vec::new(),
        lines,
        bytes: 0,
    };
    for row in rows {
        let (name, size) = row.split_once(' ')?;
        let size: u64 = size.parse().ok()?;
        let path = dir.join(name);
        if std::fs::metadata(&path).ok()?.len() != size {
            return None;
        }
        data.files.push(path);
        data.bytes += size;
    }
    (!data.files.is_empty()).then_some(data)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Who {
    New,
    Baseline,
}

/// The figures, one row each per store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Row {
    ImportRate,
    ImportRss,
    StoreSize,
    Report90,
    Report90Rss,
    ReportAll,
    ReportAllRss,
    ApiP50,
    ApiP95,
    MetricsFirst,
    MetricsP50,
    MetricsP95,
    ServeRss,
    Hooks1Rate,
    Hooks1P99,
    Hooks2Rate,
    Hooks2P99,
}

#[derive(Clone, Copy)]
enum Unit {
    EventsPerSecond,
    Seconds,
    Ms,
    MiB,
    PerSecond,
}

/// A goal of issue 14: at most or at least `value` (in the row's unit), on
/// sizes from `from_events` on.
struct Goal {
    at_most: bool,
    value: f64,
    from_events: u64,
    text: &'static str,
}

impl Row {
    const ALL: [Row; 17] = [
        Row::ImportRate,
        Row::ImportRss,
        Row::StoreSize,
        Row::Report90,
        Row::Report90Rss,
        Row::ReportAll,
        Row::ReportAllRss,
        Row::ApiP50,
        Row::ApiP95,
        Row::MetricsFirst,
        Row::MetricsP50,
        Row::MetricsP95,
        Row::ServeRss,
        Row::Hooks1Rate,
        Row::Hooks1P99,
        Row::Hooks2Rate,
        Row::Hooks2P99,
    ];

    fn label(self) -> &'static str {
        match self {
            Row::ImportRate => "`import events`, events/s",
            Row::ImportRss => "`import events`, peak memory",
            Row::StoreSize => "store size on disk (SQLite file)",
            Row::Report90 => "`report --format json` (90 days), time",
            Row::Report90Rss => "`report --format json` (90 days), peak memory",
            Row::ReportAll => "`report --all --format json`, time",
            Row::ReportAllRss => "`report --all --format json`, peak memory",
            Row::ApiP50 => "`GET /api/v1/report`, 8 clients, p50",
            Row::ApiP95 => "`GET /api/v1/report`, 8 clients, p95",
            Row::MetricsFirst => "`GET /metrics`, first scrape",
            Row::MetricsP50 => "`GET /metrics`, next scrapes, p50",
            Row::MetricsP95 => "`GET /metrics`, next scrapes, p95",
            Row::ServeRss => "`serve`, peak memory after the reads",
            Row::Hooks1Rate => "webhooks, one server, deliveries/s",
            Row::Hooks1P99 => "webhooks, one server, p99",
            Row::Hooks2Rate => "webhooks, two servers together, deliveries/s",
            Row::Hooks2P99 => "webhooks, two servers together, p99",
        }
    }

    fn unit(self) -> Unit {
        match self {
            Row::ImportRate => Unit::EventsPerSecond,
            Row::ImportRss
            | Row::StoreSize
            | Row::Report90Rss
            | Row::ReportAllRss
            | Row::ServeRss => Unit::MiB,
            Row::Report90 | Row::ReportAll => Unit::Seconds,
            Row::Hooks1Rate | Row::Hooks2Rate => Unit::PerSecond,
            _ => Unit::Ms,
        }
    }

    fn goal(self, backend: &Backend) -> Option<Goal> {
        let goal = |at_most, value, from_events, text| {
            Some(Goal {
                at_most,
                value,
                from_events,
                text,
            })
        };
        match (self, backend) {
            (Row::ImportRate, Backend::Sqlite) => goal(false, 100_000.0, 0, "≥ 100,000/s"),
            (Row::ImportRate, Backend::Postgres(_)) => goal(false, 50_000.0, 0, "≥ 50,000/s"),
            (Row::Report90, _) => goal(true, 1.0, LARGE, "≤ 1 s on 10M"),
            (Row::Report90Rss, _) => goal(true, 256.0, LARGE, "≤ 256 MiB on 10M"),
            (Row::ReportAll, _) => goal(true, 15.0, LARGE, "≤ 15 s on 10M"),
            (Row::ReportAllRss, _) => goal(true, 1024.0, LARGE, "≤ 1 GiB on 10M"),
            (Row::ApiP95, _) => goal(true, 300.0, 0, "≤ 300 ms"),
            (Row::MetricsP95, _) => goal(true, 100.0, 0, "≤ 100 ms"),
            (Row::Hooks1Rate | Row::Hooks2Rate, Backend::Postgres(_)) => {
                goal(false, 3000.0, 0, "≥ 3,000/s")
            }
            _ => None,
        }
    }
}

/// One round's outcome of a figure.
#[derive(Clone, Copy, Debug)]
enum Sample {
    Value(f64),
    TimedOut,
    Failed,
    /// Not run: it would need more memory than the machine has free.
    Skipped,
}

type Key = (Row, &'static str, String, Who);

#[derive(Default)]
struct Results {
    samples: HashMap<Key, Vec<Sample>>,
}

impl Results {
    fn push(&mut self, row: Row, backend: &Backend, size: &Size, who: Who, sample: Sample) {
        self.samples
            .entry((row, backend.name(), size.label.clone(), who))
            .or_default()
            .push(sample);
    }

    /// The figure over rounds: the median, or the first failure.
    fn figure(&self, row: Row, backend: &Backend, size: &Size, who: Who) -> Option<Sample> {
        let samples = self
            .samples
            .get(&(row, backend.name(), size.label.clone(), who))?;
        if let Some(bad) = samples.iter().find(|s| !matches!(s, Sample::Value(_))) {
            return Some(*bad);
        }
        let mut values: Vec<f64> = samples
            .iter()
            .filter_map(|s| match s {
                Sample::Value(v) => Some(*v),
                _ => None,
            })
            .filter(|v| !v.is_nan())
            .collect();
        if values.is_empty() {
            // Measured, but without a figure (no `/usr/bin/time`): "n/a".
            return Some(Sample::Value(f64::NAN));
        }
        Some(Sample::Value(median(&mut values)))
    }
}

/// Every measurement of one size on one store.
fn measure(
    s: &Settings,
    root: &Path,
    size: &Size,
    data: &Data,
    backend: &Backend,
    results: &mut Results,
) {
    let name = backend.name();
    let rounds = s.rounds_for(size);
    // Import: a fresh store per round and binary; the last round's stays.
    let mut stores: HashMap<Who, Store> = HashMap::new();
    for round in 0..rounds {
        for (who, bin) in s.binaries(size) {
            stores.remove(&who);
            let store = Store::fresh(backend, root);
            let mut args = vec!["import".to_owned(), "events".to_owned()];
            args.extend(data.files.iter().map(|f| f.display().to_string()));
            args.extend(["--db".to_owned(), store.url.clone()]);
            let m = run_measured(bin, &args, s.timeout);
            let done = matches!(m, Measured::Done { .. });
            progress(name, size, round, who, "import events", &m);
            record(
                results,
                backend,
                size,
                who,
                &m,
                Row::ImportRate,
                Row::ImportRss,
                |t| data.lines as f64 / t,
            );
            if done {
                if let Some(dir) = &store.dir {
                    let bytes = dir_bytes(dir.path());
                    println!(
                        "{name} {} round {round} store size {:.0} MiB",
                        size.label,
                        bytes as f64 / 1048576.0
                    );
                    results.push(
                        Row::StoreSize,
                        backend,
                        size,
                        who,
                        Sample::Value(bytes as f64 / 1048576.0),
                    );
                }
                stores.insert(who, store);
            }
        }
    }
    // The reports, alternating the binaries.
    for round in 0..rounds {
        for (flags, row, rss_row, what) in [
            (&[][..], Row::Report90, Row::Report90Rss, "report (90 days)"),
            (
                &["--all"][..],
                Row::ReportAll,
                Row::ReportAllRss,
                "report --all",
            ),
        ] {
            if row == Row::ReportAll && std::env::var_os("NEXTNECK_BENCH_SKIP_ALL").is_some() {
                continue;
            }
            for (who, bin) in s.binaries(size) {
                let Some(store) = stores.get(&who) else {
                    continue;
                };
                let mut args: Vec<String> = vec!["report".into(), "--db".into(), store.url.clone()];
                args.extend(flags.iter().map(|f| f.to_string()));
                args.extend(["--format".into(), "json".into()]);
                let m = run_measured(bin, &args, s.timeout);
                progress(name, size, round, who, what, &m);
                record(results, backend, size, who, &m, row, rss_row, |t| t);
            }
        }
    }
    stores.remove(&Who::Baseline);
    let Some(store) = stores.remove(&Who::New) else {
        println!(
            "{name} {}: no store was imported; serve not measured",
            size.label
        );
        return;
    };
    reads(s, size, backend, &store, results);
    if matches!(backend, Backend::Postgres(_)) {
        webhooks(s, size, backend, &store, results);
    }
}

/// The bytes of the files in `dir` (a SQLite store and its journal).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Records a command's time (through `rate`) and peak memory.
#[allow(clippy::too_many_arguments)]
fn record(
    results: &mut Results,
    backend: &Backend,
    size: &Size,
    who: Who,
    m: &Measured,
    row: Row,
    rss_row: Row,
    rate: impl Fn(f64) -> f64,
) {
    let (time, rss) = match m {
        Measured::Done { seconds, rss_kib } => (
            Sample::Value(rate(*seconds)),
            Sample::Value(rss_kib.map_or(f64::NAN, |k| k as f64 / 1024.0)),
        ),
        Measured::TimedOut => (Sample::TimedOut, Sample::TimedOut),
        Measured::Failed(_) => (Sample::Failed, Sample::Failed),
    };
    results.push(row, backend, size, who, time);
    results.push(rss_row, backend, size, who, rss);
}

fn progress(name: &str, size: &Size, round: usize, who: Who, what: &str, m: &Measured) {
    let who = match who {
        Who::New => "nextneck",
        Who::Baseline => "baseline",
    };
    let outcome = match m {
        Measured::Done { seconds, rss_kib } => format!(
            "{seconds:>8.2} s  peak {}",
            rss_kib.map_or("n/a".to_owned(), |k| format!(
                "{:.0} MiB",
                k as f64 / 1024.0
            ))
        ),
        Measured::TimedOut => "timed out".to_owned(),
        Measured::Failed(e) => format!("failed: {e}"),
    };
    println!(
        "{name} {} round {round} {who:<8} {what:<18} {outcome}",
        size.label
    );
}

/// `serve` on the store: the API with concurrent clients, then `/metrics`.
fn reads(s: &Settings, size: &Size, backend: &Backend, store: &Store, results: &mut Results) {
    let name = backend.name();
    let server = match Server::start(
        &s.nextneck,
        &store.url,
        &[("NEXTNECK_READ_TOKEN", READ_TOKEN)],
        s.timeout,
    ) {
        Ok(server) => server,
        Err(e) => {
            println!("{name} {}: {e}", size.label);
            for row in [Row::ApiP50, Row::ApiP95, Row::MetricsFirst] {
                results.push(row, backend, size, Who::New, Sample::Failed);
            }
            return;
        }
    };
    let push_reads = |results: &mut Results, rows: &[(Row, u32)], what: &str, r: &Reads| {
        println!(
            "{name} {} {what:<34} {} answers, p50 {:>9.1} ms  p95 {:>9.1} ms  ({} errors{})",
            size.label,
            r.latencies_ms.len(),
            percentile(&r.latencies_ms, 50),
            percentile(&r.latencies_ms, 95),
            r.errors,
            if r.timed_out { ", timed out" } else { "" }
        );
        for (row, q) in rows {
            let sample = if r.timed_out {
                Sample::TimedOut
            } else if r.errors > 0 || r.latencies_ms.is_empty() {
                Sample::Failed
            } else {
                Sample::Value(percentile(&r.latencies_ms, *q))
            };
            results.push(*row, backend, size, Who::New, sample);
        }
    };
    let guard = api_memory_guard(s, size, backend, results);
    if let Some(why) = &guard {
        println!("{name} {}: GET /api/v1/report not run: {why}", size.label);
        results.push(Row::ApiP50, backend, size, Who::New, Sample::Skipped);
        results.push(Row::ApiP95, backend, size, Who::New, Sample::Skipped);
    }
    for round in 0..s.rounds_for(size) {
        if guard.is_some() {
            break;
        }
        let r = timed_gets(
            server.addr,
            "/api/v1/report",
            READ_TOKEN,
            s.clients,
            s.requests_for(size),
            Instant::now() + s.timeout,
        );
        push_reads(
            results,
            &[(Row::ApiP50, 50), (Row::ApiP95, 95)],
            &format!("round {round} GET /api/v1/report"),
            &r,
        );
    }
    let first = timed_gets(
        server.addr,
        "/metrics",
        READ_TOKEN,
        1,
        1,
        Instant::now() + s.timeout,
    );
    push_reads(
        results,
        &[(Row::MetricsFirst, 50)],
        "GET /metrics (first)",
        &first,
    );
    for round in 0..s.rounds_for(size) {
        let r = timed_gets(
            server.addr,
            "/metrics",
            READ_TOKEN,
            1,
            s.requests_for(size),
            Instant::now() + s.timeout,
        );
        push_reads(
            results,
            &[(Row::MetricsP50, 50), (Row::MetricsP95, 95)],
            &format!("round {round} GET /metrics"),
            &r,
        );
    }
    let rss = server.peak_rss_kib();
    results.push(
        Row::ServeRss,
        backend,
        size,
        Who::New,
        Sample::Value(rss.map_or(f64::NAN, |k| k as f64 / 1024.0)),
    );
}

/// Why the API is not measured with concurrent clients, if it is not:
/// when the clients' reports at once, each as large as the CLI's report on
/// the same store, would need more than the memory available (the server
/// computes every request's report anew, so 8 clients hold 8 reports).
/// `NEXTNECK_BENCH_NO_MEMORY_GUARD=1` runs it anyway.
fn api_memory_guard(
    s: &Settings,
    size: &Size,
    backend: &Backend,
    results: &Results,
) -> Option<String> {
    if std::env::var_os("NEXTNECK_BENCH_NO_MEMORY_GUARD").is_some() {
        return None;
    }
    // The API's requests are the default window's report (and identical
    // ones share one computation): the 90-day report's memory is theirs.
    let report_mib = [Row::Report90Rss]
        .into_iter()
        .filter_map(|row| match results.figure(row, backend, size, Who::New) {
            Some(Sample::Value(v)) if !v.is_nan() => Some(v),
            _ => None,
        })
        .fold(0.0, f64::max);
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available_mib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()?
        / 1024.0;
    let needed = report_mib * s.clients as f64;
    (needed > 0.8 * available_mib).then(|| {
        format!(
            "{} clients × the CLI report's {:.0} MiB = {:.0} MiB, more than 80 % of the {:.0} MiB available (NEXTNECK_BENCH_NO_MEMORY_GUARD=1 runs it anyway)",
            s.clients, report_mib, needed, available_mib
        )
    })
}

/// Signed deliveries into one server on the store, then into two servers
/// on the same database at once.
fn webhooks(s: &Settings, size: &Size, backend: &Backend, store: &Store, results: &mut Results) {
    let name = backend.name();
    let env = [("NEXTNECK_GITHUB_SECRET", GITHUB_SECRET)];
    for round in 0..s.rounds_for(size) {
        for (servers, rate_row, p99_row) in [
            (1usize, Row::Hooks1Rate, Row::Hooks1P99),
            (2, Row::Hooks2Rate, Row::Hooks2P99),
        ] {
            let started: Result<Vec<Server>, String> = (0..servers)
                .map(|_| Server::start(&s.nextneck, &store.url, &env, s.timeout))
                .collect();
            let running = match started {
                Ok(v) => v,
                Err(e) => {
                    println!("{name} {} round {round}: {e}", size.label);
                    results.push(rate_row, backend, size, Who::New, Sample::Failed);
                    results.push(p99_row, backend, size, Who::New, Sample::Failed);
                    continue;
                }
            };
            let addrs: Vec<_> = running.iter().map(|r| r.addr).collect();
            let tag = format!(
                "{}-{}-{round}-{servers}-{}",
                size.label,
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            );
            let load = github_deliveries(&addrs, s.connections, s.seconds, &tag);
            drop(running);
            println!(
                "{name} {} round {round} webhooks, {servers} server(s) {:>8.0} deliveries/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} acknowledged, {} errors)",
                size.label, load.per_second, load.p50_ms, load.p99_ms, load.ok, load.errors
            );
            let ok = load.ok > 0;
            results.push(
                rate_row,
                backend,
                size,
                Who::New,
                if ok {
                    Sample::Value(load.per_second)
                } else {
                    Sample::Failed
                },
            );
            results.push(
                p99_row,
                backend,
                size,
                Who::New,
                if ok {
                    Sample::Value(load.p99_ms)
                } else {
                    Sample::Failed
                },
            );
        }
    }
}

fn format_value(unit: Unit, v: f64) -> String {
    if v.is_nan() {
        return "n/a".to_owned();
    }
    match unit {
        Unit::EventsPerSecond | Unit::PerSecond => format!("{}/s", thousands(v.round() as u64)),
        Unit::Seconds => format!("{v:.2} s"),
        Unit::Ms if v >= 1000.0 => format!("{} ms", thousands(v.round() as u64)),
        Unit::Ms => format!("{v:.1} ms"),
        Unit::MiB => format!("{} MiB", thousands(v.round() as u64)),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A cell: the figure, and ✓ or ✗ where a goal applies.
fn cell(row: Row, backend: &Backend, size: &Size, figure: Option<Sample>) -> String {
    let goal = row.goal(backend).filter(|g| size.events >= g.from_events);
    let met = |v: f64| {
        goal.as_ref().map(|g| {
            if v.is_nan() {
                ""
            } else if (g.at_most && v <= g.value) || (!g.at_most && v >= g.value) {
                " ✓"
            } else {
                " ✗"
            }
        })
    };
    match figure {
        None => "—".to_owned(),
        Some(Sample::Value(v)) => {
            format!("{}{}", format_value(row.unit(), v), met(v).unwrap_or(""))
        }
        Some(Sample::TimedOut) => format!("timed out{}", goal.map_or("", |_| " ✗")),
        Some(Sample::Failed) => "failed".to_owned(),
        Some(Sample::Skipped) => "not run (memory)".to_owned(),
    }
}

fn print_table(s: &Settings, sizes: &[Size], backends: &[Backend], results: &Results) {
    let baseline_sizes: Vec<&Size> = if s.baseline.is_some() {
        sizes.iter().filter(|z| z.events <= BASELINE_MAX).collect()
    } else {
        Vec::new()
    };
    let growth = (sizes.len() > 1).then(|| (&sizes[0], &sizes[sizes.len() - 1]));
    let mut head = "| figure | store |".to_owned();
    let mut rule = "|---|---|".to_owned();
    for z in sizes {
        head.push_str(&format!(" {} |", z.label));
        rule.push_str("---:|");
    }
    if let Some((small, large)) = growth {
        head.push_str(&format!(" {} / {} |", large.label, small.label));
        rule.push_str("---:|");
    }
    head.push_str(" goal |");
    rule.push_str("---|");
    for z in &baseline_sizes {
        head.push_str(&format!(" baseline {} | new / baseline |", z.label));
        rule.push_str("---:|---:|");
    }
    println!(
        "Rounds: {} ({} from 10M), each figure their median; API: {} clients, {} requests a round ({} from 10M); /metrics: one client, as many scrapes a round; webhooks: {} connections for {} s after 1 s of warm-up. Ratios of times and memory: below 1 is less; of rates: above 1 is more.\n",
        s.rounds, s.rounds_large, s.clients, s.requests, s.requests_large, s.connections, s.seconds
    );
    println!("{head}");
    println!("{rule}");
    for backend in backends {
        for row in Row::ALL {
            let figures: Vec<Option<Sample>> = sizes
                .iter()
                .map(|z| results.figure(row, backend, z, Who::New))
                .collect();
            if figures.iter().all(Option::is_none) {
                continue;
            }
            let label = row
                .label()
                .replace("8 clients", &format!("{} clients", s.clients));
            let mut line = format!("| {label} | {} |", backend.name());
            for (z, f) in sizes.iter().zip(&figures) {
                line.push_str(&format!(" {} |", cell(row, backend, z, *f)));
            }
            if growth.is_some() {
                line.push_str(&format!(
                    " {} |",
                    ratio(figures[0], figures[figures.len() - 1])
                ));
            }
            line.push_str(&format!(" {} |", row.goal(backend).map_or("", |g| g.text)));
            for z in &baseline_sizes {
                let old = results.figure(row, backend, z, Who::Baseline);
                let new = results.figure(row, backend, z, Who::New);
                line.push_str(&format!(
                    " {} | {} |",
                    if old.is_some() {
                        cell(row, backend, z, old)
                    } else {
                        String::new()
                    },
                    if old.is_some() {
                        ratio(old, new)
                    } else {
                        String::new()
                    }
                ));
            }
            println!("{line}");
        }
    }
}

/// `to / from`, when both are figures.
fn ratio(from: Option<Sample>, to: Option<Sample>) -> String {
    match (from, to) {
        (Some(Sample::Value(a)), Some(Sample::Value(b)))
            if a > 0.0 && !a.is_nan() && !b.is_nan() =>
        {
            format!("{:.2}", b / a)
        }
        _ => "—".to_owned(),
    }
}
