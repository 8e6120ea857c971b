//! The delivery report over normalized events (`nextneck report --db`):
//! deployments from deployment events, the four stages of a change
//! (`coding`, `pickup`, `review`, `deploy`), failures from deployment
//! statuses and incidents, time to restore, time to reflect, and CI health.
//! `docs/metrics.md` ("Live delivery events") is the definition; this module
//! implements it and nothing else.
//!
//! The input is every stored observation with the delivery it came from.
//! Observations of one thing (a deployment, a change, an incident, ...) are
//! merged by `(source, kind, id)` first; then things are linked by explicit,
//! named rules (deployment ↔ changes, incident ↔ deployment, postmortem ↔
//! incident), and every link and every failure to link is kept for
//! `--explain`. A git [`History`] of a clone, when given, lets deployments
//! be linked to changes by commit range.
//!
//! `delivery_report` below is the pipeline; each step lives in its module:
//! [`names`] (globs, services, teams, the production and hotfix rules),
//! [`merge`] (observations into things), [`clone`] (reachability in the
//! clone), [`link`] (changes, incidents and postmortems to what they
//! belong to), [`things`] (one struct per linked thing, typed indices),
//! [`failures`] (failed deployments and their recovery), [`stages`]
//! (stage boundaries and the window's stages), [`incidents`], [`ci`],
//! [`notices`], [`series`] and [`explain`].

mod ci;
mod clone;
mod explain;
mod failures;
mod incidents;
mod link;
mod merge;
mod names;
mod notices;
mod releases;
mod series;
mod stages;
mod things;

#[cfg(test)]
mod listed_tests;
#[cfg(test)]
mod release_tests;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use nextneck_model::{History, Timestamp};
use regex::Regex;

use crate::common::{bottleneck, build_stages, sample_notices};
use crate::report::*;
use crate::time::DAY;
use crate::types::{ReportError, WindowSpec};
use crate::window::{DefaultStart, resolve_window};

use self::clone::CloneGraph;
use self::merge::Observed;
use self::names::Names;
use self::things::{DeploymentIx, Things};

pub use self::names::glob_match;

/// The default production pattern: `production`, `prod`, and names that
/// start with either followed by a separator (`prod-eu`, `production/us`).
pub const DEFAULT_PRODUCTION: &str = r"(?i)^(prod|production)([-_./: ].*)?$";

/// How far before and after its window a report reads by default, in
/// days: long enough for a repository that deploys at least once a quarter
/// to have its previous deployment read (docs/metrics.md, "What a report
/// reads").
pub const DEFAULT_LOOK_BACK_DAYS: i64 = 90;

/// The kinds a delivery report reads from the store.
pub const KINDS: &[&str] = &[
    "deployment",
    "release",
    "change",
    "review",
    "push",
    "ci_run",
    "incident",
    "postmortem",
    "issue",
    "test_case",
];

/// The stage names, in flow order. `unreviewed` is the time from pickup
/// start to merge of a change merged without a review, which has no
/// `pickup` and no `review`: with it the stages add up to the lead time.
pub const STAGES: [&str; 5] = ["coding", "pickup", "review", "unreviewed", "deploy"];

pub use nextneck_model::events::TracedEvent;

/// How merged changes are linked to the deployment that shipped them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeLinking {
    /// By commit range when the clone holds the merge commit and a
    /// deployment's commit, else the first deployment after the merge.
    Auto,
    /// By commit range only (a clone is required).
    CommitRange,
    /// The first successful production deployment at or after the merge.
    AfterMerge,
}

/// Which events are deployments (`[delivery] deployments_from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentSources {
    /// Deployment events; and the releases of a repository (or service)
    /// that has no production deployment event at all.
    Auto,
    /// Deployment events only; releases never count.
    Deployments,
    /// Releases only; deployment events are ignored.
    Releases,
    /// Deployment events and releases, both.
    Both,
}

impl DeploymentSources {
    /// The setting's words: `auto`, `deployments`, `releases`,
    /// `deployments+releases`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentSources::Auto => "auto",
            DeploymentSources::Deployments => "deployments",
            DeploymentSources::Releases => "releases",
            DeploymentSources::Both => "deployments+releases",
        }
    }
}

