//! SandboxFusion's `/run_code`, field for field, so verl's sandbox client works against Goodhart unchanged.
//!
//! The schema follows bytedance/SandboxFusion (`sandbox/server/sandbox_api.py`, `sandbox/runners/types.py`):
//! the request carries `code`, `language`, `stdin`, `compile_timeout`, `run_timeout`, `memory_limit_MB`,
//! base64 `files` and `fetch_files`; the answer carries a top-level `status` (`Success`, `Failed`,
//! `SandboxError`), a `message`, `compile_result` (always `null` for Python), `run_result` and base64 `files`.

use crate::error::ApiError;
use base64::Engine as _;
use goodhart_sandbox::{Limits, Outcome, Program, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::time::Duration;

/// Every language SandboxFusion accepts; Goodhart runs only `python` and answers the rest with a
/// `SandboxError`, as SandboxFusion does for a runner it cannot start.
pub const SANDBOX_FUSION_LANGUAGES: [&str; 29] = [
    "python",
    "cpp",
    "nodejs",
    "go",
    "go_test",
    "java",
    "php",
    "csharp",
    "bash",
    "typescript",
    "sql",
    "rust",
    "cuda",
    "lua",
    "R",
    "perl",
    "D_ut",
    "ruby",
    "scala",
    "julia",
    "pytest",
    "junit",
    "kotlin_script",
    "jest",
    "verilog",
    "python_gpu",
    "lean",
    "swift",
    "racket",
];

/// Longest `run_timeout` the server accepts, so one request cannot hold a worker for hours.
pub const MAX_RUN_TIMEOUT_SECS: f64 = 600.0;

fn ten() -> f64 {
    10.0
}

fn no_limit() -> i64 {
    -1
}

/// The body of `POST /run_code`, with SandboxFusion's defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RunCodeRequest {
    /// Ignored for Python (nothing is compiled), accepted because verl always sends it.
    #[serde(default = "ten")]
    pub compile_timeout: f64,
    #[serde(default = "ten")]
    pub run_timeout: f64,
    /// `-1` (or any value ≤ 0) means the server's default limit.
    #[serde(default = "no_limit", rename = "memory_limit_MB")]
    pub memory_limit_mb: i64,
    pub code: String,
    #[serde(default)]
    pub stdin: Option<String>,
    pub language: String,
    /// Relative path → base64 content; `null` contents are skipped as SandboxFusion skips them.
    #[serde(default)]
    pub files: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub fetch_files: Vec<String>,
}

/// SandboxFusion's top-level verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every command finished with return code 0.
    Success,
    /// Some command timed out or returned non-zero.
    Failed,
    /// The sandbox failed; the answer says nothing about the code.
    SandboxError,
}

/// SandboxFusion's per-command status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandRunStatus {
    Finished,
    Error,
    TimeLimitExceeded,
}

/// One command's result (`run_result`), as SandboxFusion reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRunResult {
    pub status: CommandRunStatus,
    /// Wall-clock seconds.
    pub execution_time: Option<f64>,
    /// Exit code; the negated signal number when a signal ended the process (as Python reports it);
    /// `null` on a timeout.
    pub return_code: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// How a run ended and which limit ended it: Goodhart's addition to SandboxFusion's answer (clients
/// that do not know it ignore it), so a reward that came from a timeout says which limit it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnding {
    /// The sandbox's ending (`ok`, `exit`, `signal`, `cpu_limit`, `wall_timeout`, `memory_limit`,
    /// `output_truncated`, `sandbox_error`).
    pub ending: String,
    /// `cpu` (the CPU-time limit, `run_timeout` CPU seconds), `wall` (the wall-clock cap,
    /// 4 × `run_timeout` + 5 s, for programs that sleep or block), `memory` or `output`; `null` when
    /// no limit ended the run.
    pub limit: Option<String>,
    /// One line saying how the run ended.
    pub reason: String,
    /// CPU seconds the run used.
    pub cpu_time: f64,
}

/// The body of a `/run_code` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCodeResponse {
    pub status: RunStatus,
    pub message: String,
    pub compile_result: Option<CommandRunResult>,
    pub run_result: Option<CommandRunResult>,
    pub executor_pod_name: Option<String>,
    /// Fetched path → base64 content.
    pub files: BTreeMap<String, String>,
    /// How the run ended; absent when nothing ran (a language Goodhart does not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodhart: Option<RunEnding>,
}

