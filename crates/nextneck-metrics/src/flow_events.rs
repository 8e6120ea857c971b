//! Value streams from stored events: the event store's `stage_transition`
//! events (the generic `stage.transition` of `POST /hooks/events` and
//! `nextneck import events`) and Jira issues' status changes become one
//! [`EventLog`] per stream, in the transitions model, so that `flow --db`,
//! `forecast --db` and the server compute exactly what `flow FILE` computes
//! for the same rows.
//!
//! `docs/metrics.md` ("Value streams from the event store") is the
//! definition:
//!
//! * a `stage_transition` is a row of its `stream`: item `item` entered
//!   `stage` at `at`. Observations with the same `(stream, id)` are one
//!   transition (a re-sent or re-imported event is not counted twice); the
//!   latest observation (highest delivery, then position) wins, so a
//!   corrected re-send replaces the original;
//! * a Jira issue's status change is a row of the stream `jira:PROJECT`
//!   (the key's part before the last `-`): the issue entered `to` at the
//!   change's time. Its creation (a Jira issue observation with a creation
//!   time) is an entry into its first status: the `from` of its earliest
//!   change, else the status observed. The same change observed twice (the
//!   same issue, time and status) counts once.
//!
//! Rows are ordered by time, then by the order the store received them
//! (delivery, position), as a file's rows are ordered by time, then line.

use std::collections::{BTreeMap, HashMap};

use nextneck_model::Timestamp;
use nextneck_model::events::{EventBody, TracedEvent};
use nextneck_model::flow::{self, EventLog, NO_TIME, SourceFile};

/// The kinds of stored events streams are built from.
pub const KINDS: &[&str] = &["stage_transition", "issue", "issue_status_change"];

/// The name of the stream a Jira issue key belongs to: `jira:PROJ` for
/// `PROJ-12`.
pub fn jira_stream(key: &str) -> String {
    let project = key.rsplit_once('-').map_or(key, |(p, _)| p);
    format!("jira:{project}")
}

/// A Jira issue's creation time, the status of its latest observation, and
/// that observation's place in the store.
type Created<'a> = (Timestamp, Option<&'a str>, (i64, u32));

/// One row before interning: its order key and what it says.
struct Row<'a> {
    at: Timestamp,
    order: (i64, u32),
    item: &'a str,
    stage: &'a str,
}

/// Every stream the events hold, by name, each as a transitions log whose
/// single source is named `source` (for example the store's URL).
pub fn stream_logs(events: &[TracedEvent<'_>], source: &str) -> BTreeMap<String, EventLog> {
    let observed = Observed::of(events);
    observed
        .rows_by_stream()
        .into_iter()
        .map(|(name, rows)| (name, transitions_log(rows, source)))
        .collect()
}

/// What the events say about stages, merged per thing.
#[derive(Default)]
struct Observed<'a> {
    /// (stream, id) -> the latest observation.
    transitions: HashMap<(&'a str, &'a str), Row<'a>>,
    /// (issue, at, to) -> first observation.
    changes: HashMap<(&'a str, Timestamp, &'a str), (i64, u32)>,
    /// Per issue the earliest change's from.
    first_from: HashMap<&'a str, (Timestamp, Option<&'a str>)>,
    /// issue -> (created, the status of its latest observation, that
    /// observation).
    created: HashMap<&'a str, Created<'a>>,
}

