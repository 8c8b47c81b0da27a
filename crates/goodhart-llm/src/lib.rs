//! Model access for Goodhart: one client for OpenAI-compatible servers (vLLM, SGLang, llama.cpp, Ollama,
//! OpenAI) and the Anthropic Messages API.
//!
//! Sampling runs send thousands of requests, so the [`Client`] carries the machinery such runs need:
//! an [`AdaptiveLimiter`] that halves concurrency on 429 and grows it back, bounded retries with jittered
//! backoff that honour `Retry-After`, per-request timeouts, cancellation that keeps what finished, and a
//! [`Cache`] keyed by everything that decides a sample. Reasoning (`reasoning_content`, thinking blocks,
//! `<thinking>` tags) is kept apart from the answer so evaluations can judge the two separately.
//!
//! [`fake::FakeServer`] is an in-process server speaking both shapes with scripted answers and faults,
//! for tests and `goodhart bench llm`. [`framing`] holds the inoculation framings used to build prompts.

pub mod anthropic;
pub mod cache;
mod client;
mod error;
pub mod fake;
pub mod framing;
mod limiter;
pub mod openai;
mod reasoning;
mod retry;
mod spec;
mod types;

pub use cache::{Cache, CacheError, CacheKey, CacheStorage, MemoryCache, StorageError};
pub use client::{Client, ClientConfig, ClientStats, StructuredOutput};
pub use error::LlmError;
pub use framing::Framing;
pub use limiter::{AdaptiveLimiter, Permit};
pub use reasoning::split_reasoning;
pub use retry::{parse_retry_after, RetryPolicy};
pub use spec::{ModelSpec, Provider, SpecError};
pub use types::{
    ChatRequest, ChatResponse, FinishReason, Message, ResponseSchema, Role, TokenLogprob, ToolCall,
    ToolSpec, TopLogprob, Usage, DEFAULT_MAX_TOKENS,
};
