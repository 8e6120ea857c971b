//! The Monte Carlo forecast against answers computed independently: exact
//! distributions of sums of days drawn from the history, by convolution.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_metrics::forecast::{ForecastSettings, SplitMix64, forecast};

/// 2024-03-01T00:00:00Z.
const BASE: i64 = 1_709_251_200;
const DAY: i64 = 86_400;

fn settings(items: Option<u64>, days: Option<u64>) -> ForecastSettings {
    ForecastSettings {
        unit: "items",
        source: "test".into(),
        items,
        days,
        trials: 10_000,
        seed: 7,
        since: None,
        until: None,
    }
}

/// Completion times: `daily[d]` items on day d (at noon) after BASE.
fn completions(daily: &[u64]) -> Vec<i64> {
    let mut out = Vec::new();
    for (d, &n) in daily.iter().enumerate() {
        for _ in 0..n {
            out.push(BASE + d as i64 * DAY + DAY / 2);
        }
    }
    out
}

/// The distribution of one day's throughput: P(k) for k = 0..=max.
fn day_pmf(daily: &[u64]) -> Vec<f64> {
    let max = *daily.iter().max().unwrap() as usize;
    let mut p = vec![0.0; max + 1];
    for &d in daily {
        p[d as usize] += 1.0 / daily.len() as f64;
    }
    p
}

fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The smallest k with P(X <= k) >= p, for a pmf.
fn quantile(pmf: &[f64], p: f64) -> u64 {
    let mut cdf = 0.0;
    for (k, x) in pmf.iter().enumerate() {
        cdf += x;
        if cdf >= p - 1e-12 {
            return k as u64;
        }
    }
    pmf.len() as u64
}

/// P(T <= t) for T = the first day the running sum reaches n, t = 1..=max.
fn when_cdf(day: &[f64], n: u64, max: usize) -> Vec<f64> {
    let mut sum = vec![1.0];
    let mut out = vec![0.0];
    for _ in 1..=max {
        sum = convolve(&sum, day);
        out.push(sum.iter().skip(n as usize).sum());
    }
    out
}

fn when_quantile(cdf: &[f64], p: f64) -> u64 {
    cdf.iter().position(|&c| c >= p - 1e-12).unwrap() as u64
}

#[test]
fn constant_throughput_is_certain() {
    // 10 days of history with 2 items each: 10 items take 5 days, and 7 days
    // bring 14 items, at every percentile.
    let c = completions(&[2; 10]);
    let newest = *c.last().unwrap();
    let r = forecast(&c, newest, BASE, &settings(Some(10), Some(7))).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["history"]["since"], "2024-03-01T00:00:00Z");
    assert_eq!(v["history"]["until"], "2024-03-11T00:00:00Z");
    assert_eq!(v["history"]["days"], 10);
    assert_eq!(v["history"]["completed"], 20);
    for p in ["p50", "p70", "p85", "p95"] {
        assert_eq!(v["forecast"]["when"][p]["days"], 5, "{p}");
        // Day 1 is 2024-03-11, day 5 is 2024-03-15.
        assert_eq!(v["forecast"]["when"][p]["date"], "2024-03-15", "{p}");
        assert_eq!(v["forecast"]["how_many"][p]["items"], 14, "{p}");
    }
}

#[test]
fn percentiles_fall_in_the_exact_windows() {
    // A lumpy history with zero days.
    let daily = [0, 0, 1, 3, 0, 2, 5, 0, 1, 0, 0, 4, 1, 0];
    let c = completions(&daily);
    let day = day_pmf(&daily);
    let newest = BASE + daily.len() as i64 * DAY - 1;
    for seed in [1, 2, 3] {
        let mut s = settings(Some(25), Some(20));
        s.seed = seed;
        let r = forecast(&c, newest, BASE, &s).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        // 10,000 trials: a sample percentile is within ±1.5 points of
        // probability of the true one (over 4 standard errors at p = 0.5).
        let tol = 0.015;
        let cdf = when_cdf(&day, 25, 200);
        let mut sum20 = vec![1.0];
        for _ in 0..20 {
            sum20 = convolve(&sum20, &day);
        }
        for q in [50u32, 70, 85, 95] {
            let p = f64::from(q) / 100.0;
            let when = v["forecast"]["when"][format!("p{q}")]["days"]
                .as_u64()
                .unwrap();
            let (lo, hi) = (when_quantile(&cdf, p - tol), when_quantile(&cdf, p + tol));
            assert!(
                (lo..=hi).contains(&when),
                "seed {seed} when p{q}: {when} not in {lo}..={hi}"
            );
            // "At least k with q% odds" is the (100 - q)th percentile of the
            // sum.
            let many = v["forecast"]["how_many"][format!("p{q}")]["items"]
                .as_u64()
                .unwrap();
            let (lo, hi) = (
                quantile(&sum20, 1.0 - p - tol),
                quantile(&sum20, 1.0 - p + tol),
            );
            assert!(
                (lo..=hi).contains(&many),
                "seed {seed} how many p{q}: {many} not in {lo}..={hi}"
            );
        }
        // Higher odds: later dates, fewer items.
        let w = &v["forecast"]["when"];
        assert!(w["p50"]["days"].as_u64() <= w["p95"]["days"].as_u64());
        let h = &v["forecast"]["how_many"];
        assert!(h["p50"]["items"].as_u64() >= h["p95"]["items"].as_u64());
    }
}

