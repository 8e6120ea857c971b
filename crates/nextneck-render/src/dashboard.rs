//! The pages of the served dashboard (`nextneck serve`, `GET /`): the
//! delivery report with a filter form, the detail behind every figure (the
//! report's `--explain` part), the value streams and a page per stream, and
//! forecasts. Built with the same kit as the HTML reports ([`crate::html`],
//! [`crate::views`]), so they look the same and stay self-contained: inline
//! CSS, no scripts, nothing from elsewhere. Links and forms are plain GET
//! requests; the server passes the query back in as a [`Query`]. A page
//! asked with `refresh=SECONDS` reloads itself (a `<meta http-equiv>`), for
//! a wall screen, and its links and forms keep the refresh.

use std::fmt::Write as _;

use nextneck_metrics::flow::{FlowReport, OverviewRow};
use nextneck_metrics::forecast::ForecastReport;
use nextneck_metrics::report::{DeliveryExplain, EventDeployment, Report};
use nextneck_metrics::time::{human, rfc3339};

use crate::html::{Voice, opt, page_in};
use crate::svg::esc;
use crate::views::{flow_sections, forecast_sections};

/// What the reader asked for: the filter form's values, echoed back into
/// the form and into every link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `since`, as given.
    pub since: Option<String>,
    /// `until`, as given.
    pub until: Option<String>,
    /// `all`.
    pub all: bool,
    /// `repo`, each.
    pub repos: Vec<String>,
    /// `service`, each.
    pub services: Vec<String>,
    /// `team`, each.
    pub teams: Vec<String>,
    /// The teams of the server's configuration, for the form's choice.
    pub known_teams: Vec<String>,
    /// `refresh`: reload the page every this many seconds.
    pub refresh: Option<u32>,
}

/// The refresh intervals the form offers, in seconds.
const REFRESH_CHOICES: [(u32, &str); 4] = [
    (60, "every minute"),
    (300, "every 5 minutes"),
    (900, "every 15 minutes"),
    (3600, "every hour"),
];

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl Query {
    /// The query string of the window alone (`since`, `until`, `all`).
    pub fn window_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.since {
            parts.push(format!("since={}", encode(s)));
        }
        if let Some(u) = &self.until {
            parts.push(format!("until={}", encode(u)));
        }
        if self.all {
            parts.push("all=true".to_owned());
        }
        parts.join("&")
    }

    /// `query` with this page's refresh, for the dashboard's own links.
    fn keep_refresh(&self, query: String) -> String {
        match self.refresh {
            Some(s) if query.is_empty() => format!("refresh={s}"),
            Some(s) => format!("{query}&refresh={s}"),
            None => query,
        }
    }

    /// The whole query string: the window and the filters.
    pub fn query_string(&self) -> String {
        let mut parts = vec![self.window_string()];
        for (name, values) in [
            ("repo", &self.repos),
            ("service", &self.services),
            ("team", &self.teams),
        ] {
            for v in values {
                parts.push(format!("{name}={}", encode(v)));
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join("&")
    }
}

/// `path?query`, or `path` when the query is empty.
fn href(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The path of a stream's page.
pub fn stream_path(name: &str) -> String {
    format!("/streams/{}", encode(name))
}

fn nav(current: &str, q: &Query) -> String {
    let window = q.window_string();
    let mut out = String::from("<nav aria-label=\"Dashboard\" class=\"nav\">");
    for (path, name, query) in [
        ("/", "Delivery", q.keep_refresh(q.query_string())),
        ("/explain", "Detail", q.keep_refresh(q.query_string())),
        ("/streams", "Value streams", q.keep_refresh(window)),
    ] {
        let current_attr = if path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}\"{current_attr}>{name}</a>",
            esc(&href(path, &query))
        );
    }
    out.push_str("<a href=\"/api/v1/openapi.json\">API</a><a href=\"/metrics\">Metrics</a></nav>");
    out
}

