//! The test kit every nextneck test uses (like rust-analyzer's
//! `test-utils`): only ever a dev-dependency, never published.
//!
//! - [`check`]: JSON pointers compared to expected values, where a missing
//!   path fails (naming the nearest parent that exists and its keys) and
//!   `null` must be present as `null`; [`check_absent`] asserts that a path
//!   is not there.
//! - [`Db`], [`sqlite`], [`postgres`] and [`both_backends!`]: a fresh
//!   database per test, and one test body run on both backends.
//! - [`wait`]: deadlines for every loop that waits for a server.
//! - [`time`]: fixed instants; [`fixtures`]: the recorded payloads.
//! - [`http`]: a local HTTP receiver for clients under test.
//! - `fuzz` (feature `fuzz`): the proptest runner and byte mutations every
//!   fuzz target shares.

mod db;
mod fixtures;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod http;
mod json;
pub mod time;
pub mod wait;

pub use db::{Db, POSTGRES_VARIABLE, postgres, sqlite};
pub use fixtures::{fixture, fixture_files, fixtures};
pub use json::{check, check_absent};
pub use time::{BASE, DAY, HOUR, MINUTE, at};
pub use wait::{Deadline, Lines, PATIENCE, wait_until};
