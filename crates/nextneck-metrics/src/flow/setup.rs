//! The settings resolved against the log: the stage names checked, the
//! model chosen, now and the window, which stages are done (and why),
//! resolution-like and categorized stages, the commitment point and the
//! CFD's points.

use nextneck_model::Timestamp;
use nextneck_model::flow::{EventLog, StageIdx};
use regex::Regex;

use crate::time::WEEK;
use crate::window::{DefaultStart, resolve_window};

use super::cfd::CfdGrid;
use super::group::Grouped;
use super::items::occurrences;
use super::{DEFAULT_DONE, FlowError, FlowSettings, Model, ModelChoice};

/// What the report's steps read besides the log and the scan.
pub(super) struct Setup {
    pub(super) model: Model,
    pub(super) now: Timestamp,
    pub(super) since: Timestamp,
    pub(super) until: Timestamp,
    /// How the window was chosen.
    pub(super) selection: &'static str,
    /// The middle of the window, which splits it in halves for the trend.
    pub(super) mid: Timestamp,
    /// The window's length in weeks.
    pub(super) weeks: f64,
    /// Per stage: why it is done (`None`: it is not).
    pub(super) done_reason: Vec<Option<&'static str>>,
    /// Per stage: whether it is done.
    pub(super) done: Vec<bool>,
    /// Per stage: whether its name looks like a resolution.
    pub(super) resolution_like: Vec<bool>,
    /// Per stage: `active`, `wait` or none (for flow efficiency).
    pub(super) category: Vec<Option<&'static str>>,
    /// The commitment point ([`FlowSettings::start`]).
    pub(super) start: Option<StageIdx>,
    /// The CFD's points.
    pub(super) cfd: CfdGrid,
}

impl Setup {
    /// Resolves `settings` against `log` (grouped as `grouped`).
    pub(super) fn resolve(
        log: &EventLog,
        grouped: &Grouped<'_>,
        settings: &FlowSettings,
    ) -> Result<Setup, FlowError> {
        let (Some(newest), Some(oldest)) = (grouped.newest, grouped.oldest) else {
            return Err(FlowError::Empty);
        };
        check_stage_names(log, settings)?;
        let model = choose_model(log, settings.model);
        let now = settings.now.unwrap_or(newest);
        let (since, until, selection) = resolve_window(
            settings.window,
            oldest,
            newest,
            DefaultStart::NotBeforeFirstEvent,
        )?;
        let done_reason = done_stages(log, grouped, model, settings);
        let resolution_re = resolution_regex();
        Ok(Setup {
            model,
            now,
            since,
            until,
            selection,
            mid: since + (until - since) / 2,
            weeks: (until - since) as f64 / WEEK as f64,
            done: done_reason.iter().map(Option::is_some).collect(),
            done_reason,
            resolution_like: log
                .stages
                .iter()
                .map(|s| resolution_re.is_match(s))
                .collect(),
            category: categories(log, settings),
            start: settings
                .start
                .as_ref()
                .and_then(|name| log.stages.iter().position(|s| s.eq_ignore_ascii_case(name)))
                .map(|s| s as StageIdx),
            cfd: CfdGrid::of(since, until, now),
        })
    }
}

/// Fails when a configured stage name is not a stage of the log.
fn check_stage_names(log: &EventLog, settings: &FlowSettings) -> Result<(), FlowError> {
    let start = settings.start.as_slice();
    for (what, names) in [
        ("--done", &settings.done[..]),
        ("--active", &settings.active[..]),
        ("--wait", &settings.wait[..]),
        ("--start", start),
    ] {
        for name in names {
            if !log.stages.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return Err(FlowError::UnknownStage {
                    what,
                    name: name.clone(),
                    stages: log
                        .stages
                        .iter()
                        .map(|s| format!("\"{s}\""))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    Ok(())
}

/// The model: the configured one, else activities when the log has a
/// lifecycle or start-time column or is XES, else transitions.
fn choose_model(log: &EventLog, choice: ModelChoice) -> Model {
    match choice {
        ModelChoice::Fixed(m) => m,
        ModelChoice::Auto => {
            if log.shape.lifecycle || log.shape.start_times || log.shape.xes {
                Model::Activities
            } else {
                Model::Transitions
            }
        }
    }
}

/// Per stage: `active`, `wait` (the configured categories) or none.
fn categories(log: &EventLog, settings: &FlowSettings) -> Vec<Option<&'static str>> {
    log.stages
        .iter()
        .map(|s| {
            if settings.active.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                Some("active")
            } else if settings.wait.iter().any(|w| w.eq_ignore_ascii_case(s)) {
                Some("wait")
            } else {
                None
            }
        })
        .collect()
}

/// Stage names that look like a resolution (for the administrative lag).
fn resolution_regex() -> Regex {
    Regex::new(r"(?i)\b(resolve[sd]?|resolution|solved?|fix(ed)?|done|complete[sd]?|finish(ed)?)\b")
        .expect("the resolution pattern compiles")
}

/// Which stages are done, and why.
fn done_stages(
    log: &EventLog,
    grouped: &Grouped,
    model: Model,
    settings: &FlowSettings,
) -> Vec<Option<&'static str>> {
    let n = log.stages.len();
    let mut reason: Vec<Option<&'static str>> = vec![None; n];
    for (i, name) in log.stages.iter().enumerate() {
        let configured = settings.done.iter().any(|d| d.eq_ignore_ascii_case(name));
        let by_name = settings.done.is_empty()
            && DEFAULT_DONE
                .iter()
                .any(|d| d.eq_ignore_ascii_case(name.trim()));
        if configured {
            reason[i] = Some("configured");
        } else if by_name {
            reason[i] = Some("name");
        }
    }
    // A stage that no item ever leaves (whole log, regardless of now).
    let mut left = vec![false; n];
    let mut completed = Vec::new();
    let mut open = Vec::new();
    if let (Model::Transitions, Some(found)) = (model, &grouped.left) {
        left.clone_from(found);
    }
    for c in 0..log.cases.len() {
        let events = grouped.case(c);
        match model {
            Model::Transitions if grouped.left.is_some() => break,
            Model::Transitions => {
                for (a, b) in events.iter().zip(events.iter().skip(1)) {
                    if a.stage != b.stage {
                        left[a.stage as usize] = true;
                    }
                }
            }
            Model::Activities => {
                occurrences(events, Timestamp::MAX, &mut completed, &mut open);
                let last = completed.len().saturating_sub(1);
                for o in completed.iter().take(last) {
                    left[o.stage as usize] = true;
                }
                // A started, unfinished activity is followed by nothing yet:
                // it does not make anything "left".
            }
        }
    }
    for i in 0..n {
        if reason[i].is_none() && !left[i] {
            reason[i] = Some("never_left");
        }
    }
    reason
}
