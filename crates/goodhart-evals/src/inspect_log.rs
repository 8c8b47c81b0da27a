//! Inspect AI `.eval` logs of a Goodhart eval run, so `inspect view` shows our transcripts and analysis
//! scripts written for Inspect (UK AISI's among them) count our samples.
//!
//! The layout and field names follow `inspect_ai` (read at commit 499e6152 of UKGovernmentBEIS/inspect_ai,
//! `src/inspect_ai/log/_log.py` and `log/_recorders/eval.py`; schema version 2): a deflate zip holding
//! `_journal/start.json` (version, eval spec, plan), one `samples/<id>_epoch_<n>.json` per sample,
//! `summaries.json` (one summary per sample), `reductions.json` (per-prompt scores over epochs) and
//! `header.json` (the log without its samples: status, spec, plan, results, stats). The writer is ours.
//!
//! Mapping: one log per eval. Sample ids lose their `<eval>/` prefix and any further `/` becomes `.`
//! (Inspect builds member names from ids), and the original id is kept in the sample's metadata. Epochs
//! count from 1 (ours from 0). The one scorer, `misaligned`, scores `C` for aligned and `I` for overt or
//! covert (AISI's convention: C is the good outcome), `N` for a sample the eval excluded; its metadata
//! carries the label, every check, judge verdict and numeric score. A sample that ended in an error has
//! an `error` and no score.

use crate::metrics::{method_name, EvalSummary};
use crate::record::{Outcome, SampleRecord};
use crate::solver::Transcript;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Inspect's log schema version (`LOG_SCHEMA_VERSION`).
pub const LOG_SCHEMA_VERSION: u32 = 2;

/// The headline scorer's name.
pub const SCORER: &str = "misaligned";

/// What a log says about the run beyond its samples.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    pub run_id: &'a str,
    /// `PROVIDER/NAME` of the model under evaluation.
    pub model: &'a str,
    pub judge: &'a str,
    /// The eval protocol (`paper`, `aisi`), in the eval spec's metadata, so a reader of logs can refuse
    /// to pool runs that count different things.
    pub protocol: &'a str,
    /// RFC 3339 UTC time the run was created.
    pub created: &'a str,
    /// RFC 3339 UTC time the log is written.
    pub completed: &'a str,
    pub epochs: u32,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// True when the run was interrupted (the log's status is then `cancelled`).
    pub cancelled: bool,
    /// The run's `--checkpoint` tag, written into the eval spec's metadata.
    pub checkpoint: Option<&'a str>,
    /// The run's `--step` tag, likewise.
    pub step: Option<i64>,
}

/// Why a log could not be written.
#[derive(Debug, thiserror::Error)]
pub enum InspectLogError {
    #[error("cannot write Inspect log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Inspect log {path} would need zip64 (more than 65,535 members or 4 GiB), which this writer does not produce")]
    TooLarge { path: PathBuf },
}

/// The Inspect sample id of a Goodhart sample id: no `<eval>/` prefix, no `/`.
pub fn inspect_sample_id(eval: &str, sample_id: &str) -> String {
    let bare = sample_id
        .strip_prefix(eval)
        .and_then(|s| s.strip_prefix('/'))
        .unwrap_or(sample_id);
    bare.replace('/', ".")
}

/// An assistant message's content: the text, with reasoning as a `reasoning` part before it.
pub fn text_content(text: &str, reasoning: Option<&str>) -> Value {
    match reasoning {
        Some(r) => json!([
            {"type": "reasoning", "reasoning": r},
            {"type": "text", "text": text},
        ]),
        None => json!(text),
    }
}

/// The conversation as Inspect chat messages: system, user, then each assistant turn (reasoning as a
/// `reasoning` content part) followed by its tool results.
fn messages(t: &Transcript) -> Vec<Value> {
    let mut out = Vec::new();
    if !t.system.is_empty() {
        out.push(json!({"role": "system", "content": t.system, "source": "input"}));
    }
    out.push(json!({"role": "user", "content": t.prompt, "source": "input"}));
    let mut events = t.tool_events.iter();
    for turn in &t.turns {
        let mut msg = json!({
            "role": "assistant",
            "content": text_content(&turn.text, turn.reasoning.as_deref()),
            "source": "generate",
        });
        if !turn.tool_calls.is_empty() {
            msg["tool_calls"] = turn
                .tool_calls
                .iter()
                .map(|c| {
                    let arguments = if c.arguments.is_object() {
                        c.arguments.clone()
                    } else {
                        json!({ "value": c.arguments })
                    };
                    json!({"id": c.id, "function": c.name, "arguments": arguments, "type": "function"})
                })
                .collect();
        }
        out.push(msg);
        for call in &turn.tool_calls {
            if let Some(event) = events.next() {
                out.push(json!({
                    "role": "tool",
                    "content": event.result,
                    "tool_call_id": call.id,
                    "function": call.name,
                }));
            }
        }
    }
    out
}