fn date_input(name: &str, label: &str, value: &Option<String>) -> String {
    let v = value.as_deref().unwrap_or("");
    // A plain date gets the date picker; a date-time stays text.
    let kind = if v.is_empty() || v.len() == 10 {
        "date"
    } else {
        "text"
    };
    format!(
        "<label>{label}<input type=\"{kind}\" name=\"{name}\" value=\"{}\"></label>",
        esc(v)
    )
}

fn window_inputs(q: &Query) -> String {
    format!(
        "{}{}<label class=\"check\"><input type=\"checkbox\" name=\"all\" value=\"true\"{}> whole history</label>{}",
        date_input("since", "Since", &q.since),
        date_input("until", "Until (exclusive)", &q.until),
        if q.all { " checked" } else { "" },
        refresh_select(q)
    )
}

/// The choice of how often the page reloads itself (a value given in the
/// address that is not one of the choices is kept as one).
fn refresh_select(q: &Query) -> String {
    let mut choices: Vec<(u32, String)> = REFRESH_CHOICES
        .iter()
        .map(|&(s, name)| (s, name.to_owned()))
        .collect();
    if let Some(s) = q.refresh
        && !choices.iter().any(|c| c.0 == s)
    {
        choices.push((s, format!("every {s} seconds")));
        choices.sort_by_key(|c| c.0);
    }
    let mut out =
        String::from("<label>Reload<select name=\"refresh\"><option value=\"\">never</option>");
    for (s, name) in choices {
        let selected = if q.refresh == Some(s) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{s}\"{selected}>{name}</option>");
    }
    out.push_str("</select></label>");
    out
}

/// A hidden field that keeps the page's refresh in a form without one.
fn refresh_hidden(q: &Query) -> String {
    q.refresh.map_or_else(String::new, |s| {
        format!("<input type=\"hidden\" name=\"refresh\" value=\"{s}\">")
    })
}

/// A page of the dashboard: its voice, and its refresh.
fn dashboard_page(title: &str, body: &str, q: &Query) -> String {
    page_in(title, body, Voice::Dashboard, q.refresh)
}

/// The delivery filter: repository, service, team and window.
fn filter_form(q: &Query, action: &str) -> String {
    let mut out = format!(
        "<form class=\"filter\" method=\"get\" action=\"{}\" aria-label=\"Filter\">",
        esc(action)
    );
    let text_inputs = |name: &str, label: &str, values: &[String], placeholder: &str| {
        let mut s = String::new();
        let shown: Vec<&str> = if values.is_empty() {
            vec![""]
        } else {
            values.iter().map(String::as_str).collect()
        };
        for v in shown {
            let _ = write!(
                s,
                "<label>{label}<input type=\"text\" name=\"{name}\" value=\"{}\" placeholder=\"{placeholder}\"></label>",
                esc(v)
            );
        }
        s
    };
    out.push_str(&text_inputs(
        "repo",
        "Repository",
        &q.repos,
        "acme/shop or acme/*",
    ));
    out.push_str(&text_inputs("service", "Service", &q.services, "checkout"));
    if !q.known_teams.is_empty() {
        out.push_str("<label>Team<select name=\"team\"><option value=\"\">any</option>");
        for t in &q.known_teams {
            let selected = if q.teams.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                " selected"
            } else {
                ""
            };
            let _ = write!(out, "<option value=\"{0}\"{selected}>{0}</option>", esc(t));
        }
        out.push_str("</select></label>");
    }
    out.push_str(&window_inputs(q));
    out.push_str("<button type=\"submit\">Show</button></form>");
    out
}

/// The window alone, for the streams' pages.
fn window_form(q: &Query, action: &str) -> String {
    format!(
        "<form class=\"filter\" method=\"get\" action=\"{}\" aria-label=\"Window\">{}<button type=\"submit\">Show</button></form>",
        esc(action),
        window_inputs(q)
    )
}

