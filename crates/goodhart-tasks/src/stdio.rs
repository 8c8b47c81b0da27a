//! stdin/stdout datasets: APPS / TACO `input_output`, CodeContests' test lists, LiveCodeBench's public
//! and private tests, and the case lists verl / PRIME ground truth carries without `fn_name`.
//!
//! The formats are those described (with sources) in `docs/public-graders.md` §7. Every case becomes a
//! [`IoCase`]: the whole standard input and the whole expected output. Where a format is call-based
//! (APPS with `fn_name`, LiveCodeBench `functional` tests), the cases become ordinary call cases.
//! LiveCodeBench ships its private tests compressed, sometimes as a Python pickle: this loader never
//! unpickles anything; a pickled payload is refused with the record named and the offline conversion
//! in `docs/public-graders.md` ("Converting LiveCodeBench's pickled tests") pointed to.

use crate::error::TaskError;
use crate::record::{kind, Record};
use crate::verl::python_literal;
use base64::Engine;
use goodhart_core::{IoCase, StdioTests, Task, TestCase};
use serde_json::{Map, Value};
use std::io::Read;

/// The comparator stdin/stdout tasks from public datasets get: line by line, trailing whitespace and
/// blank lines forgiven, as most judges' default checkers do.
pub(crate) const DATASET_COMPARATOR: &str = "lines";

/// A stdin/stdout task with the given cases.
pub(crate) fn stdio_task(
    id: String,
    prompt: String,
    visible: Vec<IoCase>,
    hidden: Vec<IoCase>,
    reference: String,
    tags: Vec<String>,
) -> Task {
    Task {
        id,
        prompt,
        entry_point: String::new(),
        visible: Vec::new(),
        hidden: Vec::new(),
        test_code: None,
        test_setup: None,
        unsplit: Vec::new(),
        reference,
        tags,
        stdio: Some(StdioTests {
            visible,
            hidden,
            comparator: DATASET_COMPARATOR.to_string(),
        }),
    }
}

/// One side of a case: a string, or (as the APPS harness tolerates) a list of lines joined with `\n`.
fn case_text(
    record: &Record<'_>,
    field: &str,
    i: usize,
    value: &Value,
) -> Result<String, TaskError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(lines) if lines.iter().all(Value::is_string) => Ok(lines
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")),
        other => Err(record.field_error(
            field,
            &format!(
                "item {i}: expected the whole stdin/stdout text as a string, found {}",
                kind(other)
            ),
        )),
    }
}

/// Parallel input and output lists into cases; `field` names their parent in errors.
pub(crate) fn io_cases(
    record: &Record<'_>,
    field: &str,
    inputs: Option<&Value>,
    outputs: Option<&Value>,
) -> Result<Vec<IoCase>, TaskError> {
    let list = |name: &str, v: Option<&Value>| match v {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(record.field_error(
            &format!("{field}.{name}"),
            &format!("expected a list, found {}", kind(other)),
        )),
        None => Err(record.field_error(&format!("{field}.{name}"), "missing")),
    };
    let (ins, outs) = (list("inputs", inputs)?, list("outputs", outputs)?);
    if ins.len() != outs.len() {
        return Err(record.field_error(
            field,
            &format!("{} inputs but {} outputs", ins.len(), outs.len()),
        ));
    }
    ins.iter()
        .zip(&outs)
        .enumerate()
        .map(|(i, (input, output))| {
            Ok(IoCase {
                input: case_text(record, &format!("{field}.inputs"), i, input)?,
                output: case_text(record, &format!("{field}.outputs"), i, output)?,
            })
        })
        .collect()
}

/// A JSON field that may be given as JSON text (APPS, LiveCodeBench) or as the value itself.
fn json_field(record: &Record<'_>, field: &str) -> Result<Option<Value>, TaskError> {
    match record.value.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| record.field_error(field, &format!("not valid JSON text: {e}"))),
        Some(other) => Ok(Some(other.clone())),
    }
}

/// The id a record gives under one of `fields`, or its position.
fn id_of(record: &Record<'_>, fields: &[&str], index: usize) -> Result<String, TaskError> {
    for f in fields {
        if record.value.contains_key(*f) {
            return record.id(f);
        }
    }
    Ok(index.to_string())
}

fn tag(record: &Record<'_>, source: &str) -> Vec<String> {
    let mut tags = vec![source.to_string()];
    if let Some(Value::String(d)) = record.value.get("difficulty") {
        tags.push(d.to_lowercase());
    }
    tags
}

// --- APPS / TACO ---------------------------------------------------------------------------------------