#[test]
fn the_seed_decides() {
    let c = completions(&[0, 1, 0, 2, 0, 0, 3]);
    let newest = BASE + 7 * DAY - 1;
    let a = forecast(&c, newest, BASE, &settings(Some(30), Some(30))).unwrap();
    let b = forecast(&c, newest, BASE, &settings(Some(30), Some(30))).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    // SplitMix64's published first output for seed 0.
    assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    let mut rng = SplitMix64::new(9);
    let mut seen = [0u32; 3];
    for _ in 0..3000 {
        seen[rng.below(3) as usize] += 1;
    }
    assert!(seen.iter().all(|&n| (900..1100).contains(&n)), "{seen:?}");
}

#[test]
fn history_window_and_degenerate_inputs() {
    // 200 days of history, one item every day: the default history is the
    // 90 days before the end of the newest event's day.
    let c = completions(&[1; 200]);
    let newest = *c.last().unwrap();
    let r = forecast(&c, newest, BASE, &settings(None, Some(1))).unwrap();
    assert_eq!(r.history.days, 90);
    assert_eq!(r.history.until, BASE + 200 * DAY);
    // Not before the log's first day.
    let r = forecast(&c[..10], c[9], BASE, &settings(None, Some(1))).unwrap();
    assert_eq!(r.history.days, 10);
    assert_eq!(r.history.since, BASE);
    // Explicit bounds are rounded down to whole days.
    let mut s = settings(None, Some(1));
    s.since = Some(BASE + 3 * DAY + 5);
    s.until = Some(BASE + 5 * DAY + 5);
    let r = forecast(&c, newest, BASE, &s).unwrap();
    assert_eq!(
        (r.history.since, r.history.until),
        (BASE + 3 * DAY, BASE + 5 * DAY)
    );
    assert_eq!(r.history.completed, 2);

    let none = forecast(&[], newest, BASE, &s).unwrap_err();
    assert_eq!(
        none.to_string(),
        "no items completed between 2024-03-04T00:00:00Z and 2024-03-06T00:00:00Z, so there is no throughput to forecast from; widen the history with --since, or check what counts as done"
    );
    s.until = s.since;
    assert!(
        forecast(&c, newest, BASE, &s)
            .unwrap_err()
            .to_string()
            .starts_with("the history is empty")
    );
    let nothing = forecast(&c, newest, BASE, &settings(None, None)).unwrap_err();
    assert_eq!(
        nothing.to_string(),
        "say what to forecast: --items N (when) or --days D (how many)"
    );
}

fn check_distribution(sorted: &[f64], expected: &[(u64, u64, u64)]) {
    let got: Vec<(u64, u64, u64)> = nextneck_metrics::forecast::distribution(sorted)
        .iter()
        .map(|b| (b.from, b.to, b.trials))
        .collect();
    assert_eq!(got, expected, "{sorted:?}");
}

#[test]
fn the_distribution_buckets_every_trial() {
    check_distribution(&[], &[]);
    check_distribution(&[5.0; 3], &[(5, 5, 3)]);
    // Width 1 up to 40 distinct values, empty buckets kept.
    check_distribution(&[1.0, 1.0, 3.0], &[(1, 1, 2), (2, 2, 0), (3, 3, 1)]);
    // 0..=80 is 81 values: width 3, 27 buckets, the last one 78..=80.
    let wide: Vec<f64> = (0..=80).map(f64::from).collect();
    let d = nextneck_metrics::forecast::distribution(&wide);
    assert_eq!(d.len(), 27);
    assert_eq!((d[0].from, d[0].to, d[0].trials), (0, 2, 3));
    assert_eq!((d[26].from, d[26].to, d[26].trials), (78, 80, 3));
    // In a report: every trial in exactly one bucket, and the certain
    // answers of constant throughput in one.
    let c = completions(&[2; 10]);
    let r = forecast(&c, *c.last().unwrap(), BASE, &settings(Some(10), Some(7))).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["forecast"]["when"]["distribution"],
        serde_json::json!([{"from": 5, "to": 5, "trials": 10_000}])
    );
    assert_eq!(
        v["forecast"]["how_many"]["distribution"],
        serde_json::json!([{"from": 14, "to": 14, "trials": 10_000}])
    );
    let c = completions(&[0, 1, 3, 0, 2, 5, 1]);
    let r = forecast(&c, *c.last().unwrap(), BASE, &settings(Some(20), Some(9))).unwrap();
    let when = r.forecast.when.unwrap();
    let how = r.forecast.how_many.unwrap();
    for d in [&when.distribution, &how.distribution] {
        assert_eq!(d.iter().map(|b| b.trials).sum::<u64>(), 10_000);
        assert!(d.windows(2).all(|w| w[1].from == w[0].to + 1));
    }
    assert!(
        when.distribution[0].from <= when.p50.days
            && when.p95.days <= when.distribution.last().unwrap().to
    );
}
