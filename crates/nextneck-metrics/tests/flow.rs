//! The flow rules of docs/metrics.md ("Value streams"), pinned on hand-made
//! logs whose answers are worked out in the comments.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_metrics::flow::{FlowReport, FlowSettings, Model, ModelChoice, flow_report, overview};
use nextneck_metrics::git::WindowSpec;
use nextneck_model::flow::{Event, EventLog, NO_TIME, Shape};
use serde_json::{Value, json};

/// 2024-03-01T00:00:00Z.
const BASE: i64 = 1_709_251_200;
const H: i64 = 3600;

/// Builds a log from `case stage [start-]time` lines, times in hours after
/// BASE (`-` for none: `3-` is a start without completion, `-4` a
/// completion without start).
fn log(text: &str, shape: Shape) -> EventLog {
    let mut log = EventLog {
        shape,
        ..EventLog::default()
    };
    let t = |s: &str| {
        if s.is_empty() {
            NO_TIME
        } else {
            BASE + (s.parse::<f64>().unwrap() * H as f64) as i64
        }
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (case, time) = (parts[0], parts[parts.len() - 1]);
        let stage = parts[1..parts.len() - 1].join(" ");
        let (start, time) = match time.split_once('-') {
            Some((s, c)) => (t(s), t(c)),
            None => (NO_TIME, t(time)),
        };
        let case = log.cases.intern(case);
        let stage = log.stages.intern(&stage);
        log.events.push(Event {
            start,
            time,
            case,
            stage,
        });
    }
    log
}

fn all(mut s: FlowSettings) -> FlowSettings {
    s.window = WindowSpec::All;
    s
}

fn json_of(r: &FlowReport) -> Value {
    serde_json::to_value(r).unwrap()
}

/// The testkit's strict `check` over the report's JSON.
fn check(report: &FlowReport, expected: &[(&str, Value)]) {
    nextneck_testkit::check(&json_of(report), expected);
}

/// The testkit's `check_absent` over the report's JSON.
fn check_absent(report: &FlowReport, pointers: &[&str]) {
    nextneck_testkit::check_absent(&json_of(report), pointers);
}

/// Rows out of order on purpose; A returns to "doing"; B enters "doing"
/// and "done" at the same time; C is still in progress.
const TRANSITIONS: &str = "
    C doing 8
    A done 10
    A new 0
    B new 1
    A doing 2
    C new 3
    B doing 4
    B done 4
    A review 5
    A doing 6
";

