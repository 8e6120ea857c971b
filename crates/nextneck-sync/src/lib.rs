//! Talking to providers' REST APIs: `nextneck sync` fetches the history that
//! webhooks never saw (GitHub pull requests with their reviews and commits,
//! deployments with their statuses, releases, workflow runs and issues;
//! GitLab merge requests with their commits and notes, deployments,
//! pipelines with their jobs, releases and issues (incidents among them);
//! PagerDuty incidents with their log entries; Jira issues with their
//! changelog) and hands it over page by page, in the
//! shapes `nextneck import` reads. [`walk`] is what every provider does the
//! same way; [`github`], [`gitlab`], [`pagerduty`] and [`jira`] only what
//! they list and attach.
//!
//! Only this crate and the server know HTTP, and this crate only as a
//! client ([`client`]): pagination by `Link` headers, conditional requests,
//! primary and secondary rate limits, bounded retries. What it fetches is
//! not interpreted here: the caller converts and stores each batch (through
//! `nextneck_ingest::convert`, like an import), then advances the cursor
//! ([`Target`]), so a sync killed at any point resumes without gaps, and
//! what it stored twice counts once.

pub mod client;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod pagerduty;
pub mod walk;

pub use client::{Client, ClientOptions, Dialect, Fetched, Notice, SyncError};
pub use walk::Counts;

/// One body to store: an item as fetched (with what belongs to it: a
/// pull's reviews and commits, a deployment's statuses), in an array as
/// `nextneck import github` reads it, and the URL of the page it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The request URL (with its query; never the token).
    pub url: String,
    /// What `nextneck import github` would read from a file.
    pub body: Vec<u8>,
}

/// Where a sync puts what it fetched: the event store, in the command.
pub trait Target {
    /// The cursor stored under `key`, if any.
    fn cursor(&mut self, key: &str) -> Result<Option<String>, BoxError>;
    /// Stores a batch of pages all or nothing, durably, before returning.
    fn commit(&mut self, pages: &[Page]) -> Result<(), BoxError>;
    /// Stores the cursor under `key`; called only after the pages it covers
    /// were committed.
    fn set_cursor(&mut self, key: &str, value: &str) -> Result<(), BoxError>;
}

/// An error of the [`Target`], passed through.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
