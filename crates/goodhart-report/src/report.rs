//! The numbers of `goodhart report`: gathered once from the store for the selected runs, printed as JSON
//! (`--json`) and drawn as HTML ([`crate::html`]) from the same values, so the two never disagree.

use crate::error::ReportError;
use crate::evals::{self, CheckpointPoint, EvalComparison, EvalRun};
use crate::rates::{Difference, Rate};
use crate::select::{select, Selection};
use crate::training::{self, StepStats, TrainingRow};
use goodhart_core::{GradedRollout, Profile};
use goodhart_store::{AuditResult, CellCounts, RunKind, RunRecord, Store};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many flagged rollouts are listed; the page says how many there were in all.
pub const ROLLOUT_CAP: usize = 200;
/// At most this many flagged rollouts show their code.
pub const CODE_CAP: usize = 20;
/// The framing other framings are compared against.
pub const BASELINE_FRAMING: &str = "neutral";

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The store read.
    pub store: String,
    /// The selected runs, newest first.
    pub runs: Vec<RunInfo>,
    /// Rates per (step, framing) over every selected rollout.
    pub training: Vec<TrainingRow>,
    /// Misalignment per checkpoint step: the selected eval runs tagged with a step, in step order.
    pub checkpoints: Vec<CheckpointPoint>,
    /// Rates per framing over every step, with differences against `neutral`.
    pub framings: Vec<FramingRow>,
    /// Each selected eval run's per-eval rates and MGS.
    pub evals: Vec<EvalRun>,
    /// The first two selected eval runs side by side (B − A), when they share samples: with run ids
    /// given, A is the first named; otherwise A is the older.
    pub eval_comparison: Option<EvalComparison>,
    /// One heat map per selected audit run.
    pub audits: Vec<AuditMatrix>,
    /// Flagged rollouts, capped.
    pub rollouts: RolloutsPage,
}

/// A selected run, as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: String,
    pub kind: &'static str,
    pub created_at: String,
    pub status: String,
    /// Graded rollouts read from it (after the model filter).
    pub rollouts: u64,
    /// The checkpoint and training step the run was tagged with.
    pub checkpoint: Option<String>,
    pub step: Option<i64>,
}

/// One framing over every step.
#[derive(Debug, Clone, Serialize)]
pub struct FramingRow {
    pub framing: Option<String>,
    #[serde(flatten)]
    pub rates: training::CellRates,
    /// `attempted` minus neutral's, with Newcombe's interval (absent for neutral itself or without it).
    pub attempted_vs_neutral: Option<Difference>,
    /// `succeeded` minus neutral's.
    pub succeeded_vs_neutral: Option<Difference>,
}

/// One audit as exploit × profile cells.
#[derive(Debug, Clone, Serialize)]
pub struct AuditMatrix {
    pub run_id: String,
    pub profiles: Vec<String>,
    /// One row per exploit (the reference first when present; trivial wrong answers are left to
    /// `weak_tasks`).
    pub rows: Vec<AuditRow>,
    /// Tasks a trivially wrong answer passed under some profile: their tests are too weak to trust.
    pub weak_tasks: Vec<String>,
}

/// One exploit's cells.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub exploit: String,
    pub kinds: Vec<String>,
    /// Per profile (same order as [`AuditMatrix::profiles`]): tasks where the profile fell (passed the
    /// exploit) out of tasks the exploit applied to, with its interval.
    pub cells: Vec<Rate>,
}

/// Flagged rollouts (a detector found a mechanism), capped at [`ROLLOUT_CAP`].
#[derive(Debug, Clone, Serialize)]
pub struct RolloutsPage {
    /// Flagged rollouts in the selected runs (at the step and framing asked for) in all.
    pub flagged_total: u64,
    /// How many are listed.
    pub cap: usize,
    pub shown: Vec<FlaggedRollout>,
}

/// A flagged rollout with its run.
#[derive(Debug, Clone, Serialize)]
pub struct FlaggedRollout {
    pub run_id: String,
    #[serde(flatten)]
    pub graded: GradedRollout,
}

/// Which flagged rollouts to list: those of one training step and/or framing (`None`: any).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolloutFilter {
    pub step: Option<i64>,
    pub framing: Option<String>,
}

impl RolloutFilter {
    fn admits(&self, c: &CellCounts) -> bool {
        self.step.is_none_or(|s| c.step == Some(s))
            && self
                .framing
                .as_deref()
                .is_none_or(|f| c.framing.as_deref() == Some(f))
    }
}

/// Runs that hold graded rollouts.
fn holds_rollouts(run: &RunRecord) -> bool {
    !matches!(run.kind, RunKind::Audit | RunKind::Eval)
}

/// Reads the selected runs from `store` and computes every page's numbers.
pub fn build(store: &Store, sel: &Selection) -> Result<Report, ReportError> {
    let runs = select(store, sel)?;
    let model = sel.model.as_deref();
    let mut steps = training::StepTable::new();
    let mut framings: BTreeMap<Option<String>, StepStats> = BTreeMap::new();
    let mut infos = Vec::new();
    let mut audits = Vec::new();
    let mut eval_runs = Vec::new();
    let mut run_cells = Vec::new();
    for run in &runs {
        let cells = if holds_rollouts(run) {
            store.cell_counts(&run.id, model)?
        } else {
            Vec::new()
        };
        training::merge(&mut steps, &cells);
        for c in &cells {
            framings.entry(c.framing.clone()).or_default().merge(c);
        }
        match run.kind {
            RunKind::Audit => audits.push(audit_matrix(run, &store.audit_results(&run.id)?)),
            RunKind::Eval => {
                let e = evals::eval_run(store, run)?;
                let wanted = model.is_none_or(|m| e.model.as_deref() == Some(m));
                if wanted {
                    eval_runs.push(e);
                }
            }
            _ => {}
        }
        infos.push(run_info(run, cells.iter().map(|c| c.rollouts).sum()));
        run_cells.push((run, cells));
    }
    let eval_comparison = match eval_runs.as_slice() {
        [first, second, ..] if sel.runs.is_empty() => evals::compare(second, first),
        [first, second, ..] => evals::compare(first, second),
        _ => None,
    };
    Ok(Report {
        store: store.path().display().to_string(),
        runs: infos,
        training: training::rows(&steps),
        checkpoints: evals::checkpoints(&eval_runs),
        framings: framing_rows(&framings),
        evals: eval_runs,
        eval_comparison,
        audits,
        rollouts: listed(store, &run_cells, model, &RolloutFilter::default())?,
    })
}

