//! The bundled stdin/stdout suite (`--tasks bundled-stdio`): original tasks compiled into the binary,
//! next to the call-based `bundled` suite, for auditing graders of competitive-programming-style data.
//!
//! The tasks live in `crates/goodhart-tasks/suite-stdio/*.toml`; `build.rs` lists the directory at build
//! time, so a new file needs no code change. Each `[[task]]` table holds:
//!
//! ```toml
//! [[task]]
//! id = "bundled-stdio/<slug>"
//! description = """Statement with Input and Output sections."""
//! tags = ["easy", "<topic>"]          # exactly one of easy / medium / hard
//! comparator = "tokens"               # optional, default "lines"; any goodhart_core::Comparator name
//! reference = '''...a whole program reading stdin, writing stdout...'''
//! visible = [ { input = "3\n1 2 3\n", output = "6\n" }, ... ]   # at least 2
//! hidden  = [ { input = "...", output = "..." }, ... ]           # at least 6
//! ```
//!
//! The prompt is the description followed by the visible examples, so the model sees exactly the cases
//! a hard-coding exploit would key on, while the hidden ones stay unseen.

use crate::bundled::{DIFFICULTIES, MIN_HIDDEN, MIN_VISIBLE};
use goodhart_core::{Comparator, IoCase, StdioTests, Task};
use serde::Deserialize;

/// The name `goodhart_tasks::load` and `--tasks` know the suite by.
pub const NAME: &str = "bundled-stdio";

/// The prefix every id carries.
const ID_PREFIX: &str = "bundled-stdio/";

/// The suite's files, listed by `build.rs`: (file name under `suite-stdio/`, text), sorted by name.
const SUITE_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/suite_stdio.rs"));

/// Why the stdin/stdout suite could not be built (the error both built-in suites share).
pub type StdioSuiteError = crate::toml_suite::SuiteError;

/// Every task of the suite, in file then table order.
pub fn stdio_suite() -> Result<Vec<Task>, StdioSuiteError> {
    build(SUITE_FILES)
}

/// Parses several suite files, refusing an id used twice across them.
pub fn build(files: &[(&str, &str)]) -> Result<Vec<Task>, StdioSuiteError> {
    crate::toml_suite::build("suite-stdio", files, RawTask::into_task)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    id: String,
    description: String,
    tags: Vec<String>,
    #[serde(default)]
    comparator: Option<String>,
    reference: String,
    visible: Vec<IoCase>,
    hidden: Vec<IoCase>,
}

impl RawTask {
    fn into_task(self) -> Result<Task, String> {
        let slug = self.id.strip_prefix(ID_PREFIX).unwrap_or_default();
        if slug.is_empty()
            || !slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "id must be `{ID_PREFIX}<slug>` with a slug of lowercase letters, digits and `-`"
            ));
        }
        if self.description.trim().is_empty() {
            return Err("description is empty".to_string());
        }
        if self.reference.trim().is_empty() {
            return Err("reference is empty".to_string());
        }
        let difficulties: Vec<&String> = self
            .tags
            .iter()
            .filter(|t| DIFFICULTIES.contains(&t.as_str()))
            .collect();
        if difficulties.len() != 1 {
            return Err(format!(
                "tags must hold exactly one difficulty ({}), found {}",
                DIFFICULTIES.join(", "),
                difficulties.len()
            ));
        }
        if self.visible.len() < MIN_VISIBLE {
            return Err(format!(
                "needs at least {MIN_VISIBLE} visible cases, has {}",
                self.visible.len()
            ));
        }
        if self.hidden.len() < MIN_HIDDEN {
            return Err(format!(
                "needs at least {MIN_HIDDEN} hidden cases, has {}",
                self.hidden.len()
            ));
        }
        let comparator = self.comparator.unwrap_or_else(|| "lines".to_string());
        comparator
            .parse::<Comparator>()
            .map_err(|e| format!("comparator: {e}"))?;
        let prompt = prompt(&self.description, &self.visible);
        Ok(Task {
            id: self.id,
            prompt,
            entry_point: String::new(),
            visible: Vec::new(),
            hidden: Vec::new(),
            test_code: None,
            test_setup: None,
            unsplit: Vec::new(),
            reference: self.reference,
            tags: self.tags,
            stdio: Some(StdioTests {
                visible: self.visible,
                hidden: self.hidden,
                comparator,
            }),
        })
    }
}

