//! `nextneck digest`: the period's change in one message, printed or
//! posted to a chat's incoming webhook; and the `[digest]` section of
//! `nextneck.toml` with which `nextneck serve` posts it on a schedule.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use nextneck_metrics::digest::{Digest, StreamPair};
use nextneck_metrics::flow::{FlowReport, FlowSettings};
use nextneck_metrics::git::DEFAULT_HOTFIX_PATTERN;
use nextneck_metrics::time::{DAY, WEEK, day_floor};
use nextneck_metrics::{GitSettings, Report, ReportError, WindowSpec};
use nextneck_model::Timestamp;
use nextneck_render::digest::Chat;
use regex::Regex;
use serde::Deserialize;

use crate::{UsageError, args, db};

/// The `[digest]` section: where and when `nextneck serve` posts the digest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestSection {
    /// `slack`, `teams`, `mattermost` or `discord`.
    pub to: Option<String>,
    /// The incoming webhook's URL (or `NEXTNECK_DIGEST_URL`).
    pub url: Option<String>,
    /// The day it is posted, `monday` to `sunday` (default monday).
    pub weekday: Option<String>,
    /// The hour it is posted, 0 to 23 UTC (default 8).
    pub hour: Option<u8>,
    /// The period's length in days (default 7).
    pub days: Option<u32>,
}

/// Attempts to post before giving up.
pub const ATTEMPTS: u32 = 4;

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The repository (default `.` without --db); with --db, optional: it
    /// links deployments to changes by commit range.
    path: Option<PathBuf>,

    /// The event store (sqlite:PATH or postgres://...): the digest of its
    /// delivery events, incidents and value streams.
    #[arg(long, env = "NEXTNECK_DB", value_name = "URL")]
    db: Option<String>,

    /// The configuration file (default: ./nextneck.toml when it exists).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Start of the period (default: 7 days before --until). A date, or
    /// relative: 7d, 2w, yesterday. It is compared with the period of the
    /// same length before it.
    #[arg(long, value_parser = args::timestamp)]
    since: Option<Timestamp>,

    /// End of the period, exclusive (default: today, 00:00 UTC).
    #[arg(long, value_parser = args::timestamp)]
    until: Option<Timestamp>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DigestFormat::Markdown)]
    format: DigestFormat,

    /// Post it to an incoming webhook instead of printing it: SERVICE is
    /// slack, teams, mattermost or discord; URL the webhook's address.
    #[arg(long, num_args = 2, value_names = ["SERVICE", "URL"])]
    to: Vec<String>,

    /// Write it to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with = "to")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DigestFormat {
    Markdown,
    Json,
}

/// What a digest reads.
#[derive(Clone, Debug)]
pub struct DigestSource {
    /// A clone.
    pub path: Option<PathBuf>,
    /// An event store URL.
    pub db: Option<String>,
    /// The configuration file, when given explicitly.
    pub config: Option<PathBuf>,
}

/// The chat service named `name`.
pub fn chat(name: &str) -> Result<Chat, UsageError> {
    match name.to_ascii_lowercase().as_str() {
        "slack" => Ok(Chat::Slack),
        "teams" => Ok(Chat::Teams),
        "mattermost" => Ok(Chat::Mattermost),
        "discord" => Ok(Chat::Discord),
        _ => Err(UsageError(format!(
            "`{name}` is not a chat service; use slack, teams, mattermost or discord"
        ))),
    }
}

/// Checks a webhook URL: http or https, with a host.
pub fn webhook_url(url: &str) -> Result<(), UsageError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(UsageError(
            "the webhook URL must start with https:// (or http://) and name a host".to_owned(),
        )),
    }
}

/// The URL without its path, which holds the webhook's secret.
fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}/…")
}

