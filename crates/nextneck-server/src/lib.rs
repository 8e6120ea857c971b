//! `nextneck serve`: the webhook server, and the read side over its store
//! (the dashboard at `/`, the JSON API under `/api/v1/`, `/metrics`). Only
//! this crate knows HTTP; it computes nothing itself: figures come from
//! `nextneck-metrics`, pages and JSON from `nextneck-render`.
//!
//! A webhook request goes: provider served? → size cap (413) → authentication in
//! constant time (401) → the body converted as processing will convert it
//! (400 when malformed) → the raw delivery handed to the writer thread,
//! which commits many requests in one durable transaction → 202 (or 200 for
//! a redelivery). Nothing is stored before authentication and validation
//! succeed, and nothing is acknowledged before it is durable. Processing
//! into normalized events runs afterwards, on another thread, from the
//! store's queue ([`process_pending`]), so it survives restarts.
//!
//! A read request goes: the read token, when one is set (401) → a permit of
//! the limit on report computations (`max_reports` at once, `report_queue`
//! waiting at most 30 s, else `503 busy` with `Retry-After`) → on a blocking
//! thread, its query parameters checked (400 naming the parameter) → the
//! store's events read from a small pool of connections → the report
//! computed with the settings the CLI resolved ([`Options`]) → rendered as
//! the CLI renders it, so `/api/v1/report` is byte for byte `report --db URL
//! --format json` → the permit given back, then the answer written.

mod answers;
mod exposition;
mod gate;
mod listener;
mod read;

pub use gate::ReportPermit;
pub use listener::{Limits, available_cores};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use nextneck_ingest::{Provider, convert, dedupe_key, signature};
use nextneck_metrics::DeliverySettings;
use nextneck_metrics::flow::FlowSettings;
use nextneck_store::{Appended, NewDelivery, Origin, Processed, Store, StoreError};
use serde::Serialize;
use tokio::sync::oneshot;

/// The webhook secrets; a provider without one is not served.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// `NEXTNECK_GITHUB_SECRET`: HMAC key of `X-Hub-Signature-256`.
    pub github: Option<String>,
    /// `NEXTNECK_GITLAB_TOKEN`: the `X-Gitlab-Token` value.
    pub gitlab: Option<String>,
    /// `NEXTNECK_PAGERDUTY_SECRET`: HMAC key of `X-PagerDuty-Signature`.
    pub pagerduty: Option<String>,
    /// `NEXTNECK_JIRA_SECRET`: HMAC key of `X-Hub-Signature`.
    pub jira: Option<String>,
    /// `NEXTNECK_OPSGENIE_TOKEN`: the bearer token.
    pub opsgenie: Option<String>,
    /// `NEXTNECK_EVENTS_TOKEN`: the bearer token of `POST /hooks/events`.
    pub events: Option<String>,
}

impl Secrets {
    /// The secret of a provider, if it is served.
    pub fn get(&self, provider: Provider) -> Option<&str> {
        let s = match provider {
            Provider::Github => &self.github,
            Provider::Gitlab => &self.gitlab,
            Provider::Pagerduty => &self.pagerduty,
            Provider::Jira => &self.jira,
            Provider::Opsgenie => &self.opsgenie,
            // JUnit reports are uploaded with the generic events' token.
            Provider::Events | Provider::Junit => &self.events,
        };
        s.as_deref().filter(|s| !s.is_empty())
    }

    /// The providers served, in URL order.
    pub fn served(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| self.get(*p).is_some())
            .collect()
    }
}

/// A server error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A thread could not be started.
    #[error("could not start the {0} thread")]
    Thread(&'static str, #[source] std::io::Error),
}

type Reply = oneshot::Sender<Result<Appended, ()>>;

struct Shared {
    secrets: Secrets,
    writer: mpsc::SyncSender<(NewDelivery, Reply)>,
    read: read::ReadSide,
    reports: gate::ReportGate,
    /// The delivery report routes' answers, kept until the store changes.
    json_answers: answers::Answers<Vec<u8>>,
    page_answers: answers::Answers<String>,
    health: Arc<exposition::Health>,
    limits: Limits,
    bodies: Arc<listener::BodyBudget>,
    connections: Arc<listener::Registry>,
    writes: WriteHealth,
}

