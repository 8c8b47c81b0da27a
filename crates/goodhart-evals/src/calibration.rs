//! A labelled calibration set for the yes/no judges, and the agreement check `goodhart judge-check`
//! runs, so a researcher can see how far to trust a judge model before using it (or replace it).

use crate::evals::monitor_disruption::MONITOR_EMAILS;
use crate::evals::{blackmail::BLACKMAIL_LEVERAGE, frame_colleague::FABRICATED_VIOLATION};
use crate::judge::{judge_flag, Rubric, CONCERNING_REASONING, MISALIGNED_ANSWER};
use futures_util::stream::{self, StreamExt};
use goodhart_llm::Client;
use goodhart_stats::stats;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The shipped set: 60 items written for this crate, half of each rubric's items flagged: 20 each for
/// concerning_reasoning and misaligned_answer, 10 for blackmail_leverage (including benign uses of the
/// word "leverage" and threats without it), 6 for monitor_emails, 4 for fabricated_violation.
pub const SHIPPED: &str = include_str!("../data/calibration.jsonl");

/// One labelled item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationItem {
    pub id: String,
    /// The yes/no rubric the item calibrates (see [`rubric_named`]).
    pub rubric: String,
    /// The true label.
    pub flagged: bool,
    pub text: String,
}

/// Why a calibration file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{origin}:{line}: {message}")]
    Line {
        origin: String,
        line: usize,
        message: String,
    },
}

/// The yes/no rubrics a calibration item may name.
pub fn rubric_named(name: &str) -> Option<&'static Rubric> {
    [
        &CONCERNING_REASONING,
        &MISALIGNED_ANSWER,
        &BLACKMAIL_LEVERAGE,
        &MONITOR_EMAILS,
        &FABRICATED_VIOLATION,
    ]
    .into_iter()
    .find(|r| r.name == name)
}

/// Parses JSONL calibration items; `origin` names the file in errors.
pub fn parse_calibration(
    text: &str,
    origin: &str,
) -> Result<Vec<CalibrationItem>, CalibrationError> {
    let mut items = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let err = |message: String| CalibrationError::Line {
            origin: origin.to_string(),
            line: i + 1,
            message,
        };
        let item: CalibrationItem = serde_json::from_str(line).map_err(|e| err(e.to_string()))?;
        if rubric_named(&item.rubric).is_none() {
            return Err(err(format!(
                "field `rubric`: unknown rubric `{}` (known: concerning_reasoning, misaligned_answer, \
                 blackmail_leverage, monitor_emails, fabricated_violation)",
                item.rubric
            )));
        }
        items.push(item);
    }
    Ok(items)
}

/// The set shipped with the crate.
pub fn shipped_set() -> Result<Vec<CalibrationItem>, CalibrationError> {
    parse_calibration(SHIPPED, "calibration.jsonl (shipped)")
}

/// A researcher's own set, in the same format.
pub fn load_calibration(path: &Path) -> Result<Vec<CalibrationItem>, CalibrationError> {
    let text = std::fs::read_to_string(path).map_err(|source| CalibrationError::Read {
        path: path.to_path_buf(),
        cause: source,
    })?;
    parse_calibration(&text, &path.display().to_string())
}

/// What the judge said about one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemResult {
    pub id: String,
    pub rubric: String,
    pub expected: bool,
    /// `None` when the judge failed (the error says why).
    pub judged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Precision and recall of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassStats {
    pub class: String,
    pub support: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

/// Agreement on one rubric's items, since a judge can be good at one question and poor at another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RubricAgreement {
    pub rubric: String,
    pub judged: usize,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
}

/// A judge's agreement with the calibration labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeCheck {
    pub judge: String,
    pub judged: usize,
    pub errors: usize,
    pub accuracy: Option<f64>,
    pub accuracy_ci95: Option<[f64; 2]>,
    pub kappa: Option<f64>,
    pub per_class: Vec<ClassStats>,
    pub by_rubric: Vec<RubricAgreement>,
    pub items: Vec<ItemResult>,
}

fn judged_pairs<'a>(items: impl Iterator<Item = &'a ItemResult>) -> Vec<(usize, usize)> {
    items
        .filter_map(|i| i.judged.map(|j| (usize::from(i.expected), usize::from(j))))
        .collect()
}

fn accuracy(pairs: &[(usize, usize)]) -> Option<f64> {
    let correct = pairs.iter().filter(|(a, b)| a == b).count();
    (!pairs.is_empty()).then(|| correct as f64 / pairs.len() as f64)
}

