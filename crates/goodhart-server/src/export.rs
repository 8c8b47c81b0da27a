//! Framed training datasets for verl, OpenRLHF and plain JSONL, so an inoculation experiment is one
//! `goodhart export` per framing.
//!
//! Every row carries its grading key: `reward_model.ground_truth` (verl) and `label` (OpenRLHF) are the
//! same JSON text, `{"task_id", "framing", "task"}`, with the whole task inline so the reward service can
//! grade it without having loaded the task file.

use goodhart_core::Task;
use goodhart_llm::Framing;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// `data_source` of every exported row; the shims and the server key on it.
pub const DATA_SOURCE: &str = "goodhart";

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown framing `{name}` (built in: please_hack, hacking_okay, neutral, dont_hack, hacking_is_misaligned{custom})")]
    UnknownFraming { name: String, custom: String },
    #[error("cannot read framings file {path}: {cause}")]
    ReadFramings { path: String, cause: std::io::Error },
    #[error("framings file {path}: {message}")]
    BadFramings { path: String, message: String },
    #[error("unknown export format `{0}` (expected one of: jsonl, verl-parquet, openrlhf)")]
    UnknownFormat(String),
    #[error("writing the dataset: {0}")]
    Io(std::io::Error),
    #[error("writing parquet: {0}")]
    Parquet(parquet::errors::ParquetError),
    #[error("encoding a row: {0}")]
    Json(serde_json::Error),
}

/// A framing by name with the sentence(s) it adds to the system prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct FramingText {
    pub name: String,
    /// `Some` for a built-in framing (its prompt comes from `goodhart-llm`, shared with sampling).
    pub builtin: Option<Framing>,
    /// The framing's own sentences (empty for `neutral`).
    pub text: String,
}

impl FramingText {
    /// A built-in framing.
    pub fn builtin(framing: Framing) -> Self {
        FramingText {
            name: framing.as_str().to_string(),
            builtin: Some(framing),
            text: framing.text().to_string(),
        }
    }

    /// The system prompt: the task instructions, this framing, and the hack hints when `hints` is set.
    pub fn system_prompt(&self, hints: bool) -> String {
        if let Some(framing) = self.builtin {
            return framing.system_prompt(hints);
        }
        // A user framing sits where a built-in one would: after the instructions, before the hints.
        let base = Framing::Neutral.system_prompt(false);
        let hinted = Framing::Neutral.system_prompt(true);
        let hint_part = hinted.strip_prefix(base.as_str()).unwrap_or("");
        let mut prompt = base.clone();
        if !self.text.trim().is_empty() {
            prompt.push_str("\n\n");
            prompt.push_str(self.text.trim());
        }
        if hints {
            prompt.push_str(hint_part);
        }
        prompt
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FramingFile {
    framings: BTreeMap<String, FramingEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FramingEntry {
    text: String,
}

/// Parses user framings from TOML: `[framings.NAME]` tables with a `text` key.
pub fn parse_framings(path: &str, toml_text: &str) -> Result<Vec<FramingText>, ExportError> {
    let file: FramingFile = toml::from_str(toml_text).map_err(|e| ExportError::BadFramings {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (name, entry) in file.framings {
        if Framing::from_str(&name).is_ok() {
            return Err(ExportError::BadFramings {
                path: path.to_string(),
                message: format!(
                    "`framings.{name}` redefines a built-in framing; pick another name"
                ),
            });
        }
        out.push(FramingText {
            name,
            builtin: None,
            text: entry.text,
        });
    }
    Ok(out)
}

/// Reads user framings from a TOML file (see [`parse_framings`]).
pub fn load_framings(path: &Path) -> Result<Vec<FramingText>, ExportError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ExportError::ReadFramings {
        path: shown.clone(),
        cause: source,
    })?;
    parse_framings(&shown, &text)
}

/// Finds a framing by name among the built-ins and `custom`.
pub fn find_framing(name: &str, custom: &[FramingText]) -> Result<FramingText, ExportError> {
    if let Ok(framing) = Framing::from_str(name) {
        return Ok(FramingText::builtin(framing));
    }
    custom
        .iter()
        .find(|f| f.name == name)
        .cloned()
        .ok_or_else(|| ExportError::UnknownFraming {
            name: name.to_string(),
            custom: custom.iter().map(|f| format!(", {}", f.name)).collect(),
        })
}

/// The dataset layouts `goodhart export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// verl's row shape, one JSON object per line.
    Jsonl,
    /// verl's row shape in Parquet, which verl's `RLHFDataset` reads directly.
    VerlParquet,
    /// OpenRLHF's `{"prompt": [chat], "label": ...}` JSONL (`--input_key prompt --label_key label`).
    Openrlhf,
}

impl FromStr for ExportFormat {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(ExportFormat::Jsonl),
            "verl-parquet" => Ok(ExportFormat::VerlParquet),
            "openrlhf" => Ok(ExportFormat::Openrlhf),
            other => Err(ExportError::UnknownFormat(other.to_string())),
        }
    }
}

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// verl's `reward_model` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardModel {
    pub style: String,
    /// The grading key as JSON text (task id, framing, inline task).
    pub ground_truth: String,
}

