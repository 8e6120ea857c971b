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
    let n = values.len();
    if n == 0 {
        return [None; N];
    }
    // Every order statistic needed, largest first.
    let mut needed: Vec<usize> = qs
        .iter()
        .filter_map(|&q| ranks(n, q))
        .flat_map(|(lo, hi, _)| [lo, hi])
        .collect();
    needed.sort_unstable_by(|a, b| b.cmp(a));
    needed.dedup();
    // Invariant: `values[..k]` are the k smallest and `values[k]` is the
    // k-th order statistic, for the last k placed.
    let mut placed: Option<usize> = None;
    for k in needed {
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
    let at = |i: usize| values[i].into() as f64;
    qs.map(|q| ranks(n, q).map(|(lo, hi, frac)| interpolate(at(lo), at(hi), frac)))
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
}

impl Summary {
    /// Summarizes `values` (sorts them in place).
    pub fn of(values: &mut [f64]) -> Summary {
        values.sort_by(f64::total_cmp);
        Summary {
            count: values.len(),
            median: percentile_sorted(values, 50),
            p85: percentile_sorted(values, 85),
            total: values.iter().sum(),
        }
    }

    /// Summarizes whole seconds.
    pub fn of_seconds(values: &[i64]) -> Summary {
        let mut v: Vec<f64> = values.iter().map(|&s| s as f64).collect();
        Summary::of(&mut v)
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
                total: 180.0
            }
        );
        assert_eq!(Summary::of_seconds(&[]), Summary::default());
    }
}
