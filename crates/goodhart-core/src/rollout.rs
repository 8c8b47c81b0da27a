use crate::fields::{nearest, CARRIED_ROLLOUT_FIELDS, GRADED_FIELDS, ROLLOUT_FIELDS};
use crate::{HackReport, Profile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a policy answered for a task: one line of rollout JSONL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub id: String,
    pub task_id: String,
    pub completion: String,
    /// Extra files the rollout brings explicitly (name → text), added to those extracted from fences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The optional fields Goodhart carries through without grading by them
    /// ([`CARRIED_ROLLOUT_FIELDS`]: `metadata`, `sample`, `task`, ...). [`Rollout::from_json`] refuses
    /// any other field; records stored by older versions, which carried every unknown field, still
    /// read back with theirs here.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Why a line of rollout JSONL is not a rollout record; every variant names the place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RolloutError {
    /// The text starts with a byte-order mark, which JSON does not allow and editors hide.
    #[error(
        "starts with a UTF-8 byte-order mark (bytes EF BB BF); save the file as UTF-8 without one"
    )]
    Bom,
    /// Not JSON at all; serde's message carries the column.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("expected a JSON object, found {0}")]
    NotObject(&'static str),
    /// Required fields are absent; each with the record's field that looks like a typo of it, if any.
    #[error("{}", missing_message(.0))]
    Missing(Vec<(String, Option<String>)>),
    /// A known field holds the wrong type.
    #[error("field `{field}`: {message}")]
    Field { field: String, message: String },
    /// A field no rollout record has; with the known field it looks like a typo of, if any.
    #[error("{}", unknown_message(.field, *.suggestion))]
    Unknown {
        field: String,
        suggestion: Option<&'static str>,
    },
}

impl RolloutError {
    /// The field the error is about, when it is about one (the first, for several missing ones).
    pub fn field(&self) -> Option<&str> {
        match self {
            RolloutError::Missing(fields) => fields.first().map(|(f, _)| f.as_str()),
            RolloutError::Field { field, .. } | RolloutError::Unknown { field, .. } => Some(field),
            RolloutError::Bom | RolloutError::Json(_) | RolloutError::NotObject(_) => None,
        }
    }
}

fn unknown_message(field: &str, suggestion: Option<&str>) -> String {
    let hint = match suggestion {
        Some(known) => format!(" (did you mean `{known}`?)"),
        None => String::new(),
    };
    format!(
        "unknown field `{field}`{hint}: a rollout record has {}, and optionally {}; free-form data goes \
         in `metadata`, an object carried through untouched",
        ["id", "task_id", "completion"].join(", "),
        ROLLOUT_FIELDS[3..]
            .iter()
            .chain(CARRIED_ROLLOUT_FIELDS)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Every field name a rollout record may have, for typo hints.
fn accepted_fields() -> Vec<&'static str> {
    ROLLOUT_FIELDS
        .iter()
        .chain(CARRIED_ROLLOUT_FIELDS)
        .chain(GRADED_FIELDS)
        .copied()
        .collect()
}

fn missing_message(fields: &[(String, Option<String>)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(field, typo)| match typo {
            Some(t) => format!("`{field}` (the record has `{t}`: a typo?)"),
            None => format!("`{field}`"),
        })
        .collect();
    let noun = if parts.len() == 1 { "field" } else { "fields" };
    format!("missing {noun} {}", parts.join(", "))
}

impl Rollout {
    /// Reads one rollout record (a line of rollout JSONL); see [`Rollout::from_value`]. A byte-order
    /// mark is named rather than reported as a JSON syntax error.
    pub fn from_json(text: &str) -> Result<Rollout, RolloutError> {
        if text.starts_with('\u{feff}') {
            return Err(RolloutError::Bom);
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RolloutError::Json(e.to_string()))?;
        Rollout::from_value(value)
    }

    /// Reads one rollout record strictly, with errors that name the field: every missing required field
    /// at once (with the record's near-miss key, so `"complection"` is pointed at), a mistyped field by
    /// name, and a field no rollout has by name with the known one it resembles (`framng`: did you mean
    /// `framing`?), so a typo cannot silently lose a value. Free-form data belongs in `metadata`. The
    /// fields grading adds ([`GRADED_FIELDS`]) are accepted and dropped, so a graded file can be graded
    /// again without carrying its old verdicts.
    pub fn from_value(value: serde_json::Value) -> Result<Rollout, RolloutError> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(RolloutError::NotObject(json_kind(&value)));
        };
        let accepted = accepted_fields();
        let unknown: Vec<&String> = map
            .keys()
            .filter(|k| !accepted.contains(&k.as_str()))
            .collect();
        let missing: Vec<(String, Option<String>)> = ["id", "task_id", "completion"]
            .into_iter()
            .filter(|f| !map.contains_key(*f))
            .map(|f| {
                let typo = unknown
                    .iter()
                    .find(|k| nearest(k, &accepted) == Some(f))
                    .map(|k| k.to_string());
                (f.to_string(), typo)
            })
            .collect();
        if !missing.is_empty() {
            return Err(RolloutError::Missing(missing));
        }
        if let Some(field) = unknown.first() {
            return Err(RolloutError::Unknown {
                field: field.to_string(),
                suggestion: nearest(field, &accepted),
            });
        }
        for field in GRADED_FIELDS {
            map.remove(*field);
        }
        for (field, value) in &map {
            check_type(field, value)?;
        }
        serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| RolloutError::Json(e.to_string()))
    }
}