/// How incidents are linked to deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentLinking {
    /// An explicit reference, else the latest successful production
    /// deployment of the incident's service before it opened.
    ExplicitOrService,
    /// Explicit references only.
    Explicit,
}

/// A service and what belongs to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRule {
    /// The service's name.
    pub name: String,
    /// Repositories or project paths (`acme/shop`, `acme/payments/*`).
    pub repositories: Vec<String>,
    /// Service names in the incident tools (`Checkout API (prod)`).
    pub incident_services: Vec<String>,
}

/// A team and what it owns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamRule {
    /// The team's name.
    pub name: String,
    /// Repositories or project paths (globs).
    pub repositories: Vec<String>,
    /// Services (globs).
    pub services: Vec<String>,
    /// CODEOWNERS owners (`@acme/web`) that stand for this team.
    pub codeowners: Vec<String>,
}

/// Which things the figures are about; empty lists select everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Repositories or project paths (globs).
    pub repositories: Vec<String>,
    /// Services.
    pub services: Vec<String>,
    /// Teams.
    pub teams: Vec<String>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.services.is_empty() && self.teams.is_empty()
    }
}

/// Everything the delivery report needs besides the events and the clone.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The event store, as shown (without a password).
    pub db: String,
    /// The clone's path as given, when there is one.
    pub path: Option<String>,
    /// The window.
    pub window: WindowSpec,
    /// Whether to fill [`Report::explain`].
    pub explain: bool,
    /// Whether to fill [`Report::series`].
    pub series: bool,
    /// Environment names that are production.
    pub production: Regex,
    /// Logins that are bots, besides accounts the source flags as bots.
    pub bots: Vec<String>,
    /// Change titles and source branches that are hotfixes.
    pub hotfix: Regex,
    /// Which events are deployments: deployment events, releases, or
    /// releases only where a repository has no deployment events.
    pub deployments_from: DeploymentSources,
    /// Whether pre-releases count when releases do.
    pub prereleases: bool,
    /// How changes are linked to deployments.
    pub link_changes: ChangeLinking,
    /// How incidents are linked to deployments.
    pub link_incidents: IncidentLinking,
    /// The service mapping.
    pub services: Vec<ServiceRule>,
    /// The team mapping.
    pub teams: Vec<TeamRule>,
    /// The owners of every file in the clone's CODEOWNERS (its last rule
    /// matching every path), when a clone with one is given.
    pub codeowners: Vec<String>,
    /// `--repo`, `--service`, `--team`.
    pub filter: Filter,
    /// How far before and after the window a windowed read of a store
    /// reaches, in days ([`read_range`]).
    pub look_back_days: i64,
    /// What the caller read, when [`read_range`] left some of the store's
    /// events out; `None` when every event was read.
    pub read: Option<ReadSpan>,
    /// The caller's clock, used for one thing only: when the store holds no
    /// event at all, the default window ends with this time's day (instead
    /// of the Unix epoch's). Any event makes the report independent of it.
    pub now: Option<Timestamp>,
}

impl DeliverySettings {
    /// Defaults for a store: the default production pattern, hotfix
    /// pattern and linking rules, no mappings, no filter.
    pub fn new(db: &str) -> DeliverySettings {
        DeliverySettings {
            db: db.to_owned(),
            path: None,
            window: WindowSpec::Default,
            explain: false,
            series: false,
            production: Regex::new(DEFAULT_PRODUCTION).expect("a literal pattern compiles"),
            bots: Vec::new(),
            hotfix: Regex::new(crate::git::DEFAULT_HOTFIX_PATTERN)
                .expect("a literal pattern compiles"),
            deployments_from: DeploymentSources::Auto,
            prereleases: false,
            link_changes: ChangeLinking::Auto,
            link_incidents: IncidentLinking::ExplicitOrService,
            services: Vec::new(),
            teams: Vec::new(),
            codeowners: Vec::new(),
            filter: Filter::default(),
            look_back_days: DEFAULT_LOOK_BACK_DAYS,
            read: None,
            now: None,
        }
    }
}