impl RunCodeResponse {
    /// A `SandboxError` answer with no run, e.g. for a language Goodhart does not run.
    pub fn sandbox_error(message: impl Into<String>) -> Self {
        RunCodeResponse {
            status: RunStatus::SandboxError,
            message: message.into(),
            compile_result: None,
            run_result: None,
            executor_pod_name: None,
            files: BTreeMap::new(),
            goodhart: None,
        }
    }
}

/// The store's record of one answered `/run_code` request (`step` from the `X-Goodhart-Step` header).
pub fn stored(
    response: &RunCodeResponse,
    step: Option<i64>,
    language: String,
    code: String,
) -> goodhart_store::CodeRun {
    let run = response.run_result.as_ref();
    let ending = response.goodhart.as_ref();
    let status = serde_json::to_value(response.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    goodhart_store::CodeRun {
        step,
        language,
        status,
        return_code: run.and_then(|r| r.return_code),
        execution_time: run.and_then(|r| r.execution_time),
        code,
        stdout: run.and_then(|r| r.stdout.clone()),
        stderr: run.and_then(|r| r.stderr.clone()),
        ending: ending.map(|e| e.ending.clone()),
        limit: ending.and_then(|e| e.limit.clone()),
        cpu_time: ending.map(|e| e.cpu_time),
        task_id: None,
        hack: None,
    }
}

/// The detectors' labels of a `/run_code` program graded against `task`: the program is the whole
/// solution (verl sends the model's code as it is for stdin/stdout tasks).
pub fn labels(task: &goodhart_core::Task, code: &str) -> goodhart_store::CodeRunHack {
    let submission = goodhart_grade::Submission {
        solution: Some(code.to_string()),
        ..Default::default()
    };
    let report = goodhart_detect::analyze(task, &submission, None);
    goodhart_store::CodeRunHack {
        attempted: report.attempted,
        kinds: report
            .kinds
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
    }
}

/// How long a request may wait for a sandbox turn: verl's client gives up after
/// `compile_timeout + run_timeout + 10` seconds and does not retry that, but it does retry a 504, so a
/// request answers 504 once the wait would leave too little of that budget for the run itself.
pub fn client_patience(request: &RunCodeRequest) -> Duration {
    let budget = request.compile_timeout + 10.0 - 1.0;
    if budget.is_finite() && budget > 1.0 {
        Duration::from_secs_f64(budget.min(MAX_RUN_TIMEOUT_SECS))
    } else {
        Duration::from_secs(1)
    }
}

/// When verl's client stops waiting for the answer (`compile_timeout + run_timeout + 10` seconds after
/// sending), less a second for the answer's way back: the wall-clock cap of a run is cut to end before
/// it (see [`crate::Gate::run_answering_by`]).
pub fn client_deadline(
    request: &RunCodeRequest,
    sent: std::time::Instant,
) -> Option<std::time::Instant> {
    let budget = request.compile_timeout + request.run_timeout + 10.0 - 1.0;
    (budget.is_finite() && budget > 0.0)
        .then(|| sent + Duration::from_secs_f64(budget.min(3.0 * MAX_RUN_TIMEOUT_SECS)))
}

/// What the handler should do with a validated request.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Run this program in the sandbox.
    Run(Box<Program>),
    /// Answer at once (a language Goodhart cannot run).
    Answer(Box<RunCodeResponse>),
}

/// Validates a request and turns it into a sandbox program; a 422 names the offending field.
pub fn plan(request: RunCodeRequest, base: &Limits) -> Result<Plan, ApiError> {
    if !SANDBOX_FUSION_LANGUAGES.contains(&request.language.as_str()) {
        return Err(ApiError::invalid(
            "language",
            format!(
                "unknown language `{}` (SandboxFusion's languages: {})",
                request.language,
                SANDBOX_FUSION_LANGUAGES.join(", ")
            ),
        ));
    }
    let run_timeout = checked_timeout("run_timeout", request.run_timeout)?;
    checked_timeout("compile_timeout", request.compile_timeout)?;
    if request.language != "python" {
        return Ok(Plan::Answer(Box::new(RunCodeResponse::sandbox_error(
            format!(
                "language `{}` is not supported by this server: Goodhart runs python only",
                request.language
            ),
        ))));
    }
    let mut files = BTreeMap::new();
    for (name, content) in &request.files {
        let field = format!("files.{name}");
        check_relative(&field, name)?;
        if name.contains("IGNORE_THIS_FILE") {
            continue;
        }
        let Some(content) = content else { continue };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| ApiError::invalid(&field, format!("content is not valid base64: {e}")))?;
        files.insert(name.clone(), bytes);
    }
    for (i, name) in request.fetch_files.iter().enumerate() {
        check_relative(&format!("fetch_files[{i}]"), name)?;
    }
    // `run_timeout` is CPU seconds, with the grade path's wall-clock cap for programs that sleep or
    // block, so a run's verdict does not depend on how busy the machine is.
    let mut limits = base.clone().with_cpu(run_timeout);
    if request.memory_limit_mb > 0 {
        let bytes = u64::try_from(request.memory_limit_mb)
            .unwrap_or(u64::MAX)
            .saturating_mul(1 << 20);
        limits.memory_bytes = bytes;
    }
    Ok(Plan::Run(Box::new(Program {
        main: request.code,
        files,
        stdin: request.stdin.map(String::into_bytes).unwrap_or_default(),
        argv: Vec::new(),
        fetch: request.fetch_files,
        limits: Some(limits),
    })))
}