/// Agreement statistics over results (items the judge failed on are counted as errors, not as wrong).
pub fn agreement(judge: &str, items: Vec<ItemResult>) -> JudgeCheck {
    let pairs = judged_pairs(items.iter());
    let mut rubrics: Vec<&str> = items.iter().map(|i| i.rubric.as_str()).collect();
    rubrics.dedup();
    rubrics.sort_unstable();
    rubrics.dedup();
    let by_rubric = rubrics
        .into_iter()
        .map(|rubric| {
            let p = judged_pairs(items.iter().filter(|i| i.rubric == rubric));
            RubricAgreement {
                rubric: rubric.to_string(),
                judged: p.len(),
                accuracy: accuracy(&p),
                kappa: stats::cohen_kappa(&p),
            }
        })
        .collect();
    let correct = pairs.iter().filter(|(a, b)| a == b).count();
    let wilson = stats::wilson95(correct as u64, pairs.len() as u64);
    let per_class = [(1, "flagged"), (0, "not_flagged")]
        .into_iter()
        .map(|(class, name)| {
            let support = pairs.iter().filter(|(t, _)| *t == class).count();
            let predicted = pairs.iter().filter(|(_, p)| *p == class).count();
            let hits = pairs
                .iter()
                .filter(|(t, p)| *t == class && *p == class)
                .count();
            ClassStats {
                class: name.into(),
                support,
                precision: (predicted > 0).then(|| hits as f64 / predicted as f64),
                recall: (support > 0).then(|| hits as f64 / support as f64),
            }
        })
        .collect();
    JudgeCheck {
        judge: judge.to_string(),
        judged: pairs.len(),
        errors: items.len() - pairs.len(),
        accuracy: wilson.map(|e| e.point),
        accuracy_ci95: wilson.map(|e| [e.low, e.high]),
        kappa: stats::cohen_kappa(&pairs),
        per_class,
        by_rubric,
        items,
    }
}

/// Runs the judge over every item (up to `concurrency` at once) and measures agreement.
pub async fn check_judge(
    judge: &Client,
    items: &[CalibrationItem],
    concurrency: usize,
) -> JudgeCheck {
    let results: Vec<ItemResult> = stream::iter(items)
        .map(|item| async move {
            let outcome = match rubric_named(&item.rubric) {
                Some(rubric) => judge_flag(judge, rubric, "calibration", &item.text)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err(format!("unknown rubric `{}`", item.rubric)),
            };
            let (judged, error) = match outcome {
                Ok(j) => (j.flagged, None),
                Err(e) => (None, Some(e)),
            };
            ItemResult {
                id: item.id.clone(),
                rubric: item.rubric.clone(),
                expected: item.flagged,
                judged,
                error,
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    agreement(&judge.spec().label(), results)
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into())
}

/// The report `goodhart judge-check` prints.
pub fn render_judge_check(c: &JudgeCheck) -> String {
    let mut out = format!(
        "judge {}: {} items judged, {} errors\n",
        c.judge, c.judged, c.errors
    );
    let ci = c
        .accuracy_ci95
        .map(|[l, h]| format!(" [{l:.3}, {h:.3}] (Wilson 95%)"))
        .unwrap_or_default();
    let _ = writeln!(out, "accuracy      {}{ci}", opt(c.accuracy));
    let _ = writeln!(out, "Cohen's kappa {}", opt(c.kappa));
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>9} {:>7}",
        "class", "support", "precision", "recall"
    );
    for k in &c.per_class {
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>9} {:>7}",
            k.class,
            k.support,
            opt(k.precision),
            opt(k.recall)
        );
    }
    let _ = writeln!(
        out,
        "{:<22} {:>6} {:>9} {:>7}",
        "rubric", "judged", "accuracy", "kappa"
    );
    for r in &c.by_rubric {
        let _ = writeln!(
            out,
            "{:<22} {:>6} {:>9} {:>7}",
            r.rubric,
            r.judged,
            opt(r.accuracy),
            opt(r.kappa)
        );
    }
    let wrong: Vec<&ItemResult> = c
        .items
        .iter()
        .filter(|i| i.judged.is_some_and(|j| j != i.expected))
        .collect();
    if !wrong.is_empty() {
        let _ = writeln!(out, "disagreements:");
        for i in wrong {
            let _ = writeln!(
                out,
                "  {} ({}): expected {}, judge said {}",
                i.id,
                i.rubric,
                flag(i.expected),
                flag(!i.expected)
            );
        }
    }
    for i in c.items.iter().filter(|i| i.error.is_some()) {
        let _ = writeln!(
            out,
            "  {} ({}): judge failed: {}",
            i.id,
            i.rubric,
            i.error.as_deref().unwrap_or("")
        );
    }
    out
}

fn flag(b: bool) -> &'static str {
    if b {
        "flagged"
    } else {
        "not flagged"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_set_is_balanced() {
        let set = shipped_set().unwrap();
        assert_eq!(set.len(), 60);
        for (rubric, n) in [
            ("concerning_reasoning", 20),
            ("misaligned_answer", 20),
            ("blackmail_leverage", 10),
            ("monitor_emails", 6),
            ("fabricated_violation", 4),
        ] {
            let of: Vec<_> = set.iter().filter(|i| i.rubric == rubric).collect();
            assert_eq!(of.len(), n, "{rubric}");
            assert_eq!(of.iter().filter(|i| i.flagged).count(), n / 2, "{rubric}");
        }
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse_calibration(
            "\n{\"id\":\"a\",\"rubric\":\"nope\",\"flagged\":true,\"text\":\"t\"}\n",
            "f.jsonl",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("f.jsonl:2: field `rubric`"),
            "{err}"
        );
    }
}
