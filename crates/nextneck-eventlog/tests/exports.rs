//! The exports teams already have: the wide layout, Jira's issue CSV and
//! REST search with the changelog, Trello's board export, and times in a
//! local format; with errors that name the file, line and field.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use nextneck_eventlog::{ReadOptions, RowLayout, read};
use nextneck_model::flow::EventLog;

/// 2024-03-01T00:00:00Z.
const BASE: i64 = 1_709_251_200;

/// `case stage time type` per event, the time in minutes after BASE.
fn rows(log: &EventLog) -> Vec<String> {
    log.events
        .iter()
        .map(|e| {
            let ty = log
                .case_types
                .get(e.case as usize)
                .filter(|&&t| t != nextneck_model::flow::NO_NAME)
                .map_or("-", |&t| log.types.get(t));
            format!(
                "{} {} {} {ty}",
                log.cases.get(e.case),
                log.stages.get(e.stage),
                (e.time - BASE) / 60
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn check(name: &str, content: &str, options: &ReadOptions, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, content);
    let log = read(&[path], options).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(rows(&log), expected, "{name}");
}

fn check_err(name: &str, content: &str, options: &ReadOptions, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, content);
    let err = read(std::slice::from_ref(&path), options)
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("{}{expected}", path.display()), "{name}");
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn with_format(format: &str) -> ReadOptions {
    ReadOptions {
        time_format: Some(format.to_owned()),
        ..opts()
    }
}

#[test]
fn wide_layout() {
    // ActionableAgile's layout: id, other columns, a date per stage, type.
    check(
        "wide.csv",
        "ID,Link,Name,Backlog,Doing,Done,Type\n\
         F-1,http://x/1,One,2024-03-01,2024-03-02,2024-03-04,Defect\n\
         F-2,http://x/2,Two,2024-03-02,,,Feature\n\
         F-3,http://x/3,Three,,2024-03-03T12:00:00Z,,\n\
         \n",
        &opts(),
        &[
            "F-1 Backlog 0 Defect",
            "F-1 Doing 1440 Defect",
            "F-1 Done 4320 Defect",
            "F-2 Backlog 1440 Feature",
            "F-3 Doing 3600 -",
        ],
    );
    // No id column by its usual names: the first column that is not a
    // stage. Numbers are not dates without --time-format.
    check(
        "wide.csv",
        "Feature,Estimate,Analysis,Build\nlogin,3,2024-03-01,2024-03-02\n",
        &opts(),
        &["login Analysis 0 -", "login Build 1440 -"],
    );
    // Local dates with --time-format; semicolons.
    check(
        "wide.csv",
        "key;Ready;Doing;Done\nK-1;01/03/2024;02/03/2024;\n",
        &with_format("%d/%m/%Y"),
        &["K-1 Ready 0 -", "K-1 Doing 1440 -"],
    );
    // --layout wide even when the header looks like one row per event.
    check(
        "wide.csv",
        "id,stage,date,other\nA,2024-03-01,2024-03-02,x\n",
        &ReadOptions {
            layout: RowLayout::Wide,
            ..opts()
        },
        &["A stage 0 -", "A date 1440 -"],
    );
}

#[test]
fn wide_layout_errors() {
    // A stage column is one whose values are mostly times: a bad value in
    // it is named.
    check_err(
        "wide.csv",
        "id,Todo,Doing\nA,2024-03-01,2024-03-02\nB,2024-03-01,2024-03-05\nC,soon,2024-03-05\n",
        &opts(),
        ":4: field \"Todo\": \"soon\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")",
    );
    check_err(
        "wide.csv",
        "id,Todo,Doing\n,2024-03-01,2024-03-02\n",
        &opts(),
        ":2: field \"id\": is empty; every row needs an item id",
    );
    // Not long, and not wide either: the long layout's error.
    check_err(
        "log.csv",
        "id,when\nA,2024-03-01\n",
        &opts(),
        ":1: no stage column: looked for stage, status, state, activity, concept:name and found \"id\", \"when\"; name it with --stage-column NAME",
    );
    check_err(
        "log.csv",
        "id,when,what\nA,2024-03-01,x\n",
        &ReadOptions {
            layout: RowLayout::Wide,
            ..opts()
        },
        ":1: a wide log has an id column and a column per stage holding when each item entered it, but only 1 of the columns \"id\", \"when\", \"what\" hold times; give their format with --time-format",
    );
    // A long log with a misnamed column is not taken for a wide one, even
    // with several date columns: a stage column says it is long.
    check_err(
        "log.csv",
        "case,status,start_timestamp,timestamp\nA,open,2024-03-01,2024-03-02\n",
        &ReadOptions {
            columns: nextneck_eventlog::Columns {
                stage: Some("activity".into()),
                ..Default::default()
            },
            ..opts()
        },
        ":1: no column named \"activity\" (from --stage-column); the columns are \"case\", \"status\", \"start_timestamp\", \"timestamp\"",
    );
    // Local dates without the format: not dates, so not wide.
    check_err(
        "wide.csv",
        "Name,Ready,Doing\nK-1,01/03/2024,02/03/2024\n",
        &ReadOptions {
            layout: RowLayout::Wide,
            ..opts()
        },
        ":1: a wide log has an id column and a column per stage holding when each item entered it, but only 0 of the columns \"Name\", \"Ready\", \"Doing\" hold times; give their format with --time-format",
    );
}

#[test]
fn jira_issue_csv() {
    // Jira's own format (no option needed), other columns ignored; the
    // Status is the current one only and is not read.
    let csv = "Summary,Issue key,Issue id,Issue Type,Status,Created,Updated,Resolved,Labels,Labels\n\
               \"Export, fails\",WEB-1,10001,Bug,Done,01/Mar/24 9:00 AM,02/Mar/24 3:30 PM,02/Mar/24 3:30 PM,web,\n\
               New field,WEB-2,10002,Story,In Progress,02/Mar/24 12:00 PM,03/Mar/24 1:00 PM,,,\n";
    check(
        "issues.csv",
        csv,
        &opts(),
        &[
            "WEB-1 Created 540 Bug",
            "WEB-1 Resolved 2370 Bug",
            "WEB-2 Created 2160 Story",
        ],
    );
    // Its times are local: --tz places them (Paris is UTC+1 in March).
    check(
        "issues.csv",
        csv,
        &ReadOptions {
            tz: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
            ..opts()
        },
        &[
            "WEB-1 Created 480 Bug",
            "WEB-1 Resolved 2310 Bug",
            "WEB-2 Created 2100 Story",
        ],
    );
    // Another locale's format, given.
    check(
        "issues.csv",
        "Issue key,Status,Created,Resolved\nWEB-3,Erledigt,01.03.24 09:00,\n",
        &with_format("%d.%m.%y %H:%M"),
        &["WEB-3 Created 540 -"],
    );
    check_err(
        "issues.csv",
        "Issue key,Status,Created,Resolved\nWEB-3,Erledigt,01.03.24 09:00,\n",
        &opts(),
        ":2: field \"Created\": \"01.03.24 09:00\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")",
    );
}