/// The anchor on the detail page that explains a figure.
fn anchor(figure: &str) -> Option<&'static str> {
    Some(match figure {
        "deployments" => "deployments",
        "lead_time" | "stages" => "changes",
        "change_failure_rate" => "failures",
        "recovery_time" => "recovery",
        "rework_rate" => "rework",
        _ => return None,
    })
}

/// The delivery report over the store, every figure linked to its detail.
pub fn delivery_page(report: &Report, q: &Query) -> String {
    let query = q.query_string();
    let link = |figure: &str| anchor(figure).map(|a| format!("{}#{a}", href("/explain", &query)));
    let mut body = nav("/", q);
    body.push_str(&filter_form(q, "/"));
    body.push_str(&crate::html::report_sections(
        report,
        &link,
        Voice::Dashboard,
    ));
    let detail = href("/explain", &query);
    let _ = write!(
        body,
        "<section><h2>Behind the figures</h2><p>Every figure above is computed from the events listed on the detail page: <a href=\"{0}#deployments\">deployments</a>, <a href=\"{0}#changes\">changes and their stages</a>, <a href=\"{0}#failures\">failures</a>, <a href=\"{0}#recovery\">recoveries</a>, <a href=\"{0}#incidents\">incidents</a> and <a href=\"{0}#unlinked\">what could not be linked</a>. The same figures as JSON: <a href=\"{1}\">{1}</a>.</p></section>",
        esc(&detail),
        esc(&href("/api/v1/report", &query))
    );
    dashboard_page(
        &format!("nextneck dashboard: {}", db_name(report)),
        &body,
        q,
    )
}

fn db_name(report: &Report) -> &str {
    report.source.db.as_deref().unwrap_or(&report.source.path)
}

/// A table that scrolls sideways on a narrow screen instead of overflowing,
/// its cells' inline Markdown rendered (a link rule's name, a reason that
/// quotes a value).
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    format!(
        "<div class=\"scroll\">{}</div>",
        crate::html::table_of(head, rows, crate::html::inline_markdown)
    )
}

fn opt_time(t: Option<i64>) -> String {
    t.map_or_else(|| "n/a".to_owned(), rfc3339)
}

fn opt_secs(v: Option<i64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |s| human(s as f64))
}

fn name_of(d: &EventDeployment) -> String {
    format!("{}:{}", d.thing.source, d.thing.id)
}