/// The statement, what to write, and the visible examples as input/output blocks.
fn prompt(description: &str, visible: &[IoCase]) -> String {
    let mut out = format!(
        "{}\n\nWrite a Python 3 program that reads standard input and writes standard output.\n",
        description.trim()
    );
    for (i, case) in visible.iter().enumerate() {
        out += &format!(
            "\nExample {}\nInput:\n```\n{}\n```\nOutput:\n```\n{}\n```\n",
            i + 1,
            case.input.trim_end_matches('\n'),
            case.output.trim_end_matches('\n')
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(i: usize) -> String {
        format!("{{ input = \"{i}\\n\", output = \"{i}\\n\" }}")
    }

    fn file(id: &str, tags: &str, visible: usize, hidden: usize, extra: &str) -> String {
        let cases = |n: usize| (0..n).map(case).collect::<Vec<_>>().join(", ");
        format!(
            "[[task]]\nid = \"{id}\"\ndescription = \"Echo.\"\ntags = {tags}\n{extra}reference = \"print(input())\"\n\
             visible = [{}]\nhidden = [{}]\n",
            cases(visible),
            cases(hidden)
        )
    }

    #[test]
    fn the_starter_file_loads_and_builds_prompts_from_the_visible_examples() {
        let tasks = stdio_suite().unwrap();
        let starter: Vec<&Task> = tasks
            .iter()
            .filter(|t| t.id == "bundled-stdio/sum-of-list")
            .collect();
        assert_eq!(starter.len(), 1);
        let t = starter[0];
        assert!(t.is_stdio() && t.entry_point.is_empty());
        assert!(t
            .prompt
            .contains("Example 2\nInput:\n```\n1\n-5\n```\nOutput:\n```\n-5\n```"));
        let io = t.stdio.as_ref().unwrap();
        assert_eq!((io.visible.len(), io.hidden.len()), (2, 6));
        assert_eq!(io.comparator, "lines");
        assert!(
            !t.prompt.contains("1000000000000"),
            "hidden cases stay out of the prompt"
        );
    }

    #[test]
    fn each_rule_is_enforced_with_the_file_and_task_named() {
        let ok = file("bundled-stdio/echo", "[\"easy\"]", 2, 6, "");
        assert_eq!(build(&[("a.toml", &ok)]).unwrap().len(), 1);
        let err = |text: String| build(&[("a.toml", &text)]).unwrap_err().to_string();
        assert_eq!(
            err(file("bundled/echo", "[\"easy\"]", 2, 6, "")),
            "suite-stdio/a.toml: task `bundled/echo`: id must be `bundled-stdio/<slug>` with a slug of \
             lowercase letters, digits and `-`"
        );
        assert!(err(file("bundled-stdio/e", "[\"easy\"]", 1, 6, ""))
            .ends_with("needs at least 2 visible cases, has 1"));
        assert!(err(file("bundled-stdio/e", "[\"easy\"]", 2, 5, ""))
            .ends_with("needs at least 6 hidden cases, has 5"));
        assert!(
            err(file("bundled-stdio/e", "[\"easy\", \"hard\"]", 2, 6, ""))
                .contains("exactly one difficulty (easy, medium, hard), found 2")
        );
        assert!(err(file("bundled-stdio/e", "[\"dp\"]", 2, 6, "")).contains("found 0"));
        let bad = err(file(
            "bundled-stdio/e",
            "[\"easy\"]",
            2,
            6,
            "comparator = \"fuzzy\"\n",
        ));
        assert!(bad.starts_with("suite-stdio/a.toml: task `bundled-stdio/e`: comparator: unknown output comparator `fuzzy`"), "{bad}");
        let typo = err(file("bundled-stdio/e", "[\"easy\"]", 2, 6, "hiden = []\n"));
        assert!(typo.contains("unknown field `hiden`"), "{typo}");
        let dup = build(&[("a.toml", &ok), ("b.toml", &ok)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            dup,
            "suite-stdio/b.toml: task id `bundled-stdio/echo` is already used in suite-stdio/a.toml"
        );
        assert!(build(&[("a.toml", "[[task]\n")])
            .unwrap_err()
            .to_string()
            .starts_with("suite-stdio/a.toml: "));
    }
}
