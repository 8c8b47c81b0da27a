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
    /// Present for a stdin/stdout task: the program reads `input` and must print `output`. Such a task
    /// has no entry point (`entry_point` is empty) and no call cases; absent in JSON for call-based tasks,
    /// so their records keep the shape they had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<StdioTests>,
}

impl Task {
    /// True for a stdin/stdout task (see [`Task::stdio`]).
    pub fn is_stdio(&self) -> bool {
        self.stdio.is_some()
    }

    /// All cases, visible first, in the order graders count them.
    pub fn cases(&self) -> impl Iterator<Item = &TestCase> {
        self.visible.iter().chain(self.hidden.iter())
    }

    /// True when hardened grading needs no untrusted-side comparison at all.
    pub fn hardened_isolated(&self) -> bool {
        if let Some(io) = &self.stdio {
            return !io.visible.is_empty() || !io.hidden.is_empty();
        }
        self.unsplit.is_empty() && (!self.visible.is_empty() || !self.hidden.is_empty())
    }
}

/// The tests of a stdin/stdout task: each case is a whole standard input and the standard output a
/// correct program prints for it, held against each other by a named [`crate::Comparator`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdioTests {
    /// Cases the prompt shows; hard-coding them is a hack the hidden cases catch.
    #[serde(default)]
    pub visible: Vec<IoCase>,
    /// Cases the model never sees.
    #[serde(default)]
    pub hidden: Vec<IoCase>,
    /// The task's output rule, a [`crate::Comparator`] name (`lines` when absent); a grader profile may
    /// override it, the public-grader profiles always use the rule of the grader they reproduce.
    #[serde(default = "default_comparator")]
    pub comparator: String,
}

fn default_comparator() -> String {
    "lines".to_string()
}

impl StdioTests {
    /// All cases, visible first, in the order graders count them.
    pub fn cases(&self) -> impl Iterator<Item = &IoCase> {
        self.visible.iter().chain(self.hidden.iter())
    }

    /// The task's comparator, parsed.
    pub fn comparator(&self) -> Result<crate::Comparator, crate::UnknownComparator> {
        self.comparator.parse()
    }
}

/// One stdin/stdout case: the program's whole standard input and the output it must print. An empty
/// `output` means the program must print nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoCase {
    pub input: String,
    pub output: String,
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
    /// What the test asserts about the result; absent in JSON means equality.
    #[serde(default, skip_serializing_if = "Check::is_equality")]
    pub check: Check,
}

/// How a result is judged against `expected`, because `assert f(x)` is not `assert f(x) == True`: the
/// bare assert passes for any truthy value (a non-empty list, a regex match), the comparison only for
/// values equal to `True`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// `result == expected` (within `tolerance` where stated).
    #[default]
    Equality,
    /// `bool(result) == expected`, for `assert f(x)` (expected `True`) and `assert not f(x)` (`False`).
    Truthiness,
}

impl Check {
    /// True for the default, so serialised cases keep their old shape.
    pub fn is_equality(&self) -> bool {
        *self == Check::Equality
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_without_a_check_read_and_write_as_before() {
        let old = r#"{"args":"1","expected":"2"}"#;
        let case: TestCase = serde_json::from_str(old).unwrap();
        assert_eq!(case.check, Check::Equality);
        assert_eq!(serde_json::to_string(&case).unwrap(), old);
        let truth = r#"{"args":"'a'","expected":"True","check":"truthiness"}"#;
        let case: TestCase = serde_json::from_str(truth).unwrap();
        assert_eq!(case.check, Check::Truthiness);
        assert_eq!(serde_json::to_string(&case).unwrap(), truth);
        assert!(serde_json::from_str::<TestCase>(
            r#"{"args":"1","expected":"2","check":"truthy"}"#
        )
        .is_err());
    }
}
