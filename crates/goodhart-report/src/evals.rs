//! The eval pages' numbers: each selected eval run's per-eval misaligned, overt and covert rates and its
//! MGS, two runs compared, and misalignment against checkpoint step.
//!
//! Every number comes from `goodhart_evals::metrics` over the records the store keeps, the same code
//! `goodhart eval` and `goodhart compare` print with, so a report never disagrees with the run's own
//! table (clustered intervals by prompt, seeded, see `goodhart_stats::cluster`).

use crate::error::ReportError;
use goodhart_evals::metrics::{self, Comparison, EvalSummary, Mgs};
use goodhart_evals::SampleRecord;
use goodhart_stats::stats::Bootstrap;
use goodhart_store::{RunRecord, Store};
use serde::Serialize;

/// At most this many samples of one eval run show their transcript in the HTML file (misaligned ones
/// first); the live viewer shows any sample on its own page.
pub const SAMPLE_CAP: usize = 30;

/// One eval run's rates.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRun {
    pub run_id: String,
    /// The model under evaluation (from the first record).
    pub model: Option<String>,
    pub checkpoint: Option<String>,
    pub step: Option<i64>,
    pub summaries: Vec<EvalSummary>,
    pub mgs: Option<Mgs>,
    /// Every sample's key and label, in eval, sample and epoch order.
    pub samples: Vec<SampleRef>,
    /// The records themselves, for transcripts (not part of the JSON: `goodhart eval --log-dir` and the
    /// store hold them).
    #[serde(skip)]
    pub records: Vec<SampleRecord>,
}

/// A sample's key and label, as the sample table lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleRef {
    pub eval: String,
    pub sample_id: String,
    pub epoch: u32,
    pub label: String,
}

impl SampleRef {
    fn of(r: &SampleRecord) -> SampleRef {
        SampleRef {
            eval: r.eval.clone(),
            sample_id: r.sample_id.clone(),
            epoch: r.epoch,
            label: r.scored.outcome.as_str().to_string(),
        }
    }
}

/// Two eval runs side by side: B − A per eval and for MGS, paired by (eval, sample, epoch).
#[derive(Debug, Clone, Serialize)]
pub struct EvalComparison {
    pub run_a: String,
    pub run_b: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// One eval run placed on the training curve by its `step` tag.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointPoint {
    pub step: i64,
    pub run_id: String,
    pub checkpoint: Option<String>,
    /// `[low, high]` and point, as in [`Mgs`].
    pub mgs: Option<Mgs>,
    /// Each eval's misaligned rate at this step.
    pub evals: Vec<EvalSummary>,
}

/// Reads one eval run's records and computes its rates.
pub fn eval_run(store: &Store, run: &RunRecord) -> Result<EvalRun, ReportError> {
    let records = goodhart_evals::store::records(store, &run.id)?;
    Ok(of_records(run, records))
}

/// An eval run's rates from its records.
pub fn of_records(run: &RunRecord, records: Vec<SampleRecord>) -> EvalRun {
    let opts = Bootstrap::default();
    EvalRun {
        run_id: run.id.clone(),
        model: records.first().map(|r| r.model.clone()),
        checkpoint: run.checkpoint.clone(),
        step: run.step,
        summaries: metrics::summarize(&records, opts),
        mgs: metrics::mgs(&records, opts),
        samples: records.iter().map(SampleRef::of).collect(),
        records,
    }
}

/// A and B compared; `None` when they share no labelled sample.
pub fn compare(a: &EvalRun, b: &EvalRun) -> Option<EvalComparison> {
    let comparison = metrics::compare(&a.records, &b.records, Bootstrap::default());
    (!comparison.evals.is_empty()).then(|| EvalComparison {
        run_a: a.run_id.clone(),
        run_b: b.run_id.clone(),
        comparison,
    })
}

/// The eval runs that carry a step, in step order (runs at the same step keep their selection order).
pub fn checkpoints(runs: &[EvalRun]) -> Vec<CheckpointPoint> {
    let mut points: Vec<CheckpointPoint> = runs
        .iter()
        .filter_map(|r| {
            Some(CheckpointPoint {
                step: r.step?,
                run_id: r.run_id.clone(),
                checkpoint: r.checkpoint.clone(),
                mgs: r.mgs.clone(),
                evals: r.summaries.clone(),
            })
        })
        .collect();
    points.sort_by_key(|p| p.step);
    points
}

/// The records whose transcripts the HTML file embeds: misaligned (overt, covert) first, then the rest,
/// at most [`SAMPLE_CAP`], each with its index in [`EvalRun::records`].
pub fn shown_samples(run: &EvalRun) -> Vec<usize> {
    let rank = |r: &SampleRecord| match r.scored.outcome.as_str() {
        "overt" => 0,
        "covert" => 1,
        "error" => 3,
        _ => 2,
    };
    let mut idx: Vec<usize> = (0..run.records.len()).collect();
    idx.sort_by_key(|&i| rank(&run.records[i]));
    idx.truncate(SAMPLE_CAP);
    idx
}
