//! Benchmark: `nextneck code --all` against
//! `git log --branches --tags --no-renames --numstat` on the same
//! repository, side by side in one run: the first run (cache cleared) and a
//! re-run after one new commit.
//!
//! `cargo bench -p nextneck-cli --bench code` generates (once, cached under
//! `target/bench-data/`) a 100,000-commit history with real file changes
//! (edits, new, deleted and renamed files, topic branches and merges, 60
//! authors with their own areas) through `git fast-import` and
//! `git repack -adf`, then times the
//! three commands alternately and prints medians, ratios and peak memory.
//!
//! Environment:
//! * `NEXTNECK_BENCH_REPO=PATH` benchmarks a bare clone of an existing
//!   repository instead (made under `target/bench-data/`, so the original
//!   is never written to).
//! * `NEXTNECK_BENCH_COMMITS=N` changes the generated history's size.
//! * `NEXTNECK_BENCH_ROUNDS=N` changes the number of rounds (default 5).

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod common;

use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and expects a quick run: only benchmark when asked to.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("code benchmark: run with `cargo bench -p nextneck-cli --bench code`");
        return;
    }
    let rounds: usize = env_or("NEXTNECK_BENCH_ROUNDS", 5);
    let repo = match std::env::var_os("NEXTNECK_BENCH_REPO") {
        Some(p) => bare_clone(Path::new(&p)),
        None => generated_repo(env_or("NEXTNECK_BENCH_COMMITS", 100_000)),
    };
    let nextneck = env!("CARGO_BIN_EXE_nextneck");
    // A previous run's extra commit.
    let _ = git_output(&repo, &["update-ref", "-d", "refs/heads/bench-rerun"]);
    let commits = git_output(&repo, &["rev-list", "--count", "--branches", "--tags"]);
    let non_merges = git_output(
        &repo,
        &["rev-list", "--count", "--no-merges", "--branches", "--tags"],
    );
    println!(
        "repository: {} ({} commits, {} not merges)",
        repo.display(),
        commits.trim(),
        non_merges.trim()
    );

    let git_cmd = |cmd: &mut Command| {
        cmd.arg("-C")
            .arg(&repo)
            .args(["log", "--branches", "--tags", "--no-renames", "--numstat"]);
    };
    let nn_cmd = |cmd: &mut Command| {
        cmd.args(["code", "--all", "--format", "json"]).arg(&repo);
    };
    let load_before = load_average();
    let cache_dir = repo.join("nextneck");
    let clear_cache = || {
        let _ = std::fs::remove_dir_all(&cache_dir);
    };
    let mut new_commit = 0usize;
    let mut add_commit = || {
        new_commit += 1;
        add_one_commit(&repo, new_commit);
    };

    // Warm the page cache (and check that everything runs).
    time_once("git", &git_cmd);
    clear_cache();
    time_once(nextneck, &nn_cmd);
    let mut git_times = Vec::new();
    let mut first_times = Vec::new();
    let mut rerun_times = Vec::new();
    let (mut git_cpu, mut first_cpu, mut rerun_cpu) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        eprintln!("round {} of {rounds}", round + 1);
        let (wall, cpu) = time_once("git", &git_cmd);
        git_times.push(wall);
        git_cpu.extend(cpu);
        clear_cache();
        let (wall, cpu) = time_once(nextneck, &nn_cmd);
        first_times.push(wall);
        first_cpu.extend(cpu);
        add_commit();
        let (wall, cpu) = time_once(nextneck, &nn_cmd);
        rerun_times.push(wall);
        rerun_cpu.extend(cpu);
    }
    let git_median = median(&mut git_times);
    let first_median = median(&mut first_times);
    let rerun_median = median(&mut rerun_times);
    let cpu = |v: &mut Vec<f64>| {
        if v.is_empty() {
            "n/a".to_owned()
        } else {
            format!("{:.1}", median(v))
        }
    };
    let git_rss = peak_rss_kib("git", &git_cmd);
    clear_cache();
    let first_rss = peak_rss_kib(nextneck, &nn_cmd);
    add_commit();
    let rerun_rss = peak_rss_kib(nextneck, &nn_cmd);
    let mib = |k: Option<u64>| {
        k.map_or("n/a".to_owned(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        })
    };
    println!();
    println!(
        "| command | median of {rounds} (s) | min (s) | max (s) | CPU, median (s) | peak memory |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, m: f64, v: &[f64], cpu: String, rss: Option<u64>| {
        println!(
            "| {name} | {m:.3} | {:.3} | {:.3} | {cpu} | {} |",
            v[0],
            v[v.len() - 1],
            mib(rss)
        );
    };
    row(
        "`git log --branches --tags --no-renames --numstat`",
        git_median,
        &git_times,
        cpu(&mut git_cpu),
        git_rss,
    );
    row(
        "`nextneck code --all`, first run (no cache)",
        first_median,
        &first_times,
        cpu(&mut first_cpu),
        first_rss,
    );
    row(
        "`nextneck code --all`, re-run after one new commit",
        rerun_median,
        &rerun_times,
        cpu(&mut rerun_cpu),
        rerun_rss,
    );
    println!();
    println!(
        "load average before / after: {} / {}",
        load_before,
        load_average()
    );
    println!();
    println!(
        "ratio first run / git log (medians): {:.2} (goal 0.7)",
        first_median / git_median
    );
    println!(
        "ratio re-run / git log (medians): {:.3} (goal 0.05)",
        rerun_median / git_median
    );
}

