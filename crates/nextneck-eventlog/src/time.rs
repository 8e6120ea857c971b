//! Timestamps as event logs write them.
//!
//! Accepted, in whole seconds (fractions are dropped, rounding down):
//! * RFC 3339 and ISO 8601 date-times with an offset: `2024-03-01T12:00:00Z`,
//!   `2024-03-01 12:00:00.123+01:00`, Jira's `2024-03-01T12:00:00.000+0000`,
//!   `+01`;
//! * the same without an offset, and plain dates (`2024-03-01`, midnight):
//!   local time in the reader's time zone (UTC unless `--tz` says otherwise);
//! * epoch numbers: seconds, or milliseconds when the magnitude is at least
//!   10^11 (10^11 seconds is in the year 5138; 10^11 ms is in 1973);
//! * anything else jiff reads as a timestamp (such as
//!   `2024-03-01T12:00:00+01:00[Europe/Paris]`).
//!
//! With a strftime format (`--time-format`, read by `jiff::fmt::strtime`)
//! only that format is read ([`parse_format`]): a time whose format has an
//! offset (`%z`) or epoch seconds (`%s`) is that instant; any other is
//! local time in the reader's zone, and a date alone is its midnight.

use jiff::tz::TimeZone;

/// Parses `s`; `None` when it is not a time.
pub fn parse(s: &str, tz: &TimeZone) -> Option<i64> {
    parse_bytes(s.as_bytes(), tz)
}

/// [`parse`] of bytes (only the slow path needs them to be UTF-8).
pub fn parse_bytes(b: &[u8], tz: &TimeZone) -> Option<i64> {
    let b = b.trim_ascii();
    if b.is_empty() {
        return None;
    }
    if let Some(t) = utc_seconds(b) {
        return Some(t);
    }
    if let Some(t) = epoch(b) {
        return Some(t);
    }
    if let Some(t) = iso(b, tz) {
        return t;
    }
    let s = std::str::from_utf8(b).ok()?;
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    None
}

/// Parses `b` with the strftime format `format` (see the module's
/// documentation); `None` when it does not match or is not a valid time.
pub fn parse_format(b: &[u8], format: &str, tz: &TimeZone) -> Option<i64> {
    let s = std::str::from_utf8(b.trim_ascii()).ok()?;
    if s.is_empty() {
        return None;
    }
    let tm = jiff::fmt::strtime::BrokenDownTime::parse(format, s).ok()?;
    if tm.timestamp().is_some() || tm.offset().is_some() {
        return tm.to_timestamp().ok().map(|t| t.as_second());
    }
    let dt = tm.to_datetime().ok()?;
    tz.to_timestamp(dt).ok().map(|t| t.as_second())
}

/// The format of the times in Jira's CSV export in its default English
/// locale: `12/Mar/24 3:41 PM`.
pub const JIRA_CSV_FORMAT: &str = "%d/%b/%y %I:%M %p";

/// Epoch seconds or milliseconds, rounded down to whole seconds.
fn epoch(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let int_len = digits
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if int_len == 0 || int_len > 18 {
        return None;
    }
    let rest = &digits[int_len..];
    let has_fraction = match rest {
        [] => false,
        [b'.', frac @ ..] if frac.iter().all(u8::is_ascii_digit) => frac.iter().any(|&c| c != b'0'),
        _ => return None,
    };
    let mut v: i64 = 0;
    for &c in &digits[..int_len] {
        v = v * 10 + i64::from(c - b'0');
    }
    let millis = v >= 100_000_000_000;
    let whole = if millis { v / 1000 } else { v };
    if neg {
        // Round down: -1.5 s is -2 s; -1500 ms is -2 s.
        let partial = if millis { v % 1000 != 0 } else { has_fraction };
        Some(-whole - i64::from(partial))
    } else {
        Some(whole)
    }
}