impl<'a> Observed<'a> {
    /// Stage transitions, and Jira's status changes and issues, merged.
    fn of(events: &'a [TracedEvent<'_>]) -> Observed<'a> {
        let Observed {
            mut transitions,
            mut changes,
            mut first_from,
            mut created,
        } = Observed::default();
        for t in events {
            let order = (t.delivery_id, t.seq);
            match &t.event.body {
                EventBody::StageTransition(s) => {
                    let Some(at) = t.event.at else { continue };
                    let row = Row {
                        at,
                        order,
                        item: &s.item,
                        stage: &s.stage,
                    };
                    match transitions.entry((s.stream.as_str(), s.id.as_str())) {
                        std::collections::hash_map::Entry::Occupied(mut o) => {
                            if o.get().order < order {
                                o.insert(row);
                            }
                        }
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert(row);
                        }
                    }
                }
                EventBody::IssueStatusChange(c) if t.event.source == "jira" => {
                    let Some(at) = t.event.at else { continue };
                    let e = changes
                        .entry((c.issue_id.as_str(), at, c.to.as_str()))
                        .or_insert(order);
                    *e = (*e).min(order);
                    let from = c.from.as_deref();
                    let f = first_from.entry(c.issue_id.as_str()).or_insert((at, from));
                    if at < f.0 {
                        *f = (at, from);
                    }
                }
                EventBody::Issue(i) if t.event.source == "jira" => {
                    if let Some(at) = i.created_at {
                        let e = created.entry(i.id.as_str()).or_insert((
                            at,
                            i.status.as_deref(),
                            order,
                        ));
                        if order >= e.2 {
                            *e = (at, i.status.as_deref().or(e.1), order);
                        }
                    }
                }
                _ => {}
            }
        }
        Observed {
            transitions,
            changes,
            first_from,
            created,
        }
    }

    /// Each stream's rows, unsorted: the transitions' latest observations,
    /// Jira's status changes, and each Jira issue's first status at its
    /// creation.
    fn rows_by_stream(self) -> BTreeMap<String, Vec<Row<'a>>> {
        let Observed {
            transitions,
            changes,
            first_from,
            created,
        } = self;
        let mut streams: BTreeMap<String, Vec<Row<'a>>> = BTreeMap::new();
        for ((stream, _), row) in transitions {
            streams.entry(stream.to_owned()).or_default().push(row);
        }
        for ((issue, at, to), order) in &changes {
            streams.entry(jira_stream(issue)).or_default().push(Row {
                at: *at,
                order: *order,
                item: issue,
                stage: to,
            });
        }
        for (issue, (at, status, _)) in &created {
            // Its first status: the `from` of its earliest change, else (no
            // change seen) the status observed.
            let first = match first_from.get(issue) {
                Some((_, from)) => *from,
                None => *status,
            };
            if let Some(stage) = first {
                // The creation sorts before a change at the same second.
                streams.entry(jira_stream(issue)).or_default().push(Row {
                    at: *at,
                    order: (i64::MIN, 0),
                    item: issue,
                    stage,
                });
            }
        }
        streams
    }
}

/// A stream's rows as a transitions log, in time order (then observation
/// order), whose single source is named `source`.
fn transitions_log(mut rows: Vec<Row<'_>>, source: &str) -> EventLog {
    rows.sort_by_key(|r| (r.at, r.order));
    let mut log = EventLog::default();
    for r in &rows {
        let case = log.cases.intern(r.item);
        let stage = log.stages.intern(r.stage);
        log.events.push(flow::Event {
            start: NO_TIME,
            time: r.at,
            case,
            stage,
        });
    }
    log.sources.push(SourceFile {
        path: source.to_owned(),
        events: log.events.len(),
        skipped_lifecycle: 0,
    });
    log
}

#[cfg(test)]
mod tests {
    use nextneck_model::events::{Event, Issue, IssueStatusChange, StageTransition};

    use super::*;

    fn transition(stream: &str, id: &str, item: &str, stage: &str, at: Timestamp) -> Event {
        Event {
            source: "events".into(),
            at: Some(at),
            body: EventBody::StageTransition(StageTransition {
                id: id.into(),
                stream: stream.into(),
                item: item.into(),
                stage: stage.into(),
            }),
        }
    }

    fn change(issue: &str, from: Option<&str>, to: &str, at: Timestamp) -> Event {
        Event {
            source: "jira".into(),
            at: Some(at),
            body: EventBody::IssueStatusChange(IssueStatusChange {
                issue_id: issue.into(),
                from: from.map(Into::into),
                to: to.into(),
                by: None,
            }),
        }
    }