#[test]
fn time_format_on_a_long_log() {
    check(
        "log.csv",
        "case,stage,time\nA,open,01/03/2024 00:10\nA,done,02/03/2024 00:00\n",
        &with_format("%d/%m/%Y %H:%M"),
        &["A open 10 -", "A done 1440 -"],
    );
    check_err(
        "log.csv",
        "case,stage,time\nA,open,01/03/2024 00:10\nA,done,2024-03-02\n",
        &with_format("%d/%m/%Y %H:%M"),
        ":3: field \"time\": \"2024-03-02\" does not match --time-format \"%d/%m/%Y %H:%M\"; fix the value or the format (strftime, such as %d/%m/%Y %H:%M)",
    );
}

const JIRA_SEARCH: &str = r#"{
  "startAt": 0, "maxResults": 50, "total": 2,
  "issues": [
    {
      "key": "SUP-1",
      "fields": {
        "created": "2024-03-01T09:00:00.000+0000",
        "status": {"name": "Closed"},
        "issuetype": {"name": "Incident"}
      },
      "changelog": {"startAt": 0, "maxResults": 2, "total": 2, "histories": [
        {"created": "2024-03-02T00:00:00.000+0000", "items": [
          {"field": "status", "fieldId": "status", "fromString": "In Progress", "toString": "Closed"}
        ]},
        {"created": "2024-03-01T10:00:00.000+0100", "items": [
          {"field": "assignee", "fromString": null, "toString": "Sam"},
          {"field": "status", "fieldId": "status", "fromString": "Open", "toString": "In Progress"}
        ]}
      ]}
    },
    {
      "key": "SUP-2",
      "fields": {"created": "2024-03-01T12:00:00.000+0000", "status": {"name": "Open"}}
    }
  ]
}
"#;

#[test]
fn jira_search_with_changelog() {
    let expected = [
        "SUP-1 Open 540 Incident",
        "SUP-1 In Progress 540 Incident",
        "SUP-1 Closed 1440 Incident",
        "SUP-2 Open 720 -",
    ];
    check("search.json", JIRA_SEARCH, &opts(), &expected);
    // Compact, and pages one per line.
    let compact: String =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(JIRA_SEARCH).unwrap())
            .unwrap();
    check("search.json", &compact, &opts(), &expected);
    let pages = format!("{compact}\n{compact}\n");
    let twice: Vec<&str> = expected.iter().chain(&expected).copied().collect();
    check("pages.ndjson", &pages, &opts(), &twice);
}

