//! Why a verdict failed, read off the run that decided it: the limit that ended it, the exception (from a
//! Python traceback, pytest's report or a hardened case's error), the end of stderr, and what code
//! extraction found. Graded records carry it as `verdicts.PROFILE.reason` (see docs/contract.md).

use crate::extract::Submission;
use goodhart_core::{ExceptionInfo, Reason};
use goodhart_sandbox::Outcome;

/// Most bytes of stderr a reason keeps (whole lines from the end).
pub(crate) const STDERR_TAIL_BYTES: usize = 2000;

/// What one failing run shows. `detail` is the grader's own one-line account when it has one (a
/// hardened case's comparison, a load error); otherwise the exception or the way the run ended is.
pub(crate) fn explain(
    outcome: Option<&Outcome>,
    detail: Option<String>,
    exception: Option<ExceptionInfo>,
    case_limit: Option<&str>,
    submission: &Submission,
) -> Reason {
    let run = outcome.map_or("not_run", |o| o.status.name()).to_string();
    let limit = outcome
        .and_then(|o| o.status.limit())
        .or(case_limit)
        .map(str::to_string);
    let exception = exception
        .or_else(|| outcome.and_then(|o| python_traceback(&String::from_utf8_lossy(&o.stderr))));
    let detail = detail
        .or_else(|| exception.as_ref().map(describe_exception))
        .or_else(|| outcome.map(Outcome::describe))
        .unwrap_or_else(|| "nothing ran".to_string());
    Reason {
        run,
        limit,
        detail,
        exception,
        stderr_tail: outcome.map_or_else(String::new, |o| tail(&o.stderr, STDERR_TAIL_BYTES)),
        extraction: submission.extraction.as_str().to_string(),
    }
}

/// `TypeError: message (solution.py:3)`.
pub(crate) fn describe_exception(e: &ExceptionInfo) -> String {
    let mut text = e.kind.clone();
    if !e.message.is_empty() {
        text = format!("{text}: {}", e.message);
    }
    match (&e.file, e.line) {
        (Some(file), Some(line)) => format!("{text} ({file}:{line})"),
        (Some(file), None) => format!("{text} ({file})"),
        _ => text,
    }
}

/// The last `limit` bytes of `bytes` as text, starting at a line.
pub(crate) fn tail(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();
    if text.len() <= limit {
        return text.to_string();
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(i) if i + 1 < cut.len() => cut[i + 1..].to_string(),
        _ => cut.to_string(),
    }
}

/// The innermost exception of the last Python traceback in `text`, with the file and line of its
/// innermost frame (a SyntaxError's own `File "...", line N` counts as one).
pub(crate) fn python_traceback(text: &str) -> Option<ExceptionInfo> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last):"))?;
    let mut place = (None, None);
    for line in &lines[start + 1..] {
        if let Some(frame) = frame_of(line) {
            place = frame;
            continue;
        }
        if line.starts_with(char::is_whitespace) || line.is_empty() {
            continue;
        }
        let mut e = exception_line(line);
        (e.file, e.line) = place;
        return Some(e);
    }
    None
}

/// `  File "/work/solution.py", line 3, in f` → (`solution.py`, 3).
fn frame_of(line: &str) -> Option<(Option<String>, Option<u32>)> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    let number = rest.strip_prefix(", line ")?;
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    let file = path.rsplit('/').next().unwrap_or(path).to_string();
    Some((Some(file), digits.parse().ok()))
}

/// `NameError: name 'x' is not defined` → its type and message; a line that names no type is all message.
fn exception_line(line: &str) -> ExceptionInfo {
    let (kind, message) = match line.split_once(": ") {
        Some((kind, message)) if is_type_name(kind) => (kind, message),
        _ if is_type_name(line.trim()) => (line.trim(), ""),
        _ => ("", line),
    };
    ExceptionInfo {
        kind: kind.to_string(),
        file: None,
        line: None,
        message: message.trim().to_string(),
    }
}

