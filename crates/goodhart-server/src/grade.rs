//! Grading endpoints: the native `POST /v1/grade` and OpenRLHF's `POST /get_reward`.
//!
//! Both grade every rollout under every profile, label hacks, turn the result into a reward with the
//! request's policy (or the server's default), and store the graded records *before* answering, so a
//! trainer never acts on a reward the store does not hold.
//!
//! Storing is idempotent. Each rollout gets a result key that a retry reproduces, whichever replica it
//! reaches and however the trainer re-batches it: `id:ID:HASH` when the rollout names its id, else
//! `content:HASH:N`. HASH is the SHA-256 of what decides the graded record (route, the task, the
//! rollout's code and fields, step, policy, proxy profile, penalty and the grader version), so one id
//! sent again with other code is another result; N numbers identical rollouts within one request, so
//! identical completions sent together each count. A key already in the store (under any `serve` run,
//! by any replica sharing the store, also after a restart) is not stored again, and the answer is the
//! stored record: a retried request gets the same rewards and the store holds each rollout once.
//! Rollouts the request names no id for get one from the key.

use crate::app::{gate_error, AppState};
use crate::error::{ApiError, ApiJson};
use crate::reward::{self, RewardPolicy};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use goodhart_core::{GradedRollout, HackReport, Profile, Rollout, Task, Verdict};
use goodhart_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The header a trainer can set instead of a `step` field.
pub const STEP_HEADER: &str = "x-goodhart-step";

/// What grading one rollout found, before a policy turns it into a reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub verdicts: BTreeMap<Profile, Verdict>,
    pub hack: HackReport,
    /// Fields a judge adds to the graded record beside `hack` (the LLM monitor's `monitor` object);
    /// they replace input fields of the same name.
    pub extra: serde_json::Map<String, Value>,
}

/// Grades a rollout under every profile and labels its hacks; blocking (it runs the sandbox).
pub trait Judge: Send + Sync + 'static {
    /// Grades `rollout` against `task`.
    fn judge(&self, task: &Task, rollout: &Rollout) -> Judged;
}

/// Where graded records go before the answer leaves: one store run for the server's whole session.
pub struct Journal {
    pub store: Store,
    pub run_id: String,
}

/// Everything the grading endpoints need; absent when the server was started without tasks.
pub struct Grading {
    /// Tasks by id, for rollouts and labels that name one.
    pub tasks: HashMap<String, Arc<Task>>,
    pub judge: Arc<dyn Judge>,
    pub journal: Option<Arc<Journal>>,
    /// Policy for requests that do not name one.
    pub policy: RewardPolicy,
    /// The hackable profile the proxy reward reads.
    pub proxy: Profile,
    /// Penalty for requests that do not give one.
    pub penalty: f64,
    /// Stdin/stdout tasks by the text of each case input, so a `/run_code` request (verl sends one per
    /// test case, the case's input as `stdin`) can be matched to the task it is graded against.
    pub by_stdin: HashMap<String, Vec<Arc<Task>>>,
}

impl Grading {
    /// The one known stdin/stdout task that has `stdin` as a case input; `None` when no task or more
    /// than one has it (an input shared by two tasks says nothing about which one is being graded).
    pub fn task_for_stdin(&self, stdin: &str) -> Option<&Arc<Task>> {
        match self.by_stdin.get(stdin).map(Vec::as_slice) {
            Some([task]) => Some(task),
            _ => None,
        }
    }

    /// Grading over `tasks` with `judge`, storing into `journal` when given.
    pub fn new(
        tasks: Vec<Task>,
        judge: Arc<dyn Judge>,
        journal: Option<Journal>,
        policy: RewardPolicy,
        proxy: Profile,
        penalty: f64,
    ) -> Self {
        let tasks: HashMap<String, Arc<Task>> = tasks
            .into_iter()
            .map(|t| (t.id.clone(), Arc::new(t)))
            .collect();
        let mut by_stdin: HashMap<String, Vec<Arc<Task>>> = HashMap::new();
        for task in tasks.values() {
            let Some(stdio) = &task.stdio else { continue };
            for case in stdio.visible.iter().chain(&stdio.hidden) {
                let owners = by_stdin.entry(case.input.clone()).or_default();
                if !owners.iter().any(|t| t.id == task.id) {
                    owners.push(task.clone());
                }
            }
        }
        Grading {
            tasks,
            by_stdin,
            judge,
            journal: journal.map(Arc::new),
            policy,
            proxy,
            penalty,
        }
    }
}