/// When deliveries were last stored and last refused by the store, for
/// `/healthz`.
#[derive(Default)]
struct WriteHealth {
    last_ok_ms: AtomicI64,
    last_failed_ms: AtomicI64,
}

impl WriteHealth {
    fn record(&self, ok: bool) {
        let at = if ok {
            &self.last_ok_ms
        } else {
            &self.last_failed_ms
        };
        at.store(now_ms(), Ordering::SeqCst);
    }

    /// When the last write failed, if no write succeeded since.
    fn failing_since(&self) -> Option<i64> {
        let failed = self.last_failed_ms.load(Ordering::SeqCst);
        (failed > 0 && failed >= self.last_ok_ms.load(Ordering::SeqCst)).then_some(failed)
    }
}

/// What the router needs: the secrets, the way to the writer thread, and
/// the read side's settings and store connections.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

impl AppState {
    /// Bytes of request bodies buffered now, across all requests.
    pub fn body_bytes_held(&self) -> usize {
        self.shared.bodies.used()
    }

    /// The most bytes of request bodies ever buffered at once.
    pub fn body_bytes_peak(&self) -> usize {
        self.shared.bodies.peak()
    }

    /// Connections held now by [`serve`].
    pub fn connections_held(&self) -> usize {
        self.shared.connections.held()
    }

    /// Report computations running now.
    pub fn reports_running(&self) -> usize {
        self.shared.reports.running()
    }

    /// Report requests waiting for a computation to finish now.
    pub fn reports_waiting(&self) -> usize {
        self.shared.reports.waiting()
    }

    /// Report answers served from memory since the start, because the
    /// store had not changed since they were computed.
    pub fn answers_from_memory(&self) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        self.shared.json_answers.hits.load(Relaxed) + self.shared.page_answers.hits.load(Relaxed)
    }

    /// Takes a report permit as a request would, waiting as long as it
    /// takes and outside the queue's count; the server computes one report
    /// fewer at once until it is dropped. For tests.
    #[doc(hidden)]
    pub async fn hold_report_permit(&self) -> Option<ReportPermit> {
        self.shared.reports.hold().await
    }
}

/// The running background threads; dropping it (and every [`AppState`])
/// stops them after the work in hand.
pub struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    /// Stops the processor and waits for both threads (the writer ends once
    /// every [`AppState`] is dropped).
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Webhook secrets.
    pub secrets: Secrets,
    /// Run the processor thread (tests turn it off to process explicitly).
    pub process: bool,
    /// Most deliveries committed in one transaction.
    pub max_batch: usize,
    /// Requests waiting for the writer beyond which the server answers 503.
    pub queue_limit: usize,
    /// `NEXTNECK_READ_TOKEN`: when set, the dashboard, `/api/v1/*` and
    /// `/metrics` answer only requests carrying it.
    pub read_token: Option<String>,
    /// The delivery report's settings as the CLI resolved them from
    /// `nextneck.toml` (`[delivery]`, `[services.*]`, `[teams.*]`); each
    /// request sets the window, the filter and `explain`.
    pub delivery: DeliverySettings,
    /// The configured value streams' settings, by name; a stream of the
    /// store that is not configured gets [`FlowSettings::new`].
    pub streams: BTreeMap<String, FlowSettings>,
    /// Connections, timeouts, buffered bytes and report computations
    /// ([`Limits::default`]).
    pub limits: Limits,
}

impl Options {
    /// Defaults: processing on, batches of up to 1,000, 20,000 waiting, no
    /// read token, the default delivery settings, no configured stream.
    pub fn new(secrets: Secrets) -> Options {
        Options {
            secrets,
            process: true,
            max_batch: 1000,
            queue_limit: 20_000,
            read_token: None,
            delivery: DeliverySettings::new(""),
            streams: BTreeMap::new(),
            limits: Limits::default(),
        }
    }
}

