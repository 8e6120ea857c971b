//! Benchmark: `nextneck serve` under a sustained load of signed GitHub
//! deliveries over loopback, from a second process, with durable
//! acknowledgements; SQLite, and PostgreSQL when `NEXTNECK_TEST_POSTGRES`
//! (or `NEXTNECK_BENCH_POSTGRES`) names a server.
//!
//! Each round runs the baseline (the same server committing every delivery
//! in its own transaction: one fsync per request) and nextneck's group
//! commit alternately, and prints deliveries per second and latency
//! percentiles; the summary is the median over rounds.
//!
//! `cargo bench -p nextneck-cli --bench serve`. Environment:
//! `NEXTNECK_BENCH_SECONDS` (default 5), `NEXTNECK_BENCH_CONNECTIONS`
//! (default 64), `NEXTNECK_BENCH_ROUNDS` (default 3). The client is this
//! binary, re-executed with `NEXTNECK_BENCH_CLIENT=ADDR`.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod common;

use common::http::{GITHUB_SECRET, Server, github_body, github_deliveries};
use common::*;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

fn main() {
    if let Ok(addr) = std::env::var("NEXTNECK_BENCH_CLIENT") {
        client(addr.parse().unwrap());
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("serve benchmark: run with `cargo bench -p nextneck-cli --bench serve`");
        return;
    }
    let rounds: usize = env_or("NEXTNECK_BENCH_ROUNDS", 3);
    let mut backends = vec![("SQLite", None)];
    if let Ok(pg) = std::env::var("NEXTNECK_BENCH_POSTGRES")
        .or_else(|_| std::env::var("NEXTNECK_TEST_POSTGRES"))
    {
        backends.push(("PostgreSQL", Some(pg)));
    }
    println!(
        "{} connections, {} s per run, {rounds} rounds, body {} bytes (octokit deployment_status)",
        env_or::<usize>("NEXTNECK_BENCH_CONNECTIONS", 64),
        env_or::<u64>("NEXTNECK_BENCH_SECONDS", 5),
        github_body().len()
    );
    let mut summary = Vec::new();
    for (name, pg) in &backends {
        let mut results: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            for (mode, batch) in [(0, "1"), (1, "1000")] {
                let dir = tempfile::tempdir().unwrap();
                let url = match pg {
                    Some(base) => nextneck_store::fresh_postgres_schema(base).unwrap(),
                    None => format!("sqlite:{}", dir.path().join("bench.db").display()),
                };
                let server = Server::start(
                    env!("CARGO_BIN_EXE_nextneck"),
                    &url,
                    &[
                        ("NEXTNECK_GITHUB_SECRET", GITHUB_SECRET),
                        ("NEXTNECK_SERVE_MAX_BATCH", batch),
                    ],
                    Duration::from_secs(60),
                )
                .unwrap();
                let run = run_client(server.addr);
                drop(server);
                let stored = nextneck_store::open(&url)
                    .unwrap()
                    .deliveries()
                    .unwrap()
                    .len();
                nextneck_store::drop_postgres_schema(&url);
                assert!(
                    stored >= run.ok,
                    "{stored} stored < {} acknowledged",
                    run.ok
                );
                println!(
                    "{name} round {round} {:<12} {:>8.0} deliveries/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} acknowledged, {} stored, {} errors)",
                    if mode == 0 {
                        "fsync/request"
                    } else {
                        "group commit"
                    },
                    run.per_second,
                    run.p50_ms,
                    run.p99_ms,
                    run.ok,
                    stored,
                    run.errors
                );
                results[mode].push(run);
            }
        }
        for (mode, label) in [
            (0, "baseline: one transaction per delivery"),
            (1, "nextneck: group commit"),
        ] {
            let mut rates: Vec<f64> = results[mode].iter().map(|r| r.per_second).collect();
            let mut p99: Vec<f64> = results[mode].iter().map(|r| r.p99_ms).collect();
            let mut p50: Vec<f64> = results[mode].iter().map(|r| r.p50_ms).collect();
            summary.push(format!(
                "| {name} | {label} | {:.0} | {:.2} | {:.2} |",
                median(&mut rates),
                median(&mut p50),
                median(&mut p99)
            ));
        }
    }
    println!();
    println!("| store | mode | deliveries/s (median) | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|");
    for line in summary {
        println!("{line}");
    }
}

struct Run {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    ok: usize,
    errors: usize,
}

/// Runs this binary as the load generator and reads its one-line result.
fn run_client(addr: SocketAddr) -> Run {
    let out = Command::new(std::env::current_exe().unwrap())
        .env("NEXTNECK_BENCH_CLIENT", addr.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the client failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    Run {
        per_second: v[0],
        p50_ms: v[1],
        p99_ms: v[2],
        ok: v[3] as usize,
        errors: v[4] as usize,
    }
}

/// The load generator (`common::http::github_deliveries`) on one server,
/// printing its one-line result.
fn client(addr: SocketAddr) {
    let connections: usize = env_or("NEXTNECK_BENCH_CONNECTIONS", 64);
    let seconds: u64 = env_or("NEXTNECK_BENCH_SECONDS", 5);
    let tag = format!("{}", std::process::id());
    let load = github_deliveries(&[addr], connections, seconds, &tag);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} {} {} {} {}",
        load.per_second, load.p50_ms, load.p99_ms, load.ok, load.errors
    )
    .unwrap();
}
