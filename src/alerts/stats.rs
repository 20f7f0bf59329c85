//! The two one-sided tests the pattern rules state in `pkg-config/policy.md`:
//! the Poisson upper tail (a count against the count a rate predicts) and
//! the binomial upper tail (records in one group against the group's share).
//!
//! Both sum the tail from the observed count upwards, term by term with the
//! ratio of successive terms, starting from a log-space first term (so no
//! factorial overflows), and stop once a term no longer changes the sum.
//! Known answers, worked by hand or with exact fractions, are in the tests.

/// `ln Γ(x)` for `x > 0`: Lanczos (g = 7, 9 terms), relative error below
/// 1e-13 over the range the tests use.
pub(super) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C0: f64 = 0.999_999_999_999_809_9;
    const C: [f64; 8] = [
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C0;
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate() {
        a += c / (x + i as f64 + 1.0);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln C(n, k)`.
fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Sums `first, first·r(k), first·r(k)·r(k+1), ...` for `i` from `k` to
/// `last`, stopping once a term past the peak adds nothing.
fn tail_sum(first: f64, k: u64, last: u64, ratio: impl Fn(u64) -> f64) -> f64 {
    let mut term = first;
    let mut sum = 0.0;
    let mut i = k;
    loop {
        sum += term;
        if i >= last {
            break;
        }
        let r = ratio(i);
        term *= r;
        i += 1;
        if r < 1.0 && term <= sum * 1e-17 {
            break;
        }
    }
    sum.min(1.0)
}

/// `P(X ≥ k)` for `X ~ Poisson(lambda)`.
pub(super) fn poisson_upper(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    let kf = k as f64;
    let first = (-lambda + kf * lambda.ln() - ln_gamma(kf + 1.0)).exp();
    tail_sum(first, k, u64::MAX, |i| lambda / (i as f64 + 1.0))
}

/// `P(X ≥ k)` for `X ~ Binomial(n, p)`.
pub(super) fn binomial_upper(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (kf, nf) = (k as f64, n as f64);
    let first = (ln_choose(n, k) + kf * p.ln() + (nf - kf) * (1.0 - p).ln()).exp();
    let odds = p / (1.0 - p);
    tail_sum(first, k, n, |i| (n - i) as f64 / (i as f64 + 1.0) * odds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_known_answers() {
        // Γ(1) = Γ(2) = 1, Γ(5) = 24, Γ(0.5) = √π, 20! = 2432902008176640000.
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(5.0), 24f64.ln()));
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln()));
        assert!(close(ln_gamma(21.0), 2_432_902_008_176_640_000f64.ln()));
    }

    #[test]
    fn poisson_known_answers() {
        // P(X ≥ 3 | 1) = 1 - e^-1 (1 + 1 + 1/2).
        let e = std::f64::consts::E;
        assert!(close(poisson_upper(3, 1.0), 1.0 - 2.5 / e));
        // P(X ≥ 1 | λ) = 1 - e^-λ.
        assert!(close(poisson_upper(1, 0.25), 1.0 - (-0.25f64).exp()));
        // P(X ≥ 10 | 0.25) is dominated by its first term, 0.25^10 e^-0.25 / 10!.
        let first = 0.25f64.powi(10) * (-0.25f64).exp() / 3_628_800.0;
        let p = poisson_upper(10, 0.25);
        assert!(p > first && p < first * 1.03, "{p} vs {first}");
        assert_eq!(poisson_upper(0, 5.0), 1.0);
        assert_eq!(poisson_upper(4, 0.0), 0.0);
        // Below the mean the tail is most of the mass.
        assert!(poisson_upper(2, 10.0) > 0.999);
    }

    #[test]
    fn binomial_known_answers() {
        // P(X ≥ 8 | 10, 1/2) = (45 + 10 + 1) / 1024.
        assert!(close(binomial_upper(8, 10, 0.5), 56.0 / 1024.0));
        // P(X ≥ 5 | 20, 1/10) = 1 - Σ_{i<5} C(20,i) 0.1^i 0.9^(20-i).
        let lower: f64 = (0..5u64)
            .map(|i| {
                let c = (0..i).fold(1.0, |a, j| a * (20 - j) as f64 / (j + 1) as f64);
                c * 0.1f64.powi(i as i32) * 0.9f64.powi(20 - i as i32)
            })
            .sum();
        assert!(close(binomial_upper(5, 20, 0.1), 1.0 - lower));
        // Every record in the group: p^n.
        assert!(close(binomial_upper(12, 12, 0.25), 0.25f64.powi(12)));
        assert_eq!(binomial_upper(0, 12, 0.3), 1.0);
        assert_eq!(binomial_upper(13, 12, 0.3), 0.0);
        assert_eq!(binomial_upper(3, 12, 0.0), 0.0);
        assert_eq!(binomial_upper(3, 12, 1.0), 1.0);
        // A large n stays finite and in range.
        let p = binomial_upper(400, 1000, 0.3);
        assert!(p > 0.0 && p < 1e-10, "{p}");
    }
}
