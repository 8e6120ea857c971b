//! Monte Carlo forecasts over daily throughput: "when will N items be
//! done" and "how many items in D days", with their odds.
//!
//! The history is whole UTC days; each day's throughput (completions that
//! day, zero included) is one sample. A trial draws days uniformly, with
//! replacement, from the samples. The generator is SplitMix64 with a given
//! seed, so the same input and seed always give the same forecast.
//! `docs/metrics.md` ("Forecasts") is the definition.

use nextneck_model::Timestamp;
use serde::Serialize;

use crate::report::SCHEMA_VERSION;
use crate::stats::percentile_sorted;
use crate::time::{self, DAY, serde_rfc3339};

/// The default history length in days.
pub const DEFAULT_HISTORY_DAYS: i64 = 90;
/// The default number of trials.
pub const DEFAULT_TRIALS: u32 = 10_000;
/// The default seed.
pub const DEFAULT_SEED: u64 = 1;
/// The percentiles reported.
pub const PERCENTILES: [u32; 4] = [50, 70, 85, 95];
/// A "when" trial that has not finished after this many days gives up.
pub const MAX_DAYS: u64 = 36_525;
/// At most this many buckets in a forecast's distribution.
pub const MAX_BUCKETS: u64 = 40;

/// What to forecast.
#[derive(Clone, Debug)]
pub struct ForecastSettings {
    /// What the completions are (`items`, `deployments`, `changes`).
    pub unit: &'static str,
    /// Where they came from (stream name, files, repository).
    pub source: String,
    /// "When will this many be done?"
    pub items: Option<u64>,
    /// "How many in this many days?"
    pub days: Option<u64>,
    /// Monte Carlo trials.
    pub trials: u32,
    /// The generator's seed.
    pub seed: u64,
    /// History start (rounded down to its UTC day); default: `until` − 90
    /// days, not before the first completion's day (see
    /// [`daily_throughput`]).
    pub since: Option<Timestamp>,
    /// History end, exclusive (rounded down to its UTC day); default: the
    /// end of the newest event's day.
    pub until: Option<Timestamp>,
}

/// Why there is no forecast.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForecastError {
    /// The history has no whole day.
    #[error(
        "the history is empty: since {since} is not before until {until}; pass an earlier --since or a later --until"
    )]
    EmptyHistory {
        /// RFC 3339.
        since: String,
        /// RFC 3339.
        until: String,
    },
    /// Nothing was completed in the history.
    #[error(
        "no {unit} completed between {since} and {until}, so there is no throughput to forecast from; widen the history with --since, or check what counts as done"
    )]
    NoThroughput {
        /// What was counted.
        unit: &'static str,
        /// RFC 3339.
        since: String,
        /// RFC 3339.
        until: String,
    },
    /// A "when" trial ran past [`MAX_DAYS`].
    #[error(
        "at the history's throughput, {items} {unit} take more than {MAX_DAYS} days in some trials; forecast fewer with --items"
    )]
    TooFar {
        /// Items asked for.
        items: u64,
        /// What was counted.
        unit: &'static str,
    },
    /// Nothing to forecast.
    #[error("say what to forecast: --items N (when) or --days D (how many)")]
    NothingAsked,
}

/// A forecast: what `nextneck forecast` computes and renders.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `forecast`.
    pub kind: &'static str,
    /// What was counted, and from where.
    pub source: ForecastSource,
    /// The history the samples come from.
    pub history: History,
    /// Trials run.
    pub trials: u32,
    /// The seed.
    pub seed: u64,
    /// The answers.
    pub forecast: Forecast,
}

/// What was counted.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastSource {
    /// `items`, `deployments` or `changes`.
    pub unit: &'static str,
    /// The stream, files or repository.
    pub name: String,
}

/// The history of daily throughput.
#[derive(Clone, Debug, Serialize)]
pub struct History {
    /// First day, inclusive.
    #[serde(with = "serde_rfc3339")]
    pub since: Timestamp,
    /// End, exclusive.
    #[serde(with = "serde_rfc3339")]
    pub until: Timestamp,
    /// Whole days.
    pub days: u64,
    /// Completions in it.
    pub completed: u64,
    /// Mean per day.
    pub per_day_mean: f64,
    /// Days with no completion.
    pub zero_days: u64,
}

