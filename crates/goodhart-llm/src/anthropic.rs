//! The Anthropic Messages wire shape.

use crate::error::LlmError;
use crate::types::{
    ChatRequest, ChatResponse, FinishReason, Role, ToolCall, Usage, DEFAULT_MAX_TOKENS,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// Path appended to the base URL (`https://api.anthropic.com` + `/v1/messages`).
pub const PATH: &str = "/v1/messages";

/// The API version header value this shape follows.
pub const VERSION: &str = "2023-06-01";

/// The tool a structured reply is forced through: the Messages API constrains a tool's `input` to its
/// `input_schema`, and `tool_choice: {"type": "tool"}` makes the model call it (Anthropic's documented
/// way to get JSON output), so `ChatRequest::response_schema` becomes this tool's schema.
pub const RESPOND_TOOL: &str = "respond";

/// Why this request's response schema cannot be sent in the Messages shape, if it cannot: a forced tool
/// call does not combine with tools of the request's own or with extended thinking (the API refuses
/// `tool_choice` of type `tool` when thinking is on).
pub fn schema_unsupported(req: &ChatRequest) -> Option<String> {
    req.response_schema.as_ref()?;
    if !req.tools.is_empty() {
        return Some("anthropic: a response schema is sent as a forced tool call, which cannot be combined with the request's own tools".into());
    }
    if req.thinking_budget.is_some() {
        return Some("anthropic: a response schema is sent as a forced tool call, which the API refuses with extended thinking".into());
    }
    None
}

/// Moves a structured reply (the forced [`RESPOND_TOOL`] call) into the response text, so callers read
/// structured replies the same way from both shapes. A reply without that call is left as it is.
pub fn take_schema_reply(resp: &mut ChatResponse) {
    if let Some(i) = resp.tool_calls.iter().position(|c| c.name == RESPOND_TOOL) {
        let call = resp.tool_calls.remove(i);
        resp.text = call.arguments.to_string();
        if resp.finish_reason == FinishReason::ToolCalls {
            resp.finish_reason = FinishReason::Stop;
        }
    }
}

/// Builds the JSON body for `model`: system turns go to the top-level `system`, tool results become
/// `tool_result` blocks of a user turn, and consecutive turns of one role are merged as the API requires.
pub fn request_body(model: &str, req: &ChatRequest) -> Value {
    let mut system: Vec<&str> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role {
            Role::System => {
                system.push(&m.content);
                continue;
            }
            Role::User => ("user", vec![json!({ "type": "text", "text": m.content })]),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content,
                })],
            ),
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({ "type": "text", "text": m.content }));
                }
                for c in &m.tool_calls {
                    blocks.push(json!({ "type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments }));
                }
                ("assistant", blocks)
            }
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(p) = req.top_p {
        body["top_p"] = json!(p);
    }
    if !req.stop.is_empty() {
        body["stop_sequences"] = json!(req.stop);
    }
    if let Some(budget) = req.thinking_budget {
        body["thinking"] = json!({ "type": "enabled", "budget_tokens": budget });
    }
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": t.parameters }))
            .collect();
    } else if let Some(schema) = req
        .response_schema
        .as_ref()
        .filter(|_| schema_unsupported(req).is_none())
    {
        body["tools"] = json!([{
            "name": RESPOND_TOOL,
            "description": format!("Give your reply ({}) as this tool's input.", schema.name),
            "input_schema": schema.schema,
        }]);
        body["tool_choice"] = json!({ "type": "tool", "name": RESPOND_TOOL });
    }
    body
}

#[derive(Deserialize)]
struct Message {
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
    },
    RedactedThinking {},
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

