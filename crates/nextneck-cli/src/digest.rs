//! `nextneck digest`: the period's change in one message, printed or
//! posted to a chat's incoming webhook; and the `[digest]` section of
//! `nextneck.toml` with which `nextneck serve` posts it on a schedule.

use serde::Deserialize;

/// The `[digest]` section: where and when `nextneck serve` posts the digest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestSection {
    /// `slack`, `teams`, `mattermost` or `discord`.
    pub to: Option<String>,
    /// The incoming webhook's URL (or `NEXTNECK_DIGEST_URL`).
    pub url: Option<String>,
    /// The day it is posted, `monday` to `sunday` (default monday).
    pub weekday: Option<String>,
    /// The hour it is posted, 0 to 23 UTC (default 8).
    pub hour: Option<u8>,
    /// The period's length in days (default 7).
    pub days: Option<u32>,
}
