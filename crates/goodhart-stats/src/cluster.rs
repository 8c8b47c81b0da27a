//! Intervals for rates whose samples come in clusters: several epochs of one prompt, several runs of one
//! scenario. Epochs of the same prompt share everything that makes the prompt easy or hard, so they are
//! not independent evidence; an interval that counts them as independent narrows with `--epochs` without
//! any new prompt being seen. The cluster bootstrap resamples whole prompts instead (Davison & Hinkley,
//! *Bootstrap Methods and their Application*, 1997, §3.8: resample the top-level units), so its width
//! tracks the number of prompts, not the number of samples.
//!
//! Rates are pooled (total over the resampled clusters divided by their total size), so a cluster with
//! more counted samples weighs more, exactly as in the point estimate printed next to the interval.

use crate::stats::{quantile, wilson_fraction, Bootstrap, Estimate, SplitMix64, Z95};

/// One cluster's share of a pooled mean: the sum of its values and how many values there are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    pub sum: f64,
    pub n: f64,
}

impl Cluster {
    /// The cluster of `values` (for a rate: 1.0 for each hit, 0.0 for each miss).
    pub fn of(values: &[f64]) -> Cluster {
        Cluster {
            sum: values.iter().sum(),
            n: values.len() as f64,
        }
    }

    /// A cluster of `hits` out of `trials` binary outcomes.
    pub fn rate(hits: u64, trials: u64) -> Cluster {
        Cluster {
            sum: hits as f64,
            n: trials as f64,
        }
    }
}

/// Σ sum / Σ n over `clusters`; `None` when they hold no values.
pub fn pooled(clusters: &[Cluster]) -> Option<f64> {
    let (sum, n) = clusters
        .iter()
        .fold((0.0, 0.0), |(s, n), c| (s + c.sum, n + c.n));
    (n > 0.0).then(|| sum / n)
}

/// The sorted bootstrap replicates of the mean over `groups` of each group's pooled mean, each group's
/// clusters resampled with replacement on their own (stratified by group). Empty clusters are ignored;
/// `None` when a group has no values or there are no groups.
fn replicates(groups: &[&[Cluster]], opts: Bootstrap) -> Option<(f64, Vec<f64>)> {
    let groups: Vec<Vec<Cluster>> = groups
        .iter()
        .map(|g| g.iter().copied().filter(|c| c.n > 0.0).collect())
        .collect();
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return None;
    }
    let point = groups.iter().filter_map(|g| pooled(g)).sum::<f64>() / groups.len() as f64;
    let mut rng = SplitMix64::new(opts.seed);
    let mut stats = Vec::with_capacity(opts.resamples);
    for _ in 0..opts.resamples {
        let mut total = 0.0;
        for g in &groups {
            let (mut sum, mut n) = (0.0, 0.0);
            for _ in 0..g.len() {
                let c = g[rng.below(g.len())];
                sum += c.sum;
                n += c.n;
            }
            total += sum / n;
        }
        stats.push(total / groups.len() as f64);
    }
    stats.sort_by(f64::total_cmp);
    Some((point, stats))
}

fn percentile_interval(point: f64, sorted: &[f64], confidence: f64) -> Estimate {
    if sorted.is_empty() {
        return Estimate {
            point,
            low: point,
            high: point,
        };
    }
    let tail = (1.0 - confidence) / 2.0;
    Estimate {
        point,
        low: quantile(sorted, tail),
        high: quantile(sorted, 1.0 - tail),
    }
}

/// Percentile cluster bootstrap of the pooled mean of `clusters`. `None` when they hold no values.
pub fn cluster_bootstrap(clusters: &[Cluster], opts: Bootstrap) -> Option<Estimate> {
    stratified_cluster_bootstrap(&[clusters], opts)
}

/// Percentile bootstrap of the mean over groups of each group's pooled mean, resampling clusters within
/// each group: the shape of MGS, a mean over evals each made of prompts. `None` when any group is empty.
pub fn stratified_cluster_bootstrap(groups: &[&[Cluster]], opts: Bootstrap) -> Option<Estimate> {
    let (point, stats) = replicates(groups, opts)?;
    Some(percentile_interval(point, &stats, opts.confidence))
}

/// How a clustered rate's interval was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMethod {
    /// Percentile cluster bootstrap.
    ClusterBootstrap,
    /// Every cluster had the same rate, so resampling clusters cannot vary anything; the interval is
    /// Wilson's with one observation per cluster (as if the clusters were perfectly correlated inside).
    WilsonPerCluster,
}

