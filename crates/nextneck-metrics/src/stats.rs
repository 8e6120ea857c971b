//! Order statistics shared by every figure.
//!
//! Percentiles use linear interpolation between closest ranks: numpy's
//! default, Hyndman and Fan's type 7. For sorted values `x[0..n]` and a
//! percentage `q`, `h = (n - 1) * q / 100` and the percentile is
//! `x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`.
//! The median is the 50th percentile. The arithmetic is arranged so that
//! whole-second inputs give the correctly rounded result (the 85th
//! percentile of 1, 2, 3, 4 is 3.55, not 3.5499999999999998).
//!
//! [`percentiles_unsorted`] gives the same figures for whole numbers in any
//! order: a percentile needs only the order statistics `x[floor(h)]` and
//! `x[floor(h) + 1]`, which selection finds without sorting everything.

use serde::Serialize;

/// The `q`-th percentile (`q` in `0..=100`) of `sorted` values; `None` when
/// empty.
pub fn percentile_sorted(sorted: &[f64], q: u32) -> Option<f64> {
    let (lo, hi, frac) = ranks(sorted.len(), q)?;
    Some(interpolate(sorted[lo], sorted[hi], frac))
}

/// The order statistics a percentile needs (`lo`, `hi`) and the weight of
/// the second in hundredths; `None` when `n` is 0.
fn ranks(n: usize, q: u32) -> Option<(usize, usize, f64)> {
    if n == 0 {
        return None;
    }
    let rank = (n as u64 - 1) * u64::from(q.min(100));
    let lo = (rank / 100) as usize;
    let frac = (rank % 100) as f64;
    let hi = (lo + 1).min(n - 1);
    Some((lo, hi, frac))
}

fn interpolate(lo: f64, hi: f64, frac: f64) -> f64 {
    (lo * 100.0 + frac * (hi - lo)) / 100.0
}

/// The `qs`-th percentiles of whole numbers in any order: exactly what
/// [`percentile_sorted`] gives for them sorted (as `f64`), found by
/// selection in linear time. Reorders `values`.
pub fn percentiles_unsorted<T: Ord + Copy + Into<i64>, const N: usize>(
    values: &mut [T],
    qs: [u32; N],
) -> [Option<f64>; N] {
    percentiles_and_median_interval_unsorted(values, qs, false).0
}

/// [`percentiles_unsorted`], and with `interval` the [`median_interval`] of
/// the same values, all from one pass of selections (the interval's two
/// order statistics are selected with the percentiles', largest first).
/// Reorders `values`.
pub fn percentiles_and_median_interval_unsorted<T: Ord + Copy + Into<i64>, const N: usize>(
    values: &mut [T],
    qs: [u32; N],
    interval: bool,
) -> ([Option<f64>; N], Option<[f64; 2]>) {
    let n = values.len();
    if n == 0 {
        return ([None; N], None);
    }
    let interval_ranks = interval
        .then(|| median_interval_rank(n))
        .flatten()
        .map(|l| (l - 1, n - l));
    // Every order statistic needed, largest first.
    let mut needed: Vec<usize> = qs
        .iter()
        .filter_map(|&q| ranks(n, q))
        .flat_map(|(lo, hi, _)| [lo, hi])
        .chain(interval_ranks.into_iter().flat_map(|(lo, hi)| [lo, hi]))
        .collect();
    needed.sort_unstable_by(|a, b| b.cmp(a));
    needed.dedup();
    select_order_statistics(values, &needed);
    let at = |i: usize| values[i].into() as f64;
    let percentiles =
        qs.map(|q| ranks(n, q).map(|(lo, hi, frac)| interpolate(at(lo), at(hi), frac)));
    (percentiles, interval_ranks.map(|(lo, hi)| [at(lo), at(hi)]))
}

/// Places the `needed` order statistics (0-based ranks, largest first, no
/// repeats) at their ranks, each selection within the part below the last.
fn select_order_statistics<T: Ord + Copy>(values: &mut [T], needed: &[usize]) {
    // Invariant: `values[..k]` are the k smallest and `values[k]` is the
    // k-th order statistic, for the last k placed.
    let mut placed: Option<usize> = None;
    for &k in needed {
        match placed {
            // The one just below a placed one is the largest before it.
            Some(p) if p == k + 1 => {
                let i = values[..=k]
                    .iter()
                    .enumerate()
                    .max_by_key(|&(_, v)| *v)
                    .map_or(k, |(i, _)| i);
                values.swap(i, k);
            }
            Some(p) => {
                values[..p].select_nth_unstable(k);
            }
            None => {
                values.select_nth_unstable(k);
            }
        }
        placed = Some(k);
    }
}

