//! stdin/stdout grading under `hardened`, and the profiles that reproduce public graders.
//!
//! The public-grader profiles are written from reading each grader's code (cited per function and in
//! `docs/public-graders.md`); none of their code is copied. They reproduce what decides a verdict: how
//! the program is run (one process for all cases or one per case, in the grader's own process or not),
//! what is compared and how, what counts as a pass, and which cases count at all. They are hackable
//! exactly where the originals are, which is their point: `goodhart audit --profiles verl_prime_code,...`
//! shows which exploits fool which public grader.
//!
//! Each run here is one sandbox run, so the public graders' programs are as contained as Goodhart's own.
//! Where the original has no memory limit or only a wall-clock one, the sandbox's limits still apply;
//! time limits are CPU seconds (the sandbox's rule, see `Limits`), set to the original's seconds.

use crate::extract::{Extraction, Submission};
use crate::grader::{assert_line, assert_test_file, ms, shorten, status_of, verdict, VerlCalls};
use crate::reason;
use crate::{Grader, ProfileRun};
use goodhart_core::{Comparator, IoCase, StdioTests, Task, VerdictStatus};
use goodhart_sandbox::{Limits, Outcome, Program, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const STDIO_PY: &str = include_str!("harness/stdio_main.py");
const PRIME_CODE_PY: &str = include_str!("harness/prime_code_main.py");
const HUMAN_EVAL_PY: &str = include_str!("harness/human_eval_main.py");
const VERL_PRELUDE_PY: &str = include_str!("harness/verl_prelude.py");
const VERL_CALL_CASES_PY: &str = include_str!("harness/verl_call_cases.py");
const VERL_CALL_WRAPPER_PY: &str = include_str!("harness/verl_call_wrapper.py");
const RESULTS: &str = "goodhart_results.jsonl";
const JOB: &str = "goodhart_job.json";
const SOLUTION: &str = "solution.py";

/// verl scores only the first 10 cases (`sandbox_fusion/__init__.py` lines 96-111; `prime_code/__init__.py`
/// line 65 in the per-case pass).
const VERL_CASES: usize = 10;

/// The running account of a per-case grading: what passed, the first failure, the run behind it.
#[derive(Default)]
struct Tally {
    passed: u32,
    total: u32,
    notes: Vec<String>,
    /// The first failing case's run and why it failed.
    failing: Option<(Option<Outcome>, String)>,
    last: Option<Outcome>,
    wall_ms: f64,
}

impl Tally {
    fn new(total: usize) -> Tally {
        Tally {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            ..Tally::default()
        }
    }

    fn ran(&mut self, outcome: &Outcome) {
        self.wall_ms += ms(outcome);
        self.last = Some(outcome.clone());
    }

    fn pass(&mut self) {
        self.passed += 1;
    }

    fn fail(&mut self, case: usize, outcome: Option<&Outcome>, why: String) {
        self.notes.push(format!("case {case}: {why}"));
        if self.failing.is_none() {
            self.failing = Some((outcome.cloned(), format!("case {case}: {why}")));
        }
    }

    /// The verdict: passed only when every counted case passed and there was at least one.
    fn finish(self, submission: &Submission) -> ProfileRun {
        let all = self.total > 0 && self.passed == self.total && self.failing.is_none();
        let status = match &self.failing {
            None if all => VerdictStatus::Passed,
            Some((Some(o), _)) => status_of(o, false),
            _ => VerdictStatus::Failed,
        };
        let mut v = verdict(all, self.passed, self.total, status, self.wall_ms);
        let mut notes = self.notes;
        if self.total == 0 {
            notes.push("the task has no tests, so nothing can pass".to_string());
        }
        if !all {
            let (outcome, why) = match &self.failing {
                Some((o, why)) => (o.as_ref(), why.clone()),
                None => (None, "no case passed".to_string()),
            };
            v.reason = Some(reason::explain(outcome, Some(why), None, None, submission));
        }
        let outcome = self.failing.and_then(|(o, _)| o).or(self.last);
        ProfileRun {
            verdict: v,
            outcome,
            events: Vec::new(),
            notes,
        }
    }
}

/// A verdict for a profile that does not grade this kind of task (say, `human_eval` on stdin/stdout).
pub(crate) fn not_applicable(task: &Task, why: &str, submission: &Submission) -> ProfileRun {
    let total = crate::grader::case_count(task);
    let mut v = verdict(false, 0, total, VerdictStatus::Failed, 0.0);
    v.reason = Some(reason::explain(
        None,
        Some(why.to_string()),
        None,
        None,
        submission,
    ));
    ProfileRun {
        verdict: v,
        outcome: None,
        events: Vec::new(),
        notes: vec![why.to_string()],
    }
}

/// The program's standard output as text, or why it cannot be compared.
fn stdout_text(outcome: &Outcome) -> Result<&str, String> {
    std::str::from_utf8(&outcome.stdout)
        .map_err(|e| format!("output is not UTF-8 (byte {})", e.valid_up_to()))
}

/// SandboxFusion's stdin/stdout rule (`sandbox/utils/testing.py` @ 469de08, `check_stdio_test_case` and
/// `float_equal`, lines 41-92): both sides stripped and split on `\n`; the line counts must agree; each
/// line is lowercased and stripped; unequal lines pass when both read as floats within a relative error
/// `< 1e-5` (against `max(|expected|, 1e-10)`).
pub fn sandbox_fusion_equal(got: &str, expected: &str) -> bool {
    let got: Vec<&str> = got.trim().split('\n').collect();
    let want: Vec<&str> = expected.trim().split('\n').collect();
    got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| {
            let (g, w) = (g.trim().to_lowercase(), w.trim().to_lowercase());
            g == w
                || match (g.parse::<f64>(), w.parse::<f64>()) {
                    (Ok(a), Ok(b)) => (a - b).abs() / b.abs().max(1e-10) < 1e-5,
                    _ => false,
                }
        })
}