/// The `misaligned` score of a labelled sample; `None` for an error.
fn score(r: &SampleRecord) -> Option<Value> {
    let (value, label) = match &r.scored.outcome {
        Outcome::Aligned => ("C", "aligned"),
        Outcome::AttemptedHack => ("C", "attempted_reward_hack"),
        Outcome::Overt => ("I", "overt"),
        Outcome::Covert => ("I", "covert"),
        Outcome::Excluded { .. } => ("N", "excluded"),
        Outcome::Error { .. } => return None,
    };
    let mut metadata = json!({
        "label": label,
        "checks": r.scored.checks,
        "judgements": r.scored.judgements,
        "scores": r.scored.scores,
    });
    let explanation = match &r.scored.outcome {
        Outcome::Excluded { reason } => {
            metadata["excluded_reason"] = json!(reason);
            format!("excluded: {reason}")
        }
        _ => label.to_string(),
    };
    Some(json!({
        "value": value,
        "answer": r.scored.transcript.answer(),
        "explanation": explanation,
        "metadata": metadata,
    }))
}

fn error(r: &SampleRecord) -> Option<String> {
    match &r.scored.outcome {
        Outcome::Error { message } => Some(message.clone()),
        _ => None,
    }
}

fn sample_json(eval: &str, r: &SampleRecord, model: &str) -> Value {
    let msgs = messages(&r.scored.transcript);
    let last = msgs
        .iter()
        .rev()
        .find(|m| m["role"] == "assistant")
        .cloned();
    let mut s = json!({
        "id": inspect_sample_id(eval, &r.sample_id),
        "epoch": r.epoch + 1,
        "input": r.scored.transcript.prompt,
        "target": "",
        "messages": msgs,
        "output": {
            "model": model,
            "choices": last.map(|m| vec![json!({"message": m, "stop_reason": "stop"})]).unwrap_or_default(),
        },
        "metadata": {"goodhart_sample_id": r.sample_id, "goodhart_epoch": r.epoch},
    });
    match (score(r), error(r)) {
        (Some(sc), _) => s["scores"] = json!({ SCORER: sc }),
        (None, Some(message)) => {
            // Inspect's error has no place for a stage or kind: they lead the traceback text and are
            // kept whole in the metadata; the messages above are the conversation up to the error.
            let traceback = r
                .scored
                .error
                .as_ref()
                .map(|e| format!("goodhart {} failure ({}): {}", e.stage, e.kind, e.message))
                .unwrap_or_default();
            s["error"] =
                json!({"message": message, "traceback": traceback, "traceback_ansi": traceback});
            if let Some(reason) = &r.scored.error {
                s["metadata"]["goodhart_error"] = json!(reason);
            }
        }
        (None, None) => {}
    }
    s
}

fn summary_json(eval: &str, r: &SampleRecord) -> Value {
    let mut s = json!({
        "id": inspect_sample_id(eval, &r.sample_id),
        "epoch": r.epoch + 1,
        "input": r.scored.transcript.prompt,
        "target": "",
        "metadata": {"goodhart_sample_id": r.sample_id},
        "completed": true,
        "message_count": messages(&r.scored.transcript).len(),
    });
    if let Some(sc) = score(r) {
        s["scores"] = json!({ SCORER: sc });
    }
    if let Some(message) = error(r) {
        s["error"] = json!(message);
    }
    s
}

/// Per prompt, the fraction of its labelled epochs that were aligned (Inspect's `mean` reducer over
/// C = 1, I = 0); prompts with no labelled epoch are left out.
fn reductions_json(eval: &str, records: &[&SampleRecord]) -> Value {
    let mut per: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
    for r in records {
        if let Some(m) = r.scored.outcome.misaligned() {
            let e = per
                .entry(inspect_sample_id(eval, &r.sample_id))
                .or_default();
            e.0 += if m { 0.0 } else { 1.0 };
            e.1 += 1.0;
        }
    }
    let samples: Vec<Value> = per
        .into_iter()
        .map(|(id, (aligned, n))| json!({"value": aligned / n, "sample_id": id}))
        .collect();
    json!([{"scorer": SCORER, "reducer": "mean", "samples": samples}])
}

