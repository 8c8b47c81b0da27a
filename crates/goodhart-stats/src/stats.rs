//! Intervals and agreement statistics, so every rate Goodhart prints comes with its uncertainty.
//!
//! Dependency-free on purpose: the bootstrap uses its own seeded SplitMix64 generator, so a run's
//! intervals are reproducible from its seed on any machine and any version of `rand`.

/// The two-sided normal quantile for 95% intervals (Φ⁻¹(0.975)).
pub const Z95: f64 = 1.959_963_984_540_054;

/// A point estimate with its interval, the shape every table and JSON output prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub point: f64,
    pub low: f64,
    pub high: f64,
}

/// Wilson score interval for `successes` out of `trials` at normal quantile `z`; behaves well near 0 and 1
/// and for small samples, where the normal approximation gives impossible bounds. `None` when `trials` is 0.
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<Estimate> {
    if trials == 0 || successes > trials {
        return None;
    }
    wilson_fraction(successes as f64 / trials as f64, trials as f64, z)
}

/// Wilson interval for an observed fraction `p` over an effective sample size `n` that need not be a
/// whole number of trials (a pooled rate over clusters, counted as `n` independent observations).
/// `None` unless `n > 0` and `0 ≤ p ≤ 1`.
pub fn wilson_fraction(p: f64, n: f64, z: f64) -> Option<Estimate> {
    if !(n > 0.0 && (0.0..=1.0).contains(&p)) {
        return None;
    }
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Estimate {
        point: p,
        low: (center - half).max(0.0),
        high: (center + half).min(1.0),
    })
}

/// The 95% Wilson interval, the default for every rate Goodhart reports.
pub fn wilson95(successes: u64, trials: u64) -> Option<Estimate> {
    wilson(successes, trials, Z95)
}

/// Difference `a - b` of two independent proportions with Newcombe's hybrid score interval (Newcombe 1998,
/// "Interval estimation for the difference between independent proportions", method 10): built from each
/// side's Wilson interval, so it stays inside [-1, 1] and behaves at 0 and 1 where the Wald interval does
/// not. `None` when either side has no trials.
pub fn newcombe_difference(a: (u64, u64), b: (u64, u64), z: f64) -> Option<Estimate> {
    let ea = wilson(a.0, a.1, z)?;
    let eb = wilson(b.0, b.1, z)?;
    let d = ea.point - eb.point;
    Some(Estimate {
        point: d,
        low: d - ((ea.point - ea.low).powi(2) + (eb.high - eb.point).powi(2)).sqrt(),
        high: d + ((ea.high - ea.point).powi(2) + (eb.point - eb.low).powi(2)).sqrt(),
    })
}

/// How a bootstrap is run; kept in the run's config so its intervals can be reproduced exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    pub resamples: usize,
    pub seed: u64,
    /// Two-sided coverage, e.g. 0.95.
    pub confidence: f64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            resamples: 10_000,
            seed: 0x600D_4A27,
            confidence: 0.95,
        }
    }
}

/// A small seeded generator (SplitMix64) so resampling is reproducible without a dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n > 0`), by Lemire's multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Mean of a slice; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Percentile bootstrap interval for the mean of `values`. `None` when `values` is empty.
pub fn bootstrap_mean(values: &[f64], opts: Bootstrap) -> Option<Estimate> {
    bootstrap_mean_of_means(&[values], opts)
}

/// Percentile bootstrap for the mean over groups of each group's mean, resampling within each group
/// (stratified): the shape of a score averaged over several evals, such as MGS. `None` when there are no
/// groups or any group is empty.
pub fn bootstrap_mean_of_means(groups: &[&[f64]], opts: Bootstrap) -> Option<Estimate> {
    if groups.is_empty() || groups.iter().any(|g| g.is_empty()) {
        return None;
    }
    let group_means: Vec<f64> = groups.iter().filter_map(|g| mean(g)).collect();
    let point = mean(&group_means)?;
    let mut rng = SplitMix64::new(opts.seed);
    let mut stats = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        let mut total = 0.0;
        for group in groups {
            let sum: f64 = (0..group.len())
                .map(|_| group[rng.below(group.len())])
                .sum();
            total += sum / group.len() as f64;
        }
        stats.push(total / groups.len() as f64);
    }
    if stats.is_empty() {
        return Some(Estimate {
            point,
            low: point,
            high: point,
        });
    }
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - opts.confidence) / 2.0;
    Some(Estimate {
        point,
        low: quantile(&stats, tail),
        high: quantile(&stats, 1.0 - tail),
    })
}

/// Linear-interpolation quantile of sorted, non-empty `sorted` (numpy's default method).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = pos.floor() as usize;
    let upper = pos.ceil() as usize;
    sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower as f64)
}

/// Why two paired samples cannot be differenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingError {
    /// The two sides have different lengths, so they are not paired.
    LengthMismatch { a: usize, b: usize },
    /// Nothing to compare.
    Empty,
}