/// The commonest shape, `YYYY-MM-DDTHH:MM:SSZ`, read directly; `None` for
/// anything else (also a valid time of that shape's length with other
/// separators, and an invalid date), which the general path then reads,
/// with the same result for this shape.
fn utc_seconds(b: &[u8]) -> Option<i64> {
    let (date, time) = split_utc(b)?;
    Some(days(date)? * 86_400 + seconds(time)?)
}

/// `YYYY-MM-DD` and `HH:MM:SS` of a `YYYY-MM-DDTHH:MM:SSZ` time.
fn split_utc(b: &[u8]) -> Option<(&[u8; 10], &[u8; 8])> {
    if b.len() != 20 || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    Some((b[..10].try_into().ok()?, b[11..19].try_into().ok()?))
}

fn two(a: u8, b: u8) -> Option<u32> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (a < 10 && b < 10).then_some(u32::from(a) * 10 + u32::from(b))
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD`.
fn days(date: &[u8; 10]) -> Option<i64> {
    let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = date else {
        return None;
    };
    let year = two(y1, y2)? * 100 + two(y3, y4)?;
    let (month, day) = (two(m1, m2)?, two(d1, d2)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i32, month) {
        return None;
    }
    Some(days_from_civil(year as i32, month, day))
}

/// Seconds into the day of a valid `HH:MM:SS` (a leap second is the last
/// second of its minute).
fn seconds(time: &[u8; 8]) -> Option<i64> {
    let &[h1, h2, b':', n1, n2, b':', s1, s2] = time else {
        return None;
    };
    let (hour, minute, second) = (two(h1, h2)?, two(n1, n2)?, two(s1, s2)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(i64::from(hour * 3600 + minute * 60 + second.min(59)))
}

/// The month of the last `YYYY-MM-DDTHH:MM:SSZ` time read: a log's rows
/// come roughly in time order, so the next one is usually in the same
/// month, and its day is then that month's first day plus its day of the
/// month.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LastDay {
    /// `YYYY-MM`.
    month: Option<[u8; 7]>,
    /// Days since 1970-01-01 of its first day, and its length.
    first: i64,
    length: u32,
}

/// [`parse_bytes`], remembering the day in `last`.
pub(crate) fn parse_with(b: &[u8], tz: &TimeZone, last: &mut LastDay) -> Option<i64> {
    utc_with(b, last).or_else(|| parse_bytes(b, tz))
}

/// A valid `YYYY-MM-DDTHH:MM:SSZ` (around blanks), remembering the day in
/// `last`; `None` for anything else.
pub(crate) fn utc_with(b: &[u8], last: &mut LastDay) -> Option<i64> {
    let (date, time) = split_utc(b.trim_ascii())?;
    let (month, day) = date.split_at(7);
    if last.month.as_ref().is_none_or(|m| m[..] != *month) {
        let &[y1, y2, y3, y4, b'-', m1, m2] = month else {
            return None;
        };
        let year = two(y1, y2)? * 100 + two(y3, y4)?;
        let m = two(m1, m2)?;
        if !(1..=12).contains(&m) {
            return None;
        }
        *last = LastDay {
            month: month.try_into().ok(),
            first: days_from_civil(year as i32, m, 1),
            length: days_in_month(year as i32, m),
        };
    }
    let &[b'-', d1, d2] = day else {
        return None;
    };
    let d = two(d1, d2)?;
    if d == 0 || d > last.length {
        return None;
    }
    Some((last.first + i64::from(d) - 1) * 86_400 + seconds(time)?)
}

fn num(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `Some(result)` when `b` has the shape of an ISO 8601 date or date-time
/// (`Some(None)` for a bad value of that shape); `None` to try other forms.
fn iso(b: &[u8], tz: &TimeZone) -> Option<Option<i64>> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = num(&b[0..4])? as i32;
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let mut rest = &b[10..];
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    if let Some((&sep, tail)) = rest.split_first() {
        if !matches!(sep, b'T' | b't' | b' ') || tail.len() < 5 || tail[2] != b':' {
            return None;
        }
        hour = num(&tail[0..2])?;
        minute = num(&tail[3..5])?;
        rest = &tail[5..];
        if rest.first() == Some(&b':') {
            if rest.len() < 3 {
                return Some(None);
            }
            second = num(&rest[1..3])?;
            rest = &rest[3..];
            if let Some((&(b'.' | b','), frac)) = rest.split_first() {
                let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return Some(None);
                }
                rest = &frac[n..];
            }
        }
    }
    if rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    let offset: Option<i64> = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2] => (num(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (num(&[*h1, *h2])?, num(&[*m1, *m2])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return Some(None);
            }
            let off = i64::from(h * 3600 + m * 60);
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Some(None);
    }
    // A leap second is the last second of its minute.
    let second = second.min(59);
    let local =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(match offset {
        Some(off) => Some(local - off),
        None if *tz == TimeZone::UTC => Some(local),
        None => {
            let dt = jiff::civil::DateTime::new(
                year as i16,
                month as i8,
                day as i8,
                hour as i8,
                minute as i8,
                second as i8,
                0,
            )
            .ok()?;
            tz.to_timestamp(dt).ok().map(|t| t.as_second())
        }
    })
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<i64>) {
        assert_eq!(parse(input, &TimeZone::UTC), expected, "{input:?}");
    }

    #[test]
    fn formats() {
        // 2024-03-01T12:00:00Z
        let t = 1_709_294_400;
        check("2024-03-01T12:00:00Z", Some(t));
        check("2024-03-01T12:00:00z", Some(t));
        check("2024-03-01T12:00:00.999Z", Some(t));
        check("2024-03-01 12:00:00,5", Some(t));
        check("2024-03-01T13:00:00+01:00", Some(t));
        check("2024-03-01T13:00:00+0100", Some(t));
        check("2024-03-01T13:00:00+01", Some(t));
        check("2024-03-01T11:30:00-00:30", Some(t));
        check("2024-03-01T12:00:00.000+0000", Some(t));
        check("2024-03-01 12:00:00 +0000", Some(t));
        check("2024-03-01T12:00", Some(t));
        check("2024-03-01T12:00:00", Some(t));
        check("  2024-03-01T12:00:00Z ", Some(t));
        check("2024-03-01", Some(t - 12 * 3600));
        check("2024-02-29", Some(1_709_164_800));
        check("2023-02-29", None);
        check("2024-13-01", None);
        check("2024-03-01T24:00:00Z", None);
        check("2016-12-31T23:59:60Z", Some(1_483_228_799));
        check("2024-03-01T13:00:00+01:00[Europe/Paris]", Some(t));
        check("1709294400", Some(t));
        check("1709294400.75", Some(t));
        check("1709294400000", Some(t));
        check("1709294400999", Some(t));
        check("0", Some(0));
        check("-1.5", Some(-2));
        check("1969-12-31T23:59:59Z", Some(-1));
        check("1900-01-01T00:00:00Z", Some(-2_208_988_800));
        check("yesterday", None);
        check("", None);
        check("12:00", None);
        check("2024-03-01T", None);
        check("2024-03-01Tab:00", None);
        check("1e9", None);
    }

    /// The direct path for `YYYY-MM-DDTHH:MM:SSZ` gives what the general
    /// one gives, for every day from 1900 to 2100, leap seconds and bad
    /// values.
    #[test]
    fn the_common_shape_reads_as_the_general_path() {
        let general = |s: &str| iso(s.as_bytes(), &TimeZone::UTC).flatten();
        for day in -25_567i64..47_482 {
            let t = day * 86_400 + (day * 7_919).rem_euclid(86_400);
            let text = jiff::Timestamp::from_second(t).unwrap().to_string();
            assert_eq!(text.len(), 20, "{text}");
            assert_eq!(utc_seconds(text.as_bytes()), Some(t), "{text}");
            assert_eq!(general(&text), Some(t), "{text}");
        }
        for text in [
            "2016-12-31T23:59:60Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T0a:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(utc_seconds(text.as_bytes()), general(text), "{text}");
            assert_eq!(parse(text, &TimeZone::UTC), general(text), "{text}");
        }
    }

    /// Remembering the month changes nothing: the same results for times on
    /// the same day, on other days, and of other shapes, in any order.
    #[test]
    fn the_remembered_day_gives_the_same_times() {
        let texts = [
            "2024-03-01T12:00:00Z",
            "2024-03-01T23:59:60Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T12:00:00+01:00",
            " 2024-03-01T00:00:01Z ",
            "2024-02-29T12:00:00Z",
            "2024-02-30T12:00:00Z",
            "2024-02-00T12:00:00Z",
            "2024-02-0xT12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2023-02-28T12:00:00Z",
            "2023-13-01T12:00:00Z",
            "1969-12-31T23:59:59Z",
            "2024-03-01T1a:00:00Z",
            "1709294400",
            "2024-03-02T00:00:00Z",
            "2024-03-01T12:00:00Z",
        ];
        let mut last = LastDay::default();
        for round in 0..3 {
            for text in texts.iter().cycle().skip(round).take(texts.len() * 2) {
                assert_eq!(
                    parse_with(text.as_bytes(), &TimeZone::UTC, &mut last),
                    parse(text, &TimeZone::UTC),
                    "{text}"
                );
            }
        }
    }

    fn check_format(input: &str, format: &str, tz: &str, expected: Option<i64>) {
        let tz = TimeZone::get(tz).unwrap();
        assert_eq!(
            parse_format(input.as_bytes(), format, &tz),
            expected,
            "{input:?} {format:?}"
        );
    }

    #[test]
    fn formats_given_by_the_user() {
        // 2024-03-12T15:41:00Z
        let t = 1_710_258_060;
        check_format("12/Mar/24 3:41 PM", JIRA_CSV_FORMAT, "UTC", Some(t));
        check_format("12/Mar/24 03:41 PM", JIRA_CSV_FORMAT, "UTC", Some(t));
        check_format(
            "12/Mar/24 3:41 AM",
            JIRA_CSV_FORMAT,
            "UTC",
            Some(t - 12 * 3600),
        );
        check_format(" 12/Mar/24 3:41 PM ", JIRA_CSV_FORMAT, "UTC", Some(t));
        // Local time in the zone: Paris is UTC+1 in March.
        check_format(
            "12/Mar/24 4:41 PM",
            JIRA_CSV_FORMAT,
            "Europe/Paris",
            Some(t),
        );
        check_format(
            "12.03.2024 16:41",
            "%d.%m.%Y %H:%M",
            "Europe/Paris",
            Some(t),
        );
        // An offset in the value wins over the zone.
        check_format(
            "12.03.2024 15:41 +0000",
            "%d.%m.%Y %H:%M %z",
            "Europe/Paris",
            Some(t),
        );
        // A date alone is its midnight.
        check_format(
            "3/12/2024",
            "%m/%d/%Y",
            "UTC",
            Some(t - (15 * 3600 + 41 * 60)),
        );
        check_format("2024-03-12T15:41:00Z", JIRA_CSV_FORMAT, "UTC", None);
        check_format("31/Feb/24 3:41 PM", JIRA_CSV_FORMAT, "UTC", None);
        check_format("", "%m/%d/%Y", "UTC", None);
    }

    #[test]
    fn local_times_use_the_zone() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // Winter: UTC+1.
        assert_eq!(parse("2024-03-01T13:00:00", &paris), Some(1_709_294_400));
        // Summer: UTC+2.
        assert_eq!(parse("2024-07-01T14:00:00", &paris), Some(1_719_835_200));
        // An explicit offset wins over the zone.
        assert_eq!(parse("2024-03-01T12:00:00Z", &paris), Some(1_709_294_400));
        // Epoch numbers have no zone.
        assert_eq!(parse("1709294400", &paris), Some(1_709_294_400));
    }
}