/// The window `[since, until)`, its middle, which splits it in halves,
/// and how it was selected.
#[derive(Clone, Copy, Debug)]
struct Span {
    since: Timestamp,
    until: Timestamp,
    mid: Timestamp,
    selection: &'static str,
}

impl Span {
    /// The window of the settings over the events' times; without any
    /// event, the caller's clock stands in for them.
    fn resolve(settings: &DeliverySettings, observed: &Observed<'_>) -> Result<Span, ReportError> {
        let (since, until, selection) = resolve_window(
            settings.window,
            observed.oldest.or(settings.now).unwrap_or(0),
            observed.newest.or(settings.now).unwrap_or(0),
            DefaultStart::Fixed,
        )?;
        Ok(Span {
            since,
            until,
            mid: since + (until - since) / 2,
            selection,
        })
    }

    fn window(&self) -> Window {
        Window {
            since: self.since,
            until: self.until,
            days: (self.until - self.since) as f64 / DAY as f64,
            selection: self.selection,
        }
    }

    fn contains(&self, t: Option<Timestamp>) -> bool {
        t.is_some_and(|t| (self.since..self.until).contains(&t))
    }
}

/// What a report over `settings` reads from a store whose events (of
/// [`KINDS`]) span `oldest..=newest`: the window widened by the look-back
/// before and after it, or `None` for every event (`--all`, an empty
/// store, or a widened window that holds every event anyway). The window is
/// resolved exactly as the report resolves it, so the events read hold the
/// window's newest event.
pub fn read_range(
    settings: &DeliverySettings,
    oldest: Option<Timestamp>,
    newest: Option<Timestamp>,
) -> Result<Option<ReadSpan>, ReportError> {
    let (Some(oldest), Some(newest)) = (oldest, newest) else {
        return Ok(None);
    };
    if settings.window == WindowSpec::All {
        return Ok(None);
    }
    let (since, until, _) = resolve_window(settings.window, oldest, newest, DefaultStart::Fixed)?;
    let look_back = settings.look_back_days.max(0) * DAY;
    let read = ReadSpan {
        since: since.saturating_sub(look_back),
        until: until.saturating_add(look_back),
        look_back_days: settings.look_back_days.max(0),
    };
    Ok((read.since > oldest || read.until <= newest).then_some(read))
}

/// The window's production deployments: those selected with a time in the/// The window's production deployments: those selected with a time in the
/// window, and of them the successes and the failures, in time order.
struct InWindow {
    deployments: Vec<DeploymentIx>,
    successes: Vec<DeploymentIx>,
    failed: Vec<DeploymentIx>,
}

impl InWindow {
    fn of(things: &Things, span: &Span) -> InWindow {
        let deployments: Vec<DeploymentIx> = things
            .deployment_ixs()
            .filter(|&d| things[d].selected && span.contains(things[d].seen.time()))
            .collect();
        let successes = deployments
            .iter()
            .copied()
            .filter(|&d| things[d].seen.success().is_some())
            .collect();
        let failed = deployments
            .iter()
            .copied()
            .filter(|&d| !things[d].failed.is_empty())
            .collect();
        InWindow {
            deployments,
            successes,
            failed,
        }
    }
}

