//! The read side: the dashboard pages, the JSON API under `/api/v1/` and
//! the read token in front of them (and of `/metrics`).
//!
//! Every figure is computed by `nextneck-metrics` from the store's events
//! with the settings the CLI resolved, and rendered by `nextneck-render`
//! exactly as the CLI renders it: `/api/v1/report` is the bytes of
//! `nextneck report --db URL --format json` for the same window and
//! filters, `/api/v1/streams/{name}` those of `nextneck flow --db URL
//! --stream NAME --format json`. Store reads, computations and rendering
//! run on blocking threads, never on the async runtime, each under a permit
//! of the limit on report computations (`gate`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine as _;
use nextneck_ingest::signature;
use nextneck_metrics::delivery::Filter;
use nextneck_metrics::flow::{FlowError, FlowReport, FlowSettings};
use nextneck_metrics::forecast::{
    DEFAULT_SEED, DEFAULT_TRIALS, ForecastError, ForecastReport, ForecastSettings,
};
use nextneck_metrics::{DeliverySettings, Report, ReportError, WindowSpec};
use nextneck_model::Timestamp;
use nextneck_model::flow::EventLog;
use nextneck_render::Format;
use nextneck_render::dashboard::{self, Query};
use nextneck_store::{Store, StoreError};

use crate::answers::answer;
use crate::{ApiError, AppState, Shared, error_chain};

/// Most Monte Carlo trials one request may ask for (the CLI allows more;
/// a server shares its cores).
pub(crate) const MAX_TRIALS: u32 = 1_000_000;

/// Most idle store connections kept for reads.
const IDLE_READERS: usize = 4;

/// Store connections for reads: taken from the idle ones or opened, and
/// given back after a successful read.
pub(crate) struct Readers {
    url: String,
    idle: Mutex<Vec<Box<dyn Store>>>,
}

impl Readers {
    fn run<T>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut store = match idle {
            Some(s) => s,
            None => nextneck_store::open(&self.url)?,
        };
        let result = f(store.as_mut());
        if result.is_ok() {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(store);
            }
        }
        result
    }
}

impl Drop for Readers {
    /// Closes the idle connections on a thread of their own: the
    /// PostgreSQL client must not close inside the async runtime, where the
    /// last [`AppState`] is usually dropped.
    fn drop(&mut self) {
        let idle = std::mem::take(
            self.idle
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if idle.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}

/// What the read side knows: its store, its token, its settings.
pub(crate) struct ReadSide {
    readers: Readers,
    token: Option<String>,
    pub(crate) delivery: DeliverySettings,
    streams: BTreeMap<String, FlowSettings>,
}

impl ReadSide {
    pub(crate) fn new(
        db_url: &str,
        token: Option<String>,
        delivery: DeliverySettings,
        streams: BTreeMap<String, FlowSettings>,
    ) -> ReadSide {
        ReadSide {
            readers: Readers {
                url: db_url.to_owned(),
                idle: Mutex::new(Vec::new()),
            },
            token: token.filter(|t| !t.is_empty()),
            delivery,
            streams,
        }
    }
}

// ---------------------------------------------------------------------------
// Routes.

/// The JSON API: path and handler. The router is built from this list and
/// the OpenAPI test walks it.
pub(crate) fn api_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/v1/report", get(api_report)),
        ("/api/v1/streams", get(api_streams)),
        ("/api/v1/streams/{name}", get(api_stream)),
        ("/api/v1/streams/{name}/forecast", get(api_forecast)),
        ("/api/v1/openapi.json", get(api_openapi)),
    ]
}

/// The read routes, each behind the read token when one is set.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let mut api = Router::new();
    for (path, handler) in api_routes() {
        api = api.route(path, handler);
    }
    let api = api
        .route("/metrics", get(crate::exposition::metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_token_json,
        ));
    let pages = Router::new()
        .route("/", get(page_report))
        .route("/explain", get(page_explain))
        .route("/streams", get(page_streams))
        .route("/streams/{name}", get(page_stream))
        .route("/streams/{name}/forecast", get(page_forecast))
        .route_layer(middleware::from_fn_with_state(state, require_token_html));
    api.merge(pages)
}

