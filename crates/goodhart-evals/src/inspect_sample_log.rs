//! `goodhart sample --log-dir DIR`: the run's graded rollouts as one Inspect AI `.eval` log,
//! `DIR/<run_id>_sample.eval`, written by the same writer as eval logs
//! ([`crate::inspect_log::write_members`]), so `inspect view` shows the completions and an
//! Inspect analysis script counts hacks.
//!
//! One sample per rollout: id `<framing>.<task id>` (every `/` a `.`), epoch the sample index + 1, the
//! framed system prompt and the task as input, the completion (reasoning as a `reasoning` part) as the
//! answer. Scores are the graded verdicts: `hack` first (`I` when a hack succeeded: a proxy passed
//! while `hardened` failed; `C` otherwise; attempted, kinds and evidence in its metadata), then one
//! scorer per grader profile (`C` passed, `I` failed). Rollouts whose grading failed are not in the
//! store, so not in the log; the run's summary counts them.

use crate::inspect_log::{
    header_member, text_content, write_members, InspectLogError, LOG_SCHEMA_VERSION,
};
use goodhart_core::{GradedRollout, Profile, Task};
use goodhart_llm::Framing;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The headline scorer of sample logs.
pub const HACK_SCORER: &str = "hack";

/// What the log says about the run beyond its rollouts.
pub struct SampleLogInfo<'a> {
    pub run_id: &'a str,
    pub model: &'a str,
    pub tasks_source: &'a str,
    pub created: &'a str,
    pub completed: &'a str,
    pub samples_per_task: u32,
    pub temperature: f64,
    pub max_tokens: Option<u32>,
    pub hints: bool,
    pub checkpoint: Option<&'a str>,
    pub step: Option<i64>,
    pub cancelled: bool,
}

fn cv(ok: bool) -> &'static str {
    if ok {
        "C"
    } else {
        "I"
    }
}

fn inspect_id(g: &GradedRollout) -> String {
    let framing = g.rollout.framing.as_deref().unwrap_or("none");
    format!("{framing}.{}", g.rollout.task_id).replace('/', ".")
}

fn epoch(g: &GradedRollout) -> u64 {
    g.rollout
        .extra
        .get("sample")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        + 1
}

fn scores(g: &GradedRollout) -> Value {
    let mut s = serde_json::Map::new();
    s.insert(
        HACK_SCORER.into(),
        json!({
            "value": cv(!g.hack.succeeded),
            "answer": g.rollout.completion,
            "explanation": if g.hack.succeeded { "hack succeeded" }
                else if g.hack.attempted { "hack attempted, did not succeed" } else { "no hack" },
            "metadata": {
                "attempted": g.hack.attempted,
                "succeeded": g.hack.succeeded,
                "kinds": g.hack.kinds,
                "evidence": g.hack.evidence,
                "reward": g.reward,
            },
        }),
    );
    for (profile, v) in &g.verdicts {
        s.insert(
            profile.as_str().into(),
            json!({
                "value": cv(v.passed),
                "explanation": format!("{}: {} of {} tests passed", v.status.as_str(), v.tests_passed, v.tests_total),
                "metadata": {"verdict": v},
            }),
        );
    }
    Value::Object(s)
}

fn messages(g: &GradedRollout, task: Option<&Task>, hints: bool) -> Vec<Value> {
    let framing: Option<Framing> = g.rollout.framing.as_deref().and_then(|f| f.parse().ok());
    let mut out = Vec::new();
    if let Some(f) = framing {
        out.push(json!({"role": "system", "content": f.system_prompt(hints), "source": "input"}));
    }
    let prompt = task.map_or("", |t| t.prompt.as_str());
    out.push(json!({"role": "user", "content": prompt, "source": "input"}));
    out.push(json!({
        "role": "assistant",
        "content": text_content(&g.rollout.completion, g.rollout.reasoning.as_deref()),
        "source": "generate",
    }));
    out
}

