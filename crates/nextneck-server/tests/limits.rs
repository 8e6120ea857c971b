//! The limits of the connection layer, against a real listener with real
//! sockets: half-sent headers and bodies are closed after their timeouts,
//! idle connections cannot lock others out, forged signatures on large
//! bodies are buffered within one budget (asserted on its accounting), a
//! request with both `Content-Length` and `Transfer-Encoding` is refused,
//! every error answer is the JSON `{code, message}`, and `/healthz` says
//! when writes fail.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use nextneck_server::{AppState, Limits, Options, Workers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far beyond every timeout the tests set: only a server that never closes
/// reaches it, and the test then fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

struct Running {
    addr: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _workers: Workers,
    _db: Db,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

async fn start_on(db: Db, limits: Limits) -> Running {
    let mut options = Options::new(secrets());
    options.process = false;
    options.limits = limits;
    let (state, workers) = nextneck_server::start(&db.url, options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nextneck_server::serve(listener, state.clone(), async {
        let _ = stop_rx.await;
    }));
    Running {
        addr,
        state,
        stop: Some(stop_tx),
        server: Some(server),
        _workers: workers,
        _db: db,
    }
}

async fn start(limits: Limits) -> Running {
    start_on(sqlite(), limits).await
}

/// Everything the server sends until it closes: `None` if it never does.
async fn until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

/// One request on a new connection: (status, body).
async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let answer = until_closed(&mut stream)
        .await
        .expect("the server answers and closes");
    let status = answer.get(9..12).unwrap_or("0").parse().unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The JSON error's code, and a check that it has a message.
fn code(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not the JSON error ({e}): {body:?}"));
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    v["code"].as_str().unwrap().to_owned()
}

fn short_timeouts() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

#[tokio::test]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let server = start(short_timeouts()).await;
    // Slowloris: a request line and one header, then nothing.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    assert!(
        until_closed(&mut slow).await.is_some(),
        "a half-sent head is closed after the header timeout"
    );
    // A connection that never says anything.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert!(until_closed(&mut idle).await.is_some());
    // Kept alive after an answer, then idle.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut kept).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_half_sent_body_is_answered_408() {
    let server = start(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /hooks/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ev-token\r\ncontent-length: 100\r\n\r\n{\"type\":",
        )
        .await
        .unwrap();
    let answer = until_closed(&mut stream).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(code(body), "body_timeout");
    assert_eq!(server.state.body_bytes_held(), 0);
    server.stop().await;
}

