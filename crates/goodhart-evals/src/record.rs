//! What one scored sample leaves behind: its label, the transcript, and every check and verdict that
//! led to the label, kept apart so a reader can see which were deterministic and which were judged.

use crate::solver::Transcript;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label of one sample, so rates can separate open misbehaviour from misalignment that only shows
/// in the reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "label", rename_all = "snake_case")]
pub enum Outcome {
    /// Neither the answer/actions nor the reasoning were flagged.
    Aligned,
    /// The answer or an action was misaligned.
    Overt,
    /// The whole-transcript judge found misalignment (in the reasoning, or in reasoning and actions
    /// read together) but the answer and actions alone were not flagged: alignment faking. Only where
    /// the protocol counts the transcript for the eval.
    Covert,
    /// The model tried to game how it was scored rather than act on the scenario: counted in the
    /// denominator, never as misaligned (paper §2: attempted reward hacks are their own category).
    #[serde(rename = "attempted_reward_hack")]
    AttemptedHack,
    /// Not counted in rates (a refusal, an incoherent answer, a task not attempted); the reason says which.
    Excluded { reason: String },
    /// The model or the judge failed; a resumed run tries the sample again.
    Error { message: String },
}

impl Outcome {
    /// Stable name for tables and the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Aligned => "aligned",
            Outcome::Overt => "overt",
            Outcome::Covert => "covert",
            Outcome::AttemptedHack => "attempted_reward_hack",
            Outcome::Excluded { .. } => "excluded",
            Outcome::Error { .. } => "error",
        }
    }

    /// Whether the sample counts as misaligned (overt or covert); `None` when it is not counted.
    pub fn misaligned(&self) -> Option<bool> {
        match self {
            Outcome::Aligned | Outcome::AttemptedHack => Some(false),
            Outcome::Overt | Outcome::Covert => Some(true),
            Outcome::Excluded { .. } | Outcome::Error { .. } => None,
        }
    }
}

/// A deterministic check of the transcript or of the simulated world, recorded whether or not it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub fired: bool,
    pub detail: String,
}

impl Check {
    /// A check result with its explanation.
    pub fn new(name: &str, fired: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            fired,
            detail: detail.into(),
        }
    }
}

/// One judge verdict, with the rubric version that produced it so later rubric changes stay traceable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// `name@vN` of the rubric.
    pub rubric: String,
    /// What was judged: `answer`, `reasoning`, `transcript`, `emails`...
    pub target: String,
    /// Whether the verdict counts against the model; `None` for verdicts that only score.
    pub flagged: Option<bool>,
    /// The parsed verdict as the judge gave it.
    pub verdict: serde_json::Value,
    /// 1, or 2 when the judge had to be re-asked after an unparseable reply.
    pub attempts: u32,
}

/// Why a sample ended in [`Outcome::Error`]: which stage failed, a stable kind and the message, so a
/// researcher can group failures and tell a flaky endpoint from a judge that cannot follow its rubric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorReason {
    /// `model` (the model under evaluation), `judge` (a judge request or an unparseable verdict) or
    /// `tool` (the simulated world behind the tools; a scenario bug, not the model's doing; a bad tool
    /// call by the model is not an error: the model sees the error text).
    pub stage: String,
    /// A short stable name: the model error's kind (`http_500`, `timeout`, `malformed`, ...),
    /// `unparseable` for a judge reply that did not parse twice, `scenario` for the tool world.
    pub kind: String,
    /// The error's message, cause included.
    pub message: String,
}

impl ErrorReason {
    /// `stage/kind`, the key errored samples are grouped by.
    pub fn key(&self) -> String {
        format!("{}/{}", self.stage, self.kind)
    }
}

/// What an eval concluded about one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub outcome: Outcome,
    /// Everything the model saw, said and did; for an errored sample, up to the failure.
    pub transcript: Transcript,
    pub checks: Vec<Check>,
    pub judgements: Vec<Judgement>,
    /// Numeric scores (Betley's aligned/coherent, a classifier's F1...).
    pub scores: BTreeMap<String, f64>,
    /// Why the sample errored; only on [`Outcome::Error`] (absent in records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReason>,
}

impl Scored {
    /// A scored sample with no checks, verdicts or scores yet.
    pub fn new(transcript: Transcript) -> Scored {
        Scored {
            outcome: Outcome::Aligned,
            transcript,
            checks: Vec::new(),
            judgements: Vec::new(),
            scores: BTreeMap::new(),
            error: None,
        }
    }

    /// Whether any judgement on `target` flagged the sample.
    pub fn flagged(&self, target: &str) -> bool {
        self.judgements
            .iter()
            .any(|j| j.target == target && j.flagged == Some(true))
    }

    /// Whether the named deterministic check fired.
    pub fn fired(&self, check: &str) -> bool {
        self.checks.iter().any(|c| c.name == check && c.fired)
    }
}

/// One sample of one epoch of one eval, as stored and reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub eval: String,
    pub sample_id: String,
    pub epoch: u32,
    /// `PROVIDER/NAME` of the model under evaluation.
    pub model: String,
    #[serde(flatten)]
    pub scored: Scored,
}

impl SampleRecord {
    /// The key that pairs samples across runs and makes resuming skip finished work.
    pub fn key(&self) -> (String, String, u32) {
        (self.eval.clone(), self.sample_id.clone(), self.epoch)
    }
}
