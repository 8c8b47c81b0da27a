//! Every failing verdict explains itself: a broken `expected` literal, arguments that raise and a wrong
//! `entry_point` each say what happened under every profile; limits say which one ended the run; the
//! graded JSON carries it as `verdicts.PROFILE.reason`.

use goodhart_core::{Check, Profile, Task, TestCase, VerdictStatus};
use goodhart_grade::{extract, Grader, ProfileRun};
use goodhart_sandbox::Sandbox;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Arc::new(Sandbox::discover().unwrap()))
        .clone()
}

const ADD: &str = "def add(a, b):\n    return a + b\n";

fn add_task(entry_point: &str, cases: &[(&str, &str)]) -> Task {
    Task {
        id: "demo/add".into(),
        prompt: String::new(),
        entry_point: entry_point.into(),
        visible: Vec::new(),
        hidden: cases
            .iter()
            .map(|(args, expected)| TestCase {
                args: (*args).into(),
                expected: (*expected).into(),
                tolerance: None,
                check: Check::Equality,
            })
            .collect(),
        test_code: None,
        test_setup: None,
        unsplit: Vec::new(),
        reference: ADD.into(),
        tags: Vec::new(),
        stdio: None,
    }
}

fn grade_reference(task: &Task) -> BTreeMap<Profile, ProfileRun> {
    Grader::new(sandbox()).grade_all(task, &extract(&task.reference, None), &Profile::ALL)
}

/// The reason's one-line detail under each profile, asserting every verdict failed and has a reason.
fn details(runs: &BTreeMap<Profile, ProfileRun>) -> BTreeMap<Profile, String> {
    runs.iter()
        .map(|(p, r)| {
            assert!(!r.verdict.passed, "{p} passed: {r:?}");
            let reason = r
                .verdict
                .reason
                .as_ref()
                .unwrap_or_else(|| panic!("{p}: no reason: {r:?}"));
            assert_eq!(reason.extraction, "unfenced", "{p}");
            (*p, reason.detail.clone())
        })
        .collect()
}

#[test]
fn a_broken_expected_literal_says_so_under_every_profile() {
    let runs = grade_reference(&add_task("add", &[("1, 2", "(3")]));
    let d = details(&runs);
    for p in [Profile::Assert, Profile::Pytest] {
        assert!(d[&p].contains("SyntaxError"), "{p}: {}", d[&p]);
        let e = runs[&p].verdict.reason.as_ref().unwrap().exception.clone();
        let e = e.unwrap_or_else(|| panic!("{p}: no exception"));
        assert_eq!(e.kind, "SyntaxError", "{p}");
        assert_eq!(e.file.as_deref(), Some("test_solution.py"), "{p}: {e:?}");
    }
    let hardened = &d[&Profile::Hardened];
    assert!(
        hardened.contains("expected value") && hardened.contains("SyntaxError"),
        "{hardened}"
    );
}

#[test]
fn arguments_that_raise_say_so_under_every_profile() {
    let runs = grade_reference(&add_task("add", &[("1, undefined_name", "3")]));
    let d = details(&runs);
    for (p, detail) in &d {
        assert!(
            detail.contains("NameError") && detail.contains("undefined_name"),
            "{p}: {detail}"
        );
    }
    assert!(d[&Profile::Hardened].contains("arguments raised"), "{d:?}");
}

#[test]
fn a_wrong_entry_point_says_so_under_every_profile() {
    let runs = grade_reference(&add_task("add_numbers", &[("1, 2", "3")]));
    let d = details(&runs);
    for (p, detail) in &d {
        assert!(detail.contains("add_numbers"), "{p}: {detail}");
    }
    assert!(
        d[&Profile::Hardened].contains("defines no callable `add_numbers`"),
        "{d:?}"
    );
    assert!(d[&Profile::Assert].contains("NameError"), "{d:?}");
}