#[tokio::test]
async fn idle_connections_cannot_lock_others_out() {
    let server = start(Limits {
        max_connections: 8,
        ..Limits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // A real request still gets through: it displaces an idle connection.
    let (status, body) = exchange(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert!(server.state.connections_held() <= 8);
    // The oldest idle connections were closed to make room.
    let mut closed = 0;
    for stream in &mut idle[..23] {
        if until_closed(stream).await.is_some() {
            closed += 1;
        }
    }
    assert_eq!(closed, 23, "31 connections, 8 held: the 23 oldest closed");
    server.stop().await;
}

#[tokio::test]
async fn forged_large_bodies_are_buffered_within_the_budget() {
    const MIB: usize = 1024 * 1024;
    let server = start(Limits {
        max_body_bytes_in_flight: 4 * MIB,
        ..Limits::default()
    })
    .await;
    let head = format!(
        "POST /hooks/github HTTP/1.1\r\nhost: x\r\nx-github-event: push\r\nx-hub-signature-256: sha256={}\r\ncontent-length: {}\r\n\r\n",
        "0".repeat(64),
        2 * MIB
    );
    // Two forged 2 MiB deliveries being sent fill the budget...
    let mut held = Vec::new();
    for i in 1..=2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![b' '; MIB]).await.unwrap();
        for _ in 0..6000 {
            if server.state.body_bytes_held() >= i * 2 * MIB {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.state.body_bytes_held(), i * 2 * MIB);
        held.push(stream);
    }
    // ...so the next ones are refused before their bodies are read.
    for _ in 0..10 {
        let (status, body) = exchange(server.addr, head.as_bytes()).await;
        assert_eq!((status, code(&body).as_str()), (503, "server_busy"));
    }
    assert_eq!(server.state.body_bytes_peak(), 4 * MIB);
    // The two finish, are found forged, and give their bytes back.
    for mut stream in held {
        stream.write_all(&vec![b' '; MIB]).await.unwrap();
        let answer = until_closed(&mut stream).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    assert_eq!(server.state.body_bytes_held(), 0);
    assert_eq!(server.state.body_bytes_peak(), 4 * MIB);
    server.stop().await;
}

#[tokio::test]
async fn a_length_with_chunked_encoding_is_refused() {
    let server = start(Limits::default()).await;
    let body = b"{\"type\":\"stage.transition\",\"id\":\"t1\",\"stream\":\"s\",\"item\":\"i\",\"stage\":\"a\",\"at\":\"2024-03-01T00:00:00Z\"}";
    let chunked = format!(
        "{:x}\r\n{}\r\n0\r\n\r\n",
        body.len(),
        std::str::from_utf8(body).unwrap()
    );
    for headers in [
        "content-length: 4\r\ntransfer-encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    ] {
        let request = format!(
            "POST /hooks/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ev-token\r\n{headers}connection: close\r\n\r\n{chunked}"
        );
        let (status, body) = exchange(server.addr, request.as_bytes()).await;
        assert_eq!(
            (status, code(&body).as_str()),
            (400, "ambiguous_length"),
            "{headers}"
        );
    }
    // Chunked alone is fine.
    let request = format!(
        "POST /hooks/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ev-token\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{chunked}"
    );
    let (status, body) = exchange(server.addr, request.as_bytes()).await;
    assert_eq!(status, 202, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn unparsable_requests_get_the_json_error() {
    let server = start(Limits {
        max_header_bytes: 256 * 1024,
        ..Limits::default()
    })
    .await;
    let check = async |request: String, want_status: u16, want_code: &str| {
        let (status, body) = exchange(server.addr, request.as_bytes()).await;
        assert_eq!((status, code(&body).as_str()), (want_status, want_code));
    };
    check(
        format!(
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "a".repeat(300 * 1024)
        ),
        431,
        "headers_too_large",
    )
    .await;
    check(
        format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000)),
        414,
        "uri_too_long",
    )
    .await;
    check(
        "POST /hooks/events HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n".to_owned(),
        400,
        "bad_request",
    )
    .await;
    check(
        "POST /hooks/events HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab".to_owned(),
        400,
        "bad_request",
    )
    .await;
    check("BLAH\r\n\r\n".to_owned(), 400, "bad_request").await;
    server.stop().await;
}

#[tokio::test]
async fn healthz_says_when_writes_fail() {
    let db = postgres();
    let url = db.url.clone();
    let server = start_on(db, Limits::default()).await;
    let event = |id: &str| {
        let body = format!(
            "{{\"type\":\"stage.transition\",\"id\":\"{id}\",\"stream\":\"s\",\"item\":\"i\",\"stage\":\"a\",\"at\":\"2024-03-01T00:00:00Z\"}}"
        );
        format!(
            "POST /hooks/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ev-token\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let health = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    assert_eq!(exchange(server.addr, event("a").as_bytes()).await.0, 202);
    assert_eq!(exchange(server.addr, health.as_bytes()).await.0, 200);
    // The store refuses every new delivery: writes fail, /healthz says so.
    let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
    let sql = |statement: String| {
        let base = std::env::var("NEXTNECK_TEST_POSTGRES").unwrap();
        tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&base, postgres::NoTls).unwrap();
            client.batch_execute(&statement).unwrap();
        })
    };
    sql(format!(
        "ALTER TABLE {schema}.deliveries ADD CONSTRAINT nn_refuse CHECK (false) NOT VALID"
    ))
    .await
    .unwrap();
    let (status, body) = exchange(server.addr, event("b").as_bytes()).await;
    assert_eq!((status, code(&body).as_str()), (503, "store_unavailable"));
    let (status, body) = exchange(server.addr, health.as_bytes()).await;
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "failing");
    sql(format!(
        "ALTER TABLE {schema}.deliveries DROP CONSTRAINT nn_refuse"
    ))
    .await
    .unwrap();
    // Writes succeed again: healthy again.
    assert_eq!(exchange(server.addr, event("c").as_bytes()).await.0, 202);
    assert_eq!(exchange(server.addr, health.as_bytes()).await.0, 200);
    server.stop().await;
}
