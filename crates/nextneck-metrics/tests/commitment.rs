//! The commitment point (`FlowSettings::start`, `--start STAGE`) of
//! docs/metrics.md ("The commitment point"), pinned on hand-made logs whose
//! answers are worked out in the comments.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_metrics::flow::{FlowError, FlowSettings, Model, ModelChoice, flow_report};
use nextneck_metrics::git::WindowSpec;
use nextneck_model::flow::{Event, EventLog, NO_TIME};
use serde_json::{Value, json};

/// 2024-03-01T00:00:00Z.
const BASE: i64 = 1_709_251_200;
const H: i64 = 3600;

/// A log from `case stage [start-]time` lines, times in hours after BASE.
fn log(text: &str) -> EventLog {
    let mut log = EventLog::default();
    let t = |s: &str| {
        if s.is_empty() {
            NO_TIME
        } else {
            BASE + s.parse::<i64>().unwrap() * H
        }
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (start, time) = match parts[2].split_once('-') {
            Some((s, c)) => (t(s), t(c)),
            None => (NO_TIME, t(parts[2])),
        };
        let case = log.cases.intern(parts[0]);
        let stage = log.stages.intern(parts[1]);
        log.events.push(Event {
            start,
            time,
            case,
            stage,
        });
    }
    log
}

fn settings(model: Model, start: Option<&str>) -> FlowSettings {
    let mut s = FlowSettings::new("t");
    s.window = WindowSpec::All;
    s.model = ModelChoice::Fixed(model);
    s.start = start.map(str::to_owned);
    s
}

/// The report's figures that the commitment point changes: per stage
/// `name count total_hours`, arrived, finished, in progress, the flow
/// times' median in hours, the oldest item in progress with its age in
/// hours, and the notice codes.
fn figures(text: &str, model: Model, start: Option<&str>) -> Value {
    let r =
        serde_json::to_value(flow_report(&log(text), &settings(model, start)).unwrap()).unwrap();
    let mut stages: Vec<String> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["name"].as_str().unwrap(),
                s["count"],
                s["total_seconds"].as_f64().unwrap() / H as f64
            )
        })
        .collect();
    stages.sort();
    let flow = &r["flow"];
    json!({
        "stages": stages,
        "arrived": flow["arrived"],
        "completed": flow["completed"],
        "wip": flow["wip"],
        "flow_time_median_hours": flow["flow_time"]["median_seconds"].as_f64().map(|s| s / H as f64),
        "oldest": flow["oldest_wip"].as_array().unwrap().iter().map(|w| {
            format!("{} {}", w["case"].as_str().unwrap(), w["age_seconds"].as_i64().unwrap() / H)
        }).collect::<Vec<_>>(),
        "notices": r["notices"].as_array().unwrap().iter().map(|n| n["code"].clone()).collect::<Vec<_>>(),
    })
}

fn check(text: &str, model: Model, start: Option<&str>, expected: Value) {
    assert_eq!(figures(text, model, start), expected, "start {start:?}");
}

/// A: committed at 10, done at 15. B: committed at 3, sent back to the
/// backlog at 4, committed again at 6, done at 7. C: never committed. D:
/// done without passing "doing". E: committed at 11, in progress.
const BOARD: &str = "
    A backlog 0
    B backlog 1
    C backlog 2
    D backlog 0
    B doing 3
    B backlog 4
    D done 5
    E backlog 5
    B doing 6
    B done 7
    A doing 10
    E doing 11
    A review 12
    A done 15
";

#[test]
fn time_before_the_commitment_point_is_not_flow() {
    // Without it: every item arrives at its first row; backlog holds
    // A 10h, B 2h + 2h, D 5h, E 6h, and C and E are in progress from the
    // start.
    check(
        BOARD,
        Model::Transitions,
        None,
        json!({
            "stages": ["backlog 5 25", "doing 3 4", "review 1 3"],
            "arrived": 5, "completed": 3, "wip": 2,
            "flow_time_median_hours": 6.0,
            "oldest": ["C 13", "E 10"],
            "notices": ["no_stage_categories", "too_few_for_bottleneck"],
        }),
    );
    // With it: A flows 10 -> 15 (doing 2h, review 3h), B 3 -> 7 (doing
    // 1h + 1h, and its 2h back in the backlog after committing count);
    // C is not in the flow, D finished without entering "doing" (left
    // out, with a notice), E is in progress since 11.
    check(
        BOARD,
        Model::Transitions,
        Some("Doing"),
        json!({
            "stages": ["backlog 1 2", "doing 3 4", "review 1 3"],
            "arrived": 3, "completed": 2, "wip": 1,
            "flow_time_median_hours": 4.5,
            "oldest": ["E 4"],
            "notices": ["skipped_start", "no_stage_categories", "too_few_for_bottleneck"],
        }),
    );
}

#[test]
fn stages_before_the_commitment_point_are_not_candidates() {
    // The backlog holds most of the time until the commitment point cuts
    // it off: then it is not a stage of the report at all.
    let text = "
        A backlog 0
        A doing 20
        A done 22
        B backlog 0
        B doing 30
        B done 33
    ";
    let shares = |start: Option<&str>| {
        let r = flow_report(&log(text), &settings(Model::Transitions, start)).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {:.2}",
                    s["name"].as_str().unwrap(),
                    s["share"].as_f64().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shares(None), ["backlog 0.91", "doing 0.09"]);
    assert_eq!(shares(Some("doing")), ["doing 1.00"]);
}

#[test]
fn the_commitment_point_of_activities() {
    // X: triage 0-1, build 2-5, test 5-6 (done: nobody leaves it). Y:
    // triage 0-2, build started at 3 and open. From "build": X flows 2 ->
    // 6; Y arrived at 3; triage is not flow.
    let text = "
        X triage 0-1
        Y triage 0-2
        X build 2-5
        Y build 3-
        X test 5-6
    ";
    check(
        text,
        Model::Activities,
        None,
        json!({
            "stages": ["build 1 4", "test 1 1", "triage 2 3"],
            "arrived": 2, "completed": 1, "wip": 1,
            "flow_time_median_hours": 6.0,
            "oldest": ["Y 6"],
            "notices": ["done_never_left", "too_few_for_bottleneck"],
        }),
    );
    check(
        text,
        Model::Activities,
        Some("build"),
        json!({
            "stages": ["build 1 3", "test 1 1"],
            "arrived": 2, "completed": 1, "wip": 1,
            "flow_time_median_hours": 4.0,
            "oldest": ["Y 3"],
            "notices": ["done_never_left", "too_few_for_bottleneck"],
        }),
    );
}

#[test]
fn an_unknown_commitment_point_is_an_error() {
    let e = flow_report(&log(BOARD), &settings(Model::Transitions, Some("ready"))).unwrap_err();
    assert!(
        matches!(
            e,
            FlowError::UnknownStage {
                what: "--start",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "--start \"ready\" is not a stage of the log; the stages are \"backlog\", \"doing\", \"done\", \"review\""
    );
}