    fn issue(key: &str, status: &str, created: Timestamp) -> Event {
        Event {
            source: "jira".into(),
            at: Some(created),
            body: EventBody::Issue(Issue {
                id: key.into(),
                project: None,
                issue_type: None,
                title: None,
                description: None,
                labels: Vec::new(),
                status: Some(status.into()),
                status_category: None,
                action: None,
                author: None,
                created_at: Some(created),
                closed_at: None,
            }),
        }
    }

    /// Events in store order (one delivery each) → per stream, its rows as
    /// `item stage time`.
    fn check(events: &[Event], expected: &[(&str, &[&str])]) {
        let traced: Vec<TracedEvent<'_>> = events
            .iter()
            .enumerate()
            .map(|(i, event)| TracedEvent {
                delivery_id: i as i64 + 1,
                seq: 0,
                event,
            })
            .collect();
        let logs = stream_logs(&traced, "sqlite:x.db");
        let got: Vec<(String, Vec<String>)> = logs
            .iter()
            .map(|(name, log)| {
                assert_eq!(log.sources[0].path, "sqlite:x.db");
                assert_eq!(log.sources[0].events, log.events.len());
                let rows = log
                    .events
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {} {}",
                            log.cases.get(e.case),
                            log.stages.get(e.stage),
                            e.time
                        )
                    })
                    .collect();
                (name.clone(), rows)
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(n, rows)| (n.to_string(), rows.iter().map(|r| r.to_string()).collect()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn transitions_group_by_stream_and_sort_by_time() {
        check(
            &[
                transition("hiring", "1", "c1", "screen", 20),
                transition("sales", "1", "d1", "new", 5),
                transition("hiring", "2", "c1", "applied", 10),
                transition("hiring", "3", "c2", "applied", 10),
            ],
            &[
                (
                    "hiring",
                    &["c1 applied 10", "c2 applied 10", "c1 screen 20"],
                ),
                ("sales", &["d1 new 5"]),
            ],
        );
    }

    #[test]
    fn a_resent_transition_counts_once_and_the_latest_wins() {
        check(
            &[
                transition("hiring", "t1", "c1", "applied", 10),
                transition("hiring", "t2", "c1", "screen", 20),
                // The same id again (a retry, or a re-import): one row.
                transition("hiring", "t1", "c1", "applied", 10),
                // A correction of t2's time.
                transition("hiring", "t2", "c1", "screen", 25),
            ],
            &[("hiring", &["c1 applied 10", "c1 screen 25"])],
        );
    }

    #[test]
    fn equal_times_keep_the_order_received() {
        check(
            &[
                transition("s", "a", "i", "b", 10),
                transition("s", "b", "i", "a", 10),
            ],
            &[("s", &["i b 10", "i a 10"])],
        );
    }

    #[test]
    fn jira_changes_make_a_stream_per_project_from_the_first_status() {
        check(
            &[
                issue("OPS-7", "In Progress", 100),
                change("OPS-7", Some("To Do"), "In Progress", 150),
                change("OPS-7", Some("In Progress"), "Done", 300),
                // Seen twice (webhook and export): once.
                change("OPS-7", Some("To Do"), "In Progress", 150),
                // A later observation of the issue does not move its creation.
                issue("OPS-7", "Done", 100),
                // No change seen: its observed status from creation.
                issue("WEB-1", "To Do", 50),
                // A change without its issue: the changes alone.
                change("MY-PROJ-3", None, "Review", 70),
            ],
            &[
                ("jira:MY-PROJ", &["MY-PROJ-3 Review 70"]),
                (
                    "jira:OPS",
                    &["OPS-7 To Do 100", "OPS-7 In Progress 150", "OPS-7 Done 300"],
                ),
                ("jira:WEB", &["WEB-1 To Do 50"]),
            ],
        );
    }

    #[test]
    fn other_sources_and_kinds_make_no_stream() {
        let mut github = issue("o/r#1", "open", 10);
        github.source = "github".into();
        check(&[github], &[]);
    }
}
