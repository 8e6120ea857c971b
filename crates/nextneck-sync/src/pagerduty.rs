//! PagerDuty's REST API v2: a service's incidents, each with its
//! `log_entries` (triggers, acknowledgements, escalations, resolutions),
//! newest first down to a floor. Pages are PagerDuty's classic offset
//! pagination (`offset`, `limit`, `more`), which PagerDuty answers up to an
//! offset of 10,000 incidents.
//!
//! Incidents are listed by creation (`sort_by=created_at:desc`,
//! `date_range=all`, the floor applied here); an incident not yet resolved
//! can still change, so the next floor is the creation of the oldest one
//! not resolved, at most [`crate::walk::LOOKBACK_DAYS`] before the newest
//! ([`Horizon`]). Cursor: `pagerduty:SERVICE:incidents`.

use jiff::Timestamp;
use serde_json::Value;

use crate::Target;
use crate::client::{Client, SyncError};
use crate::walk::{Counts, Horizon, Paging, Walk, attach, bad, fetch_all, time_at};

/// Syncs one service's incidents with their log entries into `target`;
/// `progress` hears the counts after every page.
pub fn sync_service(
    client: &mut Client,
    target: &mut dyn Target,
    service: &str,
    since: Option<Timestamp>,
    counts: &mut Counts,
    progress: &mut dyn FnMut(&str, &Counts),
) -> Result<(), SyncError> {
    let api = client.api_url().to_owned();
    let mut walk = Walk {
        client,
        target,
        scope: format!("pagerduty:{service}"),
        since,
        counts,
        progress,
    };
    let floor = walk.floor_of("incidents")?;
    let first = incidents_url(&api, service);
    let mut horizon = Horizon::default();
    let paging = Paging::Offset("incidents");
    walk.walk_list(
        &first,
        paging,
        floor,
        "created_at",
        "incidents",
        |walk, mut i| {
            let id = i
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&first, "has an incident without an id"))?
                .to_owned();
            let entries = fetch_all(
                walk.client,
                &format!("{api}/incidents/{id}/log_entries?time_zone=UTC&limit=100&offset=0"),
                Paging::Offset("log_entries"),
            )?;
            let resolved = i.get("status").and_then(Value::as_str) == Some("resolved");
            horizon.see(time_at(&i, "created_at"), resolved);
            walk.counts.incidents += 1;
            walk.counts.log_entries += entries.len() as u64;
            attach(&mut i, "log_entries", entries);
            Ok(i)
        },
    )?;
    match horizon.floor() {
        Some(f) => walk.save("incidents", f, None),
        None => Ok(()),
    }
}

/// The first page of a service's incidents, newest first, of all time.
pub fn incidents_url(api: &str, service: &str) -> String {
    format!(
        "{api}/incidents?service_ids%5B%5D={service}&date_range=all&sort_by=created_at%3Adesc&time_zone=UTC&limit=100&offset=0"
    )
}
