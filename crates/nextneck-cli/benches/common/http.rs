//! HTTP/1.1 over plain `TcpStream`s for the benchmarks of `nextneck serve`:
//! starting a server, keep-alive requests, the load generator of signed
//! GitHub deliveries, and timed reads by concurrent clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::percentile;

/// The webhook secret the benchmarks' servers are started with.
pub const GITHUB_SECRET: &str = "bench-secret";

/// A running `nextneck serve`; killed (and waited for) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `program serve --db URL --listen 127.0.0.1:0` with `env` and
    /// waits (at most `timeout`) for the address it prints.
    pub fn start(
        program: &str,
        url: &str,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Server, String> {
        let mut cmd = Command::new(program);
        cmd.args(["serve", "--db", url, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        // Read the banner's first line, then keep reading (and discarding)
        // so the server never sees a closed pipe.
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(timeout) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("serve printed no address within {timeout:?}"));
            }
        };
        match line
            .trim()
            .trim_start_matches("listening on http://")
            .parse()
        {
            Ok(addr) => Ok(Server { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("serve did not start: {line:?}"))
            }
        }
    }

    /// The server's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        super::vm_hwm_kib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The recorded GitHub `deployment_status` delivery the webhook loads send
/// (10,255 bytes).
pub fn github_body() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/github/octokit__deployment_status__payload.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a load of deliveries gave: acknowledged (`202`) deliveries per
/// second after the warm-up, latency percentiles in ms, and counts.
pub struct Load {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub ok: usize,
    pub errors: usize,
}

/// The load generator: `connections` keep-alive connections, spread over
/// `addrs` in turn, each sending signed GitHub deliveries back to back for
/// `seconds` (after a one-second warm-up), every one with a new
/// `X-GitHub-Delivery` (`bench-TAG-CONNECTION-N`: give each run on the same
/// store its own tag, or its deliveries are duplicates).
pub fn github_deliveries(
    addrs: &[SocketAddr],
    connections: usize,
    seconds: u64,
    tag: &str,
) -> Load {
    let body = Arc::new(github_body());
    let signature = format!(
        "sha256={}",
        nextneck_ingest::signature::hmac_sha256_hex(GITHUB_SECRET.as_bytes(), &body)
    );
    let warmup_end = Instant::now() + Duration::from_secs(1);
    let end = warmup_end + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let addr = addrs[c % addrs.len()];
            let body = Arc::clone(&body);
            let signature = signature.clone();
            let tag = tag.to_owned();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut stream = connect(addr);
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let head = format!(
                        "POST /hooks/github HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-github-event: deployment_status\r\nx-github-delivery: bench-{tag}-{c}-{i}\r\nx-hub-signature-256: {signature}\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let start = Instant::now();
                    match request(&mut stream, head.as_bytes(), &body) {
                        Some((202, _)) if start >= warmup_end => {
                            latencies.push(start.elapsed().as_secs_f64() * 1000.0)
                        }
                        Some((202, _)) => {}
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
    all.sort_by(f64::total_cmp);
    Load {
        per_second: all.len() as f64 / seconds as f64,
        p50_ms: percentile(&all, 50),
        p95_ms: percentile(&all, 95),
        p99_ms: percentile(&all, 99),
        ok: all.len(),
        errors,
    }
}

/// What timed reads gave: each `200` answer's latency in ms (sorted), the
/// other answers and failures, and whether the deadline cut the run short.
pub struct Reads {
    pub latencies_ms: Vec<f64>,
    pub errors: usize,
    pub timed_out: bool,
}

/// `GET path` with `Authorization: Bearer token`, `total` times over
/// `clients` keep-alive connections at once (each takes the next request
/// when its last is answered), stopping at `deadline`.
pub fn timed_gets(
    addr: SocketAddr,
    path: &str,
    token: &str,
    clients: usize,
    total: usize,
    deadline: Instant,
) -> Reads {
    let claimed = Arc::new(AtomicUsize::new(0));
    let head = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\naccept: application/json\r\n\r\n"
    );
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let claimed = Arc::clone(&claimed);
            let head = head.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut timed_out = false;
                let mut stream = connect(addr);
                while claimed.fetch_add(1, Ordering::Relaxed) < total {
                    let now = Instant::now();
                    if now >= deadline {
                        timed_out = true;
                        break;
                    }
                    let _ = stream.get_ref().set_read_timeout(Some(deadline - now));
                    match request(&mut stream, head.as_bytes(), &[]) {
                        Some((200, _)) => latencies.push(now.elapsed().as_secs_f64() * 1000.0),
                        _ => {
                            errors += 1;
                            if Instant::now() >= deadline {
                                timed_out = true;
                                break;
                            }
                            stream = connect(addr);
                        }
                    }
                }
                (latencies, errors, timed_out)
            })
        })
        .collect();
    let mut reads = Reads {
        latencies_ms: Vec::new(),
        errors: 0,
        timed_out: false,
    };
    for t in threads {
        let (l, e, out) = t.join().unwrap();
        reads.latencies_ms.extend(l);
        reads.errors += e;
        reads.timed_out |= out;
    }
    reads.latencies_ms.sort_by(f64::total_cmp);
    reads
}

/// A keep-alive connection to `addr`.
pub fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    BufReader::new(stream)
}

/// One request on a keep-alive connection: the status code and the body's
/// length (read whole, by `content-length` or chunked), or `None` when the
/// connection failed.
pub fn request(
    stream: &mut BufReader<TcpStream>,
    head: &[u8],
    body: &[u8],
) -> Option<(u16, usize)> {
    let s = stream.get_mut();
    s.write_all(head).ok()?;
    s.write_all(body).ok()?;
    let mut status_line = String::new();
    stream.read_line(&mut status_line).ok()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            } else if k.eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    if !chunked {
        let mut rest = vec![0; length];
        stream.read_exact(&mut rest).ok()?;
        return Some((status, length));
    }
    let mut total = 0usize;
    loop {
        let mut size_line = String::new();
        stream.read_line(&mut size_line).ok()?;
        let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk).ok()?;
        total += size;
        if size == 0 {
            return Some((status, total));
        }
    }
}
