//! The stdin/stdout dataset formats: APPS/TACO `input_output`, CodeContests test lists, LiveCodeBench
//! (plain, compressed, and a pickled payload that is refused), verl ground truth without `fn_name`, and
//! native records with a `stdio` field; errors name the file, the line and the field.

use goodhart_core::IoCase;
use goodhart_tasks::parse;

fn io(input: &str, output: &str) -> IoCase {
    IoCase {
        input: input.into(),
        output: output.into(),
    }
}

#[test]
fn apps_and_taco_rows_load_as_stdio_or_call_based() {
    let stdio = r#"{"problem_id": 7, "question": "Add two numbers.", "solutions": "[\"a, b = map(int, input().split())\\nprint(a + b)\\n\"]", "input_output": "{\"inputs\": [\"1 2\\n\", [\"3 4\", \"\"]], \"outputs\": [\"3\\n\", \"7\\n\"]}", "difficulty": "introductory", "url": "u", "starter_code": ""}"#;
    let call = r#"{"problem_id": 8, "question": "q", "solutions": "[]", "input_output": "{\"fn_name\": \"add\", \"inputs\": [[1, 2]], \"outputs\": [[3]]}"}"#;
    let tasks = parse("apps.jsonl", &[stdio, call].join("\n")).unwrap();
    assert_eq!(tasks[0].id, "apps/7");
    let cases = &tasks[0].stdio.as_ref().unwrap().hidden;
    assert_eq!(cases, &vec![io("1 2\n", "3\n"), io("3 4\n", "7\n")]);
    assert!(tasks[0].reference.contains("print(a + b)"));
    assert_eq!(tasks[0].tags, vec!["apps", "introductory"]);
    assert!(tasks[1].stdio.is_none());
    assert_eq!(
        (
            tasks[1].hidden[0].args.as_str(),
            tasks[1].hidden[0].expected.as_str()
        ),
        ("1, 2", "3")
    );

    let typo = stdio.replace(r#"\"inputs\""#, r#"\"input\""#);
    let err = parse("apps.jsonl", &typo).unwrap_err().to_string();
    assert!(
        err.starts_with("apps.jsonl: line 1: field `input_output.input`: not a field"),
        "{err}"
    );
    let uneven = r#"{"problem_id": 1, "input_output": "{\"inputs\": [\"1\"], \"outputs\": []}"}"#;
    let err = parse("apps.jsonl", uneven).unwrap_err().to_string();
    assert_eq!(
        err,
        "apps.jsonl: line 1: field `input_output`: 1 inputs but 0 outputs"
    );
    let number = r#"{"problem_id": 1, "input_output": "{\"inputs\": [1], \"outputs\": [\"2\"]}"}"#;
    let err = parse("apps.jsonl", number).unwrap_err().to_string();
    assert!(
        err.contains("field `input_output.inputs`: item 0: expected the whole stdin/stdout text"),
        "{err}"
    );
}

#[test]
fn code_contests_rows_show_public_tests_and_hide_the_rest() {
    let row = r#"{"name": "1_A. Sum", "description": "Sum.", "public_tests": {"input": ["1 2\n"], "output": ["3\n"]}, "private_tests": {"input": ["5 5\n"], "output": ["10\n"]}, "generated_tests": {"input": ["0 0\n"], "output": ["0\n"]}, "solutions": {"language": [2, 3], "solution": ["int main(){}", "print(sum(map(int, input().split())))"]}, "time_limit": {"seconds": 2, "nanos": 0}, "memory_limit_bytes": 256000000}"#;
    let tasks = parse("cc.jsonl", row).unwrap();
    let t = &tasks[0];
    assert_eq!(t.id, "codecontests/1_A. Sum");
    let s = t.stdio.as_ref().unwrap();
    assert_eq!(s.visible, vec![io("1 2\n", "3\n")]);
    assert_eq!(s.hidden, vec![io("5 5\n", "10\n"), io("0 0\n", "0\n")]);
    assert_eq!(t.reference, "print(sum(map(int, input().split())))");
    let bad = row.replace(
        "\"public_tests\": {\"input\"",
        "\"public_tests\": {\"inputs\"",
    );
    let err = parse("cc.jsonl", &bad).unwrap_err().to_string();
    assert!(
        err.starts_with("cc.jsonl: line 1: field `public_tests.inputs`: not a field"),
        "{err}"
    );
}

#[test]
fn livecodebench_plain_compressed_and_functional_tests_load_and_pickles_are_refused() {
    let public = r#"[{\"input\": \"1 2\\n\", \"output\": \"3\\n\", \"testtype\": \"stdin\"}]"#;
    // base64(zlib(json)) of [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]
    let compressed = "eJyLrlbKzCsoLVGyUlAyVDCKyVPSUVDKLy2BChlDBEpSi0tKKgtSQULFJSmZeUq1sQD8mxG+";
    let row = format!(
        r#"{{"question_title": "Sum", "question_content": "Add.", "platform": "atcoder", "question_id": "abc1_a", "contest_id": "abc1", "contest_date": "2024-01-01T00:00:00", "starter_code": "", "difficulty": "easy", "public_test_cases": "{public}", "private_test_cases": "{compressed}", "metadata": "{{}}"}}"#
    );
    let tasks = parse("lcb.jsonl", &row).unwrap();
    let s = tasks[0].stdio.as_ref().unwrap();
    assert_eq!(tasks[0].id, "livecodebench/abc1_a");
    assert_eq!((s.visible.len(), s.hidden.len()), (1, 1));
    assert_eq!(s.hidden[0], io("1 2\n", "3\n"));

    // base64(zlib(pickle.dumps(json text))): never unpickled.
    let pickled =
        "eJxrYJlqxwABPVbR1UqZeQWlJUpWCkqGCkYxeUo6Ckr5pSVQIWOIQElqcUlJZUEqSKi4JCUzT6k2dooeALEqFJ0=";
    let err = parse("lcb.jsonl", &row.replace(compressed, pickled))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("lcb.jsonl: line 1: field `private_test_cases`: the decompressed tests are a Python pickle")
            && err.contains("docs/public-graders.md"),
        "{err}"
    );

    let functional = r#"{"question_content": "q", "question_id": "lc1", "starter_code": "class Solution:\n    def add(self, a: int, b: int) -> int:", "public_test_cases": "[{\"input\": \"1\\n2\", \"output\": \"3\", \"testtype\": \"functional\"}]", "private_test_cases": "[{\"input\": \"[1]\\n\\\"x\\\"\", \"output\": \"true\", \"testtype\": \"functional\"}]", "metadata": "{\"func_name\": \"add\"}"}"#;
    let tasks = parse("lcb.jsonl", functional).unwrap();
    let t = &tasks[0];
    assert!(t.stdio.is_none());
    assert_eq!(t.entry_point, "add");
    assert_eq!(
        (t.visible[0].args.as_str(), t.visible[0].expected.as_str()),
        ("1, 2", "3")
    );
    assert_eq!(
        (t.hidden[0].args.as_str(), t.hidden[0].expected.as_str()),
        ("[1], \"x\"", "True")
    );
    let no_name = functional.replace("func_name", "name");
    let err = parse("lcb.jsonl", &no_name).unwrap_err().to_string();
    assert!(
        err.contains("field `metadata`: functional tests need `func_name`"),
        "{err}"
    );
}

