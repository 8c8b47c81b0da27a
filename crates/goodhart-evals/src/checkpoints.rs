//! Training curves over tagged runs (`--checkpoint NAME --step N`): per step, the MGS and each eval's
//! misaligned rate of eval runs, and the hack rates of sample runs per framing, each with its clustered
//! 95% interval. `goodhart compare --steps` prints them; a report page can call [`curves`] and draw them
//! (the paper's Figure 1 and its inoculation figure: one curve per training run, against RL step).

use crate::metrics::{mgs, summarize, Mgs};
use crate::record::SampleRecord;
use crate::store::{EvalStore, StoreError};
use goodhart_report::checkpoints::{hack_points, HackPoint, PointRate};
use goodhart_report::stats::Bootstrap;
use goodhart_store::{RunKind, RunRecord};
use serde::Serialize;

/// One eval's misaligned rate at a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRate {
    pub eval: String,
    /// Samples labelled aligned, overt or covert.
    pub counted: u64,
    pub misaligned: Option<PointRate>,
}

/// One eval run at its step: a point of an MGS curve and of every per-eval curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalPoint {
    pub run_id: String,
    pub checkpoint: Option<String>,
    pub step: Option<i64>,
    pub mgs: Option<Mgs>,
    pub evals: Vec<EvalRate>,
}

/// Every point of a set of tagged runs: eval points in training order (checkpoint name, step), hack
/// points in (checkpoint name, framing, step) order, so each curve's points are contiguous.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    pub eval: Vec<EvalPoint>,
    pub hack: Vec<HackPoint>,
}

/// Why curves could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum CurveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Report(#[from] goodhart_report::ReportError),
}

/// The point of one eval run, from its records.
pub fn eval_point(run: &RunRecord, records: &[SampleRecord], opts: Bootstrap) -> EvalPoint {
    EvalPoint {
        run_id: run.id.clone(),
        checkpoint: run.checkpoint.clone(),
        step: run.step,
        mgs: mgs(records, opts),
        evals: summarize(records, opts)
            .into_iter()
            .map(|s| EvalRate {
                eval: s.eval,
                counted: s.counted,
                misaligned: s.misaligned_rate.map(PointRate::from),
            })
            .collect(),
    }
}

/// The curves of `runs` (eval and sample runs; other kinds are skipped), each interval seeded by
/// `opts`.
pub fn curves(
    store: &EvalStore,
    runs: &[RunRecord],
    opts: Bootstrap,
) -> Result<Curves, CurveError> {
    let mut out = Curves {
        eval: Vec::new(),
        hack: Vec::new(),
    };
    for run in runs {
        match run.kind {
            RunKind::Eval => out
                .eval
                .push(eval_point(run, &store.records(&run.id)?, opts)),
            RunKind::Sample => out.hack.extend(hack_points(store.store(), run, opts)?),
            _ => {}
        }
    }
    let along = |c: &Option<String>, s: &Option<i64>| (c.clone(), *s);
    out.eval.sort_by_key(|p| along(&p.checkpoint, &p.step));
    out.hack.sort_by(|a, b| {
        (&a.checkpoint, &a.framing, a.step).cmp(&(&b.checkpoint, &b.framing, b.step))
    });
    Ok(out)
}