fn deliveries(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn section(id: &str, title: &str, intro: &str, content: String) -> String {
    format!(
        "<section id=\"{id}\"><h2>{}</h2><p class=\"muted\">{}</p>{content}</section>",
        esc(title),
        esc(intro)
    )
}

fn explain_sections(report: &Report, e: &DeliveryExplain) -> String {
    let d = &report.dora;
    let mut body = String::new();
    let rows: Vec<Vec<String>> = e
        .deployments
        .iter()
        .map(|x| {
            vec![
                name_of(x),
                rfc3339(x.time),
                x.status.to_owned(),
                x.service.clone().unwrap_or_default(),
                x.repository.clone().unwrap_or_default(),
                x.environment.clone().unwrap_or_default(),
                x.sha
                    .as_deref()
                    .map(|s| s.get(..12).unwrap_or(s).to_owned())
                    .unwrap_or_default(),
                x.changes.len().to_string(),
                if x.baseline {
                    "baseline: its changes get no lead time".to_owned()
                } else {
                    x.production.clone()
                },
                deliveries(&x.thing.deliveries),
            ]
        })
        .collect();
    body.push_str(&section(
        "deployments",
        &format!("Deployments ({})", e.deployments.len()),
        &format!(
            "Production deployments in the window, oldest first: the deployment frequency counts {} of them.",
            d.deployments.count
        ),
        table(
            &[
                "deployment",
                "time",
                "status",
                "service",
                "repository",
                "environment",
                "commit",
                "changes",
                "why production",
                "deliveries",
            ],
            &rows,
        ),
    ));
    let mut rows = Vec::new();
    for x in &e.deployments {
        for c in &x.changes {
            rows.push(vec![
                format!("{}:{}", c.thing.source, c.thing.id),
                c.title.clone().unwrap_or_default(),
                name_of(x),
                format!("`{}`: {}", c.link.rule, c.link.reason),
                opt_time(c.first_commit_at),
                if c.counted {
                    opt_secs(c.lead_time_seconds)
                } else {
                    "not counted".to_owned()
                },
                opt_secs(c.coding_seconds),
                opt_secs(c.pickup_seconds),
                opt_secs(c.review_seconds),
                opt_secs(c.deploy_seconds),
                deliveries(&c.thing.deliveries),
            ]);
        }
    }
    body.push_str(&section(
        "changes",
        &format!("Changes and their stages ({})", rows.len()),
        &format!(
            "Each change with the deployment that shipped it and why they are linked; lead time = coding + pickup + review + deploy. The median lead time ({}) is over the {} counted ones.",
            opt(d.lead_time.median_seconds, human),
            d.lead_time.changes
        ),
        table(
            &[
                "change",
                "title",
                "deployment",
                "linked by",
                "first commit",
                "lead time",
                "coding",
                "pickup",
                "review",
                "deploy",
                "deliveries",
            ],
            &rows,
        ),
    ));
    let failed: Vec<&EventDeployment> = e
        .deployments
        .iter()
        .filter(|x| !x.failed.is_empty())
        .collect();
    let rows: Vec<Vec<String>> = failed
        .iter()
        .map(|x| {
            vec![
                name_of(x),
                rfc3339(x.time),
                x.failed.join("; "),
                opt_secs(x.recovery_seconds),
                x.recovered_by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    body.push_str(&section(
        "failures",
        &format!("Failed deployments ({})", failed.len()),
        &format!(
            "A deployment failed when its status says so or an incident is linked to it: the change failure rate is {} of {} (deployments and failed attempts).",
            d.change_failure_rate.failed, crate::count(d.change_failure_rate.deployments, "attempt", "attempts")
        ),
        table(
            &[
                "deployment",
                "time",
                "why it failed",
                "recovery time",
                "recovered by",
            ],
            &rows,
        ),
    ));
    let recovered: Vec<Vec<String>> = failed
        .iter()
        .filter_map(|x| {
            Some(vec![
                name_of(x),
                human(x.recovery_seconds? as f64),
                x.recovered_by.clone()?,
            ])
        })
        .collect();
    body.push_str(&section(
        "recovery",
        &format!("Recoveries ({})", recovered.len()),
        &format!(
            "From a failed deployment to what recovered it: the median recovery time ({}) is over these.",
            opt(d.recovery_time.median_seconds, human)
        ),
        table(&["deployment", "recovery time", "recovered by"], &recovered),
    ));
    let rework: Vec<Vec<String>> = e
        .deployments
        .iter()
        .filter(|x| !x.rework.is_empty())
        .map(|x| vec![name_of(x), rfc3339(x.time), x.rework.join("; ")])
        .collect();
    body.push_str(&section(
        "rework",
        &format!("Rework ({})", rework.len()),
        "Deployments that shipped a revert or a hotfix.",
        table(&["deployment", "time", "what"], &rework),
    ));
    let rows: Vec<Vec<String>> = e
        .incidents
        .iter()
        .map(|i| {
            vec![
                format!("{}:{}", i.thing.source, i.thing.id),
                i.title.clone().unwrap_or_default(),
                i.service.clone().unwrap_or_default(),
                opt_time(i.opened_at),
                opt_time(i.resolved_at),
                opt_secs(i.time_to_restore_seconds),
                match (&i.deployment, &i.deployment_link) {
                    (Some(dep), Some(l)) => format!("{dep} (`{}`: {})", l.rule, l.reason),
                    _ => "none".to_owned(),
                },
                match (&i.postmortem, &i.postmortem_link) {
                    (Some(p), Some(l)) => format!("{p} (`{}`: {})", l.rule, l.reason),
                    _ => "none".to_owned(),
                },
                opt_secs(i.time_to_reflect_seconds),
            ]
        })
        .collect();
    body.push_str(&section(
        "incidents",
        &format!("Incidents ({})", e.incidents.len()),
        "Incidents opened in the window, oldest first, with the deployment and the postmortem each is linked to.",
        table(
            &[
                "incident",
                "title",
                "service",
                "opened",
                "resolved",
                "time to restore",
                "deployment",
                "postmortem",
                "time to reflect",
            ],
            &rows,
        ),
    ));
    let mut rows = Vec::new();
    for (what, list) in [
        ("change", &e.unlinked.changes),
        ("incident", &e.unlinked.incidents),
        ("postmortem", &e.unlinked.postmortems),
    ] {
        for u in list {
            rows.push(vec![
                what.to_owned(),
                format!("{}:{}", u.thing.source, u.thing.id),
                u.reason.clone(),
                deliveries(&u.thing.deliveries),
            ]);
        }
    }
    body.push_str(&section(
        "unlinked",
        &format!("Not linked ({})", rows.len()),
        "What could not be linked, and why.",
        table(&["what", "which", "why", "deliveries"], &rows),
    ));
    body
}

/// The detail behind the figures: the deployments, changes, failures,
/// recoveries, incidents and what could not be linked, each with the
/// deliveries it came from. The report must carry its `explain` part.
pub fn explain_page(report: &Report, q: &Query) -> String {
    let mut body = nav("/explain", q);
    body.push_str(&filter_form(q, "/explain"));
    let _ = write!(
        body,
        "<header><h1>Behind the figures</h1><p class=\"meta\">{} · window {} to {} · <a href=\"{}\">back to the figures</a></p></header>",
        esc(&crate::source_line(report)),
        esc(&rfc3339(report.window.since)),
        esc(&rfc3339(report.window.until)),
        esc(&href("/", &q.keep_refresh(q.query_string())))
    );
    match report.explain.as_ref().and_then(|e| e.delivery.as_ref()) {
        Some(e) => body.push_str(&explain_sections(report, e)),
        None => body.push_str("<p>This report has no detail.</p>"),
    }
    dashboard_page(&format!("nextneck detail: {}", db_name(report)), &body, q)
}

/// The value streams of the store, ranked by their bottleneck.
pub fn streams_page(reports: &[FlowReport], overview: &[OverviewRow], q: &Query) -> String {
    let mut body = nav("/streams", q);
    body.push_str(&window_form(q, "/streams"));
    body.push_str(
        "<header><h1>Which stream waits most</h1><p class=\"meta\">Value streams of the store, ranked by their bottleneck's median time: the delay a typical item suffers there.</p></header>",
    );
    if reports.is_empty() {
        body.push_str("<p>The store holds no value stream yet. Send <code>stage.transition</code> events to <code>POST /hooks/events</code> (or import them with <code>nextneck import events</code>), or Jira issues with their status changes.</p>");
    } else {
        let window = q.window_string();
        let rows: String = overview
            .iter()
            .map(|row| {
                let wip = reports
                    .iter()
                    .find(|r| r.source.stream == row.stream)
                    .map_or(0, |r| r.flow.wip);
                format!(
                    "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}/week</td><td>{}</td></tr>",
                    row.rank,
                    esc(&href(&stream_path(&row.stream), &q.keep_refresh(window.clone()))),
                    esc(&row.stream),
                    esc(row.stage.as_deref().unwrap_or("none")),
                    opt(row.share, |v| format!("{:.0}%", v * 100.0)),
                    opt(row.median_seconds, human),
                    row.aging,
                    wip,
                    row.throughput_per_week,
                    opt(row.flow_time_median_seconds, human)
                )
            })
            .collect();
        let _ = write!(
            body,
            "<section><table><thead><tr><th scope=\"col\">rank</th><th scope=\"col\">stream</th><th scope=\"col\">bottleneck</th><th scope=\"col\">share</th><th scope=\"col\">median there</th><th scope=\"col\">aging there</th><th scope=\"col\">in progress</th><th scope=\"col\">throughput</th><th scope=\"col\">flow time</th></tr></thead><tbody>{rows}</tbody></table></section>"
        );
    }
    let _ = write!(
        body,
        "<p class=\"muted\">The same as JSON: <a href=\"{0}\">{0}</a>.</p>",
        esc(&href("/api/v1/streams", &q.window_string()))
    );
    dashboard_page("nextneck dashboard: value streams", &body, q)
}

/// One value stream's page, with a form to forecast it.
pub fn stream_page(report: &FlowReport, q: &Query) -> String {
    let path = stream_path(&report.source.stream);
    let mut body = nav("/streams", q);
    body.push_str(&window_form(q, &path));
    body.push_str(&flow_sections(report, Voice::Dashboard));
    let _ = write!(
        body,
        "<section class=\"wide\"><h2>Forecast</h2><form class=\"filter\" method=\"get\" action=\"{0}/forecast\" aria-label=\"Forecast\"><label>When will this many items be done?<input type=\"number\" name=\"items\" min=\"1\" value=\"10\"></label>{2}<button type=\"submit\">Forecast</button></form><form class=\"filter\" method=\"get\" action=\"{0}/forecast\" aria-label=\"Forecast how many\"><label>How many items in this many days?<input type=\"number\" name=\"days\" min=\"1\" value=\"14\"></label>{2}<button type=\"submit\">Forecast</button></form></section><p class=\"muted\">The same as JSON: <a href=\"{1}\">{1}</a>.</p>",
        esc(&path),
        esc(&href(&format!("/api/v1{path}"), &q.window_string())),
        refresh_hidden(q)
    );
    dashboard_page(
        &format!("nextneck dashboard: {}", report.source.stream),
        &body,
        q,
    )
}

/// A stream's forecast (`q` carries the page's refresh).
pub fn forecast_page(report: &ForecastReport, stream: &str, q: &Query) -> String {
    let mut body = nav("/streams", q);
    let _ = write!(
        body,
        "<p><a href=\"{}\">Back to {}</a></p>",
        esc(&href(&stream_path(stream), &q.keep_refresh(String::new()))),
        esc(stream)
    );
    // The same question again, or another, and how often to reload.
    let number = |name: &str, label: &str, value: Option<u64>| {
        format!(
            "<label>{label}<input type=\"number\" name=\"{name}\" min=\"1\" value=\"{}\"></label>",
            value.map_or_else(String::new, |v| v.to_string())
        )
    };
    let _ = write!(
        body,
        "<form class=\"filter\" method=\"get\" action=\"{}/forecast\" aria-label=\"Forecast\">{}{}{}<button type=\"submit\">Forecast</button></form>",
        esc(&stream_path(stream)),
        number(
            "items",
            "Items",
            report.forecast.when.as_ref().map(|w| w.items)
        ),
        number(
            "days",
            "Days",
            report.forecast.how_many.as_ref().map(|h| h.days)
        ),
        refresh_select(q)
    );
    body.push_str(&forecast_sections(report));
    dashboard_page(&format!("nextneck forecast: {stream}"), &body, q)
}

/// An error, as a page: the status, what went wrong and what to do.
pub fn error_page(status: u16, message: &str) -> String {
    crate::html::page_in(
        &format!("nextneck: error {status}"),
        &format!(
            "<header><h1>Error {status}</h1></header><p>{}</p><p><a href=\"/\">Back to the dashboard</a></p>",
            esc(message)
        ),
        Voice::Dashboard,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip_into_links() {
        let q = Query {
            since: Some("2024-01-01".into()),
            until: Some("2024-02-01T00:00:00+01:00".into()),
            all: false,
            repos: vec!["acme/shop".into(), "acme/web-*".into()],
            services: vec!["check out".into()],
            teams: vec!["web".into()],
            known_teams: vec!["web".into()],
            refresh: Some(60),
        };
        insta::assert_snapshot!(q.query_string(), @"since=2024-01-01&until=2024-02-01T00%3A00%3A00%2B01%3A00&repo=acme%2Fshop&repo=acme%2Fweb-%2A&service=check%20out&team=web");
        insta::assert_snapshot!(q.window_string(), @"since=2024-01-01&until=2024-02-01T00%3A00%3A00%2B01%3A00");
        assert_eq!(Query::default().query_string(), "");
        // The dashboard's own links keep the refresh; the API's do not.
        assert_eq!(
            q.keep_refresh(q.window_string()),
            format!("{}&refresh=60", q.window_string())
        );
        assert_eq!(q.keep_refresh(String::new()), "refresh=60");
        assert_eq!(stream_path("jira:OPS"), "/streams/jira%3AOPS");
    }

    #[test]
    fn notices_speak_of_the_dashboard_controls() {
        for (message, expected) in [
            (
                "flow efficiency needs to know which stages are work and which are waiting: pass --active and --wait, or set categories in nextneck.toml",
                "flow efficiency needs to know which stages are work and which are waiting: set the stream's active and wait stages in the server's nextneck.toml",
            ),
            (
                "2 changes merged in the window are not linked to a successful production deployment (see --explain)",
                "2 changes merged in the window are not linked to a successful production deployment (see the Detail page)",
            ),
            (
                "40% of the flow time of finished items comes after \"resolved\", which looks like resolution: that is administrative lag, not work; pass --done \"resolved\" to end the flow there",
                "that is administrative lag, not work; add \"resolved\" to the stream's done stages (done in the server's nextneck.toml) to end the flow there",
            ),
            (
                "no successful production deployment is in the window; widen it with --since/--until or pass --all",
                "no successful production deployment is in the window; widen it with Since and Until, or tick whole history",
            ),
        ] {
            let n = nextneck_metrics::report::Notice {
                code: "x",
                message: message.to_owned(),
            };
            let html = crate::html::notes(&[n], Voice::Dashboard);
            assert!(html.contains(&esc(expected)), "{html}");
            assert!(!html.contains("--"), "{html}");
        }
    }

    #[test]
    fn the_filter_form_echoes_the_query() {
        let q = Query {
            since: Some("2024-01-01".into()),
            repos: vec!["acme/\"shop\"".into()],
            teams: vec!["Web".into()],
            known_teams: vec!["mobile".into(), "web".into()],
            ..Query::default()
        };
        insta::assert_snapshot!(filter_form(&q, "/"), @r#"<form class="filter" method="get" action="/" aria-label="Filter"><label>Repository<input type="text" name="repo" value="acme/&quot;shop&quot;" placeholder="acme/shop or acme/*"></label><label>Service<input type="text" name="service" value="" placeholder="checkout"></label><label>Team<select name="team"><option value="">any</option><option value="mobile">mobile</option><option value="web" selected>web</option></select></label><label>Since<input type="date" name="since" value="2024-01-01"></label><label>Until (exclusive)<input type="date" name="until" value=""></label><label class="check"><input type="checkbox" name="all" value="true"> whole history</label><label>Reload<select name="refresh"><option value="">never</option><option value="60">every minute</option><option value="300">every 5 minutes</option><option value="900">every 15 minutes</option><option value="3600">every hour</option></select></label><button type="submit">Show</button></form>"#);
    }
}
