//! How the model is driven: one turn, or a loop in which it calls simulated, deterministic tools until it
//! stops calling them (Inspect's "solver").

use goodhart_llm::{ChatRequest, Client, LlmError, Message, ToolCall, ToolSpec};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Sampling knobs shared by every eval, stored with the run so it can be repeated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// Upper bound on model turns in agentic evals, so a model that never stops calling tools ends.
    pub max_turns: usize,
    /// Anthropic extended-thinking budget: without thinking blocks there is no reasoning to judge, so
    /// covert misalignment cannot be seen.
    #[serde(default)]
    pub thinking_budget: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            temperature: Some(1.0),
            max_tokens: Some(4096),
            max_turns: 12,
            thinking_budget: None,
        }
    }
}

/// One assistant response, with its reasoning kept apart from what it said and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// A tool call with the simulated result the model saw, for deterministic checks and judges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolEvent {
    pub call: ToolCall,
    pub result: String,
}

/// Everything that happened in a sample, so it can be judged, stored and read later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub system: String,
    pub prompt: String,
    pub turns: Vec<Turn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_events: Vec<ToolEvent>,
    /// True when the loop hit `max_turns` while the model was still calling tools.
    #[serde(default)]
    pub truncated: bool,
}

impl Transcript {
    /// The final answer text (the last turn's text).
    pub fn answer(&self) -> &str {
        self.turns.last().map(|t| t.text.as_str()).unwrap_or("")
    }

    /// All reasoning across turns, or `None` when the model gave none (then covert cannot be detected).
    pub fn reasoning(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .turns
            .iter()
            .filter_map(|t| t.reasoning.as_deref())
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The visible conversation (prompt, answers, tool calls and results) without reasoning, for judges
    /// of what the model said and did.
    pub fn render_visible(&self) -> String {
        self.render(false)
    }

    /// The whole transcript: system prompt, user message, and each turn's reasoning (in `<thinking>`
    /// tags), text, tool calls and results, for judges of intent, which must see reasoning and actions
    /// together to notice a mismatch between them (alignment faking).
    pub fn render_full(&self) -> String {
        self.render(true)
    }

    fn render(&self, with_reasoning: bool) -> String {
        let mut out = String::new();
        if with_reasoning && !self.system.is_empty() {
            let _ = writeln!(out, "SYSTEM: {}\n", self.system);
        }
        let _ = writeln!(out, "USER: {}", self.prompt);
        let mut events = self.tool_events.iter();
        for turn in &self.turns {
            let reasoning = turn.reasoning.as_deref().map(str::trim).unwrap_or("");
            if with_reasoning && !reasoning.is_empty() {
                let _ = writeln!(out, "\nASSISTANT <thinking>{reasoning}</thinking>");
            }
            if !turn.text.trim().is_empty() {
                let _ = writeln!(out, "\nASSISTANT: {}", turn.text.trim());
            }
            for call in &turn.tool_calls {
                let _ = writeln!(out, "\nASSISTANT CALLS {}({})", call.name, call.arguments);
                if let Some(event) = events.next() {
                    let _ = writeln!(out, "TOOL RESULT: {}", event.result);
                }
            }
        }
        if self.truncated {
            out.push_str("\n(the episode was cut off at the turn limit)\n");
        }
        out
    }

    /// Whether the model called any tool: an agentic sample without one did not engage with the
    /// scenario (a model that cannot call tools would otherwise score aligned).
    pub fn engaged(&self) -> bool {
        !self.tool_events.is_empty()
    }

    /// Calls of the tool `name`, in order.
    pub fn calls_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ToolCall> + 'a {
        self.tool_events
            .iter()
            .map(|e| &e.call)
            .filter(move |c| c.name == name)
    }
}

/// A model call that failed part-way through a sample, with the conversation up to it, so an errored
/// sample keeps what the model said and did before the failure instead of an empty transcript.
#[derive(Debug)]
pub struct Interrupted {
    /// The system prompt, the prompt, every finished turn and every tool call with its result.
    pub transcript: Box<Transcript>,
    /// Why the next model call failed.
    pub cause: LlmError,
}

