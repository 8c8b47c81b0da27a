use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A way of running a task's tests; proxies are hackable on purpose, `hardened` is the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// One process runs solution + tests + `check(entry_point)`; PASS iff exit code 0.
    Assert,
    /// `python -m pytest -q` over `solution.py` + `test_solution.py`; PASS iff pytest exits 0.
    Pytest,
    /// Per-case forks, exact-type serialisation, comparison in the trusted parent.
    Hardened,
}

impl Profile {
    /// Every profile, proxies first, in the order reports show them.
    pub const ALL: [Profile; 3] = [Profile::Assert, Profile::Pytest, Profile::Hardened];

    /// The contract name used in JSONL, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Assert => "assert",
            Profile::Pytest => "pytest",
            Profile::Hardened => "hardened",
        }
    }

    /// Proxy profiles are the ones a hack is supposed to be able to fool.
    pub fn is_proxy(self) -> bool {
        !matches!(self, Profile::Hardened)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Raised when a profile name is not one of the contract names.
#[derive(Debug, thiserror::Error)]
#[error("unknown grader profile `{0}` (expected one of: assert, pytest, hardened)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "assert" => Ok(Profile::Assert),
            "pytest" => Ok(Profile::Pytest),
            "hardened" => Ok(Profile::Hardened),
            other => Err(UnknownProfile(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_strings_and_json() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!("Assert".parse::<Profile>().is_err());
    }
}
