//! The client against the in-process fake server: both wire shapes, and every fault the brief names.
//! Every request must end with a response or a typed error; none may vanish.

use futures_util::StreamExt;
use goodhart_llm::fake::{FakeAnswer, FakeReply, FakeRequest, FakeServer, Script};
use goodhart_llm::{
    Cache, ChatRequest, Client, ClientConfig, LlmError, MemoryCache, Message, ModelSpec,
    RetryPolicy, TokenLogprob, ToolCall, ToolSpec, TopLogprob,
};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn fast_config(concurrency: usize) -> ClientConfig {
    ClientConfig {
        concurrency,
        min_concurrency: 1,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(3),
        },
    }
}

fn openai(server: &FakeServer, config: ClientConfig) -> Client {
    let spec = ModelSpec::parse("openai/fake", Some(&server.openai_base_url()), None).unwrap();
    Client::new(spec, config).unwrap()
}

fn anthropic(server: &FakeServer, config: ClientConfig) -> Client {
    let spec =
        ModelSpec::parse("anthropic/fake", Some(&server.anthropic_base_url()), None).unwrap();
    Client::new(spec, config).unwrap()
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::system("sys"), Message::user(text)])
}

fn script(f: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static) -> Script {
    Arc::new(f)
}

fn ok(text: &str) -> FakeReply {
    FakeReply::Answer(FakeAnswer::text(text))
}

fn status(code: u16, retry_after: Option<&str>) -> FakeReply {
    FakeReply::Status {
        status: code,
        retry_after: retry_after.map(str::to_string),
        body: "nope".into(),
    }
}

/// The job number the test put in the user turn (`job-17`).
fn job(r: &FakeRequest) -> usize {
    r.last_user().trim_start_matches("job-").parse().unwrap()
}

#[tokio::test]
async fn openai_shape_round_trips_reasoning_tools_and_logprobs() {
    let server = FakeServer::start(script(|r| {
        assert_eq!(r.system(), "sys");
        assert_eq!(r.body["tools"][0]["function"]["name"], "sql");
        FakeReply::Answer(FakeAnswer {
            text: "<thinking>inline</thinking>answer".into(),
            reasoning: Some("field".into()),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "sql".into(),
                arguments: json!({"q": 1}),
            }],
            logprobs: Some(vec![TokenLogprob {
                token: "9".into(),
                logprob: -0.2,
                top: vec![TopLogprob {
                    token: "9".into(),
                    logprob: -0.2,
                }],
            }]),
        })
    }))
    .await
    .unwrap();
    let client = openai(&server, fast_config(4));
    let mut req = ask("hi");
    req.tools = vec![ToolSpec {
        name: "sql".into(),
        description: "run".into(),
        parameters: json!({}),
    }];
    req.logprobs = Some(1);
    let r = client.chat(&req, 0).await.unwrap();
    assert_eq!(r.text, "answer");
    assert_eq!(r.reasoning.as_deref(), Some("field\n\ninline"));
    assert_eq!(r.tool_calls[0].arguments["q"], 1);
    assert_eq!(r.logprobs.unwrap()[0].top[0].token, "9");
    assert!(!r.cached);
}

#[tokio::test]
async fn anthropic_shape_round_trips_thinking_and_tool_use() {
    let server = FakeServer::start(script(|r| {
        assert_eq!(r.body["system"], "sys");
        assert!(r.body["max_tokens"].as_u64().is_some());
        FakeReply::Answer(FakeAnswer {
            text: "done".into(),
            reasoning: Some("deliberation".into()),
            tool_calls: vec![ToolCall {
                id: "t".into(),
                name: "send".into(),
                arguments: json!({"to": "x"}),
            }],
            logprobs: None,
        })
    }))
    .await
    .unwrap();
    let client = anthropic(&server, fast_config(4));
    let r = client.chat(&ask("hi"), 0).await.unwrap();
    assert_eq!(r.text, "done");
    assert_eq!(r.reasoning.as_deref(), Some("deliberation"));
    assert_eq!(r.tool_calls[0].name, "send");
    assert_eq!(r.usage.output_tokens, 1);
}

