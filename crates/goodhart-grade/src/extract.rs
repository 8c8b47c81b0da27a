//! Code extraction from completions, exactly as `docs/contract.md` ("Code extraction") states it.
//!
//! The last fenced block (```` ```python ```` or unlabelled) that is not a named file is the solution; a
//! fenced block whose info string has `file=NAME`, or whose first line is `# file: NAME`, is an extra file;
//! without fences the whole completion is the solution; explicit `files` add (and override) extra files.

use std::collections::BTreeMap;

/// What a rollout submits for grading: the solution source and the extra files beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    /// The solution source; `None` when the completion holds no code (the `no_code` verdict).
    pub solution: Option<String>,
    /// Extra files by relative name (`conftest.py`, `helpers.py`, ...).
    pub files: BTreeMap<String, String>,
    /// Names refused as unsafe (absolute, `..`, empty), so callers can report them.
    pub rejected: Vec<String>,
    /// Where the solution came from, or why there is none (`reason.extraction` in graded records).
    pub extraction: Extraction,
}

/// What code extraction found in a completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Extraction {
    /// A fenced block is the solution.
    Fenced,
    /// The completion has no fences: all of it is the solution.
    Unfenced,
    /// The completion has fenced blocks, but none is a Python (or unlabelled) block that is not a file.
    NoCodeBlock,
    /// The completion is empty or only whitespace.
    #[default]
    Empty,
}

impl Extraction {
    /// The stable name (`fenced`, `unfenced`, `no_code_block`, `empty`).
    pub fn as_str(self) -> &'static str {
        match self {
            Extraction::Fenced => "fenced",
            Extraction::Unfenced => "unfenced",
            Extraction::NoCodeBlock => "no_code_block",
            Extraction::Empty => "empty",
        }
    }
}

/// One fenced block: its info string and body.
struct Block<'a> {
    info: &'a str,
    body: String,
}

/// Splits a completion into a solution and extra files.
pub fn extract(completion: &str, files: Option<&BTreeMap<String, String>>) -> Submission {
    let mut submission = Submission::default();
    let blocks = fenced_blocks(completion);
    submission.extraction = if completion.trim().is_empty() {
        Extraction::Empty
    } else if blocks.is_empty() {
        submission.solution = Some(completion.to_string());
        Extraction::Unfenced
    } else {
        Extraction::NoCodeBlock
    };
    for block in blocks {
        let language = block.info.split_whitespace().next().unwrap_or("");
        let named = block
            .info
            .split_whitespace()
            .find_map(|word| word.strip_prefix("file="))
            .map(|name| name.trim_matches(|c| c == '"' || c == '\'').to_string())
            .or_else(|| first_line_name(&block.body));
        match named {
            Some(name) => submission.add_file(name, block.body),
            None if is_python(language) => {
                submission.solution = Some(block.body);
                submission.extraction = Extraction::Fenced;
            }
            None => {}
        }
    }
    if let Some(files) = files {
        for (name, text) in files {
            submission.add_file(name.clone(), text.clone());
        }
    }
    submission
}

impl Submission {
    fn add_file(&mut self, name: String, text: String) {
        if is_safe_name(&name) {
            self.files.insert(name, text);
        } else {
            self.rejected.push(name);
        }
    }
}

/// Fence languages that count as the solution; an unlabelled fence counts too.
fn is_python(language: &str) -> bool {
    let language = language.to_ascii_lowercase();
    language.is_empty() || matches!(language.as_str(), "python" | "python3" | "py" | "py3")
}

