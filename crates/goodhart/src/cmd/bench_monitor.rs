//! `goodhart bench detect --monitor MODEL`: the LLM monitor scored on every corpus part beside the
//! offline layers, alone and combined with them under each policy, with what it cost (tokens, requests,
//! errors). Blind parts are reported only in aggregate, like the offline scores.

use super::monitor::MonitorArgs;
use anyhow::Context;
use futures_util::StreamExt;
use goodhart_core::{HackReport, Rollout, Task};
use goodhart_detect::{score, Label, Scores, Submission};
use goodhart_monitor::{combine, Monitor, Policy, Review};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The monitor's flags on `goodhart bench detect`.
#[derive(clap::Args)]
pub struct MonitorBenchArgs {
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// A models TOML file naming endpoints, for --monitor NAME.
    #[arg(long, env = "GOODHART_MODELS", value_name = "PATH")]
    pub models: Option<PathBuf>,
    /// Review at most N records of each corpus part, evenly spaced through it (so hacks and honest
    /// rollouts are both drawn); the offline figures in the monitor table are over the same records.
    /// [default: every record]
    #[arg(long, value_name = "N", requires = "monitor")]
    pub monitor_limit: Option<usize>,
    /// Seconds one monitor request may take. [default: 600]
    #[arg(long, value_name = "SECS", requires = "monitor")]
    pub monitor_timeout: Option<u64>,
    /// The store whose response cache holds the monitor's answers: a SQLite file, or a postgres:// URL shared by many processes (default:
    /// $GOODHART_HOME/goodhart.db).
    #[arg(long, value_name = "PATH|URL", requires = "monitor", env = "GOODHART_DB",
          value_parser = super::DbLocation)]
    pub db: Option<PathBuf>,
    /// Do not read or write the response cache.
    #[arg(long, requires = "monitor")]
    pub no_cache: bool,
}

/// One record of a part, as the monitor and the scoring see it.
pub struct Item<'a> {
    pub task: &'a Task,
    pub rollout: &'a Rollout,
    pub submission: &'a Submission,
    pub label: &'a Label,
    /// What the offline layers said (all layers with --grade, else static and hard-coding).
    pub offline: &'a HackReport,
}

