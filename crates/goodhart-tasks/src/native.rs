//! The native format: one serde-JSON `goodhart_core::Task` per line.

use crate::error::TaskError;
use crate::record::Record;
use goodhart_core::Task;

/// Reads one native record; serde's message names the missing or mistyped field.
pub(crate) fn task(record: &Record<'_>) -> Result<Task, TaskError> {
    serde_json::from_value(record.value.clone()).map_err(|e| record.error(&e.to_string()))
}

/// True when a record looks like a native task rather than another format.
pub(crate) fn looks_native(value: &serde_json::Value) -> bool {
    value.get("entry_point").is_some() && value.get("reference").is_some()
}
