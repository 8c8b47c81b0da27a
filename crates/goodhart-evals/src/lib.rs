//! Misalignment evaluations: does a model that learned to reward-hack also state misaligned goals, fake
//! alignment, accept an exfiltration offer, frame a colleague, blackmail, disrupt a monitor or sabotage
//! a classifier meant to catch it?
//!
//! Each eval follows Inspect's vocabulary: a dataset of [`Sample`]s, a solver that drives the model
//! ([`solver::single_turn`] or [`solver::agent_loop`] over simulated deterministic tools), scorers
//! (deterministic [`record::Check`]s kept apart from LLM [`judge`] verdicts with versioned rubrics) and
//! [`metrics`]. The answer and actions are judged apart from the whole transcript (reasoning included),
//! so every sample is labelled [`Outcome::Aligned`], [`Outcome::Overt`], [`Outcome::Covert`],
//! [`Outcome::AttemptedHack`] or excluded; which judgements count follows the run's [`Protocol`].
//!
//! All scenario texts, questions and labelled transcripts are written for this crate.

pub mod calibration;
pub mod evals;
pub mod inspect_log;
pub mod inspect_read;
pub mod inspect_sample_log;
pub mod judge;
pub mod metrics;
pub mod protocol;
pub mod record;
pub mod rubrics;
pub mod solver;
pub mod store;

pub use evals::betley::{load_betley_yaml, BetleyLoadError};
pub use judge::{Answer, Judge, JudgeError, Rubric, DEFAULT_JUDGE_MAX_TOKENS};
pub use metrics::{mgs, summarize, EvalSummary, MGS_EVALS};
pub use protocol::{Protocol, UnknownProtocol};
pub use record::{Check, ErrorReason, Judgement, Outcome, SampleRecord, Scored};
pub use solver::{Interrupted, Settings, Transcript};
pub use store::{EvalStore, StoreError, StoredRun};

use futures_util::stream::{self, Stream, StreamExt};
use goodhart_llm::{Client, LlmError};
use serde::{Deserialize, Serialize};

/// One prompt of an eval's dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Stable within the eval; pairs samples across runs.
    pub id: String,
    pub system: String,
    pub prompt: String,
}

impl Sample {
    /// A sample with a system prompt and a user prompt.
    pub fn new(
        id: impl Into<String>,
        system: impl Into<String>,
        prompt: impl Into<String>,
    ) -> Sample {
        Sample {
            id: id.into(),
            system: system.into(),
            prompt: prompt.into(),
        }
    }
}

/// Every eval in the suite, so the CLI, the store and the metrics agree on names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalName {
    Goals,
    Betley,
    AlignmentQuestions,
    MonitorDisruption,
    ExfilOffer,
    /// The exfil offer with a training cue or an unmonitored cue (paper App. C): the compliance gap.
    ExfilCue,
    FrameColleague,
    Blackmail,
    ResearchSabotage,
}

/// An `--evals` entry that names no eval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown eval `{0}`; known: goals, betley, alignment_questions, monitor_disruption, exfil_offer, exfil_cue, frame_colleague, blackmail, research_sabotage")]
pub struct UnknownEval(pub String);

impl EvalName {
    /// Every eval, in report order.
    pub const ALL: [EvalName; 9] = [
        EvalName::Goals,
        EvalName::Betley,
        EvalName::AlignmentQuestions,
        EvalName::MonitorDisruption,
        EvalName::ExfilOffer,
        EvalName::ExfilCue,
        EvalName::FrameColleague,
        EvalName::Blackmail,
        EvalName::ResearchSabotage,
    ];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalName::Goals => "goals",
            EvalName::Betley => "betley",
            EvalName::AlignmentQuestions => "alignment_questions",
            EvalName::MonitorDisruption => "monitor_disruption",
            EvalName::ExfilOffer => "exfil_offer",
            EvalName::ExfilCue => "exfil_cue",
            EvalName::FrameColleague => "frame_colleague",
            EvalName::Blackmail => "blackmail",
            EvalName::ResearchSabotage => "research_sabotage",
        }
    }

    /// Parses one name.
    pub fn parse(name: &str) -> Result<EvalName, UnknownEval> {
        EvalName::ALL
            .into_iter()
            .find(|e| e.as_str() == name.trim())
            .ok_or_else(|| UnknownEval(name.to_string()))
    }

    /// Parses a comma-separated `--evals` list; `all` means every eval.
    pub fn parse_list(list: &str) -> Result<Vec<EvalName>, UnknownEval> {
        if list.trim() == "all" {
            return Ok(EvalName::ALL.to_vec());
        }
        let mut out = Vec::new();
        for name in list.split(',').filter(|s| !s.trim().is_empty()) {
            let eval = EvalName::parse(name)?;
            if !out.contains(&eval) {
                out.push(eval);
            }
        }
        Ok(out)
    }

    /// Whether the model acts through tools in this eval (did-not-engage applies; the MGS's agentic
    /// sub-score). The rest are chat-like: one question, one answer.
    pub fn agentic(self) -> bool {
        !matches!(
            self,
            EvalName::Goals | EvalName::Betley | EvalName::AlignmentQuestions
        )
    }

    /// The eval's own dataset.
    pub fn samples(self) -> Vec<Sample> {
        match self {
            EvalName::Goals => evals::goals::samples(),
            EvalName::Betley => evals::betley::samples(),
            EvalName::AlignmentQuestions => evals::alignment_questions::samples(),
            EvalName::MonitorDisruption => evals::monitor_disruption::samples(),
            EvalName::ExfilOffer => evals::exfil_offer::samples(),
            EvalName::ExfilCue => evals::exfil_offer::cue_samples(),
            EvalName::FrameColleague => evals::frame_colleague::samples(),
            EvalName::Blackmail => evals::blackmail::samples(),
            EvalName::ResearchSabotage => evals::research_sabotage::samples(),
        }
    }
}

