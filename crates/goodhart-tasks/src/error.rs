//! Errors that name the file, the record and the field, so a user can fix a dataset without a debugger.

use std::fmt;

/// Where in a source a record sits: a 1-based line of a JSONL file or an element of a JSON array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a JSONL file.
    Line(usize),
    /// 0-based element of a top-level JSON array.
    Element(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Element(n) => write!(f, "element {n}"),
        }
    }
}

fn missing(fields: &[String]) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    match names.as_slice() {
        [one] => format!("field {one}: missing"),
        many => format!("fields {}: missing", many.join(", ")),
    }
}

/// Why a task source could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The file could not be read or decompressed.
    #[error("{path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    /// A record is not valid JSON or not the shape its format needs.
    #[error("{path}: {at}: {message}")]
    Record {
        path: String,
        at: Location,
        message: String,
    },
    /// A field is missing or has the wrong type or content.
    #[error("{path}: {at}: field `{field}`: {message}")]
    Field {
        path: String,
        at: Location,
        field: String,
        message: String,
    },
    /// Required fields are absent; all of them are named at once.
    #[error("{path}: {at}: {}", missing(.fields))]
    Missing {
        path: String,
        at: Location,
        fields: Vec<String>,
    },
    /// Two tasks share an id, so results could not be told apart.
    #[error("{path}: {at}: duplicate task id `{id}` (first seen at {first})")]
    Duplicate {
        path: String,
        at: Location,
        id: String,
        first: Location,
    },
    /// The file is not a task format this crate knows.
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    /// The bundled suite failed to build (a bug in the suite, not in the user's input).
    #[error("bundled suite: {0}")]
    Bundled(String),
}