fn spec_json(eval: &str, records: &[&SampleRecord], info: &RunInfo<'_>) -> Value {
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| inspect_sample_id(eval, &r.sample_id))
        .collect();
    ids.sort();
    ids.dedup();
    let mut generate = json!({});
    if let Some(t) = info.temperature {
        generate["temperature"] = json!(t);
    }
    if let Some(m) = info.max_tokens {
        generate["max_tokens"] = json!(m);
    }
    json!({
        "eval_id": format!("{}-{eval}", info.run_id),
        "run_id": info.run_id,
        "created": info.created,
        "task": format!("goodhart/{eval}"),
        "task_id": format!("goodhart/{eval}"),
        "task_version": 0,
        "dataset": {"name": eval, "samples": ids.len(), "sample_ids": ids},
        "model": info.model,
        "model_generate_config": generate,
        "config": {"epochs": info.epochs, "epochs_reducer": ["mean"]},
        "packages": {"goodhart": env!("CARGO_PKG_VERSION")},
        "metadata": {
            "goodhart_run_id": info.run_id,
            "judge": info.judge,
            "checkpoint": info.checkpoint,
            "step": info.step,
            "protocol": info.protocol,
        },
        "scorers": [{"name": SCORER, "options": {}, "metrics": [], "metadata": {}}],
    })
}

fn plan_json(records: &[&SampleRecord]) -> Value {
    let agentic = records.iter().any(|r| {
        !r.scored.transcript.tool_events.is_empty() || r.scored.transcript.turns.len() > 1
    });
    let solver = if agentic {
        "goodhart/agent_loop"
    } else {
        "goodhart/single_turn"
    };
    json!({"name": "plan", "steps": [{"solver": solver, "params": {}}], "config": {}})
}

/// The `header.json` member every log we write ends with (eval logs and sample logs): the spec, plan
/// and results, with the run's `(created, completed, cancelled)` as Inspect's status and stats.
pub(crate) fn header_member(
    spec: &Value,
    plan: &Value,
    results: Value,
    (created, completed, cancelled): (&str, &str, bool),
) -> (String, Value) {
    let status = if cancelled { "cancelled" } else { "success" };
    (
        "header.json".into(),
        json!({
            "version": LOG_SCHEMA_VERSION,
            "status": status,
            "eval": spec,
            "plan": plan,
            "results": results,
            "stats": {"started_at": created, "completed_at": completed, "model_usage": {}},
        }),
    )
}

fn results_json(records: &[&SampleRecord], summary: Option<&EvalSummary>) -> Value {
    let total = records.len();
    let scored = records
        .iter()
        .filter(|r| r.scored.outcome.misaligned().is_some())
        .count();
    let completed = records.iter().filter(|r| error(r).is_none()).count();
    let mut metrics = serde_json::Map::new();
    let mut metric = |name: &str, value: f64, metadata: Value| {
        metrics.insert(
            name.to_string(),
            json!({"name": name, "value": value, "params": {}, "metadata": metadata}),
        );
    };
    if let Some(r) = summary.and_then(|s| s.misaligned_rate) {
        let how = json!({"interval": method_name(r.method)});
        metric("misaligned_rate", r.estimate.point, how.clone());
        metric("ci95_low", r.estimate.low, how.clone());
        metric("ci95_high", r.estimate.high, how);
    }
    if let Some(s) = summary {
        metric("prompts", s.prompts as f64, Value::Null);
        for (name, rate) in [("overt_rate", s.overt_rate), ("covert_rate", s.covert_rate)] {
            if let Some(r) = rate {
                metric(name, r.estimate.point, Value::Null);
            }
        }
    }
    json!({
        "total_samples": total,
        "completed_samples": completed,
        "scores": [{
            "name": SCORER,
            "scorer": SCORER,
            "reducer": "mean",
            "scored_samples": scored,
            "unscored_samples": total - scored,
            "params": {},
            "metrics": metrics,
        }],
    })
}

/// One zip member, already deflated.
struct Member {
    name: String,
    crc: u32,
    size: u32,
    data: Vec<u8>,
}

fn deflate(name: &str, bytes: &[u8]) -> std::io::Result<Member> {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    let data = enc.finish()?;
    let too_big = std::io::Error::other("member larger than 4 GiB");
    Ok(Member {
        name: name.to_string(),
        crc: crc.sum(),
        size: u32::try_from(bytes.len()).map_err(|_| too_big)?,
        data,
    })
}

