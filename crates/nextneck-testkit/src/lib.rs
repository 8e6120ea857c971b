//! The test kit every nextneck test uses (like rust-analyzer's
//! `test-utils`): only ever a dev-dependency, never published.
//!
//! - [`check`]: JSON pointers compared to expected values, where a missing
//!   path fails (naming the nearest parent that exists and its keys) and
//!   `null` must be present as `null`; [`check_absent`] asserts that a path
//!   is not there.

mod json;

pub use json::{check, check_absent};