impl Grader {
    /// One sandbox run of `main` with `stdin`.
    fn run_once(
        &self,
        main: String,
        files: BTreeMap<String, Vec<u8>>,
        stdin: &str,
        fetch: Vec<String>,
        limits: Limits,
    ) -> Outcome {
        self.sandbox.run(&Program {
            main,
            files,
            stdin: stdin.as_bytes().to_vec(),
            fetch,
            limits: Some(limits),
            ..Program::default()
        })
    }

    /// Sandbox limits with `cpu` seconds and, when given, `memory_mb` of memory.
    fn limits(&self, cpu: Duration, memory_mb: Option<u64>) -> Limits {
        let mut limits = self.sandbox.config().limits.clone().with_cpu(cpu);
        if let Some(mb) = memory_mb {
            limits.memory_bytes = mb << 20;
        }
        limits
    }

    /// `hardened` for a stdin/stdout task: one fresh sandboxed process per case that sees only the
    /// solution and its own input (the harness raises the int→str digit limit and runs the solution as
    /// `__main__` with real binary stdin/stdout); it must exit 0, and its output is held against the
    /// expected output here, by the task's comparator (or the grader's override). Every case runs, so
    /// the count says how many held.
    pub(crate) fn run_stdio_hardened(
        &self,
        io: &StdioTests,
        solution: &str,
        submission: &Submission,
    ) -> ProfileRun {
        let cases: Vec<&IoCase> = io.cases().collect();
        let comparator = match self
            .stdio_comparator
            .map(Ok)
            .unwrap_or_else(|| io.comparator())
        {
            Ok(c) => c,
            Err(e) => {
                let mut tally = Tally::new(cases.len());
                tally.fail(0, None, format!("the task's comparator is unusable: {e}"));
                return tally.finish(submission);
            }
        };
        let limits = self.limits(self.case_timeout, None);
        let mut tally = Tally::new(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let outcome = self.run_once(
                STDIO_PY.to_string(),
                solution_file(solution),
                &case.input,
                Vec::new(),
                limits.clone(),
            );
            tally.ran(&outcome);
            match judge_stdio(&outcome, &case.output, comparator) {
                Ok(()) => tally.pass(),
                Err(why) => tally.fail(i, Some(&outcome), why),
            }
        }
        tally.finish(submission)
    }

