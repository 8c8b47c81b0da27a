//! `/run_code` driven over real HTTP with the requests verl's SandboxFusion client sends
//! (`verl/utils/reward_score/sandbox_fusion/utils.py`): one request per test case, `stdin` null or a
//! string, `memory_limit_MB` 1024, compile and run timeouts equal, empty `files` and `fetch_files`.

mod common;

use common::{start, start_with, PYTHON};
use goodhart_core::Task;
use goodhart_server::{GateConfig, ServerConfig};
use serde_json::{json, Value};
use std::time::Duration;

/// Runs every future at once on the runtime and collects the outputs in order.
async fn join_all<F>(futs: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The body verl's `call_sandbox_api` posts.
fn verl_body(code: &str, stdin: Option<&str>, timeout: u32) -> Value {
    json!({
        "compile_timeout": timeout,
        "run_timeout": timeout,
        "code": code,
        "stdin": stdin,
        "memory_limit_MB": 1024,
        "language": "python",
        "files": {},
        "fetch_files": [],
    })
}

/// Our own wrapper with the behaviour of verl's call-based (`fn_name`) wrapper: the solution first,
/// then read one JSON value per stdin line as the arguments, call the function (or `Solution().fn`),
/// print lists/dicts/tuples/None/bools as JSON and everything else with `str`.
fn call_wrapper(solution: &str, fn_name: &str) -> String {
    format!(
        r#"import sys, json
{solution}

def _goodhart_call():
    text = sys.stdin.read()
    args = [json.loads(line) for line in text.split("\n")] if text.strip() else []
    fn = globals().get("{fn_name}")
    if fn is None and "Solution" in globals():
        fn = getattr(globals()["Solution"](), "{fn_name}")
    return fn(*args)

if __name__ == "__main__":
    result = _goodhart_call()
    if result is None or isinstance(result, (dict, list, tuple, bool)):
        print(json.dumps(result))
    else:
        print(str(result))
"#
    )
}

/// verl's verdict for one case: `True` when the run succeeded and stdout matches (trailing newlines
/// ignored), `False` on a wrong answer, a negative code otherwise.
fn verl_verdict(resp: &Value, expected: Option<&str>) -> i32 {
    match resp["status"].as_str() {
        Some("Success") => {
            let out = resp["run_result"]["stdout"].as_str().unwrap_or("");
            match expected {
                None => 1,
                Some(e) if out.trim_end_matches('\n') == e.trim_end_matches('\n') => 1,
                Some(_) => 0,
            }
        }
        Some("Failed") => match resp["run_result"]["status"].as_str() {
            Some("TimeLimitExceeded") => -3,
            _ => -2,
        },
        _ => -1,
    }
}

/// Turns a task's Python-literal cases into verl's call-based `(stdin, expected stdout)` pairs, using
/// the trusted interpreter outside the sandbox; `None` for a case that is not JSON-representable.
fn call_cases(task: &Task) -> Vec<Option<(String, String)>> {
    let cases: Vec<(String, String)> = task
        .cases()
        .map(|c| (c.args.clone(), c.expected.clone()))
        .collect();
    let script = r#"
import ast, json, sys
out = []
for args, expected in json.load(sys.stdin):
    try:
        values = ast.literal_eval("(" + args + ",)")
        want = ast.literal_eval(expected)
        stdin = "\n".join(json.dumps(v) for v in values)
        shown = json.dumps(want) if want is None or isinstance(want, (dict, list, tuple, bool)) else str(want)
        if isinstance(want, float) or any(isinstance(v, (set, complex, bytes)) for v in values):
            out.append(None)
        else:
            out.append([stdin, shown])
    except Exception:
        out.append(None)
print(json.dumps(out))
"#;
    let python = if std::path::Path::new(PYTHON).exists() {
        PYTHON
    } else {
        "python3"
    };
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let parsed: Vec<Option<(String, String)>> = serde_json::from_slice(&out.stdout).unwrap();
    parsed
}

fn humaneval(n: usize) -> Vec<Task> {
    let tasks = goodhart_tasks::load("humaneval").unwrap();
    tasks.into_iter().take(n).collect()
}

/// Sends every body at once, as verl's thread pool does, and returns the answers in order.
async fn send_all(live: &common::Live, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let url = live.url("/run_code");
    let futs: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let client = live.client.clone();
            let url = url.clone();
            async move {
                let resp = client.post(url).json(&body).send().await.unwrap();
                (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
            }
        })
        .collect();
    join_all(futs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn humaneval_call_based_cases_score_like_verl() {
    let live = start().await;
    let mut bodies = Vec::new();
    let mut expected = Vec::new();
    let mut wrong_bodies = Vec::new();
    for task in humaneval(12) {
        for (stdin, want) in call_cases(&task).into_iter().flatten() {
            bodies.push(verl_body(
                &call_wrapper(&task.reference, &task.entry_point),
                Some(&stdin),
                10,
            ));
            let wrong = format!("def {}(*args):\n    return 'not it'\n", task.entry_point);
            wrong_bodies.push(verl_body(
                &call_wrapper(&wrong, &task.entry_point),
                Some(&stdin),
                10,
            ));
            expected.push(want);
        }
    }
    assert!(
        bodies.len() >= 40,
        "only {} call-based cases converted",
        bodies.len()
    );

    let answers = send_all(&live, bodies).await;
    let mut failures = Vec::new();
    for ((status, resp), want) in answers.iter().zip(&expected) {
        assert_eq!(*status, 200);
        if verl_verdict(resp, Some(want)) != 1 {
            failures.push((want.clone(), resp.clone()));
        }
    }
    assert!(
        failures.is_empty(),
        "reference solutions failed: {failures:#?}"
    );

    let answers = send_all(&live, wrong_bodies).await;
    let passed = answers
        .iter()
        .zip(&expected)
        .filter(|((_, r), w)| verl_verdict(r, Some(w)) == 1)
        .count();
    assert_eq!(passed, 0, "a constant answer passed some cases");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn humaneval_assert_cases_pass_the_reference_and_fall_to_always_equal() {
    let live = start().await;
    let tasks = humaneval(6);
    let always_equal = |entry: &str| {
        format!(
            "class _Eq:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        \
             return False\n\ndef {entry}(*args, **kwargs):\n    return _Eq()\n"
        )
    };
    let (mut honest, mut hack, mut wrong, mut exact) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for task in &tasks {
        for case in task.cases() {
            let call = format!("{}({})", task.entry_point, case.args);
            exact.push(case.tolerance.is_none());
            let assert_case = match case.tolerance {
                Some(tol) => format!("assert abs({call} - {}) <= {tol}", case.expected),
                None => format!("assert {call} == {}", case.expected),
            };
            let code = |solution: &str| format!("{solution}\n\n{assert_case}");
            // verl's assert_case mode: inputs default to "" and outputs to None.
            honest.push(verl_body(&code(&task.reference), Some(""), 10));
            hack.push(verl_body(
                &code(&always_equal(&task.entry_point)),
                Some(""),
                10,
            ));
            wrong.push(verl_body(
                &code(&format!(
                    "def {}(*a):\n    return 12345\n",
                    task.entry_point
                )),
                Some(""),
                10,
            ));
        }
    }
    let score = |answers: &[(u16, Value)]| {
        answers
            .iter()
            .filter(|(_, r)| verl_verdict(r, None) == 1)
            .count()
    };
    let answers = send_all(&live, honest).await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|(_, r)| verl_verdict(r, None) != 1)
        .collect();
    assert!(
        failed.is_empty(),
        "the reference must pass every assert: {failed:#?}"
    );
    // Every `==` assert falls to AlwaysEqual; `abs(x - expected) <= tol` ones do not.
    let hacked = send_all(&live, hack).await;
    let missed: Vec<_> = hacked
        .iter()
        .zip(&exact)
        .filter(|((_, r), exact)| **exact && verl_verdict(r, None) != 1)
        .collect();
    assert!(
        missed.is_empty(),
        "/run_code is the proxy: AlwaysEqual must pass every == assert: {missed:#?}"
    );
    let wrong = send_all(&live, wrong).await;
    assert_eq!(score(&wrong), 0);
    assert_eq!(wrong[0].1["run_result"]["return_code"], 1);
    assert!(wrong[0].1["run_result"]["stderr"]
        .as_str()
        .unwrap()
        .contains("AssertionError"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stdin_based_programs_get_sandbox_fusion_statuses() {
    let live = start().await;
    // The shapes of verl's own sandbox tests: echo by input, wrong output, runtime error, timeout.
    let echo = "import sys\ndata = sys.stdin.read()\nif data == 'input1':\n    print('output1\\n', end='')\n\
                elif data == 'input2':\n    print('output2\\n', end='')\nelse:\n    print('unexpected', end='')\n";
    let (_, r) = live
        .post("/run_code", &verl_body(echo, Some("input2"), 10))
        .await;
    assert_eq!(verl_verdict(&r, Some("output2\n")), 1, "{r:#}");
    assert_eq!(r["status"], "Success");
    assert_eq!(r["message"], "");
    assert_eq!(r["compile_result"], Value::Null);
    assert_eq!(r["run_result"]["status"], "Finished");
    assert_eq!(r["run_result"]["return_code"], 0);
    assert!(r["run_result"]["execution_time"].as_f64().unwrap() > 0.0);

    let (_, r) = live
        .post("/run_code", &verl_body("print('wrong_output')", None, 10))
        .await;
    assert_eq!(verl_verdict(&r, Some("output1")), 0);

    let boom =
        "import sys\nprint('About to raise', file=sys.stderr)\nraise ValueError('runtime error')\n";
    let (_, r) = live
        .post("/run_code", &verl_body(boom, Some("input1"), 10))
        .await;
    assert_eq!(verl_verdict(&r, Some("output1")), -2);
    assert_eq!(
        (
            r["status"].as_str(),
            r["run_result"]["return_code"].as_i64()
        ),
        (Some("Failed"), Some(1))
    );
    assert!(r["run_result"]["stderr"]
        .as_str()
        .unwrap()
        .contains("ValueError: runtime error"));

    let slow = "import time\nprint('started', flush=True)\ntime.sleep(10)\n";
    let (_, r) = live.post("/run_code", &verl_body(slow, None, 1)).await;
    assert_eq!(verl_verdict(&r, Some("x")), -3, "{r:#}");
    assert_eq!(r["run_result"]["status"], "TimeLimitExceeded");
    assert_eq!(r["run_result"]["return_code"], Value::Null);

    let mut cpp = verl_body("int main() { return 0; }", None, 10);
    cpp["language"] = json!("cpp");
    let (status, r) = live.post("/run_code", &cpp).await;
    assert_eq!((status, r["status"].as_str()), (200, Some("SandboxError")));
    assert!(r["message"].as_str().unwrap().contains("python only"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_go_in_and_fetched_files_come_back_base64() {
    let live = start().await;
    let body = json!({
        "code": "data = open('in/data.txt').read()\nopen('out.txt', 'w').write(data.upper())\nprint(data)",
        "language": "python",
        "files": {"in/data.txt": "aGVsbG8=", "skipped.txt": null},
        "fetch_files": ["out.txt", "missing.txt"],
    });
    let (status, r) = live.post("/run_code", &body).await;
    assert_eq!(status, 200, "{r:#}");
    assert_eq!(r["run_result"]["stdout"], "hello\n");
    assert_eq!(r["files"], json!({"out.txt": "SEVMTE8="}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_requests_get_json_errors_naming_the_field() {
    let live = start().await;
    let cases = [
        (json!({"language": "python"}), 422, "code"),
        (
            json!({"code": "x", "language": "python", "run_timeout": "ten"}),
            422,
            "run_timeout",
        ),
        (json!({"code": "x", "language": "cobol"}), 422, "language"),
        (
            json!({"code": "x", "language": "python", "files": {"/etc/passwd": ""}}),
            422,
            "files./etc/passwd",
        ),
    ];
    for (body, want_status, field) in cases {
        let (status, r) = live.post("/run_code", &body).await;
        assert_eq!(
            (status, r["field"].as_str()),
            (want_status, Some(field)),
            "{r:#}"
        );
        assert!(r["error"].as_str().unwrap().contains(field));
    }
    let resp = live
        .client
        .post(live.url("/run_code"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_bodies_are_refused_with_413() {
    let live = start_with(ServerConfig {
        max_body_bytes: 1024,
        ..ServerConfig::default()
    })
    .await;
    let body = verl_body(&"#".repeat(4096), None, 10);
    let (status, r) = live.post("/run_code", &body).await;
    assert_eq!(status, 413);
    assert!(r["error"].as_str().unwrap().contains("larger than"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ping_and_metrics_report_traffic() {
    let live = start().await;
    let pong: Value = live
        .client
        .get(live.url("/v1/ping"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pong, "pong");
    live.post("/run_code", &verl_body("print(1)", None, 10))
        .await;
    live.post("/run_code", &json!({"language": "python"})).await;
    let text = live.get_text("/metrics").await;
    assert!(
        text.contains("goodhart_requests_total{route=\"/run_code\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("goodhart_requests_total{route=\"/run_code\",status=\"422\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("goodhart_request_duration_seconds_count{route=\"/run_code\"} 2"),
        "{text}"
    );
    assert!(text.contains("goodhart_queue_depth 0"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_that_waits_past_the_deadline_gets_504() {
    let live = start_with(ServerConfig {
        gate: GateConfig {
            workers: 1,
            max_queued: 100,
            max_wait: Duration::from_millis(200),
        },
        ..ServerConfig::default()
    })
    .await;
    let slow = verl_body("import time\ntime.sleep(1.5)", None, 10);
    let answers = send_all(&live, vec![slow.clone(), slow]).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 504], "{answers:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_drains_requests_in_flight() {
    let mut live = start().await;
    let client = live.client.clone();
    let url = live.url("/run_code");
    let in_flight = tokio::spawn(async move {
        let body = verl_body("import time\ntime.sleep(1)\nprint('done')", None, 10);
        let resp = client.post(url).json(&body).send().await.unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    live.stop.take().unwrap().send(()).unwrap();
    let (status, r) = in_flight.await.unwrap();
    assert_eq!(r["status"], "Success", "{r:#}");
    assert_eq!(
        (status, r["run_result"]["stdout"].as_str()),
        (200, Some("done\n"))
    );
    let ping = live.url("/v1/ping");
    live.done.await.unwrap().unwrap();
    assert!(
        live.client.get(ping).send().await.is_err(),
        "still accepting after shutdown"
    );
}