/// Count, median, 85th percentile and total of a set of durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// How many values.
    pub count: usize,
    /// The median; `None` when there are no values.
    pub median: Option<f64>,
    /// The 85th percentile; `None` when there are no values.
    pub p85: Option<f64>,
    /// The sum.
    pub total: f64,
    /// The median's 95 % confidence interval (see [`median_interval`]);
    /// `None` below [`MEDIAN_INTERVAL_MIN`] values.
    pub median_ci: Option<[f64; 2]>,
}

impl Summary {
    /// Summarizes `values` (sorts them in place).
    pub fn of(values: &mut [f64]) -> Summary {
        values.sort_by(f64::total_cmp);
        Summary {
            count: values.len(),
            median: percentile_sorted(values, 50),
            p85: percentile_sorted(values, 85),
            // The empty sum of floats is -0.0; `+ 0.0` makes it 0.
            total: values.iter().sum::<f64>() + 0.0,
            median_ci: median_interval(values),
        }
    }

    /// Summarizes whole seconds.
    pub fn of_seconds(values: &[i64]) -> Summary {
        let mut v: Vec<f64> = values.iter().map(|&s| s as f64).collect();
        Summary::of(&mut v)
    }
}

/// The fewest values with a distribution-free 95 % interval for the median:
/// with 5 values, even the minimum-to-maximum range covers the median with
/// only 1 − 2 · 0.5⁵ = 93.75 % confidence; with 6 it is 96.9 %.
pub const MEDIAN_INTERVAL_MIN: usize = 6;

/// The distribution-free 95 % confidence interval of the median of `sorted`
/// values: `[x(l), x(n + 1 − l)]` (1-based order statistics) for the largest
/// `l` whose coverage `1 − 2 · P(B ≤ l − 1)`, `B ~ Binomial(n, ½)`, is at
/// least 95 %. It holds for any continuous distribution. `None` below
/// [`MEDIAN_INTERVAL_MIN`] values.
pub fn median_interval(sorted: &[f64]) -> Option<[f64; 2]> {
    let l = median_interval_rank(sorted.len())?;
    Some([sorted[l - 1], sorted[sorted.len() - l]])
}

/// The `l` of [`median_interval`] for `n` values.
fn median_interval_rank(n: usize) -> Option<usize> {
    if n < MEDIAN_INTERVAL_MIN {
        return None;
    }
    // P(B ≤ k) summed in log space, so that large n does not underflow.
    let log_half_n = n as f64 * 0.5f64.ln();
    let mut log_pmf = log_half_n; // P(B = 0)
    let mut cdf = log_pmf.exp();
    let mut l = 1;
    // Grow l while 2 · P(B ≤ l) ≤ 0.05, that is while l + 1 still covers.
    for k in 0..n / 2 {
        let next_pmf = log_pmf + ((n - k) as f64).ln() - ((k + 1) as f64).ln();
        let next_cdf = cdf + next_pmf.exp();
        if 2.0 * next_cdf > 0.05 {
            break;
        }
        log_pmf = next_pmf;
        cdf = next_cdf;
        l = k + 2;
    }
    Some(l)
}

/// The Wilson score 95 % interval of a proportion `k` of `n`; `None` when
/// `n` is 0. Unlike the normal interval it stays inside [0, 1] and is not
/// empty at 0 % or 100 %.
pub fn wilson_interval(k: usize, n: usize) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    Some([(centre - half).max(0.0), (centre + half).min(1.0)])
}

/// Resamples of the share bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;
/// Above this many values a stage's resampled sum is drawn from the normal
/// distribution the central limit theorem gives it (mean `n · mean`,
/// variance `n · variance`) instead of by drawing `n` values.
pub const BOOTSTRAP_EXACT_MAX: usize = 2000;
/// The bootstrap's fixed seed: the same input always gives the same interval.
const BOOTSTRAP_SEED: u64 = 0x6e65_7874_6e65_636b;