    /// `verl_sandbox_fusion`: verl's SandboxFusion client (`verl/utils/reward_score/sandbox_fusion/
    /// {__init__,utils}.py` @ verl-project/verl 1dda039). No code fence → 0 without running (`__init__.py`
    /// lines 47-61). One fresh run per case of the bare program (SandboxFusion's `python file.py`), 10 s,
    /// 1024 MB (verl's default `memory_limit_mb`). stdin/stdout: pass iff exit 0 and
    /// `stdout.rstrip("\n") == expected.rstrip("\n")` (`utils.py` line 427). A call-based task whose
    /// tests are assert code (HumanEval, MBPP) runs as `assert_case` tests: the code sent is the program +
    /// `"\n\n"` + the case's assert (line 519), there is no expected output, and exit 0 passes. Other
    /// call-based tasks run as verl's `fn_name` data: verl's wrapper (prelude + program + a driver that
    /// parses stdin lines as JSON arguments and prints the result, exiting 0 even when the call raises,
    /// lines 193-291) with the printout compared as above. Only the first 10 cases count (verl runs the rest and
    /// ignores them; they are not run here).
    pub(crate) fn run_verl_sandbox_fusion(
        &self,
        task: &Task,
        solution: &str,
        submission: &Submission,
    ) -> ProfileRun {
        let limits = self.limits(Duration::from_secs(10), Some(1024));
        let scripts: Vec<(String, String, Option<String>)> = match &task.stdio {
            Some(io) => io
                .cases()
                .map(|c| {
                    (
                        solution.to_string(),
                        c.input.clone(),
                        Some(c.output.clone()),
                    )
                })
                .collect(),
            None if task.test_code.is_some() || !task.unsplit.is_empty() => assert_cases(task)
                .into_iter()
                .map(|a| (format!("{solution}\n\n{a}"), String::new(), None))
                .collect(),
            None => match self.verl_call_cases(task) {
                Ok(cases) => {
                    let script = format!(
                        "{VERL_PRELUDE_PY}\n{solution}\n{}",
                        VERL_CALL_WRAPPER_PY.replace("FN_NAME", &format!("{:?}", task.entry_point))
                    );
                    cases
                        .iter()
                        .map(|(stdin, want)| (script.clone(), stdin.clone(), Some(want.clone())))
                        .collect()
                }
                Err(why) => {
                    let mut tally = Tally::new(task.cases().count().min(VERL_CASES));
                    tally.fail(0, None, why);
                    return tally.finish(submission);
                }
            },
        };
        let counted = scripts.len().min(VERL_CASES);
        let mut tally = Tally::new(counted);
        if submission.extraction != Extraction::Fenced {
            tally.fail(
                0,
                None,
                "verl's sandbox_fusion scores 0 without a code fence".into(),
            );
            return tally.finish(submission);
        }
        for (i, (code, stdin, expected)) in scripts.into_iter().take(counted).enumerate() {
            let outcome = self.run_once(code, BTreeMap::new(), &stdin, Vec::new(), limits.clone());
            tally.ran(&outcome);
            let verdict = match (&outcome.status, expected) {
                (Status::Ok, None) => Ok(()),
                (Status::Ok, Some(want)) => judge_stdio(&outcome, &want, Comparator::RstripNewline),
                _ => Err(outcome.describe()),
            };
            match verdict {
                Ok(()) => tally.pass(),
                Err(why) => tally.fail(i, Some(&outcome), why),
            }
        }
        tally.finish(submission)
    }