// ---------------------------------------------------------------------------
// The read token.

/// `Authorization: Bearer TOKEN`, or HTTP Basic with the token as the
/// password (any user name), compared in constant time.
fn authorized(token: &str, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once(' ') else {
        return false;
    };
    if scheme.eq_ignore_ascii_case("bearer") {
        return signature::verify_token(token, Some(rest.trim()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        let Some((_, password)) = text.split_once(':') else {
            return false;
        };
        return signature::verify_token(token, Some(password));
    }
    false
}

const TOKEN_HINT: &str = "send the read token (NEXTNECK_READ_TOKEN) as Authorization: Bearer TOKEN, or as the password of HTTP Basic authentication";

async fn require_token_json(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match &state.shared.read.token {
        Some(token) if !authorized(token, req.headers()) => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("this server needs its read token: {TOKEN_HINT}"),
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nextneck\""),
            );
            response
        }
        _ => next.run(req).await,
    }
}

async fn require_token_html(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match &state.shared.read.token {
        Some(token) if !authorized(token, req.headers()) => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Html(dashboard::error_page(
                    401,
                    &format!("This dashboard needs its read token: {TOKEN_HINT}."),
                )),
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"nextneck\", charset=\"UTF-8\""),
            );
            response
        }
        _ => next.run(req).await,
    }
}

// ---------------------------------------------------------------------------
// Query parameters.

/// The decoded `name=value` pairs of a query string, in order.
pub(crate) struct Params(Vec<(String, String)>);

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

fn bad(name: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_parameter",
        format!("{name}: {message}"),
    )
}

impl Params {
    pub(crate) fn parse(query: Option<&str>) -> Params {
        Params(
            query
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// Every parameter is one of `known`.
    fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_parameter",
                format!(
                    "{k}: no such parameter here; this endpoint takes {}",
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// The non-empty values of a repeatable parameter (an HTML form sends
    /// empty fields as empty values).
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The value of a parameter given at most once; empty is absent.
    fn one(&self, name: &str) -> Result<Option<String>, ApiError> {
        let mut values = self.all(name);
        if values.len() > 1 {
            return Err(bad(name, "given more than once; pass it once".to_owned()));
        }
        Ok(values.pop())
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        let present = self.0.iter().any(|(k, _)| k == name);
        match self.one(name)?.as_deref() {
            None => Ok(present),
            Some("true" | "1" | "on" | "yes") => Ok(true),
            Some("false" | "0" | "off" | "no") => Ok(false),
            Some(other) => Err(bad(
                name,
                format!("`{other}` is not a yes or no; use true or false"),
            )),
        }
    }

    fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.one(name)?
            .map(|v| nextneck_metrics::time::parse_time(&v).map_err(|e| bad(name, e)))
            .transpose()
    }

    fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
        &self,
        name: &str,
        min: T,
        max: T,
    ) -> Result<Option<T>, ApiError> {
        self.one(name)?
            .map(|v| match v.parse::<T>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                _ => Err(bad(
                    name,
                    format!("`{v}` is not a whole number from {min} to {max}"),
                )),
            })
            .transpose()
    }

    /// `since`, `until`, `all`: the window, checked as the CLI checks it.
    fn window(&self) -> Result<WindowSpec, ApiError> {
        let since = self.time("since")?;
        let until = self.time("until")?;
        let all = self.flag("all")?;
        if all && (since.is_some() || until.is_some()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "conflicting_parameters",
                "all: the whole history cannot be combined with since or until; pass one or the other",
            ));
        }
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "empty_window",
                "since must be before until",
            ));
        }
        Ok(if all {
            WindowSpec::All
        } else if since.is_some() || until.is_some() {
            WindowSpec::Range { since, until }
        } else {
            WindowSpec::Default
        })
    }

    /// Takes a dashboard page's `refresh` (seconds between reloads, from
    /// [`MIN_REFRESH`] to [`MAX_REFRESH`]) out of the parameters, so that
    /// the rest is checked as for the API.
    fn take_refresh(&mut self) -> Result<Option<u32>, ApiError> {
        let refresh = self.number("refresh", MIN_REFRESH, MAX_REFRESH)?;
        self.0.retain(|(k, _)| k != "refresh");
        Ok(refresh)
    }

    /// The dashboard's echo of the filter form.
    fn form(&self, read: &ReadSide, refresh: Option<u32>) -> Query {
        Query {
            refresh,
            since: self.all("since").into_iter().next(),
            until: self.all("until").into_iter().next(),
            all: self.flag("all").unwrap_or(false),
            repos: self.all("repo"),
            services: self.all("service"),
            teams: self.all("team"),
            known_teams: read.delivery.teams.iter().map(|t| t.name.clone()).collect(),
        }
    }
}