#[test]
fn transitions_model() {
    let r = flow_report(
        &log(TRANSITIONS, Shape::default()),
        &all(FlowSettings::new("t")),
    )
    .unwrap();
    // Stays: A new 2h, doing 3h, review 1h, doing 4h, then done at 10h
    // (flow time 10h). B new 3h, doing 0h (equal times keep input order:
    // doing before done), done at 4h (flow time 3h). C new 5h, doing open.
    // new: 2, 3, 5 -> median 3h, p85 at rank 1.7 = 3 + 0.7 * 2 = 4.4h, total 10h.
    // doing: 3, 4, 0 -> median 3h, p85 = 3 + 0.7 * 1 = 3.7h, total 7h.
    // review: 1h. All: 18h.
    // Window: the day 2024-03-01 (1 day = 1/7 week).
    check(
        &r,
        &[
            ("/kind", json!("flow")),
            ("/model", json!("transitions")),
            ("/window/since", json!("2024-03-01T00:00:00Z")),
            ("/window/until", json!("2024-03-02T00:00:00Z")),
            ("/now", json!("2024-03-01T10:00:00Z")),
            ("/done_stages", json!([{"name": "done", "reason": "name"}])),
            ("/stages/0/name", json!("new")),
            ("/stages/0/count", json!(3)),
            ("/stages/0/median_seconds", json!(3 * H)),
            ("/stages/0/p85_seconds", json!(4.4 * H as f64)),
            ("/stages/0/total_seconds", json!(10 * H)),
            ("/stages/0/share", json!(10.0 / 18.0)),
            ("/stages/0/net_flow_per_week", json!(0.0)),
            ("/stages/1/name", json!("doing")),
            ("/stages/1/count", json!(3)),
            ("/stages/1/median_seconds", json!(3 * H)),
            ("/stages/1/p85_seconds", json!(3.7 * H as f64)),
            ("/stages/1/share", json!(7.0 / 18.0)),
            ("/stages/1/wip", json!(1)),
            // doing: entered 4 times (A twice, B, C), left 3 times: +1 a day.
            ("/stages/1/net_flow_per_week", json!(7.0)),
            ("/stages/2/name", json!("review")),
            ("/stages/2/median_seconds", json!(H)),
            ("/bottleneck/stage", json!("new")),
            ("/bottleneck/share", json!(10.0 / 18.0)),
            ("/bottleneck/evidence/wait_median_seconds", json!(3 * H)),
            ("/bottleneck/evidence/queue_growing", json!(false)),
            ("/bottleneck/evidence/trend", Value::Null),
            ("/bottleneck/next/stage", json!("doing")),
            ("/bottleneck/next/share", json!(7.0 / 18.0)),
            ("/flow/arrived", json!(3)),
            ("/flow/completed", json!(2)),
            ("/flow/wip", json!(1)),
            ("/flow/throughput_per_week", json!(14.0)),
            ("/flow/net_flow_per_week", json!(7.0)),
            // Flow times 3h and 10h: median 6.5h, p85 3 + 0.85 * 7 = 8.95h.
            ("/flow/flow_time/median_seconds", json!(6.5 * H as f64)),
            ("/flow/flow_time/p85_seconds", json!(8.95 * H as f64)),
            // C is 7h old: not older than 8.95h.
            ("/flow/aging/items", json!(0)),
            ("/flow/efficiency", Value::Null),
            ("/flow/oldest_wip/0/case", json!("C")),
            ("/flow/oldest_wip/0/stage", json!("doing")),
            ("/flow/oldest_wip/0/age_seconds", json!(7 * H)),
            ("/flow/oldest_wip/0/stage_age_seconds", json!(2 * H)),
            ("/cfd/stages", json!(["new", "doing", "review"])),
            (
                "/cfd/days",
                json!([{"date": "2024-03-01", "counts": [0, 1, 0], "done": 2}]),
            ),
            ("/scatter/0/case", json!("B")),
            ("/scatter/0/finished", json!("2024-03-01T04:00:00Z")),
            ("/scatter/0/flow_time_seconds", json!(3 * H)),
            ("/scatter/1/case", json!("A")),
            ("/scatter/1/flow_time_seconds", json!(10 * H)),
            ("/notices/0/code", json!("no_stage_categories")),
        ],
    );
    check_absent(&r, &["/stages/3", "/stages/0/wait_median_seconds"]);
}

#[test]
fn now_cuts_the_log() {
    let mut s = all(FlowSettings::new("t"));
    s.now = Some(BASE + 5 * H);
    let r = flow_report(&log(TRANSITIONS, Shape::default()), &s).unwrap();
    // At 5h: A is in review (since 5h), B finished at 4h, C is in new.
    // Left out: A doing 6, A done 10, C doing 8.
    check(
        &r,
        &[
            ("/flow/completed", json!(1)),
            ("/flow/wip", json!(2)),
            ("/flow/oldest_wip/0/case", json!("A")),
            ("/flow/oldest_wip/0/stage", json!("review")),
            ("/flow/oldest_wip/1/case", json!("C")),
            ("/flow/oldest_wip/1/stage", json!("new")),
            // Flow time 3h; A is 5h old: aging.
            ("/flow/aging/items", json!(1)),
            ("/flow/aging/threshold_seconds", json!(3 * H)),
            ("/notices/0/code", json!("events_after_now")),
            (
                "/notices/0/message",
                json!("3 events after now (2024-03-01T05:00:00Z) were left out"),
            ),
        ],
    );
}

