//! Argument value parsers shared by commands. A value that does not parse
//! is a usage error (exit code 2) with a message saying what to pass.

use nextneck_metrics::time::{DAY, WEEK, day_floor};
use nextneck_model::Timestamp;

/// Parses `--since`/`--until` relative to the real clock: see
/// [`timestamp_at`]. The clock is read here, at the command line's edge;
/// the metrics engine takes no clock.
pub fn timestamp(s: &str) -> Result<Timestamp, String> {
    timestamp_at(s, jiff::Timestamp::now().as_second())
}

/// Parses a window bound given `now`: an RFC 3339 date (`2024-03-01`,
/// midnight UTC), a date-time with an offset (`2024-03-01T12:00:00+01:00`),
/// a date-time without one (taken as UTC), or a relative date counted in
/// whole UTC days: `today` (00:00 UTC today), `yesterday`, `now`, `Nd` (00:00
/// UTC N days before today) and `Nw` (N weeks before today). So `--since 7d
/// --until today` is the last seven whole days.
pub fn timestamp_at(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = s.trim();
    let today = day_floor(now);
    match t.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" => return Ok(today),
        "yesterday" => return Ok(today - DAY),
        _ => {}
    }
    if let Some(back) = relative(t)? {
        return Ok(today - back);
    }
    nextneck_metrics::time::parse_time(t)
        .map_err(|e| format!("{e}, or a relative date such as 30d, 2w, today, yesterday"))
}

/// `Nd` or `Nw` as seconds back from today, `None` when `t` is not of that
/// shape.
fn relative(t: &str) -> Result<Option<i64>, String> {
    let Some(unit) = t.chars().last() else {
        return Ok(None);
    };
    let digits = &t[..t.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let step = match unit.to_ascii_lowercase() {
        'd' => DAY,
        'w' => WEEK,
        _ => {
            return Err(format!(
                "`{t}`: `{unit}` is not a unit; count days (30d) or weeks (2w)"
            ));
        }
    };
    // Within 100 years: beyond that a count is a typo, not a window.
    let n: i64 = digits
        .parse()
        .ok()
        .filter(|n| *n * step <= 36_525 * DAY)
        .ok_or_else(|| format!("`{t}` is too far back; count at most 36525 days"))?;
    Ok(Some(n * step))
}

/// Parses a regular expression.
pub fn regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| format!("not a valid regular expression: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-15T10:30:00Z, a Friday.
    const NOW: i64 = 1_710_498_600;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = timestamp_at(input, NOW).map(nextneck_metrics::time::rfc3339);
        match (got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{input}: {got}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn dates_and_date_times() {
        check("2024-03-01", Ok("2024-03-01T00:00:00Z"));
        check("2024-03-01T00:00:00Z", Ok("2024-03-01T00:00:00Z"));
        check("2024-03-01T01:00:00+01:00", Ok("2024-03-01T00:00:00Z"));
        check("2024-03-01T00:00:00", Ok("2024-03-01T00:00:00Z"));
        check("2024-03-01 00:00:00", Ok("2024-03-01T00:00:00Z"));
        check("2024-03-01T00:00:01.5Z", Ok("2024-03-01T00:00:01Z"));
        check("2024-13-01", Err("`2024-13-01` is not a date"));
        check("", Err("is not a date"));
    }

    #[test]
    fn relative_dates_count_whole_utc_days_back_from_today() {
        check("now", Ok("2024-03-15T10:30:00Z"));
        check("today", Ok("2024-03-15T00:00:00Z"));
        check("Today", Ok("2024-03-15T00:00:00Z"));
        check("yesterday", Ok("2024-03-14T00:00:00Z"));
        check("0d", Ok("2024-03-15T00:00:00Z"));
        check("1d", Ok("2024-03-14T00:00:00Z"));
        check("30d", Ok("2024-02-14T00:00:00Z"));
        check(" 7D ", Ok("2024-03-08T00:00:00Z"));
        check("2w", Ok("2024-03-01T00:00:00Z"));
        check("52w", Ok("2023-03-17T00:00:00Z"));
        check("36525d", Ok("1924-03-15T00:00:00Z"));
    }

    #[test]
    fn relative_mistakes_say_what_to_pass() {
        check(
            "3m",
            Err("`m` is not a unit; count days (30d) or weeks (2w)"),
        );
        check("36526d", Err("too far back"));
        check("99999999999999999999d", Err("too far back"));
        check("d", Err("or a relative date such as 30d, 2w, today"));
        check("-3d", Err("is not a date"));
        check("tomorrow", Err("or a relative date such as 30d"));
    }
}
