//! `GET /metrics`: the Prometheus text exposition format 0.0.4.
//!
//! Two parts. The figures (DORA, stages, streams) over the default window
//! come from the same reports as the API and are cached: the cache key is
//! the store's event counts per kind, which change whenever processing adds
//! events (events are only ever added, or thrown away and derived again by
//! `reprocess`), so a scrape recomputes only after something changed. The
//! service's health (deliveries received per provider and status code, the
//! processing backlog and lag, store errors, the report computations
//! running, waiting and refused) is read fresh on every scrape.
//! A figure that cannot be computed has no sample (never a made-up 0).
//!
//! Scrapes and the limit on report computations (`gate`): the store's
//! status and cached figures are read without a permit, so a scrape never
//! queues behind dashboards while the events are unchanged; a scrape that
//! must compute the figures again takes a permit like any report, and gets
//! `503 busy` when none frees in time (the next scrape tries again).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use nextneck_metrics::WindowSpec;
use nextneck_metrics::delivery::Filter;
use nextneck_metrics::report::Report;
use nextneck_store::Status;

use crate::gate::Refusal;
use crate::read::{
    DeliveryQuery, blocking, compute, delivery_report, read_store, stream_reports_each,
};
use crate::{AppState, Shared};

/// The exposition's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The server's own counters, and the cached figures.
#[derive(Default)]
pub(crate) struct Health {
    /// Webhook responses by provider and status code.
    received: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Store failures by operation.
    store_errors: Mutex<BTreeMap<&'static str, u64>>,
    /// How many times the figures were computed.
    computations: AtomicU64,
    /// The figures' text and the event counts it was computed from.
    cache: Mutex<Option<(String, String)>>,
    /// The store's status and the change mark it was read under.
    status: Mutex<Option<(String, Status)>>,
}

/// The operations whose store failures are counted.
const OPERATIONS: [&str; 3] = ["append", "process", "read"];

impl Health {
    /// Counts a webhook response.
    pub(crate) fn received(&self, provider: &'static str, status: u16) {
        let mut map = self
            .received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry((provider, status)).or_insert(0) += 1;
    }

    /// Counts a store failure (`append`, `process` or `read`).
    pub(crate) fn store_error(&self, operation: &'static str) {
        let mut map = self
            .store_errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry(operation).or_insert(0) += 1;
    }
}

/// The exposition text being written: families with HELP and TYPE lines,
/// then their samples.
struct Text(String);

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// A family of one unlabelled sample, absent when `None`.
    fn gauge(&mut self, name: &str, help: &str, value: Option<f64>) {
        self.family(name, "gauge", help);
        if let Some(v) = value {
            self.sample(name, &[], v);
        }
    }
}