#[test]
fn an_exception_names_its_type_and_the_solution_line() {
    let task = add_task("add", &[("1, 2", "3")]);
    let solution = "def add(a, b):\n    x = 0\n    return (a + b) // x\n";
    let runs = Grader::new(sandbox()).grade_all(&task, &extract(solution, None), &Profile::ALL);
    for (p, run) in &runs {
        let reason = run.verdict.reason.as_ref().unwrap();
        let e = reason
            .exception
            .as_ref()
            .unwrap_or_else(|| panic!("{p}: {reason:?}"));
        assert_eq!(e.kind, "ZeroDivisionError", "{p}: {reason:?}");
        assert_eq!(
            (e.file.as_deref(), e.line),
            (Some("solution.py"), Some(3)),
            "{p}: {reason:?}"
        );
    }
    let assert_reason = runs[&Profile::Assert].verdict.reason.as_ref().unwrap();
    assert!(
        assert_reason.stderr_tail.contains("ZeroDivisionError"),
        "{assert_reason:?}"
    );
    let json = serde_json::to_value(&runs[&Profile::Hardened].verdict).unwrap();
    assert_eq!(json["reason"]["exception"]["type"], "ZeroDivisionError");
    assert_eq!(json["reason"]["exception"]["line"], 3);
    assert_eq!(json["reason"]["extraction"], "unfenced");
    assert_eq!(json["status"], "failed", "the old fields stay as they were");
}

#[test]
fn passes_carry_no_reason_and_no_code_says_what_extraction_found() {
    let task = add_task("add", &[("1, 2", "3")]);
    let grader = Grader::new(sandbox());
    let pass = grader.grade(&task, &extract(ADD, None), Profile::Hardened);
    assert!(
        pass.verdict.passed && pass.verdict.reason.is_none(),
        "{pass:?}"
    );
    let json = serde_json::to_value(&pass.verdict).unwrap();
    assert!(json.get("reason").is_none(), "{json}");
    let none = grader.grade(&task, &extract("```bash\nls\n```", None), Profile::Assert);
    assert_eq!(none.verdict.status, VerdictStatus::NoCode);
    let reason = none.verdict.reason.unwrap();
    assert_eq!(
        (reason.run.as_str(), reason.extraction.as_str()),
        ("not_run", "no_code_block")
    );
}

/// A case that computes past its CPU limit and one that sleeps past its wall-clock cap are told apart.
#[test]
fn hardened_cases_say_which_limit_stopped_them() {
    let task = add_task("add", &[("1, 2", "3")]);
    let grader = Grader::new(sandbox()).with_case_timeout(Duration::from_millis(300));
    let busy = grader.grade(
        &task,
        &extract("def add(a, b):\n    while True: pass\n", None),
        Profile::Hardened,
    );
    assert_eq!(busy.verdict.status, VerdictStatus::Timeout, "{busy:?}");
    let reason = busy.verdict.reason.unwrap();
    assert_eq!(reason.limit.as_deref(), Some("cpu"), "{reason:?}");
    assert!(reason.detail.contains("CPU limit"), "{reason:?}");
    let asleep = grader.grade(
        &task,
        &extract("import time\ndef add(a, b):\n    time.sleep(60)\n", None),
        Profile::Hardened,
    );
    assert_eq!(asleep.verdict.status, VerdictStatus::Timeout, "{asleep:?}");
    let reason = asleep.verdict.reason.unwrap();
    assert_eq!(reason.limit.as_deref(), Some("wall"), "{reason:?}");
    assert!(reason.detail.contains("wall-clock cap"), "{reason:?}");
}

/// A case needing about a second of CPU passes a 3 s per-case CPU limit while other sandboxed programs
/// keep every core busy (on the old wall-clock timeout it could miss it under load).
#[test]
fn a_slow_case_passes_its_cpu_limit_beside_busy_neighbours() {
    let task = add_task("add", &[("1, 2", "3")]);
    let solution = "import time\ndef add(a, b):\n    t = time.process_time()\n    \
                    while time.process_time() - t < 1.0:\n        pass\n    return a + b\n";
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut config = goodhart_sandbox::SandboxConfig::discover().unwrap();
    config.pool_size = 2 * cores + 1;
    let sandbox = Arc::new(Sandbox::new(config).unwrap());
    let grader = Grader::new(sandbox.clone()).with_case_timeout(Duration::from_secs(3));
    let busy = goodhart_sandbox::Program {
        main:
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 4:\n    pass\n"
                .into(),
        ..Default::default()
    };
    let run = std::thread::scope(|scope| {
        for _ in 0..2 * cores {
            scope.spawn(|| sandbox.run(&busy));
        }
        std::thread::sleep(Duration::from_millis(300));
        grader.grade(&task, &extract(solution, None), Profile::Hardened)
    });
    assert!(run.verdict.passed, "{run:?}");
}