/// Computes the delivery report. `history` is the clone used to link
/// deployments to changes by commit range, when given.
pub fn delivery_report(
    events: &[TracedEvent<'_>],
    history: Option<&History>,
    settings: &DeliverySettings,
) -> Result<Report, ReportError> {
    let mut clone = history.map(CloneGraph::new);
    // 1. Observations grouped by (source, kind, id), each group in order.
    let observed = Observed::of(events);
    let names = Names {
        settings,
        clone_repositories: clone::repositories(clone.as_ref(), events),
    };
    // 2. Merge observations into things.
    let mut merged = merge::merge(&observed.groups, &names, &settings.production);
    let runs = std::mem::take(&mut merged.runs);
    // 2b. Releases that count as deployments, by `deployments_from`.
    let releases = releases::admit(&mut merged, settings, clone.as_ref());
    // 3.–4. Link changes, incidents and postmortems; 5. failures and recovery.
    let mut things = Things::link(merged, &observed, &names, clone.as_mut());
    failures::assess(&mut things);
    // 6. The window.
    let span = Span::resolve(settings, &observed)?;
    let window = InWindow::of(&things, &span);
    // 7. Stages of the window's deployed changes.
    let counted = stages::count(&mut things, &window.successes, span.mid);
    let stages = build_stages(&counted.stages);
    let bottleneck = bottleneck(&stages, &counted.halves, counted.half_changes);
    // 8. DORA figures.
    let dora = dora_figures(&things, &window, &counted, &span, &settings.hotfix);
    // 9. Incidents.
    let window_incidents = incidents::in_window(&things, &span);
    let incident_figures = incidents::figures(&things, &window_incidents);
    // 10. CI.
    let mut notices = Vec::new();
    let ci = ci::figures(&runs, &observed.tests, history, &names, &span, &mut notices);
    // 11. What waits undeployed.
    let undeployed = stages::undeployed(&things, span.until);
    // 12. Notices.
    let unlinked = things.unlinked(&window_incidents, &span);
    notices.extend(notices::of(&notices::Facts {
        events: events.len(),
        things: &things,
        dora: &dora,
        counted: &counted,
        production: &settings.production,
        read: settings.read,
    }));
    notices.extend(sample_notices(&dora, bottleneck.as_ref()));
    notices.extend(notices::unlinked(&unlinked));
    // 13. Series and explain.
    let series = settings
        .series
        .then(|| series::of(&things, &window.deployments, &counted.points, &span));
    let explain = settings.explain.then(|| {
        explain::of(
            &things,
            &window.deployments,
            &window_incidents,
            unlinked,
            &settings.hotfix,
            span.since,
        )
    });
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        source: source(events, history, settings),
        window: span.window(),
        deployments_from: DeploymentsFrom::Events {
            production_pattern: settings.production.as_str().to_owned(),
            production: things.production_seen,
            not_production: things.not_production,
            releases,
        },
        dora,
        stages,
        bottleneck,
        undeployed,
        notices,
        series,
        explain,
        incidents: Some(incident_figures),
        ci: Some(ci),
        // The code tie-in reads a git report's failed changes; an events
        // report does not feed it (yet).
        code: None,
    })
}

/// The DORA figures of the window's deployments and changes.
fn dora_figures(
    things: &Things,
    window: &InWindow,
    counted: &stages::Counted,
    span: &Span,
    hotfix: &Regex,
) -> Dora {
    let selected_successes: Vec<Timestamp> = things
        .deployment_ixs()
        .filter(|&d| things[d].selected)
        .filter_map(|d| things[d].seen.success())
        .collect();
    let recoveries: Vec<i64> = window
        .failed
        .iter()
        .filter_map(|&d| things[d].recovery.as_ref().map(|r| r.seconds))
        .collect();
    crate::dora::assemble(&crate::dora::Counts {
        since: span.since,
        until: span.until,
        deployments: window.successes.len(),
        attempts: window.deployments.len(),
        failed: window.failed.len(),
        in_history: selected_successes.len(),
        baseline_in_window: window.successes.iter().any(|&d| things[d].baseline),
        recognised: things.recognised(),
        deployment_times: &selected_successes,
        lead_times: &counted.lead,
        negative_dropped: counted.negative_dropped,
        baseline_changes: counted.baseline_changes,
        recoveries: &recoveries,
        reworked: window
            .successes
            .iter()
            .filter(|&&d| !things.rework_of(d, hotfix).is_empty())
            .count(),
    })
}

/// Where the report's events came from.
fn source(
    events: &[TracedEvent<'_>],
    history: Option<&History>,
    settings: &DeliverySettings,
) -> Source {
    Source {
        kind: if history.is_some() {
            "events+git"
        } else {
            "events"
        },
        path: settings.path.clone().unwrap_or_default(),
        commits: history.map_or(0, |h| h.commits.len()),
        tags: history.map_or(0, |h| h.tags.len()),
        shallow: history.is_some_and(|h| h.shallow),
        db: Some(settings.db.clone()),
        events: Some(events.len()),
        read: settings.read,
    }
}