/// The answers.
#[derive(Clone, Debug, Serialize)]
pub struct Forecast {
    /// When `items` will be done.
    pub when: Option<When>,
    /// How many in `days`.
    pub how_many: Option<HowMany>,
}

/// "When will N be done?"
#[derive(Clone, Debug, Serialize)]
pub struct When {
    /// N.
    pub items: u64,
    /// 50% of trials finished by then.
    pub p50: WhenAt,
    /// 70%.
    pub p70: WhenAt,
    /// 85%.
    pub p85: WhenAt,
    /// 95%.
    pub p95: WhenAt,
    /// How many trials took how many days, in buckets.
    pub distribution: Vec<Bucket>,
}

/// A "when" percentile.
#[derive(Clone, Debug, Serialize)]
pub struct WhenAt {
    /// Days after the history (done on its first day = 1).
    pub days: u64,
    /// The date of that day.
    pub date: String,
}

/// "How many in D days?"
#[derive(Clone, Debug, Serialize)]
pub struct HowMany {
    /// D.
    pub days: u64,
    /// At least this many with 50% odds.
    pub p50: HowManyAt,
    /// With 70% odds.
    pub p70: HowManyAt,
    /// With 85% odds.
    pub p85: HowManyAt,
    /// With 95% odds.
    pub p95: HowManyAt,
    /// How many trials finished how many items, in buckets.
    pub distribution: Vec<Bucket>,
}

/// Trials whose result (days, or items) lies in `from..=to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The smallest result in the bucket.
    pub from: u64,
    /// The largest, inclusive.
    pub to: u64,
    /// Trials with a result in it.
    pub trials: u64,
}

/// The trials' results (whole numbers, sorted) as a histogram: buckets of
/// equal width (1, or the range over [`MAX_BUCKETS`] rounded up) from the
/// smallest result to the largest, empty buckets included.
pub fn distribution(sorted: &[f64]) -> Vec<Bucket> {
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let (lo, hi) = (lo as u64, hi as u64);
    let width = (hi - lo + 1).div_ceil(MAX_BUCKETS).max(1);
    let mut buckets: Vec<Bucket> = (0..(hi - lo) / width + 1)
        .map(|i| Bucket {
            from: lo + i * width,
            to: lo + i * width + width - 1,
            trials: 0,
        })
        .collect();
    for &v in sorted {
        if let Some(b) = buckets.get_mut(((v as u64 - lo) / width) as usize) {
            b.trials += 1;
        }
    }
    buckets
}

/// A "how many" percentile.
#[derive(Clone, Debug, Serialize)]
pub struct HowManyAt {
    /// At least this many.
    pub items: u64,
}

/// SplitMix64 (Steele, Lea and Flood): small, fast, and good enough for
/// Monte Carlo sampling; deterministic for a seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }
}