/// The delivery figures of the default window.
fn delivery_figures(t: &mut Text, r: &Report) {
    let d = &r.dora;
    t.gauge(
        "nextneck_window_start_timestamp_seconds",
        "Start of the default window (the 90 days ending with the newest event's day), Unix seconds.",
        Some(r.window.since as f64),
    );
    t.gauge(
        "nextneck_window_end_timestamp_seconds",
        "End of the default window, exclusive, Unix seconds.",
        Some(r.window.until as f64),
    );
    t.gauge(
        "nextneck_deployments",
        "Successful production deployments in the window (what deployment frequency counts; failed attempts are not counted).",
        Some(d.deployments.count as f64),
    );
    t.gauge(
        "nextneck_deployment_frequency_per_week",
        "Deployments per week over the window.",
        d.deployment_frequency.per_week,
    );
    t.gauge(
        "nextneck_lead_time_median_seconds",
        "Median lead time for changes (first commit to production deployment), seconds.",
        d.lead_time.median_seconds,
    );
    t.gauge(
        "nextneck_lead_time_p85_seconds",
        "85th percentile of lead time for changes, seconds.",
        d.lead_time.p85_seconds,
    );
    t.gauge(
        "nextneck_change_failure_rate",
        "Failed deployments / deployments in the window, a fraction.",
        d.change_failure_rate.ratio,
    );
    t.gauge(
        "nextneck_failed_deployments",
        "Failed deployments in the window.",
        Some(d.change_failure_rate.failed as f64),
    );
    t.gauge(
        "nextneck_recovery_time_median_seconds",
        "Median failed deployment recovery time, seconds.",
        d.recovery_time.median_seconds,
    );
    t.gauge(
        "nextneck_recovery_time_p85_seconds",
        "85th percentile of failed deployment recovery time, seconds.",
        d.recovery_time.p85_seconds,
    );
    t.gauge(
        "nextneck_rework_rate",
        "Deployments that shipped a revert or a hotfix / deployments, a fraction.",
        d.rework_rate.ratio,
    );
    type StageFigure = fn(&nextneck_metrics::report::Stage) -> Option<f64>;
    let stage_families: [(&str, &str, StageFigure); 3] = [
        (
            "nextneck_stage_median_seconds",
            "Median time changes spent in each stage (coding, pickup, review, unreviewed, deploy), seconds.",
            |s| s.median_seconds,
        ),
        (
            "nextneck_stage_p85_seconds",
            "85th percentile of the time changes spent in each stage, seconds.",
            |s| s.p85_seconds,
        ),
        (
            "nextneck_stage_share",
            "Each stage's share of all change time, a fraction.",
            |s| s.share,
        ),
    ];
    for (name, help, figure) in stage_families {
        t.family(name, "gauge", help);
        for s in &r.stages {
            if let Some(v) = figure(s) {
                t.sample(name, &[("stage", s.name)], v);
            }
        }
    }
    t.family(
        "nextneck_bottleneck_share",
        "gauge",
        "The delivery bottleneck: the stage with the largest share of change time, and that share.",
    );
    if let Some(b) = &r.bottleneck {
        t.sample("nextneck_bottleneck_share", &[("stage", b.stage)], b.share);
    }
    let incidents = r.incidents.as_ref();
    t.gauge(
        "nextneck_incidents",
        "Incidents opened in the window.",
        incidents.map(|i| i.count as f64),
    );
    t.gauge(
        "nextneck_time_to_restore_median_seconds",
        "Median time from an incident's opening to its resolution, seconds.",
        incidents.and_then(|i| i.time_to_restore.median_seconds),
    );
}

/// The figures of every value stream of the store.
fn stream_figures(t: &mut Text, shared: &Shared) -> Result<(), crate::ApiError> {
    let reports = stream_reports_each(shared, WindowSpec::Default)?;
    type Figure = fn(&nextneck_metrics::flow::FlowReport) -> Option<f64>;
    let families: [(&str, &str, Figure); 3] = [
        (
            "nextneck_stream_wip",
            "Items in progress in each value stream.",
            |r| Some(r.flow.wip as f64),
        ),
        (
            "nextneck_stream_throughput_per_week",
            "Items finished per week in each value stream's window.",
            |r| Some(r.flow.throughput_per_week),
        ),
        (
            "nextneck_stream_flow_time_median_seconds",
            "Median flow time of the items each value stream finished in its window, seconds.",
            |r| r.flow.flow_time.median_seconds,
        ),
    ];
    for (name, help, figure) in families {
        t.family(name, "gauge", help);
        for r in &reports {
            if let Some(v) = figure(r) {
                t.sample(name, &[("stream", &r.source.stream)], v);
            }
        }
    }
    t.family(
        "nextneck_stream_bottleneck_share",
        "gauge",
        "Each value stream's bottleneck stage and its share of item time, a fraction.",
    );
    for r in &reports {
        if let Some(b) = &r.bottleneck {
            t.sample(
                "nextneck_stream_bottleneck_share",
                &[("stream", &r.source.stream), ("stage", &b.stage)],
                b.share,
            );
        }
    }
    t.family(
        "nextneck_stream_stage_median_seconds",
        "gauge",
        "Median time items stayed in each stage of each value stream, seconds.",
    );
    for r in &reports {
        for s in &r.stages {
            if let Some(v) = s.median_seconds {
                t.sample(
                    "nextneck_stream_stage_median_seconds",
                    &[("stream", &r.source.stream), ("stage", &s.name)],
                    v,
                );
            }
        }
    }
    Ok(())
}

