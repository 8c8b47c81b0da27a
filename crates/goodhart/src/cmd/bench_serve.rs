//! `goodhart bench serve`: `/run_code` throughput and latency under verl-like load, against an in-process
//! server on loopback, with the direct sandbox and `/v1/ping` measured in the same run as baselines.

use anyhow::{bail, Context as _};
use clap::Args;
use futures_util::StreamExt as _;
use goodhart_sandbox::{Program, Sandbox, Status};
use goodhart_server::{AppState, GateConfig, ServerConfig};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `goodhart bench serve`.
#[derive(Args)]
pub struct ServeBenchArgs {
    /// `/run_code` requests to send.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Requests in flight at once (verl's client sends up to 256).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Runs of the direct-sandbox baseline (same programs, no HTTP).
    #[arg(long, default_value_t = 1_000)]
    baseline_runs: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also measure `/run_code` with every execution stored, as `serve` journals it: once in a
    /// temporary SQLite file and once in the PostgreSQL database at this URL, in this same run, and
    /// report their throughputs and ratio (exit 1 unless each stored every request once).
    #[arg(long, value_name = "POSTGRES_URL", value_parser = super::DbLocation)]
    stores: Option<std::path::PathBuf>,
}

/// The program of request `i`: verl's stdin-based shape, with an answer only the right input produces.
fn program_source() -> &'static str {
    "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a * b + 1)\n"
}

fn stdin_of(i: usize) -> String {
    format!("{i} {}", i % 97 + 3)
}

fn expected_of(i: usize) -> String {
    format!("{}\n", i * (i % 97 + 3) + 1)
}