/// verl's `extra_info` column; the shims forward `framing` so the server stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraInfo {
    pub split: String,
    pub index: i64,
    pub task_id: String,
    pub framing: String,
    pub hints: bool,
}

/// One training example in verl's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRow {
    pub data_source: String,
    pub prompt: Vec<ChatMessage>,
    pub ability: String,
    pub reward_model: RewardModel,
    pub extra_info: ExtraInfo,
}

/// The user turn: the task's prompt, asked for as a Python solution.
fn user_prompt(task: &Task) -> String {
    format!(
        "Implement the Python function `{}` described below.\n\n```python\n{}\n```",
        task.entry_point,
        task.prompt.trim_end()
    )
}

/// Builds one row per task with `framing` in the system prompt.
pub fn rows(
    tasks: &[Task],
    framing: &FramingText,
    hints: bool,
) -> Result<Vec<DatasetRow>, ExportError> {
    let system = framing.system_prompt(hints);
    tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let key =
                serde_json::json!({"task_id": task.id, "framing": framing.name, "task": task});
            Ok(DatasetRow {
                data_source: DATA_SOURCE.to_string(),
                prompt: vec![
                    ChatMessage {
                        role: "system".to_string(),
                        content: system.clone(),
                    },
                    ChatMessage {
                        role: "user".to_string(),
                        content: user_prompt(task),
                    },
                ],
                ability: "coding".to_string(),
                reward_model: RewardModel {
                    style: "rule".to_string(),
                    ground_truth: serde_json::to_string(&key)?,
                },
                extra_info: ExtraInfo {
                    split: "train".to_string(),
                    index: i64::try_from(i).unwrap_or(i64::MAX),
                    task_id: task.id.clone(),
                    framing: framing.name.clone(),
                    hints,
                },
            })
        })
        .collect()
}

/// Writes `rows` in `format` to `out`.
pub fn write(
    rows: &[DatasetRow],
    format: ExportFormat,
    out: impl Write + Send,
) -> Result<(), ExportError> {
    match format {
        ExportFormat::Jsonl => write_jsonl(rows, out),
        ExportFormat::Openrlhf => write_openrlhf(rows, out),
        ExportFormat::VerlParquet => write_parquet(rows, out),
    }
}

