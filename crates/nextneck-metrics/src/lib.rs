//! nextneck's metrics engine: from normalized facts to a [`Report`].
//!
//! Pure computation: no IO, no clock, no environment. Every figure's
//! definition is in `docs/metrics.md`; the functions here implement those
//! definitions and nothing else, so the same input always gives the same
//! report, and `--explain` can show the events behind every number.

pub mod code;
mod common;
pub mod delivery;
pub mod digest;
mod dora;
pub mod flow;
pub mod flow_events;
pub mod forecast;
pub mod git;
pub mod report;
pub mod stats;
pub mod tiers;
pub mod time;

pub use code::{CodeReport, CodeSettings, code_report};
pub use delivery::{DeliverySettings, TracedEvent, delivery_report};
pub use git::{DeploySource, GitSettings, ReportError, WindowSpec, git_report};
pub use report::Report;
