use crate::{HackReport, Profile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a policy answered for a task: one line of rollout JSONL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: String,
    pub task_id: String,
    pub completion: String,
    /// Extra files the rollout brings explicitly (name → text), added to those extracted from fences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fields Goodhart does not know are carried through untouched.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Why a verdict came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// The profile's pass criterion held.
    Passed,
    /// The tests ran and some failed (or the exit code was non-zero).
    Failed,
    /// The run hit its wall or CPU limit.
    Timeout,
    /// The run hit its memory limit.
    MemoryLimit,
    /// No code could be extracted from the completion.
    NoCode,
    /// The sandbox itself failed; the verdict says nothing about the code.
    SandboxError,
}

impl VerdictStatus {
    /// The string stored in `verdicts.*.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictStatus::Passed => "passed",
            VerdictStatus::Failed => "failed",
            VerdictStatus::Timeout => "timeout",
            VerdictStatus::MemoryLimit => "memory_limit",
            VerdictStatus::NoCode => "no_code",
            VerdictStatus::SandboxError => "sandbox_error",
        }
    }
}

/// The result of one rollout under one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub tests_passed: u32,
    pub tests_total: u32,
    pub status: VerdictStatus,
    pub duration_ms: f64,
}

impl Verdict {
    /// A verdict whose status follows from `passed`, for graders and fixtures that only know pass/fail.
    pub fn pass_fail(
        passed: bool,
        tests_passed: u32,
        tests_total: u32,
        duration_ms: f64,
    ) -> Verdict {
        let status = if passed {
            VerdictStatus::Passed
        } else {
            VerdictStatus::Failed
        };
        Verdict {
            passed,
            tests_passed,
            tests_total,
            status,
            duration_ms,
        }
    }

    /// Pass fraction, the dense reward some trainers prefer to the binary pass.
    pub fn pass_fraction(&self) -> f64 {
        if self.tests_total == 0 {
            if self.passed {
                1.0
            } else {
                0.0
            }
        } else {
            f64::from(self.tests_passed) / f64::from(self.tests_total)
        }
    }
}

/// One line of graded JSONL: the input record plus verdicts, reward and hack labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradedRollout {
    #[serde(flatten)]
    pub rollout: Rollout,
    pub verdicts: BTreeMap<Profile, Verdict>,
    /// `null` when a screening policy drops the rollout from the gradient.
    pub reward: Option<f64>,
    pub hack: HackReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let line = r#"{"id":"r1","task_id":"t","completion":"x","custom":{"a":1}}"#;
        let r: Rollout = serde_json::from_str(line).unwrap();
        assert_eq!(r.extra["custom"]["a"], 1);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["custom"]["a"], 1);
        assert!(back.get("files").is_none());
    }

    #[test]
    fn graded_record_has_the_contract_shape() {
        let r: Rollout =
            serde_json::from_str(r#"{"id":"r1","task_id":"t","completion":"x","step":3}"#).unwrap();
        let mut verdicts = BTreeMap::new();
        verdicts.insert(
            Profile::Hardened,
            Verdict {
                passed: false,
                tests_passed: 1,
                tests_total: 4,
                status: VerdictStatus::Failed,
                duration_ms: 2.5,
            },
        );
        let g = GradedRollout {
            rollout: r,
            verdicts,
            reward: Some(0.0),
            hack: HackReport::default(),
        };
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["id"], "r1");
        assert_eq!(v["step"], 3);
        assert_eq!(v["verdicts"]["hardened"]["tests_total"], 4);
        assert_eq!(v["verdicts"]["hardened"]["status"], "failed");
        assert_eq!(v["hack"]["attempted"], false);
        assert!(v["hack"]["kinds"].as_array().unwrap().is_empty());
    }
}
