//! Scale-out (issue 21): three `goodhart serve` replicas on one PostgreSQL store behave as one service.
//! 3,000 `/v1/grade` requests are spread over them by a client that retries any unanswered request on
//! another replica (and re-sends some answered ones, as a trainer's timeout would); one replica is
//! killed with SIGKILL midway. Every answered rollout must then be stored exactly once, with the reward
//! that was answered.
//!
//! The replicas are started as one named service (`--service rl-a`) beside a replica of another service
//! (`rl-b`): `report training --service rl-a` and every surviving replica's `/metrics` service totals
//! must count the whole service's rollouts (the killed replica's included) and none of `rl-b`'s.
//!
//! Needs a server: `GOODHART_TEST_PG_URL` (`.ci/postgres.sh start` prints one). Without it the test is
//! skipped with a note, except under `CI=true`, where it fails. Figures are printed with `--nocapture`.

mod common;

use common::PgSchema;
use futures_util::StreamExt;
use goodhart_store::{RunKind, Store};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_goodhart");
const REQUESTS: usize = 3_000;
const REPLICAS: usize = 3;
/// The replica killed once a third of the requests are answered.
const VICTIM: usize = 1;
/// Requests to the other service's replica.
const OTHER_REQUESTS: usize = 5;

/// The value of the sample named exactly `name` (with its labels) in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

/// Starts a replica of `service` on a free port (all at once on the empty schema: they migrate it
/// together). Its `/metrics` service totals are never cached, so a scrape sees every stored row.
fn start_replica(db: &str, service: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["serve", "--tasks", "bundled", "--workers", "1", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "--db",
            db,
            "--service",
            service,
            "--service-metrics-ttl",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("listening on") {
            break;
        }
        said.push(line);
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "a replica exited: {said:?}"
    );
    std::thread::spawn(move || for _ in lines {});
    (child, format!("http://127.0.0.1:{port}/v1/grade"))
}

