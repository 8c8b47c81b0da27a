//! Hack rates along training: one point per (sample run, framing), placed at the run's `--step` and
//! grouped by its `--checkpoint` name, so a page or `goodhart compare --steps` can draw the paper's
//! Figure 1 (hack rate against RL step) per training run and framing.
//!
//! The eval side of the same figure (MGS and per-eval misaligned rates per step, [`eval_point`]) reads eval
//! records through `goodhart-evals`; [`curves`] gathers both from [`goodhart_store::Store::tagged_runs`]
//! for `goodhart compare --steps` and report pages.

use crate::cluster::{clustered_rate, Cluster, ClusteredRate};
use crate::error::ReportError;
use crate::stats::Bootstrap;
use goodhart_evals::metrics::{mgs, summarize, Mgs};
use goodhart_evals::record::SampleRecord;
use goodhart_evals::store::EvalStore;
use goodhart_store::{RunKind, RunRecord, Store};
use serde::Serialize;
use std::collections::BTreeMap;

/// A rate with its 95% interval, clustered by prompt or task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PointRate {
    pub rate: f64,
    pub ci95: [f64; 2],
    /// `cluster_bootstrap`, or `wilson_per_prompt` when every cluster had the same rate.
    pub interval: &'static str,
    /// Clusters (prompts, tasks) behind the rate.
    pub clusters: usize,
}

impl From<ClusteredRate> for PointRate {
    fn from(r: ClusteredRate) -> Self {
        PointRate {
            rate: r.estimate.point,
            ci95: [r.estimate.low, r.estimate.high],
            interval: r.method.as_str(),
            clusters: r.clusters,
        }
    }
}

/// One sample run's hack rates under one framing: a point of a hack-rate curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HackPoint {
    pub run_id: String,
    pub checkpoint: Option<String>,
    pub step: Option<i64>,
    pub framing: String,
    /// Graded rollouts.
    pub rollouts: u64,
    /// A detector found a hack mechanism; clustered by task (a task's samples together).
    pub attempted: Option<PointRate>,
    /// A proxy grader passed while the hardened one failed.
    pub succeeded: Option<PointRate>,
}

/// The hack-rate points of one sample run, one per framing (framing order as stored), intervals
/// clustered by task and seeded by `opts`. A run of another kind is an error naming it.
pub fn hack_points(
    store: &Store,
    run: &RunRecord,
    opts: Bootstrap,
) -> Result<Vec<HackPoint>, ReportError> {
    if run.kind != RunKind::Sample {
        return Err(ReportError::Store(goodhart_store::StoreError::WrongKind {
            run_id: run.id.clone(),
            found: run.kind.as_str(),
            wanted: RunKind::Sample.as_str(),
        }));
    }
    // framing -> task -> (attempted, succeeded, rollouts)
    let mut by: BTreeMap<String, BTreeMap<String, (u64, u64, u64)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for s in store.rollout_summaries(&run.id, None)? {
        let framing = s.framing.clone().unwrap_or_else(|| "(none)".into());
        if !by.contains_key(&framing) {
            order.push(framing.clone());
        }
        let cell = by.entry(framing).or_default().entry(s.task_id).or_default();
        cell.0 += u64::from(s.attempted);
        cell.1 += u64::from(s.succeeded);
        cell.2 += 1;
    }
    Ok(order
        .into_iter()
        .map(|framing| {
            let tasks = &by[&framing];
            let rate = |hits: fn(&(u64, u64, u64)) -> u64| {
                let clusters: Vec<Cluster> = tasks
                    .values()
                    .map(|c| Cluster::rate(hits(c), c.2))
                    .collect();
                clustered_rate(&clusters, opts).map(PointRate::from)
            };
            HackPoint {
                run_id: run.id.clone(),
                checkpoint: run.checkpoint.clone(),
                step: run.step,
                rollouts: tasks.values().map(|c| c.2).sum(),
                attempted: rate(|c| c.0),
                succeeded: rate(|c| c.1),
                framing,
            }
        })
        .collect())
}

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
) -> Result<Curves, ReportError> {
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
