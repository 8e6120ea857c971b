//! Argument value parsers shared by commands. A value that does not parse
//! is a usage error (exit code 2) with a message saying what to pass.

use nextneck_model::Timestamp;

/// Parses `--since`/`--until`: an RFC 3339 date (`2024-03-01`, midnight
/// UTC), a date-time with an offset (`2024-03-01T12:00:00+01:00`), or a
/// date-time without one, taken as UTC.
pub fn timestamp(s: &str) -> Result<Timestamp, String> {
    nextneck_metrics::time::parse_time(s)
}

/// Parses a regular expression.
pub fn regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| format!("not a valid regular expression: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<i64, ()>) {
        assert_eq!(timestamp(input).map_err(|_| ()), expected, "{input}");
    }

    #[test]
    fn dates_and_date_times() {
        check("2024-03-01", Ok(1_709_251_200));
        check("2024-03-01T00:00:00Z", Ok(1_709_251_200));
        check("2024-03-01T01:00:00+01:00", Ok(1_709_251_200));
        check("2024-03-01T00:00:00", Ok(1_709_251_200));
        check("2024-03-01 00:00:00", Ok(1_709_251_200));
        check("2024-03-01T00:00:01.5Z", Ok(1_709_251_201));
        check("yesterday", Err(()));
        check("2024-13-01", Err(()));
        check("", Err(()));
    }
}
