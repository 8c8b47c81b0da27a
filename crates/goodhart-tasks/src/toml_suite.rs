//! What the two suites compiled into the binary share: files of `[[task]]` tables, each task checked
//! by its suite's own rules, ids unique across files, and errors that name the file and the task.
//!
//! `bundled` (call-based, `suite/`) and `bundled-stdio` (stdin/stdout, `suite-stdio/`) differ only in
//! what a task table holds and which rules it must meet; [`build`] takes that part as a function.

use goodhart_core::Task;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;

/// Why a suite could not be built; names the suite's folder, the file and, where there is one, the task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuiteError {
    /// The file is not valid TOML or not a list of `[[task]]` tables.
    #[error("{dir}/{file}: {message}")]
    Parse {
        /// The suite's folder (`suite`, `suite-stdio`).
        dir: &'static str,
        /// File name in that folder, so the author knows where to look.
        file: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// One task is malformed (missing or mistyped field) or breaks a rule of the suite.
    #[error("{dir}/{file}: task `{task}`: {problem}")]
    Invalid {
        dir: &'static str,
        file: String,
        /// The task's id, or its position in the file when it has none.
        task: String,
        /// The missing field or the broken rule.
        problem: String,
    },
    /// Two tasks share an id, which would make audit results ambiguous.
    #[error("{dir}/{file}: task id `{task}` is already used in {dir}/{first}")]
    Duplicate {
        dir: &'static str,
        /// File holding the second use of the id.
        file: String,
        /// The repeated id.
        task: String,
        /// File holding the first use of the id.
        first: String,
    },
}

/// One suite file as written: only `[[task]]` tables, kept raw so a bad task can still be named by id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    #[serde(default)]
    task: Vec<toml::Value>,
}

/// Parses the suite files `(name, text)` of folder `dir`: each table is read as an `R` and made a task
/// by `into_task` (whose error is the broken rule); an id used twice across the files is refused.
pub(crate) fn build<R: DeserializeOwned>(
    dir: &'static str,
    files: &[(&str, &str)],
    into_task: impl Fn(R) -> Result<Task, String>,
) -> Result<Vec<Task>, SuiteError> {
    let mut tasks = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (file, text) in files {
        for task in parse_file(dir, file, text, &into_task)? {
            if let Some(first) = seen.insert(task.id.clone(), (*file).to_string()) {
                return Err(SuiteError::Duplicate {
                    dir,
                    file: (*file).to_string(),
                    task: task.id,
                    first,
                });
            }
            tasks.push(task);
        }
    }
    Ok(tasks)
}

fn parse_file<R: DeserializeOwned>(
    dir: &'static str,
    file: &str,
    text: &str,
    into_task: &impl Fn(R) -> Result<Task, String>,
) -> Result<Vec<Task>, SuiteError> {
    let parsed: SuiteFile = toml::from_str(text).map_err(|e| SuiteError::Parse {
        dir,
        file: file.to_string(),
        message: e.to_string(),
    })?;
    parsed
        .task
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let label = match value.get("id").and_then(toml::Value::as_str) {
                Some(id) => id.to_string(),
                None => format!("#{} (no id)", index + 1),
            };
            let invalid = |problem: String| SuiteError::Invalid {
                dir,
                file: file.to_string(),
                task: label.clone(),
                problem,
            };
            let raw: R = value
                .try_into()
                .map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
            into_task(raw).map_err(invalid)
        })
        .collect()
}