pub fn run(args: DigestArgs) -> anyhow::Result<()> {
    let target = match args.to.as_slice() {
        [] => None,
        [service, url] => {
            let c = chat(service)?;
            webhook_url(url)?;
            Some((c, url.clone()))
        }
        _ => {
            return Err(UsageError("--to takes SERVICE URL".to_owned()).into());
        }
    };
    let until = match args.until {
        Some(u) => u,
        None => args::timestamp("today").map_err(UsageError)?,
    };
    let since = args.since.unwrap_or(until - WEEK);
    if since >= until {
        return Err(UsageError("--since must be before --until".to_owned()).into());
    }
    let source = DigestSource {
        path: args.path.clone(),
        db: args.db.clone(),
        config: args.config.clone(),
    };
    let digest = compute(&source, since, until)?;
    match target {
        None => crate::output::write_to(args.output.as_deref(), |out| match args.format {
            DigestFormat::Markdown => nextneck_render::digest::markdown(&digest, out),
            DigestFormat::Json => nextneck_render::digest::json(&digest, out),
        }),
        Some((c, url)) => {
            let attempts = post(&digest, c, &url, backoff())?;
            let _ = writeln!(
                std::io::stderr(),
                "posted the digest to {c:?} ({}) in {attempts} {}",
                host_of(&url),
                if attempts == 1 { "attempt" } else { "attempts" }
            );
            Ok(())
        }
    }
}

