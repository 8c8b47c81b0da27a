use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A way of running a task's tests; proxies are hackable on purpose, `hardened` is the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// One process runs solution + tests + `check(entry_point)`; PASS iff exit code 0.
    Assert,
    /// `python -m pytest -q` over `solution.py` + `test_solution.py`; PASS iff pytest exits 0.
    Pytest,
    /// Per-case forks, exact-type serialisation, comparison in the trusted parent; for stdin/stdout
    /// tasks one fresh sandboxed process per case and the task's comparator applied outside it.
    Hardened,
    /// verl's local `prime_code` reward (the PRIME / APPS harness): the program runs inside the grader's
    /// process, which compares results there. See [`Profile::reproduces`].
    VerlPrimeCode,
    /// verl's SandboxFusion client: one sandbox run per case, `stdout.rstrip("\n")` compared exactly;
    /// call-based tasks as `assert_case` tests (exit code 0 passes).
    VerlSandboxFusion,
    /// SandboxFusion's own judges: its stdin/stdout checker (trim, lowercase, float rel 1e-5), and for
    /// call-based tasks code + asserts in one run (exit code 0 passes).
    SandboxFusionJudge,
    /// openai/human-eval's harness: program + test + `check(entry_point)` exec'd in one process.
    HumanEval,
}

impl Profile {
    /// Goodhart's own profiles, proxies first, in the order reports show them: what `grade`, `serve` and
    /// stored verdicts use by default.
    pub const ALL: [Profile; 3] = [Profile::Assert, Profile::Pytest, Profile::Hardened];

    /// The profiles that reproduce public graders (opt in with `--profiles`).
    pub const PUBLIC: [Profile; 4] = [
        Profile::VerlPrimeCode,
        Profile::VerlSandboxFusion,
        Profile::SandboxFusionJudge,
        Profile::HumanEval,
    ];

    /// Every profile, Goodhart's own then the public graders'.
    pub const EVERY: [Profile; 7] = [
        Profile::Assert,
        Profile::Pytest,
        Profile::Hardened,
        Profile::VerlPrimeCode,
        Profile::VerlSandboxFusion,
        Profile::SandboxFusionJudge,
        Profile::HumanEval,
    ];

    /// The contract name used in JSONL, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Assert => "assert",
            Profile::Pytest => "pytest",
            Profile::Hardened => "hardened",
            Profile::VerlPrimeCode => "verl_prime_code",
            Profile::VerlSandboxFusion => "verl_sandbox_fusion",
            Profile::SandboxFusionJudge => "sandbox_fusion_judge",
            Profile::HumanEval => "human_eval",
        }
    }

    /// What the profile reproduces and from which version of whose code, for `goodhart profiles` and
    /// the audit; Goodhart's own profiles say what they are. Sources are cited in `docs/public-graders.md`.
    pub fn reproduces(self) -> &'static str {
        match self {
            Profile::Assert => "Goodhart proxy: solution + asserts + check(entry_point) in one process, pass iff exit 0",
            Profile::Pytest => "Goodhart proxy: pytest over solution.py + test_solution.py, pass iff pytest exits 0",
            Profile::Hardened => "Goodhart ground truth: per-case isolated runs, exact comparison outside the sandbox",
            Profile::VerlPrimeCode => "verl prime_code reward (verl-project/verl @ 1dda039, verl/utils/reward_score/prime_code/{__init__,utils,testing_util}.py): \
                program exec'd in the grader's process; call-based `output == expected` there; stdin/stdout via StringIO, \
                strip/line/np.allclose(1e-5, 1e-8) compare; all cases, else the first 10 one by one",
            Profile::VerlSandboxFusion => "verl sandbox_fusion client (verl-project/verl @ 1dda039, verl/utils/reward_score/sandbox_fusion/{__init__,utils}.py): \
                one /run_code per case, exit 0 and stdout.rstrip(\"\\n\") == expected.rstrip(\"\\n\"); call-based tasks with assert tests \
                as assert_case (code + \"\\n\\n\" + assert, no expected output, exit 0 passes), others through verl's fn_name wrapper \
                (JSON arguments on stdin, printout compared, exit 0 even when the call raises); score over the first 10 cases",
            Profile::SandboxFusionJudge => "SandboxFusion judges (bytedance/SandboxFusion @ 469de08, sandbox/utils/testing.py check_stdio_test_case; \
                sandbox/datasets/mbpp.py): stdin/stdout per case, strip, per-line lower+strip, float rel 1e-5, all-or-nothing; \
                call-based: code + asserts in one run, exit 0 passes",
            Profile::HumanEval => "openai/human-eval harness (openai/human-eval @ 6d43fb9, human_eval/execution.py): \
                program + test + check(entry_point) exec'd in one process, 3 s, pass iff no exception; call-based tasks only",
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
#[error("unknown grader profile `{0}` (expected one of: assert, pytest, hardened, verl_prime_code, verl_sandbox_fusion, sandbox_fusion_judge, human_eval)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "assert" => Ok(Profile::Assert),
            "pytest" => Ok(Profile::Pytest),
            "hardened" => Ok(Profile::Hardened),
            "verl_prime_code" => Ok(Profile::VerlPrimeCode),
            "verl_sandbox_fusion" => Ok(Profile::VerlSandboxFusion),
            "sandbox_fusion_judge" => Ok(Profile::SandboxFusionJudge),
            "human_eval" => Ok(Profile::HumanEval),
            other => Err(UnknownProfile(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_strings_and_json() {
        for p in Profile::EVERY {
            assert_eq!(p.as_str().parse::<Profile>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!("Assert".parse::<Profile>().is_err());
    }
}
