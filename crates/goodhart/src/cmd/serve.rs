//! `goodhart serve`: the reward service for RL trainers.

use anyhow::Context as _;
use clap::Args;
use goodhart_core::Profile;
use goodhart_sandbox::Sandbox;
use goodhart_server::{AppState, GateConfig, Grading, RewardPolicy, ServerConfig};
use goodhart_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Options of `goodhart serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Tasks the grading endpoints know by id (`bundled`, a HumanEval/MBPP/native/verl file). Without
    /// it, grading requests must carry their tasks inline (as `goodhart export` rows do).
    #[arg(long, value_name = "SRC")]
    pub tasks: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Default reward policy: proxy, hardened, penalty (proxy minus --penalty when a hack is detected)
    /// or screen (reward null for flagged rollouts).
    #[arg(long, default_value = "proxy")]
    pub reward: RewardPolicy,
    /// The hackable profile the proxy reward reads (assert or pytest).
    #[arg(long, default_value = "assert")]
    pub proxy_profile: Profile,
    /// Default penalty subtracted by the `penalty` policy (a finite number).
    #[arg(long, default_value_t = 1.0, value_parser = super::finite_f64)]
    pub penalty: f64,
    /// The store for graded requests: a SQLite file, or a postgres:// URL shared by many processes; replicas on one PostgreSQL store act as one
    /// service (default: $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH|URL", env = "GOODHART_DB", value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
    /// Name the service this replica is one of. Replicas started with the same NAME on one store act as
    /// one service: `goodhart report training --service NAME` merges their runs, and `/metrics` adds
    /// `goodhart_service_*` gauges read from the store over every replica (the same on each: aggregate
    /// them with max(), and the per-process `goodhart_*_total` counters with sum()). Stored in the serve
    /// run's config as `service`.
    #[arg(long, env = "GOODHART_SERVICE", value_name = "NAME", value_parser = service_name)]
    pub service: Option<String>,
    /// Seconds `/metrics` reuses the store-wide `goodhart_service_*` totals before reading them again.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub service_metrics_ttl: u64,
    /// Programs run at once (default: the sandbox's pool size).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Requests allowed to wait for a sandbox turn before new ones get HTTP 504.
    #[arg(long, default_value_t = 65_536)]
    pub max_queue: usize,
    /// Seconds a request may wait for a sandbox turn before it gets HTTP 504 (verl retries on 504);
    /// `/run_code` waits at most its `compile_timeout` + 9 s, so verl's own request timeout never fires
    /// first.
    #[arg(long, default_value_t = 600)]
    pub queue_timeout: u64,
    /// Largest request body accepted, in MiB.
    #[arg(long, default_value_t = 32)]
    pub max_body_mb: usize,
    /// Seconds a client may take to send a request's headers before its connection is closed.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive before the request gets HTTP 408.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub body_timeout: u64,
    /// The LLM monitor reviews every graded rollout before its reward is computed (so under `union` or
    /// `confirm` it changes what `penalty` and `screen` pay); each review holds its sandbox turn until
    /// the monitor answers.
    #[command(flatten)]
    pub monitor: super::monitor::MonitorArgs,
    /// A models TOML file naming endpoints, for --monitor NAME.
    #[arg(long, env = "GOODHART_MODELS", value_name = "PATH")]
    pub models: Option<PathBuf>,
}

/// The real grader and detectors, then the LLM monitor under its policy.
struct MonitoredJudge {
    inner: goodhart_server::GraderJudge,
    monitoring: super::monitor::Monitoring,
}

impl goodhart_server::Judge for MonitoredJudge {
    fn judge(
        &self,
        task: &goodhart_core::Task,
        rollout: &goodhart_core::Rollout,
    ) -> goodhart_server::Judged {
        let mut judged = self.inner.judge(task, rollout);
        let mut annotated = rollout.clone();
        let submission = goodhart_grade::extract(&rollout.completion, rollout.files.as_ref());
        judged.hack = self
            .monitoring
            .apply(task, &mut annotated, &submission, &judged.hack);
        if let Some(m) = annotated.extra.remove("monitor") {
            judged.extra.insert("monitor".to_string(), m);
        }
        judged
    }
}

/// A service name: non-empty, printable, at most 128 bytes (it becomes a Prometheus label value).
fn service_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("a service name must not be empty".to_string());
    }
    if t.len() > 128 || t.chars().any(char::is_control) {
        return Err(format!(
            "`{}` is not a service name: use at most 128 printable characters",
            t.escape_debug()
        ));
    }
    Ok(t.to_string())
}

/// Runs the server until SIGINT or SIGTERM, then drains the requests in flight.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.proxy_profile.is_proxy() {
        anyhow::bail!(
            "--proxy-profile must be a hackable profile (assert or pytest), not `{}`; use --reward hardened \
             for ground-truth rewards",
            args.proxy_profile
        );
    }
    let sandbox = Arc::new(Sandbox::discover().context("starting the sandbox")?);
    let workers = args.workers.unwrap_or(sandbox.config().pool_size).max(1);
    let config = ServerConfig {
        max_body_bytes: args.max_body_mb.saturating_mul(1 << 20),
        gate: GateConfig {
            workers,
            max_queued: args.max_queue,
            max_wait: Duration::from_secs(args.queue_timeout),
        },
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        body_timeout: Duration::from_secs(args.body_timeout.max(1)),
        ..ServerConfig::default()
    };
    let tasks = match &args.tasks {
        Some(src) => {
            goodhart_tasks::load(src).with_context(|| format!("loading tasks from `{src}`"))?
        }
        None => Vec::new(),
    };
    let db = match &args.db {
        Some(path) => path.clone(),
        None => Store::default_path()?,
    };
    let store = Store::open(&db).with_context(|| format!("opening the store {}", db.display()))?;
    let monitor = args.monitor.setup(args.models.as_deref())?;
    let mut run_config = serde_json::json!({
        "tasks": args.tasks, "task_count": tasks.len(), "addr": args.addr, "reward": args.reward.as_str(),
        "proxy_profile": args.proxy_profile.as_str(), "penalty": args.penalty,
    });
    if let Some(name) = &args.service {
        run_config[goodhart_store::SERVICE_CONFIG_KEY] = serde_json::json!(name);
    }
    if let Some(m) = &monitor {
        run_config["monitor"] = serde_json::to_value(m)?;
    }
    let task_count = tasks.len();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let grading = match &monitor {
        None => Grading::journaled(
            tasks,
            Arc::clone(&sandbox),
            store,
            &run_config,
            args.reward,
            args.proxy_profile,
            args.penalty,
        )?,
        Some(setup) => {
            // Reviews run on the server's runtime, from the sandbox gate's blocking threads.
            let judge = MonitoredJudge {
                inner: goodhart_server::GraderJudge::new(goodhart_grade::Grader::new(Arc::clone(
                    &sandbox,
                ))),
                monitoring: super::monitor::Monitoring {
                    blocking: goodhart_monitor::BlockingMonitor::on(
                        setup.monitor(&db, false, super::monitor::TIMEOUT)?,
                        runtime.handle().clone(),
                    ),
                    policy: setup.policy,
                },
            };
            let run_id = store.create_run(goodhart_store::RunKind::Serve, &run_config)?;
            Grading::new(
                tasks,
                Arc::new(judge),
                Some(goodhart_server::Journal { store, run_id }),
                args.reward,
                args.proxy_profile,
                args.penalty,
            )
        }
    };
    let run_id = grading
        .journal
        .as_ref()
        .map(|j| j.run_id.clone())
        .unwrap_or_default();
    let mut state = AppState::new(sandbox, config).with_grading(grading);
    if let Some(name) = &args.service {
        state = state.with_service(
            goodhart_server::Service::new(name.clone())
                .with_ttl(Duration::from_secs(args.service_metrics_ttl)),
        );
    }
    let state = Arc::new(state);
    runtime.block_on(async move {
        let (listener, addr) = super::listen(&args.addr).await?;
        eprintln!(
            "goodhart serve: listening on http://{addr} ({workers} sandbox workers, {task_count} tasks, \
             reward {}, store {} run {run_id})",
            args.reward,
            db.display()
        );
        let served = goodhart_server::serve(listener, Arc::clone(&state), goodhart_server::shutdown_signal()).await;
        let status = if served.is_ok() { "done" } else { "failed" };
        if let Some(journal) = state.grading.as_ref().and_then(|g| g.journal.as_ref()) {
            journal.store.finish_run(&journal.run_id, status)?;
        }
        served.context("serving")?;
        eprintln!("goodhart serve: shut down cleanly");
        Ok(ExitCode::SUCCESS)
    })
}
