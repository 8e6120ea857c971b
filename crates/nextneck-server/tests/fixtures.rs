//! Every recorded payload in ../shared/fixtures goes through the real router
//! (signed as its provider signs it), is processed, and must give exactly
//! the normalized events listed here, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::*;
use nextneck_server::app;
use tower::ServiceExt;

/// GitHub's `X-GitHub-Event` for a fixture, from its file name
/// (`deployment_status__error.json`, `octokit__push__with-new-branch...`).
fn github_event(file: &str) -> &str {
    let name = file.trim_start_matches("github/");
    let name = name.strip_prefix("octokit__").unwrap_or(name);
    name.split("__").next().unwrap()
}

nextneck_testkit::both_backends!(async: every_fixture_gives_its_normalized_events);

async fn every_fixture_gives_its_normalized_events(db: Db) {
    // Every fixture file must be listed: a new one fails until described.
    let mut on_disk = Vec::new();
    for dir in ["github", "gitlab", "pagerduty", "opsgenie", "jira", "junit"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            on_disk.push(format!("{dir}/{name}"));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED
        .iter()
        .map(|(f, _)| f.to_string())
        .chain(std::iter::once(CORRUPT.to_owned()))
        .collect();
    listed.sort();
    assert_eq!(listed, on_disk, "every fixture is described here");

    let (state, _workers) = server(&db, secrets());
    let router = app(state);
    let mut by_delivery = BTreeMap::new();
    for (i, (file, _)) in EXPECTED.iter().enumerate() {
        let provider = file.split('/').next().unwrap();
        let body = fixture(file);
        let delivery_id = format!("delivery-{i}");
        let mut extra = vec![];
        if provider == "github" {
            extra.push(("x-github-event", github_event(file)));
            extra.push(("x-github-delivery", delivery_id.as_str()));
        }
        if provider == "junit" {
            extra.push((
                "x-nextneck-commit",
                "0123456789abcdef0123456789abcdef01234567",
            ));
        }
        let (status, reply) = json(
            router
                .clone()
                .oneshot(signed(provider, &body, &extra))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 202, "{file}: {reply}");
        assert_eq!(reply["status"], "accepted", "{file}");
        by_delivery.insert(reply["delivery_id"].as_i64().unwrap(), *file);
    }
    let (processed, events, status) = process_and_read(&db.url);
    assert_eq!(processed, EXPECTED.len());
    let mut got: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in events {
        got.entry(by_delivery[&e.delivery_id])
            .or_default()
            .push(summary(&e.event));
    }
    let mut failures = Vec::new();
    for (file, want) in EXPECTED {
        let have = got.remove(file).unwrap_or_default();
        if have != *want {
            failures.push(format!(
                "{file}:\n  want: {want:#?}\n  got: [\n{}\n  ]",
                have.iter()
                    .map(|s| format!("        {s:?},"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let unknown: Vec<&str> = status
        .unknown_types
        .iter()
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(unknown, UNKNOWN, "unknown event types are kept and listed");
    assert_eq!(status.failed, 0);
}

/// The truncated report: refused with the line and column.
const CORRUPT: &str = "junit/corrupt-junit__TEST-test.CorruptTest.xml";

/// Event types stored but not converted (ignored by metrics).
const UNKNOWN: &[&str] = &[
    "pagerduty:incident.unsupported",
    "pagerduty:service.created",
    "pagerduty:service.deleted",
];

const EXPECTED: &[(&str, &[&str])] = &[
    (
        "github/check_run__completed_success.json",
        &[
            "github@2018-05-04T01:14:52Z ci_job 4 run=5 randscape sha=d6fde929 Completed Success queued=- started=2018-05-04T01:14:52Z finished=2018-05-04T01:14:52Z",
        ],
    ),
    (
        "github/deployment_status__error.json",
        &[
            "github@2026-02-07T20:00:54Z deployment 3792439815 repo=Pritesh-30/test-repo env=production prod=true sha=c308eeb1 ref=feature status=Error created=2026-02-07T19:58:47Z started=- finished=2026-02-07T20:00:54Z",
        ],
    ),
    (
        "github/deployment_status__failure.json",
        &[
            "github@2015-05-05T23:40:39Z deployment 710692 repo=baxterthehacker/public-repo env=production prod=- sha=9049f126 ref=master status=Failure created=2015-05-05T23:40:38Z started=- finished=2015-05-05T23:40:39Z",
        ],
    ),
    (
        "github/deployment_status__success.json",
        &[
            "github@2015-05-05T23:40:39Z deployment 710692 repo=baxterthehacker/public-repo env=production prod=- sha=9049f126 ref=master status=Success created=2015-05-05T23:40:38Z started=- finished=2015-05-05T23:40:39Z",
        ],
    ),
    (
        "github/issues__opened.json",
        &[
            "github@2026-01-23T17:01:17Z issue DhruvShetty22/zulip-test#33 type=- status=open/open labels=[] created=2026-01-23T17:01:17Z closed=-",
        ],
    ),
    (
        "github/octokit__deployment__payload.json",
        &[
            "github@2019-05-15T15:20:53Z deployment 145988746 repo=Codertocat/Hello-World env=production prod=- sha=f95f852b ref=master status=- created=2019-05-15T15:20:53Z started=- finished=-",
        ],
    ),
    (
        "github/octokit__deployment_status__payload.json",
        &[
            "github@2019-05-15T15:20:55Z deployment 145988746 repo=Codertocat/Hello-World env=production prod=- sha=f95f852b ref=master status=Success created=2019-05-15T15:20:53Z started=- finished=2019-05-15T15:20:55Z",
        ],
    ),
    (
        "github/octokit__pull_request_review__submitted.payload.json",
        &[
            "github@2019-05-15T15:20:38Z change Codertocat/Hello-World#2 Open author=Codertocat/21031067 draft=false opened=2019-05-15T15:20:33Z merged=- closed=- merge_sha=- commits=[] reviewers=[octocat]",
            "github@2019-05-15T15:20:38Z review 237895671 of Codertocat/Hello-World#2 by Codertocat Commented at=2019-05-15T15:20:38Z",
        ],
    ),
    (
        "github/octokit__push__with-new-branch.payload.json",
        &[
            "github@2019-05-15T15:20:57Z push Codertocat/Hello-World refs/heads/master 00000000..6113728f by=Codertocat commits=[6113728f@2019-05-15T15:19:25Z]",
        ],
    ),
    (
        "github/octokit__workflow_job__completed.failure.with-organization.payload.json",
        &[
            "github@2021-08-05T10:38:16Z ci_job 289782451 run=2202229078 linters sha=3484a3fb Completed Failure queued=2021-08-05T10:33:58Z started=2021-08-05T10:34:58Z finished=2021-08-05T10:38:16Z",
        ],
    ),
    (
        "github/octokit__workflow_job__completed.success.with-organization.payload.json",
        &[
            "github@2021-08-05T10:38:16Z ci_job 289782451 run=2202229078 linters sha=3484a3fb Completed Success queued=2021-08-05T10:33:58Z started=2021-08-05T10:34:58Z finished=2021-08-05T10:38:16Z",
        ],
    ),
    (
        "github/octokit__workflow_run__completed.payload.json",
        &[
            "github@2020-10-05T16:33:49Z ci_run 289782451 repo=octo-org/octo-repo workflow=test sha=3484a3fb Completed Success queued=2020-10-05T16:33:24Z started=2020-10-05T16:33:49Z finished=2020-10-05T16:33:49Z",
        ],
    ),
    ("github/ping__organization.json", &[]),
    (
        "github/pull_request__merged_private_repository.json",
        &[
            "github@2015-05-05T23:40:27Z change baxterthehacker/public-repo#1 Merged author=baxterthehacker/6752317 draft=- opened=2015-05-05T23:40:27Z merged=- closed=- merge_sha=- commits=[] reviewers=[]",
        ],
    ),
    (
        "github/pull_request_review__empty_body.json",
        &[
            "github@2023-06-16T09:03:40Z change groonga/groonga#1581 Open author=komainu8/19166236 draft=false opened=2023-06-16T03:33:36Z merged=- closed=- merge_sha=- commits=[] reviewers=[]",
            "github@2023-06-16T09:03:40Z review 1483047907 of groonga/groonga#1581 by kou Commented at=2023-06-16T09:03:40Z",
        ],
    ),
    (
        "github/push__1_commit_private_repository.json",
        &[
            "github@2015-05-05T23:40:17Z push baxterthehacker/private-repo refs/heads/changes 9049f126..0d1a26e6 by=baxterthehacker commits=[0d1a26e6@2015-05-05T23:40:15Z]",
        ],
    ),
    (
        "github/release__with_name.json",
        &[
            "github@2015-05-05T23:40:38Z release 1261438 repo=baxterthehacker/public-repo tag=0.0.1 target=master draft=false prerelease=false published=2015-05-05T23:40:38Z action=published",
        ],
    ),
    (
        "gitlab/deployment_hook__failed.json",
        &[
            "gitlab@2025-05-02T12:30:19Z deployment 988604916 repo=vedant8600317/test env=production prod=true sha=846d8de0 ref=master status=Failure created=- started=- finished=2025-05-02T12:30:19Z",
        ],
    ),
    (
        "gitlab/deployment_hook__succeeded.json",
        &[
            "gitlab@2025-05-02T11:55:16Z deployment 988572802 repo=vedant8600317/test env=production prod=true sha=58793660 ref=master status=Success created=- started=- finished=2025-05-02T11:55:16Z",
        ],
    ),
    (
        "gitlab/issue_hook__incident_closed.json",
        &[
            "gitlab@2026-05-28T06:11:46Z issue sathwikshetty33-group/mVc#6 type=Incident status=closed/closed labels=[] created=2026-05-28T06:09:06Z closed=2026-05-28T06:11:46Z",
        ],
    ),
    (
        "gitlab/issue_hook__incident_created.json",
        &[
            "gitlab@2026-05-28T05:04:31Z issue sathwikshetty33-group/mVc#2 type=Incident status=opened/open labels=[] created=2026-05-28T05:04:31Z closed=-",
        ],
    ),
    (
        "gitlab/job_hook__build_created.json",
        &["gitlab@- ci_job 1977 run=2366 test sha=2293ada6 Queued - queued=- started=- finished=-"],
    ),
    (
        "gitlab/merge_request_hook__merge_request_approved.json",
        &[
            "gitlab@2017-12-18T00:39:44Z change eeshangarg/my-awesome-project!1 Open author=-/1129123 draft=false opened=2017-05-31T03:27:26Z merged=- closed=- merge_sha=- commits=[b1b2824f@2017-05-31T03:25:38Z] reviewers=[]",
            "gitlab@2017-12-18T00:39:44Z review approval:eeshangargtest of eeshangarg/my-awesome-project!1 by eeshangargtest Approved at=2017-12-18T00:39:44Z",
        ],
    ),
    (
        "gitlab/merge_request_hook__merge_request_created_with_multiple_assignees.json",
        &[
            "gitlab@2020-08-22T09:35:19Z change Hypro999/demo-project!1 Open author=-/2222626 draft=false opened=2020-08-22T09:35:19Z merged=- closed=- merge_sha=- commits=[1499daa0@2020-08-22T08:51:01Z] reviewers=[]",
        ],
    ),
    (
        "gitlab/merge_request_merged.json",
        &[
            "gitlab@2016-08-22T20:41:06Z change tomaszkolek0/my-awesome-project!3 Merged author=-/670043 draft=false opened=2016-08-22T20:27:22Z merged=2016-08-22T20:41:06Z closed=- merge_sha=5bcfb805 commits=[f423fe3f@2016-08-22T20:34:57Z] reviewers=[]",
        ],
    ),
    (
        "gitlab/note_hook__merge_request_note.json",
        &[
            "gitlab@2023-05-25T19:03:53Z change sbansal1999/testing-zulip-gitlab-integration!1 Open author=-/14613894 draft=false opened=2023-05-25T19:03:52Z merged=- closed=- merge_sha=- commits=[b7d5e68a@2023-05-25T19:02:24Z] reviewers=[]",
            "gitlab@2023-05-25T19:04:19Z review 1406328457 of sbansal1999/testing-zulip-gitlab-integration!1 by sbansal1999 Commented at=2023-05-25T19:04:19Z",
        ],
    ),
    (
        "gitlab/pipeline_hook__pipeline_succeeded.json",
        &[
            "gitlab@2016-09-28T20:22:34Z ci_run 4414206 repo=TomaszKolek/my-awesome-project workflow=TomaszKolek/my-awesome-project sha=6f88e719 Completed Success queued=2016-09-28T20:04:55Z started=- finished=2016-09-28T20:22:34Z",
            "gitlab@2016-09-28T20:22:34Z ci_job 4541113 run=4414206 job_name2 sha=6f88e719 Completed Success queued=2016-09-28T20:04:56Z started=2016-09-28T20:21:52Z finished=2016-09-28T20:22:34Z",
            "gitlab@2016-09-28T20:21:47Z ci_job 4541112 run=4414206 job_name sha=6f88e719 Completed Success queued=2016-09-28T20:04:55Z started=2016-09-28T20:21:04Z finished=2016-09-28T20:21:47Z",
        ],
    ),
    (
        "gitlab/push_hook.json",
        &[
            "gitlab@2016-08-17T19:18:06Z push tomaszkolek0/my-awesome-project refs/heads/tomek 5fcdd555..eb6ae1e5 by=tomaszkolek0 commits=[66abd2da@2016-08-17T19:17:54Z eb6ae1e5@2016-08-17T19:18:06Z]",
        ],
    ),
    (
        "pagerduty/acknowledged_v3.json",
        &[
            "pagerduty@2021-06-04T13:55:30Z incident PQ1K5C8 Acknowledged service=pig208 opened=- acknowledged=2021-06-04T13:55:30Z resolved=- action=incident.acknowledged",
        ],
    ),
    ("pagerduty/annotated_v3.json", &[]),
    ("pagerduty/conference_bridge_updated_v3.json", &[]),
    (
        "pagerduty/delegated_v3.json",
        &[
            "pagerduty@2026-04-01T02:13:20Z incident Q3B15VLMF3ASBD Triggered service=Default Service opened=2026-04-01T02:07:30Z acknowledged=- resolved=- action=incident.delegated",
        ],
    ),
    (
        "pagerduty/escalate_v3.json",
        &[
            "pagerduty@2026-04-01T02:08:04Z incident Q3B15VLMF3ASBD Triggered service=Default Service opened=2026-04-01T02:07:30Z acknowledged=- resolved=- action=incident.escalated",
        ],
    ),
    (
        "pagerduty/priority_updated_v3.json",
        &[
            "pagerduty@2026-04-01T02:15:36Z incident Q3B15VLMF3ASBD Triggered service=Default Service opened=2026-04-01T02:07:30Z acknowledged=- resolved=- action=incident.priority_updated",
        ],
    ),
    (
        "pagerduty/reassigned_v3.json",
        &[
            "pagerduty@2021-06-04T10:17:54Z incident PIQUG8X Triggered service=pig208 opened=- acknowledged=- resolved=- action=incident.reassigned",
        ],
    ),
    (
        "pagerduty/reopened_v3.json",
        &[
            "pagerduty@2026-04-01T02:15:02Z incident Q05XJA8GDXGOB3 Triggered service=Default Service opened=2026-03-30T13:37:07Z acknowledged=- resolved=- action=incident.reopened",
        ],
    ),
    (
        "pagerduty/resolved_v3.json",
        &[
            "pagerduty@2021-06-04T13:16:53Z incident PCPZE64 Resolved service=pig208 opened=- acknowledged=- resolved=2021-06-04T13:16:53Z action=incident.resolved",
        ],
    ),
    ("pagerduty/responder_replied_v3.json", &[]),
    ("pagerduty/service_created_v3.json", &[]),
    ("pagerduty/service_deleted_v3.json", &[]),
    (
        "pagerduty/service_updated_v3.json",
        &[
            "pagerduty@2026-04-01T02:28:44Z incident Q3B15VLMF3ASBD Triggered service=APIs opened=2026-04-01T02:07:30Z acknowledged=- resolved=- action=incident.service_updated",
        ],
    ),
    ("pagerduty/status_updated_v3.json", &[]),
    (
        "pagerduty/triggered_v3.json",
        &[
            "pagerduty@2021-06-04T13:35:29Z incident PFQZPSY Triggered service=pig208 opened=2021-06-04T13:35:29Z acknowledged=- resolved=- action=incident.triggered",
        ],
    ),
    (
        "pagerduty/unacknowledged_v3.json",
        &[
            "pagerduty@2021-06-04T13:54:23Z incident PQ1K5C8 Triggered service=pig208 opened=- acknowledged=- resolved=- action=incident.unacknowledged",
        ],
    ),
    ("pagerduty/unsupported_v3.json", &[]),
    ("pagerduty/workflow_completed_no_summary_v3.json", &[]),
    ("pagerduty/workflow_completed_v3.json", &[]),
    ("pagerduty/workflow_started_v3.json", &[]),
    (
        "opsgenie/acknowledge.json",
        &[
            "opsgenie@2015-01-05T10:03:44Z incident 052652ac-5d1c-464a-812a-7dd18bbfba8c Acknowledged service=- opened=2015-01-05T10:03:11Z acknowledged=2015-01-05T10:03:44Z resolved=- action=Acknowledge",
        ],
    ),
    (
        "opsgenie/close.json",
        &[
            "opsgenie@2015-01-05T10:06:14Z incident 052652ac-5d1c-464a-812a-7dd18bbfba8c Resolved service=- opened=2015-01-05T10:03:11Z acknowledged=- resolved=2015-01-05T10:06:14Z action=Close",
        ],
    ),
    (
        "opsgenie/create.json",
        &[
            "opsgenie@2017-08-14T11:25:56Z incident ec03dad6-62c8-4c94-b38b-d88f398e900f Triggered service=Server opened=2017-08-14T11:25:56Z acknowledged=- resolved=- action=Create",
        ],
    ),
    (
        "jira/issue_created.json",
        &[
            "jira@2013-03-27T16:53:58Z issue BUG-15 type=Bug status=Open/- labels=[] created=2013-03-27T16:53:58Z closed=-",
        ],
    ),
    (
        "jira/issue_updated__status.json",
        &[
            "jira@2017-01-30T17:32:14Z issue TEST-1 type=Task status=In Progress/indeterminate labels=[] created=2017-01-30T17:30:41Z closed=-",
            "jira@2017-01-30T17:32:14Z status TEST-1 To Do -> In Progress by=admin",
        ],
    ),
    (
        "jira/jenkins__issue_created.json",
        &[
            "jira@2015-12-20T18:25:09Z issue TEST-4 type=Task status=To Do/new labels=[] created=2015-12-20T18:25:09Z closed=-",
        ],
    ),
    (
        "jira/jenkins__issue_updated_status_updated.json",
        &[
            "jira@2016-01-14T23:06:37Z issue TEST-11 type=Task status=Done/done labels=[] created=2016-01-06T20:16:41Z closed=2016-01-14T23:06:37Z",
            "jira@2016-01-14T23:06:37Z status TEST-11 To Do -> Done by=admin",
        ],
    ),
    ("junit/cunit__testEmpty.xml", &[]),
    (
        "junit/nested__multi-level.xml",
        &[
            "junit@2024-04-19T08:20:31Z test corp.proj.PingIntegrationTest.PingIntegrationTest.pingAsync (Normal) Passed time=0.054 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2024-04-19T08:20:31Z test corp.proj.PingIntegrationTest.PingIntegrationTest.pingServer (Normal) Passed time=0 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2024-04-19T08:20:31Z test corp.proj2.MultiUserChatRolesAffiliationsPrivilegesIntegrationTest.MultiUserIntegrationTest.mucRoleTestForReceivingModerator (Normal) Passed time=0.046 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
        ],
    ),
    (
        "junit/nextest__basic.xml",
        &[
            "junit@2024-12-02T20:06:10Z test oxidized_navigation::parry3d.test_failure Failed time=0.774 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2024-12-02T20:06:10Z test oxidized_navigation::parry3d.test_simple_navigation Passed time=0.944 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2024-12-02T20:06:10Z test oxidized_navigation::parry3d.test_annotations Passed time=0.945 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
        ],
    ),
    (
        "junit/python__report.xml",
        &[
            "junit@2020-10-12T18:46:11Z test python.test_sample.test_which_succeeds Passed time=0.001 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2020-10-12T18:46:11Z test python.test_sample.test_which_fails Failed time=0.001 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
            "junit@2020-10-12T18:46:11Z test python.test_sample.test_with_error Failed time=0 flaky=false reruns=0 commit=0123456789abcdef0123456789abcdef01234567",
        ],
    ),
    (
        "junit/surefire_flaky__surefire-report.xml",
        &[
            "junit@- test io.sodadata.dependson.soda.integrations.msteams.MicrosoftTeamsCrudTest.createWebhook Passed time=0.683 flaky=true reruns=1 commit=0123456789abcdef0123456789abcdef01234567",
        ],
    ),
];
