//! Time helpers: UTC days, RFC 3339 output and human durations.

use nextneck_model::Timestamp;

/// Seconds in a UTC day.
pub const DAY: i64 = 86_400;
/// Seconds in a week.
pub const WEEK: i64 = 7 * DAY;

/// The start (00:00 UTC) of the day holding `t`.
pub fn day_floor(t: Timestamp) -> Timestamp {
    t.div_euclid(DAY) * DAY
}

/// RFC 3339 in UTC with a `Z`, for example `2024-03-01T12:00:00Z`.
pub fn rfc3339(t: Timestamp) -> String {
    // Years 0 to 9999, the common case, without jiff (reports print
    // millions of times): the same text jiff writes.
    if (-62_167_219_200..253_402_300_800).contains(&t) {
        let days = t.div_euclid(DAY);
        let secs = t.rem_euclid(DAY);
        let (y, m, d) = civil_from_days(days);
        return format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        );
    }
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => ts.to_string(),
        // Outside jiff's range (years before -9999 or after 9999): say so
        // rather than print a wrong date.
        Err(_) => format!("@{t}"),
    }
}

/// Parses a window bound as `--since`, `--until` and the server's `since`
/// and `until` parameters take it: an RFC 3339 date (`2024-03-01`, midnight
/// UTC), a date-time with an offset (`2024-03-01T12:00:00+01:00`), or a
/// date-time without one, taken as UTC. The error says what to pass.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>()
        && let Ok(ts) = jiff::tz::TimeZone::UTC.to_timestamp(dt)
    {
        return Ok(ts.as_second());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(ts) =
            jiff::tz::TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
    {
        return Ok(ts.as_second());
    }
    Err(format!(
        "`{s}` is not a date; use an RFC 3339 date or date-time such as 2024-03-01 or 2024-03-01T12:00:00Z"
    ))
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01),
/// Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The calendar date of `t` in UTC, `2024-03-01`.
pub fn date(t: Timestamp) -> String {
    let mut s = rfc3339(t);
    s.truncate(10);
    s
}

/// Serde helper: a [`Timestamp`] as RFC 3339.
pub(crate) mod serde_rfc3339 {
    use nextneck_model::Timestamp;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub mod option {
        use nextneck_model::Timestamp;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::rfc3339(*t)),
                None => s.serialize_none(),
            }
        }
    }
}

/// A Gregorian year of 365.2425 days, in seconds.
const YEAR: f64 = 365.2425 * DAY as f64;

/// A duration for people: `45s`, `12m`, `3.5h`, `2.1d`, `5.0w`, `2.3y`.
/// Negative durations keep their sign.
pub fn human(seconds: f64) -> String {
    let sign = if seconds < 0.0 { "-" } else { "" };
    let s = seconds.abs();
    let text = if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{:.0}m", s / 60.0)
    } else if s < 2.0 * DAY as f64 {
        format!("{:.1}h", s / 3600.0)
    } else if s < 4.0 * WEEK as f64 {
        format!("{:.1}d", s / DAY as f64)
    } else if s < 2.0 * YEAR {
        format!("{:.1}w", s / WEEK as f64)
    } else {
        format!("{:.1}y", s / YEAR)
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates() {
        assert_eq!(day_floor(1_700_000_000), 1_699_920_000);
        assert_eq!(day_floor(-1), -DAY);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(date(1_700_000_000), "2023-11-14");
    }

    #[test]
    fn rfc3339_matches_jiff() {
        let mut t = -62_167_219_200i64;
        while t < 253_402_300_800 {
            if let Ok(j) = jiff::Timestamp::from_second(t) {
                assert_eq!(rfc3339(t), j.to_string(), "{t}");
            }
            t += 7_777_777 + t.rem_euclid(86_399);
        }
        for t in [0, -1, 951_782_400, 1_709_251_199] {
            let jiff = jiff::Timestamp::from_second(t).map(|x| x.to_string()).ok();
            assert_eq!(Some(rfc3339(t)), jiff, "{t}");
        }
        // jiff stops a day short of the year 10000.
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn human_durations() {
        let cases = [
            (0.0, "0s"),
            (59.0, "59s"),
            (90.0, "2m"),
            (3600.0, "1.0h"),
            (5400.0, "1.5h"),
            (2.0 * 86400.0, "2.0d"),
            (30.0 * 86400.0, "4.3w"),
            (-7200.0, "-2.0h"),
            (103.0 * 7.0 * 86400.0, "103.0w"),
            (3.0 * 365.2425 * 86400.0, "3.0y"),
        ];
        for (input, expected) in cases {
            assert_eq!(human(input), expected, "{input}");
        }
    }
}
