//! Helpers shared by the benchmarks: settings from the environment, the
//! median and percentiles, wall time and peak memory of a command (with a
//! timeout), git output, and (`http`) the clients of `nextneck serve`.

#![allow(dead_code, clippy::unwrap_used)]

pub mod http;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `name` parsed from the environment, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median of `v` (sorts it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q`th percentile of sorted `v` (the project's one definition,
/// type 7), or NaN when `v` is empty.
pub fn percentile(sorted: &[f64], q: u32) -> f64 {
    nextneck_metrics::stats::percentile_sorted(sorted, q).unwrap_or(f64::NAN)
}

/// A process's peak resident memory so far (`VmHWM` of
/// `/proc/PID/status`), in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The load average of the last minute, as `/proc/loadavg` says.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".to_owned())
}

/// How one measured run of a command ended.
#[derive(Clone, Debug)]
pub enum Measured {
    /// Exit 0: wall seconds, and peak resident memory in KiB when
    /// `/usr/bin/time` is there.
    Done { seconds: f64, rss_kib: Option<u64> },
    /// Killed (with everything it started) after the timeout.
    TimedOut,
    /// A non-zero exit or no start: the end of what it wrote to stderr.
    Failed(String),
}

/// Runs `program ARGS` (stdout discarded) through `/usr/bin/time -f %M`
/// when available, in a process group of its own that is killed whole
/// after `timeout`; wall time is measured here.
pub fn run_measured(program: &str, args: &[String], timeout: Duration) -> Measured {
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "%M"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let stderr = tempfile::tempfile().unwrap();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.try_clone().unwrap())
        .process_group(0);
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Measured::Failed(format!("{program}: {e}")),
    };
    let group = child.id();
    // A thread waits, so the end is seen at once (no polling interval in
    // the wall time) and the timeout is a channel's.
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(Instant::now());
        status
    });
    let end = match rx.recv_timeout(timeout) {
        Ok(end) => end,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
            let _ = waiter.join();
            return Measured::TimedOut;
        }
    };
    let status = waiter.join().unwrap().unwrap();
    let seconds = (end - start).as_secs_f64();
    let mut text = String::new();
    {
        use std::io::{Read, Seek};
        let mut f = stderr;
        f.rewind().unwrap();
        let _ = f.read_to_string(&mut text);
    }
    if !status.success() {
        let tail: Vec<&str> = text.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Measured::Failed(tail.join(" / "));
    }
    let rss_kib = time
        .exists()
        .then(|| text.lines().last().and_then(|l| l.trim().parse().ok()))
        .flatten();
    Measured::Done { seconds, rss_kib }
}

/// Peak resident memory through `/usr/bin/time -f %M`, when available.
pub fn peak_rss_kib(program: &str, setup: &dyn Fn(&mut Command)) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let mut inner = Command::new(program);
    setup(&mut inner);
    let mut cmd = Command::new(time);
    cmd.args(["-f", "%M"])
        .arg(inner.get_program())
        .args(inner.get_args());
    let out = cmd.stdout(Stdio::null()).output().ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

/// What `git -C repo ARGS` prints; panics when it fails.
pub fn git_output(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