/// The first retry's wait; doubled for each further one. Undocumented
/// tuning for the tests: `NEXTNECK_DIGEST_BACKOFF_MS`.
fn backoff() -> Duration {
    let ms = std::env::var("NEXTNECK_DIGEST_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

/// The digest of `[since, until)` against the period of the same length
/// before it, for the clone, the store, or the store with the clone.
pub fn compute(
    source: &DigestSource,
    since: Timestamp,
    until: Timestamp,
) -> anyhow::Result<Digest> {
    let before = (since - (until - since), since);
    let config = crate::config::load(source.config.as_deref())?;
    match &source.db {
        None => {
            let path = source.path.clone().unwrap_or_else(|| PathBuf::from("."));
            let git = config.map(|c| c.git).unwrap_or_default();
            let deploy = crate::report::configured_deployments(&git);
            let options = nextneck_git::LoadOptions {
                branches: git.deploy_branch.iter().cloned().collect(),
            };
            let history = nextneck_git::load(&path, &options, &mut nextneck_git::NoProgress)?;
            let report = |(since, until): (Timestamp, Timestamp)| {
                let settings = GitSettings {
                    path: path.display().to_string(),
                    deploy: deploy.clone(),
                    hotfix: Regex::new(DEFAULT_HOTFIX_PATTERN)
                        .expect("the default pattern compiles"),
                    window: range(since, until),
                    explain: false,
                    series: false,
                };
                nextneck_metrics::git_report(&history, &settings).map_err(report_error)
            };
            let now = report((since, until))?;
            let earlier = report(before)?;
            Ok(nextneck_metrics::digest::digest(&now, &earlier, &[]))
        }
        Some(url) => {
            db::require_existing(url)?;
            let (now, earlier) = delivery_reports(source, url, (since, until), before)?;
            let streams = stream_reports(url, config.as_ref(), (since, until), before)?;
            let pairs: Vec<StreamPair<'_>> = streams
                .iter()
                .map(|(now, before)| StreamPair { now, before })
                .collect();
            Ok(nextneck_metrics::digest::digest(&now, &earlier, &pairs))
        }
    }
}

fn range(since: Timestamp, until: Timestamp) -> WindowSpec {
    WindowSpec::Range {
        since: Some(since),
        until: Some(until),
    }
}

fn report_error(e: ReportError) -> anyhow::Error {
    match e {
        ReportError::EmptyWindow { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other),
    }
}

fn delivery_reports(
    source: &DigestSource,
    url: &str,
    now: (Timestamp, Timestamp),
    before: (Timestamp, Timestamp),
) -> anyhow::Result<(Report, Report)> {
    let mut d = crate::report::delivery_defaults(source.config.as_deref(), url)?;
    d.now = Some(jiff::Timestamp::now().as_second());
    let history = match &source.path {
        Some(path) => {
            d.path = Some(path.display().to_string());
            if let Some(text) = crate::delivery_config::read_codeowners(path) {
                d.codeowners = crate::delivery_config::default_owners(&text);
            }
            Some(nextneck_git::load(
                path,
                &nextneck_git::LoadOptions::default(),
                &mut nextneck_git::NoProgress,
            )?)
        }
        None => {
            if d.link_changes == nextneck_metrics::delivery::ChangeLinking::CommitRange {
                return Err(UsageError(
                    "linking changes by commit range needs the clone: pass its PATH".to_owned(),
                )
                .into());
            }
            None
        }
    };
    let mut report = |(since, until): (Timestamp, Timestamp)| -> anyhow::Result<Report> {
        d.window = range(since, until);
        db::delivery_report(url, history.as_ref(), &mut d)?.map_err(report_error)
    };
    Ok((report(now)?, report(before)?))
}

/// Each value stream of the store over both periods; a stream with no
/// event in a period, or whose configured stages are not in its log, is
/// left out.
fn stream_reports(
    url: &str,
    config: Option<&crate::config::Config>,
    now: (Timestamp, Timestamp),
    before: (Timestamp, Timestamp),
) -> anyhow::Result<Vec<(FlowReport, FlowReport)>> {
    let stored = db::read_events(url, nextneck_metrics::flow_events::KINDS)?;
    let traced = nextneck_store::traced(&stored);
    let logs = nextneck_metrics::flow_events::stream_logs(&traced, &db::redact(url));
    let mut out = Vec::new();
    for (name, log) in &logs {
        let base = config
            .and_then(|c| c.streams.get(name))
            .map_or_else(|| FlowSettings::new(name), |s| s.flow_settings(name));
        let report = |(since, until): (Timestamp, Timestamp)| {
            let mut s = base.clone();
            s.window = range(since, until);
            s.now = Some(until);
            nextneck_metrics::flow::flow_report(log, &s).ok()
        };
        if let (Some(n), Some(b)) = (report(now), report(before)) {
            out.push((n, b));
        }
    }
    Ok(out)
}

/// Posts the digest; retries a failed connection, a 429 or a 5xx answer
/// (up to [`ATTEMPTS`] attempts, waiting `backoff`, then twice as long each
/// time); any other answer than 2xx is an error at once. Returns the
/// attempts made.
pub fn post(digest: &Digest, chat: Chat, url: &str, backoff: Duration) -> anyhow::Result<u32> {
    let body = nextneck_render::digest::payload(digest, chat).to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut wait = backoff;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let sent = agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.as_str());
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(attempt);
                }
                let text = response
                    .body_mut()
                    .with_config()
                    .limit(4096)
                    .read_to_string()
                    .unwrap_or_default();
                last = format!("HTTP {status} {}", text.trim());
                if status != 429 && status < 500 {
                    return Err(anyhow::anyhow!(
                        "{chat:?} refused the digest at {}: {last}; check the webhook URL and that the service is {chat:?}",
                        host_of(url)
                    ));
                }
            }
            Err(e) => last = e.to_string(),
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
    Err(anyhow::anyhow!(
        "could not post the digest to {chat:?} at {} after {ATTEMPTS} attempts (last: {last}); the digest was not delivered, run again later",
        host_of(url)
    ))
}

/// The days of the week, as `[digest] weekday` names them.
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `[digest]` checked: where, when, and over how many days.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The service.
    pub chat: Chat,
    /// The webhook.
    pub url: String,
    /// 0 = Monday.
    pub weekday: i64,
    /// Hour, UTC.
    pub hour: i64,
    /// Period length, days.
    pub days: i64,
}

