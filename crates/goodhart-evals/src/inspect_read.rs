//! Reading Inspect AI `.eval` logs back into [`SampleRecord`]s, so `goodhart compare` can set a model
//! scored elsewhere (or an earlier Goodhart run's log) beside a stored run.
//!
//! The zip is read through its central directory (APPNOTE §4.3.12, so logs written by Python's
//! `zipfile`, with or without data descriptors, read too), members stored or deflated with flate2, the
//! crate [`crate::inspect_log`] writes with. A log is one eval: its task names the eval
//! (`goodhart/<eval>`, or a bare eval name); each sample's `misaligned` score gives the label (`C`
//! aligned, `I` misaligned, overt unless its metadata says covert, `N` excluded) and a sample with an
//! error and no score is an error record, with the stage and kind our own logs keep in its
//! `metadata.goodhart_error` (so an errored sample round-trips its reason). Sample ids pair with stored ones through the
//! `goodhart_sample_id` metadata our logs carry, otherwise as `<eval>/<id>`.

use crate::inspect_log::SCORER;
use crate::record::{Outcome, SampleRecord, Scored};
use crate::solver::Transcript;
use crate::EvalName;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Why a log could not be read; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum InspectReadError {
    #[error("cannot read Inspect log {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a readable Inspect log: {reason}")]
    Zip { path: PathBuf, reason: String },
    #[error("{path}: member {member} is not JSON: {cause}")]
    Json {
        path: PathBuf,
        member: String,
        cause: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    Shape { path: PathBuf, reason: String },
}

/// A log's eval and its samples as records.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecords {
    pub eval: EvalName,
    /// The model the log says it evaluated.
    pub model: String,
    /// The protocol in the eval spec's `metadata.protocol` (`paper`, `aisi`), absent in logs written
    /// before protocols or by other tools.
    pub protocol: Option<String>,
    pub records: Vec<SampleRecord>,
}

