//! The words every report shares: counts with their noun, intervals, and
//! the bottleneck's sentence ("X holds N% of change time (...)") with its
//! trend and runner-up clauses, so that the git, events and flow reports
//! (and the code report's summaries) say the same thing the same way.

use crate::tiers::minimum;
use crate::time;

/// `1 change`, `2 changes`: the count and the word that agrees with it.
pub(crate) fn plural(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// A duration in words, or `n/a` without one.
pub(crate) fn human_or_na(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "n/a".to_owned(), time::human)
}

/// `95% interval 40–60%; `, or nothing without an interval.
pub(crate) fn interval_words(ci: Option<[f64; 2]>) -> String {
    ci.map_or_else(String::new, |[lo, hi]| {
        format!("95% interval {:.0}–{:.0}%; ", lo * 100.0, hi * 100.0)
    })
}

/// The stage a bottleneck sentence is about: its name, share and figures,
/// and what it counts (`change`/`changes` of `change time`, `stay`/`stays`
/// of `item time`).
pub(crate) struct Holds<'a> {
    /// The stage's name.
    pub stage: &'a str,
    /// Its share of all the time.
    pub share: f64,
    /// The share's 95 % interval.
    pub share_ci: Option<[f64; 2]>,
    /// Its median, in seconds.
    pub median: Option<f64>,
    /// Its p85, in seconds.
    pub p85: Option<f64>,
    /// How many items it holds.
    pub count: usize,
    /// What the shares are of: `change time`, `item time`.
    pub of: &'a str,
    /// The item, singular and plural: `change`, `changes`.
    pub item: [&'a str; 2],
    /// With `Some(n)`, the sentence ends in "too few to call it the
    /// bottleneck", `n` items measured.
    pub too_few: Option<usize>,
}

/// "X holds N% of change time (95% interval …; median …, p85 …, n
/// changes)", and why it is not called the bottleneck when too few items
/// were measured: the start of every bottleneck summary.
pub(crate) fn holds_sentence(h: &Holds<'_>) -> String {
    let [one, many] = h.item;
    let mut words = format!(
        "{} holds {:.0}% of {} ({}median {}, p85 {}, {})",
        h.stage,
        h.share * 100.0,
        h.of,
        interval_words(h.share_ci),
        human_or_na(h.median),
        human_or_na(h.p85),
        plural(h.count, one, many)
    );
    if let Some(n) = h.too_few {
        words.push_str(&too_few_words(
            n,
            &format!("{one} is"),
            &format!("{many} are"),
        ));
    }
    words
}

/// The words that end a verdict resting on `n` items, fewer than a
/// bottleneck needs: the stage is the largest, not a bottleneck.
pub(crate) fn too_few_words(n: usize, one: &str, many: &str) -> String {
    format!(
        "; {} too few to call it the bottleneck (at least {} needed)",
        plural(n, one, many),
        minimum::BOTTLENECK_ITEMS
    )
}

/// The words after a bottleneck's figures about its trend: the trend, or
/// why there is none although both halves hold time.
pub(crate) fn trend_words(
    trend: Option<&str>,
    shares: [Option<f64>; 2],
    items: [usize; 2],
    what: &str,
) -> String {
    match (trend, shares) {
        (Some(t), [Some(a), Some(b)]) => format!(
            "; {t} ({:.0}% in the window's first half, {:.0}% in the second)",
            a * 100.0,
            b * 100.0
        ),
        (None, [Some(_), Some(_)]) => format!(
            "; no trend: {} and {} {what} in the window's halves, a trend needs {} in each",
            items[0],
            items[1],
            minimum::TREND_ITEMS_PER_HALF
        ),
        _ => String::new(),
    }
}

/// The words about the runner-up: its share, and whether the bottleneck's
/// interval holds it.
pub(crate) fn runner_up_words(
    top: &str,
    top_ci: Option<[f64; 2]>,
    next: &str,
    share: f64,
) -> String {
    let mut words = format!("; next: {next} at {:.0}%", share * 100.0);
    if let Some([lo, hi]) = top_ci.filter(|[lo, _]| share >= *lo) {
        words.push_str(&format!(
            ", inside {top}'s 95% interval ({:.0}–{:.0}%): the data cannot tell the two apart",
            lo * 100.0,
            hi * 100.0
        ));
    }
    words
}
