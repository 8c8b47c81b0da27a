//! The report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no link to
//! anything outside the file, so it opens from disk on an air-gapped cluster and prints as it shows.

use crate::chart::{css_color, rate_chart, Series};
use crate::error::ReportError;
use crate::rates::Rate;
use crate::report::{Report, BASELINE_FRAMING, CODE_CAP};
use crate::training::TrainingRow;
use goodhart_core::GradedRollout;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1em;color:#222}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.5em 0}
nav a{margin-right:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.l{text-align:left}
figure{margin:1em 0}
.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
pre.code{background:#f7f7f7;border:1px solid #ddd;padding:.4em 0;overflow-x:auto;font-size:13px}
pre.code .line{display:block;padding:0 .6em}
pre.code .line.hl{background:#ffe08a}
pre.code .ln{display:inline-block;width:3em;color:#999;user-select:none}
.note{color:#666;font-size:13px}
";

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole report as one HTML document.
pub fn render(report: &Report) -> Result<String, ReportError> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Goodhart report</title>\
         <style>{STYLE}</style></head><body>\
         <nav><a href=\"#training\">Training</a><a href=\"#framings\">Framings</a>\
         <a href=\"#audit\">Audit</a><a href=\"#rollouts\">Rollouts</a></nav>\
         <h1>Goodhart report</h1><p class=\"note\">Store <code>{}</code>. Every rate is a percentage with \
         its 95% Wilson interval in brackets; differences carry Newcombe's 95% interval.</p>",
        escape(&report.store)
    );
    runs_table(&mut h, report);
    training_section(&mut h, &report.training)?;
    framings_section(&mut h, report);
    audit_section(&mut h, report);
    rollouts_section(&mut h, report);
    h.push_str("</body></html>\n");
    Ok(h)
}

fn runs_table(h: &mut String, report: &Report) {
    h.push_str("<h2>Runs</h2><table><tr><th>run</th><th>kind</th><th>created</th><th>status</th><th>rollouts</th></tr>");
    for r in &report.runs {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
            escape(&r.id),
            r.kind,
            escape(&r.created_at),
            escape(&r.status),
            r.rollouts
        );
    }
    h.push_str("</table>");
}

fn label(framing: &Option<String>) -> String {
    framing
        .clone()
        .unwrap_or_else(|| "(no framing)".to_string())
}

/// One chart figure with its legend, tagged with the series and point counts it draws.
fn figure(h: &mut String, title: &str, series: &[Series]) -> Result<(), ReportError> {
    let svg = rate_chart(title, "training step", series)?;
    let points: usize = series.iter().map(|s| s.points.len()).sum();
    let _ = write!(
        h,
        "<figure class=\"chart\" data-series=\"{}\" data-points=\"{points}\">{svg}<figcaption class=\"legend\">",
        series.len()
    );
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            h,
            "<span><i style=\"background:{}\"></i>{}</span>",
            css_color(i),
            escape(&s.name)
        );
    }
    h.push_str("</figcaption></figure>");
    Ok(())
}