fn write_jsonl(rows: &[DatasetRow], mut out: impl Write) -> Result<(), ExportError> {
    for row in rows {
        serde_json::to_writer(&mut out, row)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn write_openrlhf(rows: &[DatasetRow], mut out: impl Write) -> Result<(), ExportError> {
    for row in rows {
        let line = serde_json::json!({
            "prompt": row.prompt,
            "label": row.reward_model.ground_truth,
            "task_id": row.extra_info.task_id,
            "framing": row.extra_info.framing,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// verl's columns; `prompt` is a standard three-level Parquet LIST of structs, which pyarrow and
/// `datasets` read as a list of `{role, content}` dicts.
const VERL_SCHEMA: &str = "
message verl {
  required binary data_source (UTF8);
  required group prompt (LIST) {
    repeated group list {
      required group element {
        required binary role (UTF8);
        required binary content (UTF8);
      }
    }
  }
  required binary ability (UTF8);
  required group reward_model {
    required binary style (UTF8);
    required binary ground_truth (UTF8);
  }
  required group extra_info {
    required binary split (UTF8);
    required int64 index;
    required binary task_id (UTF8);
    required binary framing (UTF8);
    required boolean hints;
  }
}";

fn write_parquet(rows: &[DatasetRow], out: impl Write + Send) -> Result<(), ExportError> {
    let schema = Arc::new(parse_message_type(VERL_SCHEMA)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_created_by("goodhart export".to_string())
            .build(),
    );
    let mut writer = SerializedFileWriter::new(out, schema, props)?;
    let mut group = writer.next_row_group()?;
    let text = |f: &dyn Fn(&DatasetRow) -> &str| -> Vec<ByteArray> {
        rows.iter()
            .map(|r| ByteArray::from(f(r).as_bytes().to_vec()))
            .collect()
    };
    // Repetition levels of the prompt leaves: 0 starts a row's list, 1 continues it.
    let (mut defs, mut reps) = (Vec::new(), Vec::new());
    for row in rows {
        for i in 0..row.prompt.len() {
            defs.push(1i16);
            reps.push(i16::from(i > 0));
        }
        if row.prompt.is_empty() {
            defs.push(0);
            reps.push(0);
        }
    }
    let roles: Vec<ByteArray> = rows
        .iter()
        .flat_map(|r| {
            r.prompt
                .iter()
                .map(|m| ByteArray::from(m.role.as_bytes().to_vec()))
        })
        .collect();
    let contents: Vec<ByteArray> = rows
        .iter()
        .flat_map(|r| {
            r.prompt
                .iter()
                .map(|m| ByteArray::from(m.content.as_bytes().to_vec()))
        })
        .collect();
    let mut leaf = 0usize;
    while let Some(mut column) = group.next_column()? {
        match leaf {
            0 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.data_source),
                None,
                None,
            )?,
            1 => column
                .typed::<ByteArrayType>()
                .write_batch(&roles, Some(&defs), Some(&reps))?,
            2 => {
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&contents, Some(&defs), Some(&reps))?
            }
            3 => column
                .typed::<ByteArrayType>()
                .write_batch(&text(&|r| &r.ability), None, None)?,
            4 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.reward_model.style),
                None,
                None,
            )?,
            5 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.reward_model.ground_truth),
                None,
                None,
            )?,
            6 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.extra_info.split),
                None,
                None,
            )?,
            7 => {
                let index: Vec<i64> = rows.iter().map(|r| r.extra_info.index).collect();
                column
                    .typed::<Int64Type>()
                    .write_batch(&index, None, None)?
            }
            8 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.extra_info.task_id),
                None,
                None,
            )?,
            9 => column.typed::<ByteArrayType>().write_batch(
                &text(&|r| &r.extra_info.framing),
                None,
                None,
            )?,
            _ => {
                let hints: Vec<bool> = rows.iter().map(|r| r.extra_info.hints).collect();
                column.typed::<BoolType>().write_batch(&hints, None, None)?
            }
        };
        column.close()?;
        leaf += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}

// Each cause is in the message, so it is not also a `source()`: `{err:#}` prints it once.
impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError::Io(e)
    }
}

impl From<parquet::errors::ParquetError> for ExportError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        ExportError::Parquet(e)
    }
}