/// The shortest reload interval a dashboard page takes, in seconds.
const MIN_REFRESH: u32 = 5;
/// The longest: a day.
const MAX_REFRESH: u32 = 86_400;

/// What a delivery request asks for.
pub(crate) struct DeliveryQuery {
    pub(crate) window: WindowSpec,
    pub(crate) filter: Filter,
    pub(crate) explain: bool,
}

const REPORT_PARAMS: &[&str] = &[
    "since", "until", "all", "repo", "service", "team", "explain",
];

fn delivery_query(p: &Params, read: &ReadSide) -> Result<DeliveryQuery, ApiError> {
    p.only(REPORT_PARAMS)?;
    let window = p.window()?;
    let teams = p.all("team");
    for team in &teams {
        if !read
            .delivery
            .teams
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(team))
        {
            let known: Vec<&str> = read
                .delivery
                .teams
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_team",
                format!(
                    "team: no team `{team}` in the [teams] of the server's nextneck.toml ({})",
                    if known.is_empty() {
                        "it has none".to_owned()
                    } else {
                        format!("it has {}", known.join(", "))
                    }
                ),
            ));
        }
    }
    Ok(DeliveryQuery {
        window,
        filter: Filter {
            repositories: p.all("repo"),
            services: p.all("service"),
            teams,
        },
        explain: p.flag("explain")?,
    })
}

// ---------------------------------------------------------------------------
// Computing, on a blocking thread.

pub(crate) fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed to answer; its log says why",
    )
}

/// Runs `f` on a blocking thread, outside the limit on report
/// computations (for what is small: `/metrics`' store status).
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Shared) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state.shared))
        .await
        .unwrap_or_else(|_| Err(internal()))
}

/// Runs a report computation `f` (store read, metrics, render) on a
/// blocking thread once the report gate admits it (`503 busy` when it does
/// not, see `gate`); the permit is given back as soon as `f` returns, before
/// the answer is written.
pub(crate) async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Shared) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state.shared.reports.admit().await?;
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let result = f(&state.shared);
        drop(permit);
        result
    })
    .await
    .unwrap_or_else(|_| Err(internal()))
}

/// Reads from the store; a failure is counted, logged and answered 503
/// without its details.
pub(crate) fn read_store<T>(
    shared: &Shared,
    f: impl FnOnce(&mut dyn Store) -> Result<T, StoreError>,
) -> Result<T, ApiError> {
    shared.read.readers.run(f).map_err(|e| {
        shared.health.store_error("read");
        eprintln!(
            "nextneck serve: could not read the event store: {}",
            error_chain(&e)
        );
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the event store could not be read; retry later",
        )
    })
}

/// The delivery report over the store, as `report --db` computes it.
pub(crate) fn delivery_report(
    shared: &Shared,
    q: &DeliveryQuery,
    series: bool,
) -> Result<Report, ApiError> {
    let mut settings = shared.read.delivery.clone();
    settings.window = q.window;
    settings.filter = q.filter.clone();
    settings.explain = q.explain;
    settings.series = series;
    // Only an empty store's default window depends on it.
    settings.now = Some(crate::now_ms() / 1000);
    // A store failure is the store's 503; an empty window the caller's 400.
    let report = crate::delivery_report_over(
        |settings, reading| {
            let read = read_store(shared, |s| {
                match crate::delivery_events(s, settings, reading) {
                    Err(crate::ReadEventsError::Store(e)) => Err(e),
                    read => Ok(read),
                }
            })?;
            read.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "empty_window", e.to_string()))
        },
        None,
        &mut settings,
    )?;
    report.map_err(|e| match e {
        ReportError::EmptyWindow { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "empty_window", e.to_string())
        }
        other => {
            eprintln!("nextneck serve: the report failed: {other}");
            internal()
        }
    })
}