/// The grader version in result keys: a retry graded by another Goodhart build is another result.
pub const GRADER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The hex SHA-256 of some content (serde_json writes object keys sorted, so equal content hashes
/// equally).
pub(crate) fn content_hash(content: &Value) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Result keys for a request's rollouts, in order (see the module docs): `id:ID:HASH` for a rollout
/// with an id, else `content:HASH:N`, N counting identical content earlier in the request.
fn result_keys(items: impl IntoIterator<Item = (Option<String>, String)>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    items
        .into_iter()
        .map(|(id, hash)| match id {
            Some(id) => format!("id:{id}:{}", &hash[..32]),
            None => {
                let n = seen.entry(hash.clone()).or_default();
                *n += 1;
                format!("content:{hash}:{}", *n - 1)
            }
        })
        .collect()
}

/// The id a rollout sent without one gets: `PREFIX-HASH16-I`, its content hash and its index in the
/// request, so a retry of the request gets the same ids.
fn served_id(prefix: &str, hash: &str, index: usize) -> String {
    format!("{prefix}-{}-{index}", &hash[..16])
}

/// What decides one graded record, hashed into its result key.
fn rollout_content(route: &str, task: &Task, rollout: &Rollout, policy: &Policy) -> Value {
    let mut record = serde_json::to_value(rollout).unwrap_or(Value::Null);
    if let Some(fields) = record.as_object_mut() {
        fields.remove("id");
    }
    serde_json::json!({
        "route": route, "task": task, "rollout": record, "reward": policy.policy,
        "proxy": policy.proxy.as_str(), "penalty": policy.penalty, "grader": GRADER_VERSION,
    })
}

/// One rollout ready to grade, with its task resolved and its idempotency key.
struct Job {
    task: Arc<Task>,
    rollout: Rollout,
    key: String,
}

/// The policy knobs a request may override.
#[derive(Debug, Clone, Copy)]
struct Policy {
    policy: RewardPolicy,
    proxy: Profile,
    penalty: f64,
}

/// Body of `POST /v1/grade`.
#[derive(Debug, Deserialize)]
pub struct GradeRequest {
    /// Rollout records, read strictly by [`Rollout::from_value`] (a field no rollout has is a 422
    /// naming `rollouts[i].FIELD`).
    pub rollouts: Vec<Value>,
    #[serde(default)]
    pub reward: Option<RewardPolicy>,
    #[serde(default)]
    pub penalty: Option<f64>,
    /// Training step for rollouts that carry none (the `X-Goodhart-Step` header does the same).
    #[serde(default)]
    pub step: Option<i64>,
}

/// Answer of `POST /v1/grade`.
#[derive(Debug, Serialize, Deserialize)]
pub struct GradeResponse {
    pub rollouts: Vec<GradedRollout>,
}

/// Body of `POST /get_reward`, as OpenRLHF's remote reward client sends it.
#[derive(Debug, Deserialize)]
pub struct RewardRequest {
    /// Prompt + response, with the chat template applied.
    pub query: Vec<String>,
    /// The prompts, so the response can be cut out of the query.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// A task id, a JSON object (`{"task_id"|"task", "framing"?}`), or that object as a string.
    pub labels: Vec<Value>,
    #[serde(default)]
    pub step: Option<i64>,
    #[serde(default)]
    pub reward: Option<RewardPolicy>,
    #[serde(default)]
    pub penalty: Option<f64>,
}

/// Answer of `POST /get_reward`: `rewards` feed the advantage, `scores` the dynamic filter, and
/// every `extra_logs` list is logged by OpenRLHF as its mean.
#[derive(Debug, Serialize, Deserialize)]
pub struct RewardResponse {
    pub rewards: Vec<f64>,
    pub scores: Vec<f64>,
    pub extra_logs: BTreeMap<String, Vec<f64>>,
}

fn grading(state: &AppState) -> Result<&Grading, ApiError> {
    state.grading.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server grades nothing: start it with `goodhart serve --tasks SRC`",
        )
    })
}

