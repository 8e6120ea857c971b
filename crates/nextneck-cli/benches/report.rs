//! Benchmark: `nextneck report --all` against
//! `git log --branches --tags --format='%H %P %at %ct %ae'` on the same
//! repository, side by side in one run.
//!
//! `cargo bench -p nextneck-cli --bench report` generates (once, cached under
//! `target/bench-data/`) a 100,000-commit history with merges, reverts,
//! hotfixes and 400 release tags through `git fast-import`, then times both
//! commands alternately and prints medians, their ratio and peak memory.
//!
//! Environment:
//! * `NEXTNECK_BENCH_REPO=PATH` benchmarks an existing repository instead.
//! * `NEXTNECK_BENCH_COMMITS=N` changes the generated history's size.
//! * `NEXTNECK_BENCH_ROUNDS=N` changes the number of rounds (default 7).

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
        println!("report benchmark: run with `cargo bench -p nextneck-cli --bench report`");
        return;
    }
    let rounds: usize = env_or("NEXTNECK_BENCH_ROUNDS", 7);
    let repo = match std::env::var_os("NEXTNECK_BENCH_REPO") {
        Some(p) => PathBuf::from(p),
        None => generated_repo(env_or("NEXTNECK_BENCH_COMMITS", 100_000)),
    };
    let nextneck = env!("CARGO_BIN_EXE_nextneck");
    let commits = git_output(&repo, &["rev-list", "--count", "--branches", "--tags"]);
    let tags = git_output(&repo, &["tag"]).lines().count();
    println!(
        "repository: {} ({} commits, {tags} tags)",
        repo.display(),
        commits.trim()
    );

    let git_cmd = |cmd: &mut Command| {
        cmd.arg("-C").arg(&repo).args([
            "log",
            "--branches",
            "--tags",
            "--format=%H %P %at %ct %ae",
        ]);
    };
    let nn_cmd = |cmd: &mut Command| {
        cmd.args(["report", "--all", "--format", "json"]).arg(&repo);
    };
    // Warm the page cache for both.
    time_once("git", &git_cmd);
    time_once(nextneck, &nn_cmd);
    let mut git_times = Vec::new();
    let mut nn_times = Vec::new();
    for _ in 0..rounds {
        git_times.push(time_once("git", &git_cmd));
        nn_times.push(time_once(nextneck, &nn_cmd));
    }
    let git_median = median(&mut git_times);
    let nn_median = median(&mut nn_times);
    let git_rss = peak_rss_kib("git", &git_cmd);
    let nn_rss = peak_rss_kib(nextneck, &nn_cmd);
    let mib = |k: Option<u64>| {
        k.map_or("n/a".to_owned(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        })
    };
    println!();
    println!("| command | median of {rounds} (s) | min (s) | max (s) | peak memory |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| `git log --branches --tags --format='%H %P %at %ct %ae'` | {git_median:.3} | {:.3} | {:.3} | {} |",
        git_times[0],
        git_times[rounds - 1],
        mib(git_rss)
    );
    println!(
        "| `nextneck report --all --format json` | {nn_median:.3} | {:.3} | {:.3} | {} |",
        nn_times[0],
        nn_times[rounds - 1],
        mib(nn_rss)
    );
    println!();
    println!(
        "ratio nextneck / git log (medians): {:.2}",
        nn_median / git_median
    );
}

/// Wall time of one run, output discarded.
fn time_once(program: &str, setup: &dyn Fn(&mut Command)) -> f64 {
    let mut cmd = Command::new(program);
    setup(&mut cmd);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(status.success(), "{program} failed");
    elapsed
}

/// Generates (or reuses) a history of `commits` commits.
fn generated_repo(commits: usize) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    let repo = root.join(format!("history-{commits}-v1"));
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
        "generating a {commits}-commit history in {} ...",
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
        let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
        write_history(&mut stdin, commits).unwrap();
        stdin.flush().unwrap();
    }
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    let status = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["repack", "-adq"])
        .status()
        .unwrap();
    assert!(status.success(), "git repack failed");
    std::fs::write(repo.join("done"), "").unwrap();
    repo
}

