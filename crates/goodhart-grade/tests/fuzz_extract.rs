//! Property test of code extraction over 100,000 completions built from the pieces that matter to it
//! (fences with and without languages and `file=` names, `# file:` lines, unsafe names, CRLF, stray
//! text): it never panics, every extracted file has a safe name, every refused name is named in the
//! result and came from the completion or the explicit files, and the solution is text of the
//! completion.
//!
//! Run: `cargo test -p goodhart-grade --test fuzz_extract` (debug; the case count is in the test).

use goodhart_grade::{extract, is_safe_name};
use proptest::prelude::*;
use std::collections::BTreeMap;

const PIECES: &[&str] = &[
    "```",
    "```python",
    "```py",
    "```js",
    "``` file=conftest.py",
    "```python file=helpers.py",
    "```python file=../escape.py",
    "```python file=/etc/passwd",
    "```python file=\"q.py\"",
    "```python file=",
    "# file: a.py",
    "# file: ../b.py",
    "# file:",
    "def f(x):",
    "    return x",
    "import sys; sys.exit(0)",
    "\n",
    "\r\n",
    " ",
    "~~~",
    "é",
    "\u{0}",
    "text",
];

fn completion() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat())
}

fn names() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    let name = prop::sample::select(&["x.py", "", "../y.py", "/abs.py", "d/z.py", "a\\b.py"][..]);
    prop::option::of(prop::collection::btree_map(
        name.prop_map(str::to_string),
        Just("pass\n".to_string()),
        0..3,
    ))
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(100_000)
    })]

    #[test]
    fn extraction_never_panics_and_names_what_it_refuses(text in completion(), files in names()) {
        let got = extract(&text, files.as_ref());
        for name in got.files.keys() {
            prop_assert!(is_safe_name(name), "unsafe name {name:?} accepted");
        }
        for name in &got.rejected {
            prop_assert!(!is_safe_name(name), "safe name {name:?} refused");
            let explicit = files.as_ref().is_some_and(|f| f.contains_key(name));
            prop_assert!(explicit || text.contains(name.as_str()), "refused {name:?} is not in the input");
        }
        if let Some(solution) = &got.solution {
            for line in solution.lines().filter(|l| !l.is_empty()) {
                prop_assert!(text.lines().any(|l| l == line), "solution line {line:?} is not the completion's");
            }
        }
    }
}
