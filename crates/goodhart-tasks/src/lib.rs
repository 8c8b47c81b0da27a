//! Task sources: the native JSONL format, HumanEval, MBPP, verl/prime ground truth, and the bundled suite.
//!
//! [`load`] is the one entry point: give it the name of a built-in source (`bundled`, the default;
//! `humaneval`; `mbpp`: see [`builtin`]) or a path, get tasks whose literal asserts have been split into
//! (call, expected) cases for the hardened grader.

pub mod builtin;
pub mod bundled;
mod error;
mod humaneval;
mod mbpp;
mod native;
mod record;
pub mod split;
mod stdio;
pub mod stdio_suite;
mod toml_suite;
mod verl;

pub use error::{Location, TaskError};
pub use toml_suite::SuiteError;

use goodhart_core::Task;
use record::Record;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;

/// Loads tasks from a built-in source (`bundled` or an empty string for the bundled suite, `humaneval`,
/// `mbpp`) or from a file, sniffing the format from the extension (`.gz` is decompressed first) and the
/// records' fields. A URL is refused rather than read as a relative path.
pub fn load(source: &str) -> Result<Vec<Task>, TaskError> {
    let source = source.trim();
    if source.is_empty() || source == "bundled" {
        return bundled::bundled_suite().map_err(|e| TaskError::Bundled(e.to_string()));
    }
    if source == stdio_suite::NAME {
        return stdio_suite::stdio_suite().map_err(|e| TaskError::Bundled(e.to_string()));
    }
    if let Some(b) = builtin::builtin(source) {
        return parse_bytes(
            &format!("built-in `{}` ({})", b.name, b.file),
            b.bytes,
            b.file.ends_with(".gz"),
        );
    }
    if source.contains("://") {
        return Err(TaskError::Format {
            path: source.to_string(),
            message: format!(
                "a URL is not a task file; download it first, or name a built-in source ({})",
                builtin::names()
            ),
        });
    }
    let bytes = std::fs::read(source).map_err(|e| TaskError::Io {
        path: source.to_string(),
        cause: e,
    })?;
    parse_bytes(source, &bytes, source.ends_with(".gz"))
}

/// Decodes a task file's bytes (gunzipping them when `gz`) and parses them; `path` names the source in
/// error messages.
fn parse_bytes(path: &str, bytes: &[u8], gz: bool) -> Result<Vec<Task>, TaskError> {
    let text = if gz {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut out)
            .map_err(|e| TaskError::Io {
                path: path.to_string(),
                cause: e,
            })?;
        out
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|e| TaskError::Format {
            path: path.to_string(),
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?
    };
    parse(path, &text)
}

/// Parses the text of a task file; `path` is only used in error messages.
///
/// Every record is checked strictly: a field its format does not know is an error naming the field and
/// the known one it resembles, every missing field is named, an empty id and a task without tests are
/// refused, and a byte-order mark is named rather than reported as bad JSON.
pub fn parse(path: &str, text: &str) -> Result<Vec<Task>, TaskError> {
    if text.starts_with('\u{feff}') {
        return Err(TaskError::Record {
            path: path.to_string(),
            at: error::Location::Line(1),
            message:
                "the file starts with a UTF-8 byte-order mark (bytes EF BB BF); save it as UTF-8 \
                      without one"
                    .to_string(),
        });
    }
    let records = records(path, text)?;
    let mut tasks = Vec::with_capacity(records.len());
    let mut seen: HashMap<String, error::Location> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        // The most specific fields decide the format, so a record that lacks a required field is
        // still read as its format and the error names that field.
        let task = if stdio::looks_apps(&record.value) {
            stdio::apps_task(record, index)?
        } else if stdio::looks_code_contests(&record.value) {
            stdio::code_contests_task(record, index)?
        } else if stdio::looks_livecodebench(&record.value) {
            stdio::livecodebench_task(record, index)?
        } else if mbpp::looks_mbpp(&record.value) {
            mbpp::task(record)?
        } else if verl::looks_verl(&record.value) {
            verl::task(record, index)?
        } else if humaneval::looks_humaneval(&record.value) {
            humaneval::task(record)?
        } else if native::looks_native(&record.value) {
            native::task(record)?
        } else {
            return Err(record.error(
                "not a known task record (native needs `id`, `prompt`, `entry_point`, `reference` and \
                 cases; HumanEval `test` and `canonical_solution`; MBPP `test_list` and `code`; verl \
                 `inputs`/`ground_truth`/`reward_model`; APPS/TACO `input_output`; CodeContests \
                 `public_tests`/`private_tests`; LiveCodeBench `question_content`/`public_test_cases`)",
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
            .map(|(i, value)| object(path, error::Location::Element(i), value))
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
            object(path, at, value)
        })
        .collect()
}

fn object(path: &str, at: error::Location, value: Value) -> Result<Record<'_>, TaskError> {
    match value {
        Value::Object(value) => Ok(Record { path, at, value }),
        other => Err(TaskError::Record {
            path: path.to_string(),
            at,
            message: format!("expected a JSON object, found {}", record::kind(&other)),
        }),
    }
}
