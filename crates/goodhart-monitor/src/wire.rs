//! Sending one monitor request with structured output, through goodhart-llm's [`Client`].
//!
//! The monitor asks for its verdict under a JSON schema ([`ChatRequest::response_schema`]): OpenAI's
//! `response_format`, Anthropic's forced tool call. Everything else is the client's: the retry policy
//! and error kinds, the response cache (the schema is part of the request, so it is part of the key),
//! the bound on requests in flight, and the fallback to a plain request when a server refuses schemas
//! (the reply is then read by the monitor's strict parser alone, as it always is).

use goodhart_llm::{
    Cache, ChatRequest, ChatResponse, Client, ClientConfig, ClientStats, LlmError, ModelSpec,
    ResponseSchema, RetryPolicy,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The name the verdict's schema goes by (OpenAI requires one).
const SCHEMA_NAME: &str = "monitor_verdict";

/// One judge endpoint: goodhart-llm's client with the monitor's concurrency, timeout, retries and cache.
pub struct Wire {
    client: Client,
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
        let config = ClientConfig {
            concurrency: concurrency.max(1),
            min_concurrency: 1,
            timeout,
            retry,
        };
        let client = Client::new(spec, config)?;
        Ok(Wire {
            client: match cache {
                Some(cache) => client.with_cache(cache),
                None => client,
            },
        })
    }

    /// The endpoint.
    pub fn spec(&self) -> &ModelSpec {
        self.client.spec()
    }

    /// Request counters since the wire was built (attempts, retries, cache hits and errors).
    pub fn stats(&self) -> &ClientStats {
        self.client.stats()
    }

    /// The answer to `request`, constrained to `schema` when given: from the cache when this exact
    /// request (schema included) was answered before, else from the server with retries.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        schema: Option<&Value>,
    ) -> Result<ChatResponse, LlmError> {
        match schema {
            Some(schema) => {
                let mut constrained = request.clone();
                constrained.response_schema = Some(ResponseSchema {
                    name: SCHEMA_NAME.to_string(),
                    schema: schema.clone(),
                });
                self.client.chat(&constrained, 0).await
            }
            None => self.client.chat(request, 0).await,
        }
    }
}