/// Checks that an accepted field holds the type the contract gives it.
fn check_type(field: &str, value: &serde_json::Value) -> Result<(), RolloutError> {
    use serde_json::Value;
    let (ok, want) = match field {
        "id" | "task_id" | "completion" => (value.is_string(), "a string"),
        "reasoning" | "framing" | "model" | "finish_reason" | "data_source" => {
            (value.is_string() || value.is_null(), "a string")
        }
        "step" => (value.is_i64() || value.is_null(), "an integer"),
        "sample" => (value.is_u64() || value.is_null(), "a non-negative integer"),
        "hints" => (value.is_boolean() || value.is_null(), "a boolean"),
        "metadata" | "usage" => (value.is_object() || value.is_null(), "an object"),
        "task" => (value.is_object(), "a task object"),
        "files" => match value {
            Value::Null => (true, ""),
            Value::Object(files) => {
                if let Some((name, v)) = files.iter().find(|(_, v)| !v.is_string()) {
                    return Err(RolloutError::Field {
                        field: format!("files.{name}"),
                        message: format!("expected the file's text, found {}", json_kind(v)),
                    });
                }
                (true, "")
            }
            _ => (false, "an object of file name to text"),
        },
        _ => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(RolloutError::Field {
            field: field.to_string(),
            message: format!("expected {want}, found {}", json_kind(value)),
        })
    }
}

/// The JSON type of a value, for error messages.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Why a verdict came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// The profile's pass criterion held.
    Passed,
    /// The tests ran and some failed (or the exit code was non-zero).
    Failed,
    /// The run hit its wall or CPU limit.
    Timeout,
    /// The run hit its memory limit.
    MemoryLimit,
    /// No code could be extracted from the completion.
    NoCode,
    /// The sandbox itself failed; the verdict says nothing about the code.
    SandboxError,
}

impl VerdictStatus {
    /// The string stored in `verdicts.*.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictStatus::Passed => "passed",
            VerdictStatus::Failed => "failed",
            VerdictStatus::Timeout => "timeout",
            VerdictStatus::MemoryLimit => "memory_limit",
            VerdictStatus::NoCode => "no_code",
            VerdictStatus::SandboxError => "sandbox_error",
        }
    }
}

/// The result of one rollout under one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub tests_passed: u32,
    pub tests_total: u32,
    pub status: VerdictStatus,
    pub duration_ms: f64,
    /// Why a verdict that did not pass came out as it did; absent on passes (and in records written
    /// before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// What a failed verdict's run showed: enough to tell a broken task from a wrong answer without running
/// it again (graded records' `verdicts.PROFILE.reason`, `audit_results.detail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// How the sandbox run ended, as `goodhart sandbox run --json` names it (`ok`, `exit`, `signal`,
    /// `wall_timeout`, `cpu_limit`, `memory_limit`, `output_truncated`, `sandbox_error`), or `not_run`.
    pub run: String,
    /// The limit that ended the run or one of its cases: `cpu`, `wall`, `memory` or `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// One line saying what went wrong: the first failing case, the exception, the missing function.
    pub detail: String,
    /// The exception the failure came from, when the run shows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionInfo>,
    /// The end of the run's stderr (at most 2,000 bytes, whole lines).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
    /// What code extraction found: `fenced` (a fenced block is the solution), `unfenced` (the whole
    /// completion is), `no_code_block` (fences, but none holds the solution) or `empty`.
    pub extraction: String,
}

/// An exception a run raised: its type, where, and its message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// The exception's class name (`NameError`, `AssertionError`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The file of the innermost frame shown (`solution.py`, `test_solution.py`, `args`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The exception's message.
    pub message: String,
}

impl Verdict {
    /// A verdict whose status follows from `passed`, for graders and fixtures that only know pass/fail.
    pub fn pass_fail(
        passed: bool,
        tests_passed: u32,
        tests_total: u32,
        duration_ms: f64,
    ) -> Verdict {
        let status = if passed {
            VerdictStatus::Passed
        } else {
            VerdictStatus::Failed
        };
        Verdict {
            passed,
            tests_passed,
            tests_total,
            status,
            duration_ms,
            reason: None,
        }
    }