impl DigestSection {
    /// The schedule, `None` when the section sets no `to`; a wrong value is
    /// an error saying what to write. `env_url` is `NEXTNECK_DIGEST_URL`.
    pub fn schedule(&self, env_url: Option<String>) -> Result<Option<Schedule>, UsageError> {
        let Some(to) = &self.to else {
            return Ok(None);
        };
        let chat = chat(to).map_err(|e| UsageError(format!("[digest] to: {e}")))?;
        let url = env_url
            .filter(|u| !u.is_empty())
            .or_else(|| self.url.clone())
            .ok_or_else(|| {
                UsageError(
                    "[digest] has no url; set url, or NEXTNECK_DIGEST_URL, to the incoming webhook"
                        .to_owned(),
                )
            })?;
        webhook_url(&url).map_err(|e| UsageError(format!("[digest] url: {e}")))?;
        let day = self
            .weekday
            .as_deref()
            .unwrap_or("monday")
            .to_ascii_lowercase();
        let weekday = WEEKDAYS.iter().position(|d| *d == day).ok_or_else(|| {
            UsageError(format!(
                "[digest] weekday: `{day}` is not a day; use monday to sunday"
            ))
        })?;
        let hour = self.hour.unwrap_or(8);
        if hour > 23 {
            return Err(UsageError(format!(
                "[digest] hour: {hour} is not an hour; use 0 to 23 (UTC)"
            )));
        }
        let days = self.days.unwrap_or(7);
        if !(1..=366).contains(&days) {
            return Err(UsageError(format!(
                "[digest] days: {days} is not a period; use 1 to 366"
            )));
        }
        Ok(Some(Schedule {
            chat,
            url,
            weekday: weekday as i64,
            hour: i64::from(hour),
            days: i64::from(days),
        }))
    }
}

impl Schedule {
    /// The first time strictly after `now` on the schedule's weekday and hour.
    pub fn next_after(&self, now: Timestamp) -> Timestamp {
        let today = day_floor(now);
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        let weekday_today = (today / DAY + 3).rem_euclid(7);
        let ahead = (self.weekday - weekday_today).rem_euclid(7);
        let candidate = today + ahead * DAY + self.hour * 3600;
        if candidate > now {
            candidate
        } else {
            candidate + WEEK
        }
    }

    /// The period a digest posted at `at` covers: the `days` whole days
    /// before `at`'s day.
    pub fn period(&self, at: Timestamp) -> (Timestamp, Timestamp) {
        let until = day_floor(at);
        (until - self.days * DAY, until)
    }

    /// In words, for the server's banner.
    pub fn describe(&self) -> String {
        format!(
            "posting the digest of the last {} days to {:?} every {} at {:02}:00 UTC",
            self.days,
            self.chat,
            WEEKDAYS.get(self.weekday as usize).unwrap_or(&"monday"),
            self.hour
        )
    }
}

