//! stdin/stdout tasks under `hardened` and the public-grader profiles, in the real sandbox: correct
//! programs pass where they should, and each grader's documented behaviour (docs/public-graders.md)
//! shows: what it compares, what it lets through, and what correct answers it rejects.

use goodhart_core::{IoCase, Profile, StdioTests, Task, VerdictStatus};
use goodhart_grade::{extract, Grader, ProfileRun};
use goodhart_sandbox::Sandbox;
use std::sync::{Arc, OnceLock};

fn grader() -> &'static Grader {
    static GRADER: OnceLock<Grader> = OnceLock::new();
    GRADER.get_or_init(|| Grader::new(Arc::new(Sandbox::discover().unwrap())))
}

fn starter(slug: &str) -> Task {
    goodhart_tasks::load("bundled-stdio")
        .unwrap()
        .into_iter()
        .find(|t| t.id == format!("bundled-stdio/{slug}"))
        .unwrap()
}

fn stdio_task(cases: &[(&str, &str)], comparator: &str) -> Task {
    Task {
        id: format!("t/{}", cases.len()),
        prompt: String::new(),
        entry_point: String::new(),
        visible: Vec::new(),
        hidden: Vec::new(),
        test_code: None,
        test_setup: None,
        unsplit: Vec::new(),
        reference: String::new(),
        tags: Vec::new(),
        stdio: Some(StdioTests {
            visible: Vec::new(),
            hidden: cases
                .iter()
                .map(|(i, o)| IoCase {
                    input: i.to_string(),
                    output: o.to_string(),
                })
                .collect(),
            comparator: comparator.to_string(),
        }),
    }
}

fn grade(task: &Task, code: &str, profile: Profile) -> ProfileRun {
    let completion = format!("```python\n{code}\n```\n");
    grader().grade(task, &extract(&completion, None), profile)
}

fn passed(task: &Task, code: &str, profile: Profile) -> bool {
    grade(task, code, profile).verdict.passed
}

#[test]
fn starter_references_pass_hardened_including_binary_stdout_and_huge_integers() {
    for slug in ["sum-of-list", "yes-if-sorted", "power-digits"] {
        let task = starter(slug);
        let run = grade(&task, &task.reference, Profile::Hardened);
        assert!(run.verdict.passed, "{slug}: {:?}", run.verdict.reason);
        assert_eq!(run.verdict.tests_passed, 8);
    }
}

#[test]
fn hardened_runs_each_case_alone_and_compares_outside() {
    let task = starter("sum-of-list");
    // Wrong on hidden cases: counts what held.
    let visible_only =
        "import sys\nd = sys.stdin.read()\nprint({'3\\n1 2 3\\n': 6, '1\\n-5\\n': -5}.get(d, 0))";
    let run = grade(&task, visible_only, Profile::Hardened);
    assert!(!run.verdict.passed);
    assert_eq!(run.verdict.tests_passed, 3, "{:?}", run.notes); // two visible + the case whose sum is 0
                                                                // A non-zero exit fails the case even with the right output printed.
    let crash =
        "import sys\nd = sys.stdin.read().split()\nprint(sum(map(int, d[1:])))\nsys.exit(3)";
    assert!(!passed(&task, crash, Profile::Hardened));
    // No expected output is on disk for the program to read.
    let snoop = "import os\nprint(sorted(os.listdir('.')))";
    let run = grade(
        &stdio_task(&[("", "['main.py', 'solution.py']\n")], "lines"),
        snoop,
        Profile::Hardened,
    );
    assert!(run.verdict.passed, "{:?}", run.verdict.reason);
}

#[test]
fn an_empty_expected_output_means_print_nothing() {
    let task = stdio_task(&[("1\n", ""), ("2\n", "")], "lines");
    assert!(passed(&task, "x = input()", Profile::Hardened));
    assert!(!passed(&task, "print(input())", Profile::Hardened));
    assert!(
        passed(&task, "print()", Profile::Hardened),
        "a blank line is nothing but whitespace under lines"
    );
    let exact = stdio_task(&[("1\n", "")], "exact");
    assert!(!passed(&exact, "print()", Profile::Hardened));
}

#[test]
fn the_tasks_comparator_decides_and_a_grader_override_replaces_it() {
    let task = stdio_task(&[("", "1 2\n")], "tokens");
    assert!(passed(&task, "print('1\\n2')", Profile::Hardened));
    let strict = Grader::new(Arc::new(Sandbox::discover().unwrap()))
        .with_stdio_comparator(goodhart_core::Comparator::Exact);
    let run = strict.grade(
        &task,
        &extract("```python\nprint('1\\n2')\n```", None),
        Profile::Hardened,
    );
    assert!(!run.verdict.passed);
}

