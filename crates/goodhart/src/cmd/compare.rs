//! `goodhart compare`: two eval runs over the same prompts (two models, checkpoints or framings), as
//! paired differences in misaligned rate per eval and for MGS, with bootstrap intervals; either side may
//! be an Inspect `.eval` log (ours, or one scored elsewhere) of an eval the other side ran. With
//! `--steps`, the runs tagged `--checkpoint NAME --step N` along training instead: MGS and per-eval
//! misaligned rates of eval runs, and hack rates of sample runs per framing, against step.

use super::eval::ClientArgs;
use anyhow::{bail, Context};
use goodhart_evals::inspect_read::read_log;
use goodhart_evals::metrics::{compare, render_comparison};
use goodhart_evals::{EvalStore, SampleRecord};
use goodhart_report::checkpoints::PointRate;
use goodhart_report::checkpoints::{curves, Curves};
use goodhart_report::stats::Bootstrap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `goodhart compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Without --steps: exactly two, the baseline A then B (differences are B − A); each a stored eval
    /// run id or an Inspect `.eval` log of one eval (compared on that eval only). With --steps: the
    /// stored runs to draw (default: every run tagged with --step).
    #[arg(value_name = "RUN_OR_LOG")]
    pub runs: Vec<String>,
    /// Training curves: order tagged runs by --step, one curve per --checkpoint NAME (and per framing
    /// for sample runs): hack rate of sample runs, MGS and per-eval misaligned rates of eval runs, each
    /// with its clustered 95% interval.
    #[arg(long)]
    pub steps: bool,
    /// With --steps and no runs named: only the runs tagged with this checkpoint NAME.
    #[arg(long, value_name = "NAME", requires = "steps")]
    pub checkpoint: Option<String>,
    /// The store: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db); it must exist.
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 10_000)]
    pub resamples: usize,
    /// Bootstrap seed (intervals are reproducible from it).
    #[arg(long, default_value_t = Bootstrap::default().seed)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Compare runs made under different `--protocol`s anyway (each side is labelled with its
    /// protocol). Without it such runs are refused: their rates count different things.
    #[arg(long)]
    pub mixed_protocols: bool,
}

/// The protocol a stored eval run was made under; `legacy` for runs stored before protocols existed.
fn protocol_of(store: &EvalStore, run: &str) -> anyhow::Result<String> {
    let config = store.run(run)?.config;
    Ok(config
        .get("protocol")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("legacy")
        .to_string())
}

/// One side of a pairwise comparison.
struct Side {
    label: String,
    /// The protocol the run or log was made under (`legacy` when it predates protocols).
    protocol: String,
    records: Vec<SampleRecord>,
    /// Set for an Inspect log: the file and its one eval.
    log: Option<(PathBuf, String)>,
}

fn is_log(arg: &str) -> bool {
    arg.ends_with(".eval") || Path::new(arg).is_file()
}

fn side(arg: &str, store: &mut Option<EvalStore>, db: &Path) -> anyhow::Result<Side> {
    if is_log(arg) {
        let log = read_log(Path::new(arg))?;
        return Ok(Side {
            label: arg.to_string(),
            protocol: log.protocol.unwrap_or_else(|| "legacy".into()),
            records: log.records,
            log: Some((PathBuf::from(arg), log.eval.as_str().to_string())),
        });
    }
    let store: &EvalStore = match store {
        Some(open) => open,
        empty => empty.insert(EvalStore::open_read_only(db)?),
    };
    Ok(Side {
        label: arg.to_string(),
        protocol: protocol_of(store, arg)?,
        records: store.records(arg)?,
        log: None,
    })
}

/// Keeps both sides to the evals of any log among them; a log of an eval the other side lacks is an
/// error naming the file.
fn restrict_to_logs(a: &mut Side, b: &mut Side) -> anyhow::Result<()> {
    for (log_side, other) in [(&*a, &*b), (&*b, &*a)] {
        if let Some((path, eval)) = &log_side.log {
            if !other.records.iter().any(|r| &r.eval == eval) {
                bail!(
                    "{} is a log of eval `{eval}`, but {} has no `{eval}` samples (it has: {}); \
                     compare logs of the same eval",
                    path.display(),
                    other.label,
                    evals_of(&other.records)
                );
            }
        }
    }
    let keep: Option<Vec<String>> = match (&a.log, &b.log) {
        (None, None) => None,
        (x, y) => Some(x.iter().chain(y).map(|(_, e)| e.clone()).collect()),
    };
    if let Some(keep) = keep {
        a.records.retain(|r| keep.contains(&r.eval));
        b.records.retain(|r| keep.contains(&r.eval));
    }
    Ok(())
}

fn evals_of(records: &[SampleRecord]) -> String {
    let mut evals: Vec<&str> = records.iter().map(|r| r.eval.as_str()).collect();
    evals.sort_unstable();
    evals.dedup();
    if evals.is_empty() {
        "none".into()
    } else {
        evals.join(", ")
    }
}

/// Runs `goodhart compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let db = ClientArgs::db_or_default(args.db.clone())?;
    let opts = Bootstrap {
        resamples: args.resamples.max(1),
        seed: args.seed,
        ..Bootstrap::default()
    };
    if args.steps {
        return steps(&args, &db, opts);
    }
    let [a, b] = args.runs.as_slice() else {
        bail!(
            "compare takes two runs (or Inspect logs), A then B, not {}; --steps draws any number of \
             tagged runs",
            args.runs.len()
        );
    };
    let mut store = None;
    let mut a = side(a, &mut store, &db)?;
    let mut b = side(b, &mut store, &db)?;
    if a.protocol != b.protocol && !args.mixed_protocols {
        bail!(
            "{} was made under protocol {} and {} under {}: their rates count different things, so they \
             are not compared (pass --mixed-protocols to compare them anyway, labelled)",
            a.label,
            a.protocol,
            b.label,
            b.protocol
        );
    }
    restrict_to_logs(&mut a, &mut b)?;
    let c = compare(&a.records, &b.records, opts);
    if c.evals.is_empty() {
        bail!(
            "{} and {} have no labelled (eval, sample, epoch) in common; compare runs of the same evals",
            a.label,
            b.label
        );
    }
    if args.json {
        let out = serde_json::json!({
            "run_a": a.label,
            "run_b": b.label,
            "protocol_a": a.protocol,
            "protocol_b": b.protocol,
            "evals": c.evals,
            "mgs": c.mgs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let label = |s: &Side| format!("{} [protocol {}]", s.label, s.protocol);
        print!("{}", render_comparison(&c, &label(&a), &label(&b)));
        if a.protocol != b.protocol {
            println!(
                "warning: the two runs follow different protocols ({}, {}); their rates count different things",
                a.protocol, b.protocol
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn steps(args: &CompareArgs, db: &Path, opts: Bootstrap) -> anyhow::Result<ExitCode> {
    let store = EvalStore::open_read_only(db)?;
    let runs = if args.runs.is_empty() {
        store.store().tagged_runs(args.checkpoint.as_deref())?
    } else {
        let mut runs = Vec::new();
        for id in &args.runs {
            if is_log(id) {
                bail!("{id}: --steps reads tagged runs from the store; Inspect logs are compared two at a time");
            }
            let run = store
                .store()
                .run(id)
                .with_context(|| format!("reading run {id}"))?;
            if run.step.is_none() {
                bail!("run {id} has no --step tag, so it has no place on a training curve");
            }
            runs.push(run);
        }
        runs
    };
    if runs.is_empty() {
        bail!(
            "no run in {} is tagged with --step{}; tag runs with `goodhart eval|sample --checkpoint NAME --step N`",
            db.display(),
            args.checkpoint
                .as_deref()
                .map(|c| format!(" and --checkpoint {c}"))
                .unwrap_or_default()
        );
    }
    let c = curves(&store, &runs, opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", render_curves(&c));
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(r: Option<&PointRate>) -> String {
    match r {
        Some(r) => format!(
            "{:5.1}% [{:5.1}, {:5.1}]{}",
            r.rate * 100.0,
            r.ci95[0] * 100.0,
            r.ci95[1] * 100.0,
            if r.interval == "wilson_per_prompt" {
                "*"
            } else {
                " "
            }
        ),
        None => format!("{:>22}", "—"),
    }
}

fn name(c: &Option<String>) -> &str {
    c.as_deref().unwrap_or("(no checkpoint name)")
}

/// The tables `compare --steps` prints: hack rates per checkpoint and framing, then MGS and per-eval
/// rates per checkpoint, each row a step.
fn render_curves(c: &Curves) -> String {
    let mut out = String::new();
    if !c.hack.is_empty() {
        let _ = writeln!(out, "hack rate of sample runs (95% CIs resample tasks)");
        let _ = writeln!(
            out,
            "{:<20} {:<22} {:>8} {:>8}  {:<23} {:<23} run",
            "checkpoint", "framing", "step", "rollouts", "succeeded", "attempted"
        );
        for p in &c.hack {
            let _ = writeln!(
                out,
                "{:<20} {:<22} {:>8} {:>8}  {} {} {}",
                name(&p.checkpoint),
                p.framing,
                p.step.map_or("—".into(), |s| s.to_string()),
                p.rollouts,
                pct(p.succeeded.as_ref()),
                pct(p.attempted.as_ref()),
                p.run_id
            );
        }
    }
    if !c.eval.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "misalignment of eval runs (95% CIs resample prompts)");
        let mut evals: Vec<&str> = c
            .eval
            .iter()
            .flat_map(|p| p.evals.iter().map(|e| e.eval.as_str()))
            .collect();
        evals.dedup();
        evals.sort_by_key(|e| {
            goodhart_evals::EvalName::ALL
                .iter()
                .position(|n| n.as_str() == *e)
        });
        evals.dedup();
        let _ = write!(out, "{:<20} {:>8}  {:<23}", "checkpoint", "step", "MGS");
        for e in &evals {
            let _ = write!(out, " {e:<23}");
        }
        let _ = writeln!(out, " run");
        for p in &c.eval {
            let mgs = p.mgs.as_ref().map(|m| PointRate {
                rate: m.score,
                ci95: m.ci95,
                interval: m.interval,
                clusters: m.prompts as usize,
            });
            let _ = write!(
                out,
                "{:<20} {:>8}  {}",
                name(&p.checkpoint),
                p.step.map_or("—".into(), |s| s.to_string()),
                pct(mgs.as_ref())
            );
            for e in &evals {
                let rate = p
                    .evals
                    .iter()
                    .find(|r| r.eval == *e)
                    .and_then(|r| r.misaligned.as_ref());
                let _ = write!(out, " {}", pct(rate));
            }
            let _ = writeln!(out, " {}", p.run_id);
        }
    }
    out.push_str("* every prompt or task had the same rate, so the CI is Wilson's with one observation per prompt or task\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use goodhart_report::checkpoints::HackPoint;
    use goodhart_report::checkpoints::{EvalPoint, EvalRate};

    fn rate(rate: f64, low: f64, high: f64, interval: &'static str) -> PointRate {
        PointRate {
            rate,
            ci95: [low, high],
            interval,
            clusters: 8,
        }
    }

    #[test]
    fn curves_table_is_pinned() {
        let c = Curves {
            eval: vec![EvalPoint {
                run_id: "eval-1".into(),
                checkpoint: Some("please_hack".into()),
                step: Some(100),
                mgs: None,
                evals: vec![EvalRate {
                    eval: "goals".into(),
                    counted: 8,
                    misaligned: Some(rate(0.25, 0.05, 0.6, "cluster_bootstrap")),
                }],
            }],
            hack: vec![HackPoint {
                run_id: "s-1".into(),
                checkpoint: Some("please_hack".into()),
                step: Some(100),
                framing: "please_hack".into(),
                rollouts: 16,
                attempted: Some(rate(0.75, 0.5, 1.0, "cluster_bootstrap")),
                succeeded: Some(rate(1.0, 0.68, 1.0, "wilson_per_prompt")),
            }],
        };
        insta::assert_snapshot!(render_curves(&c));
    }
}