impl IntervalMethod {
    /// The name a JSON reader sees (`cluster_bootstrap`, `wilson_per_prompt`).
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalMethod::ClusterBootstrap => "cluster_bootstrap",
            IntervalMethod::WilsonPerCluster => "wilson_per_prompt",
        }
    }
}

/// A rate with its interval and how many clusters back it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusteredRate {
    pub estimate: Estimate,
    /// Clusters (prompts) with at least one counted value.
    pub clusters: usize,
    pub method: IntervalMethod,
}

/// The 95% Wilson interval of the pooled rate of `clusters` (values in [0, 1]) counting one observation
/// per non-empty cluster: the interval when the clusters are as correlated inside as they can be, used
/// where the bootstrap has no variation between clusters to resample. `None` when they hold no values.
pub fn wilson_per_cluster(clusters: &[Cluster]) -> Option<Estimate> {
    let live: Vec<Cluster> = clusters.iter().copied().filter(|c| c.n > 0.0).collect();
    wilson_fraction(pooled(&live)?, live.len() as f64, Z95)
}

/// Whether sorted bootstrap replicates are all the same value.
pub fn is_degenerate(e: &Estimate) -> bool {
    e.high - e.low <= 1e-12
}

/// A clustered rate (values in [0, 1]): the cluster bootstrap at `opts.confidence`, or, when every
/// replicate is identical (all clusters share one rate, e.g. 3 prompts all aligned), the 95% Wilson
/// interval over the number of clusters, so that "3 prompts, none misaligned" does not print [0, 0].
/// `None` when the clusters hold no values.
pub fn clustered_rate(clusters: &[Cluster], opts: Bootstrap) -> Option<ClusteredRate> {
    clustered_mean_of_rates(&[clusters], opts)
}

