//! Every way a request can end without an answer, typed so callers can record it and decide whether a
//! resumed run should try again.

use std::time::Duration;

/// Why a request produced no [`crate::ChatResponse`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The server answered with an HTTP error status.
    #[error("HTTP {status}: {body}")]
    Status {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// No answer within the per-request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Could not connect, or the connection broke before the headers.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The body broke off mid-way (truncated or reset).
    #[error("response body was cut off: {0}")]
    Body(String),
    /// The body arrived but is not the JSON shape the provider documents.
    #[error("malformed response: {reason} (body starts: {prefix:?})")]
    Malformed { reason: String, prefix: String },
    /// The key's variable is not set, and the endpoint needs one (`--api-key-env VAR` was given, or no
    /// `--base-url`, so the provider's public API).
    #[error(
        "environment variable {0} (the API key) is not set: export it, name another variable with \
         --api-key-env VAR, or give --base-url URL for a server that needs no key"
    )]
    MissingApiKey(String),
    /// The run was cancelled (Ctrl-C) before this request finished.
    #[error("cancelled")]
    Cancelled,
    /// Transient failures repeated until the retry bound.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted { attempts: u32, last: Box<LlmError> },
    /// The request could not be sent at all (bad URL, client misconfiguration).
    #[error("request could not be built: {0}")]
    Request(String),
}

impl LlmError {
    /// Transient failures worth another attempt: 408/409/429/5xx/529, timeouts, broken connections and
    /// bodies, and malformed bodies (usually a proxy or a server under load).
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Status { status, .. } => matches!(status, 408 | 409 | 429) || *status >= 500,
            LlmError::Timeout(_) | LlmError::Connect(_) | LlmError::Body(_) => true,
            LlmError::Malformed { .. } => true,
            LlmError::MissingApiKey(_)
            | LlmError::Cancelled
            | LlmError::RetriesExhausted { .. }
            | LlmError::Request(_) => false,
        }
    }

    /// True for the signal that the server wants fewer requests in flight.
    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            LlmError::Status {
                status: 429 | 529,
                ..
            }
        )
    }

    /// The wait the server asked for, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short stable name for tables and the store (`http_429`, `timeout`, ...).
    pub fn kind(&self) -> String {
        match self {
            LlmError::Status { status, .. } => format!("http_{status}"),
            LlmError::Timeout(_) => "timeout".into(),
            LlmError::Connect(_) => "connect".into(),
            LlmError::Body(_) => "truncated_body".into(),
            LlmError::Malformed { .. } => "malformed".into(),
            LlmError::MissingApiKey(_) => "missing_api_key".into(),
            LlmError::Cancelled => "cancelled".into(),
            LlmError::RetriesExhausted { last, .. } => last.kind(),
            LlmError::Request(_) => "request".into(),
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>, body: &[u8]) -> LlmError {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        LlmError::Malformed {
            reason: reason.into(),
            prefix: text,
        }
    }
}