/// The 1-minute load average (other processes competing for the cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".to_owned())
}

/// Wall time and CPU time (user + system, from `/usr/bin/time` when
/// available) of one run, output discarded.
fn time_once(program: &str, setup: &dyn Fn(&mut Command)) -> (f64, Option<f64>) {
    let mut inner = Command::new(program);
    setup(&mut inner);
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut cmd = Command::new(time);
        cmd.args(["-f", "%U %S"])
            .arg(inner.get_program())
            .args(inner.get_args());
        cmd
    } else {
        inner
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{program} failed");
    let cpu = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| {
            let mut parts = l.split_whitespace().map(|p| p.parse::<f64>().ok());
            Some(parts.next()?? + parts.next()??)
        });
    (elapsed, cpu)
}

fn bench_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data")
}

/// A bare clone of `source` (objects hard-linked), made once, so that the
/// benchmark's cache files and new commits never touch the original.
fn bare_clone(source: &Path) -> PathBuf {
    let name: String = source
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let clone = bench_data().join(format!("clone-{name}"));
    if clone.join("done").exists() {
        return clone;
    }
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(bench_data()).unwrap();
    let status = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(source)
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success(), "git clone failed");
    std::fs::write(clone.join("done"), "").unwrap();
    clone
}

/// Points `refs/heads/bench-rerun` at a new commit on top of `HEAD` that
/// changes one file (a fresh one each time, so it is always new).
fn add_one_commit(repo: &Path, n: usize) {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let head = git_output(repo, &["rev-parse", "HEAD"]);
        let mut stdin = child.stdin.take().unwrap();
        let content = format!("benchmark re-run {n}\nsecond line\n");
        let msg = format!("bench re-run {n}\n");
        let t = 2_000_000_000 + n as i64;
        write!(
            stdin,
            "commit refs/heads/bench-rerun\nauthor Bench <bench@example.com> {t} +0000\ncommitter Bench <bench@example.com> {t} +0000\ndata {}\n{msg}from {}\nM 644 inline bench/rerun.txt\ndata {}\n{content}\n",
            msg.len(),
            head.trim(),
            content.len()
        )
        .unwrap();
    }
    assert!(child.wait().unwrap().success(), "git fast-import failed");
}

/// Generates (or reuses) a history of `commits` commits.
fn generated_repo(commits: usize) -> PathBuf {
    let repo = bench_data().join(format!("code-history-{commits}-v2"));
    if repo.join("done").exists() {
        return repo;
    }
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let status = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&repo)
        .status()
        .unwrap();
    assert!(status.success());
    eprintln!(
        "generating a {commits}-commit history with file changes in {} ...",
        repo.display()
    );
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = std::io::BufWriter::with_capacity(1 << 20, child.stdin.take().unwrap());
        History::new(commits).write(&mut stdin).unwrap();
        stdin.flush().unwrap();
    }
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    // `-f` computes deltas afresh, as `git gc --aggressive` or a server
    // packing a clone does: fast-import stores each version of a file as a
    // delta of the previous one, the reverse of what git's own packs do
    // (newer versions whole, older ones as deltas), which would make both
    // commands read every file's history the slow way.
    eprintln!("repacking (a few minutes) ...");
    let status = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["repack", "-adfq"])
        .status()
        .unwrap();
    assert!(status.success(), "git repack failed");
    std::fs::write(repo.join("done"), "").unwrap();
    repo
}

/// xorshift: deterministic, so the same size gives the same repository.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Small values much more often than large ones.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

