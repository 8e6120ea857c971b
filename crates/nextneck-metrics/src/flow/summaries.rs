//! The stages' order statistics: durations in whole seconds (`u32` while
//! they fit), their median, p85 and median interval selected on all cores,
//! and what the share bootstrap needs of them.

use super::joined;

/// The median, the p85 and, with `interval`, the median's 95 % interval
/// ([`crate::stats::median_interval`]) of whole seconds in any order.
pub(super) fn median_p85(v: Seconds, interval: bool) -> Summarized {
    use crate::stats::percentiles_and_median_interval_unsorted as select;
    let ([median, p85], median_ci) = match v {
        Seconds::Narrow(mut v) => select(&mut v, [50, 85], interval),
        Seconds::Wide(mut v) => select(&mut v, [50, 85], interval),
    };
    Summarized {
        median,
        p85,
        median_ci,
    }
}

/// What [`median_p85`] gives.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Summarized {
    pub(super) median: Option<f64>,
    pub(super) p85: Option<f64>,
    pub(super) median_ci: Option<[f64; 2]>,
}

/// Durations in whole seconds, as `u32` while every one fits (0 to 136
/// years: stays of real logs), else as `i64`: half the memory to fill and
/// to select order statistics in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seconds {
    Narrow(Vec<u32>),
    Wide(Vec<i64>),
}

impl Default for Seconds {
    fn default() -> Self {
        Seconds::Narrow(Vec::new())
    }
}

impl Seconds {
    /// What the share bootstrap needs of these values: all of them when
    /// there are few, else their count, mean and variance (one pass, no
    /// copy).
    pub(super) fn share_sample(&self) -> ShareSample {
        let n = self.len();
        if n <= crate::stats::BOOTSTRAP_EXACT_MAX {
            // Sorted, so that the interval does not depend on the order
            // the stays were read in (a file and the store give the same).
            let mut v = self.to_vec();
            v.sort_unstable();
            return ShareSample::Values(v);
        }
        // Exact integer sums: the same stays in any order give the same
        // moments.
        let (mut sum, mut squares) = (0i128, 0i128);
        let mut add = |d: i64| {
            sum += i128::from(d);
            squares += i128::from(d) * i128::from(d);
        };
        match self {
            Seconds::Narrow(v) => v.iter().for_each(|&d| add(i64::from(d))),
            Seconds::Wide(v) => v.iter().for_each(|&d| add(d)),
        }
        let nf = n as f64;
        let mean = sum as f64 / nf;
        ShareSample::Moments {
            n,
            mean,
            variance: (squares as f64 / nf - mean * mean).max(0.0),
        }
    }

    pub(super) fn reserve(&mut self, n: usize) {
        match self {
            Seconds::Narrow(v) => v.reserve(n),
            Seconds::Wide(v) => v.reserve(n),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Seconds::Narrow(v) => v.len(),
            Seconds::Wide(v) => v.len(),
        }
    }

    #[inline]
    pub(super) fn push(&mut self, d: i64) {
        match self {
            Seconds::Narrow(v) => match u32::try_from(d) {
                Ok(d) => v.push(d),
                Err(_) => {
                    self.widen();
                    self.push(d);
                }
            },
            Seconds::Wide(v) => v.push(d),
        }
    }

    pub(super) fn widen(&mut self) {
        if let Seconds::Narrow(v) = self {
            *self = Seconds::Wide(v.iter().map(|&d| i64::from(d)).collect());
        }
    }

    /// Adds `other`'s after these.
    pub(super) fn append(&mut self, other: Seconds) {
        match (&mut *self, other) {
            (Seconds::Narrow(a), Seconds::Narrow(b)) => {
                a.reserve_exact(b.len());
                a.extend(b);
            }
            (_, other) => {
                self.widen();
                if let Seconds::Wide(a) = self {
                    match other {
                        Seconds::Narrow(b) => a.extend(b.iter().map(|&d| i64::from(d))),
                        Seconds::Wide(b) => a.extend(b),
                    }
                }
            }
        }
    }

    pub(super) fn to_vec(&self) -> Vec<i64> {
        match self {
            Seconds::Narrow(v) => v.iter().map(|&d| i64::from(d)).collect(),
            Seconds::Wide(v) => v.clone(),
        }
    }
}

/// An owned [`crate::stats::SharePart`].
pub(super) enum ShareSample {
    Values(Vec<i64>),
    Moments { n: usize, mean: f64, variance: f64 },
}

impl ShareSample {
    pub(super) fn part(&self) -> crate::stats::SharePart<'_> {
        match *self {
            ShareSample::Values(ref v) => crate::stats::SharePart::Values(v),
            ShareSample::Moments { n, mean, variance } => {
                crate::stats::SharePart::Moments { n, mean, variance }
            }
        }
    }
}

/// [`median_p85`] of each vector (with the median's interval where its
/// flag says so), largest first, on all cores.
pub(super) fn summarize_all(jobs: Vec<(Seconds, bool)>) -> Vec<Summarized> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].0.len()));
    let slots: Vec<std::sync::Mutex<Option<(Seconds, bool)>>> = jobs
        .into_iter()
        .map(|j| std::sync::Mutex::new(Some(j)))
        .collect();
    let results: Vec<std::sync::Mutex<Summarized>> = (0..slots.len())
        .map(|_| std::sync::Mutex::new(Summarized::default()))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(k) else { return };
            // A poisoned lock means a worker panicked: the scope re-raises
            // that panic below.
            let job = slots[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .unwrap_or_default();
            let (values, interval) = job;
            let r = median_p85(values, interval);
            *results[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = r;
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads.min(order.len()))
            .map(|_| scope.spawn(work))
            .collect();
        work();
        handles.into_iter().for_each(joined);
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .collect()
}