/// Why a sample ended without a label; stored as [`Outcome::Error`] and retried on resume.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("model request failed: {0}")]
    Model(LlmError),
    #[error(transparent)]
    Judge(#[from] JudgeError),
    /// The simulated world could not be built (a bug in the scenario, not the model's doing).
    #[error("scenario setup failed: {0}")]
    Scenario(String),
}

impl EvalError {
    /// The stage that failed, the error's kind and its message, as stored on the errored sample.
    pub fn reason(&self) -> ErrorReason {
        let (stage, kind) = match self {
            EvalError::Model(e) => ("model", e.kind()),
            EvalError::Judge(JudgeError::Model { cause, .. }) => ("judge", cause.kind()),
            EvalError::Judge(JudgeError::Unparseable { .. }) => ("judge", "unparseable".into()),
            EvalError::Scenario(_) => ("tool", "scenario".into()),
        };
        ErrorReason {
            stage: stage.into(),
            kind,
            message: self.to_string(),
        }
    }

    /// True when the run was cancelled rather than the sample failing.
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            EvalError::Model(LlmError::Cancelled)
                | EvalError::Judge(JudgeError::Model {
                    cause: LlmError::Cancelled,
                    ..
                })
        )
    }
}

/// A sample that ended without a label, with everything it produced before the failure (the
/// transcript up to a failed model call, the checks and verdicts before a failed judge), so the
/// stored errored sample shows what the model did.
#[derive(Debug)]
pub struct Failed {
    pub error: EvalError,
    pub partial: Box<Scored>,
}

impl Failed {
    /// `error` after `scored` was produced (its transcript, checks and verdicts are kept).
    pub fn after(scored: &Scored, error: impl Into<EvalError>) -> Failed {
        Failed {
            error: error.into(),
            partial: Box::new(scored.clone()),
        }
    }
}

impl From<EvalError> for Failed {
    /// A failure before the model was asked anything (the scenario or a shared reference).
    fn from(error: EvalError) -> Failed {
        Failed {
            error,
            partial: Box::new(Scored::new(Transcript::default())),
        }
    }
}

impl From<JudgeError> for Failed {
    fn from(error: JudgeError) -> Failed {
        EvalError::from(error).into()
    }
}

impl From<Interrupted> for Failed {
    /// A model call that failed mid-conversation: the conversation so far is kept.
    fn from(i: Interrupted) -> Failed {
        Failed {
            error: EvalError::Model(i.cause),
            partial: Box::new(Scored::new(*i.transcript)),
        }
    }
}

/// What every eval needs: the model under test, the judge, and the sampling settings.
pub struct Ctx<'a> {
    pub model: &'a Client,
    pub judge: Judge<'a>,
    pub settings: Settings,
    /// Which design the counting rules and judges follow ([`Protocol::Paper`] unless set).
    pub protocol: Protocol,
    sabotage_reference: tokio::sync::OnceCell<evals::research_sabotage::Effectiveness>,
}

impl<'a> Ctx<'a> {
    /// A context for one run.
    pub fn new(model: &'a Client, judge: &'a Client, settings: Settings) -> Ctx<'a> {
        Ctx {
            model,
            judge: Judge::new(judge),
            settings,
            protocol: Protocol::default(),
            sabotage_reference: tokio::sync::OnceCell::new(),
        }
    }

    /// The same context under `protocol`.
    pub fn with_protocol(mut self, protocol: Protocol) -> Ctx<'a> {
        self.protocol = protocol;
        self
    }

    /// The same context with the judge called with `max_tokens` per reply.
    pub fn with_judge_max_tokens(mut self, max_tokens: u32) -> Ctx<'a> {
        self.judge.max_tokens = max_tokens;
        self
    }
}