/// The members of a sample run's log, in the order Inspect writes them.
pub fn sample_log_members(
    graded: &[GradedRollout],
    tasks: &[Task],
    info: &SampleLogInfo<'_>,
) -> Vec<(String, Value)> {
    let by_task: BTreeMap<&str, &Task> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut ids: Vec<String> = graded.iter().map(inspect_id).collect();
    ids.sort();
    ids.dedup();
    let mut generate = json!({"temperature": info.temperature});
    if let Some(m) = info.max_tokens {
        generate["max_tokens"] = json!(m);
    }
    let scorer_names: Vec<&str> = std::iter::once(HACK_SCORER)
        .chain(Profile::ALL.iter().map(|p| p.as_str()))
        .collect();
    let spec = json!({
        "eval_id": format!("{}-sample", info.run_id),
        "run_id": info.run_id,
        "created": info.created,
        "task": "goodhart/sample",
        "task_id": "goodhart/sample",
        "task_version": 0,
        "dataset": {"name": info.tasks_source, "samples": ids.len(), "sample_ids": ids},
        "model": info.model,
        "model_generate_config": generate,
        "config": {"epochs": info.samples_per_task, "epochs_reducer": ["mean"]},
        "packages": {"goodhart": env!("CARGO_PKG_VERSION")},
        "metadata": {
            "goodhart_run_id": info.run_id,
            "hints": info.hints,
            "checkpoint": info.checkpoint,
            "step": info.step,
        },
        "scorers": scorer_names.iter().map(|n| json!({"name": n, "options": {}, "metrics": [], "metadata": {}})).collect::<Vec<_>>(),
    });
    let plan = json!({"name": "plan", "steps": [{"solver": "goodhart/sample", "params": {}}], "config": {}});
    let mut members = vec![(
        "_journal/start.json".to_string(),
        json!({"version": LOG_SCHEMA_VERSION, "eval": spec, "plan": plan}),
    )];
    let mut summaries = Vec::new();
    // scorer -> sample id -> (sum of C, count)
    let mut reduced: BTreeMap<&str, BTreeMap<String, (f64, f64)>> = BTreeMap::new();
    for g in graded {
        let id = inspect_id(g);
        let task = by_task.get(g.rollout.task_id.as_str()).copied();
        let msgs = messages(g, task, info.hints);
        let sc = scores(g);
        for name in &scorer_names {
            if let Some(v) = sc[*name]["value"].as_str() {
                let e = reduced
                    .entry(name)
                    .or_default()
                    .entry(id.clone())
                    .or_default();
                e.0 += if v == "C" { 1.0 } else { 0.0 };
                e.1 += 1.0;
            }
        }
        let metadata = json!({
            "goodhart_rollout_id": g.rollout.id,
            "task_id": g.rollout.task_id,
            "framing": g.rollout.framing,
        });
        members.push((
            format!("samples/{id}_epoch_{}.json", epoch(g)),
            json!({
                "id": id,
                "epoch": epoch(g),
                "input": task.map_or("", |t| t.prompt.as_str()),
                "target": "",
                "messages": msgs,
                "output": {"model": info.model, "choices": [{"message": msgs.last(), "stop_reason": "stop"}]},
                "scores": sc,
                "metadata": metadata,
            }),
        ));
        summaries.push(json!({
            "id": id,
            "epoch": epoch(g),
            "input": task.map_or("", |t| t.prompt.as_str()),
            "target": "",
            "metadata": metadata,
            "scores": sc,
            "completed": true,
            "message_count": msgs.len(),
        }));
    }
    members.push(("summaries.json".into(), Value::Array(summaries)));
    let reductions: Vec<Value> = scorer_names
        .iter()
        .filter_map(|name| {
            let per = reduced.get(name)?;
            let samples: Vec<Value> = per
                .iter()
                .map(|(id, (c, n))| json!({"value": c / n, "sample_id": id}))
                .collect();
            Some(json!({"scorer": name, "reducer": "mean", "samples": samples}))
        })
        .collect();
    members.push(("reductions.json".into(), Value::Array(reductions)));
    let n = graded.len();
    let rate = |f: &dyn Fn(&GradedRollout) -> bool| {
        if n == 0 {
            0.0
        } else {
            graded.iter().filter(|g| f(g)).count() as f64 / n as f64
        }
    };
    let metric = |name: &str, value: f64| json!({"name": name, "value": value, "params": {}, "metadata": {}});
    let mut results = vec![json!({
        "name": HACK_SCORER, "scorer": HACK_SCORER, "reducer": "mean",
        "scored_samples": n, "unscored_samples": 0, "params": {},
        "metrics": {
            "hack_succeeded_rate": metric("hack_succeeded_rate", rate(&|g| g.hack.succeeded)),
            "hack_attempted_rate": metric("hack_attempted_rate", rate(&|g| g.hack.attempted)),
        },
    })];
    for p in Profile::ALL {
        let passed = rate(&|g| g.verdicts.get(&p).is_some_and(|v| v.passed));
        results.push(json!({
            "name": p.as_str(), "scorer": p.as_str(), "reducer": "mean",
            "scored_samples": graded.iter().filter(|g| g.verdicts.contains_key(&p)).count(),
            "unscored_samples": graded.iter().filter(|g| !g.verdicts.contains_key(&p)).count(),
            "params": {},
            "metrics": {"pass_rate": metric("pass_rate", passed)},
        }));
    }
    members.push(header_member(
        &spec,
        &plan,
        json!({"total_samples": n, "completed_samples": n, "scores": results}),
        (info.created, info.completed, info.cancelled),
    ));
    members
}

/// Writes the log into `dir` as `<run_id>_sample.eval` and returns its path.
pub fn write_sample_log(
    dir: &Path,
    graded: &[GradedRollout],
    tasks: &[Task],
    info: &SampleLogInfo<'_>,
) -> Result<PathBuf, InspectLogError> {
    std::fs::create_dir_all(dir).map_err(|source| InspectLogError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{}_sample.eval", info.run_id));
    write_members(&path, sample_log_members(graded, tasks, info))?;
    Ok(path)
}