/// Parses a 200 response body into a [`ChatResponse`].
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, LlmError> {
    let msg: Message = serde_json::from_slice(body)
        .map_err(|e| LlmError::malformed(format!("not a Messages response: {e}"), body))?;
    let mut text = String::new();
    let mut thinking: Vec<String> = Vec::new();
    let mut tool_calls = Vec::new();
    for block in msg.content {
        match block {
            Block::Text { text: t } => text.push_str(&t),
            Block::Thinking { thinking: t } => thinking.push(t),
            Block::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: input,
            }),
            Block::RedactedThinking {} | Block::Unknown => {}
        }
    }
    let field = (!thinking.is_empty()).then(|| thinking.join("\n\n"));
    let finish_reason = match msg.stop_reason.as_deref() {
        Some("end_turn") | Some("stop_sequence") | None => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    };
    let usage = msg
        .usage
        .map(|u| Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cost_usd: None,
        })
        .unwrap_or_default();
    Ok(ChatResponse::from_parts(
        &text,
        field,
        tool_calls,
        None,
        usage,
        finish_reason,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Message as Msg, ToolSpec};

    #[test]
    fn body_moves_system_out_and_merges_tool_results_into_user_turns() {
        let mut req = ChatRequest::new(vec![
            Msg::system("frame"),
            Msg::user("task"),
            Msg::assistant(
                "let me look",
                vec![ToolCall {
                    id: "t1".into(),
                    name: "read".into(),
                    arguments: json!({"p": "a"}),
                }],
            ),
            Msg::tool("t1", "contents"),
            Msg::user("go on"),
        ]);
        req.tools = vec![ToolSpec {
            name: "read".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }];
        req.thinking_budget = Some(1024);
        let b = request_body("claude", &req);
        assert_eq!(b["system"], "frame");
        assert_eq!(b["max_tokens"], DEFAULT_MAX_TOKENS);
        let msgs = b["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1]["content"][1]["type"], "tool_use");
        assert_eq!(msgs[2]["role"], "user");
        assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
        assert_eq!(msgs[2]["content"][1]["text"], "go on");
        assert_eq!(b["tools"][0]["input_schema"]["type"], "object");
        assert_eq!(b["thinking"]["budget_tokens"], 1024);
        assert!(b.get("tool_choice").is_none());
    }

    #[test]
    fn a_response_schema_is_a_forced_tool_call_and_its_input_the_reply() {
        let mut req = ChatRequest::new(vec![Msg::user("judge this")]);
        req.response_schema = Some(crate::types::ResponseSchema {
            name: "verdict".into(),
            schema: json!({"type": "object", "properties": {"flagged": {"type": "boolean"}}}),
        });
        assert_eq!(schema_unsupported(&req), None);
        let b = request_body("claude", &req);
        assert_eq!(b["tools"][0]["name"], RESPOND_TOOL);
        assert_eq!(
            b["tools"][0]["input_schema"]["properties"]["flagged"]["type"],
            "boolean"
        );
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": RESPOND_TOOL})
        );
        let body = br#"{"content":[{"type":"tool_use","id":"t","name":"respond","input":{"flagged":true}}],
          "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}"#;
        let mut r = parse_response(body).unwrap();
        take_schema_reply(&mut r);
        assert_eq!(
            serde_json::from_str::<Value>(&r.text).unwrap(),
            json!({"flagged": true})
        );
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.finish_reason, FinishReason::Stop);
        // With thinking on, the API refuses forced tool calls: the schema is not sent, and the client
        // is told why.
        req.thinking_budget = Some(1024);
        assert!(schema_unsupported(&req)
            .unwrap()
            .contains("extended thinking"));
        assert!(request_body("claude", &req).get("tool_choice").is_none());
    }

    #[test]
    fn response_keeps_thinking_apart_and_reads_tool_use() {
        let body = br#"{"id":"m","type":"message","role":"assistant","stop_reason":"tool_use",
          "content":[{"type":"thinking","thinking":"secret plan","signature":"s"},
                     {"type":"text","text":"Sure."},
                     {"type":"tool_use","id":"tu1","name":"sql","input":{"query":"select 1"}}],
          "usage":{"input_tokens":5,"output_tokens":9}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.text, "Sure.");
        assert_eq!(r.reasoning.as_deref(), Some("secret plan"));
        assert_eq!(r.tool_calls[0].arguments["query"], "select 1");
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(r.usage.output_tokens, 9);
        assert!(matches!(
            parse_response(b"{\"content\":7}"),
            Err(LlmError::Malformed { .. })
        ));
    }
}