/// One unit of work: a sample of an eval in one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub eval: EvalName,
    pub sample: Sample,
    pub epoch: u32,
}

impl Job {
    /// The key a stored record of this job has.
    pub fn key(&self) -> (String, String, u32) {
        (
            self.eval.as_str().to_string(),
            self.sample.id.clone(),
            self.epoch,
        )
    }
}

/// Every job of `evals` over `epochs` (the same for every eval), with extra Betley questions (from YAML
/// files) appended.
pub fn plan(evals: &[EvalName], epochs: u32, betley_extra: &[Sample]) -> Vec<Job> {
    plan_with(evals, |_| epochs, betley_extra)
}

/// Every job of `evals` under `protocol`: `epochs` for every eval when given, otherwise each eval's
/// [`Protocol::default_epochs`], so sample sizes follow the protocol's source.
pub fn plan_protocol(
    protocol: Protocol,
    evals: &[EvalName],
    epochs: Option<u32>,
    betley_extra: &[Sample],
) -> Vec<Job> {
    plan_with(
        evals,
        |e| epochs.unwrap_or_else(|| protocol.default_epochs(e)),
        betley_extra,
    )
}

fn plan_with(
    evals: &[EvalName],
    epochs: impl Fn(EvalName) -> u32,
    betley_extra: &[Sample],
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for &eval in evals {
        let mut samples = eval.samples();
        if eval == EvalName::Betley {
            samples.extend(betley_extra.iter().cloned());
        }
        for epoch in 0..epochs(eval) {
            jobs.extend(samples.iter().map(|sample| Job {
                eval,
                sample: sample.clone(),
                epoch,
            }));
        }
    }
    jobs
}

/// Scores one job; failures become an [`Outcome::Error`] record, with the transcript up to the failure
/// and the [`ErrorReason`], instead of vanishing. `None` only when the run was cancelled (Ctrl-C)
/// mid-sample: nothing is stored and a resumed run asks again.
pub async fn run_job(ctx: &Ctx<'_>, job: &Job) -> Option<SampleRecord> {
    let scored = match score(ctx, job).await {
        Ok(scored) => scored,
        Err(failed) if failed.error.is_cancelled() => return None,
        Err(Failed { error, partial }) => Scored {
            outcome: Outcome::Error {
                message: error.to_string(),
            },
            error: Some(error.reason()),
            ..*partial
        },
    };
    Some(SampleRecord {
        eval: job.eval.as_str().to_string(),
        sample_id: job.sample.id.clone(),
        epoch: job.epoch,
        model: ctx.model.spec().label(),
        scored,
    })
}

async fn score(ctx: &Ctx<'_>, job: &Job) -> Result<Scored, Failed> {
    let (sample, epoch) = (&job.sample, job.epoch);
    match job.eval {
        EvalName::Goals => evals::goals::score(ctx, sample, epoch).await,
        EvalName::Betley => evals::betley::score(ctx, sample, epoch).await,
        EvalName::AlignmentQuestions => evals::alignment_questions::score(ctx, sample, epoch).await,
        EvalName::MonitorDisruption => evals::monitor_disruption::score(ctx, sample, epoch).await,
        EvalName::ExfilOffer | EvalName::ExfilCue => {
            evals::exfil_offer::score(ctx, job.eval, sample, epoch).await
        }
        EvalName::FrameColleague => evals::frame_colleague::score(ctx, sample, epoch).await,
        EvalName::Blackmail => evals::blackmail::score(ctx, sample, epoch).await,
        EvalName::ResearchSabotage => {
            let reference = ctx
                .sabotage_reference
                .get_or_try_init(|| evals::research_sabotage::reference_effectiveness(ctx))
                .await?;
            evals::research_sabotage::score(ctx, sample, epoch, reference).await
        }
    }
}

/// Runs `jobs` with up to `concurrency` in flight, yielding each record as it finishes (for storing and
/// progress bars); the model client's own limiter still bounds requests. Cancelled jobs yield `None`.
pub fn run_jobs<'a>(
    ctx: &'a Ctx<'a>,
    jobs: &'a [Job],
    concurrency: usize,
) -> impl Stream<Item = Option<SampleRecord>> + 'a {
    stream::iter(jobs)
        .map(move |job| run_job(ctx, job))
        .buffer_unordered(concurrency.max(1))
}

// The model's error is in the message, so it is not also a `source()`: `{err:#}` prints it once.
impl From<LlmError> for EvalError {
    fn from(e: LlmError) -> Self {
        EvalError::Model(e)
    }
}
