//! Read answers are bounded by what a reader can use: two events 9,000
//! years apart give a flow report, page and API answer under a megabyte
//! (the CFD sampled every 3,640 days), from a file and from the store; a
//! CFD longer than 1,000 days is sampled every week.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;
mod live;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use live::*;
use serde_json::Value;

const FAR_APART_CSV: &str = "case_id,stage,timestamp
a,new,0001-01-01T00:00:00Z
b,done,9000-01-01T00:00:00Z
";

const FAR_APART_NDJSON: &str = concat!(
    r#"{"type":"stage.transition","id":"t1","stream":"s","item":"a","stage":"new","at":"0001-01-01T00:00:00Z"}"#,
    "\n",
    r#"{"type":"stage.transition","id":"t2","stream":"s","item":"b","stage":"done","at":"9000-01-01T00:00:00Z"}"#,
    "\n",
);

/// At most this many bytes for any answer about two events (a page holds
/// its styles and a thousand CFD points).
const FEW: usize = 1_000_000;

fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
    (status, response[end + 4..].to_vec())
}

fn check_cfd(report: &Value) {
    let cfd = &report["cfd"];
    assert_eq!(cfd["step_days"], 3640, "{cfd}");
    let days = cfd["days"].as_array().unwrap();
    assert!((900..=1000).contains(&days.len()), "{}", days.len());
    assert_eq!(
        days[0]["date"], "0010-12-19",
        "the last day of the first step"
    );
}

#[test]
fn two_events_9000_years_apart_answer_a_few_kilobytes() {
    let db = sqlite();
    let dir = db.dir.path();
    std::fs::write(dir.join("far.csv"), FAR_APART_CSV).unwrap();
    std::fs::write(dir.join("far.ndjson"), FAR_APART_NDJSON).unwrap();
    for format in ["json", "table", "html"] {
        let (code, out, err) = run(dir, &["flow", "far.csv", "--all", "--format", format]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.len() < FEW,
            "flow --format {format}: {} bytes",
            out.len()
        );
        if format == "json" {
            check_cfd(&serde_json::from_str(&out).unwrap());
        }
    }
    let (code, _, err) = run(dir, &["import", "events", "far.ndjson", "--db", &db.url]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&db);
    wait_processed(&db.url);
    for path in [
        "/api/v1/streams/s?all=true",
        "/api/v1/streams?all=true",
        "/streams/s?all=true",
    ] {
        let (status, body) = get(server.addr, path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(body.len() < FEW, "{path}: {} bytes", body.len());
    }
    let (_, body) = get(server.addr, "/api/v1/streams/s?all=true");
    check_cfd(&serde_json::from_slice(&body).unwrap());
}

#[test]
fn a_cfd_over_1400_days_has_a_point_a_week() {
    let dir = tempfile::tempdir().unwrap();
    // a: new on day 0, done on day 1400; b: new on day 10, doing on day
    // 20, done on day 30.
    let log = "case_id,stage,timestamp
a,new,2020-01-01T12:00:00Z
a,done,2023-11-01T12:00:00Z
b,new,2020-01-11T12:00:00Z
b,doing,2020-01-21T12:00:00Z
b,done,2020-01-31T12:00:00Z
";
    std::fs::write(dir.path().join("weeks.csv"), log).unwrap();
    let (code, out, err) = run(
        dir.path(),
        &["flow", "weeks.csv", "--all", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let cfd = &report["cfd"];
    assert_eq!(cfd["step_days"], 7);
    assert_eq!(cfd["stages"], serde_json::json!(["new", "doing"]));
    let days = cfd["days"].as_array().unwrap();
    assert_eq!(days.len(), 1401_usize.div_ceil(7), "1,401 days");
    let point = |i: usize| {
        (
            days[i]["date"].as_str().unwrap().to_owned(),
            days[i]["counts"].clone(),
            days[i]["done"].as_u64().unwrap(),
        )
    };
    // The state at the end of each step's last day.
    assert_eq!(
        point(0),
        ("2020-01-07".into(), serde_json::json!([1, 0]), 0)
    );
    assert_eq!(
        point(1),
        ("2020-01-14".into(), serde_json::json!([2, 0]), 0)
    );
    assert_eq!(
        point(2),
        ("2020-01-21".into(), serde_json::json!([1, 1]), 0)
    );
    assert_eq!(
        point(3),
        ("2020-01-28".into(), serde_json::json!([1, 1]), 0)
    );
    assert_eq!(
        point(4),
        ("2020-02-04".into(), serde_json::json!([1, 0]), 1)
    );
    // The last step ends with the window, on a's finish.
    let last = days.len() - 1;
    assert_eq!(
        point(last),
        ("2023-11-01".into(), serde_json::json!([0, 0]), 2)
    );
}
