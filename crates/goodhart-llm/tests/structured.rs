//! Structured output (a JSON schema on the request) against the fake server: accepted where the server
//! takes it, detected once and dropped where it refuses it, and carried by both wire shapes.

use goodhart_llm::fake::{FakeAnswer, FakeReply, FakeRequest, FakeServer, Script};
use goodhart_llm::{
    ChatRequest, Client, ClientConfig, Message, ModelSpec, ResponseSchema, RetryPolicy,
    StructuredOutput, ToolCall,
};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn config() -> ClientConfig {
    ClientConfig {
        concurrency: 4,
        min_concurrency: 1,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
    }
}

fn client(server: &FakeServer, model: &str) -> Client {
    let base = if model.starts_with("anthropic/") {
        server.anthropic_base_url()
    } else {
        server.openai_base_url()
    };
    Client::new(
        ModelSpec::parse(model, Some(&base), None).unwrap(),
        config(),
    )
    .unwrap()
}

fn structured(text: &str) -> ChatRequest {
    let mut req = ChatRequest::new(vec![Message::user(text)]);
    req.response_schema = Some(ResponseSchema {
        name: "verdict".into(),
        schema: json!({
            "type": "object",
            "properties": {"flagged": {"type": "boolean"}},
            "required": ["flagged"],
            "additionalProperties": false,
        }),
    });
    req
}

/// A server that answers a structured request with `{"flagged": true}` and a plain one with `plain`,
/// refusing schemas with 400 when `refuse`; counts the requests that carried a schema.
fn server_script(refuse: bool, with_schema: Arc<AtomicU64>) -> Script {
    Arc::new(move |r: &FakeRequest| {
        if r.response_schema().is_some() {
            with_schema.fetch_add(1, Ordering::SeqCst);
            if refuse {
                return FakeReply::Status {
                    status: 400,
                    retry_after: None,
                    body: "{\"error\": \"response_format is not supported\"}".into(),
                };
            }
            return FakeReply::Answer(FakeAnswer::text("{\"flagged\": true}"));
        }
        FakeReply::Answer(FakeAnswer::text("plain"))
    })
}

#[tokio::test]
async fn a_server_that_takes_schemas_gets_them_on_every_request() {
    let seen = Arc::new(AtomicU64::new(0));
    let server = FakeServer::start(server_script(false, seen.clone()))
        .await
        .unwrap();
    let c = client(&server, "openai/judge");
    assert_eq!(c.structured_output(), StructuredOutput::Untried);
    assert_eq!(
        c.probe_structured_output().await.unwrap(),
        StructuredOutput::Accepted
    );
    for i in 0..3 {
        let r = c.chat(&structured(&format!("q{i}")), 0).await.unwrap();
        assert_eq!(r.text, "{\"flagged\": true}");
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "the probe and three requests"
    );
    assert_eq!(c.structured_output(), StructuredOutput::Accepted);
}

#[tokio::test]
async fn a_refusal_is_detected_once_and_later_requests_go_without_the_schema() {
    let seen = Arc::new(AtomicU64::new(0));
    let server = FakeServer::start(server_script(true, seen.clone()))
        .await
        .unwrap();
    // Detected by the first real request (no probe): it is re-sent without the schema and answered.
    let c = client(&server, "openai/judge");
    let r = c.chat(&structured("q0"), 0).await.unwrap();
    assert_eq!(r.text, "plain");
    let StructuredOutput::Refused { reason } = c.structured_output() else {
        panic!("{:?}", c.structured_output());
    };
    assert!(reason.contains("HTTP 400"), "{reason}");
    for i in 1..5 {
        assert_eq!(
            c.chat(&structured(&format!("q{i}")), 0).await.unwrap().text,
            "plain"
        );
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "one refused request per client"
    );

    // Detected by the probe: then no judge request carries the schema at all.
    seen.store(0, Ordering::SeqCst);
    let probed = client(&server, "openai/judge");
    assert!(matches!(
        probed.probe_structured_output().await.unwrap(),
        StructuredOutput::Refused { .. }
    ));
    assert_eq!(
        probed.chat(&structured("q9"), 0).await.unwrap().text,
        "plain"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1, "only the probe");
}

#[tokio::test]
async fn a_400_that_is_not_about_the_schema_is_an_error_and_teaches_nothing() {
    let server = FakeServer::start(Arc::new(|_: &FakeRequest| FakeReply::Status {
        status: 400,
        retry_after: None,
        body: "context too long".into(),
    }))
    .await
    .unwrap();
    let c = client(&server, "openai/judge");
    let err = c.chat(&structured("q"), 0).await.unwrap_err();
    assert_eq!(err.kind(), "http_400");
    assert_eq!(c.structured_output(), StructuredOutput::Untried);
}

#[tokio::test]
async fn anthropic_structured_replies_come_back_as_text() {
    let server = FakeServer::start(Arc::new(|r: &FakeRequest| {
        assert_eq!(r.body["tool_choice"]["name"], "respond");
        let schema = r
            .response_schema()
            .expect("the schema is the forced tool's");
        assert_eq!(schema["properties"]["flagged"]["type"], "boolean");
        FakeReply::Answer(FakeAnswer {
            tool_calls: vec![ToolCall {
                id: "t1".into(),
                name: "respond".into(),
                arguments: json!({"flagged": false}),
            }],
            ..FakeAnswer::default()
        })
    }))
    .await
    .unwrap();
    let c = client(&server, "anthropic/judge");
    let r = c.chat(&structured("q"), 0).await.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.text).unwrap(),
        json!({"flagged": false})
    );
    assert!(r.tool_calls.is_empty());
    assert_eq!(c.structured_output(), StructuredOutput::Accepted);
}

#[tokio::test]
async fn an_accepted_probe_is_cached_and_a_refused_one_is_asked_every_run() {
    let cache: Arc<dyn goodhart_llm::Cache> = Arc::new(goodhart_llm::MemoryCache::default());
    for refuse in [false, true] {
        let seen = Arc::new(AtomicU64::new(0));
        let server = FakeServer::start(server_script(refuse, seen.clone()))
            .await
            .unwrap();
        for run in 0..2 {
            let c = client(&server, "openai/judge").with_cache(cache.clone());
            let state = c.probe_structured_output().await.unwrap();
            assert_eq!(matches!(state, StructuredOutput::Refused { .. }), refuse);
            let expected = if refuse { run + 1 } else { 1 };
            assert_eq!(
                seen.load(Ordering::SeqCst),
                expected,
                "refuse={refuse} run {run}"
            );
        }
    }
}