#[tokio::test]
async fn retry_after_seconds_is_honoured_and_cuts_concurrency() {
    let server = FakeServer::start(script(|r| {
        if r.attempt == 1 {
            status(429, Some("1"))
        } else {
            ok("fine")
        }
    }))
    .await
    .unwrap();
    let client = openai(&server, fast_config(8));
    let t = Instant::now();
    let r = client.chat(&ask("a"), 0).await.unwrap();
    assert_eq!(r.text, "fine");
    assert!(
        t.elapsed() >= Duration::from_millis(990),
        "retried after {:?}",
        t.elapsed()
    );
    assert_eq!(client.limiter().limit(), 4);
    assert_eq!(client.stats().rate_limited.load(Ordering::Relaxed), 1);
    assert_eq!(client.stats().attempts.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = FakeServer::start(script(|r| {
        if r.attempt == 1 {
            let at = std::time::SystemTime::now() + Duration::from_secs(2);
            status(429, Some(&httpdate_fmt(at)))
        } else {
            ok("fine")
        }
    }))
    .await
    .unwrap();
    let client = anthropic(&server, fast_config(8));
    let t = Instant::now();
    client.chat(&ask("a"), 0).await.unwrap();
    // HTTP dates have 1 s resolution: the wait is between 1 and 2 seconds.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "retried after {:?}",
        t.elapsed()
    );
}

/// A server asking for an absurd wait (`1e30` seconds, which overflows a `Duration`) or sending a
/// negative or garbage `Retry-After` neither panics the client nor stalls it: the wait is clamped to
/// the retry policy's `max_delay` (here 1 s) or ignored for the ordinary backoff.
#[tokio::test]
async fn absurd_retry_after_values_are_clamped_or_ignored() {
    for value in ["1e30", "-5", "soon", "NaN", "1e30e"] {
        let server = FakeServer::start(script(move |r| {
            if r.attempt == 1 {
                status(429, Some(value))
            } else {
                ok("fine")
            }
        }))
        .await
        .unwrap();
        let mut config = fast_config(2);
        config.retry.max_delay = Duration::from_secs(1);
        let client = openai(&server, config);
        let t = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(20), client.chat(&ask("a"), 0))
            .await
            .unwrap_or_else(|_| panic!("Retry-After: {value} stalled the client"));
        assert_eq!(answer.unwrap().text, "fine", "Retry-After: {value}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "Retry-After: {value} waited {:?}",
            t.elapsed()
        );
        assert_eq!(client.stats().attempts.load(Ordering::Relaxed), 2);
    }
}

fn httpdate_fmt(t: std::time::SystemTime) -> String {
    // Format through the same crate the client parses with, as a server would send it.
    httpdate::fmt_http_date(t)
}