/// Latency percentiles of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Runs the benchmark; exit code 1 when any request failed or was lost.
pub fn run(args: ServeBenchArgs) -> anyhow::Result<ExitCode> {
    if args.requests == 0 || args.concurrency == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    let sandbox = Arc::new(Sandbox::discover().context("starting the sandbox")?);
    let workers = sandbox.config().pool_size;

    // Baseline 1: the sandbox alone, `workers` threads pulling the same programs.
    let direct_runs = args.baseline_runs.max(1);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let direct_errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (sandbox, next, errors) = (
                Arc::clone(&sandbox),
                Arc::clone(&next),
                Arc::clone(&direct_errors),
            );
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= direct_runs {
                    break;
                }
                let program = Program {
                    main: program_source().to_string(),
                    stdin: stdin_of(i).into_bytes(),
                    ..Program::default()
                };
                let outcome = sandbox.run(&program);
                if outcome.status != Status::Ok || outcome.stdout != expected_of(i).into_bytes() {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let direct_rps = direct_runs as f64 / started.elapsed().as_secs_f64();

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let figures = runtime.block_on(async {
        let state = Arc::new(AppState::new(
            Arc::clone(&sandbox) as _,
            bench_config(workers),
        ));
        let (base, client, stop, server) = start(&state, args.concurrency).await?;

        // Baseline 2: the HTTP stack alone (`/v1/ping`), same client and concurrency.
        let pings = args.requests.min(20_000);
        let started = Instant::now();
        let ping_failures = futures_util::stream::iter(0..pings)
            .map(|_| {
                let (client, url) = (client.clone(), format!("{base}/v1/ping"));
                async move {
                    client
                        .get(url)
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                }
            })
            .buffer_unordered(args.concurrency)
            .filter(|ok| std::future::ready(!ok))
            .count()
            .await;
        let ping_rps = pings as f64 / started.elapsed().as_secs_f64();

        // The measurement: verl-shaped `/run_code` requests, each checked against its own answer.
        let (results, elapsed) =
            measure_run_code(&client, &base, args.requests, args.concurrency, None).await;
        let answered_by_server = state.metrics.requests_total();
        let _ = stop.send(());
        server.await??;
        anyhow::Ok((
            results,
            elapsed,
            ping_rps,
            ping_failures,
            pings,
            answered_by_server,
        ))
    })?;
    let (results, elapsed, ping_rps, ping_failures, pings, answered_by_server) = figures;
    let stores = match &args.stores {
        Some(pg) => {
            if !matches!(
                goodhart_store::Location::parse(pg)?,
                goodhart_store::Location::Postgres(_)
            ) {
                bail!("--stores takes a PostgreSQL URL (postgres://...), to compare with a SQLite file");
            }
            Some(compare_stores(&runtime, &sandbox, workers, pg, &args)?)
        }
        None => None,
    };

    let mut seen = vec![false; args.requests];
    let mut latencies = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for (i, outcome) in results {
        seen[i] = true;
        match outcome {
            Ok(latency) => latencies.push(latency),
            Err(e) => errors.push((i, e)),
        }
    }
    let lost = seen.iter().filter(|s| !**s).count();
    latencies.sort();
    let rps = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    // The server counted every request it answered: the pings, the /run_code requests.
    let server_lost =
        (pings + args.requests) as u64 - answered_by_server.min((pings + args.requests) as u64);
    let direct_errors = direct_errors.load(std::sync::atomic::Ordering::Relaxed);
    let report = json!({
        "requests": args.requests, "concurrency": args.concurrency, "sandbox_workers": workers,
        "errors": errors.len(), "lost": lost, "server_unanswered": server_lost,
        "run_code_requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "elapsed_s": elapsed.as_secs_f64(),
        "baseline_direct_sandbox_runs_per_s": direct_rps, "baseline_direct_errors": direct_errors,
        "baseline_ping_requests_per_s": ping_rps, "baseline_ping_failures": ping_failures,
        "ratio_vs_direct_sandbox": rps / direct_rps,
    });
    let mut report = report;
    if let Some((figures, _)) = &stores {
        report["stores"] = figures.clone();
    }
    if args.json {
        println!("{report}");
    } else {
        println!(
            "goodhart bench serve: {} /run_code requests at concurrency {}, {} sandbox workers",
            args.requests, args.concurrency, workers
        );
        println!("  /run_code            {rps:>10.1} req/s   p50 {p50:>8.1} ms   p99 {p99:>8.1} ms   ({:.1} s)", elapsed.as_secs_f64());
        println!(
            "  errors {}   lost {}   unanswered by server {}",
            errors.len(),
            lost,
            server_lost
        );
        println!("  baseline: direct Sandbox::run {direct_rps:>10.1} runs/s ({direct_runs} runs, {direct_errors} wrong)");
        println!("  baseline: /v1/ping            {ping_rps:>10.1} req/s  ({pings} requests, {ping_failures} failed)");
        println!(
            "  ratio /run_code over HTTP vs direct sandbox: {:.3}",
            rps / direct_rps
        );
        for (i, e) in errors.iter().take(5) {
            println!("  error in request {i}: {e:.300}");
        }
    }
    let stores_ok = match &stores {
        Some((figures, ok)) => {
            if !args.json {
                println!(
                    "  stored /run_code: SQLite {:.1} req/s, PostgreSQL {:.1} req/s, ratio {:.3} (rows {} / {})",
                    figures["sqlite_requests_per_s"].as_f64().unwrap_or(f64::NAN),
                    figures["postgres_requests_per_s"].as_f64().unwrap_or(f64::NAN),
                    figures["postgres_over_sqlite"].as_f64().unwrap_or(f64::NAN),
                    figures["sqlite_rows"], figures["postgres_rows"],
                );
            }
            *ok
        }
        None => true,
    };
    let failed = !errors.is_empty()
        || lost > 0
        || server_lost > 0
        || direct_errors > 0
        || ping_failures > 0
        || !stores_ok;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Sends `requests` verl-shaped `/run_code` requests to `base`, `concurrency` at a time, each checked
/// against its own answer; returns each request's latency (or what was wrong) and the wall time.
async fn measure_run_code(
    client: &reqwest::Client,
    base: &str,
    requests: usize,
    concurrency: usize,
    step: Option<i64>,
) -> (Vec<(usize, Result<Duration, String>)>, Duration) {
    let started = Instant::now();
    let results: Vec<(usize, Result<Duration, String>)> = futures_util::stream::iter(0..requests)
            .map(|i| {
                let (client, url) = (client.clone(), format!("{base}/run_code"));
                async move {
                    let body = json!({
                        "compile_timeout": 10, "run_timeout": 10, "code": program_source(), "stdin": stdin_of(i),
                        "memory_limit_MB": 1024, "language": "python", "files": {}, "fetch_files": [],
                    });
                    let sent = Instant::now();
                    let outcome = async {
                        let resp = {
                            let mut post = client.post(url).json(&body);
                            if let Some(step) = step {
                                post = post.header("x-goodhart-step", step.to_string());
                            }
                            post
                        }
                        .send().await.map_err(|e| e.to_string())?;
                        let status = resp.status();
                        let answer: Value = resp.json().await.map_err(|e| e.to_string())?;
                        let stdout = answer["run_result"]["stdout"].as_str().unwrap_or_default();
                        if !status.is_success() || answer["status"] != "Success" || stdout != expected_of(i) {
                            return Err(format!("HTTP {status}: {answer}"));
                        }
                        Ok(sent.elapsed())
                    }
                    .await;
                    (i, outcome)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    (results, started.elapsed())
}

/// A judge for servers that only run code: `/run_code` never grades.
struct NoJudge;

impl goodhart_server::Judge for NoJudge {
    fn judge(
        &self,
        _: &goodhart_core::Task,
        _: &goodhart_core::Rollout,
    ) -> goodhart_server::Judged {
        goodhart_server::Judged {
            verdicts: Default::default(),
            hack: Default::default(),
            extra: Default::default(),
        }
    }
}

/// `/run_code` throughput with every execution stored (as `goodhart serve` journals it) in `db`:
/// requests per second and the rows the store then holds for the run.
async fn stored_run_code(
    sandbox: &Arc<Sandbox>,
    workers: usize,
    db: &std::path::Path,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, usize, usize)> {
    let store = goodhart_store::Store::open(db)?;
    let run_id = store.create_run(goodhart_store::RunKind::Serve, &json!({"bench": "serve"}))?;
    let grading = goodhart_server::Grading::new(
        Vec::new(),
        Arc::new(NoJudge),
        Some(goodhart_server::Journal {
            store,
            run_id: run_id.clone(),
        }),
        goodhart_server::RewardPolicy::Proxy,
        goodhart_core::Profile::Assert,
        1.0,
    );
    let state = Arc::new(
        AppState::new(Arc::clone(sandbox) as _, bench_config(workers)).with_grading(grading),
    );
    let (base, client, stop, server) = start(&state, concurrency).await?;
    // A step of this pass's own: the requests are the same in every bench run, and a store that kept
    // an earlier run's executions would take them for retries (result keys include the step).
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (results, elapsed) =
        measure_run_code(&client, &base, requests, concurrency, Some(step)).await;
    let _ = stop.send(());
    server.await??;
    let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
    let stored = goodhart_store::Store::open(db)?.code_runs(&run_id)?.len();
    Ok((ok as f64 / elapsed.as_secs_f64(), requests - ok, stored))
}

/// The same `/run_code` load stored in a temporary SQLite file and in the PostgreSQL database `pg`, one
/// after the other in this run; the JSON figures and whether every request was answered and stored once.
fn compare_stores(
    runtime: &tokio::runtime::Runtime,
    sandbox: &Arc<Sandbox>,
    workers: usize,
    pg: &std::path::Path,
    args: &ServeBenchArgs,
) -> anyhow::Result<(Value, bool)> {
    let file = std::env::temp_dir().join(format!("goodhart-bench-serve-{}.db", std::process::id()));
    let sqlite = runtime.block_on(stored_run_code(
        sandbox,
        workers,
        &file,
        args.requests,
        args.concurrency,
    ));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let (sqlite_rps, sqlite_errors, sqlite_rows) = sqlite?;
    let (pg_rps, pg_errors, pg_rows) = runtime.block_on(stored_run_code(
        sandbox,
        workers,
        pg,
        args.requests,
        args.concurrency,
    ))?;
    let ok = sqlite_errors == 0
        && pg_errors == 0
        && sqlite_rows == args.requests
        && pg_rows == args.requests;
    Ok((
        json!({
            "sqlite_requests_per_s": sqlite_rps, "sqlite_errors": sqlite_errors, "sqlite_rows": sqlite_rows,
            "postgres_requests_per_s": pg_rps, "postgres_errors": pg_errors, "postgres_rows": pg_rows,
            "postgres_over_sqlite": pg_rps / sqlite_rps,
        }),
        ok,
    ))
}

/// The server configuration every bench pass uses: `workers` sandbox runs at once and a queue that never
/// refuses or times out, so the figure measures throughput, not back-pressure.
fn bench_config(workers: usize) -> ServerConfig {
    ServerConfig {
        gate: GateConfig {
            workers,
            max_queued: 1 << 20,
            max_wait: Duration::from_secs(3600),
        },
        ..ServerConfig::default()
    }
}

/// A running bench server on 127.0.0.1: its base URL, a client sized for `concurrency`, the sender that
/// stops it and its task.
type Running = (
    String,
    reqwest::Client,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

/// Serves `state` on a free port of 127.0.0.1 until the returned sender fires.
async fn start(state: &Arc<AppState>, concurrency: usize) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(goodhart_server::serve(
        listener,
        Arc::clone(state),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(3600))
        .build()?;
    Ok((base, client, stop, server))
}
