//! An in-process model server speaking both wire shapes, scripted per request, with faults on demand:
//! what every test and benchmark that needs "a model" talks to instead of a real endpoint.
//!
//! Serves `POST /v1/chat/completions` (OpenAI shape) and `POST /v1/messages` (Anthropic shape) on
//! 127.0.0.1 at a free port. A [`Script`] decides each reply from the parsed request: an answer, an HTTP
//! error (with `Retry-After`), a delay, malformed JSON or a body cut off mid-way.

use crate::spec::Provider;
use crate::types::{TokenLogprob, ToolCall};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the script sees of one request.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub provider: Provider,
    /// The JSON body as sent.
    pub body: Value,
    /// 0-based arrival order across the server's life.
    pub seq: u64,
    /// 1-based count of requests with this exact body so far (2 = first retry).
    pub attempt: u32,
}

impl FakeRequest {
    /// The system prompt, wherever the shape puts it.
    pub fn system(&self) -> String {
        if let Some(s) = self.body.get("system").and_then(Value::as_str) {
            return s.to_string();
        }
        self.messages_with_role("system").join("\n\n")
    }

    /// The text of the last user turn.
    pub fn last_user(&self) -> String {
        self.messages_with_role("user").pop().unwrap_or_default()
    }

    /// The `seed` parameter, which `goodhart sample` sets to the sample index.
    pub fn seed(&self) -> Option<u64> {
        self.body.get("seed").and_then(Value::as_u64)
    }

    /// The JSON schema the request asks the reply to follow, wherever the shape puts it (OpenAI's
    /// `response_format.json_schema.schema`, or the input schema of Anthropic's forced `respond` tool),
    /// so a script can answer structured requests in kind or refuse them.
    pub fn response_schema(&self) -> Option<&Value> {
        if let Some(s) = self.body.pointer("/response_format/json_schema/schema") {
            return Some(s);
        }
        let forced = self.body.pointer("/tool_choice/name")?.as_str()?;
        self.body
            .get("tools")?
            .as_array()?
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(forced))?
            .get("input_schema")
    }

    fn messages_with_role(&self, role: &str) -> Vec<String> {
        let Some(messages) = self.body.get("messages").and_then(Value::as_array) else {
            return Vec::new();
        };
        messages
            .iter()
            .filter(|m| m.get("role").and_then(Value::as_str) == Some(role))
            .map(|m| match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(blocks)) => blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(""),
                _ => String::new(),
            })
            .collect()
    }
}

/// A successful completion to send back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeAnswer {
    pub text: String,
    /// Sent as `reasoning_content` (OpenAI) or a thinking block (Anthropic).
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// Sent in the OpenAI shape only, as Anthropic offers none.
    pub logprobs: Option<Vec<TokenLogprob>>,
}

impl FakeAnswer {
    /// A plain text answer.
    pub fn text(text: impl Into<String>) -> Self {
        FakeAnswer {
            text: text.into(),
            ..Default::default()
        }
    }
}

/// How the server answers one request.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeReply {
    Answer(FakeAnswer),
    /// An HTTP error; `retry_after` is sent verbatim as the `Retry-After` header.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Status 200 with a body that is not JSON.
    Malformed,
    /// Status 200 whose body breaks off after a few bytes (the connection is reset mid-body).
    Truncated,
    /// Waits, then replies.
    Delay(Duration, Box<FakeReply>),
}

/// Decides each reply; must be cheap and thread-safe (it runs inside the server).
pub type Script = Arc<dyn Fn(&FakeRequest) -> FakeReply + Send + Sync>;

struct Shared {
    script: Script,
    seq: AtomicU64,
    attempts: Mutex<HashMap<Vec<u8>, u32>>,
}

/// A running fake server; stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeServer {
    /// Binds 127.0.0.1 on a free port and serves `script` on the current tokio runtime.
    pub async fn start(script: Script) -> std::io::Result<FakeServer> {
        let shared = Arc::new(Shared {
            script,
            seq: AtomicU64::new(0),
            attempts: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(openai_handler))
            .route("/v1/messages", post(anthropic_handler))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            // Serving only ends on shutdown; an accept error here has nowhere better to go.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
        });
        Ok(FakeServer { addr, shared, stop })
    }

    /// A server that answers every request at once with `text`.
    pub async fn constant(text: &str) -> std::io::Result<FakeServer> {
        let answer = FakeReply::Answer(FakeAnswer::text(text));
        FakeServer::start(Arc::new(move |_| answer.clone())).await
    }

    /// Base URL for an `openai/...` model spec.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for an `anthropic/...` model spec.
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.seq.load(Ordering::Relaxed)
    }
}