impl std::fmt::Display for PairingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PairingError::LengthMismatch { a, b } => {
                write!(f, "paired samples differ in length ({a} vs {b})")
            }
            PairingError::Empty => write!(f, "no paired samples to compare"),
        }
    }
}

impl std::error::Error for PairingError {}

/// Mean paired difference `b - a` with a bootstrap interval over the pairs: the same prompts under two
/// models share prompt difficulty, so pairing gives a much tighter interval than comparing two rates.
pub fn paired_difference(a: &[f64], b: &[f64], opts: Bootstrap) -> Result<Estimate, PairingError> {
    let diffs = differences(a, b)?;
    bootstrap_mean(&diffs, opts).ok_or(PairingError::Empty)
}

/// Paired difference of a mean over groups (MGS): differences within each group, then a stratified
/// bootstrap of the mean of group means.
pub fn paired_difference_of_means(
    groups: &[(&[f64], &[f64])],
    opts: Bootstrap,
) -> Result<Estimate, PairingError> {
    let diffs = groups
        .iter()
        .map(|(a, b)| differences(a, b))
        .collect::<Result<Vec<_>, _>>()?;
    let slices: Vec<&[f64]> = diffs.iter().map(Vec::as_slice).collect();
    bootstrap_mean_of_means(&slices, opts).ok_or(PairingError::Empty)
}

fn differences(a: &[f64], b: &[f64]) -> Result<Vec<f64>, PairingError> {
    if a.len() != b.len() {
        return Err(PairingError::LengthMismatch {
            a: a.len(),
            b: b.len(),
        });
    }
    if a.is_empty() {
        return Err(PairingError::Empty);
    }
    Ok(a.iter().zip(b).map(|(x, y)| y - x).collect())
}