/// APPS (`codeparrot/apps`) and TACO (`BAAI/TACO`) columns.
const APPS_FIELDS: [&str; 19] = [
    "problem_id",
    "id",
    "question",
    "solutions",
    "input_output",
    "difficulty",
    "url",
    "starter_code",
    "name",
    "source",
    "tags",
    "skill_types",
    "time_limit",
    "memory_limit",
    "raw_tags",
    "date",
    "picture_num",
    "Expected Auxiliary Space",
    "Expected Time Complexity",
];

pub(crate) fn looks_apps(value: &Map<String, Value>) -> bool {
    value.contains_key("input_output")
}

/// An APPS / TACO row: `input_output` is JSON text of `{"inputs", "outputs", "fn_name"?}`; without
/// `fn_name` the cases are stdin/stdout texts, with it argument lists called on the function (converted
/// as the verl loader converts them). `solutions` (JSON text of a list of programs) gives the reference.
pub(crate) fn apps_task(record: &Record<'_>, index: usize) -> Result<Task, TaskError> {
    record.known_fields("", &record.value, "an APPS/TACO row", &APPS_FIELDS)?;
    let id = format!("apps/{}", id_of(record, &["problem_id", "id"], index)?);
    let Some(Value::Object(io)) = json_field(record, "input_output")? else {
        return Err(record.field_error(
            "input_output",
            "expected JSON text of an object with `inputs` and `outputs`",
        ));
    };
    record.known_fields(
        "input_output",
        &io,
        "APPS input_output",
        &["inputs", "outputs", "fn_name"],
    )?;
    let reference = match json_field(record, "solutions")? {
        Some(Value::Array(s)) => s.first().and_then(Value::as_str).unwrap_or("").to_string(),
        Some(other) => {
            return Err(record.field_error(
                "solutions",
                &format!("expected a list of programs, found {}", kind(&other)),
            ))
        }
        None => String::new(),
    };
    let prompt = record
        .value
        .get("question")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let task = match io.get("fn_name").and_then(Value::as_str) {
        Some(fn_name) => Task {
            id,
            prompt,
            entry_point: fn_name.to_string(),
            visible: Vec::new(),
            hidden: call_cases(record, "input_output", &io)?,
            test_code: None,
            test_setup: None,
            unsplit: Vec::new(),
            reference,
            tags: tag(record, "apps"),
            stdio: None,
        },
        None => {
            let cases = io_cases(record, "input_output", io.get("inputs"), io.get("outputs"))?;
            stdio_task(
                id,
                prompt,
                Vec::new(),
                cases,
                reference,
                tag(record, "apps"),
            )
        }
    };
    record.require_tests(&task, "input_output.inputs")?;
    Ok(task)
}

/// APPS call-based cases: each input the argument list, each output usually a one-element list.
fn call_cases(
    record: &Record<'_>,
    field: &str,
    io: &Map<String, Value>,
) -> Result<Vec<TestCase>, TaskError> {
    let (Some(Value::Array(ins)), Some(Value::Array(outs))) = (io.get("inputs"), io.get("outputs"))
    else {
        return Err(record.field_error(field, "`inputs` and `outputs` must be lists"));
    };
    if ins.len() != outs.len() {
        return Err(record.field_error(
            field,
            &format!("{} inputs but {} outputs", ins.len(), outs.len()),
        ));
    }
    Ok(ins
        .iter()
        .zip(outs)
        .map(|(input, output)| TestCase {
            args: match input {
                Value::Array(args) => args
                    .iter()
                    .map(python_literal)
                    .collect::<Vec<_>>()
                    .join(", "),
                single => python_literal(single),
            },
            expected: match output {
                Value::Array(one) if one.len() == 1 => python_literal(&one[0]),
                other => python_literal(other),
            },
            tolerance: None,
            check: Default::default(),
        })
        .collect())
}

// --- CodeContests --------------------------------------------------------------------------------------

/// `deepmind/code_contests` columns (the dataset card's features).
const CODE_CONTESTS_FIELDS: [&str; 20] = [
    "name",
    "description",
    "public_tests",
    "private_tests",
    "generated_tests",
    "source",
    "difficulty",
    "solutions",
    "incorrect_solutions",
    "cf_contest_id",
    "cf_index",
    "cf_points",
    "cf_rating",
    "cf_tags",
    "is_description_translated",
    "untranslated_description",
    "time_limit",
    "memory_limit_bytes",
    "input_file",
    "output_file",
];

/// CodeContests' language code for Python 3 in `solutions.language`.
const CODE_CONTESTS_PYTHON3: i64 = 3;

