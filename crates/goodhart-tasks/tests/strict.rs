//! Strict task records: a field no format knows, a missing field, an empty id, a task without tests and
//! a byte-order mark are each refused with an error that names the file, the record and the field.

use goodhart_tasks::parse;

fn err(path: &str, text: &str) -> String {
    match parse(path, text) {
        Ok(tasks) => panic!("accepted {} task(s) from {text}", tasks.len()),
        Err(e) => e.to_string(),
    }
}

const NATIVE: &str = r#"{"id": "demo/add", "prompt": "def add(a, b):\n", "entry_point": "add", "visible": [{"args": "1, 2", "expected": "3"}], "hidden": [{"args": "0, 0", "expected": "0"}], "reference": "def add(a, b):\n    return a + b\n"}"#;

fn native_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(NATIVE).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn a_misspelt_field_is_named_with_the_field_it_resembles() {
    assert_eq!(parse("t.jsonl", NATIVE).unwrap().len(), 1);
    let hiden = native_with(|v| {
        let hidden = v.as_object_mut().unwrap().remove("hidden").unwrap();
        v["hiden"] = hidden;
    });
    assert_eq!(
        err("t.jsonl", &format!("\n{hiden}")),
        "t.jsonl: line 2: field `hiden`: not a field of a native task; did you mean `hidden`?"
    );
    let case = native_with(|v| v["hidden"][0]["expcted"] = "0".into());
    assert_eq!(
        err("t.jsonl", &case),
        "t.jsonl: line 1: field `hidden[0].expcted`: not a field of a test case; did you mean \
         `expected`?"
    );
    let stranger = native_with(|v| v["difficulty"] = 3.into());
    let e = err("t.jsonl", &stranger);
    assert!(
        e.contains("field `difficulty`") && e.contains("known fields: id, prompt"),
        "{e}"
    );
    let mistyped = native_with(|v| v["hidden"][0]["args"] = 7.into());
    let e = err("t.jsonl", &mistyped);
    assert!(
        e.starts_with("t.jsonl: line 1: field `hidden[0].args`: invalid type"),
        "{e}"
    );
}

#[test]
fn every_missing_field_is_named_at_once() {
    let e = err("t.jsonl", r#"{"id": "x", "reference": "def f(): pass"}"#);
    assert_eq!(
        e,
        "t.jsonl: line 1: fields `prompt`, `entry_point`: missing"
    );
    let e = err(
        "h.jsonl",
        r#"{"task_id": "H/1", "canonical_solution": "    return 1\n"}"#,
    );
    assert_eq!(
        e,
        "h.jsonl: line 1: fields `prompt`, `entry_point`, `test`: missing"
    );
    let e = err(
        "m.json",
        r#"[{"task_id": 3, "test_list": ["assert f(1) == 2"]}]"#,
    );
    assert_eq!(e, "m.json: element 0: fields `text`, `code`: missing");
}

#[test]
fn empty_ids_and_tasks_without_tests_are_refused() {
    let empty = native_with(|v| v["id"] = " ".into());
    assert_eq!(
        err("t.jsonl", &empty),
        "t.jsonl: line 1: field `id`: empty: a task needs an id to be told apart"
    );
    let no_cases = native_with(|v| {
        v["visible"] = serde_json::json!([]);
        v["hidden"] = serde_json::json!([]);
    });
    let e = err("t.jsonl", &no_cases);
    assert!(e.contains("no test cases"), "{e}");
    let he = r#"{"task_id": "H/1", "prompt": "def f():\n", "entry_point": "f", "canonical_solution": "    return 1\n", "test": "def check(candidate):\n    pass\n"}"#;
    let e = err("h.jsonl", he);
    assert!(e.contains("field `test`: no test cases"), "{e}");
    let he_empty_id = he.replace("\"H/1\"", "\"\"");
    assert!(err("h.jsonl", &he_empty_id).contains("field `task_id`: empty"));
    let mbpp_empty_id = r#"{"task_id": "", "text": "t", "code": "def f(x):\n    return x\n", "test_list": ["assert f(1) == 1"]}"#;
    assert!(err("m.jsonl", mbpp_empty_id).contains("field `task_id`: empty"));
    let verl = r#"{"id": "a", "inputs": [], "outputs": [], "fn_name": "f"}"#;
    assert!(err("v.jsonl", verl).contains("field `inputs`: no test cases"));
    let verl_empty_id = r#"{"id": "", "inputs": [[1]], "outputs": [[2]], "fn_name": "f"}"#;
    assert!(err("v.jsonl", verl_empty_id).contains("field `id`: empty"));
}

#[test]
fn the_known_optional_fields_of_each_format_load() {
    let original_mbpp = r#"{"text": "Add.", "code": "def add(a, b):\n  return a + b", "task_id": 7, "test_setup_code": "", "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "challenge_test_list": []}"#;
    let sanitized_mbpp = r#"[{"source_file": "x.py", "task_id": 8, "prompt": "Add.", "code": "def add(a, b):\n  return a + b", "test_imports": [], "test_list": ["assert add(1, 2) == 3"]}]"#;
    assert_eq!(parse("m.jsonl", original_mbpp).unwrap()[0].id, "mbpp/7");
    assert_eq!(parse("s.json", sanitized_mbpp).unwrap()[0].id, "mbpp/8");
    let prime = r#"{"data_source": "codecontests", "prompt": [{"role": "user", "content": "solve"}], "ability": "code", "reward_model": {"style": "rule", "ground_truth": "{\"inputs\": [[1]], \"outputs\": [[2]], \"fn_name\": \"f\"}"}, "extra_info": {"split": "train", "index": 4, "anything": true}}"#;
    assert_eq!(parse("p.jsonl", prime).unwrap()[0].id, "verl/4");
    let typo = prime.replace("\"ability\"", "\"abilty\"");
    assert_eq!(
        err("p.jsonl", &typo),
        "p.jsonl: line 1: field `abilty`: not a field of a verl row; did you mean `ability`?"
    );
    let truth_typo = prime.replace("fn_name", "fn_nme");
    assert!(
        err("p.jsonl", &truth_typo)
            .contains("field `reward_model.ground_truth.fn_nme`: not a field of call-based ground truth; did you mean `fn_name`?"),
        "{}",
        err("p.jsonl", &truth_typo)
    );
}

#[test]
fn a_byte_order_mark_is_named() {
    let e = err("t.jsonl", &format!("\u{feff}{NATIVE}"));
    assert!(
        e.starts_with("t.jsonl: line 1: the file starts with a UTF-8 byte-order mark"),
        "{e}"
    );
    let e = err("t.json", &format!("\u{feff}[{NATIVE}]"));
    assert!(e.contains("byte-order mark"), "{e}");
}
