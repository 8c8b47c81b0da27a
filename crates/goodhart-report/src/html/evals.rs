//! The eval pages: per-eval misaligned, overt and covert rates with clustered intervals and the MGS per
//! run, two runs side by side, misalignment against checkpoint step, and one sample's transcript with its
//! tool calls, reasoning, checks and the judges' explanations.

use super::{escape, figure, filters, Links};
use crate::chart::Series;
use crate::error::ReportError;
use crate::evals::{shown_samples, EvalRun, SampleRef};
use crate::report::Report;
use goodhart_evals::metrics::{Mgs, PairedDiff};
use goodhart_evals::SampleRecord;
use goodhart_stats::cluster::{ClusteredRate, IntervalMethod};
use goodhart_stats::stats::Estimate;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// `12.5% [3.5, 36.0]`, with `*` when the interval fell back to Wilson per prompt.
fn clustered(r: &Option<ClusteredRate>) -> String {
    match r {
        Some(r) => format!(
            "{:.1}% [{:.1}, {:.1}]{}",
            100.0 * r.estimate.point,
            100.0 * r.estimate.low,
            100.0 * r.estimate.high,
            if r.method == IntervalMethod::WilsonPerCluster {
                "*"
            } else {
                ""
            }
        ),
        None => "-".to_string(),
    }
}

fn mgs_text(m: &Mgs) -> String {
    format!(
        "{:.1}% [{:.1}, {:.1}]{}",
        100.0 * m.score,
        100.0 * m.ci95[0],
        100.0 * m.ci95[1],
        if m.interval == "cluster_bootstrap" {
            ""
        } else {
            "*"
        }
    )
}

fn mgs_estimate(m: &Mgs) -> Estimate {
    Estimate {
        point: m.score,
        low: m.ci95[0],
        high: m.ci95[1],
    }
}