/// The flagged rollouts of `runs` that `filter` admits: the count in all and the first [`ROLLOUT_CAP`].
pub fn rollouts(
    store: &Store,
    runs: &[RunRecord],
    model: Option<&str>,
    filter: &RolloutFilter,
) -> Result<RolloutsPage, ReportError> {
    let mut run_cells = Vec::new();
    for run in runs.iter().filter(|r| holds_rollouts(r)) {
        run_cells.push((run, store.cell_counts(&run.id, model)?));
    }
    listed(store, &run_cells, model, filter)
}

/// [`rollouts`] over runs whose cells are already counted (the report counts them once for every page).
fn listed(
    store: &Store,
    run_cells: &[(&RunRecord, Vec<CellCounts>)],
    model: Option<&str>,
    filter: &RolloutFilter,
) -> Result<RolloutsPage, ReportError> {
    let mut flagged_total = 0;
    let mut shown = Vec::new();
    for (run, cells) in run_cells {
        let flagged: u64 = cells
            .iter()
            .filter(|c| filter.admits(c))
            .map(|c| c.attempted)
            .sum();
        flagged_total += flagged;
        let room = ROLLOUT_CAP.saturating_sub(shown.len());
        if flagged == 0 || room == 0 {
            continue;
        }
        let first = store.flagged_rollouts_in(
            &run.id,
            model,
            filter.step,
            filter.framing.as_deref(),
            room,
        )?;
        shown.extend(first.into_iter().map(|graded| FlaggedRollout {
            run_id: run.id.clone(),
            graded,
        }));
    }
    Ok(RolloutsPage {
        flagged_total,
        cap: ROLLOUT_CAP,
        shown,
    })
}

fn run_info(run: &RunRecord, rollouts: u64) -> RunInfo {
    RunInfo {
        id: run.id.clone(),
        kind: run.kind.as_str(),
        created_at: run.created_at.clone(),
        status: run.status.clone(),
        rollouts,
        checkpoint: run.checkpoint.clone(),
        step: run.step,
    }
}

fn framing_rows(framings: &BTreeMap<Option<String>, StepStats>) -> Vec<FramingRow> {
    let baseline = framings
        .get(&Some(BASELINE_FRAMING.to_string()))
        .map(StepStats::rates);
    framings
        .iter()
        .map(|(framing, stats)| {
            let rates = stats.rates();
            let is_baseline = framing.as_deref() == Some(BASELINE_FRAMING);
            let vs = |pick: fn(&training::CellRates) -> &Rate| {
                baseline
                    .as_ref()
                    .filter(|_| !is_baseline)
                    .and_then(|b| Difference::between(pick(&rates), pick(b)))
            };
            FramingRow {
                framing: framing.clone(),
                attempted_vs_neutral: vs(|r| &r.attempted),
                succeeded_vs_neutral: vs(|r| &r.succeeded),
                rates,
            }
        })
        .collect()
}

/// Subjects with no hack kind are the reference and the trivial wrong answers (probes).
const REFERENCE: &str = "reference";

/// Per profile: (fallen, applicable).
type ProfileCounts = BTreeMap<Profile, (usize, usize)>;

fn audit_matrix(run: &RunRecord, cells: &[AuditResult]) -> AuditMatrix {
    let profiles: Vec<Profile> = Profile::ALL
        .into_iter()
        .filter(|p| cells.iter().any(|c| c.profile == *p))
        .collect();
    let mut by_exploit: BTreeMap<&str, (Vec<String>, ProfileCounts)> = BTreeMap::new();
    let mut weak = BTreeSet::new();
    for c in cells {
        let is_probe = c.kinds.is_empty() && c.exploit != REFERENCE;
        if is_probe {
            if c.passed {
                weak.insert(c.task_id.clone());
            }
            continue;
        }
        let entry = by_exploit.entry(&c.exploit).or_insert_with(|| {
            (
                c.kinds.iter().map(|k| k.as_str().to_string()).collect(),
                BTreeMap::new(),
            )
        });
        let cell = entry.1.entry(c.profile).or_default();
        cell.0 += usize::from(c.passed);
        cell.1 += 1;
    }
    let mut rows: Vec<AuditRow> = by_exploit
        .into_iter()
        .map(|(exploit, (kinds, counts))| AuditRow {
            exploit: exploit.to_string(),
            kinds,
            cells: profiles
                .iter()
                .map(|p| {
                    let (fallen, applicable) = counts.get(p).copied().unwrap_or((0, 0));
                    Rate::of(fallen, applicable)
                })
                .collect(),
        })
        .collect();
    rows.sort_by_key(|r| r.exploit != REFERENCE);
    AuditMatrix {
        run_id: run.id.clone(),
        profiles: profiles.iter().map(|p| p.as_str().to_string()).collect(),
        rows,
        weak_tasks: weak.into_iter().collect(),
    }
}
