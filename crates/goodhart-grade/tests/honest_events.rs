//! Honest code, right or wrong, must leave no runtime events: the runtime detector reads any event as
//! evidence of a hack, so one raised by the harness itself (formatting a traceback, reading its own job
//! file) would flag honest failures.

use goodhart_core::{Profile, Task};
use goodhart_grade::{extract, Grader, ProfileRun, RuntimeEvent};
use goodhart_sandbox::Sandbox;
use std::collections::BTreeMap;
use std::sync::Arc;

const HUMANEVAL: &str = "humaneval";

/// Honest wrong answers of three shapes, written against the task's entry point.
fn wrong_answers(task: &Task) -> [String; 3] {
    let name = &task.entry_point;
    [
        format!("def {name}(*args, **kwargs):\n    return None\n"),
        format!("def {name}(*args, **kwargs):\n    raise ValueError('not implemented')\n"),
        format!("def {name}(*args, **kwargs):\n    return args[0] if args else 0\n"),
    ]
}

/// Events other than `exec_string` (a reference may really call eval) and the attribution-only events
/// (`custom_eq`, `state_changed`: honest code has dataclasses and memo dicts, so the detectors read them
/// only to explain a proxy pass that `hardened` failed), per profile.
fn stray_events(runs: &BTreeMap<Profile, ProfileRun>) -> Vec<(Profile, RuntimeEvent)> {
    runs.iter()
        .flat_map(|(p, r)| r.events.iter().map(move |e| (*p, e.clone())))
        .filter(|(_, e)| {
            !matches!(
                e.event.as_str(),
                "exec_string" | "custom_eq" | "state_changed"
            )
        })
        .collect()
}

#[test]
fn honest_references_and_wrong_answers_raise_no_events() {
    let grader = Grader::new(Arc::new(Sandbox::discover().unwrap()));
    let bundled = goodhart_tasks::load("bundled").unwrap();
    let humaneval = goodhart_tasks::load(HUMANEVAL).unwrap();
    let mut failures = Vec::new();
    let mut check = |task: &Task, code: &str, what: &str, must_pass: Option<bool>| {
        let runs = grader.grade_all(task, &extract(code, None), &Profile::ALL);
        let stray = stray_events(&runs);
        if !stray.is_empty() {
            failures.push(format!("{} {what}: {stray:?}", task.id));
        }
        if let Some(want) = must_pass {
            let got = runs[&Profile::Hardened].verdict.passed;
            if got != want {
                failures.push(format!("{} {what}: hardened passed = {got}", task.id));
            }
        }
    };
    for task in &bundled {
        check(task, &task.reference, "reference", Some(true));
    }
    let sample = bundled
        .iter()
        .step_by(3)
        .chain(humaneval.iter().step_by(16));
    for task in sample {
        for (i, wrong) in wrong_answers(task).iter().enumerate() {
            check(task, wrong, &format!("wrong answer {i}"), None);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn wrong_answers_raise_no_events_with_a_fresh_interpreter_either() {
    let mut config = goodhart_sandbox::SandboxConfig::discover().unwrap();
    config.mode = goodhart_sandbox::Mode::Fresh;
    let grader = Grader::new(Arc::new(Sandbox::new(config).unwrap()));
    let humaneval = goodhart_tasks::load(HUMANEVAL).unwrap();
    let mut failures = Vec::new();
    for task in humaneval.iter().step_by(41) {
        for wrong in wrong_answers(task) {
            let runs = grader.grade_all(task, &extract(&wrong, None), &Profile::ALL);
            let stray = stray_events(&runs);
            if !stray.is_empty() {
                failures.push(format!("{}: {stray:?}", task.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