/// MGS and each eval's misaligned rate against the eval runs' checkpoint step (the paper's Figure 1
/// shape, beside the hack rates above it), with a table of the same numbers.
pub(super) fn checkpoint_chart(
    h: &mut String,
    report: &Report,
    links: Links<'_>,
) -> Result<(), ReportError> {
    let points = &report.checkpoints;
    if points.is_empty() {
        h.push_str("<p class=\"note\">No eval run in the selection carries a checkpoint step (tag runs with <code>--step</code>), so misalignment is not plotted against training.</p>");
        return Ok(());
    }
    let mut series = vec![Series {
        name: "MGS".to_string(),
        points: points
            .iter()
            .filter_map(|p| Some((p.step as f64, mgs_estimate(p.mgs.as_ref()?))))
            .collect(),
    }];
    let evals: BTreeSet<&str> = points
        .iter()
        .flat_map(|p| p.evals.iter().map(|e| e.eval.as_str()))
        .collect();
    let mut by_eval: BTreeMap<&str, Vec<(f64, Estimate)>> = BTreeMap::new();
    for p in points {
        for e in &p.evals {
            if let Some(r) = &e.misaligned_rate {
                by_eval
                    .entry(e.eval.as_str())
                    .or_default()
                    .push((p.step as f64, r.estimate));
            }
        }
    }
    series.extend(evals.iter().map(|e| Series {
        name: format!("{e} misaligned"),
        points: by_eval.remove(e).unwrap_or_default(),
    }));
    series.retain(|s| !s.points.is_empty());
    // A point links to the eval run measured at that step (the first, when several share it).
    let to_run = |_: usize, x: f64| {
        points
            .iter()
            .find(|p| p.step as f64 == x)
            .map(|p| escape(&links.eval_run(&p.run_id)))
    };
    figure(
        h,
        "Misalignment per checkpoint step (MGS and per eval)",
        "checkpoint step",
        &series,
        Some(&to_run),
    )?;
    h.push_str("<table id=\"checkpoint-table\"><tr><th>step</th><th>checkpoint</th><th>run</th><th>MGS</th>");
    for e in &evals {
        let _ = write!(h, "<th>{}</th>", escape(e));
    }
    h.push_str("</tr>");
    for p in points {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\"><a href=\"{}\"><code>{}</code></a></td><td>{}</td>",
            p.step,
            escape(p.checkpoint.as_deref().unwrap_or("-")),
            escape(&links.eval_run(&p.run_id)),
            escape(&p.run_id),
            p.mgs.as_ref().map_or_else(|| "-".to_string(), mgs_text)
        );
        for e in &evals {
            let rate = p.evals.iter().find(|s| s.eval == *e);
            let _ = write!(
                h,
                "<td>{}</td>",
                rate.map_or_else(|| "-".to_string(), |s| clustered(&s.misaligned_rate))
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    Ok(())
}

/// Every selected eval run, and the first two compared.
pub(super) fn evals_section(h: &mut String, report: &Report, links: Links<'_>) {
    h.push_str("<section id=\"evals\"><h2>Evals</h2>");
    if report.evals.is_empty() {
        h.push_str("<p>No eval run in the selection.</p>");
    }
    if let Some(c) = &report.eval_comparison {
        let _ = write!(
            h,
            "<h3>Compared: B − A</h3><p class=\"note\">A = <code>{}</code>, B = <code>{}</code>; misaligned \
             rate paired over identical (eval, sample, epoch), 95% cluster bootstrap over prompts.</p>\
             <table id=\"eval-comparison\"><tr><th>eval</th><th>pairs</th><th>prompts</th><th>A</th><th>B</th><th>B − A [95% CI]</th></tr>",
            escape(&c.run_a),
            escape(&c.run_b)
        );
        for d in c.comparison.evals.iter().chain(c.comparison.mgs.as_ref()) {
            paired_row(h, d);
        }
        h.push_str("</table>");
    }
    for run in &report.evals {
        eval_run(h, run, links);
    }
    h.push_str("</section>");
}

fn paired_row(h: &mut String, d: &PairedDiff) {
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{:+.1} pp [{:+.1}, {:+.1}]{}</td></tr>",
        escape(&d.eval),
        d.pairs,
        d.prompts,
        100.0 * d.rate_a,
        100.0 * d.rate_b,
        100.0 * d.diff,
        100.0 * d.ci95[0],
        100.0 * d.ci95[1],
        if d.interval == "cluster_bootstrap" { "" } else { "*" }
    );
}

fn eval_run(h: &mut String, run: &EvalRun, links: Links<'_>) {
    let id = super::anchor(&run.run_id);
    let _ = write!(
        h,
        "<div id=\"eval-{id}\" class=\"eval-run\"><h3>Eval run <code>{}</code></h3><p class=\"note\">model {}, checkpoint {}, step {}</p>",
        escape(&run.run_id),
        escape(run.model.as_deref().unwrap_or("-")),
        escape(run.checkpoint.as_deref().unwrap_or("-")),
        run.step.map_or_else(|| "-".to_string(), |s| s.to_string())
    );
    let _ = write!(
        h,
        "<table class=\"eval-summary\" data-run=\"{}\"><tr><th>eval</th><th>counted</th><th>prompts</th><th>aligned</th><th>overt</th><th>covert</th><th>excluded</th><th>errors</th><th>misaligned</th><th>overt rate</th><th>covert rate</th></tr>",
        escape(&run.run_id)
    );
    for s in &run.summaries {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.eval),
            s.counted,
            s.prompts,
            s.aligned,
            s.overt,
            s.covert,
            s.excluded.values().sum::<u64>(),
            s.errors,
            clustered(&s.misaligned_rate),
            clustered(&s.overt_rate),
            clustered(&s.covert_rate)
        );
    }
    h.push_str("</table>");
    match &run.mgs {
        Some(m) => {
            let _ = write!(
                h,
                "<p class=\"mgs\">MGS <b>{}</b> over {} prompts of {}{}</p>",
                mgs_text(m),
                m.prompts,
                escape(&m.included.join(", ")),
                if m.missing.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; partial, no counted samples for {}",
                        escape(&m.missing.join(", "))
                    )
                }
            );
        }
        None => h.push_str(
            "<p class=\"mgs\">MGS: not available (none of its evals has counted samples).</p>",
        ),
    }
    let shown = shown_samples(run);
    let embedded: BTreeMap<usize, usize> = shown.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let table = format!("samples-{id}");
    let evals: BTreeSet<String> = run.samples.iter().map(|s| s.eval.clone()).collect();
    let labels: BTreeSet<String> = run.samples.iter().map(|s| s.label.clone()).collect();
    filters(
        h,
        &table,
        run.samples.len(),
        &[("eval", "eval", evals), ("label", "label", labels)],
    );
    let _ = write!(
        h,
        "<table id=\"{table}\" class=\"filterable samples\"><thead><tr><th>eval</th><th>sample</th><th>epoch</th><th>label</th></tr></thead><tbody>"
    );
    for (i, s) in run.samples.iter().enumerate() {
        sample_row(
            h,
            s,
            links.sample(&run.run_id, s, embedded.get(&i).copied()),
        );
    }
    h.push_str("</tbody></table>");
    if matches!(links, Links::File) {
        for (k, &i) in shown.iter().enumerate() {
            sample_view(h, Some(k), &run.run_id, &run.records[i], links);
        }
    }
    h.push_str("</div>");
}