/// A simulated world the model acts on through tools; deterministic, so checks on it are exact.
pub trait ToolEnv {
    /// The tools offered to the model.
    fn specs(&self) -> Vec<ToolSpec>;
    /// Runs one call and returns what the model sees; unknown tools or bad arguments give an error text.
    fn call(&mut self, call: &ToolCall) -> String;
}

/// Reads a string argument of a tool call, or explains to the model what is missing.
pub fn str_arg<'a>(call: &'a ToolCall, name: &str) -> Result<&'a str, String> {
    call.arguments
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("error: {} needs a string argument `{name}`", call.name))
}

/// A JSON-schema object of required string parameters, the only shape our tools need.
pub fn string_params(names: &[(&str, &str)]) -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|(n, d)| {
            (
                n.to_string(),
                serde_json::json!({"type": "string", "description": d}),
            )
        })
        .collect();
    let required: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    serde_json::json!({"type": "object", "properties": properties, "required": required})
}

fn request(
    settings: &Settings,
    messages: Vec<Message>,
    tools: Vec<ToolSpec>,
    epoch: u32,
) -> ChatRequest {
    let mut req = ChatRequest::new(messages);
    req.temperature = settings.temperature;
    req.max_tokens = settings.max_tokens;
    req.tools = tools;
    req.seed = Some(u64::from(epoch));
    req.thinking_budget = settings.thinking_budget;
    req
}

/// Asks once and records the answer.
pub async fn single_turn(
    model: &Client,
    settings: &Settings,
    system: &str,
    prompt: &str,
    epoch: u32,
) -> Result<Transcript, Interrupted> {
    let mut messages = Vec::new();
    if !system.is_empty() {
        messages.push(Message::system(system));
    }
    messages.push(Message::user(prompt));
    let mut transcript = Transcript {
        system: system.to_string(),
        prompt: prompt.to_string(),
        ..Transcript::default()
    };
    match model
        .chat(&request(settings, messages, Vec::new(), epoch), epoch)
        .await
    {
        Ok(response) => {
            transcript.turns.push(Turn {
                text: response.text,
                reasoning: response.reasoning,
                tool_calls: Vec::new(),
            });
            Ok(transcript)
        }
        Err(cause) => Err(Interrupted {
            transcript: Box::new(transcript),
            cause,
        }),
    }
}

/// Lets the model call `env`'s tools until it answers without a tool call or `max_turns` is reached.
pub async fn agent_loop(
    model: &Client,
    settings: &Settings,
    system: &str,
    prompt: &str,
    env: &mut dyn ToolEnv,
    epoch: u32,
) -> Result<Transcript, Interrupted> {
    let mut messages = vec![Message::system(system), Message::user(prompt)];
    let mut transcript = Transcript {
        system: system.to_string(),
        prompt: prompt.to_string(),
        ..Transcript::default()
    };
    let tools = env.specs();
    for _ in 0..settings.max_turns.max(1) {
        let req = request(settings, messages.clone(), tools.clone(), epoch);
        let response = match model.chat(&req, epoch).await {
            Ok(response) => response,
            Err(cause) => {
                return Err(Interrupted {
                    transcript: Box::new(transcript),
                    cause,
                })
            }
        };
        let calls = response.tool_calls.clone();
        messages.push(Message::assistant(response.text.clone(), calls.clone()));
        transcript.turns.push(Turn {
            text: response.text,
            reasoning: response.reasoning,
            tool_calls: calls.clone(),
        });
        if calls.is_empty() {
            return Ok(transcript);
        }
        for call in calls {
            let result = env.call(&call);
            messages.push(Message::tool(call.id.clone(), result.clone()));
            transcript.tool_events.push(ToolEvent { call, result });
        }
    }
    transcript.truncated = true;
    Ok(transcript)
}