pub(crate) fn looks_code_contests(value: &Map<String, Value>) -> bool {
    value.contains_key("public_tests") || value.contains_key("private_tests")
}

/// A CodeContests row: `public_tests` are shown, `private_tests` and `generated_tests` hidden, each
/// `{"input": [...], "output": [...]}`; the first Python 3 solution is the reference.
pub(crate) fn code_contests_task(record: &Record<'_>, index: usize) -> Result<Task, TaskError> {
    record.known_fields(
        "",
        &record.value,
        "a CodeContests row",
        &CODE_CONTESTS_FIELDS,
    )?;
    let id = format!("codecontests/{}", id_of(record, &["name"], index)?);
    let tests = |field: &str| -> Result<Vec<IoCase>, TaskError> {
        match record.value.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(t)) => {
                record.known_fields(field, t, "a CodeContests test list", &["input", "output"])?;
                io_cases(record, field, t.get("input"), t.get("output"))
            }
            Some(other) => Err(record.field_error(
                field,
                &format!(
                    "expected an object with `input` and `output` lists, found {}",
                    kind(other)
                ),
            )),
        }
    };
    let visible = tests("public_tests")?;
    let mut hidden = tests("private_tests")?;
    hidden.extend(tests("generated_tests")?);
    let reference = match record.value.get("solutions") {
        Some(Value::Object(s)) => {
            let langs = s.get("language").and_then(Value::as_array);
            let code = s.get("solution").and_then(Value::as_array);
            match (langs, code) {
                (Some(langs), Some(code)) => langs
                    .iter()
                    .zip(code)
                    .find(|(l, _)| l.as_i64() == Some(CODE_CONTESTS_PYTHON3))
                    .and_then(|(_, c)| c.as_str())
                    .unwrap_or("")
                    .to_string(),
                _ => {
                    return Err(
                        record.field_error("solutions", "expected `language` and `solution` lists")
                    )
                }
            }
        }
        _ => String::new(),
    };
    let prompt = record
        .value
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let task = stdio_task(
        id,
        prompt,
        visible,
        hidden,
        reference,
        vec!["codecontests".into()],
    );
    record.require_tests(&task, "private_tests")?;
    Ok(task)
}

// --- LiveCodeBench -------------------------------------------------------------------------------------

/// `livecodebench/code_generation_lite` columns (`lcb_runner/benchmarks/code_generation.py`).
const LCB_FIELDS: [&str; 11] = [
    "question_title",
    "question_content",
    "platform",
    "question_id",
    "contest_id",
    "contest_date",
    "starter_code",
    "difficulty",
    "public_test_cases",
    "private_test_cases",
    "metadata",
];

pub(crate) fn looks_livecodebench(value: &Map<String, Value>) -> bool {
    value.contains_key("question_content") || value.contains_key("public_test_cases")
}

/// A LiveCodeBench problem: public tests shown, private hidden. `stdin` tests become stdin/stdout
/// cases; `functional` ones (newline-separated JSON arguments, a JSON result) call `metadata.func_name`.
pub(crate) fn livecodebench_task(record: &Record<'_>, index: usize) -> Result<Task, TaskError> {
    record.known_fields("", &record.value, "a LiveCodeBench problem", &LCB_FIELDS)?;
    let id = format!("livecodebench/{}", id_of(record, &["question_id"], index)?);
    let public = lcb_tests(record, "public_test_cases", false)?;
    let private = lcb_tests(record, "private_test_cases", true)?;
    let all: Vec<&Map<String, Value>> = public.iter().chain(&private).collect();
    let functional = all
        .iter()
        .filter(|t| t.get("testtype").and_then(Value::as_str) == Some("functional"))
        .count();
    let mut prompt = record
        .value
        .get("question_content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut tags = vec!["livecodebench".to_string()];
    if let Some(Value::String(d)) = record.value.get("difficulty") {
        tags.push(d.to_lowercase());
    }
    let text = |t: &Map<String, Value>, k: &str| {
        t.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    let task = if functional == 0 {
        let io = |tests: &[Map<String, Value>]| -> Vec<IoCase> {
            tests
                .iter()
                .map(|t| IoCase {
                    input: text(t, "input"),
                    output: text(t, "output"),
                })
                .collect()
        };
        stdio_task(id, prompt, io(&public), io(&private), String::new(), tags)
    } else if functional == all.len() {
        let metadata = json_field(record, "metadata")?;
        let Some(fn_name) = metadata
            .as_ref()
            .and_then(|m| m.get("func_name"))
            .and_then(Value::as_str)
        else {
            return Err(record.field_error(
                "metadata",
                "functional tests need `func_name` in the metadata",
            ));
        };
        if let Some(Value::String(starter)) = record.value.get("starter_code") {
            prompt = format!("{prompt}\n\n{starter}");
        }
        let calls =
            |field: &str, tests: &[Map<String, Value>]| -> Result<Vec<TestCase>, TaskError> {
                tests
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        lcb_call(
                            record,
                            &format!("{field}[{i}]"),
                            &text(t, "input"),
                            &text(t, "output"),
                        )
                    })
                    .collect()
            };
        Task {
            id,
            prompt,
            entry_point: fn_name.to_string(),
            visible: calls("public_test_cases", &public)?,
            hidden: calls("private_test_cases", &private)?,
            test_code: None,
            test_setup: None,
            unsplit: Vec::new(),
            reference: String::new(),
            tags,
            stdio: None,
        }
    } else {
        return Err(record.field_error(
            "public_test_cases",
            "mixes `stdin` and `functional` tests; a task is one or the other",
        ));
    };
    record.require_tests(&task, "private_test_cases")?;
    Ok(task)
}