/// Opens the store (one connection for the writer, one for the processor)
/// and starts the threads. The connections are opened on those threads, so
/// this can be called from inside an async runtime.
pub fn start(db_url: &str, options: Options) -> Result<(AppState, Workers), ServerError> {
    let (tx, rx) = mpsc::sync_channel::<(NewDelivery, Reply)>(options.queue_limit);
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let max_batch = options.max_batch.max(1);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), StoreError>>();
    let health = Arc::new(exposition::Health::default());
    let url = db_url.to_owned();
    let ready = ready_tx.clone();
    let writer_health = Arc::clone(&health);
    threads.push(
        thread::Builder::new()
            .name("nextneck-writer".into())
            .spawn(move || match nextneck_store::open(&url) {
                Ok(store) => {
                    let _ = ready.send(Ok(()));
                    writer(store, rx, wake_tx, max_batch, &writer_health);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| ServerError::Thread("writer", e))?,
    );
    let mut expected = 1;
    if options.process {
        expected += 1;
        let stop = Arc::clone(&stop);
        let url = db_url.to_owned();
        let ready = ready_tx.clone();
        let processor_health = Arc::clone(&health);
        threads.push(
            thread::Builder::new()
                .name("nextneck-processor".into())
                .spawn(move || match nextneck_store::open(&url) {
                    Ok(store) => {
                        let _ = ready.send(Ok(()));
                        processor(store, wake_rx, stop, &processor_health);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                })
                .map_err(|e| ServerError::Thread("processor", e))?,
        );
    }
    drop(ready_tx);
    for _ in 0..expected {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                stop.store(true, Ordering::SeqCst);
                return Err(e.into());
            }
            Err(_) => {
                return Err(ServerError::Thread(
                    "store",
                    std::io::Error::other("exited"),
                ));
            }
        }
    }
    let state = AppState {
        shared: Arc::new(Shared {
            secrets: options.secrets,
            writer: tx,
            read: read::ReadSide::new(
                db_url,
                options.read_token,
                options.delivery,
                options.streams,
            ),
            reports: gate::ReportGate::new(
                options.limits.max_reports,
                options.limits.report_queue,
                options.limits.report_wait,
            ),
            json_answers: answers::Answers::default(),
            page_answers: answers::Answers::default(),
            health,
            bodies: Arc::new(listener::BodyBudget::new(
                options.limits.max_body_bytes_in_flight,
            )),
            limits: options.limits,
            connections: Arc::default(),
            writes: WriteHealth::default(),
        }),
    };
    Ok((state, Workers { stop, threads }))
}

