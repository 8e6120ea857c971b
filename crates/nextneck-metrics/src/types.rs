//! Types every report uses: which window it looks at, its notices and why
//! it could not be computed. They sit below every report module (git, events, flow,
//! code), so that nextneck-metrics' imports form no loop.

use nextneck_model::Timestamp;
use serde::Serialize;

use crate::time::serde_rfc3339;

/// The default window length.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// Which deployments the report looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowSpec {
    /// The 90 whole UTC days ending with the day of the newest commit or
    /// deployment.
    Default,
    /// From the day of the oldest commit or deployment to the end of the
    /// newest one's day.
    All,
    /// Explicit bounds; a missing `since` is `until` − 90 days, a missing
    /// `until` the end of the newest event's day.
    Range {
        /// Inclusive start.
        since: Option<Timestamp>,
        /// Exclusive end.
        until: Option<Timestamp>,
    },
}

/// The report's time window.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    /// Start, inclusive.
    #[serde(with = "serde_rfc3339")]
    pub since: Timestamp,
    /// End, exclusive.
    #[serde(with = "serde_rfc3339")]
    pub until: Timestamp,
    /// Length in days (may be fractional).
    pub days: f64,
    /// `default` (the 90 days ending with the newest event), `all` or
    /// `explicit`.
    pub selection: &'static str,
}

/// Something the reader should know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Stable code, for example `shallow_clone` or `no_deployments`.
    pub code: &'static str,
    /// What it means and what to do, in words.
    pub message: String,
}

/// The window is empty or inverted: the one message of every report.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the window is empty: since {since} is not before until {until}; pass an earlier --since or a later --until"
)]
pub struct EmptyWindow {
    /// RFC 3339.
    pub since: String,
    /// RFC 3339.
    pub until: String,
}

/// Why a report could not be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// The window is empty or inverted.
    #[error(transparent)]
    EmptyWindow(#[from] EmptyWindow),
    /// The deployment branch was not loaded into the history.
    #[error("branch `{0}` is not in the loaded history; check --deploy-branch")]
    BranchNotLoaded(String),
}