/// Every stream of the store, as `flow --db` reads them.
fn stream_logs(shared: &Shared) -> Result<BTreeMap<String, EventLog>, ApiError> {
    let stored = read_store(shared, |s| {
        s.events_of_kinds(nextneck_metrics::flow_events::KINDS)
    })?;
    Ok(nextneck_metrics::flow_events::stream_logs(
        &nextneck_store::traced(&stored),
        &shared.read.delivery.db,
    ))
}

/// A stream's settings: the configured ones, else the defaults.
fn flow_settings(shared: &Shared, name: &str, window: WindowSpec) -> FlowSettings {
    let mut settings = shared
        .read
        .streams
        .get(name)
        .cloned()
        .unwrap_or_else(|| FlowSettings::new(name));
    settings.stream = name.to_owned();
    settings.window = window;
    settings
}

fn flow_error(name: &str, e: FlowError) -> ApiError {
    match e {
        FlowError::EmptyWindow { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "empty_window", e.to_string())
        }
        FlowError::UnknownStage { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "stream_settings",
            format!(
                "stream `{name}`: {e}; fix [streams.{name}] in the server's nextneck.toml and restart it"
            ),
        ),
        FlowError::Empty => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_stream",
            format!("stream `{name}` has no events"),
        ),
    }
}

fn unknown_stream(name: &str, logs: &BTreeMap<String, EventLog>) -> ApiError {
    let names: Vec<&str> = logs.keys().map(String::as_str).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_stream",
        format!(
            "no stream `{name}` in the store ({}); streams come from stage.transition events and Jira status changes",
            if names.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", names.join(", "))
            }
        ),
    )
}

/// Every stream's flow report, by name.
pub(crate) fn stream_reports(
    shared: &Shared,
    window: WindowSpec,
) -> Result<Vec<FlowReport>, ApiError> {
    let logs = stream_logs(shared)?;
    let mut reports = Vec::with_capacity(logs.len());
    for (name, log) in &logs {
        let settings = flow_settings(shared, name, window);
        reports.push(
            nextneck_metrics::flow::flow_report(log, &settings).map_err(|e| flow_error(name, e))?,
        );
    }
    Ok(reports)
}

/// Every stream's flow report that can be computed; the others are logged
/// and left out (for `/metrics`, which shows what it can).
pub(crate) fn stream_reports_each(
    shared: &Shared,
    window: WindowSpec,
) -> Result<Vec<FlowReport>, ApiError> {
    let logs = stream_logs(shared)?;
    let mut reports = Vec::with_capacity(logs.len());
    for (name, log) in &logs {
        match nextneck_metrics::flow::flow_report(log, &flow_settings(shared, name, window)) {
            Ok(r) => reports.push(r),
            Err(e) => eprintln!("nextneck serve: stream {name}: {e}"),
        }
    }
    Ok(reports)
}

fn stream_report(shared: &Shared, name: &str, window: WindowSpec) -> Result<FlowReport, ApiError> {
    let logs = stream_logs(shared)?;
    let log = logs.get(name).ok_or_else(|| unknown_stream(name, &logs))?;
    nextneck_metrics::flow::flow_report(log, &flow_settings(shared, name, window))
        .map_err(|e| flow_error(name, e))
}

const FORECAST_PARAMS: &[&str] = &["items", "days", "seed", "trials", "since", "until"];