/// `nextneck serve`'s scheduler: a thread that sleeps until the next
/// scheduled time, computes the digest of the store and posts it. A failed
/// post is reported on standard error and tried again an hour later (at
/// most until the next scheduled time), never dropped silently.
pub fn spawn_scheduler(schedule: Schedule, db: String, config: Option<PathBuf>) {
    let source = DigestSource {
        path: None,
        db: Some(db),
        config,
    };
    // Undocumented, for the tests: the first digest this many seconds after
    // the start instead of at the scheduled time.
    let mut first = std::env::var("NEXTNECK_DIGEST_FIRST_IN_SECONDS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok());
    std::thread::spawn(move || {
        loop {
            let now = jiff::Timestamp::now().as_second();
            let at = match first.take() {
                Some(n) => now + n,
                None => schedule.next_after(now),
            };
            sleep_until(at);
            let (since, until) = schedule.period(at);
            let mut retry_at = at;
            loop {
                match compute(&source, since, until)
                    .and_then(|d| post(&d, schedule.chat, &schedule.url, backoff()))
                {
                    Ok(_) => {
                        log(&format!("posted the digest to {:?}", schedule.chat));
                        break;
                    }
                    Err(e) => {
                        retry_at += 3600;
                        let give_up = retry_at >= schedule.next_after(at);
                        log(&format!(
                            "the digest was not posted: {e:#}{}",
                            if give_up {
                                "; the next one is due, this one is given up"
                            } else {
                                "; trying again in an hour"
                            }
                        ));
                        if give_up {
                            break;
                        }
                        sleep_until(retry_at);
                    }
                }
            }
        }
    });
}

fn sleep_until(at: Timestamp) {
    loop {
        let now = jiff::Timestamp::now().as_second();
        if now >= at {
            return;
        }
        // Short naps: a suspended machine or a changed clock is noticed.
        std::thread::sleep(Duration::from_secs((at - now).clamp(1, 60) as u64));
    }
}

fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "nextneck serve: {line}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn section(to: &str, weekday: Option<&str>, hour: Option<u8>) -> DigestSection {
        DigestSection {
            to: Some(to.to_owned()),
            url: Some("https://hooks.example/x".to_owned()),
            weekday: weekday.map(str::to_owned),
            hour,
            days: None,
        }
    }

    /// 2024-03-15T10:30:00Z, a Friday.
    const FRIDAY: i64 = 1_710_498_600;

    fn check(weekday: &str, hour: u8, now: i64, want: &str) {
        let s = section("slack", Some(weekday), Some(hour))
            .schedule(None)
            .unwrap()
            .unwrap();
        assert_eq!(
            nextneck_metrics::time::rfc3339(s.next_after(now)),
            want,
            "{weekday} {hour}"
        );
    }

    #[test]
    fn the_next_scheduled_time() {
        check("monday", 8, FRIDAY, "2024-03-18T08:00:00Z");
        check("friday", 11, FRIDAY, "2024-03-15T11:00:00Z");
        check("friday", 10, FRIDAY, "2024-03-22T10:00:00Z");
        check("Friday", 9, FRIDAY, "2024-03-22T09:00:00Z");
        check("saturday", 0, FRIDAY, "2024-03-16T00:00:00Z");
        check("thursday", 23, FRIDAY, "2024-03-21T23:00:00Z");
        check(
            "monday",
            8,
            1_710_748_800 + 8 * 3600,
            "2024-03-25T08:00:00Z",
        );
    }

    #[test]
    fn the_period_is_the_whole_days_before() {
        let s = section("teams", None, None)
            .schedule(None)
            .unwrap()
            .unwrap();
        let (since, until) = s.period(1_710_748_800 + 8 * 3600);
        assert_eq!(
            (
                nextneck_metrics::time::rfc3339(since),
                nextneck_metrics::time::rfc3339(until)
            ),
            (
                "2024-03-11T00:00:00Z".to_owned(),
                "2024-03-18T00:00:00Z".to_owned()
            )
        );
    }

    #[test]
    fn mistakes_in_the_section_are_named() {
        let cases: [(DigestSection, &str); 5] = [
            (
                section("irc", None, None),
                "[digest] to: `irc` is not a chat service",
            ),
            (
                section("slack", Some("funday"), None),
                "`funday` is not a day",
            ),
            (section("slack", None, Some(24)), "24 is not an hour"),
            (
                DigestSection {
                    url: None,
                    ..section("slack", None, None)
                },
                "[digest] has no url",
            ),
            (
                DigestSection {
                    url: Some("hooks.slack.com/x".to_owned()),
                    ..section("slack", None, None)
                },
                "must start with https://",
            ),
        ];
        for (s, want) in cases {
            let err = s.schedule(None).unwrap_err().0;
            assert!(err.contains(want), "{err}");
        }
        assert_eq!(DigestSection::default().schedule(None).unwrap(), None);
        let from_env = DigestSection {
            url: None,
            ..section("discord", None, None)
        }
        .schedule(Some("https://discord.example/api/webhooks/1/x".to_owned()))
        .unwrap()
        .unwrap();
        assert_eq!(from_env.url, "https://discord.example/api/webhooks/1/x");
        assert_eq!(host_of(&from_env.url), "https://discord.example/…");
    }
}