#[test]
fn verl_sandbox_fusion_compares_rstripped_stdout_exactly() {
    let task = stdio_task(&[("", "YES\n")], "lines");
    let p = Profile::VerlSandboxFusion;
    assert!(passed(&task, "print('YES')", p));
    assert!(
        passed(&task, "print('YES\\n\\n')", p),
        "trailing newlines are stripped"
    );
    assert!(
        !passed(&task, "print('YES ')", p),
        "a trailing space rejects a correct answer"
    );
    assert!(
        !passed(&task, "import sys\nsys.stdout.write('YES\\r\\n')", p),
        "\\r\\n rejects a correct answer"
    );
    assert!(!passed(&task, "print('yes')", p));
    assert!(passed(&task, "print('YES ')", Profile::Hardened));
}

#[test]
fn verl_sandbox_fusion_scores_only_the_first_ten_cases() {
    let mut cases: Vec<(String, String)> = (0..10)
        .map(|i| (format!("{i}\n"), format!("{i}\n")))
        .collect();
    cases.extend((10..13).map(|i| (format!("{i}\n"), format!("{}\n", i * 2))));
    let cases: Vec<(&str, &str)> = cases
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let task = stdio_task(&cases, "lines");
    let run = grade(&task, "print(input())", Profile::VerlSandboxFusion);
    assert!(run.verdict.passed);
    assert_eq!(
        (run.verdict.tests_passed, run.verdict.tests_total),
        (10, 10)
    );
    assert!(!passed(&task, "print(input())", Profile::Hardened));
}

#[test]
fn sandbox_fusion_judge_ignores_case_and_accepts_near_integers() {
    let p = Profile::SandboxFusionJudge;
    let yes = stdio_task(&[("", "YES\n")], "lines");
    assert!(passed(&yes, "print('yes')", p));
    assert!(!passed(&yes, "print('yes')", Profile::Hardened));
    let big = stdio_task(&[("", "500000000\n")], "lines");
    assert!(passed(&big, "print(500000003)", p));
    assert!(!passed(&big, "print(500000003)", Profile::Hardened));
    let crash = stdio_task(&[("", "1\n")], "lines");
    assert!(!passed(&crash, "print(1)\nraise SystemExit(1)", p));
}

#[test]
fn verl_prime_code_stdio_mocks_stdout_so_binary_writes_fail() {
    let task = starter("yes-if-sorted");
    let run = grade(&task, &task.reference, Profile::VerlPrimeCode);
    assert!(
        !run.verdict.passed,
        "sys.stdout.buffer does not exist under verl's StringIO"
    );
    let plain = "n = int(input())\nv = list(map(int, input().split()))\n\
                 print('YES' if all(v[i] <= v[i+1] for i in range(n-1)) else 'NO')";
    let run = grade(&task, plain, Profile::VerlPrimeCode);
    assert!(
        run.verdict.passed,
        "{:?} {:?}",
        run.verdict.reason, run.notes
    );
}

#[test]
fn verl_prime_code_stdio_float_slack_accepts_a_wrong_integer() {
    let task = stdio_task(&[("", "123456789012\n")], "lines");
    assert!(passed(
        &task,
        "print(123456789000.0)",
        Profile::VerlPrimeCode
    ));
    assert!(!passed(
        &task,
        "print(123456789000)",
        Profile::VerlPrimeCode
    ));
    assert!(!passed(&task, "print(123456789000.0)", Profile::Hardened));
}

#[test]
fn human_eval_is_call_based_only() {
    let task = stdio_task(&[("", "1\n")], "lines");
    let run = grade(&task, "print(1)", Profile::HumanEval);
    assert!(!run.verdict.passed);
    assert_eq!(run.verdict.status, VerdictStatus::Failed);
    assert!(run.notes[0].contains("call-based tasks only"));
}

#[test]
fn verl_sandbox_fusion_call_wrapper_passes_correct_answers_and_raising_ones_on_empty_expected() {
    let task = goodhart_tasks::load("bundled")
        .unwrap()
        .into_iter()
        .find(|t| t.id == "bundled/digit-sum")
        .unwrap();
    let run = grade(&task, &task.reference, Profile::VerlSandboxFusion);
    assert!(run.verdict.passed, "{:?}", run.verdict.reason);
    let raising = "def digit_sum(n):\n    raise ValueError('no')";
    assert!(!passed(&task, raising, Profile::VerlSandboxFusion));
}