fn training_section(h: &mut String, rows: &[TrainingRow]) -> Result<(), ReportError> {
    h.push_str("<section id=\"training\"><h2>Training</h2>");
    let stepped: Vec<&TrainingRow> = rows.iter().filter(|r| r.step.is_some()).collect();
    if stepped.is_empty() {
        h.push_str("<p>No graded rollout in the selection carries a training step.</p>");
    }
    let framings: BTreeSet<&Option<String>> = stepped.iter().map(|r| &r.framing).collect();
    for framing in framings {
        let of: Vec<&&TrainingRow> = stepped.iter().filter(|r| &r.framing == framing).collect();
        let series_of = |name: &str, pick: &dyn Fn(&TrainingRow) -> Option<Rate>| Series {
            name: name.to_string(),
            points: of
                .iter()
                .filter_map(|r| Some((r.step? as f64, pick(r)?.estimate())))
                .collect(),
        };
        let rates = [
            series_of("proxy pass", &|r| Some(r.rates.proxy_pass)),
            series_of("hardened pass", &|r| Some(r.rates.hardened_pass)),
            series_of("hack attempted", &|r| Some(r.rates.attempted)),
            series_of("hack succeeded", &|r| Some(r.rates.succeeded)),
        ];
        let name = label(framing);
        figure(h, &format!("Pass and hack rates per step: {name}"), &rates)?;
        let kinds: BTreeSet<&String> = of.iter().flat_map(|r| r.rates.kinds.keys()).collect();
        if !kinds.is_empty() {
            let by_kind: Vec<Series> = kinds
                .iter()
                .map(|k| {
                    // A step without the kind had 0 of n such rollouts: plot that, with its interval.
                    series_of(k, &|r| {
                        Some(
                            r.rates
                                .kinds
                                .get(*k)
                                .copied()
                                .unwrap_or_else(|| Rate::of(0, r.rates.n as usize)),
                        )
                    })
                })
                .collect();
            figure(h, &format!("Hack rate per step by kind: {name}"), &by_kind)?;
        }
    }
    h.push_str("<table><tr><th>step</th><th>framing</th><th>n</th><th>proxy pass</th><th>hardened pass</th><th>attempted</th><th>succeeded</th><th>kinds</th></tr>");
    for r in rows {
        let kinds: Vec<String> = r
            .rates
            .kinds
            .iter()
            .map(|(k, rate)| format!("{k} {}", rate.text()))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td>{}<td class=\"l\">{}</td></tr>",
            r.step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            escape(&label(&r.framing)),
            rate_cells(&r.rates),
            escape(&kinds.join("; "))
        );
    }
    h.push_str("</table></section>");
    Ok(())
}

/// The `n`, proxy pass, hardened pass, attempted and succeeded cells shared by the training and framing
/// tables.
fn rate_cells(r: &crate::training::CellRates) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        r.n,
        r.proxy_pass.text(),
        r.hardened_pass.text(),
        r.attempted.text(),
        r.succeeded.text()
    )
}

fn framings_section(h: &mut String, report: &Report) {
    let _ = write!(
        h,
        "<section id=\"framings\"><h2>Framings</h2><p class=\"note\">Over every step. Differences are \
         against <code>{BASELINE_FRAMING}</code>, in percentage points.</p>\
         <table><tr><th>framing</th><th>n</th><th>proxy pass</th><th>hardened pass</th><th>attempted</th>\
         <th>succeeded</th><th>attempted vs {BASELINE_FRAMING}</th><th>succeeded vs {BASELINE_FRAMING}</th></tr>"
    );
    for f in &report.framings {
        let diff =
            |d: &Option<crate::rates::Difference>| d.map_or_else(|| "-".to_string(), |d| d.text());
        let _ = write!(
            h,
            "<tr><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
            escape(&label(&f.framing)),
            rate_cells(&f.rates),
            diff(&f.attempted_vs_neutral),
            diff(&f.succeeded_vs_neutral)
        );
    }
    h.push_str("</table></section>");
}

fn audit_section(h: &mut String, report: &Report) {
    h.push_str("<section id=\"audit\"><h2>Audit</h2>");
    if report.audits.is_empty() {
        h.push_str("<p>No audit run in the selection.</p>");
    }
    for a in &report.audits {
        let _ = write!(
            h,
            "<h3>Audit <code>{}</code></h3><p class=\"note\">Each cell: tasks where the profile passed the \
             exploit (fell) / tasks the exploit applied to; the redder, the more often it fell.</p>\
             <table class=\"heat\"><tr><th>exploit</th><th>kinds</th>",
            escape(&a.run_id)
        );
        for p in &a.profiles {
            let _ = write!(h, "<th>{}</th>", escape(p));
        }
        h.push_str("</tr>");
        for row in &a.rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"l\">{}</td>",
                escape(&row.exploit),
                escape(&row.kinds.join(", "))
            );
            for c in &row.cells {
                let alpha = if c.n == 0 { 0.0 } else { c.rate };
                let _ = write!(
                    h,
                    "<td style=\"background:rgba(213,50,40,{alpha:.2})\" title=\"{}\">{}/{}</td>",
                    c.text(),
                    c.count,
                    c.n
                );
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        if a.weak_tasks.is_empty() {
            h.push_str("<p>Weak tasks: none (no trivially wrong answer passed).</p>");
        } else {
            let _ = write!(
                h,
                "<p>Weak tasks ({}; a trivially wrong answer passed): {}</p>",
                a.weak_tasks.len(),
                escape(&a.weak_tasks.join(", "))
            );
        }
    }
    h.push_str("</section>");
}