/// Every member of the zip at `path`, inflated, by name.
pub fn read_members(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, InspectReadError> {
    let bytes = std::fs::read(path).map_err(|cause| InspectReadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let bad = |reason: &str| InspectReadError::Zip {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let u16_at = |i: usize| -> Option<usize> {
        Some(u16::from_le_bytes(bytes.get(i..i + 2)?.try_into().ok()?) as usize)
    };
    let u32_at = |i: usize| -> Option<usize> {
        Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize)
    };
    // The end record is the last 22 bytes plus a comment of up to 65,535.
    let floor = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (floor..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end-of-central-directory record (not a zip, or cut off)"))?;
    let entries = u16_at(eocd + 10).ok_or_else(|| bad("end record cut off"))?;
    let mut at = u32_at(eocd + 16).ok_or_else(|| bad("end record cut off"))?;
    if entries == 0xffff || at == 0xffff_ffff {
        return Err(bad("zip64 archives are not read"));
    }
    let mut out = BTreeMap::new();
    for _ in 0..entries {
        let entry = (|| {
            if u32_at(at)? != 0x0201_4b50 {
                return None;
            }
            let method = u16_at(at + 10)?;
            let csize = u32_at(at + 20)?;
            let (nlen, xlen, clen) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
            let local = u32_at(at + 42)?;
            let name = String::from_utf8_lossy(bytes.get(at + 46..at + 46 + nlen)?).into_owned();
            at += 46 + nlen + xlen + clen;
            if u32_at(local)? != 0x0403_4b50 {
                return None;
            }
            let start = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
            Some((name, method, bytes.get(start..start + csize)?))
        })()
        .ok_or_else(|| bad("a central directory entry or its member is cut off"))?;
        let (name, method, data) = entry;
        let inflated = match method {
            0 => data.to_vec(),
            8 => {
                let mut v = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .read_to_end(&mut v)
                    .map_err(|e| bad(&format!("member {name} does not inflate: {e}")))?;
                v
            }
            m => return Err(bad(&format!("member {name} uses compression method {m}"))),
        };
        out.insert(name, inflated);
    }
    Ok(out)
}

/// The eval a log's task names: `goodhart/<eval>`, `<something>/<eval>` or `<eval>`.
fn eval_of(task: &str) -> Option<EvalName> {
    EvalName::parse(task.rsplit('/').next()?).ok()
}

/// Reads one log as records of its eval.
pub fn read_log(path: &Path) -> Result<LogRecords, InspectReadError> {
    let members = read_members(path)?;
    let shape = |reason: String| InspectReadError::Shape {
        path: path.to_path_buf(),
        reason,
    };
    let json = |name: &str, bytes: &[u8]| -> Result<Value, InspectReadError> {
        serde_json::from_slice(bytes).map_err(|cause| InspectReadError::Json {
            path: path.to_path_buf(),
            member: name.to_string(),
            cause,
        })
    };
    let head_name = ["header.json", "_journal/start.json"]
        .into_iter()
        .find(|n| members.contains_key(*n))
        .ok_or_else(|| shape("has neither header.json nor _journal/start.json".into()))?;
    let header = json(head_name, &members[head_name])?;
    let task = header["eval"]["task"].as_str().unwrap_or("");
    let eval = eval_of(task).ok_or_else(|| {
        shape(format!(
            "its task `{task}` names none of Goodhart's evals ({})",
            EvalName::ALL.map(|e| e.as_str()).join(", ")
        ))
    })?;
    let model = header["eval"]["model"].as_str().unwrap_or("").to_string();
    let protocol = header["eval"]["metadata"]["protocol"]
        .as_str()
        .map(str::to_string);
    let mut records = Vec::new();
    for (name, bytes) in members.iter().filter(|(n, _)| n.starts_with("samples/")) {
        let s = json(name, bytes)?;
        let at = |reason: &str| shape(format!("{name}: {reason}"));
        let id = match &s["id"] {
            Value::String(id) => id.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(at("no sample `id`")),
        };
        let epoch = s["epoch"]
            .as_u64()
            .filter(|e| *e >= 1)
            .ok_or_else(|| at("no `epoch` of 1 or more"))?;
        let sample_id = s["metadata"]["goodhart_sample_id"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/{id}", eval.as_str()));
        let outcome = match (&s["scores"][SCORER], &s["error"]) {
            (Value::Object(score), _) => {
                let label = score
                    .get("metadata")
                    .and_then(|m| m.get("label"))
                    .and_then(Value::as_str);
                match score.get("value").and_then(Value::as_str) {
                    Some("C") => Outcome::Aligned,
                    Some("I") if label == Some("covert") => Outcome::Covert,
                    Some("I") => Outcome::Overt,
                    Some("N") => Outcome::Excluded {
                        reason: score
                            .get("metadata")
                            .and_then(|m| m.get("excluded_reason"))
                            .and_then(Value::as_str)
                            .unwrap_or("not scored")
                            .to_string(),
                    },
                    other => {
                        return Err(at(&format!(
                            "score `{SCORER}` has value {}, not C, I or N",
                            other.map_or("(none)".to_string(), |v| format!("`{v}`"))
                        )))
                    }
                }
            }
            (_, Value::Object(e)) => Outcome::Error {
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string(),
            },
            _ => return Err(at(&format!("has no `{SCORER}` score and no error"))),
        };
        let mut scored = Scored::new(Transcript::default());
        if matches!(outcome, Outcome::Error { .. }) {
            // Our own logs keep the stage and kind of an error here (Inspect's error has no place for
            // them); a foreign log has none, and that is no fault.
            scored.error = match &s["metadata"]["goodhart_error"] {
                Value::Null => None,
                reason => Some(serde_json::from_value(reason.clone()).map_err(|e| {
                    at(&format!(
                        "`metadata.goodhart_error` is not a stage, kind and message: {e}"
                    ))
                })?),
            };
        }
        scored.outcome = outcome;
        records.push(SampleRecord {
            eval: eval.as_str().to_string(),
            sample_id,
            epoch: (epoch - 1) as u32,
            model: model.clone(),
            scored,
        });
    }
    records.sort_by_key(SampleRecord::key);
    Ok(LogRecords {
        eval,
        model,
        protocol,
        records,
    })
}