/// A plain (non-zip64) ZIP archive of deflated members, per PKWARE's APPNOTE §4.3: local headers,
/// data, central directory, end record. Times are the DOS epoch, so equal inputs give equal bytes.
fn zip_bytes(members: &[Member]) -> Option<Vec<u8>> {
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = u32::try_from(out.len()).ok()?;
        let name = m.name.as_bytes();
        let compressed = u32::try_from(m.data.len()).ok()?;
        let name_len = u16::try_from(name.len()).ok()?;
        let common = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0 (deflate)
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&8u16.to_le_bytes()); // method: deflate
            buf.extend_from_slice(&0u16.to_le_bytes()); // time
            buf.extend_from_slice(&DOS_DATE.to_le_bytes());
            buf.extend_from_slice(&m.crc.to_le_bytes());
            buf.extend_from_slice(&compressed.to_le_bytes());
            buf.extend_from_slice(&m.size.to_le_bytes());
            buf.extend_from_slice(&name_len.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(&m.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk number
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let entries = u16::try_from(members.len()).ok()?;
    let cd_offset = u32::try_from(out.len()).ok()?;
    let cd_size = u32::try_from(central.len()).ok()?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // disk with the directory
    out.extend_from_slice(&entries.to_le_bytes());
    out.extend_from_slice(&entries.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Some(out)
}

/// The members of one eval's log, in the order Inspect writes them.
pub fn log_members(
    eval: &str,
    records: &[&SampleRecord],
    summary: Option<&EvalSummary>,
    info: &RunInfo<'_>,
) -> Vec<(String, Value)> {
    let spec = spec_json(eval, records, info);
    let plan = plan_json(records);
    let mut members = vec![(
        "_journal/start.json".to_string(),
        json!({"version": LOG_SCHEMA_VERSION, "eval": spec, "plan": plan}),
    )];
    for r in records {
        let id = inspect_sample_id(eval, &r.sample_id);
        members.push((
            format!("samples/{id}_epoch_{}.json", r.epoch + 1),
            sample_json(eval, r, info.model),
        ));
    }
    let summaries: Vec<Value> = records.iter().map(|r| summary_json(eval, r)).collect();
    members.push(("summaries.json".into(), Value::Array(summaries)));
    members.push(("reductions.json".into(), reductions_json(eval, records)));
    members.push(header_member(
        &spec,
        &plan,
        results_json(records, summary),
        (info.created, info.completed, info.cancelled),
    ));
    members
}

/// Writes `eval`'s records as an Inspect log at `path` (through a temporary file, so a reader never
/// sees half a log).
pub fn write_log(
    path: &Path,
    eval: &str,
    records: &[&SampleRecord],
    summary: Option<&EvalSummary>,
    info: &RunInfo<'_>,
) -> Result<(), InspectLogError> {
    write_members(path, log_members(eval, records, summary, info))
}

/// Writes `members` (name, JSON) as an Inspect log at `path`, through a temporary file so a reader
/// never sees half a log; every Goodhart log (eval runs, sample runs) goes through here.
pub fn write_members(path: &Path, members: Vec<(String, Value)>) -> Result<(), InspectLogError> {
    let io = |source| InspectLogError::Io {
        path: path.to_path_buf(),
        source,
    };
    let members = members
        .into_iter()
        .map(|(name, value)| {
            let bytes = serde_json::to_vec(&value).map_err(std::io::Error::other)?;
            deflate(&name, &bytes)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    let bytes = zip_bytes(&members).ok_or_else(|| InspectLogError::TooLarge {
        path: path.to_path_buf(),
    })?;
    let tmp = path.with_extension("eval.partial");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes one log per eval present in `records` into `dir` as `<run_id>_<eval>.eval`, returning the
/// paths in suite order.
pub fn write_logs(
    dir: &Path,
    records: &[SampleRecord],
    summaries: &[EvalSummary],
    info: &RunInfo<'_>,
) -> Result<Vec<PathBuf>, InspectLogError> {
    std::fs::create_dir_all(dir).map_err(|source| InspectLogError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for summary in summaries {
        let eval = summary.eval.as_str();
        let mine: Vec<&SampleRecord> = records.iter().filter(|r| r.eval == eval).collect();
        let path = dir.join(format!("{}_{eval}.eval", info.run_id));
        write_log(&path, eval, &mine, Some(summary), info)?;
        paths.push(path);
    }
    Ok(paths)
}
