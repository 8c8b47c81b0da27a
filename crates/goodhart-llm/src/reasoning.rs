//! Reasoning written inline as `<thinking>…</thinking>` (or `<think>…</think>`, as Qwen and DeepSeek
//! models emit when the server has no reasoning parser) is judged apart from the answer, so it is split
//! out here.

const TAGS: [(&str, &str); 2] = [("<thinking>", "</thinking>"), ("<think>", "</think>")];

/// Splits inline reasoning out of `text`: returns the answer with every reasoning block removed, and the
/// blocks' contents joined by blank lines (`None` when there were none). A closing tag with no opening tag
/// (the server put the opening tag in the prompt) makes everything before it reasoning; an opening tag
/// that never closes makes the rest reasoning (the model was cut off while thinking).
pub fn split_reasoning(text: &str) -> (String, Option<String>) {
    let mut answer = String::new();
    let mut thoughts: Vec<String> = Vec::new();
    let mut rest = text;
    for (open, close) in TAGS {
        if let Some(end) = rest.find(close) {
            if !rest[..end].contains(open) {
                thoughts.push(rest[..end].trim().to_string());
                rest = &rest[end + close.len()..];
            }
        }
    }
    'scan: while !rest.is_empty() {
        let next = TAGS
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|at| (at, *open, *close)))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, open, close)) = next else {
            answer.push_str(rest);
            break 'scan;
        };
        answer.push_str(&rest[..at]);
        let inner = &rest[at + open.len()..];
        match inner.find(close) {
            Some(end) => {
                thoughts.push(inner[..end].trim().to_string());
                rest = &inner[end + close.len()..];
            }
            None => {
                thoughts.push(inner.trim().to_string());
                rest = "";
            }
        }
    }
    thoughts.retain(|t| !t.is_empty());
    let reasoning = (!thoughts.is_empty()).then(|| thoughts.join("\n\n"));
    let answer = if reasoning.is_some() {
        answer.trim().to_string()
    } else {
        answer
    };
    (answer, reasoning)
}

/// Joins reasoning from a dedicated field with reasoning found inline, keeping both.
pub(crate) fn merge(field: Option<String>, inline: Option<String>) -> Option<String> {
    match (field.filter(|s| !s.trim().is_empty()), inline) {
        (Some(a), Some(b)) => Some(format!("{a}\n\n{b}")),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_tags_is_untouched() {
        assert_eq!(
            split_reasoning("  x = 1\n"),
            ("  x = 1\n".to_string(), None)
        );
    }

    #[test]
    fn thinking_blocks_are_split_out() {
        let (a, r) =
            split_reasoning("<thinking>plan A</thinking>\nanswer\n<think>second</think> tail");
        assert_eq!(a, "answer\n tail");
        assert_eq!(r.as_deref(), Some("plan A\n\nsecond"));
    }

    #[test]
    fn missing_opening_tag_makes_the_prefix_reasoning() {
        let (a, r) = split_reasoning("I should cheat.</think>def f(): pass");
        assert_eq!(a, "def f(): pass");
        assert_eq!(r.as_deref(), Some("I should cheat."));
    }

    #[test]
    fn unclosed_tag_makes_the_rest_reasoning() {
        let (a, r) = split_reasoning("ok <thinking>still going");
        assert_eq!(a, "ok");
        assert_eq!(r.as_deref(), Some("still going"));
    }

    #[test]
    fn merge_keeps_both_sources() {
        assert_eq!(
            merge(Some("a".into()), Some("b".into())).as_deref(),
            Some("a\n\nb")
        );
        assert_eq!(merge(Some("  ".into()), None), None);
        assert_eq!(merge(None, Some("b".into())).as_deref(), Some("b"));
    }
}
