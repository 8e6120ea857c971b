//! The window `[since, until)` of every report, from a [`WindowSpec`] and
//! the oldest and newest event times ("The window" in `docs/metrics.md`).

use nextneck_model::Timestamp;

use crate::time::{self, DAY};
use crate::types::{DEFAULT_WINDOW_DAYS, EmptyWindow, WindowSpec};

/// Where the default window may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DefaultStart {
    /// [`DEFAULT_WINDOW_DAYS`] before its end, whatever the events.
    Fixed,
    /// Not before the first event's day: a rate over days before anything
    /// was recorded would be diluted (the flow report).
    NotBeforeFirstEvent,
}

/// The window `[since, until)` and how it was selected (`default`, `all`,
/// `explicit`); an error when it is empty or inverted.
pub(crate) fn resolve_window(
    spec: WindowSpec,
    oldest: Timestamp,
    newest: Timestamp,
    default_start: DefaultStart,
) -> Result<(Timestamp, Timestamp, &'static str), EmptyWindow> {
    let end_of_newest_day = time::day_floor(newest) + DAY;
    let (since, until, selection) = match spec {
        WindowSpec::Default => {
            let since = end_of_newest_day - DEFAULT_WINDOW_DAYS * DAY;
            let since = match default_start {
                DefaultStart::Fixed => since,
                DefaultStart::NotBeforeFirstEvent => since.max(time::day_floor(oldest)),
            };
            (since, end_of_newest_day, "default")
        }
        WindowSpec::All => (time::day_floor(oldest), end_of_newest_day, "all"),
        WindowSpec::Range { since, until } => {
            let until = until.unwrap_or(end_of_newest_day);
            let since = since.unwrap_or(until - DEFAULT_WINDOW_DAYS * DAY);
            (since, until, "explicit")
        }
    };
    if since >= until {
        return Err(EmptyWindow {
            since: time::rfc3339(since),
            until: time::rfc3339(until),
        });
    }
    Ok((since, until, selection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_default_window_starts_no_earlier_than_the_first_event() {
        let newest = 200 * DAY + 5;
        let oldest = 150 * DAY + 7;
        let fixed = resolve_window(WindowSpec::Default, oldest, newest, DefaultStart::Fixed);
        assert_eq!(fixed, Ok((111 * DAY, 201 * DAY, "default")));
        let floored = resolve_window(
            WindowSpec::Default,
            oldest,
            newest,
            DefaultStart::NotBeforeFirstEvent,
        );
        assert_eq!(floored, Ok((150 * DAY, 201 * DAY, "default")));
        let explicit = WindowSpec::Range {
            since: Some(DAY),
            until: Some(DAY),
        };
        assert!(resolve_window(explicit, oldest, newest, DefaultStart::Fixed).is_err());
    }
}