struct ForecastQuery {
    items: Option<u64>,
    days: Option<u64>,
    seed: u64,
    trials: u32,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

fn forecast_query(p: &Params) -> Result<ForecastQuery, ApiError> {
    p.only(FORECAST_PARAMS)?;
    let q = ForecastQuery {
        items: p.number("items", 1, u64::MAX)?,
        days: p.number("days", 1, u64::MAX)?,
        seed: p.number("seed", 0, u64::MAX)?.unwrap_or(DEFAULT_SEED),
        trials: p.number("trials", 1, MAX_TRIALS)?.unwrap_or(DEFAULT_TRIALS),
        since: p.time("since")?,
        until: p.time("until")?,
    };
    if q.items.is_none() && q.days.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            "items or days: ask when items=N will be done, or how many will be done in days=D",
        ));
    }
    if let (Some(s), Some(u)) = (q.since, q.until)
        && s >= u
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_window",
            "since must be before until",
        ));
    }
    Ok(q)
}

fn stream_forecast(
    shared: &Shared,
    name: &str,
    q: &ForecastQuery,
) -> Result<ForecastReport, ApiError> {
    let logs = stream_logs(shared)?;
    let log = logs.get(name).ok_or_else(|| unknown_stream(name, &logs))?;
    let flow = flow_settings(shared, name, WindowSpec::Default);
    let (completions, newest, oldest) =
        nextneck_metrics::flow::completions(log, &flow).map_err(|e| flow_error(name, e))?;
    let settings = ForecastSettings {
        unit: "items",
        source: name.to_owned(),
        items: q.items,
        days: q.days,
        trials: q.trials,
        seed: q.seed,
        since: q.since,
        until: q.until,
    };
    nextneck_metrics::forecast::forecast(&completions, newest, oldest, &settings).map_err(|e| {
        match e {
            ForecastError::EmptyHistory { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "empty_window", e.to_string())
            }
            ForecastError::NothingAsked => {
                ApiError::new(StatusCode::BAD_REQUEST, "missing_parameter", e.to_string())
            }
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_forecast",
                other.to_string(),
            ),
        }
    })
}

// ---------------------------------------------------------------------------
// JSON API.

/// Renders JSON into a body (on the computation's thread, under its
/// permit).
fn json_body(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    write(&mut body).map_err(|_| internal())?;
    Ok(body)
}

