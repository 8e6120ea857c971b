//! Prints every diffed commit's file changes in the format of
//! `git log --no-renames --numstat --format='commit %H'` (merges print their
//! header only), for comparing nextneck's figures with git's by hand:
//!
//! ```sh
//! cargo run --release -p nextneck-git --example numstat -- PATH [--renames] [--no-cache]
//! ```

#![allow(clippy::print_stdout, missing_docs)]

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or(".", |s| s);
    let options = nextneck_git::changes::CodeOptions {
        renames: args.iter().any(|a| a == "--renames"),
        cache: !args.iter().any(|a| a == "--no-cache"),
        user_cache_dir: None,
    };
    let start = std::time::Instant::now();
    let mut loader = nextneck_git::changes::CodeLoader::open(
        std::path::Path::new(path),
        options,
        &mut nextneck_git::NoProgress,
    )?;
    let walked = start.elapsed();
    let before = args
        .iter()
        .position(|a| a == "--before")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok());
    loader.diff(before, &mut nextneck_git::NoProgress)?;
    let diffed = start.elapsed();
    let (history, cache) = loader.finish();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for c in &history.commits {
        writeln!(out, "commit {}", c.id)?;
        if c.changes.is_empty() {
            continue;
        }
        writeln!(out)?;
        for ch in &c.changes {
            let path = match ch.from {
                Some(from) => format!("{} => {}", history.path(from), history.path(ch.path)),
                None => history.path(ch.path).to_owned(),
            };
            match ch.lines {
                Some(l) => writeln!(out, "{}\t{}\t{path}", l.added, l.deleted)?,
                None => writeln!(out, "-\t-\t{path}")?,
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{} commits; walk {:.3}s, diff {:.3}s, total {:.3}s; cache {:?}",
        history.commits.len(),
        walked.as_secs_f64(),
        (diffed - walked).as_secs_f64(),
        start.elapsed().as_secs_f64(),
        cache
    );
    Ok(())
}
