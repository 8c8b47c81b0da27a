//! Task sources: the native JSONL format, HumanEval, MBPP, verl/prime ground truth, and the bundled suite.
//!
//! [`load`] is the one entry point: give it `bundled` (or nothing) or a path, get tasks whose literal
//! asserts have been split into (call, expected) cases for the hardened grader.

pub mod bundled;
mod error;
mod humaneval;
mod mbpp;
mod native;
mod record;
pub mod split;
mod verl;

pub use error::{Location, TaskError};

use goodhart_core::Task;
use record::Record;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;

/// Loads tasks from `bundled` / an empty string (the bundled suite) or from a file, sniffing the format
/// from the extension (`.gz` is decompressed first) and the records' fields.
pub fn load(source: &str) -> Result<Vec<Task>, TaskError> {
    let source = source.trim();
    if source.is_empty() || source == "bundled" {
        return bundled::bundled_suite().map_err(|e| TaskError::Bundled(e.to_string()));
    }
    let io = |e| TaskError::Io {
        path: source.to_string(),
        source: e,
    };
    let bytes = std::fs::read(source).map_err(io)?;
    let text = if source.ends_with(".gz") {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut out)
            .map_err(io)?;
        out
    } else {
        String::from_utf8(bytes).map_err(|e| TaskError::Format {
            path: source.to_string(),
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?
    };
    parse(source, &text)
}

/// Parses the text of a task file; `path` is only used in error messages.
pub fn parse(path: &str, text: &str) -> Result<Vec<Task>, TaskError> {
    let records = records(path, text)?;
    let mut tasks = Vec::with_capacity(records.len());
    let mut seen: HashMap<String, error::Location> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let task = if humaneval::looks_humaneval(&record.value) {
            humaneval::task(record)?
        } else if mbpp::looks_mbpp(&record.value) {
            mbpp::task(record)?
        } else if native::looks_native(&record.value) {
            native::task(record)?
        } else if verl::looks_verl(&record.value) {
            verl::task(record, index)?
        } else {
            return Err(record.error(
                "not a known task record (native needs `entry_point` and `reference`; HumanEval `test` and \
                 `canonical_solution`; MBPP `test_list` and `code`; verl `inputs`/`ground_truth`)",
            ));
        };
        if let Some(first) = seen.insert(task.id.clone(), record.at) {
            return Err(TaskError::Duplicate {
                path: path.to_string(),
                at: record.at,
                id: task.id,
                first,
            });
        }
        tasks.push(task);
    }
    Ok(tasks)
}

/// Splits a file into JSON records: a top-level array gives its elements, otherwise one object per line.
fn records<'a>(path: &'a str, text: &str) -> Result<Vec<Record<'a>>, TaskError> {
    if text.trim_start().starts_with('[') {
        let value: Value = serde_json::from_str(text).map_err(|e| TaskError::Record {
            path: path.to_string(),
            at: error::Location::Line(e.line()),
            message: format!("invalid JSON: {e}"),
        })?;
        let Value::Array(items) = value else {
            return Err(TaskError::Format {
                path: path.to_string(),
                message: "expected a JSON array".to_string(),
            });
        };
        return items
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                object(Record {
                    path,
                    at: error::Location::Element(i),
                    value,
                })
            })
            .collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let at = error::Location::Line(i + 1);
            let value = serde_json::from_str(line).map_err(|e| TaskError::Record {
                path: path.to_string(),
                at,
                message: format!("invalid JSON: {e}"),
            })?;
            object(Record { path, at, value })
        })
        .collect()
}

fn object(record: Record<'_>) -> Result<Record<'_>, TaskError> {
    if record.value.is_object() {
        Ok(record)
    } else {
        Err(record.error(&format!(
            "expected a JSON object, found {}",
            record::kind(&record.value)
        )))
    }
}
