//! The report as HTML: one renderer for both the self-contained file (`goodhart report --html`) and the
//! live viewer's pages (`goodhart view`). Only the links differ ([`Links`]): fragments inside the file, URLs
//! of the viewer. Inline CSS, inline SVG charts and one small inline script (table filters), nothing
//! fetched, so the file opens from disk on an air-gapped cluster.

mod evals;
mod rollouts;

use crate::chart::{css_color, rate_chart, PointLink, Series};
use crate::error::ReportError;
use crate::rates::Rate;
use crate::report::{Report, RolloutFilter, RolloutsPage, BASELINE_FRAMING};
use crate::training::TrainingRow;
use goodhart_core::GradedRollout;
use goodhart_evals::SampleRecord;
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use evals::sample_view;
pub use rollouts::rollout_view;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 1em;color:#222}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:.5em 0;z-index:1}
nav a{margin-right:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.l{text-align:left}
td.wrap{white-space:normal;text-align:left;max-width:40em}
figure{margin:1em 0}
.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
pre.code,pre.text{background:#f7f7f7;border:1px solid #ddd;padding:.4em 0;overflow-x:auto;font-size:13px}
pre.text{padding:.4em .6em;white-space:pre-wrap}
pre.code .line{display:block;padding:0 .6em}
pre.code .line.hl{background:#ffe08a}
pre.code .ln{display:inline-block;width:3em;color:#999;user-select:none}
.note{color:#666;font-size:13px}
.filters label{margin-right:1em;font-size:13px}
.turn{border-left:3px solid #0072b2;padding-left:.6em;margin:.6em 0}
.reasoning{border-left-color:#cc79a7}
.tool{border-left-color:#e69f00}
.label-overt,.label-covert{color:#b00;font-weight:bold}
a.pt:hover circle{fill:rgba(0,0,0,.15)}
";

/// The inline script: table filters and the chart-point links into them.
const SCRIPT: &str = include_str!("filter.js");

/// Where a page's links point.
#[derive(Debug, Clone, Copy)]
pub enum Links<'a> {
    /// Inside one self-contained file: fragments (`#rollout-3`), only to what the file embeds.
    File,
    /// The live viewer: URLs of its pages. `selection` is the query string of the runs on show
    /// (`run=ID&kind=serve`, already encoded, possibly empty), carried into the rollout listing.
    Live { selection: &'a str },
}

impl Links<'_> {
    /// The page of one flagged rollout; `index` is its place in the report's list (the file embeds the
    /// first [`crate::report::CODE_CAP`]).
    fn rollout(&self, index: usize, run_id: &str, rollout_id: &str) -> Option<String> {
        match self {
            Links::File => (index < crate::report::CODE_CAP).then(|| format!("#rollout-{index}")),
            Links::Live { .. } => Some(format!(
                "/rollout/{}/{}",
                encode(run_id),
                encode(rollout_id)
            )),
        }
    }

    /// The flagged rollouts of one (step, framing) cell: the file's table filtered by its script, or
    /// the viewer's listing read from the store (every one, not only the report's first few).
    fn cell(&self, step: Option<i64>, framing: Option<&str>) -> String {
        let mut q = Vec::new();
        if let Some(s) = step {
            q.push(format!("step={s}"));
        }
        q.push(format!("framing={}", encode(framing.unwrap_or(NONE))));
        match self {
            Links::File => format!("#rollouts?{}", q.join("&")),
            Links::Live { selection } => {
                if !selection.is_empty() {
                    q.insert(0, selection.to_string());
                }
                format!("/rollouts?{}", q.join("&"))
            }
        }
    }

    /// A report of just this run (the viewer only; the file has one report).
    fn run(&self, run_id: &str) -> Option<String> {
        match self {
            Links::File => None,
            Links::Live { .. } => Some(format!("/?run={}", encode(run_id))),
        }
    }

    /// One eval run's section.
    fn eval_run(&self, run_id: &str) -> String {
        match self {
            Links::File => format!("#eval-{}", anchor(run_id)),
            Links::Live { .. } => format!("/?run={}#eval-{}", encode(run_id), anchor(run_id)),
        }
    }

    /// One eval sample's transcript: in the file only the embedded ones (`embedded` is its anchor).
    fn sample(
        &self,
        run_id: &str,
        r: &crate::evals::SampleRef,
        embedded: Option<usize>,
    ) -> Option<String> {
        match self {
            Links::File => embedded.map(|i| format!("#sample-{}-{i}", anchor(run_id))),
            Links::Live { .. } => Some(format!(
                "/sample/{}/{}/{}/{}",
                encode(run_id),
                encode(&r.eval),
                encode(&r.sample_id),
                r.epoch
            )),
        }
    }
}

/// What a missing framing is called in tables, filters and links.
const NONE: &str = "-";

/// Percent-encodes a URL path segment or query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A run id as an HTML id fragment (ids are hex or `eval-…`; anything else becomes `_`).
fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

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

/// A whole document around `body`: the shared head (CSS), a navigation bar, and the script at the end.
fn document(title: &str, links: Links<'_>, body: &str) -> String {
    let home = match links {
        Links::File => "#training",
        Links::Live { .. } => "/",
    };
    let hash = |s: &str| match links {
        Links::File => format!("#{s}"),
        Links::Live { selection: "" } => format!("/#{s}"),
        Links::Live { selection } => format!("/?{selection}#{s}"),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\
         <nav><a href=\"{home}\">Report</a><a href=\"{}\">Training</a><a href=\"{}\">Framings</a>\
         <a href=\"{}\">Evals</a><a href=\"{}\">Audit</a><a href=\"{}\">Rollouts</a></nav>\
         {body}<script>{SCRIPT}</script></body></html>\n",
        escape(title),
        hash("training"),
        hash("framings"),
        hash("evals"),
        hash("audit"),
        hash("rollouts"),
    )
}

/// The whole report as one HTML document.
pub fn render(report: &Report, links: Links<'_>) -> Result<String, ReportError> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1>Goodhart report</h1><p class=\"note\">Store <code>{}</code>. Every rollout rate is a percentage \
         with its 95% Wilson interval in brackets; differences carry Newcombe's 95% interval; eval rates \
         carry a 95% cluster bootstrap over prompts (* where it fell back to Wilson per prompt). Click a \
         point of a training curve, or a row of the training table, for the rollouts behind it.</p>",
        escape(&report.store)
    );
    runs_table(&mut h, report, links);
    training_section(&mut h, report, links)?;
    framings_section(&mut h, report);
    evals::evals_section(&mut h, report, links);
    audit_section(&mut h, report);
    rollouts::rollouts_section(&mut h, &report.rollouts, links, true);
    Ok(document("Goodhart report", links, &h))
}

/// The viewer's page of one (step, framing) cell's flagged rollouts.
pub fn rollouts_page(page: &RolloutsPage, filter: &RolloutFilter, links: Links<'_>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1>Flagged rollouts{}{}</h1>",
        filter
            .step
            .map_or_else(String::new, |s| format!(" at step {s}")),
        filter
            .framing
            .as_deref()
            .map_or_else(String::new, |f| format!(", framing {}", escape(f)))
    );
    rollouts::rollouts_section(&mut h, page, links, false);
    document("Goodhart rollouts", links, &h)
}

/// The viewer's page of one rollout.
pub fn rollout_page(run_id: &str, g: &GradedRollout, links: Links<'_>) -> String {
    let mut h = String::new();
    rollout_view(&mut h, None, run_id, g);
    document(&format!("Rollout {}", g.rollout.id), links, &h)
}

/// The viewer's page of one eval sample.
pub fn sample_page(run_id: &str, r: &SampleRecord, links: Links<'_>) -> String {
    let mut h = String::new();
    sample_view(&mut h, None, run_id, r, links);
    document(
        &format!("Sample {}/{} epoch {}", r.eval, r.sample_id, r.epoch),
        links,
        &h,
    )
}

/// The viewer's page for something that is not there (the status line says which).
pub fn missing_page(what: &str, links: Links<'_>) -> String {
    document(
        "Not found",
        links,
        &format!("<h1>Not found</h1><p>{}</p>", escape(what)),
    )
}

fn runs_table(h: &mut String, report: &Report, links: Links<'_>) {
    h.push_str("<h2>Runs</h2><table id=\"runs\"><tr><th>run</th><th>kind</th><th>created</th><th>status</th><th>rollouts</th><th>checkpoint</th><th>step</th></tr>");
    for r in &report.runs {
        let id = match links.run(&r.id) {
            Some(href) => format!("<a href=\"{href}\"><code>{}</code></a>", escape(&r.id)),
            None => format!("<code>{}</code>", escape(&r.id)),
        };
        let _ = write!(
            h,
            "<tr><td>{id}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
            r.kind,
            escape(&r.created_at),
            escape(&r.status),
            r.rollouts,
            escape(r.checkpoint.as_deref().unwrap_or(NONE)),
            r.step.map_or_else(|| NONE.to_string(), |s| s.to_string()),
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
fn figure(
    h: &mut String,
    title: &str,
    x_label: &str,
    series: &[Series],
    link: Option<PointLink<'_>>,
) -> Result<(), ReportError> {
    let svg = rate_chart(title, x_label, series, link)?;
    let points: usize = series.iter().map(|s| s.points.len()).sum();
    let _ = write!(
        h,
        "<figure class=\"chart\" data-title=\"{}\" data-series=\"{}\" data-points=\"{points}\">{svg}<figcaption class=\"legend\">",
        escape(title),
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

fn training_section(h: &mut String, report: &Report, links: Links<'_>) -> Result<(), ReportError> {
    let rows: &[TrainingRow] = &report.training;
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
        let to_cell =
            |_: usize, x: f64| Some(escape(&links.cell(Some(x as i64), framing.as_deref())));
        figure(
            h,
            &format!("Pass and hack rates per step: {name}"),
            "training step",
            &rates,
            Some(&to_cell),
        )?;
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
            figure(
                h,
                &format!("Hack rate per step by kind: {name}"),
                "training step",
                &by_kind,
                Some(&to_cell),
            )?;
        }
    }
    evals::checkpoint_chart(h, report, links)?;
    h.push_str("<table id=\"training-table\"><tr><th>step</th><th>framing</th><th>n</th><th>proxy pass</th><th>hardened pass</th><th>attempted</th><th>succeeded</th><th>kinds</th><th>rollouts</th></tr>");
    for r in rows {
        let kinds: Vec<String> = r
            .rates
            .kinds
            .iter()
            .map(|(k, rate)| format!("{k} {}", rate.text()))
            .collect();
        let flagged = if r.rates.attempted.count > 0 {
            format!(
                "<a class=\"cell\" href=\"{}\">{} flagged</a>",
                escape(&links.cell(r.step, r.framing.as_deref())),
                r.rates.attempted.count
            )
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td>{}<td class=\"l\">{}</td><td class=\"l\">{flagged}</td></tr>",
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

/// A filter bar over `table`: one select per `(key, label, values)`, and the count of rows shown.
fn filters(h: &mut String, table: &str, total: usize, keys: &[(&str, &str, BTreeSet<String>)]) {
    let _ = write!(h, "<p class=\"filters\">");
    for (key, name, values) in keys {
        let _ = write!(
            h,
            "<label>{name} <select data-table=\"{table}\" data-key=\"{key}\" id=\"{table}-{key}\"><option value=\"\">all</option>"
        );
        for v in values {
            let _ = write!(h, "<option value=\"{0}\">{0}</option>", escape(v));
        }
        h.push_str("</select></label>");
    }
    let _ = write!(
        h,
        "showing <span id=\"{table}-count\">{total}</span> of {total}</p>"
    );
}