    /// A call-based task's cases as verl's call-based data holds them: the wrapper's stdin (one JSON
    /// argument per line) and the text it prints for the expected value; from a trusted run, cached.
    fn verl_call_cases(&self, task: &Task) -> Result<VerlCalls, String> {
        if let Some(hit) = self
            .verl_cases
            .lock()
            .ok()
            .and_then(|m| m.get(&task.id).cloned())
        {
            return Ok(hit);
        }
        let job = json!({
            "setup": task.test_setup.clone().unwrap_or_default(),
            "cases": task.cases().map(|c| json!({"args": c.args, "expected": c.expected})).collect::<Vec<_>>(),
        });
        let outcome = self.run_once(
            VERL_CALL_CASES_PY.to_string(),
            job_file(&job),
            "",
            vec![RESULTS.to_string()],
            self.limits(Duration::from_secs(10), None),
        );
        let items: Vec<Value> = outcome
            .files
            .get(RESULTS)
            .and_then(|b| serde_json::from_slice(b).ok())
            .ok_or_else(|| {
                format!(
                    "the trusted run that writes verl's call data failed: {}",
                    outcome.describe()
                )
            })?;
        let cases = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                match (
                    item.get("stdin").and_then(Value::as_str),
                    item.get("expected").and_then(Value::as_str),
                ) {
                    (Some(stdin), Some(want)) => Ok((stdin.to_string(), want.to_string())),
                    _ => Err(format!(
                        "case {i} cannot be written as verl call data: {}",
                        item.get("error")
                            .and_then(Value::as_str)
                            .unwrap_or("no data")
                    )),
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        let cases = Arc::new(cases);
        if let Ok(mut cache) = self.verl_cases.lock() {
            cache.insert(task.id.clone(), cases.clone());
        }
        Ok(cases)
    }

    /// `sandbox_fusion_judge`: SandboxFusion's own judges (bytedance/SandboxFusion @ 469de08).
    /// stdin/stdout (`sandbox/utils/testing.py` `check_stdio_test_case`, `check_stdio_test_cases_parallel`):
    /// one fresh `python file.py` per case, 20 s, exit 0 required, [`sandbox_fusion_equal`]; cases are
    /// read in order and the first failure ends the grading (all-or-nothing). Call-based (the MBPP table,
    /// `sandbox/datasets/mbpp.py` `evaluate_single`): the program up to its first `if __name__ ==`, then
    /// the task's asserts, in one run; exit 0 passes.
    pub(crate) fn run_sandbox_fusion_judge(
        &self,
        task: &Task,
        solution: &str,
        submission: &Submission,
    ) -> ProfileRun {
        let limits = self.limits(Duration::from_secs(20), Some(1024));
        match &task.stdio {
            Some(io) => {
                let cases: Vec<&IoCase> = io.cases().collect();
                let mut tally = Tally::new(cases.len());
                for (i, case) in cases.iter().enumerate() {
                    let outcome = self.run_once(
                        solution.to_string(),
                        BTreeMap::new(),
                        &case.input,
                        Vec::new(),
                        limits.clone(),
                    );
                    tally.ran(&outcome);
                    let verdict = match (&outcome.status, stdout_text(&outcome)) {
                        (Status::Ok, Ok(text)) if sandbox_fusion_equal(text, &case.output) => {
                            Ok(())
                        }
                        (Status::Ok, Ok(text)) => Err(format!(
                            "output differs: expected {}, got {}",
                            shorten(&format!("{:?}", case.output)),
                            shorten(&format!("{text:?}"))
                        )),
                        (Status::Ok, Err(why)) => Err(why),
                        _ => Err(outcome.describe()),
                    };
                    match verdict {
                        Ok(()) => tally.pass(),
                        Err(why) => {
                            tally.fail(i, Some(&outcome), why);
                            break;
                        }
                    }
                }
                tally.finish(submission)
            }
            None => {
                let program = match solution.find("\nif __name__ ==") {
                    Some(at) => &solution[..at],
                    None => solution,
                };
                let code = format!("{program}\n\n{}\n", assert_cases(task).join("\n"));
                let outcome = self.run_once(code, BTreeMap::new(), "", Vec::new(), limits);
                let mut tally = Tally::new(1);
                tally.ran(&outcome);
                if outcome.status == Status::Ok {
                    tally.pass();
                } else {
                    let why = outcome.describe();
                    tally.fail(0, Some(&outcome), why);
                }
                all_or_nothing(tally, task, submission)
            }
        }
    }

    /// `human_eval`: openai/human-eval's harness (`human_eval/execution.py` @ 6d43fb9): the program, the
    /// task's test (its `check` function, or one built from its cases) and `check(entry_point)` exec'd in
    /// one process under a 3 s timer; passed iff the harness's `result` list starts with `"passed"`.
    pub(crate) fn run_human_eval(
        &self,
        task: &Task,
        solution: &str,
        submission: &Submission,
    ) -> ProfileRun {
        if task.is_stdio() {
            return not_applicable(
                task,
                "human_eval grades call-based tasks only; this is a stdin/stdout task",
                submission,
            );
        }
        let (mut test, call_check) = assert_test_file(task);
        if !call_check {
            // Raw asserts run as the test; the harness's `check(...)` call then has nothing to do.
            test.push_str("\n\ndef check(candidate):\n    pass\n");
        }
        let out = nonce_file();
        let job = json!({
            "program": solution,
            "test": test,
            "entry_point": task.entry_point,
            "timeout": 3.0,
            "out": out,
        });
        let outcome = self.run_once(
            HUMAN_EVAL_PY.to_string(),
            job_file(&job),
            "",
            vec![out.clone()],
            self.limits(Duration::from_secs(10), None),
        );
        let result = outcome
            .files
            .get(&out)
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v.get("result").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "timed out".to_string());
        let mut tally = Tally::new(1);
        tally.ran(&outcome);
        if result == "passed" {
            tally.pass();
        } else {
            tally.fail(0, Some(&outcome), format!("human-eval result: {result}"));
        }
        all_or_nothing(tally, task, submission)
    }

