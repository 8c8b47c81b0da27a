//! One client for both APIs, with the machinery a long sampling run needs: adaptive concurrency, bounded
//! retries honouring `Retry-After`, per-request timeouts, cancellation and the response cache.

use crate::cache::{Cache, CacheKey};
use crate::error::LlmError;
use crate::limiter::AdaptiveLimiter;
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::spec::{ModelSpec, Provider};
use crate::types::{ChatRequest, ChatResponse};
use crate::{anthropic, openai};
use futures_util::stream::{self, Stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Knobs of the request machinery; the defaults suit a local vLLM server or a hosted API.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Requests in flight at the start, and the ceiling the limiter grows back to.
    pub concurrency: usize,
    /// Floor the limiter never cuts below.
    pub min_concurrency: usize,
    /// Per-attempt deadline covering connect, headers and body.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            concurrency: 64,
            min_concurrency: 1,
            timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
        }
    }
}

/// Counters a run reports at the end (and the bench prints).
#[derive(Debug, Default)]
pub struct ClientStats {
    /// HTTP attempts sent, retries included.
    pub attempts: AtomicU64,
    /// Attempts that failed with a retryable error and were tried again.
    pub retries: AtomicU64,
    /// 429/529 answers seen.
    pub rate_limited: AtomicU64,
    pub cache_hits: AtomicU64,
    /// Cache reads or writes that failed (the response itself was still returned).
    pub cache_errors: AtomicU64,
}

/// Whether the server honours [`ChatRequest::response_schema`], as this client has learned it: asked once
/// per run (by [`Client::probe_structured_output`], or by the first request that carries a schema), then
/// every later request follows the answer, so a server that refuses schemas costs one refused request,
/// not one per call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StructuredOutput {
    /// No request with a schema has been answered yet.
    Untried,
    /// The server accepted a request with a schema (OpenAI `response_format` / Anthropic forced tool).
    Accepted,
    /// The server refused one (HTTP 400 or 422 that a plain request did not get), or the request shape
    /// cannot carry one; requests go without the schema and callers parse replies strictly.
    Refused { reason: String },
}

impl StructuredOutput {
    /// One line for stderr and run configurations.
    pub fn describe(&self) -> String {
        match self {
            StructuredOutput::Untried => "structured output not tried yet".into(),
            StructuredOutput::Accepted => "structured output (JSON schema) accepted".into(),
            StructuredOutput::Refused { reason } => {
                format!("structured output refused ({reason}); replies are parsed strictly instead")
            }
        }
    }
}

/// A model endpoint plus the machinery to call it many times at once.
pub struct Client {
    spec: ModelSpec,
    url: String,
    api_key: Option<String>,
    http: reqwest::Client,
    limiter: AdaptiveLimiter,
    config: ClientConfig,
    cache: Option<Arc<dyn Cache>>,
    cancel: CancellationToken,
    stats: ClientStats,
    structured: Mutex<StructuredOutput>,
}

