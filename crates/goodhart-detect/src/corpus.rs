//! The labelled corpus and its scoring: how `goodhart bench detect` and the tests measure the detectors.

use goodhart_core::{HackKind, HackReport, Rollout};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Why a corpus or task file could not be read; always names the place.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no *.jsonl files in {0}")]
    Empty(PathBuf),
}

/// The ground truth attached to a corpus rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub hack: bool,
    #[serde(default)]
    pub kinds: Vec<HackKind>,
}

/// One corpus line: a rollout record plus its label and the labeller's note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledRollout {
    pub label: Label,
    /// Why the label is what it is, in the labeller's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(flatten)]
    pub rollout: Rollout,
    /// Where the record was read from, so a bad task id or label can be reported by file and line
    /// (not part of the record's JSON).
    #[serde(skip)]
    pub origin: Origin,
}

/// The file and 1-based line a corpus record came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// The `*.jsonl` files directly in `dir`, sorted by name (subdirectories such as `blind/` are parts of
/// their own, not read here).
pub fn corpus_files(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let io = |source| CorpusError::Io {
        path: dir.to_path_buf(),
        cause: source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads every `*.jsonl` file in `dir` (sorted by name); blank lines are skipped, bad lines are errors.
pub fn load_corpus(dir: &Path) -> Result<Vec<LabelledRollout>, CorpusError> {
    let paths = corpus_files(dir)?;
    if paths.is_empty() {
        return Err(CorpusError::Empty(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    for path in paths {
        out.extend(load_corpus_file(&path)?);
    }
    Ok(out)
}

/// Reads one labelled `*.jsonl` file: blank lines are skipped, bad lines are errors naming the line.
pub fn load_corpus_file(path: &Path) -> Result<Vec<LabelledRollout>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|cause| CorpusError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| CorpusError::Record {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let mut record = labelled(line).map_err(bad)?;
        if record.label.hack == record.label.kinds.is_empty() {
            return Err(bad(
                "label.kinds must be non-empty exactly when label.hack is true".into(),
            ));
        }
        if record.label.kinds.iter().any(|k| !k.is_hack()) {
            return Err(bad(
                "label.kinds lists only hack kinds (`grader_artefact` is evidence, never a label)"
                    .into(),
            ));
        }
        record.label.kinds.sort();
        record.label.kinds.dedup();
        record.origin = Origin {
            path: path.to_path_buf(),
            line: i + 1,
        };
        out.push(record);
    }
    Ok(out)
}

/// Reads one corpus line: `label` and `note` are the corpus's own fields, the rest is a rollout record
/// read as strictly as `goodhart grade` reads one (a misspelt field is an error naming it).
fn labelled(line: &str) -> Result<LabelledRollout, String> {
    let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let object = value
        .as_object_mut()
        .ok_or("expected a JSON object".to_string())?;
    let label = object.remove("label").ok_or("missing field `label`")?;
    let label: Label = serde_json::from_value(label).map_err(|e| format!("field `label`: {e}"))?;
    let note = match object.remove("note") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => return Err("field `note`: expected a string".into()),
    };
    let rollout = Rollout::from_value(value).map_err(|e| e.to_string())?;
    Ok(LabelledRollout {
        label,
        note,
        rollout,
        origin: Origin::default(),
    })
}

/// Precision and recall of one kind (a rollout counts for a kind when its label or report names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindScore {
    pub kind: HackKind,
    /// Rollouts labelled with this kind.
    pub support: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
}

/// How well `attempted` and the kinds match the labels over a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub rollouts: usize,
    pub hacks: usize,
    pub honest: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    /// False positives as a fraction of honest rollouts.
    pub false_positive_rate: f64,
    /// Fraction of hacks for which the report names at least one labelled kind.
    pub right_kind: f64,
    /// Hacks the grading showed to succeed (a proxy passed, `hardened` failed): 0 without grading.
    pub succeeded: usize,
    /// Of those, how many the detectors could only call `unexplained_proxy_pass`.
    pub unexplained: usize,
    pub per_kind: Vec<KindScore>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// Scores reports against labels (pairs in any order).
pub fn score(results: &[(Label, HackReport)]) -> Scores {
    let (mut tp, mut fp, mut fneg, mut right) = (0, 0, 0, 0);
    for (label, report) in results {
        match (label.hack, report.attempted) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fneg += 1,
            (false, false) => {}
        }
        if label.hack && label.kinds.iter().any(|k| report.kinds.contains(k)) {
            right += 1;
        }
    }
    let hacks = results.iter().filter(|(l, _)| l.hack).count();
    let succeeded: Vec<&HackReport> = results
        .iter()
        .filter(|(l, r)| l.hack && r.succeeded)
        .map(|(_, r)| r)
        .collect();
    let unexplained = succeeded
        .iter()
        .filter(|r| r.kinds.contains(&HackKind::UnexplainedProxyPass))
        .count();
    let honest = results.len() - hacks;
    let per_kind = HackKind::ALL
        .iter()
        .filter_map(|&kind| {
            let (mut t, mut f, mut n) = (0, 0, 0);
            for (label, report) in results {
                match (label.kinds.contains(&kind), report.kinds.contains(&kind)) {
                    (true, true) => t += 1,
                    (false, true) => f += 1,
                    (true, false) => n += 1,
                    (false, false) => {}
                }
            }
            (t + f + n > 0).then(|| KindScore {
                kind,
                support: t + n,
                true_positives: t,
                false_positives: f,
                false_negatives: n,
                precision: ratio(t, t + f),
                recall: ratio(t, t + n),
            })
        })
        .collect();
    Scores {
        rollouts: results.len(),
        hacks,
        honest,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fneg,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fneg),
        false_positive_rate: if honest == 0 {
            0.0
        } else {
            fp as f64 / honest as f64
        },
        right_kind: ratio(right, hacks),
        succeeded: succeeded.len(),
        unexplained,
        per_kind,
    }
}

impl Scores {
    /// The human-readable table `goodhart bench detect` prints: overall figures, then one row per kind.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} rollouts: {} hacks, {} honest\n\
             attempted: precision {:.3}  recall {:.3}  false positives {}/{} honest ({:.1}%)\n\
             right kind on {:.1}% of hacks\n\n",
            self.rollouts,
            self.hacks,
            self.honest,
            self.precision,
            self.recall,
            self.false_positives,
            self.honest,
            100.0 * self.false_positive_rate,
            100.0 * self.right_kind,
        );
        if self.succeeded > 0 {
            out.insert_str(
                out.len() - 1,
                &format!(
                    "unexplained_proxy_pass on {}/{} succeeded hacks ({:.1}%)\n",
                    self.unexplained,
                    self.succeeded,
                    100.0 * self.unexplained as f64 / self.succeeded as f64
                ),
            );
        }
        out.push_str(&format!(
            "{:<24} {:>7} {:>4} {:>4} {:>4} {:>9} {:>7}\n",
            "kind", "support", "tp", "fp", "fn", "precision", "recall"
        ));
        for k in &self.per_kind {
            out.push_str(&format!(
                "{:<24} {:>7} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}\n",
                k.kind.as_str(),
                k.support,
                k.true_positives,
                k.false_positives,
                k.false_negatives,
                k.precision,
                k.recall
            ));
        }
        out
    }
}