fn json_response(result: Result<Vec<u8>, ApiError>) -> Response {
    match result {
        Ok(body) => (
            [(header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn api_report(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let key = format!("api/report?{}", query.as_deref().unwrap_or(""));
    json_response(
        answer(&state, &state.shared.json_answers, key, move |shared| {
            let q = delivery_query(&Params::parse(query.as_deref()), &shared.read)?;
            let report = delivery_report(shared, &q, false)?;
            json_body(|out| nextneck_render::json(&report, out))
        })
        .await
        .map(|body| body.as_ref().clone()),
    )
}

async fn api_streams(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    json_response(
        compute(&state, move |shared| {
            let p = Params::parse(query.as_deref());
            p.only(&["since", "until", "all"])?;
            let reports = stream_reports(shared, p.window()?)?;
            let refs: Vec<&FlowReport> = reports.iter().collect();
            let overview = nextneck_metrics::flow::overview(&refs);
            json_body(|out| {
                nextneck_render::flow::render_streams(&reports, &overview, Format::Json, false, out)
            })
        })
        .await,
    )
}

async fn api_stream(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    json_response(
        compute(&state, move |shared| {
            let p = Params::parse(query.as_deref());
            p.only(&["since", "until", "all"])?;
            let report = stream_report(shared, &name, p.window()?)?;
            json_body(|out| nextneck_render::flow::render_flow(&report, Format::Json, false, out))
        })
        .await,
    )
}

async fn api_forecast(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    json_response(
        compute(&state, move |shared| {
            let q = forecast_query(&Params::parse(query.as_deref()))?;
            let report = stream_forecast(shared, &name, &q)?;
            json_body(|out| {
                nextneck_render::flow::render_forecast(&report, Format::Json, false, out)
            })
        })
        .await,
    )
}

async fn api_openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}

// ---------------------------------------------------------------------------
// Dashboard pages.

fn html_response(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(page) => Html(page).into_response(),
        Err(e) => {
            let mut response = (
                e.status,
                Html(dashboard::error_page(e.status.as_u16(), &e.message)),
            )
                .into_response();
            e.headers_onto(&mut response);
            response
        }
    }
}

async fn page_report(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let key = format!("report?{}", query.as_deref().unwrap_or(""));
    html_response(
        answer(&state, &state.shared.page_answers, key, move |shared| {
            let mut p = Params::parse(query.as_deref());
            let refresh = p.take_refresh()?;
            let q = delivery_query(&p, &shared.read)?;
            let report = delivery_report(shared, &q, true)?;
            Ok(dashboard::delivery_page(
                &report,
                &p.form(&shared.read, refresh),
            ))
        })
        .await
        .map(|page| page.as_ref().clone()),
    )
}

async fn page_explain(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let key = format!("explain?{}", query.as_deref().unwrap_or(""));
    html_response(
        answer(&state, &state.shared.page_answers, key, move |shared| {
            let mut p = Params::parse(query.as_deref());
            let refresh = p.take_refresh()?;
            let mut q = delivery_query(&p, &shared.read)?;
            q.explain = true;
            let report = delivery_report(shared, &q, false)?;
            Ok(dashboard::explain_page(
                &report,
                &p.form(&shared.read, refresh),
            ))
        })
        .await
        .map(|page| page.as_ref().clone()),
    )
}

async fn page_streams(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    html_response(
        compute(&state, move |shared| {
            let mut p = Params::parse(query.as_deref());
            let refresh = p.take_refresh()?;
            p.only(&["since", "until", "all"])?;
            let reports = stream_reports(shared, p.window()?)?;
            let refs: Vec<&FlowReport> = reports.iter().collect();
            let overview = nextneck_metrics::flow::overview(&refs);
            Ok(dashboard::streams_page(
                &reports,
                &overview,
                &p.form(&shared.read, refresh),
            ))
        })
        .await,
    )
}

async fn page_stream(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    html_response(
        compute(&state, move |shared| {
            let mut p = Params::parse(query.as_deref());
            let refresh = p.take_refresh()?;
            p.only(&["since", "until", "all"])?;
            let report = stream_report(shared, &name, p.window()?)?;
            Ok(dashboard::stream_page(
                &report,
                &p.form(&shared.read, refresh),
            ))
        })
        .await,
    )
}

async fn page_forecast(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    html_response(
        compute(&state, move |shared| {
            let mut p = Params::parse(query.as_deref());
            let refresh = p.take_refresh()?;
            let q = forecast_query(&p)?;
            let report = stream_forecast(shared, &name, &q)?;
            Ok(dashboard::forecast_page(
                &report,
                &name,
                &Query {
                    refresh,
                    ..Query::default()
                },
            ))
        })
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_auth(token: &str, header: Option<&str>, expected: bool) {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(h).expect("a header value"),
            );
        }
        assert_eq!(authorized(token, &headers), expected, "{header:?}");
    }

    #[test]
    fn the_read_token_as_bearer_or_basic_password() {
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        check_auth("s3cret", Some("Bearer s3cret"), true);
        check_auth("s3cret", Some("bearer   s3cret "), true);
        check_auth("s3cret", Some(&basic("anyone:s3cret")), true);
        check_auth("s3cret", Some(&basic(":s3cret")), true);
        check_auth("s3cret", Some(&basic("s3cret:")), false);
        check_auth("s3cret", Some(&basic("s3cret")), false);
        check_auth("s3cret", Some("Basic not-base64!"), false);
        check_auth("s3cret", Some("Bearer s3cre"), false);
        check_auth("s3cret", Some("Token s3cret"), false);
        check_auth("s3cret", Some("s3cret"), false);
        check_auth("s3cret", None, false);
    }

    fn check_params(query: &str, expected: Result<(WindowSpec, Filter, bool), &str>) {
        let read = ReadSide::new(
            "sqlite:x.db",
            None,
            {
                let mut d = DeliverySettings::new("sqlite:x.db");
                d.teams = vec![nextneck_metrics::delivery::TeamRule {
                    name: "web".into(),
                    ..Default::default()
                }];
                d
            },
            BTreeMap::new(),
        );
        let got = delivery_query(&Params::parse(Some(query)), &read)
            .map(|q| (q.window, q.filter, q.explain))
            .map_err(|e| format!("{} {}: {}", e.status.as_u16(), e.code, e.message));
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(format!("{got:?}"), format!("{want:?}"), "{query}"),
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{query}: {got}"),
            (got, want) => panic!("{query}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn report_parameters_map_to_the_filter_and_window() {
        let filter = |r: &[&str], s: &[&str], t: &[&str]| Filter {
            repositories: r.iter().map(|x| x.to_string()).collect(),
            services: s.iter().map(|x| x.to_string()).collect(),
            teams: t.iter().map(|x| x.to_string()).collect(),
        };
        check_params("", Ok((WindowSpec::Default, filter(&[], &[], &[]), false)));
        check_params(
            "repo=acme%2Fshop&repo=acme/web-*&service=checkout&team=web&explain",
            Ok((
                WindowSpec::Default,
                filter(&["acme/shop", "acme/web-*"], &["checkout"], &["web"]),
                true,
            )),
        );
        check_params(
            "since=2024-01-01&until=2024-01-15T00%3A00%3A00Z&repo=&service=&team=",
            Ok((
                WindowSpec::Range {
                    since: Some(1_704_067_200),
                    until: Some(1_705_276_800),
                },
                filter(&[], &[], &[]),
                false,
            )),
        );
        check_params(
            "all=on",
            Ok((WindowSpec::All, filter(&[], &[], &[]), false)),
        );
        check_params(
            "all=true&explain=false",
            Ok((WindowSpec::All, filter(&[], &[], &[]), false)),
        );
        check_params(
            "since=yesterday",
            Err("400 bad_parameter: since: `yesterday` is not a date"),
        );
        check_params(
            "since=2024-02-01&until=2024-01-01",
            Err("400 empty_window: since must be before until"),
        );
        check_params(
            "all=1&since=2024-01-01",
            Err("400 conflicting_parameters: all:"),
        );
        check_params(
            "explain=maybe",
            Err("400 bad_parameter: explain: `maybe` is not a yes or no"),
        );
        check_params(
            "since=2024-01-01&since=2024-02-01",
            Err("400 bad_parameter: since: given more than once"),
        );
        check_params(
            "repos=x",
            Err(
                "400 unknown_parameter: repos: no such parameter here; this endpoint takes since, until, all, repo, service, team, explain",
            ),
        );
        check_params(
            "team=mobile",
            Err(
                "400 unknown_team: team: no team `mobile` in the [teams] of the server's nextneck.toml (it has web)",
            ),
        );
    }

    type Asked = (Option<u64>, Option<u64>, u64, u32);

    #[test]
    fn forecast_parameters() {
        let check = |query: &str, expected: Result<Asked, &str>| {
            let got = forecast_query(&Params::parse(Some(query)))
                .map(|q| (q.items, q.days, q.seed, q.trials))
                .map_err(|e| format!("{} {}: {}", e.status.as_u16(), e.code, e.message));
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{query}"),
                (Err(got), Err(want)) => assert!(got.starts_with(want), "{query}: {got}"),
                (got, want) => panic!("{query}: got {got:?}, want {want:?}"),
            }
        };
        check(
            "items=10",
            Ok((Some(10), None, DEFAULT_SEED, DEFAULT_TRIALS)),
        );
        check("days=14&seed=7&trials=500", Ok((None, Some(14), 7, 500)));
        check("", Err("400 missing_parameter: items or days"));
        check(
            "items=0",
            Err("400 bad_parameter: items: `0` is not a whole number from 1"),
        );
        check("items=-3", Err("400 bad_parameter: items:"));
        check(
            "trials=1000001&items=1",
            Err("400 bad_parameter: trials: `1000001` is not a whole number from 1 to 1000000"),
        );
        check("item=3", Err("400 unknown_parameter: item:"));
    }
}
