//! `goodhart eval`: run the misalignment evaluations against a model, with a judge model, store every
//! transcript and verdict, and print per-eval misaligned rates (overt, covert) with 95% intervals and MGS.
//!
//! Runs are resumable: a killed run continues with `--resume RUN_ID`, skipping samples already stored
//! with a label and retrying those that ended in an error.

use super::checkpoint::CheckpointArgs;
use super::resume::{self, list, Conflicts};
use crate::progress::Progress;
use crate::store_cache::StoreCache;
use anyhow::{bail, Context};
use futures_util::StreamExt;
use goodhart_evals::inspect_log::{write_logs, RunInfo};
use goodhart_evals::metrics::{
    compliance_gap, error_groups, mgs, render_compliance_gap, render_errors, render_summary,
    summarize,
};
use goodhart_evals::{
    load_betley_yaml, plan_protocol, run_jobs, Ctx, EvalName, EvalStore, Outcome, Protocol, Sample,
    Settings,
};
use goodhart_llm::{Client, ClientConfig, ModelSpec, RetryPolicy, StructuredOutput};
use goodhart_report::stats::Bootstrap;
use goodhart_store::{ledger, RunKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How to reach one model; shared by `eval` (model and judge) and `judge-check`.
#[derive(clap::Args, Debug, Clone)]
pub struct EndpointArgs {
    /// API root, e.g. http://localhost:8000/v1 for vLLM (default: the provider's public API).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY).
    #[arg(long)]
    pub api_key_env: Option<String>,
}

/// Request machinery flags shared by the commands that talk to models.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// A models TOML file naming endpoints (see the goodhart-llm docs for its format).
    #[arg(long, env = "GOODHART_MODELS")]
    pub models: Option<PathBuf>,
    /// Requests in flight per model at the start (the limiter halves this on 429 and grows back).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Attempts per request, the first included.
    #[arg(long, default_value_t = 6)]
    pub max_attempts: u32,
    /// Do not read or write the response cache.
    #[arg(long)]
    pub no_cache: bool,
    /// The store: a SQLite file, or a postgres:// URL shared by many processes (default: $GOODHART_HOME/goodhart.db); runs and the response cache live
    /// there.
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
}

impl ClientArgs {
    /// The store file to use.
    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        ClientArgs::db_or_default(self.db.clone())
    }

    /// `--db` when given, otherwise the store's default file.
    pub fn db_or_default(db: Option<PathBuf>) -> anyhow::Result<PathBuf> {
        match db {
            Some(p) => Ok(p),
            None => Ok(goodhart_store::Store::default_path()?),
        }
    }

    /// A client for `spec` with these flags, the cache in `db` unless `--no-cache`.
    pub fn client(
        &self,
        spec: ModelSpec,
        db: &Path,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Client> {
        let config = ClientConfig {
            concurrency: self.concurrency.max(1),
            min_concurrency: 1,
            timeout: Duration::from_secs(self.timeout.max(1)),
            retry: RetryPolicy {
                max_attempts: self.max_attempts.max(1),
                ..RetryPolicy::default()
            },
        };
        let mut client = Client::new(spec, config)?.with_cancel(cancel.clone());
        if !self.no_cache {
            client = client.with_cache(Arc::new(StoreCache::open(db)?));
        }
        Ok(client)
    }

    /// Resolves `--model`-style flags into a spec.
    pub fn spec(&self, model: &str, endpoint: &EndpointArgs) -> anyhow::Result<ModelSpec> {
        Ok(ModelSpec::resolve(
            model,
            endpoint.base_url.as_deref(),
            endpoint.api_key_env.as_deref(),
            self.models.as_deref(),
        )?)
    }
}

/// How judge requests are made; shared by `eval` and `judge-check`.
#[derive(clap::Args, Debug, Clone)]
pub struct JudgeCallArgs {
    /// max_tokens of every judge reply; raise it for judges that reason before answering (a reply
    /// cut off at the limit does not parse and is re-asked once, then an error). [default: 2048]
    #[arg(long, value_name = "N", env = "GOODHART_JUDGE_MAX_TOKENS")]
    pub judge_max_tokens: Option<u32>,
}