/// The mean over groups of clustered rates (MGS) with a stratified cluster bootstrap; when every
/// replicate is identical, the mean over groups of each group's per-cluster Wilson bounds (the interval
/// of the mean if the groups moved together). `clusters` counts over all groups.
pub fn clustered_mean_of_rates(groups: &[&[Cluster]], opts: Bootstrap) -> Option<ClusteredRate> {
    let (point, stats) = replicates(groups, opts)?;
    let clusters = groups
        .iter()
        .map(|g| g.iter().filter(|c| c.n > 0.0).count())
        .sum();
    let estimate = percentile_interval(point, &stats, opts.confidence);
    if !is_degenerate(&estimate) {
        return Some(ClusteredRate {
            estimate,
            clusters,
            method: IntervalMethod::ClusterBootstrap,
        });
    }
    let mut low = 0.0;
    let mut high = 0.0;
    for g in groups {
        let e = wilson_per_cluster(g)?;
        low += e.low;
        high += e.high;
    }
    let k = groups.len() as f64;
    Some(ClusteredRate {
        estimate: Estimate {
            point,
            low: low / k,
            high: high / k,
        },
        clusters,
        method: IntervalMethod::WilsonPerCluster,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::wilson95;

    fn opts() -> Bootstrap {
        Bootstrap::default()
    }

    /// The exact bootstrap distribution by enumerating all kᵏ ordered resamples of one group, as sorted
    /// (value, probability) atoms.
    fn exact_distribution(clusters: &[Cluster]) -> Vec<(f64, f64)> {
        let k = clusters.len();
        let total = k.pow(k as u32);
        let mut atoms: Vec<(f64, f64)> = Vec::new();
        for code in 0..total {
            let (mut c, mut sum, mut n) = (code, 0.0, 0.0);
            for _ in 0..k {
                let pick = clusters[c % k];
                c /= k;
                sum += pick.sum;
                n += pick.n;
            }
            let v = sum / n;
            match atoms.iter_mut().find(|(x, _)| (*x - v).abs() < 1e-12) {
                Some(a) => a.1 += 1.0 / total as f64,
                None => atoms.push((v, 1.0 / total as f64)),
            }
        }
        atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
        atoms
    }

    /// The smallest atom whose cumulative probability reaches `q`, asserting that `q` is not within
    /// `margin` of a jump (where a Monte Carlo percentile could land on either side).
    fn exact_quantile(atoms: &[(f64, f64)], q: f64, margin: f64) -> f64 {
        let mut cdf = 0.0;
        for &(v, p) in atoms {
            let before = cdf;
            cdf += p;
            assert!((cdf - q).abs() > margin && (before - q).abs() > margin || cdf < q);
            if cdf >= q {
                return v;
            }
        }
        atoms.last().unwrap().0
    }

    #[test]
    fn unequal_cluster_sizes_by_hand() {
        // Prompt A: 2 of 2 misaligned; prompts B, C, D: 0 of 1. Pooled point = 2/5 = 0.4 (the mean of
        // cluster means would be 0.25). A resample with a copies of A has rate 2a / (2a + 4 − a) =
        // 2a / (4 + a); a ~ Binomial(4, 1/4): P(a=0) = 81/256 = 0.316, P(1) = 108/256 = 0.422,
        // P(2) = 54/256 = 0.211, P(3) = 12/256 = 0.047, P(4) = 1/256. CDF: 0.316, 0.738, 0.949, 0.996, 1.
        // 2.5th percentile: a = 0 → 0. 97.5th: a = 3 → 6/7.
        let clusters = [
            Cluster::rate(2, 2),
            Cluster::rate(0, 1),
            Cluster::rate(0, 1),
            Cluster::rate(0, 1),
        ];
        let e = cluster_bootstrap(&clusters, opts()).unwrap();
        assert!((e.point - 0.4).abs() < 1e-12);
        assert_eq!(e.low, 0.0);
        assert!((e.high - 6.0 / 7.0).abs() < 1e-12, "{e:?}");
        // The same numbers from enumerating all 4⁴ resamples.
        let atoms = exact_distribution(&clusters);
        assert_eq!(atoms.len(), 5);
        assert!((atoms[0].1 - 81.0 / 256.0).abs() < 1e-12);
        assert_eq!(exact_quantile(&atoms, 0.025, 0.005), e.low);
        assert!((exact_quantile(&atoms, 0.975, 0.005) - e.high).abs() < 1e-12);
    }

    #[test]
    fn monte_carlo_percentiles_match_exact_enumeration() {
        // Prompts with different epoch counts and rates; every percentile sits away from a jump of
        // the exact distribution, so 10,000 resamples land on the exact atom.
        let cases: [&[Cluster]; 4] = [
            &[
                Cluster::rate(1, 2),
                Cluster::rate(0, 2),
                Cluster::rate(2, 2),
                Cluster::rate(0, 2),
                Cluster::rate(1, 2),
            ],
            &[
                Cluster::rate(2, 3),
                Cluster::rate(0, 3),
                Cluster::rate(1, 3),
                Cluster::rate(3, 3),
            ],
            &[
                Cluster::rate(1, 1),
                Cluster::rate(0, 3),
                Cluster::rate(2, 3),
            ],
            &[
                Cluster::of(&[1.0, 0.0]),
                Cluster::of(&[0.0]),
                Cluster::of(&[1.0, 1.0, 1.0]),
                Cluster::of(&[0.0, 0.0]),
            ],
        ];
        for clusters in cases {
            let atoms = exact_distribution(clusters);
            let e = cluster_bootstrap(clusters, opts()).unwrap();
            let (lo, hi) = (
                exact_quantile(&atoms, 0.025, 0.003),
                exact_quantile(&atoms, 0.975, 0.003),
            );
            assert!((e.low - lo).abs() < 1e-12, "{clusters:?}: {e:?} vs {lo}");
            assert!((e.high - hi).abs() < 1e-12, "{clusters:?}: {e:?} vs {hi}");
        }
    }

    #[test]
    fn more_epochs_of_the_same_prompts_do_not_narrow_the_interval() {
        // Three prompts: one always misaligned, two never. One epoch or ten, a resample holds a copies of
        // the misaligned prompt with a ~ Binomial(3, 1/3): CDF 8/27 = 0.296, 20/27 = 0.741,
        // 26/27 = 0.963, 1. The 2.5th percentile is a = 0 and the 97.5th a = 3 → [0, 1].
        let one = [
            Cluster::rate(1, 1),
            Cluster::rate(0, 1),
            Cluster::rate(0, 1),
        ];
        let ten = [
            Cluster::rate(10, 10),
            Cluster::rate(0, 10),
            Cluster::rate(0, 10),
        ];
        let a = clustered_rate(&one, opts()).unwrap();
        let b = clustered_rate(&ten, opts()).unwrap();
        assert_eq!(a.estimate, b.estimate);
        assert_eq!((b.estimate.low, b.estimate.high, b.clusters), (0.0, 1.0, 3));
        assert_eq!(b.method, IntervalMethod::ClusterBootstrap);
        // Treating the 30 samples as independent: Wilson for 10/30 is [0.192, 0.512], a third as wide.
        let naive = wilson95(10, 30).unwrap();
        assert!((naive.low - 0.192).abs() < 1e-3 && (naive.high - 0.512).abs() < 1e-3);
        assert!(naive.high - naive.low < 0.35 * (b.estimate.high - b.estimate.low));
    }

    #[test]
    fn constant_clusters_fall_back_to_wilson_over_clusters() {
        // Three prompts × ten epochs, none misaligned: every resample is 0, so the bootstrap says [0, 0].
        // Wilson for 0 of 3: centre = half = (3.841459/6) / (1 + 3.841459/3) = 0.640243/2.280486
        // = 0.280749 → [0, 0.561498].
        let r = clustered_rate(&[Cluster::rate(0, 10); 3], opts()).unwrap();
        assert_eq!(r.method, IntervalMethod::WilsonPerCluster);
        assert_eq!((r.estimate.point, r.estimate.low), (0.0, 0.0));
        assert!((r.estimate.high - 0.561498).abs() < 1e-5, "{r:?}");
        // Equal rates with variation inside prompts (each 1 of 2) also cannot move the bootstrap.
        let half = clustered_rate(&[Cluster::rate(1, 2); 8], opts()).unwrap();
        let w = wilson_fraction(0.5, 8.0, Z95).unwrap();
        assert_eq!(half.method, IntervalMethod::WilsonPerCluster);
        assert_eq!(half.estimate, w);
    }

    #[test]
    fn stratified_mean_by_hand() {
        // Group 1: prompts at 1 and 0 → replicate rates 0, 0.5, 1 with probability 1/4, 1/2, 1/4.
        // Group 2: one prompt at 0 → always 0. Mean over groups: 0, 0.25, 0.5; point (0.5 + 0) / 2.
        // 2.5th percentile 0, 97.5th 0.5.
        let g1 = [Cluster::rate(3, 3), Cluster::rate(0, 3)];
        let g2 = [Cluster::rate(0, 5)];
        let e = stratified_cluster_bootstrap(&[&g1, &g2], opts()).unwrap();
        assert_eq!((e.point, e.low, e.high), (0.25, 0.0, 0.5));
        let r = clustered_mean_of_rates(&[&g1, &g2], opts()).unwrap();
        assert_eq!((r.estimate, r.clusters), (e, 3));
        // Both groups constant: mean of per-group Wilson bounds. Group a: 1 of 1 cluster → Wilson(1, 1)
        // = [0.206549, 1]; group b: 0 of 2 → [0, 0.657620]. Mean: [0.103275, 0.828810].
        let a = [Cluster::rate(4, 4)];
        let b = [Cluster::rate(0, 4), Cluster::rate(0, 1)];
        let r = clustered_mean_of_rates(&[&a, &b], opts()).unwrap();
        assert_eq!(r.method, IntervalMethod::WilsonPerCluster);
        assert_eq!(r.estimate.point, 0.5);
        assert!((r.estimate.low - 0.103275).abs() < 1e-5, "{r:?}");
        assert!((r.estimate.high - 0.828810).abs() < 1e-5, "{r:?}");
    }

    #[test]
    fn seeded_and_reproducible_and_empty_is_none() {
        let clusters = [
            Cluster::rate(2, 5),
            Cluster::rate(0, 5),
            Cluster::rate(4, 5),
            Cluster::rate(1, 5),
        ];
        let o = Bootstrap {
            resamples: 2000,
            seed: 11,
            confidence: 0.95,
        };
        assert_eq!(
            cluster_bootstrap(&clusters, o),
            cluster_bootstrap(&clusters, o)
        );
        assert_eq!(cluster_bootstrap(&[], o), None);
        assert_eq!(cluster_bootstrap(&[Cluster::rate(0, 0)], o), None);
        assert_eq!(pooled(&clusters), Some(7.0 / 20.0));
        // Empty clusters are ignored, not counted as prompts.
        let with_empty = [clusters[0], Cluster::rate(0, 0)];
        assert_eq!(clustered_rate(&with_empty, o).unwrap().clusters, 1);
    }
}