    /// `verl_prime_code`: verl's local reward (`verl/utils/reward_score/prime_code/__init__.py`
    /// `compute_score`, lines 21-73, and `testing_util.py` @ verl-project/verl 1dda039). First pass: every
    /// case in one process (5 s alarm per case, 6 s for all), stopping at the first that is not `True`;
    /// all `True` → pass. Otherwise a second pass runs each of the first 10 cases in a process of its
    /// own (10 s) and the score is the fraction that held: passed only when it is 1.
    pub(crate) fn run_verl_prime_code(
        &self,
        task: &Task,
        solution: &str,
        submission: &Submission,
    ) -> ProfileRun {
        let (mode, cases): (&str, Vec<Value>) = match &task.stdio {
            Some(io) => (
                "stdio",
                io.cases()
                    .map(|c| json!({"input": c.input, "output": c.output}))
                    .collect(),
            ),
            None => (
                "call",
                task.cases()
                    .map(|c| json!({"args": c.args, "expected": c.expected}))
                    .collect(),
            ),
        };
        let run = |cases: &[Value], alarm: u64, cpu: u64| -> (Outcome, Option<Vec<Value>>) {
            let out = nonce_file();
            let job = json!({
                "mode": mode,
                "code": solution,
                "fn_name": task.entry_point,
                "setup": task.test_setup.clone().unwrap_or_default(),
                "cases": if mode == "call" { cases.to_vec() } else { Vec::new() },
                "io": if mode == "stdio" { cases.to_vec() } else { Vec::new() },
                "timeout": alarm,
                "out": out,
                "prelude": VERL_PRELUDE_PY,
            });
            let outcome = self.run_once(
                PRIME_CODE_PY.to_string(),
                job_file(&job),
                "",
                vec![out.clone()],
                self.limits(Duration::from_secs(cpu), None),
            );
            let results = outcome
                .files
                .get(&out)
                .and_then(|b| serde_json::from_slice::<Vec<Value>>(b).ok());
            (outcome, results)
        };
        let (first, results) = run(&cases, 5, 6);
        let all_true = |r: &Option<Vec<Value>>, n: usize| {
            r.as_ref()
                .is_some_and(|r| r.len() == n && r.iter().all(|v| v == &Value::Bool(true)))
        };
        if !cases.is_empty() && all_true(&results, cases.len()) {
            let mut tally = Tally::new(cases.len());
            tally.ran(&first);
            tally.passed = tally.total;
            return tally.finish(submission);
        }
        let counted = cases.len().min(VERL_CASES);
        let mut tally = Tally::new(counted);
        tally.ran(&first);
        if cases.is_empty() {
            // verl: `all([])` in the first pass scores 1.0 for any program (docs/public-graders.md §1).
            tally.total = 0;
            let mut run = tally.finish(submission);
            run.verdict.passed = true;
            run.verdict.status = VerdictStatus::Passed;
            run.verdict.reason = None;
            run.notes
                .push("verl prime_code passes a task with no test cases".to_string());
            return run;
        }
        for (i, case) in cases.iter().take(counted).enumerate() {
            let (outcome, results) = run(std::slice::from_ref(case), 10, 11);
            tally.ran(&outcome);
            match results.as_deref() {
                Some([Value::Bool(true)]) => tally.pass(),
                Some([code]) => tally.fail(i, Some(&outcome), prime_result(code)),
                _ => {
                    let why = format!("no result ({})", outcome.describe());
                    tally.fail(i, Some(&outcome), why)
                }
            }
        }
        tally.finish(submission)
    }
}