#[test]
fn reopened_items_and_done_runs() {
    // D: resolved, reopened, resolved again, closed. The flow ends at the
    // first stage of the final run of done stages (resolved at 5h). Time in
    // done stages is not counted (the first resolved stay, closed).
    let text = "
        D open 0
        D resolved 1
        D reopened 2
        D resolved 5
        D closed 6
        E open 0
        E reopened 1
    ";
    let r = flow_report(&log(text, Shape::default()), &all(FlowSettings::new("t"))).unwrap();
    check(
        &r,
        &[
            ("/flow/completed", json!(1)),
            ("/flow/flow_time/median_seconds", json!(5 * H)),
            ("/stages/0/name", json!("open")),
            ("/stages/0/total_seconds", json!(2 * H)),
            ("/stages/1/name", json!("reopened")),
            ("/stages/1/count", json!(1)),
            ("/stages/1/total_seconds", json!(3 * H)),
            ("/stages/1/wip", json!(1)),
            ("/flow/wip", json!(1)),
            (
                "/done_stages",
                json!([{"name": "resolved", "reason": "name"}, {"name": "closed", "reason": "name"}]),
            ),
        ],
    );
    check_absent(&r, &["/stages/2"]);
}

#[test]
fn done_stages_configured_or_never_left() {
    // "offer accepted" is no default name, but nobody leaves it.
    let text = "
        1 applied 0
        1 interview 1
        1 offer accepted 3
        2 applied 0
        2 interview 2
    ";
    let r = flow_report(&log(text, Shape::default()), &all(FlowSettings::new("h"))).unwrap();
    check(
        &r,
        &[
            (
                "/done_stages",
                json!([{"name": "offer accepted", "reason": "never_left"}]),
            ),
            ("/flow/completed", json!(1)),
            ("/notices/0/code", json!("done_never_left")),
            (
                "/notices/0/message",
                json!(
                    "\"offer accepted\" counted as done because no item ever leaves it; name the done stages with --done if that is wrong"
                ),
            ),
        ],
    );
    // Configured: "Interview" (any case) is done too; the defaults are off.
    let mut s = all(FlowSettings::new("h"));
    s.done = vec!["Interview".into()];
    let r = flow_report(&log(text, Shape::default()), &s).unwrap();
    // Item 1: interview (done) then offer accepted (done): finished at 1h.
    check(
        &r,
        &[
            (
                "/done_stages",
                json!([{"name": "interview", "reason": "configured"}, {"name": "offer accepted", "reason": "never_left"}]),
            ),
            ("/flow/completed", json!(2)),
            ("/flow/flow_time/median_seconds", json!(1.5 * H as f64)),
        ],
    );
    s.done = vec!["nope".into()];
    let err = flow_report(&log(text, Shape::default()), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--done \"nope\" is not a stage of the log; the stages are \"applied\", \"interview\", \"offer accepted\""
    );
}

#[test]
fn stage_categories_give_flow_efficiency() {
    let mut s = all(FlowSettings::new("t"));
    s.active = vec!["doing".into(), "review".into()];
    s.wait = vec!["new".into()];
    let r = flow_report(&log(TRANSITIONS, Shape::default()), &s).unwrap();
    // active 7h + 1h, wait 10h.
    check(
        &r,
        &[
            ("/flow/efficiency/basis", json!("stage_categories")),
            ("/flow/efficiency/ratio", json!(8.0 / 18.0)),
            ("/flow/efficiency/active_seconds", json!(8 * H)),
            ("/flow/efficiency/wait_seconds", json!(10 * H)),
            ("/stages/0/category", json!("wait")),
            ("/stages/1/category", json!("active")),
        ],
    );
}

/// Case 1: Register 0-1, Check 3-4, Decide completed at 6 (no start).
/// Case 2: Register 1-2, Check 2-3 and Review 2-5 in parallel, Decide at 7.
const LIFECYCLE: &str = "
    1 Register 0-
    1 Register -1
    1 Check 3-
    1 Check -4
    1 Decide -6
    2 Register 1-
    2 Register -2
    2 Check 2-
    2 Review 2-
    2 Review -5
    2 Check -3
    2 Decide -7
