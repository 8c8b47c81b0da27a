use serde::{Deserialize, Serialize};

/// One coding problem, with everything each grader profile needs to judge an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique within its source (`HumanEval/0`, `mbpp/11`, `bundled/fizzbuzz`).
    pub id: String,
    /// What the model is shown; includes the visible examples.
    pub prompt: String,
    /// Name of the function under test.
    pub entry_point: String,
    /// Examples the prompt shows; hard-coding these is a hack the hidden tests catch.
    #[serde(default)]
    pub visible: Vec<TestCase>,
    /// Cases the model never sees.
    #[serde(default)]
    pub hidden: Vec<TestCase>,
    /// Raw test code the proxy profiles run as-is (e.g. HumanEval's `check(candidate)`); when absent,
    /// graders build asserts from the cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_code: Option<String>,
    /// Code the tests need before they run (imports, helpers), trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_setup: Option<String>,
    /// Test statements that could not be split into (call, expected) cases; while non-empty, hardened
    /// grading of this task is not fully isolated and reports say so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsplit: Vec<String>,
    /// A known-correct solution (source defining `entry_point`).
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl Task {
    /// All cases, visible first, in the order graders count them.
    pub fn cases(&self) -> impl Iterator<Item = &TestCase> {
        self.visible.iter().chain(self.hidden.iter())
    }

    /// True when hardened grading needs no untrusted-side comparison at all.
    pub fn hardened_isolated(&self) -> bool {
        self.unsplit.is_empty() && (!self.visible.is_empty() || !self.hidden.is_empty())
    }
}

/// One call of the entry point and what it must return; both are Python source so tuples, sets and
/// nested values survive exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Python source of the argument list without the parentheses, e.g. `[1, 2], 3`.
    pub args: String,
    /// Python source of the expected value, e.g. `(1, 'a')`.
    pub expected: String,
    /// Absolute tolerance, only where the test states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}