struct File {
    path: String,
    lines: Vec<String>,
    /// The fast-import mark of its current content.
    mark: usize,
}

/// The generated history's state while it is written.
struct History {
    commits: usize,
    rng: Rng,
    files: Vec<Option<File>>,
    mark: usize,
    t: i64,
    made: usize,
    dirs: Vec<String>,
    next_name: usize,
}

const WORDS: &[&str] = &[
    "let", "value", "result", "config", "parse", "return", "match", "error", "item", "count",
    "buffer", "index", "state", "request", "handle", "update", "render", "token", "node", "cache",
];

impl History {
    fn new(commits: usize) -> History {
        let dirs = (0..40)
            .map(|i| format!("{}/mod{}", ["src", "lib", "app", "core", "web"][i % 5], i))
            .collect();
        History {
            commits,
            rng: Rng(0x2545_f491_4f6c_dd1d),
            files: Vec::new(),
            mark: 0,
            t: 1_400_000_000,
            made: 0,
            dirs,
            next_name: 0,
        }
    }

    fn line(&mut self) -> String {
        match self.rng.below(12) {
            0 => "}".to_owned(),
            1 => String::new(),
            2 => "        return Ok(());".to_owned(),
            _ => {
                let n = 2 + self.rng.below(6);
                let mut s = "    ".to_owned();
                for i in 0..n {
                    if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(WORDS[self.rng.below(WORDS.len())]);
                }
                s.push_str(&format!(" {};", self.rng.below(1000)));
                s
            }
        }
    }

    /// Writes `file`'s content as a blob and remembers its mark.
    fn blob(&mut self, out: &mut dyn Write, i: usize) -> std::io::Result<()> {
        self.mark += 1;
        let mark = self.mark;
        let Some(file) = self.files[i].as_mut() else {
            return Ok(());
        };
        file.mark = mark;
        let mut data = file.lines.join("\n");
        data.push('\n');
        writeln!(out, "blob\nmark :{mark}\ndata {}", data.len())?;
        out.write_all(data.as_bytes())?;
        writeln!(out)
    }

    fn new_file(&mut self, out: &mut dyn Write) -> std::io::Result<usize> {
        let dir = self.dirs[self.rng.skewed(self.dirs.len())].clone();
        self.next_name += 1;
        let path = format!("{dir}/file{}.rs", self.next_name);
        let n = 20 + self.rng.skewed(400);
        let lines = (0..n).map(|_| self.line()).collect();
        self.files.push(Some(File {
            path,
            lines,
            mark: 0,
        }));
        let i = self.files.len() - 1;
        self.blob(out, i)?;
        Ok(i)
    }

    /// Edits a file: one to three hunks of inserted, deleted or replaced
    /// lines.
    fn edit(&mut self, out: &mut dyn Write, i: usize) -> std::io::Result<()> {
        for _ in 0..1 + self.rng.below(3) {
            let len = self.files[i].as_ref().map_or(0, |f| f.lines.len());
            let at = self.rng.below(len + 1);
            let n = 1 + self.rng.skewed(8);
            let kind = self.rng.below(3);
            let new: Vec<String> = (0..n).map(|_| self.line()).collect();
            let Some(file) = self.files[i].as_mut() else {
                return Ok(());
            };
            match kind {
                0 => {
                    for (k, l) in new.into_iter().enumerate() {
                        file.lines.insert(at + k, l);
                    }
                }
                1 if file.lines.len() > 30 => {
                    let end = (at + n).min(file.lines.len());
                    file.lines.drain(at.min(end)..end);
                }
                _ => {
                    for (k, l) in new.into_iter().enumerate() {
                        if let Some(slot) = file.lines.get_mut(at + k) {
                            *slot = l;
                        } else {
                            file.lines.push(l);
                        }
                    }
                }
            }
        }
        self.blob(out, i)
    }