";

const INTERVALS: &str = "
    2 Review 2-5
    1 Register 0-1
    1 Check 3-4
    1 Decide -6
    2 Register 1-2
    2 Check 2-3
    2 Decide -7
";

#[test]
fn activities_model() {
    // By completion: case 1 Register (service 1h, no wait: first), Check
    // (wait 3 - 1 = 2h, service 1h, time 3h), Decide (wait 6 - 4 = 2h).
    // Case 2: Register 1h; Check wait 0, service 1h; Review started at 2,
    // before Check completed at 3: wait 0, service 3h, time 3 -> 5 = 2h;
    // Decide wait 2h.
    // Time: Register 1, 1 (2h); Check 3, 1 (4h); Review 2 (2h); Decide 2, 2 (4h).
    // Check and Decide tie at 1/3: Check is earlier in flow order.
    // Decide is done: nothing ever follows it.
    let shapes = [
        (
            LIFECYCLE,
            Shape {
                lifecycle: true,
                ..Shape::default()
            },
        ),
        (
            INTERVALS,
            Shape {
                start_times: true,
                ..Shape::default()
            },
        ),
    ];
    for (text, shape) in shapes {
        let r = flow_report(&log(text, shape), &all(FlowSettings::new("a"))).unwrap();
        check(
            &r,
            &[
                ("/model", json!("activities")),
                (
                    "/done_stages",
                    json!([{"name": "Decide", "reason": "never_left"}]),
                ),
                ("/stages/0/name", json!("Register")),
                ("/stages/0/count", json!(2)),
                ("/stages/0/median_seconds", json!(H)),
                ("/stages/0/wait_median_seconds", Value::Null),
                ("/stages/0/service_median_seconds", json!(H)),
                ("/stages/1/name", json!("Check")),
                ("/stages/1/median_seconds", json!(2 * H)),
                ("/stages/1/total_seconds", json!(4 * H)),
                ("/stages/1/wait_median_seconds", json!(H)),
                ("/stages/1/service_median_seconds", json!(H)),
                ("/stages/2/name", json!("Review")),
                ("/stages/2/median_seconds", json!(2 * H)),
                ("/stages/2/wait_median_seconds", json!(0)),
                ("/stages/2/service_median_seconds", json!(3 * H)),
                ("/stages/3/name", json!("Decide")),
                ("/stages/3/wait_median_seconds", json!(2 * H)),
                ("/stages/3/service_median_seconds", Value::Null),
                ("/stages/3/share", json!(1.0 / 3.0)),
                ("/bottleneck/stage", json!("Check")),
                ("/bottleneck/evidence/wait_median_seconds", json!(H)),
                ("/bottleneck/next/stage", json!("Decide")),
                ("/flow/completed", json!(2)),
                ("/flow/flow_time/median_seconds", json!(6 * H)),
                // Service 1 + 1 + 1 + 1 + 3 = 7h; waits of those: 2 + 0 + 0 = 2h.
                ("/flow/efficiency/basis", json!("service_wait")),
                ("/flow/efficiency/ratio", json!(7.0 / 9.0)),
            ],
        );
    }
}

