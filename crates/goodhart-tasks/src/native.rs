//! The native format: one serde-JSON `goodhart_core::Task` per line.

use crate::error::TaskError;
use crate::record::{join, Record};
use goodhart_core::fields;
use goodhart_core::Task;
use serde_json::{Map, Value};

/// The fields a native record must have.
const REQUIRED: [&str; 4] = ["id", "prompt", "entry_point", "reference"];

/// Reads one native record: every missing field is named, an unknown field (also inside a case) is an
/// error naming the known field it looks like, and a mistyped one is named by its path
/// (`hidden[2].args`).
pub(crate) fn task(record: &Record<'_>) -> Result<Task, TaskError> {
    record.require(&REQUIRED)?;
    let task = parse_task(record, "", &record.value)?;
    record.require_tests(&task, "hidden")?;
    Ok(task)
}

/// Checks and decodes a native task object found at `prefix` of `record` (empty for the record
/// itself), so a task inlined in a verl grading key gets the same checks as a native line.
pub(crate) fn parse_task(
    record: &Record<'_>,
    prefix: &str,
    object: &Map<String, Value>,
) -> Result<Task, TaskError> {
    let at = |field: &str| join(prefix, field);
    if let Some((field, message)) = fields::unknown_task_field(object) {
        return Err(record.field_error(&at(&field), &message));
    }
    let value = Value::Object(object.clone());
    let task: Task = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            prefix.to_string()
        } else {
            at(&path)
        };
        record.field_error(&field, &e.into_inner().to_string())
    })?;
    if task.id.trim().is_empty() {
        return Err(record.field_error(&at("id"), "empty: a task needs an id to be told apart"));
    }
    if let Some(io) = &task.stdio {
        if let Err(e) = io.comparator() {
            return Err(record.field_error(&at("stdio.comparator"), &e.to_string()));
        }
    }
    Ok(task)
}

/// True when a record looks like a native task rather than another format.
pub(crate) fn looks_native(value: &Map<String, Value>) -> bool {
    ["reference", "entry_point", "visible", "hidden", "test_code"]
        .iter()
        .any(|f| value.contains_key(*f))
}
