//! HumanEval (`task_id`, `prompt`, `canonical_solution`, `test`, `entry_point`).

use crate::error::TaskError;
use crate::record::Record;
use crate::split::split_check_function;
use goodhart_core::Task;
use serde_json::{Map, Value};

/// Every field of a HumanEval record (openai/human-eval's `HumanEval.jsonl.gz`), all required.
const FIELDS: [&str; 5] = [
    "task_id",
    "prompt",
    "entry_point",
    "canonical_solution",
    "test",
];

/// True when a record has HumanEval's fields.
pub(crate) fn looks_humaneval(value: &Map<String, Value>) -> bool {
    value.contains_key("canonical_solution") || value.contains_key("test")
}

/// Builds a task; the reference is prompt + canonical solution, and every case is hidden because the
/// prompt's docstring already shows its own examples.
pub(crate) fn task(record: &Record<'_>) -> Result<Task, TaskError> {
    record.require(&FIELDS)?;
    record.known_fields("", &record.value, "a HumanEval record", &FIELDS)?;
    let id = record.name("task_id")?;
    let prompt = record.string("prompt")?;
    let entry_point = record.string("entry_point")?;
    let test = record.string("test")?;
    let reference = format!("{prompt}{}", record.string("canonical_solution")?);
    let split = split_check_function(&test).map_err(|m| record.field_error("test", &m))?;
    let task = Task {
        id,
        prompt,
        entry_point,
        visible: Vec::new(),
        hidden: split.cases,
        test_code: Some(test),
        test_setup: join_setup(&split.setup),
        unsplit: split.unsplit,
        reference,
        tags: vec!["humaneval".to_string()],
        stdio: None,
    };
    record.require_tests(&task, "test")?;
    Ok(task)
}

/// Setup statements as one block, or none.
pub(crate) fn join_setup(setup: &[String]) -> Option<String> {
    (!setup.is_empty()).then(|| setup.join("\n") + "\n")
}
