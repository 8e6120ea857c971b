//! Test helpers: the recorded fixtures, fresh databases on both backends,
//! signed requests, and one-line summaries of normalized events.

#![allow(dead_code, unused_imports, clippy::unwrap_used, missing_docs)]

use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use nextneck_model::events::{Event, EventBody};
use nextneck_server::{AppState, Options, Secrets, Workers};

pub const GITHUB_SECRET: &str = "gh-secret";
pub const GITLAB_TOKEN: &str = "gl-token";
pub const PAGERDUTY_SECRET: &str = "pd-secret";
pub const JIRA_SECRET: &str = "jira-secret";
pub const OPSGENIE_TOKEN: &str = "og-token";
pub const EVENTS_TOKEN: &str = "ev-token";

pub use nextneck_testkit::{Db, fixture, fixtures, postgres, sqlite};

pub fn secrets() -> Secrets {
    Secrets {
        github: Some(GITHUB_SECRET.into()),
        gitlab: Some(GITLAB_TOKEN.into()),
        pagerduty: Some(PAGERDUTY_SECRET.into()),
        jira: Some(JIRA_SECRET.into()),
        opsgenie: Some(OPSGENIE_TOKEN.into()),
        events: Some(EVENTS_TOKEN.into()),
    }
}

/// A server without its processor thread: tests process explicitly.
pub fn server(db: &Db, secrets: Secrets) -> (AppState, Workers) {
    let mut options = Options::new(secrets);
    options.process = false;
    nextneck_server::start(&db.url, options).unwrap()
}

/// A POST to `/hooks/{provider}` authenticated as the provider does it.
pub fn signed(provider: &str, body: &[u8], extra: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::post(format!("/hooks/{provider}"))
        .header("content-type", "application/json")
        .header("content-length", body.len());
    let hmac = |secret: &str| nextneck_ingest::signature::hmac_sha256_hex(secret.as_bytes(), body);
    req = match provider {
        "github" => req.header(
            "x-hub-signature-256",
            format!("sha256={}", hmac(GITHUB_SECRET)),
        ),
        "gitlab" => req.header("x-gitlab-token", GITLAB_TOKEN),
        "pagerduty" => req.header(
            "x-pagerduty-signature",
            format!("v1={}", hmac(PAGERDUTY_SECRET)),
        ),
        "jira" => req.header("x-hub-signature", format!("sha256={}", hmac(JIRA_SECRET))),
        "opsgenie" => req.header("authorization", format!("Bearer {OPSGENIE_TOKEN}")),
        _ => req.header("authorization", format!("Bearer {EVENTS_TOKEN}")),
    };
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_vec())).unwrap()
}

/// Status and parsed JSON body of a response.
pub async fn json(resp: Response<Body>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, value)
}

pub fn t(ts: Option<i64>) -> String {
    match ts {
        Some(ts) => jiff::Timestamp::from_second(ts).unwrap().to_string(),
        None => "-".to_owned(),
    }
}

fn o<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}").trim_matches('"').to_owned(),
        None => "-".to_owned(),
    }
}

fn short(s: &Option<String>) -> String {
    match s {
        Some(s) => s.chars().take(8).collect(),
        None => "-".to_owned(),
    }
}