fn rollouts_section(h: &mut String, report: &Report) {
    let page = &report.rollouts;
    let _ = write!(
        h,
        "<section id=\"rollouts\"><h2>Rollouts</h2><p class=\"note\">{} flagged rollouts (a detector found a \
         mechanism) in the selection; the first {} are listed and the first {} show their code. This file \
         never embeds every rollout: read the rest with <code>goodhart report --json</code> or the store.</p>",
        page.flagged_total,
        page.shown.len(),
        page.shown.len().min(CODE_CAP)
    );
    h.push_str("<table><tr><th>#</th><th>rollout</th><th>task</th><th>step</th><th>framing</th><th>kinds</th><th>verdicts</th><th>reward</th></tr>");
    for (i, f) in page.shown.iter().enumerate() {
        let g = &f.graded;
        let kinds: Vec<&str> = g.hack.kinds.iter().map(|k| k.as_str()).collect();
        let verdicts: Vec<String> = g
            .verdicts
            .iter()
            .map(|(p, v)| format!("{p} {}", if v.passed { "pass" } else { "fail" }))
            .collect();
        let id = if i < CODE_CAP {
            format!("<a href=\"#rollout-{i}\">{}</a>", escape(&g.rollout.id))
        } else {
            escape(&g.rollout.id)
        };
        let _ = write!(
            h,
            "<tr><td>{i}</td><td class=\"l\">{id}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
            escape(&g.rollout.task_id),
            g.rollout.step.map_or_else(|| "-".to_string(), |s| s.to_string()),
            escape(&label(&g.rollout.framing)),
            kinds.join(", "),
            verdicts.join(", "),
            g.reward.map_or_else(|| "-".to_string(), |r| format!("{r}"))
        );
    }
    h.push_str("</table>");
    for (i, f) in page.shown.iter().take(CODE_CAP).enumerate() {
        rollout_view(h, i, &f.run_id, &f.graded);
    }
    h.push_str("</section>");
}

/// One rollout: every file with the lines a detector pointed at highlighted, then every detector's message.
fn rollout_view(h: &mut String, i: usize, run_id: &str, g: &GradedRollout) {
    let _ = write!(
        h,
        "<details id=\"rollout-{i}\" class=\"rollout\"{}><summary>Rollout <code>{}</code> (run <code>{}</code>, task {})</summary>",
        if i == 0 { " open" } else { "" },
        escape(&g.rollout.id),
        escape(run_id),
        escape(&g.rollout.task_id)
    );
    let mut lines: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for e in &g.hack.evidence {
        lines.entry(e.file.as_str()).or_default().insert(e.line);
    }
    let mut files: Vec<(&str, &str)> = vec![("solution.py", g.rollout.completion.as_str())];
    if let Some(extra) = &g.rollout.files {
        files.extend(
            extra
                .iter()
                .map(|(name, text)| (name.as_str(), text.as_str())),
        );
    }
    for (name, text) in files {
        let marked = lines.get(name);
        let _ = write!(
            h,
            "<p><code>{}</code></p><pre class=\"code\" data-file=\"{}\">",
            escape(name),
            escape(name)
        );
        for (n, line) in text.lines().enumerate() {
            let n = n as u32 + 1;
            let hl = marked.is_some_and(|m| m.contains(&n));
            let _ = write!(
                h,
                "<span class=\"line{}\" data-line=\"{n}\"><span class=\"ln\">{n}</span>{}</span>",
                if hl { " hl" } else { "" },
                escape(line)
            );
        }
        h.push_str("</pre>");
    }
    h.push_str("<table class=\"evidence\"><tr><th>detector</th><th>kind</th><th>where</th><th>message</th></tr>");
    for e in &g.hack.evidence {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}:{}</td><td class=\"l\">{}</td></tr>",
            escape(&e.detector),
            e.kind.as_str(),
            escape(&e.file),
            e.line,
            escape(&e.message)
        );
    }
    h.push_str("</table></details>");
}