/// Cohen's kappa between two raters over the same items (labels are class indices): agreement corrected
/// for what the raters' label frequencies would give by chance. `None` when there are no items or chance
/// agreement is total (both raters used a single, identical class), where kappa is undefined.
pub fn cohen_kappa(pairs: &[(usize, usize)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let classes = pairs.iter().map(|&(a, b)| a.max(b)).max().unwrap_or(0) + 1;
    let n = pairs.len() as f64;
    let mut count_a = vec![0.0; classes];
    let mut count_b = vec![0.0; classes];
    let mut agree = 0.0;
    for &(a, b) in pairs {
        count_a[a] += 1.0;
        count_b[b] += 1.0;
        if a == b {
            agree += 1.0;
        }
    }
    let observed = agree / n;
    let expected: f64 = count_a
        .iter()
        .zip(&count_b)
        .map(|(x, y)| (x / n) * (y / n))
        .sum();
    if (1.0 - expected).abs() < 1e-12 {
        return None;
    }
    Some((observed - expected) / (1.0 - expected))
}

#[cfg(test)]
mod tests {
    #[test]
    fn newcombe_matches_the_published_example() {
        // Newcombe (1998), table II, example (a): 56/70 vs 48/80 gives 0.2000 with [0.0524, 0.3339].
        let e = super::newcombe_difference((56, 70), (48, 80), super::Z95).unwrap();
        assert!((e.point - 0.2).abs() < 1e-9, "{e:?}");
        assert!((e.low - 0.0524).abs() < 5e-4, "{e:?}");
        assert!((e.high - 0.3339).abs() < 5e-4, "{e:?}");
        assert!(super::newcombe_difference((1, 2), (0, 0), super::Z95).is_none());
    }

    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_three_of_ten() {
        // z² = 3.841459, z²/n = 0.3841459, denominator = 1.3841459.
        // centre = (0.3 + 3.841459/20) / 1.3841459 = 0.4920729 / 1.3841459 = 0.355506
        // half   = 1.959964 / 1.3841459 * sqrt(0.3*0.7/10 + 3.841459/400)
        //        = 1.416009 * sqrt(0.0210000 + 0.0096036) = 1.416009 * 0.1749389 = 0.247715
        // interval = [0.107791, 0.603221]
        let e = wilson95(3, 10).unwrap();
        assert!(close(e.point, 0.3, 1e-12));
        assert!(close(e.low, 0.107791, 1e-5), "{e:?}");
        assert!(close(e.high, 0.603221, 1e-5), "{e:?}");
    }

    #[test]
    fn wilson_zero_of_ten_starts_at_zero() {
        // centre = half = (3.841459/20) / 1.3841459 = 0.138766, so [0, 0.277532].
        let e = wilson95(0, 10).unwrap();
        assert!(close(e.low, 0.0, 1e-12));
        assert!(close(e.high, 0.277532, 1e-5), "{e:?}");
        let all = wilson95(10, 10).unwrap();
        assert!(close(all.low, 1.0 - 0.277532, 1e-5), "{all:?}");
        assert!(close(all.high, 1.0, 1e-12));
    }

    #[test]
    fn wilson_rejects_empty_and_impossible_counts() {
        assert_eq!(wilson95(0, 0), None);
        assert_eq!(wilson95(3, 2), None);
    }

    #[test]
    fn bootstrap_of_a_constant_is_the_constant() {
        // Every resample of [0.25; 7] has mean 0.25, so both percentiles are 0.25.
        let e = bootstrap_mean(&[0.25; 7], Bootstrap::default()).unwrap();
        assert_eq!((e.point, e.low, e.high), (0.25, 0.25, 0.25));
    }

    #[test]
    fn bootstrap_is_reproducible_and_brackets_the_mean() {
        let values: Vec<f64> = (0..40)
            .map(|i| if i % 4 == 0 { 1.0 } else { 0.0 })
            .collect();
        let opts = Bootstrap {
            resamples: 4000,
            seed: 7,
            confidence: 0.95,
        };
        let a = bootstrap_mean(&values, opts).unwrap();
        let b = bootstrap_mean(&values, opts).unwrap();
        assert_eq!(a, b);
        assert!(close(a.point, 0.25, 1e-12));
        // For 10/40 the Wilson interval is [0.142, 0.401]; the percentile bootstrap of a proportion with
        // n = 40 lands near the Wald interval 0.25 ± 1.96*sqrt(0.25*0.75/40) = [0.116, 0.384].
        assert!(close(a.low, 0.116, 0.03), "{a:?}");
        assert!(close(a.high, 0.384, 0.03), "{a:?}");
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Reference output of Vigna's splitmix64.c for seed 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_ne!(SplitMix64::new(7).next_u64(), SplitMix64::new(8).next_u64());
    }

    #[test]
    fn mean_of_means_weights_groups_equally() {
        // Group means 1.0 (n=1) and 0.0 (n=3): mean of means 0.5, not the pooled 0.25; both groups are
        // constant so every resample gives 0.5.
        let e = bootstrap_mean_of_means(&[&[1.0], &[0.0, 0.0, 0.0]], Bootstrap::default()).unwrap();
        assert_eq!((e.point, e.low, e.high), (0.5, 0.5, 0.5));
        assert_eq!(
            bootstrap_mean_of_means(&[&[1.0], &[]], Bootstrap::default()),
            None
        );
    }

    #[test]
    fn paired_difference_is_b_minus_a() {
        // Differences: [1, 1, 0, 1] → mean 0.75.
        let a = [0.0, 0.0, 1.0, 0.0];
        let b = [1.0, 1.0, 1.0, 1.0];
        let e = paired_difference(&a, &b, Bootstrap::default()).unwrap();
        assert!(close(e.point, 0.75, 1e-12));
        assert!(e.low <= 0.75 && e.high >= 0.75 && e.high <= 1.0);
        // Identical shifts give a degenerate interval: every difference is exactly 0.5.
        let e = paired_difference(&[0.0, 0.5], &[0.5, 1.0], Bootstrap::default()).unwrap();
        assert_eq!((e.point, e.low, e.high), (0.5, 0.5, 0.5));
        assert_eq!(
            paired_difference(&[0.0], &[0.0, 1.0], Bootstrap::default()),
            Err(PairingError::LengthMismatch { a: 1, b: 2 })
        );
    }

    #[test]
    fn paired_difference_of_means_averages_group_differences() {
        // Group 1 differences all +1, group 2 all 0: mean over groups 0.5 in every resample.
        let groups: [(&[f64], &[f64]); 2] = [(&[0.0, 0.0], &[1.0, 1.0]), (&[1.0], &[1.0])];
        let e = paired_difference_of_means(&groups, Bootstrap::default()).unwrap();
        assert_eq!((e.point, e.low, e.high), (0.5, 0.5, 0.5));
    }

    #[test]
    fn kappa_matches_the_textbook_table() {
        // 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
        // p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4.
        let mut pairs = vec![(1, 1); 20];
        pairs.extend(vec![(1, 0); 5]);
        pairs.extend(vec![(0, 1); 10]);
        pairs.extend(vec![(0, 0); 15]);
        assert!(close(cohen_kappa(&pairs).unwrap(), 0.4, 1e-12));
    }

    #[test]
    fn kappa_edge_cases() {
        // Perfect agreement over two classes: p_o = 1, p_e = 0.5, kappa = 1.
        assert!(close(cohen_kappa(&[(0, 0), (1, 1)]).unwrap(), 1.0, 1e-12));
        // Systematic disagreement: p_o = 0, p_e = 0.5, kappa = -1.
        assert!(close(cohen_kappa(&[(0, 1), (1, 0)]).unwrap(), -1.0, 1e-12));
        // One class only: chance agreement is 1, kappa undefined.
        assert_eq!(cohen_kappa(&[(2, 2), (2, 2)]), None);
        assert_eq!(cohen_kappa(&[]), None);
    }

    #[test]
    fn quantile_interpolates() {
        // pos = 0.25 * 4 = 1.0 → 1.0; pos = 0.9 * 4 = 3.6 → 3 + 0.6*(4-3) = 3.6.
        let s = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert!(close(quantile(&s, 0.25), 1.0, 1e-12));
        assert!(close(quantile(&s, 0.9), 3.6, 1e-12));
    }
}
