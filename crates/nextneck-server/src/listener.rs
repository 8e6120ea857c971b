//! The connection layer under the router: HTTP/1.1 served by hyper with the
//! limits an operator sets ([`Limits`], `[server]` of `nextneck.toml`).
//!
//! * At most `max_connections` connections are held. A connection beyond
//!   it closes the oldest one that has no request in hand (idle, or still
//!   sending its headers); when every connection is busy it is answered 503
//!   and closed. Accepting never fails for want of file descriptors while
//!   the cap is below the process's limit, and idle connections cannot lock
//!   anyone out.
//! * A request's headers must arrive within `header_timeout`, which also
//!   bounds how long a kept-alive connection may wait idle for its next
//!   request; a body must arrive within `body_timeout` (408).
//! * Bodies are buffered against one budget of `max_body_bytes_in_flight`
//!   bytes shared by every request ([`BodyBudget`]); past it a delivery is
//!   answered 503 with nothing stored, so forged signatures on large bodies
//!   cannot grow memory without bound.
//! * hyper's own answers to unparsable requests (400, 414, 431, which carry
//!   no body) are replaced by the stable JSON error, and a request carrying
//!   both `Content-Length` and `Transfer-Encoding` is refused with 400 (hyper
//!   would silently drop the length; a proxy in front might not).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::ApiError;

/// hyper's default read buffer (8 KiB + 100 × 4 KiB).
const READ_BUFFER: usize = 8192 + 4096 * 100;

/// What one server holds at most, and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once (`max_connections`, default 512: half the
    /// common limit of 1,024 file descriptors).
    pub max_connections: usize,
    /// Time for a request's headers, and for the next request on an idle
    /// connection (`header_timeout_seconds`, default 10).
    pub header_timeout: Duration,
    /// Time for a request's body (`body_timeout_seconds`, default 60).
    pub body_timeout: Duration,
    /// Bytes of request bodies buffered at once across all requests
    /// (`max_body_bytes_in_flight`, default 64 MiB).
    pub max_body_bytes_in_flight: usize,
    /// Largest request head (request line and headers) read
    /// (`max_header_bytes`, default 64 KiB); larger is 431.
    pub max_header_bytes: usize,
    /// Report computations (dashboard pages, `/api/v1/*` reports, a
    /// `/metrics` that recomputes) running at once (`max_reports`, default:
    /// the available cores, at least 1); see `gate`.
    pub max_reports: usize,
    /// Report requests that may wait for a running one to finish
    /// (`report_queue`, default 4 × `max_reports`); beyond, `503 busy`.
    pub report_queue: usize,
    /// Longest wait in that queue (30 s), then `503 busy`.
    pub report_wait: Duration,
}

/// The cores this process may use, at least 1: the default `max_reports`.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_body_bytes_in_flight: 64 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_reports: available_cores(),
            report_queue: 4 * available_cores(),
            report_wait: Duration::from_secs(30),
        }
    }
}