fn is_type_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// The first failure pytest reports (quiet mode): its type, file and line from the `file.py:N: Type`
/// line (or a `File "...", line N` among the `E ` lines, as a collection error shows a SyntaxError), and
/// its message from the `E ` lines.
pub(crate) fn pytest_failure(stdout: &str) -> Option<ExceptionInfo> {
    let e_lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("E "))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    let place = stdout.lines().find_map(|l| {
        let (file, rest) = l.split_once(".py:")?;
        let (line, kind) = rest.split_once(": ")?;
        let line: u32 = line.parse().ok()?;
        (!file.contains(char::is_whitespace) && is_type_name(kind.trim()))
            .then(|| (format!("{file}.py"), line, kind.trim().to_string()))
    });
    let typed = e_lines
        .iter()
        .map(|l| exception_line(l))
        .find(|e| !e.kind.is_empty());
    match place {
        Some((file, line, kind)) => {
            let message = match typed {
                Some(e) if e.kind == kind => e.message,
                _ => e_lines.first().map_or_else(String::new, |m| m.to_string()),
            };
            Some(ExceptionInfo {
                kind,
                file: Some(file),
                line: Some(line),
                message,
            })
        }
        None => match typed {
            Some(mut e) => {
                if let Some((file, line)) = e_lines.iter().filter_map(|l| frame_of(l)).next_back() {
                    (e.file, e.line) = (file, line);
                }
                Some(e)
            }
            None => python_traceback(stdout),
        },
    }
}

/// A hardened case's `raised TypeError: message [solution.py:3]` (see hardened_main.py).
pub(crate) fn case_exception(error: &str) -> Option<ExceptionInfo> {
    let raised = error
        .split_once("raised ")
        .map(|(_, rest)| rest)
        .filter(|_| error.contains("raised "))?;
    let (text, place) = match raised.rsplit_once(" [") {
        Some((text, place)) if place.ends_with(']') => (text, Some(&place[..place.len() - 1])),
        _ => (raised, None),
    };
    let mut e = exception_line(text);
    if e.kind.is_empty() {
        return None;
    }
    if let Some((file, line)) = place.and_then(|p| p.rsplit_once(':')) {
        e.file = Some(file.to_string());
        e.line = line.parse().ok();
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceback_gives_the_innermost_exception_and_frame() {
        let text = "Traceback (most recent call last):\n  File \"/work/main.py\", line 9, in <module>\n    check(f)\n  File \"/work/solution.py\", line 3, in f\n    return x + 1\n           ^\nNameError: name 'x' is not defined\n";
        let e = python_traceback(text).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file.as_deref(), e.line),
            ("NameError", Some("solution.py"), Some(3))
        );
        assert_eq!(e.message, "name 'x' is not defined");
        assert_eq!(
            describe_exception(&e),
            "NameError: name 'x' is not defined (solution.py:3)"
        );
        let syntax = "Traceback (most recent call last):\n  File \"/work/main.py\", line 4, in <module>\n  File \"/work/test_solution.py\", line 7\n    assert f(1) == (3\n                   ^\nSyntaxError: '(' was never closed\n";
        let e = python_traceback(syntax).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file.as_deref(), e.line),
            ("SyntaxError", Some("test_solution.py"), Some(7))
        );
        assert_eq!(python_traceback("no traceback here\n"), None);
    }

    #[test]
    fn pytest_reports_give_type_place_and_message() {
        let out = "F\n=== FAILURES ===\n___ test_case_0 ___\n\n    def test_case_0():\n>       assert candidate(1, 2) == (4)\nE       assert 3 == 4\n\ntest_solution.py:7: AssertionError\n1 failed in 0.01s\n";
        let e = pytest_failure(out).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file.as_deref(), e.line),
            ("AssertionError", Some("test_solution.py"), Some(7))
        );
        assert_eq!(e.message, "assert 3 == 4");
        let collection =
            "E   ImportError: cannot import name 'add' from 'solution'\n1 error in 0.1s\n";
        let e = pytest_failure(collection).unwrap();
        assert_eq!(e.kind, "ImportError");
        assert_eq!(e.message, "cannot import name 'add' from 'solution'");
        let syntax = "E     File \"/work/test_solution.py\", line 9\nE       assert f(1) == ((3)\nE                      ^\nE   SyntaxError: '(' was never closed\n";
        let e = pytest_failure(syntax).unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file.as_deref(), e.line),
            ("SyntaxError", Some("test_solution.py"), Some(9))
        );
    }

    #[test]
    fn hardened_case_errors_parse() {
        let e =
            case_exception("raised ZeroDivisionError: division by zero [solution.py:4]").unwrap();
        assert_eq!(
            (e.kind.as_str(), e.file.as_deref(), e.line),
            ("ZeroDivisionError", Some("solution.py"), Some(4))
        );
        let e = case_exception("arguments raised NameError: name 'y' is not defined").unwrap();
        assert_eq!((e.kind.as_str(), e.line), ("NameError", None));
        assert_eq!(case_exception("got 3, expected 4"), None);
    }

    #[test]
    fn tails_keep_whole_lines_from_the_end() {
        let text = "a\n".repeat(2000) + "last line";
        let t = tail(text.as_bytes(), 10);
        assert_eq!(t, "last line");
        assert_eq!(tail(b"short\n", 10), "short");
    }
}