fn checked_timeout(field: &str, secs: f64) -> Result<Duration, ApiError> {
    if !(secs.is_finite() && secs > 0.0 && secs <= MAX_RUN_TIMEOUT_SECS) {
        return Err(ApiError::invalid(
            field,
            format!("must be a number of seconds in (0, {MAX_RUN_TIMEOUT_SECS}], got {secs}"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn check_relative(field: &str, name: &str) -> Result<(), ApiError> {
    let path = Path::new(name);
    let escapes = path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if name.is_empty() || escapes {
        return Err(ApiError::invalid(
            field,
            format!("`{name}` must be a relative path inside the work directory"),
        ));
    }
    Ok(())
}

/// Translates a sandbox outcome into SandboxFusion's answer, with its status precedence: an `Error`
/// command makes `SandboxError`; otherwise a timeout or a non-zero return code makes `Failed`.
pub fn respond(outcome: Outcome) -> RunCodeResponse {
    let text = |bytes: &[u8]| Some(String::from_utf8_lossy(bytes).into_owned());
    let ending = RunEnding {
        ending: outcome.status.name().to_string(),
        limit: outcome.status.limit().map(str::to_string),
        reason: outcome.describe(),
        cpu_time: outcome.cpu.as_secs_f64(),
    };
    let execution_time = Some(outcome.wall.as_secs_f64());
    let (status, return_code, note) = match &outcome.status {
        Status::Ok => (
            CommandRunStatus::Finished,
            Some(outcome.exit_code.unwrap_or(0)),
            None,
        ),
        Status::Exit(code) => (CommandRunStatus::Finished, Some(*code), None),
        Status::Signal(sig) => (CommandRunStatus::Finished, Some(-sig), None),
        Status::WallTimeout | Status::CpuLimit => (
            CommandRunStatus::TimeLimitExceeded,
            None,
            Some(outcome.describe()),
        ),
        Status::MemoryLimit => (
            CommandRunStatus::Finished,
            Some(outcome.exit_code.unwrap_or(-9)),
            Some("the program exceeded its memory limit".to_string()),
        ),
        Status::OutputTruncated => (
            CommandRunStatus::Finished,
            Some(outcome.exit_code.filter(|c| *c != 0).unwrap_or(-9)),
            Some("the program's output exceeded the server's limit and it was stopped".to_string()),
        ),
        Status::SandboxError(message) => (CommandRunStatus::Error, None, Some(message.clone())),
    };
    let mut stderr = text(&outcome.stderr);
    if status == CommandRunStatus::Error {
        stderr = note.clone();
    }
    let run = CommandRunResult {
        status,
        execution_time,
        return_code,
        stdout: text(&outcome.stdout),
        stderr,
    };
    let top = match (run.status, run.return_code) {
        (CommandRunStatus::Error, _) => RunStatus::SandboxError,
        (CommandRunStatus::TimeLimitExceeded, _) => RunStatus::Failed,
        (CommandRunStatus::Finished, Some(0)) => RunStatus::Success,
        (CommandRunStatus::Finished, _) => RunStatus::Failed,
    };
    let files = outcome
        .files
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )
        })
        .collect();
    RunCodeResponse {
        status: top,
        message: note.unwrap_or_default(),
        compile_result: None,
        run_result: Some(run),
        executor_pod_name: None,
        files,
        goodhart: Some(ending),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> RunCodeRequest {
        serde_json::from_value(json).unwrap()
    }

    fn outcome(status: Status, exit_code: Option<i32>) -> Outcome {
        Outcome {
            status,
            exit_code,
            stdout: b"out".to_vec(),
            stderr: b"err".to_vec(),
            wall: Duration::from_millis(1500),
            cpu: Duration::ZERO,
            peak_memory_bytes: 0,
            files: BTreeMap::from([("a.txt".to_string(), b"hi".to_vec())]),
        }
    }

    #[test]
    fn verl_request_becomes_a_limited_program() {
        let req = request(serde_json::json!({
            "compile_timeout": 10, "run_timeout": 3, "code": "print(1)", "stdin": null,
            "memory_limit_MB": 1024, "language": "python", "files": {}, "fetch_files": []
        }));
        let Plan::Run(program) = plan(req, &Limits::default()).unwrap() else {
            panic!("not a run")
        };
        let limits = program.limits.unwrap();
        // CPU seconds, with the wall cap every grade has (4 × 3 + 5 s).
        assert_eq!(limits.cpu, Duration::from_secs(3));
        assert_eq!(limits.wall, Duration::from_secs(17));
        assert_eq!(limits.memory_bytes, 1024 << 20);
        assert!(program.stdin.is_empty());
    }

    #[test]
    fn the_run_ends_before_verls_client_gives_up() {
        let req = request(
            serde_json::json!({"code": "x", "language": "python", "compile_timeout": 10, "run_timeout": 10}),
        );
        let sent = std::time::Instant::now();
        // verl waits compile + run + 10 = 30 s; the answer is due a second before.
        assert_eq!(
            client_deadline(&req, sent).unwrap() - sent,
            Duration::from_secs(29)
        );
    }

    #[test]
    fn the_queue_wait_fits_inside_verls_request_timeout() {
        let req = request(
            serde_json::json!({"code": "x", "language": "python", "compile_timeout": 10, "run_timeout": 10}),
        );
        // verl waits 10 + 10 + 10 s; 19 s of queueing leaves the 10 s run 1 s of slack.
        assert_eq!(client_patience(&req), Duration::from_secs(19));
    }

    #[test]
    fn bad_fields_are_named() {
        let base = serde_json::json!({"code": "x", "language": "python"});
        let with = |k: &str, v: serde_json::Value| {
            let mut j = base.clone();
            j[k] = v;
            plan(request(j), &Limits::default())
                .unwrap_err()
                .field
                .unwrap()
        };
        assert_eq!(with("language", "cobol".into()), "language");
        assert_eq!(with("run_timeout", (-1).into()), "run_timeout");
        assert_eq!(
            with("files", serde_json::json!({"../x": "aGk="})),
            "files.../x"
        );
        assert_eq!(
            with("files", serde_json::json!({"a": "not base64!"})),
            "files.a"
        );
        assert_eq!(
            with("fetch_files", serde_json::json!(["/etc/passwd"])),
            "fetch_files[0]"
        );
        let cpp = plan(
            request(serde_json::json!({"code": "x", "language": "cpp"})),
            &Limits::default(),
        );
        let Ok(Plan::Answer(answer)) = cpp else {
            panic!("cpp should be answered, not run")
        };
        assert_eq!(answer.status, RunStatus::SandboxError);
    }

    #[test]
    fn status_precedence_matches_sandbox_fusion() {
        let cases = [
            (
                outcome(Status::Ok, Some(0)),
                RunStatus::Success,
                CommandRunStatus::Finished,
                Some(0),
            ),
            (
                outcome(Status::Exit(1), Some(1)),
                RunStatus::Failed,
                CommandRunStatus::Finished,
                Some(1),
            ),
            (
                outcome(Status::Signal(11), None),
                RunStatus::Failed,
                CommandRunStatus::Finished,
                Some(-11),
            ),
            (
                outcome(Status::WallTimeout, None),
                RunStatus::Failed,
                CommandRunStatus::TimeLimitExceeded,
                None,
            ),
            (
                outcome(Status::SandboxError("boom".into()), None),
                RunStatus::SandboxError,
                CommandRunStatus::Error,
                None,
            ),
        ];
        for (outcome, top, run, code) in cases {
            let r = respond(outcome);
            assert_eq!(
                (r.status, r.run_result.as_ref().unwrap().status),
                (top, run)
            );
            assert_eq!(r.run_result.unwrap().return_code, code);
            assert_eq!(r.files["a.txt"], "aGk=");
        }
    }
}