/// The cache's key: the store's event counts per kind.
/// The store's status: read again only when the store's change mark moved
/// (counting every event of a large store on each scrape would cost
/// seconds).
fn status(shared: &Shared) -> Result<Status, crate::ApiError> {
    let mark = read_store(shared, |s| s.change_mark())?;
    let mut cache = shared
        .health
        .status
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached, status)) = cache.as_ref()
        && *cached == mark
    {
        return Ok(status.clone());
    }
    let status = read_store(shared, |s| s.status())?;
    *cache = Some((mark, status.clone()));
    Ok(status)
}

fn cache_key(status: &Status) -> String {
    format!("{:?}", status.events)
}

/// The cached figures, if the store's events did not change since they were
/// computed.
fn cached(shared: &Shared, key: &str) -> Option<String> {
    let cache = shared
        .health
        .cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .as_ref()
        .filter(|(cached_key, _)| cached_key == key)
        .map(|(_, text)| text.clone())
}

/// The figures' text: computed, or from the cache when the store's events
/// did not change (another scrape may have computed them meanwhile).
fn figures(shared: &Shared, key: String) -> Result<String, crate::ApiError> {
    let mut cache = shared
        .health
        .cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached_key, text)) = cache.as_ref()
        && *cached_key == key
    {
        return Ok(text.clone());
    }
    shared.health.computations.fetch_add(1, Ordering::SeqCst);
    let mut t = Text(String::new());
    let query = DeliveryQuery {
        window: WindowSpec::Default,
        filter: Filter::default(),
        explain: false,
    };
    let report = delivery_report(shared, &query, false)?;
    delivery_figures(&mut t, &report);
    stream_figures(&mut t, shared)?;
    *cache = Some((key, t.0.clone()));
    Ok(t.0)
}

/// The service's health, fresh.
fn health(t: &mut Text, shared: &Shared, status: &Status, now_ms: i64) {
    let h = &shared.health;
    t.family(
        "nextneck_build_info",
        "gauge",
        "The running nextneck's version; always 1.",
    );
    t.sample(
        "nextneck_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    t.family(
        "nextneck_deliveries_received_total",
        "counter",
        "Webhook requests this process answered, by provider and HTTP status code (202 accepted, 200 duplicate, 401, 400, 413, 503, ...).",
    );
    for ((provider, code), n) in h
        .received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
    {
        t.sample(
            "nextneck_deliveries_received_total",
            &[("provider", provider), ("status", &code.to_string())],
            *n as f64,
        );
    }
    t.family(
        "nextneck_deliveries_stored",
        "gauge",
        "Deliveries in the store, by provider (webhooks and imports, from every process).",
    );
    for p in &status.providers {
        t.sample(
            "nextneck_deliveries_stored",
            &[("provider", &p.provider)],
            p.deliveries as f64,
        );
    }
    t.family(
        "nextneck_events_stored",
        "gauge",
        "Normalized events in the store, by kind.",
    );
    for (kind, n) in &status.events {
        t.sample("nextneck_events_stored", &[("kind", kind)], *n as f64);
    }
    t.gauge(
        "nextneck_backlog_deliveries",
        "Stored deliveries waiting to be processed into events.",
        Some(status.backlog as f64),
    );
    t.gauge(
        "nextneck_processing_lag_seconds",
        "Age of the oldest delivery waiting to be processed, seconds; 0 when none waits.",
        Some(
            status
                .oldest_queued_at_ms
                .map_or(0.0, |at| ((now_ms - at).max(0) as f64) / 1000.0),
        ),
    );
    t.gauge(
        "nextneck_failed_deliveries",
        "Stored deliveries whose processing failed (see nextneck status; nextneck reprocess derives them again).",
        Some(status.failed as f64),
    );
    t.gauge(
        "nextneck_retrying_deliveries",
        "Queued deliveries whose events could not be stored yet; each is tried again, then set aside as failed.",
        Some(status.retrying as f64),
    );
    t.family(
        "nextneck_store_errors_total",
        "counter",
        "Event store failures in this process, by operation (append: storing webhooks; process: deriving events; read: the dashboard, API and /metrics).",
    );
    let errors = h
        .store_errors
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for op in OPERATIONS {
        t.sample(
            "nextneck_store_errors_total",
            &[("operation", op)],
            errors.get(op).copied().unwrap_or(0) as f64,
        );
    }
    t.family(
        "nextneck_report_computations_total",
        "counter",
        "Times this process computed the figures of /metrics (only after the store's events changed).",
    );
    t.sample(
        "nextneck_report_computations_total",
        &[],
        h.computations.load(Ordering::SeqCst) as f64,
    );
}