async fn openai_handler(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    handle(shared, Provider::OpenAi, body).await
}

async fn anthropic_handler(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    handle(shared, Provider::Anthropic, body).await
}

async fn handle(shared: Arc<Shared>, provider: Provider, body: Bytes) -> Response {
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return plain(StatusCode::BAD_REQUEST, "request body is not JSON".into());
    };
    let attempt = {
        let mut seen = shared.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry(body.to_vec()).or_insert(0);
        *n += 1;
        *n
    };
    let request = FakeRequest {
        provider,
        body: parsed,
        seq,
        attempt,
    };
    let mut reply = (shared.script)(&request);
    while let FakeReply::Delay(wait, next) = reply {
        tokio::time::sleep(wait).await;
        reply = *next;
    }
    match reply {
        FakeReply::Answer(answer) => {
            let model = request.body.get("model").cloned().unwrap_or(Value::Null);
            let json = match provider {
                Provider::OpenAi => openai_json(&model, &answer),
                Provider::Anthropic => anthropic_json(&model, &answer),
            };
            json_response(json.to_string())
        }
        FakeReply::Status {
            status,
            retry_after,
            body,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = plain(code, body);
            if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        FakeReply::Malformed => json_response("{\"choices\": [ {\"message\": ".into()),
        FakeReply::Truncated => {
            // The pause lets the headers and first chunk reach the client before the reset, so the client
            // sees a body cut off mid-way rather than a connection that never answered.
            let head = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(
                    b"{\"choices\":[{\"message\":{\"content\":\"par",
                ))
            });
            let cut = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "scripted truncation",
                ))
            });
            let mut resp = Response::new(Body::from_stream(head.chain(cut)));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        FakeReply::Delay(..) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unreachable delay".into(),
        ),
    }
}

fn plain(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp
}

fn json_response(body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn openai_json(model: &Value, a: &FakeAnswer) -> Value {
    let mut message = json!({ "role": "assistant", "content": a.text });
    if let Some(r) = &a.reasoning {
        message["reasoning_content"] = json!(r);
    }
    if !a.tool_calls.is_empty() {
        message["tool_calls"] = a
            .tool_calls
            .iter()
            .map(|c| {
                json!({ "id": c.id, "type": "function",
                        "function": { "name": c.name, "arguments": c.arguments.to_string() } })
            })
            .collect();
    }
    let mut choice = json!({
        "index": 0,
        "message": message,
        "finish_reason": if a.tool_calls.is_empty() { "stop" } else { "tool_calls" },
    });
    if let Some(lp) = &a.logprobs {
        let content: Vec<Value> = lp
            .iter()
            .map(|t| {
                let top: Vec<Value> = t
                    .top
                    .iter()
                    .map(|x| json!({ "token": x.token, "logprob": x.logprob }))
                    .collect();
                json!({ "token": t.token, "logprob": t.logprob, "top_logprobs": top })
            })
            .collect();
        choice["logprobs"] = json!({ "content": content });
    }
    json!({
        "id": "fake",
        "object": "chat.completion",
        "model": model,
        "choices": [choice],
        "usage": { "prompt_tokens": 10, "completion_tokens": words(&a.text), "total_tokens": 10 + words(&a.text) },
    })
}

fn anthropic_json(model: &Value, a: &FakeAnswer) -> Value {
    let mut content = Vec::new();
    if let Some(r) = &a.reasoning {
        content.push(json!({ "type": "thinking", "thinking": r, "signature": "fake" }));
    }
    if !a.text.is_empty() {
        content.push(json!({ "type": "text", "text": a.text }));
    }
    for c in &a.tool_calls {
        content
            .push(json!({ "type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments }));
    }
    json!({
        "id": "fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if a.tool_calls.is_empty() { "end_turn" } else { "tool_use" },
        "usage": { "input_tokens": 10, "output_tokens": words(&a.text) },
    })
}
