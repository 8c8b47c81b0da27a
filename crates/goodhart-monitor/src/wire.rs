//! Sending one monitor request with structured output (`response_format` with a JSON schema).
//!
//! goodhart-llm's `ChatRequest` has no response format yet, so this module builds the body with
//! goodhart-llm's own OpenAI/Anthropic builders, adds `response_format` to OpenAI-shaped bodies
//! (Anthropic has no such field; its answers are read by the strict parser alone), and sends it with the
//! same retry policy, error kinds and response cache the client uses. When goodhart-llm gains a
//! response format this module shrinks to a call to `Client::chat`.

use goodhart_llm::{
    anthropic, openai, parse_retry_after, Cache, CacheKey, ChatRequest, ChatResponse, LlmError,
    ModelSpec, Provider, RetryPolicy,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Request counters, for `bench detect --monitor` and run summaries.
#[derive(Debug, Default)]
pub struct WireStats {
    /// HTTP attempts sent, retries included.
    pub attempts: AtomicU64,
    /// Answers replayed from the cache.
    pub cache_hits: AtomicU64,
    /// Cache reads or writes that failed (the answer was still used).
    pub cache_errors: AtomicU64,
}

/// One endpoint with its key, retry policy, cache and a bound on requests in flight.
pub struct Wire {
    spec: ModelSpec,
    url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
    cache: Option<Arc<dyn Cache>>,
    slots: tokio::sync::Semaphore,
    pub(crate) stats: WireStats,
}

impl Wire {
    /// Reads the API key now, so a missing one fails before any request.
    pub fn new(
        spec: ModelSpec,
        concurrency: usize,
        timeout: Duration,
        retry: RetryPolicy,
        cache: Option<Arc<dyn Cache>>,
    ) -> Result<Wire, LlmError> {
        let api_key = match std::env::var(&spec.api_key_env) {
            Ok(key) if !key.is_empty() => Some(key),
            _ if spec.api_key_required => {
                return Err(LlmError::MissingApiKey(spec.api_key_env.clone()))
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| LlmError::Request(e.to_string()))?;
        let path = match spec.provider {
            Provider::OpenAi => openai::PATH,
            Provider::Anthropic => anthropic::PATH,
        };
        Ok(Wire {
            url: format!("{}{path}", spec.base_url),
            spec,
            api_key,
            http,
            retry,
            timeout,
            cache,
            slots: tokio::sync::Semaphore::new(concurrency.max(1)),
            stats: WireStats::default(),
        })
    }

    /// The endpoint.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The answer to `request`, constrained to `schema` where the provider supports it: from the cache
    /// when this exact request (and schema) was answered before, else from the server with retries.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        schema: Option<&Value>,
    ) -> Result<ChatResponse, LlmError> {
        // The key covers the schema through the model name, so a constrained and an unconstrained
        // request for the same messages never share an answer.
        let mut keyed = self.spec.clone();
        if let Some(s) = schema {
            keyed.name = format!("{} [response_format json_schema {s}]", keyed.name);
        }
        let key = CacheKey::new(&keyed, request, 0);
        if let Some(cache) = &self.cache {
            match cache.get(&key) {
                Ok(Some(mut hit)) => {
                    self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    hit.cached = true;
                    return Ok(hit);
                }
                Ok(None) => {}
                Err(_) => {
                    self.stats.cache_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let response = self.send(&self.body(request, schema)).await?;
        if let Some(cache) = &self.cache {
            if cache.put(&key, &self.spec.label(), &response).is_err() {
                self.stats.cache_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(response)
    }

    fn body(&self, request: &ChatRequest, schema: Option<&Value>) -> Vec<u8> {
        let mut body = match self.spec.provider {
            Provider::OpenAi => openai::request_body(&self.spec.name, request),
            Provider::Anthropic => anthropic::request_body(&self.spec.name, request),
        };
        if let (Provider::OpenAi, Some(schema)) = (self.spec.provider, schema) {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "monitor_verdict", "strict": true, "schema": schema},
            });
        }
        body.to_string().into_bytes()
    }

    /// Sends with retries on transient failures (the client's classification and backoff).
    async fn send(&self, body: &[u8]) -> Result<ChatResponse, LlmError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _slot = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|e| LlmError::Request(e.to_string()))?;
                self.stats.attempts.fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(self.timeout, self.send_once(body)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(LlmError::Timeout(self.timeout)),
                }
            };
            let err = match outcome {
                Ok(mut response) => {
                    response.usage.cost_usd = self
                        .spec
                        .cost(response.usage.input_tokens, response.usage.output_tokens);
                    return Ok(response);
                }
                Err(err) => err,
            };
            if !err.is_retryable() {
                return Err(err);
            }
            if attempt >= self.retry.max_attempts {
                return Err(LlmError::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            tokio::time::sleep(self.retry.delay(attempt, err.retry_after())).await;
        }
    }

    async fn send_once(&self, body: &[u8]) -> Result<ChatResponse, LlmError> {
        let mut rb = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        match (self.spec.provider, &self.api_key) {
            (Provider::OpenAi, Some(key)) => rb = rb.bearer_auth(key),
            (Provider::Anthropic, key) => {
                rb = rb.header("anthropic-version", anthropic::VERSION);
                if let Some(key) = key {
                    rb = rb.header("x-api-key", key);
                }
            }
            (Provider::OpenAi, None) => {}
        }
        let resp = rb.send().await.map_err(|e| transport(&e, false))?;
        let status = resp.status();
        let retry_after = parse_retry_after(resp.headers());
        let bytes = resp.bytes().await.map_err(|e| transport(&e, true))?;
        if !status.is_success() {
            return Err(LlmError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned(),
                retry_after,
            });
        }
        match self.spec.provider {
            Provider::OpenAi => openai::parse_response(&bytes),
            Provider::Anthropic => anthropic::parse_response(&bytes),
        }
    }
}

/// A transport failure as the client's error kinds: a body cut off, or a connection that failed.
fn transport(e: &reqwest::Error, reading_body: bool) -> LlmError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if reading_body || e.is_body() || e.is_decode() {
        LlmError::Body(text)
    } else {
        LlmError::Connect(text)
    }
}