#[tokio::test]
async fn server_errors_are_retried_until_the_bound() {
    let server = FakeServer::start(script(|r| match job(r) {
        0 if r.attempt < 3 => status(500, None),
        0 => ok("third time"),
        _ => status(503, None),
    }))
    .await
    .unwrap();
    let client = openai(&server, fast_config(4));
    assert_eq!(
        client.chat(&ask("job-0"), 0).await.unwrap().text,
        "third time"
    );
    let e = client.chat(&ask("job-1"), 0).await.unwrap_err();
    match &e {
        LlmError::RetriesExhausted { attempts, last } => {
            assert_eq!(*attempts, 4);
            assert!(
                matches!(**last, LlmError::Status { status: 503, .. }),
                "{last}"
            );
        }
        other => panic!("expected exhaustion, got {other}"),
    }
    assert_eq!(e.kind(), "http_503");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = FakeServer::start(script(|_| status(400, None)))
        .await
        .unwrap();
    let client = openai(&server, fast_config(4));
    let e = client.chat(&ask("x"), 0).await.unwrap_err();
    assert!(matches!(e, LlmError::Status { status: 400, .. }), "{e}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn slow_answers_within_the_timeout_succeed_and_slower_ones_time_out_then_retry() {
    let server = FakeServer::start(script(|r| match job(r) {
        0 => FakeReply::Delay(Duration::from_millis(100), Box::new(ok("slow"))),
        1 if r.attempt == 1 => FakeReply::Delay(Duration::from_secs(5), Box::new(ok("too slow"))),
        1 => ok("quick second"),
        _ => FakeReply::Delay(Duration::from_secs(5), Box::new(ok("never"))),
    }))
    .await
    .unwrap();
    let mut config = fast_config(4);
    config.timeout = Duration::from_millis(300);
    config.retry.max_attempts = 2;
    let client = openai(&server, config);
    assert_eq!(client.chat(&ask("job-0"), 0).await.unwrap().text, "slow");
    assert_eq!(
        client.chat(&ask("job-1"), 0).await.unwrap().text,
        "quick second"
    );
    let e = client.chat(&ask("job-2"), 0).await.unwrap_err();
    assert_eq!(e.kind(), "timeout", "{e}");
}

#[tokio::test]
async fn malformed_and_truncated_bodies_are_retried_then_reported() {
    let server = FakeServer::start(script(|r| match job(r) {
        0 if r.attempt == 1 => FakeReply::Malformed,
        1 if r.attempt == 1 => FakeReply::Truncated,
        0 | 1 => ok("recovered"),
        2 => FakeReply::Malformed,
        _ => FakeReply::Truncated,
    }))
    .await
    .unwrap();
    let client = openai(&server, fast_config(4));
    assert_eq!(
        client.chat(&ask("job-0"), 0).await.unwrap().text,
        "recovered"
    );
    assert_eq!(
        client.chat(&ask("job-1"), 0).await.unwrap().text,
        "recovered"
    );
    assert_eq!(
        client.chat(&ask("job-2"), 0).await.unwrap_err().kind(),
        "malformed"
    );
    assert_eq!(
        client.chat(&ask("job-3"), 0).await.unwrap_err().kind(),
        "truncated_body"
    );
}

#[tokio::test]
async fn every_job_of_a_faulty_batch_ends_exactly_once() {
    // Jobs fail in rotation on their first attempt; every tenth job fails every attempt.
    let server = FakeServer::start(script(|r| {
        let n = job(r);
        if n % 10 == 9 {
            return status(500, None);
        }
        if r.attempt > 1 {
            return ok(&format!("answer-{n}"));
        }
        match n % 5 {
            0 => status(429, Some("0")),
            1 => status(502, None),
            2 => FakeReply::Malformed,
            3 => FakeReply::Truncated,
            _ => FakeReply::Delay(
                Duration::from_millis(5),
                Box::new(ok(&format!("answer-{n}"))),
            ),
        }
    }))
    .await
    .unwrap();
    let client = openai(&server, fast_config(32));
    let jobs = (0..300).map(|n| (n, ask(&format!("job-{n}")), 0));
    let outcomes: Vec<(usize, Result<_, _>)> = client.chat_all(jobs).collect().await;
    assert_eq!(outcomes.len(), 300);
    let mut seen = vec![0; 300];
    for (n, outcome) in outcomes {
        seen[n] += 1;
        match outcome {
            Ok(r) => {
                assert_ne!(n % 10, 9);
                assert_eq!(r.text, format!("answer-{n}"));
            }
            Err(e) => {
                assert_eq!(n % 10, 9, "job {n} failed: {e}");
                assert_eq!(e.kind(), "http_500");
            }
        }
    }
    assert!(seen.iter().all(|&c| c == 1));
}

#[tokio::test]
async fn cancellation_ends_pending_requests_and_keeps_finished_ones() {
    let server = FakeServer::start(script(|r| {
        if job(r) < 5 {
            ok("quick")
        } else {
            FakeReply::Delay(Duration::from_secs(30), Box::new(ok("late")))
        }
    }))
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let client = openai(&server, fast_config(16)).with_cancel(cancel.clone());
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let t = Instant::now();
    let outcomes: Vec<(usize, Result<_, _>)> = client
        .chat_all((0..40).map(|n| (n, ask(&format!("job-{n}")), 0)))
        .collect()
        .await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(outcomes.len(), 40);
    for (n, outcome) in outcomes {
        match outcome {
            Ok(r) => assert!(n < 5 && r.text == "quick"),
            Err(e) => assert!(n >= 5 && e == LlmError::Cancelled, "job {n}: {e}"),
        }
    }
}

#[tokio::test]
async fn cache_answers_repeats_and_keys_on_the_sample_index() {
    let server = FakeServer::start(script(|r| ok(&format!("seq-{}", r.seq))))
        .await
        .unwrap();
    let cache = Arc::new(MemoryCache::default());
    let client = openai(&server, fast_config(4)).with_cache(cache.clone());
    let first = client.chat(&ask("x"), 0).await.unwrap();
    let again = client.chat(&ask("x"), 0).await.unwrap();
    assert_eq!(first.text, again.text);
    assert!(again.cached);
    assert_eq!(server.requests(), 1);
    let other = client.chat(&ask("x"), 1).await.unwrap();
    assert_ne!(other.text, first.text);
    assert_eq!(server.requests(), 2);
    assert_eq!(cache.len(), 2);
    // Errors are not cached: a failing request is asked again next time.
    let failing = FakeServer::start(script(|_| status(400, None)))
        .await
        .unwrap();
    let client = openai(&failing, fast_config(4)).with_cache(cache.clone());
    assert!(client.chat(&ask("x"), 5).await.is_err());
    assert!(client.chat(&ask("x"), 5).await.is_err());
    assert_eq!(failing.requests(), 2);
    assert!(cache
        .get(&goodhart_llm::CacheKey::new(client.spec(), &ask("x"), 5))
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_required_key_that_is_missing_fails_before_any_request() {
    let spec = ModelSpec::parse(
        "openai/m",
        Some("http://127.0.0.1:9/v1"),
        Some("GOODHART_TEST_NO_SUCH_KEY"),
    )
    .unwrap();
    let e = Client::new(spec, ClientConfig::default()).err().unwrap();
    assert_eq!(
        e,
        LlmError::MissingApiKey("GOODHART_TEST_NO_SUCH_KEY".into())
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_after_retries() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = ModelSpec::parse(
        "openai/m",
        Some(&format!("http://127.0.0.1:{port}/v1")),
        None,
    )
    .unwrap();
    let client = Client::new(spec, fast_config(2)).unwrap();
    let e = client.chat(&ask("x"), 0).await.unwrap_err();
    assert!(
        matches!(e, LlmError::RetriesExhausted { attempts: 4, .. }),
        "{e}"
    );
    assert_eq!(e.kind(), "connect");
}

#[tokio::test]
async fn sustained_rate_limits_shrink_concurrency_and_success_grows_it_back() {
    let server = FakeServer::start(script(|r| {
        if r.seq < 40 {
            status(429, None)
        } else {
            ok("ok")
        }
    }))
    .await
    .unwrap();
    let mut config = fast_config(64);
    config.retry.max_attempts = 10;
    let client = openai(&server, config);
    let jobs = (0..20).map(|n| (n, ask(&format!("job-{n}")), 0));
    let outcomes: Vec<_> = client.chat_all(jobs).collect::<Vec<_>>().await;
    assert!(outcomes.iter().all(|(_, o)| o.is_ok()));
    let after_burst = client.limiter().limit();
    assert!(after_burst < 64, "limit stayed at {after_burst}");
    let more = (0..2000).map(|n| (n, ask(&format!("job-{n}")), 1));
    let _: Vec<_> = client.chat_all(more).collect::<Vec<_>>().await;
    assert!(
        client.limiter().limit() > after_burst,
        "limit did not grow back"
    );
}
