//! verl / PRIME ground truth: `{"inputs": [...], "outputs": [...], "fn_name": ...}`, either as the record
//! itself or as a JSON string (or object) in `ground_truth` or `reward_model.ground_truth`.
//!
//! Only call-based tasks (with `fn_name`) are supported: stdin/stdout tasks have no entry point to call
//! and are rejected with an error that says so. Each input is the argument list; an output that is a
//! one-element list is unwrapped, as the APPS/TACO checkers that produced these files accept.

use crate::error::TaskError;
use crate::record::{kind, Record};
use goodhart_core::{Task, TestCase};
use serde_json::Value;

/// True when a record carries verl/PRIME ground truth.
pub(crate) fn looks_verl(value: &Value) -> bool {
    value.get("inputs").is_some()
        || value.get("ground_truth").is_some()
        || value
            .get("reward_model")
            .and_then(|r| r.get("ground_truth"))
            .is_some()
}

/// Builds a task from one record; `index` names it when the record has no id.
pub(crate) fn task(record: &Record<'_>, index: usize) -> Result<Task, TaskError> {
    let (field, truth) = ground_truth(record)?;
    let fn_name = match truth.get("fn_name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(record.field_error(
                &format!("{field}.fn_name"),
                "missing: stdin/stdout tasks are not supported, only call-based ones",
            ))
        }
    };
    let list = |name: &str| match truth.get(name) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(record.field_error(
            &format!("{field}.{name}"),
            &format!("expected a list, found {}", kind(other)),
        )),
        None => Err(record.field_error(&format!("{field}.{name}"), "missing")),
    };
    let (inputs, outputs) = (list("inputs")?, list("outputs")?);
    if inputs.len() != outputs.len() {
        return Err(record.field_error(
            field,
            &format!("{} inputs but {} outputs", inputs.len(), outputs.len()),
        ));
    }
    let hidden = inputs
        .iter()
        .zip(&outputs)
        .map(|(input, output)| {
            let args = match input {
                Value::Array(args) => args
                    .iter()
                    .map(python_literal)
                    .collect::<Vec<_>>()
                    .join(", "),
                single => python_literal(single),
            };
            let expected = match output {
                Value::Array(one) if one.len() == 1 => python_literal(&one[0]),
                other => python_literal(other),
            };
            TestCase {
                args,
                expected,
                tolerance: None,
                check: Default::default(),
            }
        })
        .collect();
    let id = ["id", "task_id", "problem_id"]
        .iter()
        .find_map(|f| {
            record
                .value
                .get(*f)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        })
        .or_else(|| {
            record
                .value
                .get("extra_info")
                .and_then(|e| e.get("index"))
                .map(|v| v.to_string())
        })
        .unwrap_or_else(|| index.to_string());
    Ok(Task {
        id: format!("verl/{id}"),
        prompt: prompt(&record.value),
        entry_point: fn_name,
        visible: Vec::new(),
        hidden,
        test_code: None,
        test_setup: None,
        unsplit: Vec::new(),
        reference: ["solution", "reference", "canonical_solution"]
            .iter()
            .find_map(|f| record.value.get(*f).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string(),
        tags: vec!["verl".to_string()],
    })
}

/// Finds the ground truth object and the field it came from.
fn ground_truth(record: &Record<'_>) -> Result<(&'static str, Value), TaskError> {
    let (field, raw) = if record.value.get("inputs").is_some() {
        return Ok(("inputs", record.value.clone()));
    } else if let Some(v) = record.value.get("ground_truth") {
        ("ground_truth", v)
    } else if let Some(v) = record
        .value
        .get("reward_model")
        .and_then(|r| r.get("ground_truth"))
    {
        ("reward_model.ground_truth", v)
    } else {
        return Err(record.error("no `inputs`, `ground_truth` or `reward_model.ground_truth`"));
    };
    match raw {
        Value::String(s) => serde_json::from_str(s)
            .map(|v| (field, v))
            .map_err(|e| record.field_error(field, &format!("not a JSON object: {e}"))),
        Value::Object(_) => Ok((field, raw.clone())),
        other => Err(record.field_error(
            field,
            &format!("expected a JSON string or object, found {}", kind(other)),
        )),
    }
}

/// The prompt: a string, or the last user message of a chat list.
fn prompt(value: &Value) -> String {
    match value
        .get("prompt")
        .or_else(|| value.get("question"))
        .or_else(|| value.get("problem"))
    {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(messages)) => messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

/// Python source for a JSON value (JSON string escapes are valid Python escapes).
pub(crate) fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => value.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_become_python_source() {
        let v: Value = serde_json::from_str(r#"[null, true, 1.5, "a\"b", {"k": [1]}]"#).unwrap();
        assert_eq!(
            python_literal(&v),
            r#"[None, True, 1.5, "a\"b", {"k": [1]}]"#
        );
    }
}