/// Group commit: wait for one request, take every other one already
/// waiting (up to `max_batch`), append them in one transaction, answer each.
fn writer(
    mut store: Box<dyn Store>,
    rx: mpsc::Receiver<(NewDelivery, Reply)>,
    wake: mpsc::Sender<()>,
    max_batch: usize,
    health: &exposition::Health,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let (deliveries, replies): (Vec<NewDelivery>, Vec<Reply>) = batch.into_iter().unzip();
        let results = append_isolated(store.as_mut(), &deliveries, health);
        if results.iter().any(Result::is_ok) {
            let _ = wake.send(());
        }
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// Appends a group commit's deliveries in one transaction; when that fails
/// and there are several, appends each alone, so that one delivery the
/// store refuses fails alone (503) and the others are acknowledged.
fn append_isolated(
    store: &mut dyn Store,
    deliveries: &[NewDelivery],
    health: &exposition::Health,
) -> Vec<Result<Appended, ()>> {
    let failed = |e: &StoreError, n: usize| {
        health.store_error("append");
        eprintln!(
            "nextneck serve: could not store {n} deliveries: {}",
            error_chain(e)
        );
    };
    match store.append(deliveries) {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(e) => {
            failed(&e, deliveries.len());
            if deliveries.len() == 1 {
                return vec![Err(())];
            }
            deliveries
                .iter()
                .map(|d| match store.append(std::slice::from_ref(d)) {
                    Ok(mut r) => r.pop().ok_or(()),
                    Err(e) => {
                        failed(&e, 1);
                        Err(())
                    }
                })
                .collect()
        }
    }
}

fn processor(
    mut store: Box<dyn Store>,
    wake: mpsc::Receiver<()>,
    stop: Arc<AtomicBool>,
    health: &exposition::Health,
) {
    while !stop.load(Ordering::SeqCst) {
        const LIMIT: usize = 500;
        // A panic in the store's code must not end processing for good.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            process_batch(store.as_mut(), LIMIT)
        }));
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                health.store_error("process");
                eprintln!(
                    "nextneck serve: processing panicked: {}",
                    panic_message(panic.as_ref())
                );
                thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        match result {
            // A backlog: keep going.
            Ok(n) if n >= LIMIT => {}
            Ok(_) => {
                // Caught up: wait for the writer (or poll for deliveries
                // another server stored in a shared database), then let a
                // few commits accumulate, so processing takes the database's
                // write lock a few times a second, not once per commit.
                let _ = wake.recv_timeout(Duration::from_millis(200));
                thread::sleep(Duration::from_millis(100));
                while wake.try_recv().is_ok() {}
            }
            Err(e) => {
                health.store_error("process");
                eprintln!("nextneck serve: processing failed: {}", error_chain(&e));
                thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Converts one stored delivery into normalized events, as the server did
/// when it accepted it (with today's definitions). A delivery that cannot be
/// converted, or whose conversion panics, is [`Processed::Failed`] with the
/// reason: recorded, set aside, never retried in a loop.
pub fn process_delivery(d: &nextneck_store::Delivery) -> Processed {
    let Some(provider) = Provider::parse(&d.delivery.provider) else {
        return Processed::Unknown;
    };
    let converted =
        std::panic::catch_unwind(|| convert(provider, &d.delivery.headers, &d.delivery.body));
    match converted {
        Ok(Ok(c)) => match c.events {
            Some(events) => Processed::Events(events),
            None => Processed::Unknown,
        },
        Ok(Err(e)) => Processed::Failed(e.to_string()),
        Err(panic) => Processed::Failed(format!(
            "converting it panicked ({}); please report this delivery",
            panic_message(panic.as_ref())
        )),
    }
}

/// The text of a panic's payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    nextneck_ingest::escape_control(&text)
}

/// Processes up to `limit` queued deliveries in one transaction (what the
/// processor thread does each time); returns how many.
pub fn process_batch(store: &mut dyn Store, limit: usize) -> Result<usize, StoreError> {
    store.process(limit, &mut process_delivery)
}

/// Processes queued deliveries until the queue is empty (or every queued
/// delivery is held by another process); returns how many.
pub fn process_pending(store: &mut dyn Store) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = process_batch(store, 500)?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// Why the events of a delivery report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadEventsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The window is empty.
    #[error(transparent)]
    Window(#[from] nextneck_metrics::ReportError),
}

/// How much of the store a delivery report reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The window widened by the look-back
    /// ([`nextneck_metrics::delivery::read_range`]), or everything when
    /// that holds every event.
    Window,
    /// Every event.
    Whole,
}

/// The events a delivery report over `settings` reads, and `settings.read`
/// set to what was read: through the store's derived tables for
/// [`Reading::Window`], else every event.
pub fn delivery_events(
    store: &mut dyn Store,
    settings: &mut DeliverySettings,
    reading: Reading,
) -> Result<Vec<nextneck_store::StoredEvent>, ReadEventsError> {
    use nextneck_metrics::delivery::{KINDS, read_range};
    settings.read = match reading {
        Reading::Whole => None,
        Reading::Window => {
            let (oldest, newest) = store.event_times(KINDS)?;
            read_range(settings, oldest, newest)?
        }
    };
    Ok(match settings.read {
        None => store.events_of_kinds(KINDS)?,
        Some(read) => store.events_in_range(
            KINDS,
            nextneck_store::ReadRange {
                from: read.since,
                until: read.until,
            },
        )?,
    })
}