    /// Pass fraction, the dense reward some trainers prefer to the binary pass.
    pub fn pass_fraction(&self) -> f64 {
        if self.tests_total == 0 {
            if self.passed {
                1.0
            } else {
                0.0
            }
        } else {
            f64::from(self.tests_passed) / f64::from(self.tests_total)
        }
    }
}

/// One line of graded JSONL: the input record plus verdicts, reward and hack labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradedRollout {
    #[serde(flatten)]
    pub rollout: Rollout,
    pub verdicts: BTreeMap<Profile, Verdict>,
    /// `null` when a screening policy drops the rollout from the gradient.
    pub reward: Option<f64>,
    pub hack: HackReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_older_stored_records_survive_a_round_trip() {
        // serde (how stored records read back) stays lenient; only the reader of new input is strict.
        let line = r#"{"id":"r1","task_id":"t","completion":"x","custom":{"a":1}}"#;
        let r: Rollout = serde_json::from_str(line).unwrap();
        assert_eq!(r.extra["custom"]["a"], 1);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["custom"]["a"], 1);
        assert!(back.get("files").is_none());
    }

    #[test]
    fn unknown_fields_are_refused_by_name_and_metadata_is_carried() {
        let e =
            Rollout::from_json(r#"{"id":"r","task_id":"t","completion":"x","framng":"neutral"}"#)
                .unwrap_err();
        assert_eq!(e.field(), Some("framng"));
        assert!(
            e.to_string().starts_with(
                "unknown field `framng` (did you mean `framing`?): a rollout record has id, task_id, \
                 completion, and optionally files, reasoning, framing, step, model, metadata"
            ),
            "{e}"
        );
        assert!(
            e.to_string().contains("free-form data goes in `metadata`"),
            "{e}"
        );
        let e = Rollout::from_json(r#"{"id":"r","task_id":"t","completion":"x","run":"a7"}"#)
            .unwrap_err();
        assert!(e.to_string().starts_with("unknown field `run`: "), "{e}");
        let meta = r#"{"id":"r","task_id":"t","completion":"x","metadata":{"run":"a7","k":[1,{"z":null}]}}"#;
        let r = Rollout::from_json(meta).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap()["metadata"],
            serde_json::json!({"run": "a7", "k": [1, {"z": null}]})
        );
        let e = Rollout::from_json(r#"{"id":"r","task_id":"t","completion":"x","metadata":"a7"}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `metadata`: expected an object, found a string"
        );
    }

    #[test]
    fn graded_records_read_back_as_rollouts_without_their_old_grading() {
        let line = r#"{"id":"r","task_id":"t","completion":"x","sample":2,"verdicts":{},"reward":1.0,
                       "hack":{"attempted":false}}"#;
        let r = Rollout::from_json(line).unwrap();
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["sample"], 2);
        assert!(back.get("verdicts").is_none() && back.get("reward").is_none());
    }

    #[test]
    fn the_reader_names_missing_mistyped_and_misspelt_fields() {
        let e = Rollout::from_json(r#"{"id":"r1","taskid":"t","complection":"x"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "missing fields `task_id` (the record has `taskid`: a typo?), `completion` (the record has \
             `complection`: a typo?)"
        );
        let e = Rollout::from_json(r#"{"id":"r1","task_id":"t","completion":"x","step":"3"}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `step`: expected an integer, found a string"
        );
        let e =
            Rollout::from_json(r#"{"id":"r","task_id":"t","completion":"x","files":{"a.py":1}}"#)
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `files.a.py`: expected the file's text, found a number"
        );
        let e = Rollout::from_json("\u{feff}{}").unwrap_err();
        assert_eq!(e, RolloutError::Bom);
        assert!(matches!(
            Rollout::from_json("[1]"),
            Err(RolloutError::NotObject(_))
        ));
    }

    #[test]
    fn graded_record_has_the_contract_shape() {
        let r: Rollout =
            serde_json::from_str(r#"{"id":"r1","task_id":"t","completion":"x","step":3}"#).unwrap();
        let mut verdicts = BTreeMap::new();
        verdicts.insert(
            Profile::Hardened,
            Verdict {
                passed: false,
                tests_passed: 1,
                tests_total: 4,
                status: VerdictStatus::Failed,
                duration_ms: 2.5,
                reason: None,
            },
        );
        let g = GradedRollout {
            rollout: r,
            verdicts,
            reward: Some(0.0),
            hack: HackReport::default(),
        };
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["id"], "r1");
        assert_eq!(v["step"], 3);
        assert_eq!(v["verdicts"]["hardened"]["tests_total"], 4);
        assert_eq!(v["verdicts"]["hardened"]["status"], "failed");
        assert_eq!(v["hack"]["attempted"], false);
        assert!(v["hack"]["kinds"].as_array().unwrap().is_empty());
    }
}
