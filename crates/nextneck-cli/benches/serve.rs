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

use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";

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
        body().len()
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
                let mut server = start_server(&url, batch);
                let run = run_client(server.1);
                server.0.kill().unwrap();
                server.0.wait().unwrap();
                let stored = nextneck_store::open(&url)
                    .unwrap()
                    .deliveries()
                    .unwrap()
                    .len();
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

fn body() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/github/octokit__deployment_status__payload.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn start_server(url: &str, max_batch: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nextneck"))
        .args(["serve", "--db", url, "--listen", "127.0.0.1:0"])
        .env("NEXTNECK_GITHUB_SECRET", SECRET)
        .env("NEXTNECK_SERVE_MAX_BATCH", max_batch)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading (and discarding) so the server never sees a closed pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    let addr = line
        .trim()
        .trim_start_matches("listening on http://")
        .parse()
        .unwrap();
    (child, addr)
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

/// The load generator: `connections` keep-alive connections, each sending
/// signed deliveries back to back for the duration (after a one-second
/// warm-up), every one with a new `X-GitHub-Delivery`.
fn client(addr: SocketAddr) {
    let connections: usize = env_or("NEXTNECK_BENCH_CONNECTIONS", 64);
    let seconds: u64 = env_or("NEXTNECK_BENCH_SECONDS", 5);
    let body = Arc::new(body());
    let signature = format!(
        "sha256={}",
        nextneck_ingest::signature::hmac_sha256_hex(SECRET.as_bytes(), &body)
    );
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let body = Arc::clone(&body);
            let signature = signature.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut stream = connect(addr);
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let head = format!(
                        "POST /hooks/github HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-github-event: deployment_status\r\nx-github-delivery: bench-{c}-{i}\r\nx-hub-signature-256: {signature}\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let start = Instant::now();
                    match request(&mut stream, head.as_bytes(), &body) {
                        Some(202) if start >= warmup_end => latencies.push(start.elapsed()),
                        Some(202) => {}
                        _ => {
                            errors += 1;
                            stream = connect(addr);
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |q: f64| {
        if all.is_empty() {
            return f64::NAN;
        }
        let h = (all.len() - 1) as f64 * q;
        all[h.round() as usize].as_secs_f64() * 1000.0
    };
    let rate = all.len() as f64 / seconds as f64;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{rate} {} {} {} {errors}",
        pct(0.5),
        pct(0.99),
        all.len()
    )
    .unwrap();
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    BufReader::new(stream)
}

/// One request on a keep-alive connection; the status code.
fn request(stream: &mut BufReader<TcpStream>, head: &[u8], body: &[u8]) -> Option<u16> {
    let s = stream.get_mut();
    s.write_all(head).ok()?;
    s.write_all(body).ok()?;
    let mut status_line = String::new();
    stream.read_line(&mut status_line).ok()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut rest = vec![0; length];
    stream.read_exact(&mut rest).ok()?;
    Some(status)
}