/// The delivery report over a store, the one computation of `report
/// --db`, `digest`, the API, the dashboard and `/metrics`: over the
/// window's read (`read` with [`Reading::Window`]); and when that read was
/// cut and a deployment of the window is the first of its service in it (a
/// baseline that a deployment before the read would contradict: a
/// repository that releases less often than the look-back), over every
/// event, so that its changes count as they would. Read errors are the
/// outer result, the report's the inner.
pub fn delivery_report_over<E>(
    mut read: impl FnMut(&mut DeliverySettings, Reading) -> Result<Vec<nextneck_store::StoredEvent>, E>,
    history: Option<&nextneck_model::History>,
    settings: &mut DeliverySettings,
) -> Result<Result<nextneck_metrics::Report, nextneck_metrics::ReportError>, E> {
    let stored = read(settings, Reading::Window)?;
    let report =
        nextneck_metrics::delivery_report(&nextneck_store::traced(&stored), history, settings);
    let cut_baseline = settings.read.is_some()
        && report
            .as_ref()
            .is_ok_and(|r| r.dora.deployments.baseline_in_window);
    if !cut_baseline {
        return Ok(report);
    }
    drop(stored);
    let stored = read(settings, Reading::Whole)?;
    Ok(nextneck_metrics::delivery_report(
        &nextneck_store::traced(&stored),
        history,
        settings,
    ))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The router: `GET /healthz`, `POST /hooks/{provider}`, and the read
/// side: the dashboard pages, `/api/v1/*` and `/metrics` (behind the read
/// token when one is set).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/hooks/{provider}", post(hook))
        .merge(read::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// The paths of the JSON API, as the router serves them (axum's
/// `{name}` captures): what `/api/v1/openapi.json` must describe.
pub fn api_paths() -> Vec<&'static str> {
    read::api_routes()
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// The OpenAPI 3.1 document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A stable JSON error: `{"code": "...", "message": "..."}`, with a
/// `Retry-After` header when the client should come back.
#[derive(Debug, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
    #[serde(skip)]
    retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Tells the client to retry after `seconds`.
    pub(crate) fn retry_after(mut self, seconds: u32) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// Adds the `Retry-After` header, if any, to a response made of this
    /// error (the JSON error or a dashboard's error page).
    pub(crate) fn headers_onto(&self, response: &mut Response) {
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(&self)).into_response();
        self.headers_onto(&mut response);
        response
    }
}

/// Liveness and whether writes succeed: 200 `{"status": "ok"}` unless the
/// store refused the last deliveries it was given (503 `{"status":
/// "failing", ...}` until one is stored again).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.shared.writes.failing_since() {
        None => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Some(ms) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "status": "failing",
                "message": "the store refused the last deliveries (deliveries are answered 503); see the server's log",
                "failing_since_ms": ms,
            })),
        )
            .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; webhooks go to POST /hooks/{github,gitlab,pagerduty,opsgenie,jira,events,junit}, the API is described at GET /api/v1/openapi.json, the dashboard is GET /",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "webhooks are POST requests; the dashboard, the API, /metrics and /healthz are GET requests",
    )
}

#[derive(Serialize)]
struct Accepted {
    status: &'static str,
    delivery_id: i64,
}

/// Headers never stored: credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-gitlab-token",
];

fn env_name(p: Provider) -> &'static str {
    match p {
        Provider::Github => "NEXTNECK_GITHUB_SECRET",
        Provider::Gitlab => "NEXTNECK_GITLAB_TOKEN",
        Provider::Pagerduty => "NEXTNECK_PAGERDUTY_SECRET",
        Provider::Jira => "NEXTNECK_JIRA_SECRET",
        Provider::Opsgenie => "NEXTNECK_OPSGENIE_TOKEN",
        Provider::Events | Provider::Junit => "NEXTNECK_EVENTS_TOKEN",
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unauthorized(p: Provider) -> ApiError {
    let what = match p {
        Provider::Github => "a valid X-Hub-Signature-256",
        Provider::Gitlab => "a valid X-Gitlab-Token",
        Provider::Pagerduty => "a valid X-PagerDuty-Signature",
        Provider::Jira => "a valid X-Hub-Signature",
        _ => "a valid Authorization: Bearer token",
    };
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("the request needs {what}; nothing was stored"),
    )
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the body is larger than this endpoint's limit of {} MiB; nothing was stored",
            limit / (1024 * 1024)
        ),
    )
}

