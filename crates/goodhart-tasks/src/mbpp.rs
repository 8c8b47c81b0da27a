//! MBPP, both the original JSONL (`text`, `code`, `test_list`, `test_setup_code`) and the sanitized JSON
//! array (`prompt`, `code`, `test_list`, `test_imports`).

use crate::error::TaskError;
use crate::humaneval::join_setup;
use crate::record::Record;
use crate::split::{called_function, split_assert_list};
use goodhart_core::Task;
use serde_json::{Map, Value};

/// Every field of the original MBPP JSONL (`mbpp.jsonl`) and of the sanitized split
/// (`sanitized-mbpp.json`). `challenge_test_list` (harder extra asserts, empty in most records) and
/// `source_file` are read but not graded.
const FIELDS: [&str; 9] = [
    "task_id",
    "text",
    "prompt",
    "code",
    "test_list",
    "test_setup_code",
    "test_imports",
    "challenge_test_list",
    "source_file",
];

/// True when a record has MBPP's fields.
pub(crate) fn looks_mbpp(value: &Map<String, Value>) -> bool {
    value.contains_key("test_list")
}

/// Builds a task: the first assert is shown in the prompt (as MBPP's own prompting does), the rest hidden.
pub(crate) fn task(record: &Record<'_>) -> Result<Task, TaskError> {
    let text_field = if record.value.contains_key("prompt") {
        "prompt"
    } else {
        "text"
    };
    record.require(&["task_id", text_field, "code", "test_list"])?;
    record.known_fields("", &record.value, "an MBPP record", &FIELDS)?;
    let id = format!("mbpp/{}", record.id("task_id")?);
    let text = record.string(text_field)?;
    let reference = record.string("code")?;
    let asserts = record.strings("test_list")?;
    if asserts.is_empty() {
        return Err(record.field_error("test_list", "no asserts"));
    }
    let mut setup = record.strings("test_imports")?;
    if let Some(code) = record.value.get("test_setup_code").and_then(Value::as_str) {
        if !code.trim().is_empty() {
            setup.push(code.to_string());
        }
    }
    let entry_point = called_function(&asserts, &reference)
        .ok_or_else(|| record.field_error("test_list", "no function call found in the asserts"))?;
    let split = split_assert_list(&asserts, &setup, &entry_point);
    let prompt = format!("{text}\nYour code should pass this test:\n{}\n", asserts[0]);
    let mut cases = split.cases.into_iter();
    let visible = if split.unsplit.first().map(String::as_str) == Some(asserts[0].trim()) {
        Vec::new()
    } else {
        cases.next().into_iter().collect()
    };
    let task = Task {
        id,
        prompt,
        entry_point,
        visible,
        hidden: cases.collect(),
        test_code: Some(asserts.join("\n") + "\n"),
        test_setup: join_setup(&setup),
        unsplit: split.unsplit,
        reference,
        tags: vec!["mbpp".to_string()],
        stdio: None,
    };
    record.require_tests(&task, "test_list")?;
    Ok(task)
}