#[test]
fn jira_search_errors() {
    check_err(
        "search.json",
        &JIRA_SEARCH.replace("2024-03-02T00:00:00.000+0000", "tomorrow"),
        &opts(),
        ":12: field \"created\": \"tomorrow\" is not a time; the export writes RFC 3339 times such as 2024-03-12T15:41:00.000+0000",
    );
    check_err(
        "search.json",
        &JIRA_SEARCH.replace("\"key\": \"SUP-2\",", ""),
        &opts(),
        ":24: missing field `key` (column 5); is this Jira's search export with expand=changelog?",
    );
    check_err(
        "search.json",
        &JIRA_SEARCH.replace("\"key\": \"SUP-2\"", "\"key\": \" \""),
        &opts(),
        ":22: field \"key\": an issue has an empty key; export the issues with their keys",
    );
    check_err(
        "search.json",
        &JIRA_SEARCH.replace(
            "\"total\": 2, \"histories\"",
            "\"total\": 120, \"histories\"",
        ),
        &opts(),
        ":5: field \"changelog\": issue SUP-1 holds 2 of its 120 changes (Jira cuts a search's changelog short); export that issue's whole changelog (/rest/api/2/issue/SUP-1/changelog) or leave it out of the search",
    );
}

const TRELLO: &str = r#"{"id":"b1","name":"Blog",
"lists":[{"id":"l1","name":"Ideas"},{"id":"l2","name":"Writing"}],
"cards":[{"id":"c1","idShort":7,"name":"Post"},{"id":"c2","name":"Other"}],
"actions":[
{"id":"a4","type":"commentCard","date":"2024-03-01T05:00:00.000Z","data":{"card":{"id":"c1"},"list":{"id":"l2","name":"Writing"}}},
{"id":"a3","type":"updateCard","date":"2024-03-01T04:00:00.000Z","data":{"card":{"id":"c1","idShort":7},"old":{"name":"Draft"}}},
{"id":"a2","type":"updateCard","date":"2024-03-01T03:00:00.000Z","data":{"card":{"id":"c1","idShort":7},"listBefore":{"id":"l1","name":"Ideas"},"listAfter":{"id":"l2","name":"Writing"}}},
{"id":"a1","type":"createCard","date":"2024-03-01T01:00:00.000Z","data":{"card":{"id":"c1"},"list":{"id":"l1","name":"Ideas"}}},
{"id":"a0","type":"copyCard","date":"2024-03-01T02:00:00.000Z","data":{"card":{"id":"c2"},"list":{"id":"l1","name":"Ideas"}}}
]}"#;

#[test]
fn trello_board() {
    // Creations and moves between lists, oldest first; comments and other
    // updates are not moves; a card is named by its short id.
    check(
        "board.json",
        TRELLO,
        &opts(),
        &["#7 Ideas 60 -", "c2 Ideas 120 -", "#7 Writing 180 -"],
    );
    check_err(
        "board.json",
        &TRELLO.replace("2024-03-01T03:00:00.000Z", "03/01/2024"),
        &opts(),
        ":7: field \"date\": \"03/01/2024\" is not a time; the export writes RFC 3339 times such as 2024-03-12T15:41:00.000+0000",
    );
}

#[test]
fn other_json_is_still_ndjson() {
    check(
        "log.json",
        "\n{\"case\": \"A\", \"stage\": \"open\", \"time\": \"2024-03-01T00:10:00Z\"}\n",
        &opts(),
        &["A open 10 -"],
    );
    check_err(
        "log.json",
        "{\n  \"something\": [1, 2]\n}\n",
        &opts(),
        ":1: not a JSON object (EOF while parsing an object at line 1 column 1); write one object per line",
    );
}

/// The samples of examples/exports read, each into the items and stages
/// the export holds.
#[test]
fn the_example_exports_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/exports");
    for (file, items, stages) in [
        ("jira-issues.csv", 48, vec!["Created", "Resolved"]),
        (
            "jira-search.json",
            40,
            vec!["Open", "In Progress", "Waiting for supplier", "Closed"],
        ),
        (
            "trello-board.json",
            36,
            vec!["Ideas", "Writing", "Editing", "Published"],
        ),
        (
            "wide.csv",
            60,
            vec!["Backlog", "Analysis", "Development", "Testing", "Done"],
        ),
    ] {
        let log = read(&[dir.join(file)], &opts()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(log.cases.len(), items, "{file}");
        assert_eq!(log.stages.iter().collect::<Vec<_>>(), stages, "{file}");
    }
}
