//! One JSON record of a source file with its location, so every loader reports errors the same way.

use crate::error::{Location, TaskError};
use serde_json::Value;

/// A JSON object read from a source, with where it came from.
pub(crate) struct Record<'a> {
    pub path: &'a str,
    pub at: Location,
    pub value: Value,
}

impl Record<'_> {
    /// An error about the whole record.
    pub fn error(&self, message: &str) -> TaskError {
        TaskError::Record {
            path: self.path.to_string(),
            at: self.at,
            message: message.to_string(),
        }
    }

    /// An error about one field.
    pub fn field_error(&self, field: &str, message: &str) -> TaskError {
        TaskError::Field {
            path: self.path.to_string(),
            at: self.at,
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    /// A required string field.
    pub fn string(&self, field: &str) -> Result<String, TaskError> {
        match self.value.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => {
                Err(self.field_error(field, &format!("expected a string, found {}", kind(other))))
            }
            None => Err(self.field_error(field, "missing")),
        }
    }

    /// A required list of strings.
    pub fn strings(&self, field: &str) -> Result<Vec<String>, TaskError> {
        match self.value.get(field) {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.field_error(
                        field,
                        &format!("item {i}: expected a string, found {}", kind(other)),
                    )),
                })
                .collect(),
            Some(Value::Null) | None => Ok(Vec::new()),
            Some(other) => Err(self.field_error(
                field,
                &format!("expected a list of strings, found {}", kind(other)),
            )),
        }
    }

    /// An id that may be a string or a number (MBPP uses numbers).
    pub fn id(&self, field: &str) -> Result<String, TaskError> {
        match self.value.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(self.field_error(
                field,
                &format!("expected a string or number, found {}", kind(other)),
            )),
            None => Err(self.field_error(field, "missing")),
        }
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