#[test]
fn activities_in_progress_and_admin_lag() {
    // Ticket 1: resolved at 1h, closed at 10h: 90% of its flow time sits
    // after the resolution.
    let text = "
        1 Open 0-0
        1 Resolve ticket 0-1
        1 Closed 10-10
        2 Open 0-0
        2 Resolve ticket 2-
    ";
    let shape = Shape {
        start_times: true,
        ..Shape::default()
    };
    let r = flow_report(&log(text, shape), &all(FlowSettings::new("s"))).unwrap();
    check(
        &r,
        &[
            ("/flow/completed", json!(1)),
            ("/flow/flow_time/median_seconds", json!(10 * H)),
            ("/flow/wip", json!(1)),
            ("/flow/oldest_wip/0/stage", json!("Resolve ticket")),
            ("/stages/1/wip", json!(1)),
            ("/notices/0/code", json!("admin_lag")),
            (
                "/notices/0/message",
                json!(
                    "90% of the flow time of finished items comes after \"Resolve ticket\", which looks like resolution: that is administrative lag, not work; pass --done \"Resolve ticket\" to end the flow there"
                ),
            ),
        ],
    );
    // Ending the flow at the resolution.
    let mut s = all(FlowSettings::new("s"));
    s.done = vec!["resolve ticket".into()];
    let r = flow_report(&log(text, shape), &s).unwrap();
    check(
        &r,
        &[
            ("/flow/completed", json!(1)),
            ("/flow/flow_time/median_seconds", json!(H)),
            ("/notices/0/code", json!("done_never_left")),
            ("/notices/1/code", json!("too_few_for_bottleneck")),
        ],
    );
    check_absent(&r, &["/notices/2"]);
    // Forcing the transitions model on the same log.
    s.model = ModelChoice::Fixed(Model::Transitions);
    let r = flow_report(&log(text, shape), &s).unwrap();
    check(&r, &[("/model", json!("transitions"))]);
}

#[test]
fn window_and_trend() {
    // Two weeks; the window is the second one. X finished in the first
    // week (not counted); Y and Z in the second.
    let d = 24.0;
    let text = format!(
        "
        X a 0
        X b {}
        X done {}
        Y a {}
        Y b {}
        Y done {}
        Z a {}
        Z b {}
        Z done {}
        ",
        d,
        2.0 * d,
        7.0 * d,
        8.0 * d,
        9.0 * d,
        10.0 * d,
        13.0 * d,
        13.5 * d
    );
    let mut s = FlowSettings::new("w");
    s.window = WindowSpec::Range {
        since: Some(BASE + 7 * 86_400),
        until: Some(BASE + 14 * 86_400),
    };
    let r = flow_report(&log(&text, Shape::default()), &s).unwrap();
    // a: Y 1d (exit day 8), Z 3d (exit day 13); b: Y 1d (day 9), Z 0.5d
    // (day 13.5). Halves split at day 10.5: first a 1d, b 1d; second a 3d,
    // b 0.5d. a: 50% then 86%, but one stay in each half is no trend, and
    // two stays are no bottleneck.
    check(
        &r,
        &[
            ("/window/selection", json!("explicit")),
            ("/flow/completed", json!(2)),
            ("/flow/arrived", json!(2)),
            ("/flow/throughput_per_week", json!(2.0)),
            ("/stages/0/name", json!("a")),
            ("/stages/0/count", json!(2)),
            ("/bottleneck/stage", json!("a")),
            ("/bottleneck/evidence/first_half_share", json!(0.5)),
            ("/bottleneck/evidence/second_half_share", json!(3.0 / 3.5)),
            ("/bottleneck/evidence/half_stays", json!([1, 1])),
            ("/bottleneck/evidence/trend", Value::Null),
            ("/bottleneck/too_few_to_call", json!(true)),
            ("/cfd/days/0/date", json!("2024-03-08")),
            // At the end of 2024-03-08 (day 8, 00:00) Y has just entered b;
            // at the end of day 9 it is done; Z enters a at day 10.
            ("/cfd/days/0/counts", json!([0, 1])),
            ("/cfd/days/0/done", json!(0)),
            ("/cfd/days/1/counts", json!([0, 0])),
            ("/cfd/days/1/done", json!(1)),
            ("/cfd/days/2/counts", json!([1, 0])),
            ("/cfd/days/2/done", json!(1)),
        ],
    );
    let summary = json_of(&r)["bottleneck"]["evidence"]["summary"].clone();
    assert_eq!(
        summary,
        json!(
            "a holds 73% of item time (95% interval 50–86%; median 2.0d, p85 2.7d, 2 stays); 2 stays are too few to call it the bottleneck (at least 10 needed); its queue is not growing; no trend: 1 and 1 stays in the window's halves, a trend needs 5 in each; next: b at 27%"
        )
    );
}