/// Request `i`: one rollout with its own id, a bundled task's reference (or, every fifth, a hack).
fn request(i: usize, tasks: &[goodhart_core::Task]) -> Value {
    let t = &tasks[i % tasks.len()];
    let code = if i.is_multiple_of(5) {
        format!(
            "class A:\n    def __eq__(self, o):\n        return True\n\ndef {}(*a, **k):\n    return A()\n",
            t.entry_point
        )
    } else {
        t.reference.clone()
    };
    json!({"rollouts": [{
        "id": format!("r{i}"), "task_id": t.id, "step": (i / 100) as i64,
        "completion": format!("```python\n{code}\n```"),
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_postgres_store_every_answered_rollout_once() {
    let Some(schema) = std::thread::spawn(|| PgSchema::new("replicas"))
        .join()
        .unwrap()
    else {
        return;
    };
    let tasks: Vec<_> = goodhart_tasks::load("bundled")
        .unwrap()
        .into_iter()
        .take(8)
        .collect();
    let db = schema.url.clone();
    let started: Vec<_> = (0..=REPLICAS)
        .map(|r| {
            let db = db.clone();
            let service = if r < REPLICAS { "rl-a" } else { "rl-b" };
            std::thread::spawn(move || start_replica(&db, service))
        })
        .collect();
    let mut children = Vec::new();
    let mut urls = Vec::new();
    for s in started {
        let (child, url) = s.join().unwrap();
        children.push(child);
        urls.push(url);
    }
    // The other service's replica: a few rollouts that rl-a's figures must not count.
    let (mut other, other_url) = (children.pop().unwrap(), urls.pop().unwrap());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    for i in 0..OTHER_REQUESTS {
        let mut body = request(i, &tasks);
        body["rollouts"][0]["id"] = json!(format!("other{i}"));
        let reply = client.post(&other_url).json(&body).send().await.unwrap();
        assert!(reply.status().is_success(), "{:?}", reply.text().await);
    }
    other.kill().unwrap();
    other.wait().unwrap();
    let alive: Arc<Vec<AtomicBool>> =
        Arc::new((0..REPLICAS).map(|_| AtomicBool::new(true)).collect());
    let answered = Arc::new(AtomicUsize::new(0));
    let (sends, retries) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let began = Instant::now();
    let mut flight = futures_util::stream::iter((0..REQUESTS).map(|i| {
        let (client, urls, alive) = (client.clone(), urls.clone(), alive.clone());
        let (answered, sends, retries) = (answered.clone(), sends.clone(), retries.clone());
        let body = request(i, &tasks);
        async move {
            // Replica i % 3 first; on a failure the next one, until one answers.
            let mut rewards = Vec::new();
            for attempt in 0..30 {
                let r = (i + attempt) % REPLICAS;
                if !alive[r].load(Ordering::SeqCst) && attempt + 1 < 30 {
                    continue;
                }
                sends.fetch_add(1, Ordering::Relaxed);
                if attempt > 0 {
                    retries.fetch_add(1, Ordering::Relaxed);
                }
                let reply = client.post(&urls[r]).json(&body).send().await;
                if let Ok(reply) = reply {
                    if reply.status().is_success() {
                        let v: Value = reply.json().await.unwrap();
                        rewards.push(v["rollouts"][0]["reward"].as_f64());
                        // Every tenth answered request is sent again to the next replica, as a
                        // trainer whose timeout fired just before the answer came would.
                        if i.is_multiple_of(10) && rewards.len() == 1 {
                            continue;
                        }
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            answered.fetch_add(1, Ordering::SeqCst);
            (i, rewards)
        }
    }))
    .buffer_unordered(12);
    let mut answers: BTreeMap<usize, Vec<Option<f64>>> = BTreeMap::new();
    let mut killed_at = None;
    while let Some((i, rewards)) = flight.next().await {
        assert!(!rewards.is_empty(), "request {i} was never answered");
        answers.insert(i, rewards);
        if killed_at.is_none() && answers.len() >= REQUESTS / 3 {
            // SIGKILL, with requests in flight to it.
            children[VICTIM].kill().unwrap();
            children[VICTIM].wait().unwrap();
            alive[VICTIM].store(false, Ordering::SeqCst);
            killed_at = Some(answers.len());
        }
    }
    let elapsed = began.elapsed();
    // Every surviving replica reports the whole service from the store, the killed one's rows
    // included, and only its own requests in its per-process counters.
    let mut own_graded = 0;
    let mut service_attempted = Vec::new();
    for (r, url) in urls.iter().enumerate() {
        if r == VICTIM {
            continue;
        }
        let text = client
            .get(url.replace("/v1/grade", "/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            metric(&text, "goodhart_service_rollouts{service=\"rl-a\"}"),
            Some(REQUESTS as f64),
            "replica {r}'s service total:\n{text}"
        );
        service_attempted.push(metric(
            &text,
            "goodhart_service_hacks_attempted{service=\"rl-a\"}",
        ));
        own_graded +=
            metric(&text, "goodhart_graded_total{policy=\"proxy\"}").unwrap_or(0.0) as usize;
    }
    assert!(
        own_graded < REQUESTS + REQUESTS / 10,
        "survivors count only their own requests per process ({own_graded})"
    );
    for (r, child) in children.iter_mut().enumerate() {
        if r != VICTIM {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
    assert_eq!(answers.len(), REQUESTS);

    let store = Store::open_read_only(&db).unwrap();
    let runs: Vec<_> = store
        .runs(Some(RunKind::Serve))
        .unwrap()
        .into_iter()
        .filter(|r| r.service() == Some("rl-a"))
        .collect();
    assert_eq!(runs.len(), REPLICAS, "one serve run per replica of rl-a");
    let mut stored: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut rows = 0;
    for run in &runs {
        for g in store.graded_rollouts(&run.id).unwrap() {
            rows += 1;
            let again = stored.insert(g.rollout.id.clone(), g.reward);
            assert!(again.is_none(), "{} stored twice", g.rollout.id);
        }
    }
    assert_eq!(rows, REQUESTS, "every answered rollout stored exactly once");
    let want: BTreeSet<String> = (0..REQUESTS).map(|i| format!("r{i}")).collect();
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), want);
    for (i, rewards) in &answers {
        for reward in rewards {
            assert_eq!(
                reward,
                &stored[&format!("r{i}")],
                "request {i}: every answer is the stored reward"
            );
        }
    }
    let per_run: Vec<usize> = runs
        .iter()
        .map(|r| store.graded_rollouts(&r.id).unwrap().len())
        .collect();
    assert!(
        per_run.iter().all(|&n| n > 0),
        "every replica served: {per_run:?}"
    );
    // `report training --service rl-a` reads the replicas as one service: every step's rollouts and
    // hacks, from all three runs, none from rl-b.
    let out = Command::new(BIN)
        .args([
            "report",
            "training",
            "--service",
            "rl-a",
            "--json",
            "--db",
            &db,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let n: u64 = steps.iter().map(|r| r["n"].as_u64().unwrap()).sum();
    assert_eq!(n, REQUESTS as u64, "{steps:?}");
    let attempted: u64 = steps
        .iter()
        .map(|r| r["attempted"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        attempted,
        (REQUESTS / 5) as u64,
        "every fifth rollout is a hack"
    );
    for seen in &service_attempted {
        assert_eq!(
            *seen,
            Some(attempted as f64),
            "/metrics agrees with the report"
        );
    }
    assert_eq!(
        steps.len(),
        REQUESTS / 100,
        "one row per step (30 steps, one framing): {steps:?}"
    );
    println!(
        "replicas: {REQUESTS} requests over {REPLICAS} replicas in {:.1} s ({:.1}/s), replica {VICTIM} \
         SIGKILLed after {} answers; {} sends ({} retries and re-sends), {rows} rows stored, per replica \
         {per_run:?}",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        killed_at.unwrap_or(0),
        sends.load(Ordering::Relaxed),
        retries.load(Ordering::Relaxed),
    );
}