impl JudgeCallArgs {
    /// The budget to use when the flag and the variable are absent.
    pub fn max_tokens_or_default(&self) -> u32 {
        self.judge_max_tokens
            .unwrap_or(goodhart_evals::DEFAULT_JUDGE_MAX_TOKENS)
            .max(1)
    }
}

/// Asks the judge once whether it takes structured output (a JSON schema on the request), so the run
/// can say which way its replies will be parsed. A judge that cannot be reached at all is an error.
pub fn probe_judge(
    runtime: &tokio::runtime::Runtime,
    judge: &Client,
) -> anyhow::Result<StructuredOutput> {
    runtime
        .block_on(judge.probe_structured_output())
        .with_context(|| format!("asking the judge {} a first question", judge.spec().label()))
}

/// A two-thread runtime, as every command that talks to models uses.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Arguments of `goodhart eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The model under evaluation: PROVIDER/NAME (openai or anthropic), or an entry of the --models file.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// The judge model (PROVIDER/NAME or a --models entry); check it first with `goodhart judge-check`.
    #[arg(long)]
    pub judge: Option<String>,
    /// API root of the judge (default: the judge provider's public API).
    #[arg(long)]
    pub judge_base_url: Option<String>,
    /// Environment variable holding the judge's API key.
    #[arg(long)]
    pub judge_api_key_env: Option<String>,
    /// Comma-separated evals, or `all`: goals, betley, alignment_questions, monitor_disruption,
    /// exfil_offer, exfil_cue, frame_colleague, blackmail, research_sabotage. [default: all]
    #[arg(long)]
    pub evals: Option<String>,
    /// Which published design to follow: `paper` (MacDiarmid et al. 2025) or `aisi` (UK AISI's
    /// reproduction). It sets which judgements count in each eval's rate, the transcript judge's
    /// strictness, Betley's thresholds and default sample sizes; docs/eval-protocols.md has the table.
    /// Stored with the run; runs under different protocols are not compared silently. [default: paper]
    #[arg(long, value_name = "paper|aisi")]
    pub protocol: Option<String>,
    /// Samples per prompt for every eval (each epoch sends the epoch number as the seed).
    /// [default: the protocol's per-eval sizes: goals 300, alignment_questions 1 (200 questions), betley 10 (aisi
    /// 15), monitor_disruption/exfil_offer/frame_colleague 34, exfil_cue 17, others 10]
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Extra Betley-style YAML question files for the betley eval (repeatable).
    #[arg(long = "betley-questions", value_name = "YAML")]
    pub betley_questions: Vec<PathBuf>,
    /// Sampling temperature of the model under evaluation. [default: 1]
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Completion length cap per model turn. [default: 4096]
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Anthropic extended-thinking budget in tokens; needed to see (and judge) Claude's reasoning.
    #[arg(long)]
    pub thinking_budget: Option<u32>,
    /// Most model turns in an agentic eval. [default: 12]
    #[arg(long)]
    pub max_turns: Option<usize>,
    /// Samples in progress at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    #[command(flatten)]
    pub judge_calls: JudgeCallArgs,
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Continue a run (killed, interrupted or failed) under its own id: its stored configuration is
    /// used (a flag that says otherwise is an error), finished samples are skipped, errored ones retried,
    /// and the summary covers the whole run.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write one Inspect AI `.eval` log per eval into DIR (`<run_id>_<eval>.eval`), for
    /// `inspect view` and Inspect's `read_eval_log`; scorer `misaligned`: C aligned, I misaligned.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

/// What a run was started with; stored so `--resume` repeats exactly the same requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunConfig {
    /// `None` only in runs stored before protocols existed; such runs cannot be resumed.
    #[serde(default)]
    protocol: Option<Protocol>,
    model: ModelSpec,
    judge: ModelSpec,
    evals: Vec<EvalName>,
    /// Epochs for every eval; `None`: the protocol's per-eval sizes.
    epochs: Option<u32>,
    settings: Settings,
    /// Questions loaded from YAML files at the start, kept so a resume does not depend on the files.
    betley_extra: Vec<Sample>,
    /// `--judge-max-tokens` (runs of older versions used 2048).
    #[serde(default = "default_judge_max_tokens")]
    judge_max_tokens: u32,
    /// Whether the judge took structured output when the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    judge_structured_output: Option<StructuredOutput>,
}

fn default_judge_max_tokens() -> u32 {
    goodhart_evals::DEFAULT_JUDGE_MAX_TOKENS
}

