//! Fixed times for tests: a base instant and whole days and hours after it.

/// 2024-01-01T00:00:00Z, in Unix seconds.
pub const BASE: i64 = 1_704_067_200;
/// A minute in seconds.
pub const MINUTE: i64 = 60;
/// An hour in seconds.
pub const HOUR: i64 = 3600;
/// A day in seconds.
pub const DAY: i64 = 86_400;

/// `BASE` + `day` days + `hour` hours.
pub fn at(day: i64, hour: i64) -> i64 {
    BASE + day * DAY + hour * HOUR
}