fn sample_row(h: &mut String, s: &SampleRef, href: Option<String>) {
    let id = match href {
        Some(href) => format!("<a href=\"{}\">{}</a>", escape(&href), escape(&s.sample_id)),
        None => escape(&s.sample_id),
    };
    let _ = write!(
        h,
        "<tr data-eval=\"{}\" data-label=\"{}\"><td>{}</td><td class=\"l\">{id}</td><td>{}</td><td class=\"l label-{}\">{}</td></tr>",
        escape(&s.eval),
        escape(&s.label),
        escape(&s.eval),
        s.epoch,
        escape(&s.label),
        escape(&s.label)
    );
}

/// One sample: its label, the system prompt and prompt, every turn's reasoning, text and tool calls with
/// the results the model saw, the deterministic checks, and every judge's verdict with its reason.
pub fn sample_view(
    h: &mut String,
    index: Option<usize>,
    run_id: &str,
    r: &SampleRecord,
    links: Links<'_>,
) {
    let anchor = match index {
        Some(k) => format!("sample-{}-{k}", super::anchor(run_id)),
        None => "sample".to_string(),
    };
    let outcome = &r.scored.outcome;
    let why = match outcome {
        goodhart_evals::Outcome::Excluded { reason } => format!(" ({})", escape(reason)),
        goodhart_evals::Outcome::Error { message } => format!(" ({})", escape(message)),
        _ => String::new(),
    };
    let _ = write!(
        h,
        "<details id=\"{anchor}\" class=\"sample\"{}><summary>Sample <code>{}/{}</code> epoch {} of run <a href=\"{}\"><code>{}</code></a>: <span class=\"label-{}\">{}</span>{why}</summary>",
        if index.is_none_or(|k| k == 0) { " open" } else { "" },
        escape(&r.eval),
        escape(&r.sample_id),
        r.epoch,
        escape(&links.eval_run(run_id)),
        escape(run_id),
        outcome.as_str(),
        outcome.as_str(),
    );
    let t = &r.scored.transcript;
    let _ = write!(
        h,
        "<p class=\"note\">model {}</p><div class=\"turn system\"><b>system</b><pre class=\"text\">{}</pre></div>\
         <div class=\"turn prompt\"><b>user</b><pre class=\"text\">{}</pre></div>",
        escape(&r.model),
        escape(&t.system),
        escape(&t.prompt)
    );
    let mut results = t.tool_events.iter();
    for (n, turn) in t.turns.iter().enumerate() {
        if let Some(reasoning) = turn.reasoning.as_deref().filter(|s| !s.trim().is_empty()) {
            let _ = write!(
                h,
                "<div class=\"turn reasoning\"><b>reasoning (turn {})</b><pre class=\"text\">{}</pre></div>",
                n + 1,
                escape(reasoning)
            );
        }
        if !turn.text.trim().is_empty() {
            let _ = write!(
                h,
                "<div class=\"turn answer\"><b>assistant (turn {})</b><pre class=\"text\">{}</pre></div>",
                n + 1,
                escape(&turn.text)
            );
        }
        for call in &turn.tool_calls {
            let result = results.next().map(|e| e.result.as_str()).unwrap_or("");
            let _ = write!(
                h,
                "<div class=\"turn tool\"><b>tool call <code>{}</code></b><pre class=\"text\">{}</pre><b>result</b><pre class=\"text\">{}</pre></div>",
                escape(&call.name),
                escape(&serde_json::to_string_pretty(&call.arguments).unwrap_or_default()),
                escape(result)
            );
        }
    }
    if t.truncated {
        h.push_str("<p class=\"note\">The loop hit its turn limit while the model was still calling tools.</p>");
    }
    h.push_str("<table class=\"checks\"><tr><th>check</th><th>fired</th><th>detail</th></tr>");
    for c in &r.scored.checks {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"wrap\">{}</td></tr>",
            escape(&c.name),
            if c.fired { "yes" } else { "no" },
            escape(&c.detail)
        );
    }
    h.push_str("</table><table class=\"judgements\"><tr><th>rubric</th><th>target</th><th>flagged</th><th>attempts</th><th>explanation</th><th>verdict</th></tr>");
    for j in &r.scored.judgements {
        let reason = ["reason", "explanation", "reasoning"]
            .iter()
            .find_map(|k| j.verdict.get(*k).and_then(|v| v.as_str()))
            .unwrap_or("");
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"wrap explanation\">{}</td><td class=\"wrap\"><code>{}</code></td></tr>",
            escape(&j.rubric),
            escape(&j.target),
            j.flagged.map_or("-", |f| if f { "yes" } else { "no" }),
            j.attempts,
            escape(reason),
            escape(&j.verdict.to_string())
        );
    }
    h.push_str("</table>");
    if !r.scored.scores.is_empty() {
        let scores: Vec<String> = r
            .scored
            .scores
            .iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect();
        let _ = write!(h, "<p>Scores: {}</p>", escape(&scores.join(", ")));
    }
    h.push_str("</details>");
}