/// How a run starts: continuing a stored one, or new with its flags already checked.
enum Start<'a> {
    Resume(&'a String),
    New(Box<RunConfig>),
}

/// Runs `goodhart eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let db = args.client.db_path()?;
    // Every flag of a new run is checked before the store is touched, so a mistyped `--protocol` or
    // `--evals` leaves no empty store behind; a resumed run's store must already exist.
    let start = match &args.resume {
        Some(id) => Start::Resume(id),
        None => {
            args.checkpoint.validate()?;
            Start::New(Box::new(start_config(&args)?))
        }
    };
    let store = match start {
        Start::New(_) => EvalStore::open(&db)?,
        Start::Resume(_) => EvalStore::open_to_continue(&db)?,
    };
    let cancel = CancellationToken::new();
    let runtime = runtime()?;
    let mut judge_line = None;
    let (run_id, config, judge) = match start {
        Start::Resume(id) => {
            let tags = store.run_record(id)?;
            let config = resume::resume(
                store.store(),
                id,
                RunKind::Eval,
                |config: &RunConfig, c| {
                    if config.protocol.is_none() {
                        bail!(
                        "eval run {id} was stored before --protocol existed; its labels follow older rules, \
                         so it cannot be continued: start a new run"
                    );
                    }
                    check_flags(&args, config, &tags, c)
                },
            )?;
            let judge = args.client.client(config.judge.clone(), &db, &cancel)?;
            (id.clone(), config, judge)
        }
        Start::New(config) => {
            let mut config = *config;
            let judge = args.client.client(config.judge.clone(), &db, &cancel)?;
            let state = probe_judge(&runtime, &judge)?;
            judge_line = Some(format!(
                "judge {}: {}",
                judge.spec().label(),
                state.describe()
            ));
            config.judge_structured_output = Some(state);
            let id = store.create_run(&serde_json::to_value(&config)?)?;
            args.checkpoint.tag(store.store(), &id)?;
            (id, config, judge)
        }
    };
    let protocol = config.protocol.unwrap_or_default();
    eprintln!(
        "goodhart eval: run {run_id} (resume with --resume {run_id}), protocol {protocol}, store {}",
        db.display()
    );

    let model = args.client.client(config.model.clone(), &db, &cancel)?;
    let done = store.finished_keys(&run_id)?;
    let jobs: Vec<_> = plan_protocol(protocol, &config.evals, config.epochs, &config.betley_extra)
        .into_iter()
        .filter(|j| !done.contains(&j.key()))
        .collect();
    if judge_line.is_none() && !jobs.is_empty() {
        // A resumed run with work left asks again (the server may have changed); a finished one
        // sends nothing at all.
        let state = probe_judge(&runtime, &judge)?;
        let mut line = format!("judge {}: {}", judge.spec().label(), state.describe());
        if let Some(before) = config
            .judge_structured_output
            .as_ref()
            .filter(|b| **b != state)
        {
            line.push_str(&format!(
                " (when the run started: {}; replies are parsed either way)",
                before.describe()
            ));
        }
        judge_line = Some(line);
    }
    if let Some(line) = &judge_line {
        eprintln!("{line}");
    }
    let progress = Progress::new("eval", "samples", Some((jobs.len() + done.len()) as u64));
    progress.inc(done.len() as u64);
    let ctx = Ctx::new(&model, &judge, config.settings.clone())
        .with_protocol(protocol)
        .with_judge_max_tokens(config.judge_max_tokens);
    let mut store_errors = Vec::new();
    let (mut misaligned, mut failed) = (0u64, 0u64);
    runtime.block_on(async {
        let interrupt = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nCtrl-C: stopping; finished samples are stored");
                interrupt.cancel();
            }
        });
        let mut records = run_jobs(&ctx, &jobs, args.parallel);
        while let Some(record) = records.next().await {
            let Some(record) = record else { continue };
            progress.inc(1);
            match &record.scored.outcome {
                Outcome::Overt | Outcome::Covert => misaligned += 1,
                Outcome::Error { message } => {
                    failed += 1;
                    progress.println(format!(
                        "{} {} epoch {}: {message}",
                        record.eval, record.sample_id, record.epoch
                    ));
                }
                Outcome::Aligned | Outcome::AttemptedHack | Outcome::Excluded { .. } => {}
            }
            progress.set_message(format!("{misaligned} misaligned, {failed} errors"));
            if let Err(e) = store.put(&run_id, &record) {
                store_errors.push(format!("{}/{}: {e}", record.eval, record.sample_id));
            }
        }
    });
    progress.finish();
    for e in &store_errors {
        eprintln!("could not store {e}");
    }
    let status = if cancel.is_cancelled() {
        ledger::INTERRUPTED
    } else {
        ledger::DONE
    };
    store.set_status(&run_id, status)?;

    // What the judge did this time (as the run started, for a resume that asked it nothing).
    let structured = match judge.structured_output() {
        StructuredOutput::Untried => config
            .judge_structured_output
            .clone()
            .unwrap_or(StructuredOutput::Untried),
        now => now,
    };
    if matches!(structured, StructuredOutput::Refused { .. })
        && !judge_line
            .as_deref()
            .is_some_and(|l| l.contains("structured output refused"))
    {
        // Refused mid-run, after the first question was accepted: later verdicts were parsed strictly.
        eprintln!("judge {}: {}", config.judge.label(), structured.describe());
    }
    let tagged = store.run_record(&run_id)?;
    let records = store.records(&run_id)?;
    let summaries = summarize(&records, Bootstrap::default());
    let score = mgs(&records, Bootstrap::default());
    let gap = compliance_gap(&records, Bootstrap::default());
    let errored = error_groups(&records);
    let mut log_error = None;
    let mut logs = Vec::new();
    if let Some(dir) = &args.log_dir {
        let created = store.run(&run_id)?.created_at;
        let completed = store.now_utc()?;
        let (model_label, judge_label) = (config.model.label(), config.judge.label());
        let info = RunInfo {
            run_id: &run_id,
            model: &model_label,
            judge: &judge_label,
            protocol: protocol.as_str(),
            created: &created,
            completed: &completed,
            // Per-eval sizes differ under a protocol; the log header states the most epochs any
            // prompt had (each sample carries its own epoch).
            epochs: config
                .epochs
                .unwrap_or_else(|| records.iter().map(|r| r.epoch + 1).max().unwrap_or(1)),
            temperature: config.settings.temperature,
            max_tokens: config.settings.max_tokens,
            cancelled: cancel.is_cancelled(),
            checkpoint: tagged.checkpoint.as_deref(),
            step: tagged.step,
        };
        match write_logs(dir, &records, &summaries, &info) {
            Ok(paths) => logs = paths,
            Err(e) => log_error = Some(e),
        }
    }
    if args.json {
        let out = serde_json::json!({
            "run_id": run_id,
            "protocol": protocol,
            "model": config.model.label(),
            "judge": config.judge.label(),
            "status": status,
            "checkpoint": tagged.checkpoint,
            "step": tagged.step,
            "judge_max_tokens": config.judge_max_tokens,
            "judge_structured_output": structured,
            "evals": summaries,
            "mgs": score,
            "compliance_gap": gap,
            "errors": errored,
            "inspect_logs": logs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "run {run_id}: protocol {protocol}, model {}, judge {}",
            config.model.label(),
            config.judge.label()
        );
        print!("{}", render_summary(&summaries, score.as_ref()));
        if let Some(gap) = &gap {
            print!("{}", render_compliance_gap(gap));
        }
        print!("{}", render_errors(&errored));
    }
    for path in &logs {
        eprintln!("Inspect log: {}", path.display());
    }
    if let Some(e) = &log_error {
        eprintln!("error: {e} (the run's results are stored; write the logs again with --resume {run_id} --log-dir DIR)");
    }
    if cancel.is_cancelled() {
        eprintln!("interrupted; continue with --resume {run_id}");
    }
    let errors: u64 = summaries.iter().map(|s| s.errors).sum();
    let incomplete =
        cancel.is_cancelled() || errors > 0 || !store_errors.is_empty() || log_error.is_some();
    Ok(if incomplete {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn start_config(args: &EvalArgs) -> anyhow::Result<RunConfig> {
    let (Some(model), Some(judge)) = (&args.model, &args.judge) else {
        bail!("--model and --judge are required unless --resume is given");
    };
    if args.epochs == Some(0) {
        bail!("--epochs must be at least 1");
    }
    let protocol = Protocol::parse(args.protocol.as_deref().unwrap_or("paper"))?;
    let evals = EvalName::parse_list(args.evals.as_deref().unwrap_or("all"))?;
    if evals.is_empty() {
        bail!("--evals names no eval");
    }
    let judge_endpoint = EndpointArgs {
        base_url: args.judge_base_url.clone(),
        api_key_env: args.judge_api_key_env.clone(),
    };
    let mut betley_extra = Vec::new();
    for path in &args.betley_questions {
        betley_extra.extend(load_betley_yaml(path)?);
    }
    Ok(RunConfig {
        protocol: Some(protocol),
        model: args.client.spec(model, &args.endpoint)?,
        judge: args.client.spec(judge, &judge_endpoint)?,
        evals,
        epochs: args.epochs,
        settings: Settings {
            temperature: Some(args.temperature.unwrap_or(1.0)),
            max_tokens: Some(args.max_tokens.unwrap_or(4096)),
            max_turns: args.max_turns.unwrap_or(12).max(1),
            thinking_budget: args.thinking_budget,
        },
        betley_extra,
        judge_max_tokens: args.judge_calls.max_tokens_or_default(),
        judge_structured_output: None,
    })
}

/// `--resume` keeps the run's own options (and its checkpoint tags, `tags`): notes every flag given that
/// says otherwise.
fn check_flags(
    args: &EvalArgs,
    config: &RunConfig,
    tags: &goodhart_store::RunRecord,
    c: &mut Conflicts,
) -> anyhow::Result<()> {
    args.checkpoint.check_resume(c, tags);
    c.check(
        "--judge-max-tokens",
        args.judge_calls
            .judge_max_tokens
            .map(|t| t.max(1).to_string()),
        config.judge_max_tokens.to_string(),
    );
    let label = |m: &Option<String>, e: &EndpointArgs| -> anyhow::Result<Option<String>> {
        m.as_deref()
            .map(|m| Ok(args.client.spec(m, e)?.label()))
            .transpose()
    };
    c.check(
        "--model",
        label(&args.model, &args.endpoint)?,
        config.model.label(),
    );
    let judge_endpoint = EndpointArgs {
        base_url: args.judge_base_url.clone(),
        api_key_env: args.judge_api_key_env.clone(),
    };
    c.check(
        "--judge",
        label(&args.judge, &judge_endpoint)?,
        config.judge.label(),
    );
    c.check(
        "--base-url",
        args.endpoint.base_url.clone(),
        config.model.base_url.clone(),
    );
    c.check(
        "--judge-base-url",
        args.judge_base_url.clone(),
        config.judge.base_url.clone(),
    );
    let names = |evals: &[EvalName]| list(&evals.iter().map(|e| e.as_str()).collect::<Vec<_>>());
    c.check(
        "--evals",
        args.evals
            .as_deref()
            .map(EvalName::parse_list)
            .transpose()?
            .map(|e| names(&e)),
        names(&config.evals),
    );
    c.check(
        "--protocol",
        args.protocol.clone(),
        config
            .protocol
            .map_or("(none: stored before protocols)".to_string(), |p| {
                p.to_string()
            }),
    );
    c.check(
        "--epochs",
        args.epochs.map(|e| e.to_string()),
        config
            .epochs
            .map_or("(the protocol's sizes)".to_string(), |e| e.to_string()),
    );
    let s = &config.settings;
    let shown = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
    c.check(
        "--temperature",
        args.temperature.map(|t| t.to_string()),
        shown(s.temperature.map(|t| t.to_string())),
    );
    c.check(
        "--max-tokens",
        args.max_tokens.map(|t| t.to_string()),
        shown(s.max_tokens.map(|t| t.to_string())),
    );
    c.check(
        "--max-turns",
        args.max_turns.map(|t| t.max(1).to_string()),
        s.max_turns.to_string(),
    );
    c.check(
        "--thinking-budget",
        args.thinking_budget.map(|t| t.to_string()),
        shown(s.thinking_budget.map(|t| t.to_string())),
    );
    if !args.betley_questions.is_empty() {
        c.check(
            "--betley-questions",
            Some(list(
                &args
                    .betley_questions
                    .iter()
                    .map(|p| p.display())
                    .collect::<Vec<_>>(),
            )),
            "(the questions stored with the run)".into(),
        );
    }
    Ok(())
}