impl Client {
    /// Builds a client for `spec`, reading the API key from its environment variable now so a missing
    /// key fails before any request.
    pub fn new(spec: ModelSpec, config: ClientConfig) -> Result<Client, LlmError> {
        let api_key = match std::env::var(&spec.api_key_env) {
            Ok(key) if !key.is_empty() => Some(key),
            _ if spec.api_key_required => {
                return Err(LlmError::MissingApiKey(spec.api_key_env.clone()))
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| LlmError::Request(error_chain(&e)))?;
        let path = match spec.provider {
            Provider::OpenAi => openai::PATH,
            Provider::Anthropic => anthropic::PATH,
        };
        let url = format!("{}{path}", spec.base_url);
        let limiter = AdaptiveLimiter::new(config.concurrency, config.min_concurrency);
        Ok(Client {
            spec,
            url,
            api_key,
            http,
            limiter,
            config,
            cache: None,
            cancel: CancellationToken::new(),
            stats: ClientStats::default(),
            structured: Mutex::new(StructuredOutput::Untried),
        })
    }

    /// Remembers responses in `cache` and answers repeated samples from it.
    pub fn with_cache(mut self, cache: Arc<dyn Cache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Ties the client to a cancellation token (Ctrl-C): pending requests then end with
    /// [`LlmError::Cancelled`] and finished ones are kept.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The endpoint this client talks to.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The adaptive limiter, for progress displays and tests.
    pub fn limiter(&self) -> &AdaptiveLimiter {
        &self.limiter
    }

    /// Counters since the client was built.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The cancellation token requests watch.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// What this client has learned about the server's structured output so far.
    pub fn structured_output(&self) -> StructuredOutput {
        self.structured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_structured(&self, state: StructuredOutput) {
        let mut s = self.structured.lock().unwrap_or_else(|p| p.into_inner());
        // A refusal is final for the client's life; acceptance only replaces "untried".
        if !matches!(*s, StructuredOutput::Refused { .. }) {
            *s = state;
        }
    }

    /// Asks the server once, with a one-field schema, whether it takes structured output, so a run can
    /// say at its start which way its judge replies will be parsed. An accepted probe is cached like any
    /// answer (a repeated run against the same endpoint sends nothing); a refusal (HTTP 400 or 422) is
    /// never cached, so it is asked once per run, and remembered for the client's life. Any other
    /// failure (the server is down) is returned and nothing is learned. A server that changes its mind
    /// later is still caught by [`Client::chat`].
    pub async fn probe_structured_output(&self) -> Result<StructuredOutput, LlmError> {
        if let Some(reason) = self.shape_refuses_schema(&probe_request()) {
            self.set_structured(StructuredOutput::Refused { reason });
            return Ok(self.structured_output());
        }
        match self.chat_cached(&probe_request(), 0).await {
            Ok(_) => self.set_structured(StructuredOutput::Accepted),
            Err(e) if refuses_schema(&e) => {
                self.set_structured(StructuredOutput::Refused { reason: short(&e) })
            }
            Err(e) => return Err(e),
        }
        Ok(self.structured_output())
    }

    fn shape_refuses_schema(&self, request: &ChatRequest) -> Option<String> {
        match self.spec.provider {
            Provider::OpenAi => None,
            Provider::Anthropic => anthropic::schema_unsupported(request),
        }
    }

    /// Sample number `sample` of `request`: from the cache when present, otherwise from the server with
    /// retries; ends with a response or a typed error, never silently.
    ///
    /// A request with a [`ChatRequest::response_schema`] goes without it once the server has refused
    /// one (see [`StructuredOutput`]); the first refusal is detected here when a request with the schema
    /// gets HTTP 400 or 422 and the same request without it succeeds.
    pub async fn chat(&self, request: &ChatRequest, sample: u32) -> Result<ChatResponse, LlmError> {
        if request.response_schema.is_none() {
            return self.chat_cached(request, sample).await;
        }
        if let Some(reason) = self.shape_refuses_schema(request) {
            self.set_structured(StructuredOutput::Refused { reason });
        }
        if matches!(self.structured_output(), StructuredOutput::Refused { .. }) {
            return self.chat_cached(&request.without_schema(), sample).await;
        }
        match self.chat_cached(request, sample).await {
            Ok(response) => {
                self.set_structured(StructuredOutput::Accepted);
                Ok(response)
            }
            Err(e) if refuses_schema(&e) => {
                let plain = self.chat_cached(&request.without_schema(), sample).await?;
                self.set_structured(StructuredOutput::Refused { reason: short(&e) });
                Ok(plain)
            }
            Err(e) => Err(e),
        }
    }

    async fn chat_cached(
        &self,
        request: &ChatRequest,
        sample: u32,
    ) -> Result<ChatResponse, LlmError> {
        let key = self
            .cache
            .as_ref()
            .map(|_| CacheKey::new(&self.spec, request, sample));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            match cache.get(key) {
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
        let response = self.chat_uncached(request).await?;
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if cache.put(key, &self.spec.label(), &response).is_err() {
                self.stats.cache_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(response)
    }

    /// Runs every job with the limiter bounding concurrency, yielding each job's tag with its outcome as
    /// it finishes; every job yields exactly once (cancelled ones with [`LlmError::Cancelled`]).
    pub fn chat_all<'a, T: 'a>(
        &'a self,
        jobs: impl IntoIterator<Item = (T, ChatRequest, u32)> + 'a,
    ) -> impl Stream<Item = (T, Result<ChatResponse, LlmError>)> + 'a {
        stream::iter(jobs)
            .map(move |(tag, request, sample)| async move {
                let outcome = self.chat(&request, sample).await;
                (tag, outcome)
            })
            .buffer_unordered(self.config.concurrency.max(1))
    }

    /// One request with retries, skipping the cache.
    pub async fn chat_uncached(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = match self.spec.provider {
            Provider::OpenAi => openai::request_body(&self.spec.name, request),
            Provider::Anthropic => anthropic::request_body(&self.spec.name, request),
        };
        let body = serde_json::to_vec(&body).map_err(|e| LlmError::Request(e.to_string()))?;
        let structured = request.response_schema.is_some();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let permit = tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => return Err(LlmError::Cancelled),
                    permit = self.limiter.acquire() => permit,
                };
                self.stats.attempts.fetch_add(1, Ordering::Relaxed);
                let outcome = tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => return Err(LlmError::Cancelled),
                    outcome = self.send_once(&body, structured) => outcome,
                };
                drop(permit);
                outcome
            };
            let err = match outcome {
                Ok(mut response) => {
                    self.limiter.on_success();
                    response.usage.cost_usd = self
                        .spec
                        .cost(response.usage.input_tokens, response.usage.output_tokens);
                    return Ok(response);
                }
                Err(err) => err,
            };
            if err.is_rate_limit() {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                // The pause is bounded like the retry wait, so a server asking for a day stalls
                // nothing longer than one retry would.
                let pause = err
                    .retry_after()
                    .map(|w| w.min(self.config.retry.max_delay));
                self.limiter.on_rate_limited(pause);
            }
            if !err.is_retryable() {
                return Err(err);
            }
            if attempt >= self.config.retry.max_attempts {
                return Err(LlmError::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let wait = self.config.retry.delay(attempt, err.retry_after());
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(LlmError::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn send_once(&self, body: &[u8], structured: bool) -> Result<ChatResponse, LlmError> {
        let timeout = self.config.timeout;
        let exchange = async {
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
            let resp = rb.send().await.map_err(|e| classify(&e, false, timeout))?;
            let status = resp.status();
            let retry_after = parse_retry_after(resp.headers());
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| classify(&e, true, timeout))?;
            if !status.is_success() {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned();
                return Err(LlmError::Status {
                    status: status.as_u16(),
                    body: text,
                    retry_after,
                });
            }
            match self.spec.provider {
                Provider::OpenAi => openai::parse_response(&bytes),
                Provider::Anthropic => anthropic::parse_response(&bytes).map(|mut r| {
                    if structured {
                        anthropic::take_schema_reply(&mut r);
                    }
                    r
                }),
            }
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(LlmError::Timeout(timeout)),
        }
    }
}

/// The smallest structured request: one boolean field, a few tokens.
fn probe_request() -> ChatRequest {
    let mut req = ChatRequest::new(vec![crate::types::Message::user(
        "Reply with the JSON object {\"ok\": true}.",
    )]);
    req.temperature = Some(0.0);
    req.max_tokens = Some(16);
    req.response_schema = Some(crate::types::ResponseSchema {
        name: "probe".into(),
        schema: serde_json::json!({
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": false,
        }),
    });
    req
}

/// How servers refuse a field they do not take: 400 (OpenAI, vLLM, llama.cpp) or 422 (servers that
/// validate bodies with pydantic).
fn refuses_schema(e: &LlmError) -> bool {
    matches!(
        e,
        LlmError::Status {
            status: 400 | 422,
            ..
        }
    )
}

/// An error as one short line (status bodies can be long).
fn short(e: &LlmError) -> String {
    let text = e.to_string().replace('\n', " ");
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Maps a transport error onto our error kinds; `reading_body` separates a cut-off body from a failed
/// connection.
fn classify(e: &reqwest::Error, reading_body: bool, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else if e.is_builder() {
        LlmError::Request(error_chain(e))
    } else if reading_body || e.is_body() || e.is_decode() {
        LlmError::Body(error_chain(e))
    } else {
        LlmError::Connect(error_chain(e))
    }
}

/// The error with its causes, since reqwest's own message hides the interesting part.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
