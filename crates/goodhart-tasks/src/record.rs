//! One JSON record of a source file with its location, so every loader reports errors the same way.

use crate::error::{Location, TaskError};
use goodhart_core::fields;
use serde_json::{Map, Value};

/// A JSON object read from a source, with where it came from.
pub(crate) struct Record<'a> {
    pub path: &'a str,
    pub at: Location,
    pub value: Map<String, Value>,
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

    /// Fails naming every field of `required` the record lacks, all at once.
    pub fn require(&self, required: &[&str]) -> Result<(), TaskError> {
        let missing: Vec<String> = required
            .iter()
            .filter(|f| self.value.get(**f).is_none())
            .map(|f| f.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(TaskError::Missing {
            path: self.path.to_string(),
            at: self.at,
            fields: missing,
        })
    }

    /// Fails on the first key of `object` (the record itself when `prefix` is empty, else the object at
    /// `prefix`) that is not in `known`, naming it and the known field it is probably a typo of: an
    /// unknown field is never dropped silently, since a misspelt `hidden` would grade on fewer cases.
    pub fn known_fields(
        &self,
        prefix: &str,
        object: &Map<String, Value>,
        what: &str,
        known: &[&str],
    ) -> Result<(), TaskError> {
        let Some((key, hint)) = fields::first_unknown(object, known) else {
            return Ok(());
        };
        Err(self.field_error(
            &join(prefix, &key),
            &format!("not a field of {what}; {hint}"),
        ))
    }

    /// Refuses a task that no grader could check: no (call, expected) case and no test statement.
    pub fn require_tests(&self, task: &goodhart_core::Task, field: &str) -> Result<(), TaskError> {
        let stdio_cases = task.stdio.as_ref().map_or(0, |io| io.cases().count());
        if task.cases().next().is_none() && task.unsplit.is_empty() && stdio_cases == 0 {
            return Err(self.field_error(
                field,
                "no test cases: a task without tests would pass any answer",
            ));
        }
        Ok(())
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

    /// A required string field that names something, so it may not be empty or blank.
    pub fn name(&self, field: &str) -> Result<String, TaskError> {
        let s = self.string(field)?;
        if s.trim().is_empty() {
            return Err(self.field_error(field, "empty: a task needs an id to be told apart"));
        }
        Ok(s)
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
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(self.field_error(field, "empty: a task needs an id to be told apart"))
            }
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

/// `prefix.field`, or `field` for the record itself.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
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
