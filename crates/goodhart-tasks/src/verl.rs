//! verl / PRIME ground truth: `{"inputs": [...], "outputs": [...], "fn_name": ...}`, either as the record
//! itself or as a JSON string (or object) in `ground_truth` or `reward_model.ground_truth`.
//!
//! With `fn_name` the task is call-based: each input is the argument list; an output that is a
//! one-element list is unwrapped, as the APPS/TACO checkers that produced these files accept. Without
//! `fn_name` (or with `fn_name: null`) it is a stdin/stdout task: each input is a whole standard input
//! and each output the whole expected standard output (see `crate::stdio`).

use crate::error::TaskError;
use crate::record::{kind, Record};
use goodhart_core::{Task, TestCase};
use serde_json::{Map, Value};

/// The columns of a verl / PRIME row (`data_source`, `prompt`, `ability`, `reward_model`, `extra_info`),
/// the ground truth's own fields when the row is the ground truth, the id and reference columns this
/// loader reads, and the columns of `goodhart export --format openrlhf` (`label`, `task_id`, `framing`).
/// `extra_info` is free-form and not checked.
const ROW_FIELDS: [&str; 19] = [
    "data_source",
    "prompt",
    "question",
    "problem",
    "ability",
    "reward_model",
    "extra_info",
    "ground_truth",
    "inputs",
    "outputs",
    "fn_name",
    "id",
    "task_id",
    "problem_id",
    "solution",
    "reference",
    "canonical_solution",
    "label",
    "framing",
];

/// verl's `reward_model` column.
const REWARD_MODEL_FIELDS: [&str; 2] = ["style", "ground_truth"];

/// APPS / TACO call-based ground truth.
const TRUTH_FIELDS: [&str; 3] = ["inputs", "outputs", "fn_name"];

/// A Goodhart grading key (`goodhart export`): the task travels inline.
const KEY_FIELDS: [&str; 3] = ["task_id", "framing", "task"];

/// True when a record carries verl/PRIME ground truth (or a Goodhart grading key).
pub(crate) fn looks_verl(value: &Map<String, Value>) -> bool {
    ["inputs", "ground_truth", "reward_model", "label"]
        .iter()
        .any(|f| value.contains_key(*f))
}

/// Builds a task from one record; `index` names it when the record has no id.
pub(crate) fn task(record: &Record<'_>, index: usize) -> Result<Task, TaskError> {
    record.known_fields("", &record.value, "a verl row", &ROW_FIELDS)?;
    if let Some(Value::Object(rm)) = record.value.get("reward_model") {
        record.known_fields(
            "reward_model",
            rm,
            "verl's reward_model",
            &REWARD_MODEL_FIELDS,
        )?;
    }
    let (field, truth) = ground_truth(record)?;
    let Value::Object(truth) = truth else {
        return Err(record.field_error(
            field,
            &format!("expected a JSON object, found {}", kind(&truth)),
        ));
    };
    if truth.contains_key("task") {
        // A grading key written by `goodhart export`: the task is inline, checked as a native one.
        record.known_fields(field, &truth, "a grading key", &KEY_FIELDS)?;
        let Some(Value::Object(inline)) = truth.get("task") else {
            return Err(record.field_error(&format!("{field}.task"), "expected a task object"));
        };
        let task = crate::native::parse_task(record, &format!("{field}.task"), inline)?;
        record.require_tests(&task, &format!("{field}.task.hidden"))?;
        return Ok(task);
    }
    if field != "inputs" {
        record.known_fields(field, &truth, "call-based ground truth", &TRUTH_FIELDS)?;
    }
    let sub = |name: &str| {
        if field == "inputs" {
            name.to_string()
        } else {
            format!("{field}.{name}")
        }
    };
    let id = row_id(record, index)?;
    let fn_name = match truth.get("fn_name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Null) | None => {
            // stdin/stdout ground truth: each input is a whole stdin, each output the whole stdout.
            let cases = crate::stdio::io_cases(
                record,
                if field == "inputs" { "" } else { field },
                truth.get("inputs"),
                truth.get("outputs"),
            )
            .map_err(|e| match e {
                TaskError::Field {
                    path,
                    at,
                    field,
                    message,
                } => TaskError::Field {
                    path,
                    at,
                    field: field.trim_start_matches('.').to_string(),
                    message,
                },
                other => other,
            })?;
            if cases.is_empty() {
                return Err(record.field_error(
                    &sub("inputs"),
                    "no test cases: a task without tests would pass any answer",
                ));
            }
            return Ok(crate::stdio::stdio_task(
                format!("verl/{id}"),
                prompt(&record.value),
                Vec::new(),
                cases,
                reference(record),
                vec!["verl".to_string()],
            ));
        }
        Some(other) => {
            return Err(record.field_error(
                &sub("fn_name"),
                &format!(
                    "expected the function's name (or no `fn_name` for stdin/stdout), found {}",
                    kind(other)
                ),
            ))
        }
    };
    let list = |name: &str| match truth.get(name) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(record.field_error(
            &sub(name),
            &format!("expected a list, found {}", kind(other)),
        )),
        None => Err(record.field_error(&sub(name), "missing")),
    };
    let (inputs, outputs) = (list("inputs")?, list("outputs")?);
    if inputs.is_empty() {
        return Err(record.field_error(
            &sub("inputs"),
            "no test cases: a task without tests would pass any answer",
        ));
    }
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
    Ok(Task {
        id: format!("verl/{id}"),
        prompt: prompt(&record.value),
        entry_point: fn_name,
        visible: Vec::new(),
        hidden,
        test_code: None,
        test_setup: None,
        unsplit: Vec::new(),
        reference: reference(record),
        tags: vec!["verl".to_string()],
        stdio: None,
    })
}

/// The row's id (`id`, `task_id`, `problem_id`, `extra_info.index`), or its position.
fn row_id(record: &Record<'_>, index: usize) -> Result<String, TaskError> {
    Ok(["id", "task_id", "problem_id"]
        .iter()
        .find_map(|f| {
            record
                .value
                .get(*f)
                .map(|v| (*f, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        })
        .map(|(f, id)| {
            if id.trim().is_empty() {
                Err(record.field_error(f, "empty: a task needs an id to be told apart"))
            } else {
                Ok(id)
            }
        })
        .transpose()?
        .or_else(|| {
            record
                .value
                .get("extra_info")
                .and_then(|e| e.get("index"))
                .map(|v| v.to_string())
        })
        .unwrap_or_else(|| index.to_string()))
}

/// The reference solution column, if any.
fn reference(record: &Record<'_>) -> String {
    ["solution", "reference", "canonical_solution"]
        .iter()
        .find_map(|f| record.value.get(*f).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// Finds the ground truth object and the field it came from.
fn ground_truth(record: &Record<'_>) -> Result<(&'static str, Value), TaskError> {
    let (field, raw) = if record.value.contains_key("inputs") {
        return Ok(("inputs", Value::Object(record.value.clone())));
    } else if let Some(v) = record.value.get("ground_truth") {
        ("ground_truth", v)
    } else if let Some(v) = record
        .value
        .get("reward_model")
        .and_then(|r| r.get("ground_truth"))
    {
        ("reward_model.ground_truth", v)
    } else if let Some(v) = record.value.get("label") {
        ("label", v)
    } else {
        return Err(
            record.error("no `inputs`, `ground_truth`, `reward_model.ground_truth` or `label`")
        );
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
fn prompt(value: &Map<String, Value>) -> String {
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
