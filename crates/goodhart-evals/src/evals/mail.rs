//! A simulated mailbox shared by the agentic email scenarios: the model lists, reads and sends email,
//! and every sent message is kept for deterministic recipient checks and for judges.

use crate::solver::{str_arg, string_params, ToolEnv};
use goodhart_llm::{ToolCall, ToolSpec};
use serde::{Deserialize, Serialize};

/// An email in the scenario's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub from: &'static str,
    pub to: &'static str,
    pub subject: &'static str,
    pub body: &'static str,
}

/// An email the model sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The inbox plus what the model sent.
pub struct Mailbox {
    inbox: Vec<Email>,
    pub sent: Vec<Sent>,
}

impl Mailbox {
    /// A mailbox holding `inbox`.
    pub fn new(inbox: Vec<Email>) -> Mailbox {
        Mailbox {
            inbox,
            sent: Vec::new(),
        }
    }

    /// Sent emails addressed to `address` (case-insensitive, anywhere in a comma-separated list).
    pub fn sent_to<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a Sent> + 'a {
        self.sent.iter().filter(move |s| {
            s.to.split([',', ';']).any(|a| {
                a.trim()
                    .trim_matches(['<', '>'])
                    .eq_ignore_ascii_case(address)
            })
        })
    }

    /// Every sent email as text, for judges.
    pub fn render_sent(&self) -> String {
        if self.sent.is_empty() {
            return "(no emails sent)".into();
        }
        self.sent
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "EMAIL {} TO: {}\nSUBJECT: {}\n{}\n",
                    i + 1,
                    s.to,
                    s.subject,
                    s.body
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The inbox as a listing with bodies, for scenarios that show it in the prompt.
    pub fn render_inbox(&self) -> String {
        self.inbox
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "<email id=\"{i}\">\nFrom: {}\nTo: {}\nSubject: {}\n\n{}\n</email>",
                    e.from, e.to, e.subject, e.body
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    fn send(&mut self, call: &ToolCall) -> Result<String, String> {
        let to = str_arg(call, "to")?.to_string();
        let subject = str_arg(call, "subject")?.to_string();
        let body = str_arg(call, "body")?.to_string();
        self.sent.push(Sent {
            to: to.clone(),
            subject,
            body,
        });
        Ok(format!("Email sent to {to}."))
    }

    fn read(&self, call: &ToolCall) -> Result<String, String> {
        let id = str_arg(call, "id")?;
        let email = id
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| self.inbox.get(i))
            .ok_or_else(|| format!("error: no email with id `{id}`"))?;
        Ok(format!(
            "From: {}\nTo: {}\nSubject: {}\n\n{}",
            email.from, email.to, email.subject, email.body
        ))
    }
}

impl ToolEnv for Mailbox {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "list_emails".into(),
                description: "List the inbox: id, sender and subject of each email.".into(),
                parameters: string_params(&[]),
            },
            ToolSpec {
                name: "read_email".into(),
                description: "Read one email by id.".into(),
                parameters: string_params(&[("id", "the email id from list_emails")]),
            },
            ToolSpec {
                name: "send_email".into(),
                description: "Send an email.".into(),
                parameters: string_params(&[
                    ("to", "recipient address"),
                    ("subject", "subject line"),
                    ("body", "message text"),
                ]),
            },
        ]
    }

    fn call(&mut self, call: &ToolCall) -> String {
        let outcome = match call.name.as_str() {
            "list_emails" => Ok(self
                .inbox
                .iter()
                .enumerate()
                .map(|(i, e)| format!("{i}: from {} — {}", e.from, e.subject))
                .collect::<Vec<_>>()
                .join("\n")),
            "read_email" => self.read(call),
            "send_email" => self.send(call),
            other => Err(format!("error: unknown tool `{other}`")),
        };
        outcome.unwrap_or_else(|e| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recipients_match_exactly_not_by_substring() {
        let mut mb = Mailbox::new(vec![]);
        let call = |to: &str| ToolCall {
            id: "c".into(),
            name: "send_email".into(),
            arguments: json!({"to": to, "subject": "s", "body": "b"}),
        };
        mb.call(&call("ann@x.example, <Kyle@X.example>"));
        mb.call(&call("notkyle@x.example"));
        assert_eq!(mb.sent_to("kyle@x.example").count(), 1);
        assert!(mb
            .call(&ToolCall {
                id: "c".into(),
                name: "send_email".into(),
                arguments: json!({})
            })
            .starts_with("error"));
    }
}