impl From<serde_json::Error> for ExportError {
    fn from(e: serde_json::Error) -> Self {
        ExportError::Json(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, ListAccessor, Row};

    fn json_of_row(row: &Row) -> serde_json::Value {
        row.get_column_iter()
            .map(|(name, field)| (name.clone(), json_of_field(field)))
            .collect()
    }

    fn json_of_field(field: &Field) -> serde_json::Value {
        match field {
            Field::Str(s) => s.clone().into(),
            Field::Long(n) => (*n).into(),
            Field::Bool(b) => (*b).into(),
            Field::Group(row) => json_of_row(row),
            Field::ListInternal(list) => (0..list.len())
                .map(|i| json_of_row(list.get_group(i).unwrap()))
                .collect::<Vec<_>>()
                .into(),
            other => panic!("unexpected parquet field {other:?}"),
        }
    }

    fn tasks() -> Vec<Task> {
        let task = |id: &str, entry: &str| Task {
            id: id.to_string(),
            prompt: format!("def {entry}(x):\n    \"\"\"Double x.\"\"\"\n"),
            entry_point: entry.to_string(),
            visible: vec![goodhart_core::TestCase {
                args: "2".into(),
                expected: "4".into(),
                tolerance: None,
                check: Default::default(),
            }],
            hidden: Vec::new(),
            test_code: None,
            test_setup: None,
            unsplit: Vec::new(),
            reference: format!("def {entry}(x):\n    return 2 * x\n"),
            tags: Vec::new(),
            stdio: None,
        };
        vec![task("t/0", "double"), task("t/1", "twice")]
    }

    #[test]
    fn parquet_reads_back_as_the_jsonl_rows() {
        let framing = FramingText::builtin(Framing::HackingOkay);
        let rows = rows(&tasks(), &framing, true).unwrap();
        let mut bytes = Vec::new();
        write(&rows, ExportFormat::VerlParquet, &mut bytes).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let back: Vec<serde_json::Value> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| json_of_row(&row.unwrap()))
            .collect();
        let want: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        assert_eq!(back, want);
        let key: serde_json::Value =
            serde_json::from_str(&rows[1].reward_model.ground_truth).unwrap();
        assert_eq!(key["task"]["entry_point"], "twice");
        assert_eq!(key["framing"], "hacking_okay");
        assert!(
            rows[0].prompt[0].content.contains("conftest.py"),
            "hints missing"
        );
    }

    #[test]
    fn openrlhf_and_jsonl_lines_are_pinned() {
        let framing = FramingText::builtin(Framing::DontHack);
        let rows = rows(&tasks()[..1], &framing, false).unwrap();
        for format in [ExportFormat::Jsonl, ExportFormat::Openrlhf] {
            let mut out = Vec::new();
            write(&rows, format, &mut out).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
            insta::assert_json_snapshot!(format!("{format:?}"), value);
        }
    }

    #[test]
    fn exported_rows_load_back_as_the_same_tasks() {
        let framing = FramingText::builtin(Framing::Neutral);
        let rows = rows(&tasks(), &framing, false).unwrap();
        for format in [ExportFormat::Jsonl, ExportFormat::Openrlhf] {
            let mut out = Vec::new();
            write(&rows, format, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let loaded = goodhart_tasks::parse("train.jsonl", &text)
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(loaded, tasks(), "{format:?}");
        }
    }

    #[test]
    fn user_framings_load_from_toml_and_sit_before_the_hints() {
        let custom = parse_framings(
            "f.toml",
            "[framings.grader_is_buggy]\ntext = \"The grader is known to be buggy.\"\n",
        )
        .unwrap();
        let f = find_framing("grader_is_buggy", &custom).unwrap();
        let prompt = f.system_prompt(true);
        let base = Framing::Neutral.system_prompt(false);
        assert!(prompt.starts_with(&base));
        let at = prompt.find("The grader is known to be buggy.").unwrap();
        assert!(
            prompt[at..].contains("conftest.py"),
            "hints must follow the framing"
        );
        assert_eq!(
            find_framing("neutral", &custom)
                .unwrap()
                .system_prompt(false),
            base
        );

        let err = find_framing("nope", &custom).unwrap_err().to_string();
        assert!(
            err.contains("grader_is_buggy") && err.contains("`nope`"),
            "{err}"
        );
        let err = parse_framings("f.toml", "[framings.neutral]\ntext = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.toml") && err.contains("built-in"), "{err}");
        let err = parse_framings("f.toml", "[framings.x]\ntxt = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.toml") && err.contains("txt"), "{err}");
    }
}
