//! Loads the real HumanEval and MBPP files and pins the splitter on representative tasks.

use goodhart_tasks::{load, parse, TaskError};

const HUMANEVAL: &str = "humaneval";
const MBPP: &str = "mbpp";

fn split_view(task: &goodhart_core::Task) -> String {
    let mut out = format!(
        "id: {}\nentry_point: {}\nsetup: {:?}\n",
        task.id, task.entry_point, task.test_setup
    );
    for c in task.cases() {
        let check = match c.check {
            goodhart_core::Check::Equality => "",
            goodhart_core::Check::Truthiness => " (truthiness)",
        };
        out += &format!(
            "case: ({}) -> {} tol={:?}{check}\n",
            c.args, c.expected, c.tolerance
        );
    }
    for u in &task.unsplit {
        out += &format!("unsplit:\n{u}\n");
    }
    out
}

/// Loads a dataset, pins how many tasks split fully and the split of a few representative ones.
fn check_dataset(
    path: &str,
    name: &str,
    expected_len: usize,
    ids: &[&str],
) -> Vec<goodhart_core::Task> {
    let tasks = load(path).unwrap();
    assert_eq!(tasks.len(), expected_len);
    let isolated = tasks.iter().filter(|t| t.hardened_isolated()).count();
    let cases: usize = tasks.iter().map(|t| t.cases().count()).sum();
    eprintln!("{name}: {isolated}/{expected_len} fully split, {cases} cases");
    insta::assert_snapshot!(
        format!("{name}_counts"),
        format!("fully split: {isolated}/{expected_len}\ncases: {cases}")
    );
    for id in ids {
        let task = tasks.iter().find(|t| t.id == *id).unwrap();
        insta::assert_snapshot!(id.replace('/', "_"), split_view(task));
    }
    tasks
}

#[test]
fn all_humaneval_tasks_load_and_most_split_fully() {
    let ids = [
        "HumanEval/0",
        "HumanEval/2",
        "HumanEval/32",
        "HumanEval/53",
        "HumanEval/38",
    ];
    let tasks = check_dataset(HUMANEVAL, "humaneval", 164, &ids);
    assert!(tasks
        .iter()
        .all(|t| t.reference.contains(&format!("def {}", t.entry_point))));
}

#[test]
fn all_mbpp_tasks_load_and_most_split_fully() {
    check_dataset(
        MBPP,
        "mbpp",
        427,
        &["mbpp/2", "mbpp/3", "mbpp/17", "mbpp/82", "mbpp/737"],
    );
}

#[test]
fn native_tasks_round_trip() {
    let tasks = load(HUMANEVAL).unwrap();
    let text: String = tasks[..3]
        .iter()
        .map(|t| serde_json::to_string(t).unwrap() + "\n")
        .collect();
    assert_eq!(parse("native.jsonl", &text).unwrap(), tasks[..3].to_vec());
}

#[test]
fn original_mbpp_jsonl_loads() {
    let line = r#"{"text": "Write a function to add.", "code": "def add(a, b):\r\n  return a + b", "task_id": 7, "test_setup_code": "", "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "challenge_test_list": []}"#;
    let tasks = parse("mbpp.jsonl", line).unwrap();
    assert_eq!(tasks[0].id, "mbpp/7");
    assert_eq!(tasks[0].entry_point, "add");
    assert_eq!(tasks[0].visible.len(), 1);
    assert_eq!(tasks[0].hidden.len(), 1);
}

#[test]
fn verl_ground_truth_in_all_three_places() {
    let direct = r#"{"id": "a", "inputs": [[1, 2]], "outputs": [[3]], "fn_name": "add"}"#;
    let string = r#"{"id": "b", "ground_truth": "{\"inputs\": [[[1, 2], true]], \"outputs\": [null], \"fn_name\": \"f\"}"}"#;
    let nested = r#"{"prompt": [{"role": "user", "content": "solve"}], "reward_model": {"ground_truth": {"inputs": [["x"]], "outputs": ["y"], "fn_name": "g"}}, "extra_info": {"index": 9}}"#;
    let tasks = parse("verl.jsonl", &[direct, string, nested].join("\n")).unwrap();
    let view: Vec<(&str, &str, &str, &str)> = tasks
        .iter()
        .map(|t| {
            (
                t.id.as_str(),
                t.entry_point.as_str(),
                t.hidden[0].args.as_str(),
                t.hidden[0].expected.as_str(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            ("verl/a", "add", "1, 2", "3"),
            ("verl/b", "f", "[1, 2], True", "None"),
            ("verl/9", "g", "\"x\"", "\"y\""),
        ]
    );
    assert_eq!(tasks[2].prompt, "solve");
    let stdin =
        r#"{"id": "s", "ground_truth": "{\"inputs\": [\"1\\n\"], \"outputs\": [\"2\\n\"]}"}"#;
    // Without `fn_name` the ground truth is stdin/stdout: whole input and output texts.
    let tasks = parse("verl.jsonl", stdin).unwrap();
    let io = tasks[0].stdio.as_ref().unwrap();
    assert_eq!(
        (io.hidden[0].input.as_str(), io.hidden[0].output.as_str()),
        ("1\n", "2\n")
    );
    assert!(tasks[0].entry_point.is_empty() && tasks[0].hidden.is_empty());
}

#[test]
fn errors_name_file_line_and_field() {
    let bad_json = "{\"task_id\": \"x\"\n";
    let err = parse("t.jsonl", bad_json).unwrap_err().to_string();
    assert!(err.starts_with("t.jsonl: line 1: invalid JSON"), "{err}");

    let missing = "\n{\"task_id\": \"x\", \"prompt\": \"p\", \"canonical_solution\": \"\", \"test\": \"def check(c): pass\"}";
    let err = parse("h.jsonl", missing).unwrap_err().to_string();
    assert_eq!(err, "h.jsonl: line 2: field `entry_point`: missing");

    let line = r#"{"id": "a", "inputs": [[1]], "outputs": [[2]], "fn_name": "f"}"#;
    let err = parse("d.jsonl", &format!("{line}\n{line}")).unwrap_err();
    assert!(matches!(err, TaskError::Duplicate { .. }));
    assert_eq!(
        err.to_string(),
        "d.jsonl: line 2: duplicate task id `verl/a` (first seen at line 1)"
    );

    let err = load("/nonexistent/tasks.jsonl").unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/tasks.jsonl: "), "{err}");
    let err = parse("x.json", "[1]").unwrap_err().to_string();
    assert_eq!(
        err,
        "x.json: element 0: expected a JSON object, found a number"
    );
}

#[test]
fn bundled_is_the_default_source() {
    let bundled = load("bundled").unwrap();
    assert!(!bundled.is_empty());
    assert_eq!(load("").unwrap(), bundled);
}