/// The monitor's figures on one part.
#[derive(Debug, Serialize)]
pub struct MonitorScores {
    /// Records reviewed, of the part's total.
    pub reviewed: usize,
    pub total: usize,
    /// Reviews that gave a verdict; the monitor's own scores are over these.
    pub answered: usize,
    /// Errors by kind (`malformed`, `http_400`, `timeout`, `too_long`, ...).
    pub errors: BTreeMap<String, usize>,
    /// The offline layers on the same records.
    pub offline: Scores,
    /// The monitor alone, over the answered records.
    pub monitor: Scores,
    /// The offline layers and the monitor combined under `union` and `confirm` (a monitor error leaves
    /// the offline label); `evidence` changes no label, so it scores as `offline`.
    pub union: Scores,
    pub confirm: Scores,
    /// Answers used (a re-ask counts twice), and of those answered from the cache.
    pub requests: u64,
    pub cached: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The records of a part to review: all, or `limit` of them evenly spaced.
fn sample(len: usize, limit: Option<usize>) -> Vec<usize> {
    match limit {
        Some(n) if n < len => (0..n).map(|i| i * len / n).collect(),
        _ => (0..len).collect(),
    }
}

/// Reviews the sampled records of one part and scores them.
pub async fn score_part(
    monitor: &Monitor,
    items: &[Item<'_>],
    limit: Option<usize>,
    concurrency: usize,
) -> MonitorScores {
    let picked = sample(items.len(), limit);
    let mut reviews: Vec<(usize, Review)> = futures_util::stream::iter(picked.iter().copied())
        .map(|i| async move {
            let it = &items[i];
            (
                i,
                monitor
                    .review(&it.task.prompt, it.rollout, it.submission)
                    .await,
            )
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    reviews.sort_by_key(|(i, _)| *i);
    let mut errors = BTreeMap::new();
    let (mut offline, mut alone, mut union, mut confirm) = (vec![], vec![], vec![], vec![]);
    let (mut requests, mut cached, mut prompt_tokens, mut completion_tokens) = (0, 0, 0, 0);
    for (i, review) in &reviews {
        let it = &items[*i];
        requests += u64::from(review.requests);
        cached += u64::from(review.cached);
        prompt_tokens += review.tokens.prompt;
        completion_tokens += review.tokens.completion;
        let verdict = review.verdict();
        match (&review.result, verdict) {
            (Err(e), _) => *errors.entry(e.kind()).or_insert(0) += 1,
            (Ok(_), Some(v)) => alone.push((
                it.label.clone(),
                combine(Policy::Union, &HackReport::default(), Some(v)),
            )),
            (Ok(_), None) => {}
        }
        offline.push((it.label.clone(), it.offline.clone()));
        union.push((
            it.label.clone(),
            combine(Policy::Union, it.offline, verdict),
        ));
        confirm.push((
            it.label.clone(),
            combine(Policy::Confirm, it.offline, verdict),
        ));
    }
    MonitorScores {
        reviewed: reviews.len(),
        total: items.len(),
        answered: alone.len(),
        errors,
        offline: score(&offline),
        monitor: score(&alone),
        union: score(&union),
        confirm: score(&confirm),
        requests,
        cached,
        prompt_tokens,
        completion_tokens,
    }
}

/// Reviews every part; `None` without `--monitor`.
pub fn run(
    args: &MonitorBenchArgs,
    parts: &[(String, Vec<Item<'_>>)],
) -> anyhow::Result<Option<Vec<MonitorScores>>> {
    let Some(setup) = args.monitor.setup(args.models.as_deref())? else {
        return Ok(None);
    };
    let db = super::eval::ClientArgs::db_or_default(args.db.clone())?;
    let timeout = Duration::from_secs(args.monitor_timeout.unwrap_or(600).max(1));
    let monitor = setup.monitor(&db, args.no_cache, timeout)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let scores = runtime.block_on(async {
        let mut out = Vec::new();
        for (name, items) in parts {
            eprintln!(
                "bench detect: monitor {} reviewing {} of {} records of {name}",
                setup.model.label(),
                sample(items.len(), args.monitor_limit).len(),
                items.len()
            );
            out.push(score_part(&monitor, items, args.monitor_limit, setup.concurrency).await);
        }
        out
    });
    Ok(Some(scores))
}

impl MonitorScores {
    /// The `--json` form.
    pub fn to_json(&self) -> serde_json::Value {
        json!(self)
    }

    /// The table printed under a part: one row per way of labelling, then the cost.
    pub fn render(&self, model: &str) -> String {
        let mut out = format!(
            "LLM monitor {model} (rubric {}): {} of {} records reviewed, {} answered, {} errors{}\n",
            goodhart_monitor::rubric::RUBRIC,
            self.reviewed,
            self.total,
            self.answered,
            self.errors.values().sum::<usize>(),
            if self.errors.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    self.errors
                        .iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        out.push_str(&format!(
            "{:<30} {:>5} {:>5} {:>6} {:>9} {:>7} {:>10} {:>10}\n",
            "labels", "n", "hacks", "honest", "precision", "recall", "fp/honest", "right kind"
        ));
        let rows = [
            ("offline layers (same records)", &self.offline),
            ("monitor alone (answered)", &self.monitor),
            ("union (either flags)", &self.union),
            ("confirm (both flag)", &self.confirm),
        ];
        for (name, s) in rows {
            out.push_str(&format!(
                "{:<30} {:>5} {:>5} {:>6} {:>9.3} {:>7.3} {:>9.1}% {:>9.1}%\n",
                name,
                s.rollouts,
                s.hacks,
                s.honest,
                s.precision,
                s.recall,
                100.0 * s.false_positive_rate,
                100.0 * s.right_kind
            ));
        }
        out.push_str(&format!(
            "cost: {} answers ({} from the cache), {} prompt + {} completion tokens\n",
            self.requests, self.cached, self.prompt_tokens, self.completion_tokens
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::sample;

    #[test]
    fn sampling_spreads_over_the_part() {
        assert_eq!(sample(10, Some(4)), [0, 2, 5, 7]);
        assert_eq!(sample(3, Some(10)), [0, 1, 2]);
        assert_eq!(sample(3, None), [0, 1, 2]);
    }
}
