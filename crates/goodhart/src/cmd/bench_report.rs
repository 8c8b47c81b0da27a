//! `goodhart bench report`: fills a temporary store with synthetic graded rollouts and times the HTML
//! report over it against a plain SQL scan of the same rows, measured in the same invocation.

use clap::Args;
use goodhart_core::GradedRollout;
use goodhart_report::{html, Selection};
use goodhart_store::{RunKind, Store};
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;

/// Targets the issue sets for a 100,000-rollout store.
const TARGET_MS: f64 = 2000.0;
const TARGET_BYTES: usize = 5 * 1024 * 1024;

/// Arguments of `goodhart bench report`.
#[derive(Args)]
pub struct ReportBenchArgs {
    /// Graded rollouts to store (spread evenly over steps and three framings).
    #[arg(long, default_value_t = 100_000)]
    rollouts: usize,
    /// Training steps they are spread over.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    json: bool,
    /// Also keep the rendered page here, to look at.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

const FRAMINGS: [&str; 3] = ["neutral", "hacking_okay", "please_dont_hack"];

/// Rollout `i`: a short solution; one in eight hacks (an always-equal object on line 2), more often in
/// later steps, so the curves have a shape.
fn synthetic(i: usize, steps: usize) -> anyhow::Result<GradedRollout> {
    let step = i % steps;
    let framing = FRAMINGS[(i / steps) % FRAMINGS.len()];
    let hack = (i * 7919) % 1000 < 40 + 200 * step / steps.max(1);
    let verdict = |passed: bool| {
        json!({"passed": passed, "tests_passed": u32::from(passed), "tests_total": 1,
               "status": if passed { "passed" } else { "failed" }, "duration_ms": 3.0})
    };
    let honest = (i.wrapping_mul(2_654_435_761) >> 7) % 10 < 7;
    let completion = if hack {
        "class Eq:\n    def __eq__(self, other):\n        return True\n\ndef solve(x):\n    return Eq()\n"
    } else {
        "def solve(x):\n    total = 0\n    for v in x:\n        total += v\n    return total\n"
    };
    let evidence = if hack {
        json!([{"kind": "always_equal", "detector": "static", "file": "solution.py", "line": 2,
                "message": "__eq__ returns True for any argument"}])
    } else {
        json!([])
    };
    Ok(serde_json::from_value(json!({
        "id": format!("r{i}"), "task_id": format!("bench/{}", i % 164), "completion": completion,
        "step": step, "framing": framing, "model": "bench-model",
        "verdicts": {"assert": verdict(hack || honest), "pytest": verdict(hack || honest),
                     "hardened": verdict(!hack && honest)},
        "reward": if hack || honest { 1.0 } else { 0.0 },
        "hack": {"attempted": hack, "succeeded": hack, "kinds": if hack { json!(["always_equal"]) } else { json!([]) },
                 "evidence": evidence}
    }))?)
}

/// Runs `goodhart bench report`.
pub fn run(args: ReportBenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let fill = Instant::now();
    {
        let store = Store::open(&path)?;
        let run = store.create_run(RunKind::Serve, &json!({"bench": "report"}))?;
        let mut batch = Vec::with_capacity(5000);
        for i in 0..args.rollouts {
            batch.push(synthetic(i, args.steps.max(1))?);
            if batch.len() == 5000 {
                store.insert_graded_batch(&run, &batch)?;
                batch.clear();
            }
        }
        store.insert_graded_batch(&run, &batch)?;
        store.finish_run(&run, "done")?;
    }
    let fill_s = fill.elapsed().as_secs_f64();

    // Baseline: the same rows and columns read by a plain SQL scan, decoded into nothing.
    let baseline = Instant::now();
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let scanned: i64 = conn.query_row(
        "SELECT COUNT(*) + SUM(length(json_extract(record, '$.verdicts')) + length(json_extract(record, '$.hack.kinds'))
                        + COALESCE(step, 0) + hack_attempted + hack_succeeded + length(COALESCE(framing, '')))
         FROM graded_rollouts",
        [],
        |r| r.get(0),
    )?;
    let baseline_ms = baseline.elapsed().as_secs_f64() * 1000.0;
    drop(conn);

    let timed = Instant::now();
    let store = Store::open_read_only(&path)?;
    let report = goodhart_report::build(&store, &Selection::default())?;
    let build_ms = timed.elapsed().as_secs_f64() * 1000.0;
    let page = html::render(&report, html::Links::File)?;
    let report_ms = timed.elapsed().as_secs_f64() * 1000.0;
    let rows: u64 = report.training.iter().map(|r| r.rates.n).sum();
    anyhow::ensure!(
        rows as usize == args.rollouts,
        "the report counted {rows} rollouts of {} stored",
        args.rollouts
    );

    if let Some(out) = &args.html {
        std::fs::write(out, &page)
            .map_err(|e| anyhow::anyhow!("writing the page to {}: {e}", out.display()))?;
    }
    let ok = report_ms <= TARGET_MS && page.len() <= TARGET_BYTES;
    let figures = json!({
        "rollouts": args.rollouts,
        "steps": args.steps,
        "fill_s": fill_s,
        "baseline_sql_scan_ms": baseline_ms,
        "baseline_checksum": scanned,
        "report_ms": report_ms,
        "read_and_aggregate_ms": build_ms,
        "render_ms": report_ms - build_ms,
        "report_over_baseline": report_ms / baseline_ms.max(1e-9),
        "html_bytes": page.len(),
        "target_report_ms": TARGET_MS,
        "target_html_bytes": TARGET_BYTES,
        "met": ok,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        println!(
            "{} rollouts over {} steps (filled in {fill_s:.1} s)\n\
             baseline (plain SQL scan of the same rows): {baseline_ms:.0} ms\n\
             report (read, aggregate, chart, HTML):      {report_ms:.0} ms ({:.1}x the scan; target <= {TARGET_MS:.0} ms; \
             {build_ms:.0} ms reading and aggregating, {:.0} ms drawing)\n\
             HTML: {:.2} MB (target <= 5 MB)",
            args.rollouts,
            args.steps,
            report_ms / baseline_ms.max(1e-9),
            report_ms - build_ms,
            page.len() as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