pub(crate) fn header_step(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(STEP_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    text.parse::<i64>().map(Some).map_err(|_| ApiError {
        status: StatusCode::BAD_REQUEST,
        field: Some("X-Goodhart-Step".to_string()),
        message: format!("header `X-Goodhart-Step` must be an integer training step, got `{text}`"),
    })
}

fn policy(
    g: &Grading,
    reward: Option<RewardPolicy>,
    penalty: Option<f64>,
) -> Result<Policy, ApiError> {
    let penalty = penalty.unwrap_or(g.penalty);
    if !penalty.is_finite() {
        return Err(ApiError::invalid("penalty", "must be a finite number"));
    }
    Ok(Policy {
        policy: reward.unwrap_or(g.policy),
        proxy: g.proxy,
        penalty,
    })
}

/// The request's policy knobs (over the server's defaults) and its training step: the body's `step`,
/// else the `X-Goodhart-Step` header.
fn policy_and_step(
    g: &Grading,
    reward: Option<RewardPolicy>,
    penalty: Option<f64>,
    step: Option<i64>,
    headers: &HeaderMap,
) -> Result<(Policy, Option<i64>), ApiError> {
    let policy = policy(g, reward, penalty)?;
    let step = match step {
        Some(step) => Some(step),
        None => header_step(headers)?,
    };
    Ok((policy, step))
}

/// Resolves a rollout's task: an inline `task` object wins, else its `task_id` among the loaded tasks.
fn resolve(g: &Grading, rollout: &mut Rollout, field: &str) -> Result<Arc<Task>, ApiError> {
    if let Some(inline) = rollout.extra.remove("task") {
        if let Some((path, message)) = inline
            .as_object()
            .and_then(goodhart_core::fields::unknown_task_field)
        {
            return Err(ApiError::invalid(format!("{field}.task.{path}"), message));
        }
        let task: Task = serde_json::from_value(inline)
            .map_err(|e| ApiError::invalid(format!("{field}.task"), format!("not a task: {e}")))?;
        if rollout.task_id.is_empty() {
            rollout.task_id = task.id.clone();
        }
        return Ok(Arc::new(task));
    }
    g.tasks.get(&rollout.task_id).cloned().ok_or_else(|| {
        ApiError::invalid(
            format!("{field}.task_id"),
            format!(
                "no task `{}` is loaded on this server (and no inline `task` was sent)",
                rollout.task_id
            ),
        )
    })
}

/// Grades the jobs concurrently through the gate, rewards them and journals them before returning.
async fn grade_jobs(
    state: &Arc<AppState>,
    jobs: Vec<Job>,
    policy: Policy,
) -> Result<Vec<GradedRollout>, ApiError> {
    let g = grading(state)?;
    let mut handles = Vec::with_capacity(jobs.len());
    for job in jobs {
        let judge = Arc::clone(&g.judge);
        let state = Arc::clone(state);
        handles.push(tokio::spawn(async move {
            let Job { task, rollout, key } = job;
            state
                .gate
                .admit(move || {
                    let judged = judge.judge(&task, &rollout);
                    (rollout, key, judged)
                })
                .await
        }));
    }
    let mut graded = Vec::with_capacity(handles.len());
    for handle in handles {
        let joined = handle
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let (mut rollout, key, judged) = joined.map_err(gate_error)?;
        rollout.extra.extend(judged.extra);
        let reward = reward::reward(
            policy.policy,
            policy.proxy,
            policy.penalty,
            &judged.verdicts,
            &judged.hack,
        );
        state.metrics.graded(
            policy.policy.as_str(),
            judged.hack.kinds.iter().map(|k| k.as_str()),
        );
        graded.push((
            key,
            GradedRollout {
                rollout,
                verdicts: judged.verdicts,
                reward,
                hack: judged.hack,
            },
        ));
    }
    let Some(journal) = g.journal.clone() else {
        return Ok(graded.into_iter().map(|(_, g)| g).collect());
    };
    tokio::task::spawn_blocking(move || journal.store.journal_graded(&journal.run_id, &graded))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not store the graded rollouts: {e}"),
            )
        })
}

/// A grading request that passed validation: the rollouts with their tasks, and the reward policy.
pub struct Prepared {
    jobs: Vec<Job>,
    policy: Policy,
}

impl Prepared {
    /// The rollouts to grade, in request order.
    pub fn rollouts(&self) -> impl Iterator<Item = &Rollout> {
        self.jobs.iter().map(|j| &j.rollout)
    }
}