    /// A live file, hot ones (low indices in a rotating window) more often.
    fn pick(&mut self) -> Option<usize> {
        let live: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].is_some())
            .collect();
        if live.is_empty() {
            return None;
        }
        let offset = (self.made / 5000) * 37;
        Some(live[(self.rng.skewed(live.len()) + offset) % live.len()])
    }

    fn person(&mut self) -> String {
        // 60 people; some leave as time goes by, newcomers join.
        let era = self.made * 10 / self.commits.max(1);
        let n = (self.rng.skewed(30) + era * 3) % 60;
        format!("Dev {n} <dev{n}@example.com>")
    }

    /// One commit's file operations: the `M`/`D` lines, after writing the
    /// blobs they need.
    fn changes(&mut self, out: &mut dyn Write) -> std::io::Result<Vec<String>> {
        let mut ops = Vec::new();
        let roll = self.rng.below(100);
        if roll < 3 {
            let i = self.new_file(out)?;
            if let Some(f) = &self.files[i] {
                ops.push(format!("M 100644 :{} {}", f.mark, f.path));
            }
        } else if roll < 4 {
            if let Some(i) = self.pick()
                && let Some(f) = self.files[i].take()
            {
                ops.push(format!("D {}", f.path));
            }
        } else if roll < 5 {
            if let Some(i) = self.pick() {
                let dir = self.dirs[self.rng.below(self.dirs.len())].clone();
                self.next_name += 1;
                let new_path = format!("{dir}/moved{}.rs", self.next_name);
                if let Some(f) = self.files[i].as_mut() {
                    ops.push(format!("D {}", f.path));
                    f.path = new_path;
                    ops.push(format!("M 100644 :{} {}", f.mark, f.path));
                }
            }
        } else {
            for _ in 0..1 + self.rng.skewed(3) {
                if let Some(i) = self.pick() {
                    self.edit(out, i)?;
                    if let Some(f) = &self.files[i] {
                        ops.push(format!("M 100644 :{} {}", f.mark, f.path));
                    }
                }
            }
        }
        Ok(ops)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        out: &mut dyn Write,
        branch: &str,
        from: Option<usize>,
        merge: Option<usize>,
        ops: &[String],
        subject: &str,
    ) -> std::io::Result<usize> {
        self.mark += 1;
        let mark = self.mark;
        self.t += 60 + self.rng.below(5400) as i64;
        let person = self.person();
        writeln!(out, "commit {branch}\nmark :{mark}")?;
        writeln!(
            out,
            "author {person} {} +0000",
            self.t - self.rng.below(3600) as i64
        )?;
        writeln!(out, "committer {person} {} +0000", self.t)?;
        let msg = format!("{subject}\n");
        writeln!(out, "data {}\n{msg}", msg.len())?;
        if let Some(f) = from {
            writeln!(out, "from :{f}")?;
        }
        if let Some(m) = merge {
            writeln!(out, "merge :{m}")?;
        }
        for op in ops {
            writeln!(out, "{op}")?;
        }
        writeln!(out)?;
        Ok(mark)
    }

    fn write(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        // The initial import: 400 files.
        let mut ops = Vec::new();
        for _ in 0..400 {
            let i = self.new_file(out)?;
            if let Some(f) = &self.files[i] {
                ops.push(format!("M 100644 :{} {}", f.mark, f.path));
            }
        }
        let mut main = self.commit(out, "refs/heads/main", None, None, &ops, "initial import")?;
        self.made = 1;
        let mut release = 0;
        while self.made < self.commits {
            let topic_len = 1 + self.rng.below(4);
            if self.rng.below(3) == 0 || self.made + topic_len + 1 > self.commits {
                let ops = self.changes(out)?;
                let subject = format!("Change {}", self.made);
                main = self.commit(out, "refs/heads/main", Some(main), None, &ops, &subject)?;
                self.made += 1;
            } else {
                // A topic branch, then a merge that brings its files in.
                let mut tip = main;
                let mut touched: Vec<String> = Vec::new();
                for k in 0..topic_len {
                    let ops = self.changes(out)?;
                    touched.extend(ops.iter().cloned());
                    let subject = format!("Topic work {} part {k}", self.made);
                    tip = self.commit(out, "refs/heads/topic", Some(tip), None, &ops, &subject)?;
                    self.made += 1;
                }
                // The merge's tree is the topic's (main did not move): replay
                // the topic's operations, with final contents.
                let mut merge_ops = Vec::new();
                for op in touched {
                    merge_ops.push(op);
                }
                let subject = format!("Merge branch 'topic-{}'", self.made);
                main = self.commit(
                    out,
                    "refs/heads/main",
                    Some(main),
                    Some(tip),
                    &merge_ops,
                    &subject,
                )?;
                self.made += 1;
            }
            if self.made / 250 > release {
                release = self.made / 250;
                self.t += 600;
                writeln!(out, "tag v1.{}.{}", release / 10, release % 10)?;
                writeln!(out, "from :{main}")?;
                writeln!(out, "tagger Release Bot <bot@example.com> {} +0000", self.t)?;
                let msg = format!("release {release}\n");
                writeln!(out, "data {}\n{msg}", msg.len())?;
            }
        }
        Ok(())
    }
}
