//! The OpenAI Chat Completions wire shape (also spoken by vLLM, SGLang, llama.cpp server and Ollama).

use crate::error::LlmError;
use crate::types::{
    ChatRequest, ChatResponse, FinishReason, Role, TokenLogprob, ToolCall, TopLogprob, Usage,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Path appended to the base URL (`http://host:8000/v1` + `/chat/completions`).
pub const PATH: &str = "/chat/completions";

/// Builds the JSON body for `model`.
pub fn request_body(model: &str, req: &ChatRequest) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let mut v = json!({ "role": role(m.role), "content": m.content });
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({
                            "id": c.id,
                            "type": "function",
                            "function": { "name": c.name, "arguments": c.arguments.to_string() },
                        })
                    })
                    .collect();
            }
            if let Some(id) = &m.tool_call_id {
                v["tool_call_id"] = json!(id);
            }
            v
        })
        .collect();
    let mut body = json!({ "model": model, "messages": messages });
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(p) = req.top_p {
        body["top_p"] = json!(p);
    }
    if let Some(n) = req.max_tokens {
        body["max_tokens"] = json!(n);
    }
    if let Some(s) = req.seed {
        body["seed"] = json!(s);
    }
    if !req.stop.is_empty() {
        body["stop"] = json!(req.stop);
    }
    if let Some(k) = req.logprobs {
        body["logprobs"] = json!(true);
        if k > 0 {
            body["top_logprobs"] = json!(k);
        }
    }
    if let Some(schema) = &req.response_schema {
        // OpenAI structured outputs; llama.cpp's server (utils.hpp, oaicompat_chat_params_parse) and
        // vLLM (guided decoding) read the same field.
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": { "name": schema.name, "strict": true, "schema": schema.schema },
        });
    }
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": { "name": t.name, "description": t.description, "parameters": t.parameters },
                })
            })
            .collect();
    }
    body
}

fn role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    logprobs: Option<WireLogprobs>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Newer vLLM releases name the field `reasoning`.
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireLogprobs {
    #[serde(default)]
    content: Option<Vec<WireToken>>,
}

#[derive(Deserialize)]
struct WireToken {
    token: String,
    logprob: f64,
    #[serde(default)]
    top_logprobs: Vec<WireTop>,
}

#[derive(Deserialize)]
struct WireTop {
    token: String,
    logprob: f64,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Parses a 200 response body into a [`ChatResponse`] (first choice).
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, LlmError> {
    let completion: Completion = serde_json::from_slice(body)
        .map_err(|e| LlmError::malformed(format!("not a chat completion: {e}"), body))?;
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(LlmError::malformed("`choices` is empty", body));
    };
    let field = choice
        .message
        .reasoning_content
        .or(choice.message.reasoning);
    let tool_calls = choice
        .message
        .tool_calls
        .into_iter()
        .map(|c| {
            let arguments = if c.function.arguments.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&c.function.arguments).map_err(|e| {
                    LlmError::malformed(
                        format!(
                            "tool call `{}` arguments are not JSON: {e}",
                            c.function.name
                        ),
                        body,
                    )
                })?
            };
            Ok(ToolCall {
                id: c.id,
                name: c.function.name,
                arguments,
            })
        })
        .collect::<Result<Vec<_>, LlmError>>()?;
    let logprobs = choice.logprobs.and_then(|l| l.content).map(|tokens| {
        tokens
            .into_iter()
            .map(|t| TokenLogprob {
                token: t.token,
                logprob: t.logprob,
                top: t
                    .top_logprobs
                    .into_iter()
                    .map(|x| TopLogprob {
                        token: x.token,
                        logprob: x.logprob,
                    })
                    .collect(),
            })
            .collect()
    });
    let usage = completion
        .usage
        .map(|u| Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cost_usd: None,
        })
        .unwrap_or_default();
    let finish_reason = match choice.finish_reason.as_deref() {
        Some("stop") | None => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    };
    Ok(ChatResponse::from_parts(
        choice.message.content.as_deref().unwrap_or(""),
        field,
        tool_calls,
        logprobs,
        usage,
        finish_reason,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Message, ToolSpec};

    #[test]
    fn body_carries_tools_logprobs_and_tool_turns() {
        let mut req = ChatRequest::new(vec![
            Message::system("s"),
            Message::user("u"),
            Message::assistant(
                "",
                vec![ToolCall {
                    id: "c1".into(),
                    name: "f".into(),
                    arguments: json!({"x": 1}),
                }],
            ),
            Message::tool("c1", "out"),
        ]);
        req.temperature = Some(0.5);
        req.logprobs = Some(3);
        req.seed = Some(7);
        req.tools = vec![ToolSpec {
            name: "f".into(),
            description: "d".into(),
            parameters: json!({}),
        }];
        let b = request_body("m", &req);
        assert_eq!(b["model"], "m");
        assert_eq!(
            b["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"x\":1}"
        );
        assert_eq!(b["messages"][3]["role"], "tool");
        assert_eq!(b["messages"][3]["tool_call_id"], "c1");
        assert_eq!(b["logprobs"], true);
        assert_eq!(b["top_logprobs"], 3);
        assert_eq!(b["seed"], 7);
        assert_eq!(b["tools"][0]["type"], "function");
        assert!(b.get("max_tokens").is_none());
        assert!(b.get("response_format").is_none());
    }

    #[test]
    fn body_carries_a_response_schema_as_response_format() {
        let mut req = ChatRequest::new(vec![Message::user("u")]);
        req.response_schema = Some(crate::types::ResponseSchema {
            name: "verdict".into(),
            schema: json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
        });
        let b = request_body("m", &req);
        assert_eq!(b["response_format"]["type"], "json_schema");
        assert_eq!(b["response_format"]["json_schema"]["name"], "verdict");
        assert_eq!(b["response_format"]["json_schema"]["strict"], true);
        assert_eq!(
            b["response_format"]["json_schema"]["schema"]["properties"]["ok"]["type"],
            "boolean"
        );
    }

    #[test]
    fn response_splits_reasoning_and_reads_tool_calls_and_logprobs() {
        let body = br#"{"id":"x","choices":[{"index":0,"finish_reason":"tool_calls",
          "message":{"role":"assistant","content":"<think>hmm</think>done","reasoning_content":"field",
            "tool_calls":[{"id":"c","type":"function","function":{"name":"sql","arguments":"{\"q\":\"x\"}"}}]},
          "logprobs":{"content":[{"token":"7","logprob":-0.1,"top_logprobs":[{"token":"7","logprob":-0.1},{"token":"8","logprob":-2.5}]}]}}],
          "usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.text, "done");
        assert_eq!(r.reasoning.as_deref(), Some("field\n\nhmm"));
        assert_eq!(r.tool_calls[0].arguments["q"], "x");
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        let lp = r.logprobs.unwrap();
        assert_eq!(lp[0].top[1].token, "8");
        assert_eq!(r.usage.input_tokens, 10);
    }

    #[test]
    fn wrong_shapes_are_malformed_not_panics() {
        for body in [&b"{"[..], b"{\"choices\":[]}", b"[1]", b"{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}}]}"] {
            let e = parse_response(body).unwrap_err();
            assert!(matches!(e, LlmError::Malformed { .. }), "{e}");
        }
    }
}