/// A fast-import stream: a main line where most work arrives through
/// merged topic branches of 1 to 4 commits, some direct commits, a revert
/// every 97 commits, a hotfix every 89, and an annotated release tag every
/// `commits / 400` commits. Deterministic: the same size gives the same
/// repository.
fn write_history(out: &mut dyn Write, commits: usize) -> std::io::Result<()> {
    let start: i64 = 1_500_000_000;
    let tag_every = (commits / 400).max(1);
    let mut mark = 0usize;
    let mut main_tip: Option<usize> = None;
    let mut t = start;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut made = 0usize;
    let mut release = 0usize;
    let mut commit_marks: Vec<usize> = Vec::new();
    let person = |n: u64| format!("Dev {0} <dev{0}@example.com>", n % 50);
    while made < commits {
        let topic_len = (next() % 4 + 1) as usize;
        let direct = next() % 3 == 0;
        if direct || main_tip.is_none() || made + topic_len + 1 > commits {
            mark += 1;
            let author_t = t;
            t += (next() % 7200) as i64 + 60;
            let subject = if made.is_multiple_of(89) {
                format!("Hotfix: issue {made}")
            } else {
                format!("Change {made}")
            };
            let revert = (made.is_multiple_of(97) && commit_marks.len() > 10)
                .then(|| commit_marks[commit_marks.len() - 5]);
            write_commit(
                out,
                mark,
                "refs/heads/main",
                main_tip,
                None,
                author_t,
                t,
                &person(next()),
                &subject,
                revert,
                made,
            )?;
            main_tip = Some(mark);
            commit_marks.push(mark);
            made += 1;
        } else {
            let base = main_tip;
            let mut tip = base;
            for _ in 0..topic_len {
                mark += 1;
                let author_t = t;
                t += (next() % 3600) as i64 + 30;
                let subject = format!("Topic work {made}");
                write_commit(
                    out,
                    mark,
                    "refs/heads/topic",
                    tip,
                    None,
                    author_t,
                    t,
                    &person(next()),
                    &subject,
                    None,
                    made,
                )?;
                tip = Some(mark);
                commit_marks.push(mark);
                made += 1;
            }
            mark += 1;
            t += (next() % 86_400) as i64 + 60;
            let subject = format!("Merge branch 'topic-{made}'");
            write_commit(
                out,
                mark,
                "refs/heads/main",
                main_tip,
                tip,
                t,
                t,
                &person(next()),
                &subject,
                None,
                made,
            )?;
            main_tip = Some(mark);
            made += 1;
        }
        if made / tag_every > release {
            release = made / tag_every;
            if let Some(tip) = main_tip {
                t += 600;
                writeln!(out, "tag v1.{}.{}", release / 10, release % 10)?;
                writeln!(out, "from :{tip}")?;
                writeln!(out, "tagger Release Bot <bot@example.com> {t} +0000")?;
                let msg = format!("release {release}\n");
                writeln!(out, "data {}\n{msg}", msg.len())?;
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_commit(
    out: &mut dyn Write,
    mark: usize,
    branch: &str,
    from: Option<usize>,
    merge: Option<usize>,
    author_t: i64,
    commit_t: i64,
    person: &str,
    subject: &str,
    revert: Option<usize>,
    n: usize,
) -> std::io::Result<()> {
    writeln!(out, "commit {branch}")?;
    writeln!(out, "mark :{mark}")?;
    writeln!(out, "author {person} {author_t} +0000")?;
    writeln!(out, "committer {person} {commit_t} +0000")?;
    let mut msg = format!(
        "{subject}\n\nA change to module {} with some explanation of why.\n",
        n % 300
    );
    if let Some(r) = revert {
        // fast-import cannot name a mark's id inside a message; a revert of
        // an unknown id is still a revert for rework, and exercises parsing.
        msg.push_str(&format!("\nThis reverts commit {:040x}.\n", r));
    }
    writeln!(out, "data {}\n{msg}", msg.len())?;
    if let Some(f) = from {
        writeln!(out, "from :{f}")?;
    }
    if let Some(m) = merge {
        writeln!(out, "merge :{m}")?;
    }
    if merge.is_none() {
        let content = format!("line {n}\n");
        writeln!(out, "M 644 inline src/module{}.txt", n % 300)?;
        writeln!(out, "data {}\n{content}", content.len())?;
    }
    writeln!(out)?;
    Ok(())
}