/// 95 % percentile-bootstrap intervals of each part's share of the sum of
/// all parts: each part's values are resampled with replacement,
/// independently of the other parts, [`BOOTSTRAP_RESAMPLES`] times with a
/// fixed seed; each interval is the 2.5th and 97.5th percentile of that
/// part's resampled shares. `None` for a part without values, or when no
/// resample has a positive sum.
pub fn share_intervals(parts: &[&[i64]]) -> Vec<Option<[f64; 2]>> {
    // Sorted copies and exact moments: the same values in any order give
    // the same interval.
    let sorted: Vec<Vec<i64>> = parts
        .iter()
        .map(|v| {
            let mut v = if v.len() <= BOOTSTRAP_EXACT_MAX {
                v.to_vec()
            } else {
                Vec::new()
            };
            v.sort_unstable();
            v
        })
        .collect();
    let parts: Vec<SharePart<'_>> = parts
        .iter()
        .zip(&sorted)
        .map(|(v, s)| {
            if v.len() <= BOOTSTRAP_EXACT_MAX {
                SharePart::Values(s)
            } else {
                let (mean, variance) = mean_variance(v);
                SharePart::Moments {
                    n: v.len(),
                    mean,
                    variance,
                }
            }
        })
        .collect();
    share_intervals_of(&parts)
}

/// One part of [`share_intervals_of`]: its values, or (above
/// [`BOOTSTRAP_EXACT_MAX`] values) only their count, mean and variance.
#[derive(Clone, Copy, Debug)]
pub enum SharePart<'a> {
    /// Every value.
    Values(&'a [i64]),
    /// Count, mean and (population) variance.
    Moments {
        /// How many values.
        n: usize,
        /// Their mean.
        mean: f64,
        /// Their variance.
        variance: f64,
    },
}

/// [`share_intervals`] of parts given by their values or their moments.
pub fn share_intervals_of(parts: &[SharePart<'_>]) -> Vec<Option<[f64; 2]>> {
    let mut rng = Rng(BOOTSTRAP_SEED);
    let mut shares: Vec<Vec<f64>> = vec![Vec::with_capacity(BOOTSTRAP_RESAMPLES); parts.len()];
    let mut sums = vec![0.0; parts.len()];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for (i, part) in parts.iter().enumerate() {
            sums[i] = resampled_sum(part, &mut rng);
        }
        let total: f64 = sums.iter().sum();
        if total > 0.0 {
            for (i, s) in sums.iter().enumerate() {
                shares[i].push(s / total);
            }
        }
    }
    parts
        .iter()
        .zip(&mut shares)
        .map(|(part, s)| {
            let empty = match part {
                SharePart::Values(v) => v.is_empty(),
                SharePart::Moments { n, .. } => *n == 0,
            };
            if empty || s.is_empty() {
                return None;
            }
            s.sort_by(f64::total_cmp);
            Some([percentile_tenths(s, 25), percentile_tenths(s, 975)])
        })
        .collect()
}

