//! The rollouts page: flagged rollouts in a table filterable by kind, framing, step and verdict, and one
//! rollout's code with the evidence lines highlighted and every detector's message.

use super::{escape, filters, label, Links, NONE};
use crate::report::{RolloutsPage, CODE_CAP};
use goodhart_core::GradedRollout;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The tokens a rollout's verdict filter matches: `assert:pass`, `hardened:fail`, …
fn verdict_tokens(g: &GradedRollout) -> Vec<String> {
    g.verdicts
        .iter()
        .map(|(p, v)| format!("{p}:{}", if v.passed { "pass" } else { "fail" }))
        .collect()
}

fn step_text(step: Option<i64>) -> String {
    step.map_or_else(|| NONE.to_string(), |s| s.to_string())
}

/// The rollouts section: the filter bar, the table and, with `embed`, the first [`CODE_CAP`] rollouts'
/// code (the file; the viewer links each row to its own page instead).
pub(super) fn rollouts_section(h: &mut String, page: &RolloutsPage, links: Links<'_>, embed: bool) {
    let _ = write!(
        h,
        "<section id=\"rollouts\"><h2>Rollouts</h2><p class=\"note\">{} flagged rollouts (a detector found a \
         mechanism) in the selection; the first {} are listed{}. Read the rest with \
         <code>goodhart report --json</code>, <code>goodhart view</code> or the store.</p>",
        page.flagged_total,
        page.shown.len(),
        if embed {
            format!(" and the first {} show their code", page.shown.len().min(CODE_CAP))
        } else {
            String::new()
        }
    );
    let mut kinds = BTreeSet::new();
    let mut framings = BTreeSet::new();
    let mut steps = BTreeSet::new();
    let mut verdicts = BTreeSet::new();
    for f in &page.shown {
        let g = &f.graded;
        kinds.extend(g.hack.kinds.iter().map(|k| k.as_str().to_string()));
        framings.insert(
            g.rollout
                .framing
                .clone()
                .unwrap_or_else(|| NONE.to_string()),
        );
        steps.insert(g.rollout.step);
        verdicts.extend(verdict_tokens(g));
    }
    let steps: BTreeSet<String> = steps.into_iter().map(step_text).collect();
    filters(
        h,
        "rollout-table",
        page.shown.len(),
        &[
            ("kind", "kind", kinds),
            ("framing", "framing", framings),
            ("step", "step", steps),
            ("verdict", "verdict", verdicts),
        ],
    );
    h.push_str("<table id=\"rollout-table\" class=\"filterable\"><thead><tr><th>#</th><th>rollout</th><th>task</th><th>step</th><th>framing</th><th>kinds</th><th>verdicts</th><th>reward</th></tr></thead><tbody>");
    for (i, f) in page.shown.iter().enumerate() {
        let g = &f.graded;
        let kinds: Vec<&str> = g.hack.kinds.iter().map(|k| k.as_str()).collect();
        let verdicts = verdict_tokens(g);
        let target = if embed {
            links.rollout(i, &f.run_id, &g.rollout.id)
        } else {
            links.rollout(usize::MAX, &f.run_id, &g.rollout.id)
        };
        let id = match target {
            Some(href) => format!(
                "<a href=\"{}\">{}</a>",
                escape(&href),
                escape(&g.rollout.id)
            ),
            None => escape(&g.rollout.id),
        };
        let framing = g.rollout.framing.as_deref().unwrap_or(NONE);
        let _ = write!(
            h,
            "<tr data-kind=\"{}\" data-framing=\"{}\" data-step=\"{}\" data-verdict=\"{}\"><td>{i}</td><td class=\"l\">{id}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
            kinds.join(" "),
            escape(framing),
            step_text(g.rollout.step),
            escape(&verdicts.join(" ")),
            escape(&g.rollout.task_id),
            step_text(g.rollout.step),
            escape(&label(&g.rollout.framing)),
            kinds.join(", "),
            escape(&verdicts.join(", ")),
            g.reward.map_or_else(|| "-".to_string(), |r| format!("{r}"))
        );
    }
    h.push_str("</tbody></table>");
    if embed {
        for (i, f) in page.shown.iter().take(CODE_CAP).enumerate() {
            rollout_view(h, Some(i), &f.run_id, &f.graded);
        }
    }
    h.push_str("</section>");
}

/// One rollout: every file with the lines a detector pointed at highlighted, then every detector's
/// message. `index` places it in the file (an anchor, the first one open); the viewer's page has none.
pub fn rollout_view(h: &mut String, index: Option<usize>, run_id: &str, g: &GradedRollout) {
    let (id, open) = match index {
        Some(i) => (format!(" id=\"rollout-{i}\""), i == 0),
        None => (" id=\"rollout\"".to_string(), true),
    };
    let _ = write!(
        h,
        "<details{id} class=\"rollout\"{}><summary>Rollout <code>{}</code> (run <code>{}</code>, task {}, step {}, framing {})</summary>",
        if open { " open" } else { "" },
        escape(&g.rollout.id),
        escape(run_id),
        escape(&g.rollout.task_id),
        step_text(g.rollout.step),
        escape(&label(&g.rollout.framing)),
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
    if let Some(reasoning) = &g.rollout.reasoning {
        let _ = write!(
            h,
            "<p>Reasoning</p><pre class=\"text\">{}</pre>",
            escape(reasoning)
        );
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