/// The history window `[since, until)` in whole days and the daily counts.
///
/// Without `since` the history starts 90 days before `until`, but not
/// before the day of the first completion (before `until`): the days before
/// anything was ever finished are not days of zero throughput, they are
/// days before the stream delivered at all (a stray old event would
/// otherwise add empty days and lower every forecast). With no completion
/// it starts at the oldest event's day.
pub fn daily_throughput(
    completions: &[Timestamp],
    newest: Timestamp,
    oldest: Timestamp,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> (Timestamp, Timestamp, Vec<u64>) {
    let until = until.map_or(time::day_floor(newest) + DAY, time::day_floor);
    let first = completions
        .iter()
        .copied()
        .filter(|&t| t < until)
        .min()
        .unwrap_or(oldest);
    let since = since.map_or_else(
        || (until - DEFAULT_HISTORY_DAYS * DAY).max(time::day_floor(first)),
        time::day_floor,
    );
    let days = if until > since {
        ((until - since) / DAY) as usize
    } else {
        0
    };
    let mut daily = vec![0u64; days];
    for &t in completions {
        if (since..until).contains(&t) {
            daily[((t - since) / DAY) as usize] += 1;
        }
    }
    (since, until, daily)
}

/// Runs the forecast over `completions` (the times items were done).
pub fn forecast(
    completions: &[Timestamp],
    newest: Timestamp,
    oldest: Timestamp,
    settings: &ForecastSettings,
) -> Result<ForecastReport, ForecastError> {
    if settings.items.is_none() && settings.days.is_none() {
        return Err(ForecastError::NothingAsked);
    }
    let (since, until, daily) =
        daily_throughput(completions, newest, oldest, settings.since, settings.until);
    if daily.is_empty() {
        return Err(ForecastError::EmptyHistory {
            since: time::rfc3339(since),
            until: time::rfc3339(until),
        });
    }
    let completed: u64 = daily.iter().sum();
    if completed == 0 {
        return Err(ForecastError::NoThroughput {
            unit: settings.unit,
            since: time::rfc3339(since),
            until: time::rfc3339(until),
        });
    }
    let trials = settings.trials.max(1);
    let n = daily.len() as u64;
    let mut rng = SplitMix64::new(settings.seed);

    let when = match settings.items {
        Some(items) => Some(when(items, &daily, trials, until, &mut rng, settings.unit)?),
        None => None,
    };
    let how_many = settings
        .days
        .map(|days| how_many(days, &daily, trials, &mut rng));

    let zero_days = daily.iter().filter(|&&d| d == 0).count() as u64;
    Ok(ForecastReport {
        schema_version: SCHEMA_VERSION,
        kind: "forecast",
        source: ForecastSource {
            unit: settings.unit,
            name: settings.source.clone(),
        },
        history: History {
            since,
            until,
            days: n,
            completed,
            per_day_mean: completed as f64 / n as f64,
            zero_days,
        },
        trials,
        seed: settings.seed,
        forecast: Forecast { when, how_many },
    })
}

/// When `items` will be done: `trials` runs of days drawn from `daily`
/// (with `rng`) until they add up to `items`, from `until` on.
fn when(
    items: u64,
    daily: &[u64],
    trials: u32,
    until: Timestamp,
    rng: &mut SplitMix64,
    unit: &'static str,
) -> Result<When, ForecastError> {
    let n = daily.len() as u64;
    let mut results = Vec::with_capacity(trials as usize);
    for _ in 0..trials {
        let mut done = 0u64;
        let mut days = 0u64;
        while done < items {
            days += 1;
            if days > MAX_DAYS {
                return Err(ForecastError::TooFar { items, unit });
            }
            done += daily[rng.below(n) as usize];
        }
        results.push(days as f64);
    }
    results.sort_by(f64::total_cmp);
    let at = |q: u32| {
        let days = percentile_sorted(&results, q).unwrap_or(0.0).ceil() as u64;
        WhenAt {
            days,
            date: time::date(until + (days.max(1) as i64 - 1) * DAY),
        }
    };
    Ok(When {
        items,
        p50: at(50),
        p70: at(70),
        p85: at(85),
        p95: at(95),
        distribution: distribution(&results),
    })
}

/// How many items will be done in `days`: `trials` sums of `days` days
/// drawn from `daily` (with `rng`).
fn how_many(days: u64, daily: &[u64], trials: u32, rng: &mut SplitMix64) -> HowMany {
    let n = daily.len() as u64;
    let mut results = Vec::with_capacity(trials as usize);
    for _ in 0..trials {
        let mut sum = 0u64;
        for _ in 0..days {
            sum += daily[rng.below(n) as usize];
        }
        results.push(sum as f64);
    }
    results.sort_by(f64::total_cmp);
    // "At least this many with q% odds": the (100 − q)th percentile,
    // rounded down.
    let at = |q: u32| HowManyAt {
        items: percentile_sorted(&results, 100 - q).unwrap_or(0.0).floor() as u64,
    };
    HowMany {
        days,
        p50: at(50),
        p70: at(70),
        p85: at(85),
        p95: at(95),
        distribution: distribution(&results),
    }
}