/// Validates a `/v1/grade` body: the policy and penalty, the step (body, else `headers`), and each
/// rollout's task; every refusal names the field (`rollouts[2].task_id`). Runs nothing.
pub fn prepare_grade(
    g: &Grading,
    request: GradeRequest,
    headers: &HeaderMap,
) -> Result<Prepared, ApiError> {
    let (policy, step) =
        policy_and_step(g, request.reward, request.penalty, request.step, headers)?;
    let rollouts = request
        .rollouts
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            Rollout::from_value(value).map_err(|e| {
                let field = match e.field() {
                    Some(f) => format!("rollouts[{i}].{f}"),
                    None => format!("rollouts[{i}]"),
                };
                ApiError::invalid(field, e.to_string())
            })
        })
        .collect::<Result<Vec<Rollout>, ApiError>>()?;
    let mut resolved = Vec::with_capacity(rollouts.len());
    for (i, mut rollout) in rollouts.into_iter().enumerate() {
        let task = resolve(g, &mut rollout, &format!("rollouts[{i}]"))?;
        rollout.step = rollout.step.or(step);
        let hash = content_hash(&rollout_content("/v1/grade", &task, &rollout, &policy));
        resolved.push((task, rollout, hash));
    }
    let keys = result_keys(
        resolved
            .iter()
            .map(|(_, r, hash)| ((!r.id.is_empty()).then(|| r.id.clone()), hash.clone())),
    );
    let jobs = resolved
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, ((task, mut rollout, hash), key))| {
            if rollout.id.is_empty() {
                rollout.id = served_id("serve", &hash, i);
            }
            Job { task, rollout, key }
        })
        .collect();
    Ok(Prepared { jobs, policy })
}

/// `POST /v1/grade`.
pub(crate) async fn grade_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<GradeRequest>,
) -> Result<Json<GradeResponse>, ApiError> {
    let prepared = prepare_grade(grading(&state)?, request, &headers)?;
    let rollouts = grade_jobs(&state, prepared.jobs, prepared.policy).await?;
    Ok(Json(GradeResponse { rollouts }))
}

/// A parsed OpenRLHF label.
#[derive(Debug)]
struct Label {
    task: Option<Value>,
    task_id: Option<String>,
    framing: Option<String>,
}