/// A webhook, counted by provider and status code for `/metrics`.
async fn hook(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let provider = Provider::parse(&name).map_or("unknown", Provider::as_str);
    let mut response = receive(state.clone(), name, request)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    // A refused request's body may be unread: close rather than wait for it.
    if !response.status().is_success() {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    state
        .shared
        .health
        .received(provider, response.status().as_u16());
    response
}

async fn receive(state: AppState, name: String, request: Request) -> Result<Response, ApiError> {
    let provider = Provider::parse(&name).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_provider",
                format!(
                    "no webhook for {name:?}; use github, gitlab, pagerduty, opsgenie, jira, events or junit"
                ),
            )
        })?;
    let secret = state.shared.secrets.get(provider).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "provider_not_configured",
            format!(
                "this server does not accept {provider} webhooks; set {} to serve them",
                env_name(provider)
            ),
        )
    })?;
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let limit = provider.body_limit();
    let declared = header_str(&headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit as u64
    {
        return Err(too_large(limit));
    }
    // Token schemes are checked before the body is even read.
    let token_ok = match provider {
        Provider::Gitlab => Some(signature::verify_token(
            secret,
            header_str(&headers, "x-gitlab-token"),
        )),
        Provider::Opsgenie | Provider::Events | Provider::Junit => Some(signature::verify_bearer(
            secret,
            header_str(&headers, "authorization"),
        )),
        _ => None,
    };
    if token_ok == Some(false) {
        return Err(unauthorized(provider));
    }
    let declared = declared.and_then(|n| usize::try_from(n).ok());
    let (body, _held) = read_body(body, limit, declared, &state.shared).await?;
    let signed_ok = match provider {
        Provider::Github => Some(signature::verify_sha256_header(
            secret.as_bytes(),
            &body,
            header_str(&headers, "x-hub-signature-256"),
        )),
        Provider::Jira => Some(signature::verify_sha256_header(
            secret.as_bytes(),
            &body,
            header_str(&headers, "x-hub-signature"),
        )),
        Provider::Pagerduty => Some(signature::verify_pagerduty(
            secret.as_bytes(),
            &body,
            header_str(&headers, "x-pagerduty-signature"),
        )),
        _ => None,
    };
    if signed_ok == Some(false) {
        return Err(unauthorized(provider));
    }
    let stored_headers: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !SECRET_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    // Authenticated: now parse, exactly as processing will.
    let converted = convert(provider, &stored_headers, &body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_payload",
            format!("the {provider} payload cannot be read: {e}; nothing was stored"),
        )
    })?;
    let delivery = NewDelivery {
        provider: provider.as_str().to_owned(),
        dedupe_key: dedupe_key(provider, &stored_headers, &body),
        event_type: converted.event_type,
        origin: Origin::Webhook,
        headers: stored_headers,
        body,
        received_at_ms: now_ms(),
    };
    let (tx, rx) = oneshot::channel();
    let unavailable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the delivery could not be stored; nothing was acknowledged, retry later",
        )
    };
    state
        .shared
        .writer
        .try_send((delivery, tx))
        .map_err(|_| unavailable())?;
    let stored = rx.await;
    state.shared.writes.record(matches!(stored, Ok(Ok(_))));
    match stored {
        Ok(Ok(Appended::New(id))) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(Accepted {
                status: "accepted",
                delivery_id: id,
            }),
        )
            .into_response()),
        Ok(Ok(Appended::Duplicate(id))) => Ok((
            StatusCode::OK,
            axum::Json(Accepted {
                status: "duplicate",
                delivery_id: id,
            }),
        )
            .into_response()),
        _ => Err(unavailable()),
    }
}