/// The limit on report computations: running, waiting, refused.
fn report_gate(t: &mut Text, gate: &crate::gate::ReportGate) {
    t.gauge(
        "nextneck_reports_running",
        "Report computations running now (dashboard pages, /api/v1 reports, a /metrics that recomputes).",
        Some(gate.running() as f64),
    );
    t.gauge(
        "nextneck_reports_max_running",
        "Report computations this process runs at once (max_reports in [server]).",
        Some(gate.max() as f64),
    );
    t.gauge(
        "nextneck_reports_waiting",
        "Report requests waiting now for a running computation to finish.",
        Some(gate.waiting() as f64),
    );
    t.family(
        "nextneck_reports_refused_total",
        "counter",
        "Report requests this process answered 503 busy, by reason (queue_full: report_queue requests were already waiting; wait_timeout: none finished within 30 s).",
    );
    for why in Refusal::ALL {
        t.sample(
            "nextneck_reports_refused_total",
            &[("reason", why.as_str())],
            gate.refused(why) as f64,
        );
    }
}

/// `GET /metrics`. The store's status is read outside the limit on report
/// computations, and cached figures are served without a permit, so a
/// scrape never queues behind dashboards while the store's events are
/// unchanged; only a recomputation takes a permit like any report (and may
/// get `503 busy`).
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    match scrape(&state).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn scrape(state: &AppState) -> Result<String, crate::ApiError> {
    let (status, key, hit) = blocking(state, |shared| {
        let status = status(shared)?;
        let key = cache_key(&status);
        let hit = cached(shared, &key);
        Ok((status, key, hit))
    })
    .await?;
    let text = match hit {
        Some(text) => text,
        None => compute(state, move |shared| figures(shared, key)).await?,
    };
    let mut t = Text(text);
    health(&mut t, &state.shared, &status, crate::now_ms());
    report_gate(&mut t, &state.shared.reports);
    Ok(t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_labels_and_skip_what_is_not_a_number() {
        let mut t = Text(String::new());
        t.family("x", "gauge", "Help with a \\ and a\nnewline.");
        t.sample("x", &[("a", "q\"uo\\te\nd"), ("b", "plain")], 0.25);
        t.sample("x", &[], 3600.0);
        t.sample("x", &[], f64::NAN);
        t.sample("x", &[], f64::INFINITY);
        t.gauge("y", "None has no sample.", None);
        assert_eq!(
            t.0,
            "# HELP x Help with a \\\\ and a\\nnewline.\n# TYPE x gauge\nx{a=\"q\\\"uo\\\\te\\nd\",b=\"plain\"} 0.25\nx 3600\n# HELP y None has no sample.\n# TYPE y gauge\n"
        );
    }
}