fn parse_label(value: &Value, field: &str) -> Result<Label, ApiError> {
    let object = match value {
        Value::String(s) if s.trim_start().starts_with('{') => serde_json::from_str::<Value>(s)
            .map_err(|e| {
                ApiError::invalid(field, format!("label looks like JSON but is not: {e}"))
            })?,
        Value::String(s) => {
            return Ok(Label {
                task: None,
                task_id: Some(s.clone()),
                framing: None,
            })
        }
        Value::Object(_) => value.clone(),
        other => {
            return Err(ApiError::invalid(
                field,
                format!("expected a task id or an object, got {other}"),
            ));
        }
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
    let task = object.get("task").cloned();
    let task_id = text("task_id").or_else(|| {
        task.as_ref()
            .and_then(|t| t.get("id")?.as_str().map(str::to_string))
    });
    if task.is_none() && task_id.is_none() {
        return Err(ApiError::invalid(
            field,
            "label object has neither `task_id` nor `task`",
        ));
    }
    Ok(Label {
        task,
        task_id,
        framing: text("framing"),
    })
}

/// Validates a `/get_reward` body: the policy and penalty, the step (body, else `headers`), the
/// lengths of `labels` and `prompts` against `query`, and each label's task; every refusal names the
/// field (`labels[3]`). Runs nothing.
pub fn prepare_reward(
    g: &Grading,
    request: RewardRequest,
    headers: &HeaderMap,
) -> Result<Prepared, ApiError> {
    let (policy, step) =
        policy_and_step(g, request.reward, request.penalty, request.step, headers)?;
    let n = request.query.len();
    if request.labels.len() != n {
        return Err(ApiError::invalid(
            "labels",
            format!("has {} entries but `query` has {n}", request.labels.len()),
        ));
    }
    if !request.prompts.is_empty() && request.prompts.len() != n {
        return Err(ApiError::invalid(
            "prompts",
            format!("has {} entries but `query` has {n}", request.prompts.len()),
        ));
    }
    let mut resolved = Vec::with_capacity(n);
    for (i, (query, label)) in request.query.into_iter().zip(&request.labels).enumerate() {
        let label = parse_label(label, &format!("labels[{i}]"))?;
        let prompt = request.prompts.get(i).map_or("", String::as_str);
        let completion = match query.strip_prefix(prompt) {
            Some(rest) if !prompt.is_empty() => rest.to_string(),
            _ => query,
        };
        let mut extra = serde_json::Map::new();
        if let Some(task) = label.task {
            extra.insert("task".to_string(), task);
        }
        let mut rollout = Rollout {
            id: String::new(),
            task_id: label.task_id.unwrap_or_default(),
            completion,
            files: None,
            reasoning: None,
            framing: label.framing,
            step,
            model: None,
            extra,
        };
        let task = resolve(g, &mut rollout, &format!("labels[{i}]"))?;
        let hash = content_hash(&rollout_content("/get_reward", &task, &rollout, &policy));
        resolved.push((task, rollout, hash));
    }
    let keys = result_keys(resolved.iter().map(|(_, _, hash)| (None, hash.clone())));
    let jobs = resolved
        .into_iter()
        .zip(keys)
        .enumerate()
        .map(|(i, ((task, mut rollout, hash), key))| {
            rollout.id = served_id("get_reward", &hash, i);
            Job { task, rollout, key }
        })
        .collect();
    Ok(Prepared { jobs, policy })
}

/// `POST /get_reward`.
pub(crate) async fn get_reward_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<RewardRequest>,
) -> Result<Json<RewardResponse>, ApiError> {
    let Prepared { jobs, policy } = prepare_reward(grading(&state)?, request, &headers)?;
    let n = jobs.len();
    let graded = grade_jobs(&state, jobs, policy).await?;
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let mut logs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut rewards = Vec::with_capacity(n);
    let mut scores = Vec::with_capacity(n);
    for r in &graded {
        rewards.push(r.reward.unwrap_or(0.0));
        scores.push(reward::pass_reward(&r.verdicts, policy.proxy));
        let mut log = |key: &str, v: f64| logs.entry(key.to_string()).or_default().push(v);
        log("proxy_pass", reward::pass_reward(&r.verdicts, policy.proxy));
        log(
            "hardened_pass",
            reward::pass_reward(&r.verdicts, Profile::Hardened),
        );
        log("hack_attempted", flag(r.hack.attempted));
        log("hack_succeeded", flag(r.hack.succeeded));
        log("screened", flag(r.reward.is_none()));
    }
    Ok(Json(RewardResponse {
        rewards,
        scores,
        extra_logs: logs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_take_ids_objects_and_json_strings() {
        let id = parse_label(&Value::from("HumanEval/0"), "labels[0]").unwrap();
        assert_eq!(id.task_id.as_deref(), Some("HumanEval/0"));
        let obj = parse_label(
            &serde_json::json!({"task_id": "t", "framing": "neutral"}),
            "l",
        )
        .unwrap();
        assert_eq!(
            (obj.task_id.as_deref(), obj.framing.as_deref()),
            (Some("t"), Some("neutral"))
        );
        let text = parse_label(&Value::from(r#"{"task": {"id": "x"}}"#), "l").unwrap();
        assert_eq!(text.task_id.as_deref(), Some("x"));
        assert_eq!(
            parse_label(&Value::from(3), "labels[2]")
                .unwrap_err()
                .field
                .as_deref(),
            Some("labels[2]")
        );
        assert!(parse_label(&serde_json::json!({"framing": "x"}), "l").is_err());
    }

    #[test]
    fn result_keys_are_reproducible_and_count_identical_rollouts_apart() {
        let h = |c: &str| content_hash(&Value::from(c));
        let items = || {
            vec![
                (None, h("a")),
                (Some("r7".to_string()), h("a")),
                (None, h("a")),
                (None, h("b")),
            ]
        };
        let keys = result_keys(items());
        assert_eq!(keys, result_keys(items()), "a retry reproduces every key");
        assert_eq!(keys[0], format!("content:{}:0", h("a")));
        assert_eq!(keys[2], format!("content:{}:1", h("a")));
        assert_eq!(keys[1], format!("id:r7:{}", &h("a")[..32]));
        // Re-batched: the rollout with an id keeps its key alone, and so does a lone content.
        assert_eq!(result_keys([(Some("r7".into()), h("a"))])[0], keys[1]);
        assert_eq!(result_keys([(None, h("b"))])[0], keys[3]);
        // The same id with other code is another result.
        assert_ne!(result_keys([(Some("r7".into()), h("c"))])[0], keys[1]);
        assert_eq!(
            served_id("serve", &h("a"), 2),
            format!("serve-{}-2", &h("a")[..16])
        );
    }
}
