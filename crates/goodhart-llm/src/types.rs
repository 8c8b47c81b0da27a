//! Provider-neutral requests and responses: what evals and `goodhart sample` build and read, whichever
//! API the model sits behind.

use serde::{Deserialize, Serialize};

/// Who speaks a turn; `Tool` carries a tool's output back to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One turn of a conversation, in the shape both APIs can be built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Tool calls an assistant turn made (replayed in multi-turn agent loops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the id of the call this turn answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A system turn (framing, instructions).
    pub fn system(content: impl Into<String>) -> Self {
        Self::plain(Role::System, content)
    }

    /// A user turn (the task).
    pub fn user(content: impl Into<String>) -> Self {
        Self::plain(Role::User, content)
    }

    /// An assistant turn replayed from an earlier response.
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Message {
            tool_calls,
            ..Self::plain(Role::Assistant, content)
        }
    }

    /// A tool's output, answering the call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(call_id.into()),
            ..Self::plain(Role::Tool, content)
        }
    }

    fn plain(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A function the model may call, so agentic evals can offer deterministic simulated tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A call the model asked for; `arguments` is the parsed JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// Everything that decides a completion besides the model; part of the cache key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Required by Anthropic; when `None` the Anthropic client sends [`DEFAULT_MAX_TOKENS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Ask for this many top alternatives per token (OpenAI-compatible servers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Sampling seed where the server honours one (OpenAI-compatible only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Anthropic extended thinking budget in tokens; ignored by OpenAI-compatible servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// Ask the server to constrain the reply to this JSON schema (structured output), so a small judge
    /// cannot answer off-format. Servers that refuse it are detected by the [`crate::Client`], which
    /// then sends the request without it (see [`crate::StructuredOutput`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<ResponseSchema>,
}

/// A JSON schema a reply must follow, with the name OpenAI's `response_format` requires
/// (`^[A-Za-z0-9_-]{1,64}$`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSchema {
    pub name: String,
    /// The JSON Schema of the whole reply; an object at the root (OpenAI requires one), every property
    /// required and `additionalProperties: false` (OpenAI's strict mode requires both).
    pub schema: serde_json::Value,
}

/// `max_tokens` the Anthropic API needs when a request does not set one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

impl ChatRequest {
    /// A request with these messages and every parameter left to the server.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            temperature: None,
            top_p: None,
            max_tokens: None,
            tools: Vec::new(),
            logprobs: None,
            seed: None,
            stop: Vec::new(),
            thinking_budget: None,
            response_schema: None,
        }
    }

    /// The same request without a response schema: what is sent to a server that refused one.
    pub fn without_schema(&self) -> ChatRequest {
        ChatRequest {
            response_schema: None,
            ..self.clone()
        }
    }
}

/// Why generation stopped, normalised across providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// Hit `max_tokens`: the answer may be cut off.
    Length,
    /// The model wants tool results.
    ToolCalls,
    /// The provider filtered the output.
    ContentFilter,
    /// Anything else, kept verbatim.
    Other(String),
}

/// One alternative for a token position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    pub token: String,
    pub logprob: f64,
}

/// The sampled token and its alternatives, for probability-weighted judge scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    #[serde(default)]
    pub top: Vec<TopLogprob>,
}

/// Token counts (and cost when the model spec has prices) for budget accounting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// US dollars, when the model spec carries prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// What the model answered, with reasoning kept apart from the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer, with any `<thinking>` blocks removed.
    pub text: String,
    /// Reasoning from `reasoning_content`, thinking blocks or `<thinking>` tags; `None` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Vec<TokenLogprob>>,
    pub usage: Usage,
    pub finish_reason: FinishReason,
    /// True when this came from the cache instead of the network.
    #[serde(default)]
    pub cached: bool,
}

impl ChatResponse {
    /// Assembles a response from what a wire shape carried: inline `<thinking>` tags are split out of
    /// `raw_text` and joined after the dedicated reasoning `field`, so both shapes label reasoning alike.
    pub(crate) fn from_parts(
        raw_text: &str,
        field: Option<String>,
        tool_calls: Vec<ToolCall>,
        logprobs: Option<Vec<TokenLogprob>>,
        usage: Usage,
        finish_reason: FinishReason,
    ) -> ChatResponse {
        let (text, inline) = crate::reasoning::split_reasoning(raw_text);
        ChatResponse {
            text,
            reasoning: crate::reasoning::merge(field, inline),
            tool_calls,
            logprobs,
            usage,
            finish_reason,
            cached: false,
        }
    }
}
