//! One module per subcommand; each exposes an `Args`/subcommand type and a `run` that returns the exit code.

use clap::Subcommand;
use std::process::ExitCode;

// Subcommand modules (add one line per module).
pub mod audit;
pub mod bench;
pub mod bench_detect;
pub mod bench_grade;
pub mod bench_llm;
pub mod bench_monitor;
pub mod bench_report;
pub mod bench_serve;
pub mod bench_verdicts;
pub mod checkpoint;
pub mod compare;
pub mod eval;
pub mod export;
pub mod grade;
pub mod join;
pub mod judge_check;
pub mod monitor;
pub mod report;
pub mod resume;
pub mod sample;
pub mod sandbox;
pub mod serve;
pub mod tasks;
pub mod view;

/// Every `goodhart` subcommand.
#[derive(Subcommand)]
pub enum Command {
    // Subcommand variants (add one variant per subcommand, documented; its doc comment is the --help text).
    /// Run the misalignment evaluations (goals, betley, alignment_questions, monitor_disruption,
    /// exfil_offer, exfil_cue, frame_colleague, blackmail, research_sabotage) with a judge model, under
    /// --protocol paper|aisi: per-eval misaligned rates (overt and covert) with 95% intervals, the MGS
    /// with its chat-like and agentic halves, and exfil_cue's compliance gap. Stored and resumable.
    Eval(eval::EvalArgs),
    /// Compare two eval runs (store ids or Inspect `.eval` logs) over the same prompts: paired
    /// differences in misaligned rate per eval and for MGS, with bootstrap intervals; or, with
    /// `--steps`, tagged runs along training: hack rate and MGS per checkpoint step and framing.
    Compare(compare::CompareArgs),
    /// Measure a judge model's agreement (accuracy, Cohen's kappa, per class and per rubric) with the
    /// labelled calibration set shipped with the eval suite, covering every rubric the evals ask
    /// (the 0-100 scales and the goals taxonomy included), and say which rubrics it is unusable for.
    /// Exit code 0: usable for every rubric; 1: unusable for some (named); 2: could not run.
    JudgeCheck(judge_check::JudgeCheckArgs),
    /// Run one Python file in the sandbox and say exactly how it ended (check your isolation with it).
    Sandbox(sandbox::SandboxArgs),
    /// Measure Goodhart's speed against an honest baseline measured in the same invocation.
    Bench(bench::BenchArgs),
    /// Run every exploit in the library against every task and grader profile: which graders fall to which
    /// hacks, whether each reference passes everywhere, whether trivial wrong answers fail, and whether the
    /// hardened ground truth held. Results go to the store; `--join RUN_ID` shares one audit among
    /// many worker processes and machines through the store's queue.
    Audit(audit::AuditArgs),
    /// Grade a file of rollouts under every grader profile and label hacks with evidence: verdicts,
    /// reward and `hack` per record (JSONL), pass and hack rates with 95% intervals by kind, framing and
    /// step. Streams, stores every result, and resumes from an existing --output; `--join RUN_ID`
    /// shares one large rollout file among many worker processes and machines.
    Grade(grade::GradeArgs),
    /// Sample a model on coding tasks under inoculation framings and measure how often it hacks: proxy and
    /// hardened pass rates and hack rates by kind, each with a 95% interval, per framing. Resumable.
    Sample(sample::SampleArgs),
    /// Serve rewards to RL trainers: SandboxFusion's /run_code (verl), /get_reward (OpenRLHF), /v1/grade,
    /// /metrics.
    Serve(serve::ServeArgs),
    /// Write a framed training dataset (verl parquet, OpenRLHF or JSONL) with the framing in the system
    /// prompt and the grading key in every row.
    Export(export::ExportArgs),
    /// List the task sources built into the binary (`bundled`, `humaneval`, `mbpp`) with their task
    /// counts; any of them works as `--tasks NAME`, from any directory.
    Tasks(tasks::TasksArgs),
    /// Report on stored runs: `--html FILE` writes one self-contained page (training curves, framings,
    /// eval rates and MGS with misalignment per checkpoint step, audit heat map, flagged rollouts with
    /// their evidence, eval transcripts), `--json` prints the same numbers; `report training` prints
    /// rates per step as a table. `goodhart view` serves the same pages live.
    Report(report::ReportArgs),
    /// Browse the store in a web browser: the report's pages (training, framings, evals, audit,
    /// rollouts) served live and read-only, with a page for every rollout and eval sample; a click on a
    /// point of a training curve opens the rollouts behind it. Listens on 127.0.0.1:8765 by default.
    View(view::ViewArgs),
}

/// Parses a finite number, for options whose value ends up in a reward: `nan` or `inf` would make the
/// reward `null` (which trainers read as "drop this rollout") or infinite.
pub fn finite_f64(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(x) => Err(format!("must be a finite number, not {x}")),
        Err(e) => Err(format!("not a number: {e}")),
    }
}

/// Parses `--db` (and `GOODHART_DB`): a SQLite file path or a `postgres://` / `postgresql://` URL; any
/// other `scheme://` is refused here, before anything runs, naming the value with its password redacted
/// (clap's own "invalid value" message would echo the password).
#[derive(Clone)]
pub struct DbLocation;

impl clap::builder::TypedValueParser for DbLocation {
    type Value = std::path::PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let path = std::path::PathBuf::from(value);
        match goodhart_store::Location::parse(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--db: {e}\n"),
            )
            .with_cmd(cmd)),
        }
    }
}

/// Binds the listening socket of `serve` and `view`, naming the address when it cannot.
pub async fn listen(addr: &str) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Dispatches a parsed subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        // Dispatch arms (one per variant).
        Command::Eval(args) => eval::run(args),
        Command::Compare(args) => compare::run(args),
        Command::JudgeCheck(args) => judge_check::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Grade(args) => grade::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Export(args) => export::run(args),
        Command::Report(args) => report::run(args),
        Command::Tasks(args) => tasks::run(args),
        Command::View(args) => view::run(args),
    }
}