/// The trend and bottleneck rules on logs of `n` items in each half of a
/// two-week window: stage a takes 1 h then 3 h, stage b 1 h throughout.
#[test]
fn trends_and_bottlenecks_need_their_minimum_sample() {
    let check_n = |n: usize, trend: Value, too_few: bool| -> Value {
        let mut text = String::new();
        for i in 0..2 * n {
            let (start, a) = if i < n {
                (i as f64 * 2.0, 1.0)
            } else {
                (7.0 * 24.0 + i as f64 * 2.0, 3.0)
            };
            text.push_str(&format!(
                "I{i} a {start}\nI{i} b {}\nI{i} done {}\n",
                start + a,
                start + a + 1.0
            ));
        }
        let mut s = FlowSettings::new("t");
        s.window = WindowSpec::Range {
            since: Some(BASE),
            until: Some(BASE + 14 * 86_400),
        };
        let r = flow_report(&log(&text, Shape::default()), &s).unwrap();
        check(
            &r,
            &[
                ("/bottleneck/stage", json!("a")),
                ("/bottleneck/evidence/half_stays", json!([n, n])),
                ("/bottleneck/evidence/trend", trend),
                ("/bottleneck/too_few_to_call", json!(too_few)),
            ],
        );
        json_of(&r)
    };
    check_n(4, Value::Null, true);
    check_n(5, json!("rising"), false);
    // With 40 stays a holds 2/3 of the time, b 1/3: b is outside a's
    // interval, and the interval holds the share.
    let r = check_n(20, json!("rising"), false);
    assert_eq!(r["bottleneck"]["next"]["within_interval"], json!(false));
    let ci = r["bottleneck"]["share_ci"].as_array().unwrap();
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(lo < 2.0 / 3.0 && 2.0 / 3.0 < hi && lo > 0.5, "{lo} {hi}");
}

#[test]
fn streams_are_ranked_by_their_bottleneck() {
    let a = flow_report(
        &log(TRANSITIONS, Shape::default()),
        &all(FlowSettings::new("delivery")),
    )
    .unwrap();
    let b = flow_report(
        &log("1 x 0\n1 y 10\n1 done 11\n", Shape::default()),
        &all(FlowSettings::new("billing")),
    )
    .unwrap();
    let rows = overview(&[&a, &b]);
    assert_eq!(rows[0].stream, "billing");
    assert_eq!(rows[0].stage.as_deref(), Some("x"));
    assert_eq!(rows[0].rank, 1);
    assert_eq!(rows[1].stream, "delivery");
    assert_eq!(rows[1].median_seconds, Some(3.0 * H as f64));
}

#[test]
fn an_empty_log_is_an_error() {
    let err = flow_report(&EventLog::default(), &FlowSettings::new("x")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the log has no events; check the file and its columns"
    );
}

#[test]
fn stage_medians_carry_their_order_statistic_interval() {
    // Ten items spend 1h, 2h, ..., 10h in "doing" (then done). Sorted, the
    // median's 95 % interval for n = 10 is [x(2), x(9)] = [2h, 9h]
    // (docs/metrics.md); "new" has no stays that end, so none; five items
    // are too few for any interval.
    let ten: String = (1..=10)
        .map(|i| format!("I{i} doing 0\nI{i} done {i}\n"))
        .collect();
    let r = flow_report(&log(&ten, Shape::default()), &all(FlowSettings::new("t"))).unwrap();
    check(
        &r,
        &[
            ("/stages/0/name", json!("doing")),
            ("/stages/0/median_seconds", json!(5.5 * H as f64)),
            (
                "/stages/0/median_ci_seconds",
                json!([(2 * H) as f64, (9 * H) as f64]),
            ),
        ],
    );
    let five: String = (1..=5)
        .map(|i| format!("I{i} doing 0\nI{i} done {i}\n"))
        .collect();
    let r = flow_report(&log(&five, Shape::default()), &all(FlowSettings::new("t"))).unwrap();
    check(&r, &[("/stages/0/median_ci_seconds", Value::Null)]);
}
