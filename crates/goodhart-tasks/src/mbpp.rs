//! MBPP, both the original JSONL (`text`, `code`, `test_list`, `test_setup_code`) and the sanitized JSON
//! array (`prompt`, `code`, `test_list`, `test_imports`).

use crate::error::TaskError;
use crate::humaneval::join_setup;
use crate::record::Record;
use crate::split::{called_function, split_assert_list};
use goodhart_core::Task;

/// True when a record has MBPP's fields.
pub(crate) fn looks_mbpp(value: &serde_json::Value) -> bool {
    value.get("test_list").is_some() && value.get("code").is_some()
}

/// Builds a task: the first assert is shown in the prompt (as MBPP's own prompting does), the rest hidden.
pub(crate) fn task(record: &Record<'_>) -> Result<Task, TaskError> {
    let id = format!("mbpp/{}", record.id("task_id")?);
    let text = if record.value.get("prompt").is_some() {
        record.string("prompt")?
    } else {
        record.string("text")?
    };
    let reference = record.string("code")?;
    let asserts = record.strings("test_list")?;
    if asserts.is_empty() {
        return Err(record.field_error("test_list", "no asserts"));
    }
    let mut setup = record.strings("test_imports")?;
    if let Some(code) = record.value.get("test_setup_code").and_then(|v| v.as_str()) {
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
    Ok(Task {
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
    })
}
