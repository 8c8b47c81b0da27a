//! Property tests of the task loaders, 100,000 cases each: arbitrary text, and records one mutation
//! away from a valid native, HumanEval, MBPP or verl record (a field dropped, misspelt, emptied,
//! retyped, or a stranger added). The loader never panics, and every rejection names the file and the
//! line or array element, and, where one field is at fault, the field.
//!
//! Run: `cargo test -p goodhart-tasks --test fuzz` (debug; the case counts are in the tests).

use goodhart_tasks::parse;
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(100_000)
    }
}

/// A rejection names the file and the record's place.
fn names_the_place(err: &str, path: &str) -> bool {
    err.starts_with(&format!("{path}: line ")) || err.starts_with(&format!("{path}: element "))
}

/// One valid record of each format.
fn templates() -> Vec<Value> {
    vec![
        json!({"id": "demo/add", "prompt": "def add(a, b):\n", "entry_point": "add",
               "visible": [{"args": "1, 2", "expected": "3"}],
               "hidden": [{"args": "0.1, 0.2", "expected": "0.3", "tolerance": 1e-9}],
               "reference": "def add(a, b):\n    return a + b\n", "tags": ["easy"]}),
        json!({"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f",
               "canonical_solution": "    return x\n",
               "test": "def check(candidate):\n    assert candidate(1) == 1\n    assert candidate(2) == 2\n"}),
        json!({"task_id": 7, "text": "Add.", "code": "def add(a, b):\n  return a + b",
               "test_setup_code": "", "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
               "challenge_test_list": []}),
        json!({"data_source": "x", "prompt": [{"role": "user", "content": "solve"}], "ability": "code",
               "reward_model": {"style": "rule",
                                "ground_truth": "{\"inputs\": [[1, 2]], \"outputs\": [[3]], \"fn_name\": \"add\"}"},
               "extra_info": {"index": 3}}),
    ]
}

/// Values of every JSON type, for retyping a field.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,8}".prop_map(Value::from),
        Just(json!([])),
        Just(json!([{"args": "1", "expected": 2}])),
        Just(json!({})),
        Just(json!(["assert f(1) == 1"])),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Misspell(usize, usize),
    Empty(usize),
    Retype(usize, Value),
    Stranger(String),
    CaseField(String),
    None,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        (any::<usize>(), any::<usize>()).prop_map(|(f, i)| Mutation::Misspell(f, i)),
        any::<usize>().prop_map(Mutation::Empty),
        (any::<usize>(), any_value()).prop_map(|(f, v)| Mutation::Retype(f, v)),
        "[a-z_]{1,10}".prop_map(Mutation::Stranger),
        "[a-z_]{1,10}".prop_map(Mutation::CaseField),
        Just(Mutation::None),
    ]
}

fn apply(mut record: Value, mutation: &Mutation) -> Value {
    let object = record.as_object_mut().expect("templates are objects");
    let keys: Vec<String> = object.keys().cloned().collect();
    let key = |i: usize| keys[i % keys.len()].clone();
    match mutation {
        Mutation::Drop(i) => {
            object.remove(&key(*i));
        }
        Mutation::Misspell(i, at) => {
            let k = key(*i);
            let v = object.remove(&k).expect("key exists");
            let mut chars: Vec<char> = k.chars().collect();
            chars.remove(at % chars.len());
            object.insert(chars.into_iter().collect(), v);
        }
        Mutation::Empty(i) => {
            let k = key(*i);
            let empty = match &object[&k] {
                Value::String(_) => json!(""),
                Value::Array(_) => json!([]),
                Value::Object(_) => json!({}),
                other => other.clone(),
            };
            object.insert(k, empty);
        }
        Mutation::Retype(i, v) => {
            object.insert(key(*i), v.clone());
        }
        Mutation::Stranger(name) => {
            object.insert(name.clone(), json!(1));
        }
        Mutation::CaseField(name) => {
            if let Some(Value::Array(cases)) = object.get_mut("hidden") {
                if let Some(Value::Object(case)) = cases.first_mut() {
                    case.insert(name.clone(), json!("x"));
                }
            }
        }
        Mutation::None => {}
    }
    record
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text, biased towards JSON's own characters so the parser gets past the first byte.
    #[test]
    fn arbitrary_text_is_rejected_with_its_place(text in prop_oneof![
        "[\\[\\]{}\":,0-9a-z \\n\\t\u{feff}]{0,40}",
        any::<String>(),
    ]) {
        if let Err(e) = parse("f.jsonl", &text) {
            let e = e.to_string();
            prop_assert!(names_the_place(&e, "f.jsonl"), "{e}");
        }
    }

    /// Records one mutation away from valid, in JSONL and as a JSON array.
    #[test]
    fn near_valid_records_are_loaded_or_rejected_naming_the_field(
        which in 0usize..4,
        mutation in mutation(),
        array in any::<bool>(),
    ) {
        let record = apply(templates()[which].clone(), &mutation);
        let (path, text) = if array {
            ("f.json", format!("[{record}]"))
        } else {
            ("f.jsonl", record.to_string())
        };
        match parse(path, &text) {
            Ok(tasks) => {
                prop_assert_eq!(tasks.len(), 1);
                prop_assert!(!tasks[0].id.trim().is_empty());
                prop_assert!(tasks[0].cases().next().is_some() || !tasks[0].unsplit.is_empty());
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(names_the_place(&e, path), "{e}");
                let whole_record = e.contains("not a known task record")
                    || e.contains("expected a JSON object")
                    || e.contains("no `inputs`");
                prop_assert!(whole_record || e.contains("field `") || e.contains("fields `"), "{e}");
                prop_assert!(!e.contains("field ``"), "an empty field name: {e}");
            }
        }
    }
}
