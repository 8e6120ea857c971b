//! A PagerDuty service as the REST API v2 serves it, built at test time
//! from the documented examples in `pagerduty/` (see SOURCES.md): incidents
//! with ids, numbers, times and states set per item, each with its log
//! entries, served in pages of PagerDuty's classic pagination (`offset`,
//! `limit`, `more`) with its `ratelimit-*` headers.

#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;

use nextneck_sync::walk::with_query;
use serde_json::{Value, json};

use super::{Replay, Response};

fn read(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../nextneck-sync/tests/replay/pagerduty")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// An incident as `GET /incidents` lists it: resolved at `resolved` if given.
pub fn incident(service: &str, n: u64, created: &str, resolved: Option<&str>) -> Value {
    let mut i = read("incident.json");
    let id = format!("PINC{n:03}");
    i["id"] = json!(id);
    i["incident_number"] = json!(n);
    i["title"] = json!(format!("The server is on fire ({n})."));
    i["summary"] = json!(format!("[#{n}] The server is on fire ({n})."));
    i["self"] = json!(format!("https://api.pagerduty.com/incidents/{id}"));
    i["html_url"] = json!(format!("https://subdomain.pagerduty.com/incidents/{id}"));
    i["incident_key"] = json!(format!("key-{n}"));
    i["service"]["id"] = json!(service);
    i["created_at"] = json!(created);
    i["status"] = json!(if resolved.is_some() {
        "resolved"
    } else {
        "triggered"
    });
    i["resolved_at"] = json!(resolved);
    i["last_status_change_at"] = json!(resolved.unwrap_or(created));
    i["updated_at"] = json!(resolved.unwrap_or(created));
    i
}

/// A log entry of `kind` (`trigger`, `acknowledge`, `resolve`) at `at`.
pub fn log_entry(incident: &str, n: u64, kind: &str, at: &str) -> Value {
    let mut e = read("log_entry.json");
    e["id"] = json!(format!("Q{incident}{n}"));
    e["type"] = json!(format!("{kind}_log_entry"));
    e["summary"] = json!(format!("{kind} of {incident}"));
    e["created_at"] = json!(at);
    e["incident"]["id"] = json!(incident);
    e
}

/// A service's history: incidents newest first, each with its log entries
/// (newest first, as PagerDuty lists them).
pub struct Service {
    pub id: String,
    pub incidents: Vec<(Value, Vec<Value>)>,
}

/// Three resolved incidents (triggered, acknowledged, resolved) and one
/// still open, in March 2025.
pub fn sample(service: &str) -> Service {
    let mut incidents = Vec::new();
    for n in (1..=4u64).rev() {
        let day = 3 * n;
        let created = format!("2025-03-{day:02}T10:00:00Z");
        let acked = format!("2025-03-{day:02}T10:07:00Z");
        let resolved = format!("2025-03-{day:02}T11:30:00Z");
        let open = n == 4;
        let i = incident(service, n, &created, (!open).then_some(resolved.as_str()));
        let id = i["id"].as_str().unwrap().to_owned();
        let mut entries = Vec::new();
        if !open {
            entries.push(log_entry(&id, 3, "resolve", &resolved));
        }
        entries.push(log_entry(&id, 2, "acknowledge", &acked));
        entries.push(log_entry(&id, 1, "trigger", &created));
        incidents.push((i, entries));
    }
    Service {
        id: service.to_owned(),
        incidents,
    }
}

/// PagerDuty's rate-limit headers: the IETF draft's, the reset in seconds
/// from now.
pub fn budget(response: Response, remaining: u64, reset_in: u64) -> Response {
    let mut r = response;
    r.headers
        .retain(|(k, _)| !k.to_ascii_lowercase().starts_with("ratelimit-"));
    r.header("ratelimit-limit", "960")
        .header("ratelimit-remaining", &remaining.to_string())
        .header("ratelimit-reset", &reset_in.to_string())
}

/// Pages of `per_page` under `key`, with `offset`, `limit` and `more`.
pub fn pages(first: &str, key: &str, items: &[Value], per_page: usize) -> Vec<(String, Response)> {
    let chunks: Vec<&[Value]> = if items.is_empty() {
        vec![&[]]
    } else {
        items.chunks(per_page).collect()
    };
    let last = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let offset = (i * per_page) as u64;
            let target = if i == 0 { first.to_owned() } else { with_query(first, "offset", offset) };
            let body = json!({key: chunk, "limit": per_page, "offset": offset, "more": i + 1 < last, "total": null});
            (target, budget(Response::json(200, &body), 900 - i as u64, 30))
        })
        .collect()
}

/// The first page of the service's incidents.
pub fn incidents_url(service: &str) -> String {
    nextneck_sync::pagerduty::incidents_url("", service)
}

pub fn log_entries_url(incident: &str) -> String {
    format!("/incidents/{incident}/log_entries?time_zone=UTC&limit=100&offset=0")
}

/// Serves `service` in pages of `per_page`.
pub fn serve(replay: &Replay, service: &Service, per_page: usize) {
    let items: Vec<Value> = service.incidents.iter().map(|(i, _)| i.clone()).collect();
    for (t, r) in pages(&incidents_url(&service.id), "incidents", &items, per_page) {
        replay.on(&t, vec![r]);
    }
    for (i, entries) in &service.incidents {
        let id = i["id"].as_str().unwrap();
        for (t, r) in pages(&log_entries_url(id), "log_entries", entries, per_page) {
            replay.on(&t, vec![r]);
        }
    }
}
