//! A replay server for the sync tests: a real HTTP/1.1 server on
//! 127.0.0.1:0 (std `TcpListener`, one thread per connection) that answers
//! each request target with the next of its recorded responses, headers and
//! all; the last response of a target repeats. `{base}` in a header or body
//! stands for the server's own URL (`http://127.0.0.1:PORT`), so `Link`
//! headers point back at it. Every request is recorded for assertions.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

pub mod github;
pub mod gitlab;
pub mod jira;
pub mod memory;
pub mod pagerduty;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One recorded response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Held back this long before answering (to make the client time out).
    pub delay: Duration,
}

impl Response {
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(body).unwrap(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// GitHub's primary rate-limit headers (replacing any set before).
    pub fn budget(mut self, remaining: u64, reset: u64) -> Response {
        self.headers
            .retain(|(k, _)| !k.to_ascii_lowercase().starts_with("x-ratelimit-"));
        self.header("X-RateLimit-Limit", "5000")
            .header("X-RateLimit-Remaining", &remaining.to_string())
            .header("X-RateLimit-Reset", &reset.to_string())
            .header("X-RateLimit-Used", &(5000 - remaining).to_string())
            .header("X-RateLimit-Resource", "core")
    }

    pub fn delayed(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, VecDeque<Response>>,
    log: Vec<Request>,
}

pub struct Replay {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl Replay {
    pub fn start() -> Replay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let b = base.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                let base = b.clone();
                std::thread::spawn(move || serve(stream, &state, &base));
            }
        });
        Replay { base, state }
    }

    /// Adds responses, in order, for a request target (`/repos/o/r/pulls?...`).
    pub fn on(&self, target: &str, responses: Vec<Response>) {
        let mut state = self.state.lock().unwrap();
        state
            .routes
            .entry(target.to_owned())
            .or_default()
            .extend(responses);
    }

    /// Replaces the responses for a request target.
    pub fn set(&self, target: &str, responses: Vec<Response>) {
        let mut state = self.state.lock().unwrap();
        state
            .routes
            .insert(target.to_owned(), responses.into_iter().collect());
    }

    /// Every request received so far.
    pub fn log(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many requests had this target.
    pub fn count(&self, target: &str) -> usize {
        self.log().iter().filter(|r| r.target == target).count()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let if_none_match;
    let response = {
        let mut state = state.lock().unwrap();
        if_none_match = headers
            .iter()
            .find(|(k, _)| k == "if-none-match")
            .map(|(_, v)| v.clone());
        state.log.push(Request {
            target: target.clone(),
            headers,
        });
        let queue = state.routes.get_mut(&target);
        match queue {
            Some(q) if q.len() > 1 => q.pop_front().unwrap(),
            Some(q) if q.len() == 1 => q[0].clone(),
            _ => Response::json(
                404,
                &serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            ),
        }
    };
    // A conditional request whose ETag still matches: 304, no body.
    let etag = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone());
    let response = match (if_none_match, etag) {
        (Some(sent), Some(etag)) if sent == etag => Response {
            status: 304,
            headers: response
                .headers
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
                .collect(),
            body: Vec::new(),
            delay: response.delay,
        },
        (_, _) => response,
    };
    std::thread::sleep(response.delay);
    let body = String::from_utf8_lossy(&response.body).replace("{base}", base);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        body.len()
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {}\r\n", v.replace("{base}", base)));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body.as_bytes());
    let _ = out.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Status",
    }
}