/// One line per event, with the fields the metrics use.
pub fn summary(e: &Event) -> String {
    let head = format!("{}@{}", e.source, t(e.at));
    let body = match &e.body {
        EventBody::Deployment(d) => format!(
            "deployment {} repo={} env={} prod={} sha={} ref={} status={} created={} started={} finished={}",
            d.id,
            o(&d.repository),
            o(&d.environment),
            o(&d.production),
            short(&d.sha),
            o(&d.git_ref),
            o(&d.status),
            t(d.created_at),
            t(d.started_at),
            t(d.finished_at)
        ),
        EventBody::Change(c) => format!(
            "change {} {:?} author={} draft={} opened={} merged={} closed={} merge_sha={} commits=[{}] reviewers=[{}]",
            c.id,
            c.state,
            c.author
                .as_ref()
                .map(|a| format!(
                    "{}/{}{}",
                    o(&a.login),
                    o(&a.id),
                    if a.bot { "/bot" } else { "" }
                ))
                .unwrap_or_else(|| "-".into()),
            o(&c.draft),
            t(c.opened_at),
            t(c.merged_at),
            t(c.closed_at),
            short(&c.merge_sha),
            c.commits
                .iter()
                .map(|k| format!("{}@{}", &k.sha[..8.min(k.sha.len())], t(k.authored_at)))
                .collect::<Vec<_>>()
                .join(" "),
            c.reviewers
                .iter()
                .map(|a| o(&a.login.clone().or(a.id.clone())))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        EventBody::Review(r) => format!(
            "review {} of {} by {} {:?} at={}",
            r.id,
            r.change_id,
            r.reviewer
                .as_ref()
                .map(|a| o(&a.login))
                .unwrap_or_else(|| "-".into()),
            r.state,
            t(r.submitted_at)
        ),
        EventBody::Release(r) => format!(
            "release {} repo={} tag={} target={} draft={} prerelease={} published={} action={}",
            r.id,
            o(&r.repository),
            r.tag,
            o(&r.target),
            r.draft,
            r.prerelease,
            t(r.published_at),
            o(&r.action)
        ),
        EventBody::Push(p) => format!(
            "push {} {} {}..{} by={} commits=[{}]",
            p.repository,
            p.git_ref,
            &p.before[..8.min(p.before.len())],
            &p.after[..8.min(p.after.len())],
            o(&p.pusher),
            p.commits
                .iter()
                .map(|k| format!("{}@{}", &k.sha[..8.min(k.sha.len())], t(k.authored_at)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        EventBody::CiRun(r) => format!(
            "ci_run {} repo={} workflow={} sha={} {:?} {} queued={} started={} finished={}",
            r.id,
            o(&r.repository),
            o(&r.workflow),
            short(&r.sha),
            r.status,
            o(&r.conclusion),
            t(r.queued_at),
            t(r.started_at),
            t(r.finished_at)
        ),
        EventBody::CiJob(j) => format!(
            "ci_job {} run={} {} sha={} {:?} {} queued={} started={} finished={}",
            j.id,
            o(&j.run_id),
            j.name,
            short(&j.sha),
            j.status,
            o(&j.conclusion),
            t(j.queued_at),
            t(j.started_at),
            t(j.finished_at)
        ),
        EventBody::Incident(i) => format!(
            "incident {} {:?} service={} opened={} acknowledged={} resolved={} action={}",
            i.id,
            i.status,
            o(&i.service),
            t(i.opened_at),
            t(i.acknowledged_at),
            t(i.resolved_at),
            o(&i.action)
        ),
        EventBody::Postmortem(p) => format!(
            "postmortem {} of {} published={}",
            p.id,
            p.incident_id,
            t(Some(p.published_at))
        ),
        EventBody::Issue(i) => format!(
            "issue {} type={} status={}/{} labels=[{}] created={} closed={}",
            i.id,
            o(&i.issue_type),
            o(&i.status),
            o(&i.status_category),
            i.labels.join(" "),
            t(i.created_at),
            t(i.closed_at)
        ),
        EventBody::IssueStatusChange(s) => format!(
            "status {} {} -> {} by={}",
            s.issue_id,
            o(&s.from),
            s.to,
            o(&s.by)
        ),
        EventBody::TestCase(c) => format!(
            "test {} {:?} time={} flaky={} reruns={} commit={}",
            c.full_name(),
            c.outcome,
            c.duration_seconds
                .map(|d| format!("{d}"))
                .unwrap_or_else(|| "-".into()),
            c.flaky,
            c.reruns,
            o(&c.commit)
        ),
        EventBody::StageTransition(s) => {
            format!("stage {} {} {} -> {}", s.id, s.stream, s.item, s.stage)
        }
    };
    format!("{head} {body}")
}

/// Runs blocking store code (the PostgreSQL client must not run inside the
/// async runtime) on a thread of its own.
pub fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

/// Processes everything queued, then returns the store's events and status.
pub fn process_and_read(
    url: &str,
) -> (
    usize,
    Vec<nextneck_store::StoredEvent>,
    nextneck_store::Status,
) {
    let url = url.to_owned();
    blocking(move || {
        let mut store = nextneck_store::open(&url).unwrap();
        let n = nextneck_server::process_pending(store.as_mut()).unwrap();
        (n, store.events().unwrap(), store.status().unwrap())
    })
}

/// Every stored delivery.
pub fn deliveries(url: &str) -> Vec<nextneck_store::Delivery> {
    let url = url.to_owned();
    blocking(move || nextneck_store::open(&url).unwrap().deliveries().unwrap())
}