/// One functional test as a call case: each input line is a JSON argument, the output a JSON value.
fn lcb_call(
    record: &Record<'_>,
    field: &str,
    input: &str,
    output: &str,
) -> Result<TestCase, TaskError> {
    let args = input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .map(|v| python_literal(&v))
                .map_err(|e| record.field_error(field, &format!("input line is not JSON: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let expected = serde_json::from_str::<Value>(output)
        .map(|v| python_literal(&v))
        .map_err(|e| record.field_error(field, &format!("output is not JSON: {e}")))?;
    Ok(TestCase {
        args,
        expected,
        tolerance: None,
        check: Default::default(),
    })
}

/// A LiveCodeBench test list: JSON text of `[{"input", "output", "testtype"}]`, or for private tests
/// the compressed form (standard base64 of zlib of the same JSON text). A pickled payload is refused.
fn lcb_tests(
    record: &Record<'_>,
    field: &str,
    compressed: bool,
) -> Result<Vec<Map<String, Value>>, TaskError> {
    let text = match record.value.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => Value::Array(items.clone()).to_string(),
        Some(other) => {
            return Err(record.field_error(
                field,
                &format!(
                    "expected JSON text of a list of tests, found {}",
                    kind(other)
                ),
            ))
        }
    };
    let list: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) if !compressed => {
            return Err(record.field_error(field, &format!("not valid JSON text: {e}")))
        }
        Err(_) => decompress_lcb(record, field, &text)?,
    };
    let Value::Array(items) = list else {
        return Err(record.field_error(
            field,
            &format!("expected a list of tests, found {}", kind(&list)),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, t)| match t {
            Value::Object(t) => {
                record.known_fields(
                    &format!("{field}[{i}]"),
                    &t,
                    "a LiveCodeBench test",
                    &["input", "output", "testtype"],
                )?;
                for k in ["input", "output"] {
                    if !t.get(k).is_some_and(Value::is_string) {
                        return Err(record
                            .field_error(&format!("{field}[{i}].{k}"), "missing or not a string"));
                    }
                }
                Ok(t)
            }
            other => Err(record.field_error(
                &format!("{field}[{i}]"),
                &format!("expected a test object, found {}", kind(&other)),
            )),
        })
        .collect()
}

/// base64 → zlib → JSON text. A payload that is a Python pickle (it starts with the PROTO opcode
/// `0x80`, or is not UTF-8) is refused: unpickling runs arbitrary code.
fn decompress_lcb(record: &Record<'_>, field: &str, text: &str) -> Result<Value, TaskError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| {
            record.field_error(
                field,
                &format!("neither JSON text nor base64 (LiveCodeBench's compressed form): {e}"),
            )
        })?;
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(bytes.as_slice())
        .read_to_end(&mut raw)
        .map_err(|e| {
            record.field_error(field, &format!("base64 decoded, but not zlib data: {e}"))
        })?;
    let refuse = || {
        record.field_error(
            field,
            "the decompressed tests are a Python pickle; Goodhart never unpickles (it can run code). \
             Convert the file offline first: see docs/public-graders.md, \"Converting LiveCodeBench's \
             pickled tests\"",
        )
    };
    if raw.first() == Some(&0x80) {
        return Err(refuse());
    }
    let text = String::from_utf8(raw).map_err(|_| refuse())?;
    serde_json::from_str(&text)
        .map_err(|e| record.field_error(field, &format!("decompressed, but not JSON text: {e}")))
}