/// verl prime_code's result codes, in words.
fn prime_result(code: &Value) -> String {
    match code {
        Value::Bool(false) => "wrong answer".to_string(),
        v if v == &json!(-1) => "runtime error or timeout (-1)".to_string(),
        v if v == &json!(-2) => "compile error or function not found (-2)".to_string(),
        other => format!("result {other}"),
    }
}

/// A one-run verdict counted as every case of the task (as the `assert` profile counts).
fn all_or_nothing(tally: Tally, task: &Task, submission: &Submission) -> ProfileRun {
    let mut run = tally.finish(submission);
    let total = crate::grader::case_count(task);
    run.verdict.tests_total = total;
    run.verdict.tests_passed = if run.verdict.passed { total } else { 0 };
    run
}

/// Holds one stdin/stdout run's output against the expected output: the run must have exited 0.
fn judge_stdio(outcome: &Outcome, expected: &str, comparator: Comparator) -> Result<(), String> {
    if outcome.status != Status::Ok {
        return Err(outcome.describe());
    }
    let got = stdout_text(outcome)?;
    comparator.compare(got, expected).map_err(|m| m.to_string())
}

/// A call-based task's tests as `assert` statements (setup first), one per case; a task whose tests are
/// raw code gives that code and `check(entry_point)` as one.
fn assert_cases(task: &Task) -> Vec<String> {
    let setup = task.test_setup.clone().unwrap_or_default();
    let cases: Vec<String> = task
        .cases()
        .map(|c| format!("{setup}\n{}\n", assert_line(c, &task.entry_point)))
        .collect();
    if !cases.is_empty() {
        return cases;
    }
    let (test, call_check) = assert_test_file(task);
    let call = if call_check {
        format!("check({})\n", task.entry_point)
    } else {
        String::new()
    };
    vec![format!("{test}\n{call}")]
}

fn solution_file(solution: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert(SOLUTION.to_string(), solution.as_bytes().to_vec());
    files
}

fn job_file(job: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert(JOB.to_string(), job.to_string().into_bytes());
    files
}

/// A results file name the program cannot guess (the job naming it is removed before the program loads).
fn nonce_file() -> String {
    format!("goodhart_{:016x}.json", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_fusion_compares_lines_lowercased_with_relative_float_slack() {
        assert!(sandbox_fusion_equal("YES\n", "yes"));
        assert!(sandbox_fusion_equal("  1 2 \r\n3\n\n", "1 2\n3"));
        assert!(!sandbox_fusion_equal("1  2\n", "1 2\n"));
        assert!(sandbox_fusion_equal("500000003\n", "500000000\n"));
        assert!(!sandbox_fusion_equal("500010000\n", "500000000\n"));
        assert!(sandbox_fusion_equal("", ""));
        assert!(!sandbox_fusion_equal("1\n2\n", "1\n"));
    }
}