/// The bytes of request bodies held at once, against one limit.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl BodyBudget {
    pub(crate) fn new(limit: usize) -> BodyBudget {
        BodyBudget {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    fn take(&self, n: usize) -> bool {
        let mut used = self.used.load(Ordering::SeqCst);
        loop {
            let Some(next) = used.checked_add(n).filter(|&next| next <= self.limit) else {
                return false;
            };
            match self
                .used
                .compare_exchange(used, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::SeqCst);
                    return true;
                }
                Err(now) => used = now,
            }
        }
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// The most bytes ever held at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Bytes taken from a [`BodyBudget`], given back when dropped.
pub(crate) struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Reservation {
    pub(crate) fn new(budget: &Arc<BodyBudget>) -> Reservation {
        Reservation {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }

    /// The bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds `n` more bytes, if the budget has them.
    pub(crate) fn grow(&mut self, n: usize) -> bool {
        let ok = self.budget.take(n);
        if ok {
            self.bytes += n;
        }
        ok
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// One connection's state, shared by its task, its requests and the
/// registry.
#[derive(Default)]
struct Conn {
    /// Requests in hand (in the router).
    busy: AtomicUsize,
    /// Asked to close to make room.
    evict: Notify,
    /// Some request head on this connection had both `Content-Length` and
    /// `Transfer-Encoding`.
    length_and_chunked: AtomicBool,
}

/// The connections held, oldest first.
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<VecDeque<Arc<Conn>>>,
    /// Connection tasks alive (held or closing).
    alive: AtomicUsize,
    closed: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new connection, closing the oldest idle one when `max`
    /// are held; `None` when all of them are busy.
    fn admit(&self, max: usize) -> Option<Arc<Conn>> {
        let mut conns = self.lock();
        if conns.len() >= max.max(1) {
            let idle = conns
                .iter()
                .position(|c| c.busy.load(Ordering::SeqCst) == 0)?;
            if let Some(victim) = conns.remove(idle) {
                victim.evict.notify_one();
            }
        }
        let conn = Arc::new(Conn::default());
        conns.push_back(Arc::clone(&conn));
        self.alive.fetch_add(1, Ordering::SeqCst);
        Some(conn)
    }

    fn release(&self, conn: &Arc<Conn>) {
        let mut conns = self.lock();
        if let Some(i) = conns.iter().position(|c| Arc::ptr_eq(c, conn)) {
            conns.remove(i);
        }
        drop(conns);
        self.alive.fetch_sub(1, Ordering::SeqCst);
        self.closed.notify_waiters();
    }

    /// Connections held now (at most the cap).
    pub(crate) fn held(&self) -> usize {
        self.lock().len()
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` resolves,
/// then lets the requests in hand finish.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    registry: Arc<Registry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: wait, do not spin.
                eprintln!("nextneck serve: could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match registry.admit(limits.max_connections) {
            Some(conn) => {
                let task = connection(
                    stream,
                    router.clone(),
                    limits.clone(),
                    Arc::clone(&conn),
                    stop_rx.clone(),
                );
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    task.await;
                    registry.release(&conn);
                });
            }
            None => {
                tokio::spawn(refuse(stream));
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    loop {
        let closed = registry.closed.notified();
        if registry.alive.load(Ordering::SeqCst) == 0 {
            return Ok(());
        }
        closed.await;
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Every connection is busy: 503, then close.
async fn refuse(mut stream: TcpStream) {
    let answer = raw_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        "the server holds as many connections as it may and all are busy; retry later",
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// A whole HTTP/1.1 answer carrying the JSON error, closing the connection.
fn raw_answer(status: StatusCode, code: &'static str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// One connection, until it closes, is evicted (when idle) or the server
/// stops (after the request in hand).
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    conn: Arc<Conn>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Inspected::new(stream, Arc::clone(&conn)));
    let service_conn = Arc::clone(&conn);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let conn = Arc::clone(&service_conn);
        let router = router.clone();
        async move {
            conn.busy.fetch_add(1, Ordering::SeqCst);
            let busy = Busy(Arc::clone(&conn));
            if conn.length_and_chunked.load(Ordering::SeqCst)
                && request.headers().contains_key(header::TRANSFER_ENCODING)
            {
                return Ok::<_, Infallible>(length_and_chunked().into_response());
            }
            let service = TowerToHyperService::new(router);
            let response = hyper::service::Service::call(&service, request).await?;
            // Busy until the answer is written, not just computed.
            Ok(response.map(|body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _busy = &busy;
                    frame
                }))
            }))
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(READ_BUFFER))
        .serve_connection(io, service);
    tokio::pin!(served);
    let mut stopping = *stop.borrow();
    if stopping {
        served.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            () = conn.evict.notified() => {
                if conn.busy.load(Ordering::SeqCst) == 0 {
                    return;
                }
                served.as_mut().graceful_shutdown();
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    served.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Marks a request as out of hand when dropped.
struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

fn length_and_chunked() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "ambiguous_length",
        "the request has both Content-Length and Transfer-Encoding; send one of them; nothing was stored",
    )
}

/// The stream under hyper: watches request heads for `Content-Length`
/// together with `Transfer-Encoding`, and gives hyper's bodiless answers
/// to unparsable requests a JSON body.
struct Inspected {
    inner: TcpStream,
    conn: Arc<Conn>,
    heads: HeadScanner,
    /// Bytes of a replaced answer not yet written.
    pending: Vec<u8>,
}

impl Inspected {
    fn new(inner: TcpStream, conn: Arc<Conn>) -> Inspected {
        Inspected {
            inner,
            conn,
            heads: HeadScanner::default(),
            pending: Vec::new(),
        }
    }

    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Inspected {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && this.heads.scan(&buf.filled()[before..])
        {
            this.conn.length_and_chunked.store(true, Ordering::SeqCst);
        }
        polled
    }
}

impl AsyncWrite for Inspected {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(answer) = json_for_parse_error(buf) {
            this.pending = answer;
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// hyper answers a request it cannot parse with a bare head (400, 414 or
/// 431 and `content-length: 0`), which the router never does: the same
/// answer with the JSON error.
fn json_for_parse_error(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf).ok()?;
    let rest = head.strip_suffix("\r\n\r\n")?;
    if !rest.to_ascii_lowercase().contains("\r\ncontent-length: 0") || rest.contains("\r\n\r\n") {
        return None;
    }
    let (status, code, message) = match head.get(..13)? {
        "HTTP/1.1 400 " => (
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request cannot be parsed: its request line, a header or its Content-Length is malformed; nothing was stored",
        ),
        "HTTP/1.1 414 " => (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "the request's URI is longer than the server reads; nothing was stored",
        ),
        "HTTP/1.1 431 " => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "the request's headers are larger than the server reads (max_header_bytes in [server]); nothing was stored",
        ),
        _ => return None,
    };
    Some(raw_answer(status, code, message))
}

/// Finds, in the bytes a connection reads, a block of lines (up to an empty
/// line) holding both a `Content-Length` and a `Transfer-Encoding` header.
/// It reads bodies too, so it can only err towards refusing a chunked
/// request whose earlier body held such lines.
#[derive(Default)]
struct HeadScanner {
    /// The start of the current line, lower-cased (enough to name a header).
    line: Vec<u8>,
    /// Bytes in the current line.
    line_len: usize,
    length: bool,
    chunked: bool,
}

impl HeadScanner {
    const PREFIX: usize = 18;

    /// Scans more bytes; true when a block had both headers.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        let mut found = false;
        for &b in bytes {
            if b == b'\n' {
                if self.line_len == 0 || (self.line_len == 1 && self.line == b"\r") {
                    self.length = false;
                    self.chunked = false;
                } else if self.line.starts_with(b"content-length:") {
                    self.length = true;
                } else if self.line.starts_with(b"transfer-encoding:") {
                    self.chunked = true;
                }
                found |= self.length && self.chunked;
                self.line.clear();
                self.line_len = 0;
            } else {
                if self.line.len() < Self::PREFIX {
                    self.line.push(b.to_ascii_lowercase());
                }
                self.line_len += 1;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_with_a_length_and_chunked() {
        let check = |chunks: &[&str], want: bool| {
            let mut s = HeadScanner::default();
            let found = chunks.iter().any(|c| s.scan(c.as_bytes()));
            assert_eq!(found, want, "{chunks:?}");
        };
        check(&["POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"], false);
        check(
            &["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
            false,
        );
        check(
            &["POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
            true,
        );
        check(
            &[
                "POST / HTTP/1.1\r\ntransfer-ENCODING: chunked\r\nHost: x\r\ncontent-le",
                "ngth: 3\r\n\r\n",
            ],
            true,
        );
        // Each in its own request.
        check(
            &[
                "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            ],
            false,
        );
    }

    #[test]
    fn the_budget_holds_at_most_its_limit() {
        let budget = Arc::new(BodyBudget::new(10));
        let mut a = Reservation::new(&budget);
        assert!(a.grow(6));
        let mut b = Reservation::new(&budget);
        assert!(!b.grow(5), "6 + 5 > 10");
        assert!(b.grow(4));
        assert_eq!(budget.used(), 10);
        drop(a);
        assert_eq!(budget.used(), 4);
        drop(b);
        assert_eq!((budget.used(), budget.peak()), (0, 10));
    }
}
