//! Property tests of the rollout reader (`Rollout::from_json`, what `goodhart grade` reads each line
//! with), 100,000 cases each: arbitrary text, and records one mutation away from valid. It never
//! panics; every rejection names the place (the missing or mistyped field, or serde's line and column
//! for text that is not JSON, the unknown field); and no record with a field no rollout has is accepted.
//!
//! Run: `cargo test -p goodhart-core --test fuzz_rollout` (debug; the case counts are in the tests).

use goodhart_core::fields::{
    CARRIED_ROLLOUT_FIELDS as CARRIED, GRADED_FIELDS as GRADED, ROLLOUT_FIELDS as FIELDS,
};
use goodhart_core::{Rollout, RolloutError};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(100_000)
    }
}

/// A rejection names the field, the JSON position, the BOM or the record's type.
fn names_the_place(err: &RolloutError) -> bool {
    match err {
        RolloutError::Json(m) => m.contains("line ") && m.contains("column "),
        RolloutError::Missing(fields) => !fields.is_empty(),
        RolloutError::Field { field, .. } | RolloutError::Unknown { field, .. } => {
            !field.is_empty()
        }
        RolloutError::Bom | RolloutError::NotObject(_) => true,
    }
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,6}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({"a.py": "x", "b": 1})),
        Just(json!({"a.py": "x"})),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_rejected_with_its_place(text in prop_oneof![
        "[\\[\\]{}\":,0-9a-z_ \u{feff}]{0,40}",
        any::<String>(),
    ]) {
        if let Err(e) = Rollout::from_json(&text) {
            prop_assert!(names_the_place(&e), "{e:?}");
        }
    }

    #[test]
    fn near_valid_records_are_read_or_rejected_naming_the_field(
        drop in prop::option::of(0usize..8),
        retype in prop::option::of((0usize..8, any_value())),
        stranger in prop::option::of("[a-z_]{1,12}"),
    ) {
        let mut record = json!({"id": "r1", "task_id": "bundled/x", "completion": "```python\npass\n```",
                                "files": {"conftest.py": ""}, "reasoning": "r", "framing": "neutral",
                                "step": 3, "model": "m"});
        let object = record.as_object_mut().unwrap();
        if let Some(i) = drop {
            object.remove(FIELDS[i]);
        }
        if let Some((i, value)) = &retype {
            object.insert(FIELDS[*i].to_string(), value.clone());
        }
        if let Some(name) = &stranger {
            object.insert(name.clone(), json!({"kept": [1, 2]}));
        }
        let known = |name: &str| FIELDS.contains(&name) || CARRIED.contains(&name) || GRADED.contains(&name);
        let stranger = stranger.filter(|n| !known(n));
        match Rollout::from_json(&record.to_string()) {
            Ok(_) => prop_assert!(stranger.is_none(), "a field no rollout has was accepted"),
            Err(e) => {
                prop_assert!(names_the_place(&e), "{e:?}");
                let blamed = match &e {
                    RolloutError::Missing(fields) => fields.iter().all(|(f, _)| FIELDS.contains(&f.as_str())),
                    RolloutError::Field { field, .. } => {
                        FIELDS.iter().chain(CARRIED).any(|f| field.starts_with(f))
                    }
                    RolloutError::Unknown { field, .. } => stranger.as_deref() == Some(field.as_str()),
                    _ => false,
                };
                prop_assert!(blamed, "{e:?}");
            }
        }
    }
}
