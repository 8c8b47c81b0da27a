//! Reward policies: the interventions researchers compare, turned into the number a trainer receives.

use goodhart_core::{HackReport, Profile, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How a graded rollout becomes a reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RewardPolicy {
    /// The proxy profile's pass (hackable, like a real environment).
    Proxy,
    /// The hardened profile's pass (the ground truth).
    Hardened,
    /// The proxy reward minus a penalty when a hack is detected (prevents hacking).
    Penalty,
    /// The proxy reward, or `null` for a flagged rollout so the trainer drops it from the gradient.
    Screen,
}

/// Raised for a policy name outside the four.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown reward policy `{0}` (expected one of: proxy, hardened, penalty, screen)")]
pub struct UnknownPolicy(pub String);

impl RewardPolicy {
    /// Every policy, in the order documentation lists them.
    pub const ALL: [RewardPolicy; 4] = [
        RewardPolicy::Proxy,
        RewardPolicy::Hardened,
        RewardPolicy::Penalty,
        RewardPolicy::Screen,
    ];

    /// The name used on the command line, in requests and in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardPolicy::Proxy => "proxy",
            RewardPolicy::Hardened => "hardened",
            RewardPolicy::Penalty => "penalty",
            RewardPolicy::Screen => "screen",
        }
    }
}

impl fmt::Display for RewardPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RewardPolicy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RewardPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| UnknownPolicy(s.to_string()))
    }
}

/// Whether the detectors flagged a rollout: a mechanism was found, or the proxy passed while the
/// hardened profile failed (the differential detector).
pub fn flagged(hack: &HackReport) -> bool {
    hack.attempted || hack.succeeded || !hack.kinds.is_empty()
}

/// 1.0 when `profile` passed, 0.0 otherwise (also when it did not run).
pub fn pass_reward(verdicts: &BTreeMap<Profile, Verdict>, profile: Profile) -> f64 {
    if verdicts.get(&profile).is_some_and(|v| v.passed) {
        1.0
    } else {
        0.0
    }
}

/// The reward `policy` gives a rollout with these verdicts and hack labels.
pub fn reward(
    policy: RewardPolicy,
    proxy: Profile,
    penalty: f64,
    verdicts: &BTreeMap<Profile, Verdict>,
    hack: &HackReport,
) -> Option<f64> {
    let proxy_reward = pass_reward(verdicts, proxy);
    match policy {
        RewardPolicy::Proxy => Some(proxy_reward),
        RewardPolicy::Hardened => Some(pass_reward(verdicts, Profile::Hardened)),
        RewardPolicy::Penalty if flagged(hack) => Some(proxy_reward - penalty),
        RewardPolicy::Penalty => Some(proxy_reward),
        RewardPolicy::Screen if flagged(hack) => None,
        RewardPolicy::Screen => Some(proxy_reward),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_core::HackKind;

    fn verdict(passed: bool) -> Verdict {
        Verdict::pass_fail(passed, u32::from(passed), 1, 1.0)
    }

    #[test]
    fn each_policy_rewards_a_successful_hack_differently() {
        let verdicts = BTreeMap::from([
            (Profile::Assert, verdict(true)),
            (Profile::Hardened, verdict(false)),
        ]);
        let hack = HackReport {
            attempted: true,
            succeeded: true,
            kinds: vec![HackKind::AlwaysEqual],
            evidence: Vec::new(),
        };
        let r = |p| reward(p, Profile::Assert, 1.5, &verdicts, &hack);
        assert_eq!(r(RewardPolicy::Proxy), Some(1.0));
        assert_eq!(r(RewardPolicy::Hardened), Some(0.0));
        assert_eq!(r(RewardPolicy::Penalty), Some(-0.5));
        assert_eq!(r(RewardPolicy::Screen), None);

        let clean = HackReport::default();
        let honest = BTreeMap::from([
            (Profile::Assert, verdict(true)),
            (Profile::Hardened, verdict(true)),
        ]);
        for p in RewardPolicy::ALL {
            assert_eq!(
                reward(p, Profile::Assert, 1.5, &honest, &clean),
                Some(1.0),
                "{p}"
            );
        }
        assert_eq!(
            reward(RewardPolicy::Proxy, Profile::Pytest, 1.0, &honest, &clean),
            Some(0.0)
        );
        assert!("lenient"
            .parse::<RewardPolicy>()
            .unwrap_err()
            .to_string()
            .contains("proxy, hardened"));
    }
}