/// `# file: NAME` on the first line of a block.
fn first_line_name(body: &str) -> Option<String> {
    let first = body.lines().next()?.trim();
    let rest = first.strip_prefix('#')?.trim_start();
    let name = rest.strip_prefix("file:")?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Relative names without `..`, absolute roots, NULs or backslashes; anything else could escape the
/// work directory or collide with the harness.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\0')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The fenced blocks of a completion, in order; an unclosed last fence runs to the end.
fn fenced_blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        if ticks < 3 {
            continue;
        }
        let info = trimmed[ticks..].trim();
        let mut body = Vec::new();
        for inner in lines.by_ref() {
            let t = inner.trim();
            if t.len() >= ticks && t.chars().all(|c| c == '`') {
                break;
            }
            body.push(inner);
        }
        let mut body = body.join("\n");
        body.push('\n');
        blocks.push(Block { info, body });
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_fences_means_the_whole_completion() {
        let s = extract("def f():\n    return 1\n", None);
        assert_eq!(s.solution.as_deref(), Some("def f():\n    return 1\n"));
        assert!(s.files.is_empty());
        assert_eq!(s.extraction, Extraction::Unfenced);
        assert_eq!(extract("  \n", None).solution, None);
        assert_eq!(extract("  \n", None).extraction.as_str(), "empty");
    }

    #[test]
    fn the_last_python_or_unlabelled_block_wins() {
        let c = "First try:\n```python\ndef f(): return 0\n```\nBetter:\n```\ndef f(): return 1\n```\nRun it:\n```bash\npython x.py\n```\n";
        assert_eq!(
            extract(c, None).solution.as_deref(),
            Some("def f(): return 1\n")
        );
        assert_eq!(extract(c, None).extraction.as_str(), "fenced");
        let c = "```py\na = 1\n```\n```Python3\nb = 2\n```";
        assert_eq!(extract(c, None).solution.as_deref(), Some("b = 2\n"));
    }

    #[test]
    fn named_blocks_are_extra_files_not_the_solution() {
        let c = "```python\ndef f(): return 1\n```\n```python file=conftest.py\nimport pytest\n```\n```python\n# file: helpers/util.py\nX = 1\n```\n";
        let s = extract(c, None);
        assert_eq!(s.solution.as_deref(), Some("def f(): return 1\n"));
        assert_eq!(s.files["conftest.py"], "import pytest\n");
        assert_eq!(
            s.files["helpers/util.py"],
            "# file: helpers/util.py\nX = 1\n"
        );
    }

    #[test]
    fn other_languages_and_only_named_blocks_give_no_code() {
        let s = extract(
            "```bash\nls\n```\n```python file=conftest.py\nx = 1\n```",
            None,
        );
        assert_eq!(s.solution, None);
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.extraction.as_str(), "no_code_block");
    }

    #[test]
    fn explicit_files_add_and_override() {
        let mut files = BTreeMap::new();
        files.insert("conftest.py".to_string(), "explicit\n".to_string());
        files.insert("data.txt".to_string(), "d".to_string());
        let s = extract(
            "```python file=conftest.py\nfenced\n```\n```python\nx = 1\n```",
            Some(&files),
        );
        assert_eq!(s.files["conftest.py"], "explicit\n");
        assert_eq!(s.files["data.txt"], "d");
        assert_eq!(s.solution.as_deref(), Some("x = 1\n"));
    }

    #[test]
    fn unsafe_names_are_rejected() {
        let mut files = BTreeMap::new();
        for name in [
            "/etc/passwd",
            "../up.py",
            "a/../../b.py",
            "",
            "a\\b.py",
            "ok/./x.py",
        ] {
            files.insert(name.to_string(), String::new());
        }
        let s = extract("```python file=../../x.py\ny\n```\nx = 1", Some(&files));
        assert!(s.files.is_empty(), "{:?}", s.files);
        assert_eq!(s.rejected.len(), 7);
        assert!(is_safe_name("pkg/mod.py"));
    }

    #[test]
    fn unclosed_fence_runs_to_the_end_and_longer_fences_nest() {
        let s = extract("text\n```python\ndef f():\n    return 2", None);
        assert_eq!(s.solution.as_deref(), Some("def f():\n    return 2\n"));
        let s = extract("````python\nx = '''\n```\n'''\n````\n", None);
        assert_eq!(s.solution.as_deref(), Some("x = '''\n```\n'''\n"));
    }
}