/// The percentile at `q` tenths of a percent of sorted values (type 7).
fn percentile_tenths(sorted: &[f64], q: u64) -> f64 {
    let h = (sorted.len() as u64 - 1) * q;
    let lo = (h / 1000) as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = (h % 1000) as f64 / 1000.0;
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

fn mean_variance(values: &[i64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    // Exact integer sums, whatever the order.
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    let squares: i128 = values.iter().map(|&v| i128::from(v) * i128::from(v)).sum();
    let n = values.len() as f64;
    let mean = sum as f64 / n;
    (mean, (squares as f64 / n - mean * mean).max(0.0))
}

fn resampled_sum(part: &SharePart<'_>, rng: &mut Rng) -> f64 {
    match *part {
        SharePart::Values(values) => {
            let n = values.len();
            (0..n).map(|_| values[rng.below(n)] as f64).sum::<f64>() + 0.0
        }
        SharePart::Moments { n, mean, variance } => {
            let n = n as f64;
            (n * mean + (n * variance).sqrt() * rng.normal()).max(0.0)
        }
    }
}

/// xorshift64*: small, fast and fixed, which is all a seeded bootstrap needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[f64], q: u32, expected: Option<f64>) {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        assert_eq!(percentile_sorted(&v, q), expected, "p{q} of {values:?}");
    }

    #[test]
    fn type_7_matches_numpy() {
        // Expected values are numpy.percentile(x, q) (method='linear').
        check(&[], 50, None);
        check(&[7.0], 85, Some(7.0));
        check(&[1.0, 2.0], 50, Some(1.5));
        check(&[1.0, 2.0, 3.0, 4.0], 50, Some(2.5));
        check(&[1.0, 2.0, 3.0, 4.0], 85, Some(3.55));
        check(&[10.0, 0.0, 30.0, 20.0, 40.0], 85, Some(34.0));
        check(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            85,
            Some(8.65),
        );
        check(
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            95,
            Some(9.55),
        );
        check(&[3.0, 1.0, 2.0], 0, Some(1.0));
        check(&[3.0, 1.0, 2.0], 100, Some(3.0));
        check(&[3600.0, 7200.0, 86400.0], 85, Some(62640.0));
    }

    /// Selection gives what sorting gives, for every percentile of sets
    /// with and without repeated values.
    #[test]
    fn percentiles_of_unsorted_values_are_those_of_sorted_ones() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in (0..40).chain([99, 100, 101, 1000, 4321]) {
            for range in [3, 1_000_000_007] {
                let values: Vec<i64> = (0..n).map(|_| (next() % range) as i64 - 5).collect();
                let mut sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
                sorted.sort_by(f64::total_cmp);
                for qs in [[50, 85], [85, 50], [0, 100], [95, 94], [1, 2]] {
                    let mut v = values.clone();
                    let expected = qs.map(|q| percentile_sorted(&sorted, q));
                    assert_eq!(
                        percentiles_unsorted(&mut v, qs),
                        expected,
                        "{n} {range} {qs:?}"
                    );
                }
            }
        }
        assert_eq!(percentiles_unsorted(&mut [4, 1, 3, 2], [85]), [Some(3.55)]);
    }

    #[test]
    fn summary_counts_and_totals() {
        let s = Summary::of_seconds(&[60, 0, 120]);
        assert_eq!(
            s,
            Summary {
                count: 3,
                median: Some(60.0),
                p85: Some(102.0),
                total: 180.0,
                median_ci: None,
            }
        );
        assert_eq!(Summary::of_seconds(&[]), Summary::default());
        assert!(Summary::of_seconds(&[]).total.is_sign_positive(), "not -0");
    }

    fn check_median_interval(n: usize, expected_rank: Option<usize>) {
        assert_eq!(median_interval_rank(n), expected_rank, "n = {n}");
    }

    /// The ranks are those of the published tables (for example Conover,
    /// Practical Nonparametric Statistics, table A3; `l` for 95 %).
    #[test]
    fn median_interval_ranks_match_the_binomial_tables() {
        for (n, l) in [
            (5, None),
            (6, Some(1)),
            (8, Some(1)),
            (9, Some(2)),
            (10, Some(2)),
            (11, Some(2)),
            (12, Some(3)),
            (20, Some(6)),
            (30, Some(10)),
            (100, Some(40)),
        ] {
            check_median_interval(n, l);
        }
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_interval(&v), Some([2.0, 9.0]));
        // Large samples do not underflow: exactly n/2 − 980 (checked with log-gamma sums).
        assert_eq!(median_interval_rank(1_000_000), Some(499_020));
    }

    #[test]
    fn wilson_intervals() {
        let check = |k: usize, n: usize, expected: Option<[f64; 2]>| {
            let got = wilson_interval(k, n)
                .map(|[a, b]| [(a * 1e4).round() / 1e4, (b * 1e4).round() / 1e4]);
            assert_eq!(got, expected, "{k} of {n}");
        };
        check(0, 0, None);
        check(0, 1, Some([0.0, 0.7935]));
        check(1, 1, Some([0.2065, 1.0]));
        check(0, 20, Some([0.0, 0.1611]));
        check(5, 50, Some([0.0435, 0.2136]));
    }

    #[test]
    fn share_intervals_cover_the_share_and_repeat() {
        let coding: Vec<i64> = (1..=40).map(|i| i * 60).collect();
        let deploy: Vec<i64> = (1..=40).map(|i| i * 180).collect();
        let a = share_intervals(&[&coding, &deploy, &[]]);
        assert_eq!(a, share_intervals(&[&coding, &deploy, &[]]), "seeded");
        let mut reversed = deploy.clone();
        reversed.reverse();
        assert_eq!(a, share_intervals(&[&coding, &reversed, &[]]), "order");
        let [lo, hi] = a[1].expect("an interval");
        assert!(lo < 0.75 && 0.75 < hi && hi - lo < 0.2, "{lo} {hi}");
        assert_eq!(a[2], None);
        // A part with one value always has the same sum: the interval is
        // as wide as the other parts' spread makes it.
        let one = share_intervals(&[&[100], &[100]]);
        assert_eq!(one, vec![Some([0.5, 0.5]); 2]);
        // Large parts use the normal approximation and stay near the share.
        let big: Vec<i64> = (0..5000).map(|i| i % 100).collect();
        let b = share_intervals(&[&big, &big]);
        let [lo, hi] = b[0].expect("an interval");
        assert!(lo > 0.48 && hi < 0.52, "{lo} {hi}");
    }
}