#[test]
fn native_records_carry_stdio_tests_and_their_comparator_is_checked() {
    let line = r#"{"id": "n/1", "prompt": "p", "entry_point": "", "reference": "print(input())", "stdio": {"hidden": [{"input": "a\n", "output": "a\n"}], "comparator": "tokens"}}"#;
    let tasks = parse("n.jsonl", line).unwrap();
    let s = tasks[0].stdio.as_ref().unwrap();
    assert_eq!(s.comparator, "tokens");
    assert!(tasks[0].hardened_isolated());
    let round = serde_json::to_string(&tasks[0]).unwrap();
    assert_eq!(parse("n.jsonl", &round).unwrap(), tasks);
    let bad = line.replace("tokens", "fuzzy");
    let err = parse("n.jsonl", &bad).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "n.jsonl: line 1: field `stdio.comparator`: unknown output comparator `fuzzy`"
        ),
        "{err}"
    );
    let typo = line.replace("\"output\"", "\"outptu\"");
    assert!(parse("n.jsonl", &typo)
        .unwrap_err()
        .to_string()
        .contains("stdio"));
}

#[test]
fn verl_stdio_ground_truth_needs_cases_and_strings() {
    let empty = r#"{"id": "e", "ground_truth": "{\"inputs\": [], \"outputs\": []}"}"#;
    let err = parse("v.jsonl", empty).unwrap_err().to_string();
    assert!(
        err.contains("field `ground_truth.inputs`: no test cases"),
        "{err}"
    );
    let direct = r#"{"id": "d", "inputs": ["1\n"], "outputs": ["1\n"], "fn_name": null}"#;
    assert!(parse("v.jsonl", direct).unwrap()[0].is_stdio());
    let mistyped = r#"{"id": "d", "inputs": [["1"], 2], "outputs": ["1\n", "2"]}"#;
    let err = parse("v.jsonl", mistyped).unwrap_err().to_string();
    assert!(err.contains("field `inputs`: item 1: expected the whole stdin/stdout text as a string, found a number"), "{err}");
}