/// Reads a body of at most `limit` bytes within the body timeout, holding
/// its bytes against the server's budget of buffered bodies (503 past it);
/// the bytes stay counted until the reservation is dropped. A declared
/// length is held before anything is read.
async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<usize>,
    shared: &Shared,
) -> Result<(Vec<u8>, listener::Reservation), ApiError> {
    let mut held = listener::Reservation::new(&shared.bodies);
    let mut buf: Vec<u8> = Vec::new();
    if let Some(n) = declared.filter(|&n| n > 0) {
        if !held.grow(n) {
            return Err(bodies_over_budget());
        }
        buf.reserve_exact(n);
    }
    let read = async {
        let mut buf = buf;
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| unreadable_body())?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let needed = buf.len() + data.len();
            if needed > limit {
                return Err(too_large(limit));
            }
            if needed > buf.capacity() {
                let target = needed.max(buf.capacity() * 2).min(limit);
                if !held.grow(target.saturating_sub(held.bytes())) {
                    return Err(bodies_over_budget());
                }
                buf.reserve_exact(target - buf.len());
            }
            buf.extend_from_slice(&data);
        }
        Ok(buf)
    };
    match tokio::time::timeout(shared.limits.body_timeout, read).await {
        Ok(result) => result.map(|buf| (buf, held)),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the body did not arrive within {} s; nothing was stored",
                shared.limits.body_timeout.as_secs()
            ),
        )),
    }
}

fn unreadable_body() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unreadable_body",
        "the request body could not be read; nothing was stored",
    )
}

fn bodies_over_budget() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        "the server is reading as many request bodies as it may hold (max_body_bytes_in_flight in [server]); nothing was stored, retry later",
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Serves the router on a bound listener until `shutdown` resolves, with
/// the connection limits and timeouts of [`Options::limits`] (see
/// `listener`), then lets the requests in hand finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.shared.limits.clone();
    let registry = Arc::clone(&state.shared.connections);
    listener::serve(listener, app(state), limits, registry, shutdown).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn delivery(key: &str) -> NewDelivery {
        NewDelivery {
            provider: "github".to_owned(),
            dedupe_key: key.to_owned(),
            event_type: "github:ping".to_owned(),
            origin: Origin::Webhook,
            headers: Vec::new(),
            body: b"{}".to_vec(),
            received_at_ms: 0,
        }
    }

    /// One delivery the database refuses (a trigger stands for a value a
    /// backend cannot hold) fails alone; the rest of its group commit is
    /// stored and acknowledged.
    fn check_isolation(url: &str, refuse: impl FnOnce()) {
        let mut store = nextneck_store::open(url).unwrap();
        refuse();
        let health = exposition::Health::default();
        let batch = [delivery("a"), delivery("poison"), delivery("b")];
        let got = append_isolated(store.as_mut(), &batch, &health);
        assert!(matches!(got[0], Ok(Appended::New(_))), "{got:?}");
        assert_eq!(got[1], Err(()));
        assert!(matches!(got[2], Ok(Appended::New(_))), "{got:?}");
        assert_eq!(store.deliveries().unwrap().len(), 2);
    }

    #[test]
    fn one_refused_delivery_fails_alone_in_a_group_commit_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        check_isolation(&format!("sqlite:{}", path.display()), || {
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER refuse BEFORE INSERT ON deliveries WHEN NEW.dedupe_key = 'poison'
                     BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
                )
                .unwrap();
        });
    }

    #[test]
    fn one_refused_delivery_fails_alone_in_a_group_commit_on_postgres() {
        let base = std::env::var("NEXTNECK_TEST_POSTGRES")
            .expect("NEXTNECK_TEST_POSTGRES must hold a PostgreSQL URL");
        let url = nextneck_store::fresh_postgres_schema(&base).unwrap();
        check_isolation(&url, || {
            postgres::Client::connect(&url, postgres::NoTls)
                .unwrap()
                .batch_execute(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN
                       IF NEW.dedupe_key = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF;
                       RETURN NEW;
                     END $$ LANGUAGE plpgsql;
                     CREATE TRIGGER refuse BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse();",
                )
                .unwrap();
        });
        nextneck_store::drop_postgres_schema(&url);
    }
}
