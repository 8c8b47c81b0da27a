//! `goodhart bench llm`: the model client's overhead, measured against raw HTTP calls in the same run.
//!
//! An in-process fake server answers at once; the same requests go through (a) plain reqwest POSTs with a
//! semaphore and a JSON parse (the baseline: what any client must do) and (b) the full
//! `goodhart_llm::Client` (adaptive limiter, retry loop, wire-shape parsing, reasoning split). The ratio
//! says what the machinery costs; peak RSS is the process's high-water mark (`VmHWM`).

use anyhow::{bail, Context};
use futures_util::StreamExt;
use goodhart_llm::fake::FakeServer;
use goodhart_llm::{ChatRequest, Client, ClientConfig, Message, ModelSpec, RetryPolicy};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests per second the client must sustain against a zero-latency server.
const TARGET_RPS: f64 = 2000.0;
/// Peak resident memory the whole run (server, client and baseline) may reach.
const TARGET_RSS_MB: f64 = 200.0;

/// Arguments of `goodhart bench llm`.
#[derive(clap::Args, Debug)]
pub struct LlmArgs {
    /// Requests per measured round.
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Requests in flight at once (for the client: its starting and maximum concurrency).
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// Measured rounds per side; the median round is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    requests: usize,
    concurrency: usize,
    rounds: usize,
    client_rps: f64,
    baseline_rps: f64,
    ratio: f64,
    client_errors: usize,
    baseline_errors: usize,
    peak_rss_mb: f64,
    target_rps: f64,
    target_rss_mb: f64,
    met: bool,
}

/// Runs the benchmark and prints requests/s, the ratio to the baseline and peak RSS.
pub fn run(args: LlmArgs) -> anyhow::Result<ExitCode> {
    if args.requests == 0 || args.concurrency == 0 || args.rounds == 0 {
        bail!("--requests, --concurrency and --rounds must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(measure(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(if report.met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn measure(args: &LlmArgs) -> anyhow::Result<Report> {
    let server = FakeServer::constant("```python\ndef add(a, b):\n    return a + b\n```")
        .await
        .context("starting the fake server")?;
    let spec = ModelSpec::parse("openai/bench", Some(&server.openai_base_url()), None)?;
    let config = ClientConfig {
        concurrency: args.concurrency,
        min_concurrency: 1,
        timeout: Duration::from_secs(30),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    };
    let client = Client::new(spec, config)?;
    let http = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.openai_base_url());
    let request = ChatRequest::new(vec![
        Message::system("You are solving a Python programming task."),
        Message::user("Write add(a, b)."),
    ]);
    let body = Arc::new(serde_json::to_vec(&goodhart_llm::openai::request_body(
        "bench", &request,
    ))?);

    // Warm-up: open connections and fault in code paths on both sides before timing.
    let warm = args.requests.min(200);
    client_round(&client, &request, warm).await;
    baseline_round(&http, &url, &body, args.concurrency, warm).await;

    let (mut client_rps, mut baseline_rps) = (Vec::new(), Vec::new());
    let (mut client_errors, mut baseline_errors) = (0, 0);
    for _ in 0..args.rounds {
        let (rps, errors) = client_round(&client, &request, args.requests).await;
        client_rps.push(rps);
        client_errors += errors;
        let (rps, errors) =
            baseline_round(&http, &url, &body, args.concurrency, args.requests).await;
        baseline_rps.push(rps);
        baseline_errors += errors;
    }
    let client_rps = median(&mut client_rps);
    let baseline_rps = median(&mut baseline_rps);
    let peak_rss_mb = peak_rss_mb()?;
    let met = client_rps >= TARGET_RPS && peak_rss_mb <= TARGET_RSS_MB && client_errors == 0;
    Ok(Report {
        requests: args.requests,
        concurrency: args.concurrency,
        rounds: args.rounds,
        client_rps,
        baseline_rps,
        ratio: if baseline_rps > 0.0 {
            client_rps / baseline_rps
        } else {
            0.0
        },
        client_errors,
        baseline_errors,
        peak_rss_mb,
        target_rps: TARGET_RPS,
        target_rss_mb: TARGET_RSS_MB,
        met,
    })
}

/// One round through the full client; returns requests/s and the number of failed requests.
async fn client_round(client: &Client, request: &ChatRequest, n: usize) -> (f64, usize) {
    let start = Instant::now();
    let outcomes: Vec<_> = client
        .chat_all((0..n).map(|i| ((), request.clone(), i as u32)))
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let errors = outcomes.iter().filter(|(_, o)| o.is_err()).count();
    (n as f64 / secs, errors)
}

/// One round of plain POSTs: bounded concurrency, read the body, parse it as JSON, nothing else.
async fn baseline_round(
    http: &reqwest::Client,
    url: &str,
    body: &Arc<Vec<u8>>,
    concurrency: usize,
    n: usize,
) -> (f64, usize) {
    let start = Instant::now();
    let outcomes: Vec<bool> = futures_util::stream::iter(0..n)
        .map(|_| async {
            let sent = http
                .post(url)
                .header("content-type", "application/json")
                .body(body.as_ref().clone())
                .send()
                .await;
            match sent {
                Ok(resp) => match resp.bytes().await {
                    Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                    Err(_) => false,
                },
                Err(_) => false,
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    (n as f64 / secs, outcomes.iter().filter(|ok| !**ok).count())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The process's peak resident set (`VmHWM` in /proc/self/status), in MB.
fn peak_rss_mb() -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("/proc/self/status has no VmHWM line")?;
    let kb: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("cannot read `{line}` in /proc/self/status"))?;
    Ok(kb / 1024.0)
}

fn render(r: &Report) -> String {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    format!(
        "goodhart bench llm: {} requests x {} rounds, {} in flight, zero-latency fake server\n\
         \n\
         {:<28} {:>12}\n\
         {:<28} {:>12.0}\n\
         {:<28} {:>12.0}\n\
         {:<28} {:>12.2}\n\
         {:<28} {:>12}\n\
         {:<28} {:>12.1}\n\
         \n\
         target >= {:.0} req/s: {}; target <= {:.0} MB peak RSS: {}\n",
        r.requests,
        r.rounds,
        r.concurrency,
        "",
        "median",
        "client requests/s",
        r.client_rps,
        "baseline (raw reqwest) req/s",
        r.baseline_rps,
        "client / baseline",
        r.ratio,
        "client errors",
        r.client_errors,
        "peak RSS (MB, whole process)",
        r.peak_rss_mb,
        r.target_rps,
        verdict(r.client_rps >= r.target_rps && r.client_errors == 0),
        r.target_rss_mb,
        verdict(r.peak_rss_mb <= r.target_rss_mb),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_table_is_pinned() {
        let r = Report {
            requests: 1000,
            concurrency: 1000,
            rounds: 3,
            client_rps: 5123.4,
            baseline_rps: 6000.0,
            ratio: 0.8539,
            client_errors: 0,
            baseline_errors: 0,
            peak_rss_mb: 61.25,
            target_rps: TARGET_RPS,
            target_rss_mb: TARGET_RSS_MB,
            met: true,
        };
        insta::assert_snapshot!(render(&r));
    }

    #[test]
    fn median_picks_the_middle_round() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut []), 0.0);
    }
}
