//! DORA performance levels, from the 2023 Accelerate State of DevOps report.
//!
//! The report's table (its "software delivery performance" clusters):
//!
//! | level  | deployment frequency                     | change lead time                | change failure rate | failed deployment recovery time |
//! |--------|------------------------------------------|---------------------------------|---------------------|---------------------------------|
//! | elite  | on demand (multiple deploys per day)     | less than one day               | 5%                  | less than one hour              |
//! | high   | between once per day and once per week   | between one day and one week    | 10%                 | less than one day               |
//! | medium | between once per week and once per month | between one week and one month  | 15%                 | between one day and one week    |
//! | low    | between once per week and once per month | between one week and one month  | 64%                 | between one month and six months|
//!
//! The table's ranges overlap (low repeats medium's frequency and lead time)
//! and leave gaps, so nextneck maps a measured value to the best level whose
//! bound it meets; `docs/metrics.md` states the bounds.

use serde::Serialize;

/// A DORA performance level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The best cluster.
    Elite,
    /// The second cluster.
    High,
    /// The third cluster.
    Medium,
    /// The last cluster.
    Low,
}

impl Tier {
    /// The level's name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Elite => "elite",
            Tier::High => "high",
            Tier::Medium => "medium",
            Tier::Low => "low",
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
/// A month as the average Gregorian month, 30.436875 days.
const MONTH: f64 = 365.2425 / 12.0 * DAY;

/// Deployment frequency, from deployments per week: elite at 7 or more (at
/// least daily on average, "on demand"), high at 1 or more, medium at one a
/// month or more, low below that.
pub fn deployment_frequency(per_week: f64) -> Tier {
    if per_week >= 7.0 {
        Tier::Elite
    } else if per_week >= 1.0 {
        Tier::High
    } else if per_week >= WEEK / MONTH {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Lead time for changes, from the median: elite under a day, high under a
/// week, medium under a month, low from a month.
pub fn lead_time(median_seconds: f64) -> Tier {
    if median_seconds < DAY {
        Tier::Elite
    } else if median_seconds < WEEK {
        Tier::High
    } else if median_seconds < MONTH {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Change failure rate: elite at most 5 %, high at most 10 %, medium at
/// most 15 %, low above.
pub fn change_failure_rate(ratio: f64) -> Tier {
    if ratio <= 0.05 {
        Tier::Elite
    } else if ratio <= 0.10 {
        Tier::High
    } else if ratio <= 0.15 {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Failed deployment recovery time, from the median: elite under an hour,
/// high under a day, medium under a week, low from a week.
pub fn recovery_time(median_seconds: f64) -> Tier {
    if median_seconds < HOUR {
        Tier::Elite
    } else if median_seconds < DAY {
        Tier::High
    } else if median_seconds < WEEK {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// The smallest samples a verdict rests on (`docs/metrics.md`, "Sample
/// sizes"). Below them a figure is shown but not rated: its level is
/// `None`, its `too_few_to_rate` is true, and the report says so.
pub mod minimum {
    /// Whole weeks in the window for a deployment frequency level: with
    /// fewer, a monthly cadence (the medium/low bound) cannot be seen.
    pub const FREQUENCY_WEEKS: usize = 4;
    /// Changes (lead time) or recoveries (recovery time) for a level of a
    /// median: the fewest values with a distribution-free 95 % interval of
    /// the median ([`crate::stats::MEDIAN_INTERVAL_MIN`]).
    pub const MEDIAN_VALUES: usize = crate::stats::MEDIAN_INTERVAL_MIN;
    /// Deployment attempts for a change failure rate level: the levels'
    /// bounds are 5 percentage points apart, and with fewer than 20
    /// attempts a single failure moves the rate by more than that.
    pub const FAILURE_RATE_ATTEMPTS: usize = 20;
    /// Measured changes (git and events reports) or stays (flow) for a
    /// bottleneck verdict: with fewer, one long item can hold most of the
    /// time by itself.
    pub const BOTTLENECK_ITEMS: usize = 10;
    /// Measured changes or stays in each half of the window for a trend.
    pub const TREND_ITEMS_PER_HALF: usize = 5;
}

/// `tier` when `n` reaches `minimum`; `None` (too few to rate) below.
pub fn rated(tier: Option<Tier>, n: usize, minimum: usize) -> Option<Tier> {
    tier.filter(|_| n >= minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_where_the_doc_says() {
        let df = [
            (14.0, Tier::Elite),
            (7.0, Tier::Elite),
            (6.99, Tier::High),
            (1.0, Tier::High),
            (0.25, Tier::Medium),
            (0.22, Tier::Low),
        ];
        for (v, t) in df {
            assert_eq!(deployment_frequency(v), t, "df {v}");
        }
        let lt = [
            (DAY - 1.0, Tier::Elite),
            (DAY, Tier::High),
            (WEEK, Tier::Medium),
            (30.0 * DAY, Tier::Medium),
            (31.0 * DAY, Tier::Low),
        ];
        for (v, t) in lt {
            assert_eq!(lead_time(v), t, "lt {v}");
        }
        let cfr = [
            (0.0, Tier::Elite),
            (0.05, Tier::Elite),
            (0.1, Tier::High),
            (0.15, Tier::Medium),
            (0.151, Tier::Low),
        ];
        for (v, t) in cfr {
            assert_eq!(change_failure_rate(v), t, "cfr {v}");
        }
        let rt = [
            (HOUR - 1.0, Tier::Elite),
            (HOUR, Tier::High),
            (DAY, Tier::Medium),
            (WEEK, Tier::Low),
        ];
        for (v, t) in rt {
            assert_eq!(recovery_time(v), t, "rt {v}");
        }
    }

    #[test]
    fn a_level_needs_its_minimum_sample() {
        let check = |n: usize, min: usize, expected: Option<Tier>| {
            assert_eq!(rated(Some(Tier::Elite), n, min), expected, "{n} of {min}");
        };
        check(0, 1, None);
        check(19, minimum::FAILURE_RATE_ATTEMPTS, None);
        check(20, minimum::FAILURE_RATE_ATTEMPTS, Some(Tier::Elite));
        check(5, minimum::MEDIAN_VALUES, None);
        check(6, minimum::MEDIAN_VALUES, Some(Tier::Elite));
        assert_eq!(rated(None, 100, 1), None);
    }
}
