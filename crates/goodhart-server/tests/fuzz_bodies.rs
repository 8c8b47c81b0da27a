//! Property tests of the request bodies of `/v1/grade`, `/get_reward` and `/run_code`, 100,000 cases
//! each, through the functions the handlers call (`decode_json`, `prepare_grade`, `prepare_reward`,
//! `run_code::plan`) rather than over HTTP so the count stays fast. Bodies are arbitrary bytes or
//! near-valid JSON (fields dropped, retyped, misspelt, inline tasks with typos, non-finite-looking
//! penalties). Nothing panics, and every refusal names its place: a 422 names the field's JSON path,
//! a 400 for text that is not JSON carries serde's line and column.
//!
//! Run: `cargo test -p goodhart-server --test fuzz_bodies` (debug; the case counts are in the tests).

use axum::http::{HeaderMap, StatusCode};
use goodhart_core::{Rollout, Task};
use goodhart_sandbox::Limits;
use goodhart_server::error::decode_json;
use goodhart_server::grade::{prepare_grade, prepare_reward, GradeRequest, RewardRequest};
use goodhart_server::run_code::{client_patience, plan, RunCodeRequest};
use goodhart_server::{ApiError, Grading, Judge, Judged, RewardPolicy};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// Validation never grades; a judge that is called fails the test.
struct NoJudge;

impl Judge for NoJudge {
    fn judge(&self, _task: &Task, _rollout: &Rollout) -> Judged {
        unreachable!("validation must not grade")
    }
}

fn grading() -> &'static Grading {
    static G: OnceLock<Grading> = OnceLock::new();
    G.get_or_init(|| {
        let tasks = goodhart_tasks::load("bundled").unwrap();
        Grading::new(
            tasks,
            Arc::new(NoJudge),
            None,
            RewardPolicy::Proxy,
            goodhart_core::Profile::Assert,
            1.0,
        )
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(100_000)
    }
}

/// A refusal names its place: the field for a 422, the line and column for a body that is not JSON.
fn names_the_place(err: &ApiError) -> bool {
    match err.status {
        StatusCode::UNPROCESSABLE_ENTITY => err.field.as_deref().is_some_and(|f| !f.is_empty()),
        StatusCode::BAD_REQUEST => {
            err.field.is_some()
                || (err.message.contains("line ") && err.message.contains("column "))
        }
        _ => false,
    }
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(Value::from("1e999")),
        "[ -~]{0,8}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["x"])),
    ]
}

/// A body as text: sometimes raw, sometimes with a number no f64 holds spliced in.
fn body_text(value: &Value, huge: bool) -> String {
    let text = value.to_string();
    if huge {
        text.replacen("\"HUGE\"", "1e999", 1)
    } else {
        text
    }
}

/// Drops, retypes or adds one field of `object` (keys chosen by index), and maybe a huge number.
fn mutate(object: &mut serde_json::Map<String, Value>, edit: &(u8, usize, Value, String)) {
    let keys: Vec<String> = object.keys().cloned().collect();
    let (kind, i, value, name) = edit;
    let key = keys[i % keys.len()].clone();
    match kind % 5 {
        0 => {
            object.remove(&key);
        }
        1 => {
            object.insert(key, value.clone());
        }
        2 => {
            object.insert(name.clone(), value.clone());
        }
        3 => {
            object.insert(key, Value::from("HUGE"));
        }
        _ => {}
    }
}

fn edit() -> impl Strategy<Value = (u8, usize, Value, String)> {
    (any::<u8>(), any::<usize>(), any_value(), "[a-z_]{1,10}")
}

fn inline_task() -> Value {
    json!({"id": "inline/double", "prompt": "def double(x):\n", "entry_point": "double",
           "hidden": [{"args": "2", "expected": "4"}], "reference": "def double(x):\n    return 2 * x\n"})
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn grade_bodies_are_refused_naming_the_field(
        body in edit(), rollout in edit(), task in edit(), inline in any::<bool>(),
        huge in any::<bool>(), raw in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    ) {
        let bytes = match raw {
            Some(bytes) => bytes,
            None => {
                let mut r = json!({"id": "r1", "task_id": "bundled/digit-sum", "completion": "x", "step": 1});
                if inline {
                    let mut t = inline_task();
                    mutate(t.as_object_mut().unwrap(), &task);
                    r["task"] = t;
                }
                mutate(r.as_object_mut().unwrap(), &rollout);
                let mut b = json!({"rollouts": [r], "reward": "penalty", "penalty": 0.5, "step": 2});
                mutate(b.as_object_mut().unwrap(), &body);
                body_text(&b, huge).into_bytes()
            }
        };
        let outcome = decode_json::<GradeRequest>(&bytes)
            .and_then(|request| prepare_grade(grading(), request, &HeaderMap::new()));
        if let Err(e) = outcome {
            prop_assert!(names_the_place(&e), "{e:?}");
        }
    }

    #[test]
    fn reward_bodies_are_refused_naming_the_field(
        body in edit(), label_kind in 0u8..4, task in edit(), huge in any::<bool>(),
        raw in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    ) {
        let bytes = match raw {
            Some(bytes) => bytes,
            None => {
                let mut t = inline_task();
                mutate(t.as_object_mut().unwrap(), &task);
                let label = match label_kind {
                    0 => json!("bundled/digit-sum"),
                    1 => json!({"task_id": "bundled/digit-sum", "framing": "neutral"}),
                    2 => json!({"task": t, "framing": "neutral"}),
                    _ => Value::from(json!({"task": t}).to_string()),
                };
                let mut b = json!({"query": ["prompt answer"], "prompts": ["prompt"], "labels": [label],
                                   "step": 1, "reward": "screen", "penalty": 2.0});
                mutate(b.as_object_mut().unwrap(), &body);
                body_text(&b, huge).into_bytes()
            }
        };
        let outcome = decode_json::<RewardRequest>(&bytes)
            .and_then(|request| prepare_reward(grading(), request, &HeaderMap::new()));
        if let Err(e) = outcome {
            prop_assert!(names_the_place(&e), "{e:?}");
        }
    }

    #[test]
    fn run_code_bodies_are_refused_naming_the_field(
        body in edit(), second in edit(), huge in any::<bool>(),
        raw in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    ) {
        let bytes = match raw {
            Some(bytes) => bytes,
            None => {
                let mut b = json!({"code": "print(1)", "language": "python", "run_timeout": 3,
                                   "compile_timeout": 10, "memory_limit_MB": 256, "stdin": "",
                                   "files": {"a.txt": "aGk="}, "fetch_files": ["a.txt"]});
                mutate(b.as_object_mut().unwrap(), &body);
                mutate(b.as_object_mut().unwrap(), &second);
                body_text(&b, huge).into_bytes()
            }
        };
        let outcome = decode_json::<RunCodeRequest>(&bytes).and_then(|request| {
            let _ = client_patience(&request);
            plan(request, &Limits::default())
        });
        if let Err(e) = outcome {
            prop_assert!(names_the_place(&e), "{e:?}");
        }
    }
}
