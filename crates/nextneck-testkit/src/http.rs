//! A test HTTP/1.1 receiver on 127.0.0.1:0 (std `TcpListener`): reads each
//! request (line, headers, body by `Content-Length`) and writes the answer
//! a handler gives, closing the connection. The chat webhooks of the
//! digest, the CI scripts' comment APIs and the sync replay server stand on
//! it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query.
    pub target: String,
    /// Header names lower case, values trimmed, in order.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`null` when empty); not JSON is a failure.
    pub fn json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: the body is not JSON ({e}): {}",
                self.method,
                self.target,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// An answer: status, headers (besides `Content-Length` and `Connection`)
/// and body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A status with a plain body and no other header.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// A status with a JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// Serves one connection after another on a fresh local port, answering
/// each request with `handle`'s reply; returns `http://127.0.0.1:PORT`.
pub fn receiver(mut handle: impl FnMut(Request) -> Reply + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let base = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(e) => panic!("local address: {e}"),
    };
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            if let Some(request) = read_request(&stream) {
                write_reply(&mut stream, "X", &handle(request));
            }
        }
    });
    base
}

/// Reads one request; `None` when the connection ends before its head.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let headers = read_headers(&mut reader);
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| {
            v.parse()
                .unwrap_or_else(|_| panic!("content-length {v:?} is not a number"))
        });
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Header lines up to the empty line (or the end of the connection).
fn read_headers(reader: &mut impl BufRead) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            return headers;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
}

/// Writes `reply` with `reason` as the status line's reason phrase and
/// `Connection: close` (errors ignored: the client may be gone).
pub fn write_reply(stream: &mut TcpStream, reason: &str, reply: &Reply) {
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_reads_a_request_and_answers() {
        let (send, seen) = std::sync::mpsc::channel();
        let base = receiver(move |request| {
            let _ = send.send(request);
            Reply::json(201, &serde_json::json!({"ok": true}))
        });
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connects");
        let body = "{\"a\":1}";
        let request = format!(
            "POST /hooks?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("writes");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("reads");
        assert!(answer.starts_with("HTTP/1.1 201 X\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n{\"ok\":true}"), "{answer}");
        let got = seen.recv().expect("a request");
        assert_eq!(
            (got.method.as_str(), got.target.as_str()),
            ("POST", "/hooks?x=1")
        );
        assert_eq!(got.header("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(got.json(), serde_json::json!({"a": 1}));
    }
}
