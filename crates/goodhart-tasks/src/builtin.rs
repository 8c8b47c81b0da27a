//! Task sources compiled into the binary, so `--tasks humaneval` works from any directory and a clone of
//! the repository needs nothing beside it.
//!
//! A `--tasks` value is first looked up here by name (`bundled`, `bundled-stdio`, `humaneval`, `mbpp`); only a value that
//! names no built-in source is read as a path. To read a file that happens to be called `humaneval`,
//! write `./humaneval`. The datasets' licences and provenance (source, version, checksum) sit beside
//! them in `crates/goodhart-tasks/datasets/`.

/// One task source that ships inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The name `--tasks` accepts.
    pub name: &'static str,
    /// One line for `goodhart tasks`: what the source is and where it comes from.
    pub description: &'static str,
    /// The data's licence (its text ships beside the file in the repository).
    pub licence: &'static str,
    /// The file's name inside `datasets/`, used in error messages; empty for the bundled suites.
    pub file: &'static str,
    /// The file's bytes as published (gzip when `file` ends in `.gz`); empty for the bundled suites.
    pub bytes: &'static [u8],
    /// SHA-256 of `bytes`, as recorded in `datasets/PROVENANCE.md`.
    pub sha256: &'static str,
}

/// Every built-in source, in the order `goodhart tasks` lists them.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "bundled",
        description: "Goodhart's own suite: 79 original tasks, one file per return type (the default)",
        licence: "MIT (this repository)",
        file: "",
        bytes: &[],
        sha256: "",
    },
    Builtin {
        name: "bundled-stdio",
        description: "Goodhart's own stdin/stdout suite: original judge-style tasks (suite-stdio/*.toml)",
        licence: "MIT (this repository)",
        file: "",
        bytes: &[],
        sha256: "",
    },
    Builtin {
        name: "humaneval",
        description: "HumanEval (openai/human-eval @6d43fb98): 164 hand-written problems with check(candidate) tests",
        licence: "MIT",
        file: "humaneval/HumanEval.jsonl.gz",
        bytes: include_bytes!("../datasets/humaneval/HumanEval.jsonl.gz"),
        sha256: "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
    },
    Builtin {
        name: "mbpp",
        description: "MBPP, sanitized split (google-research): 427 problems with assert test lists",
        licence: "CC-BY-4.0",
        file: "mbpp/sanitized-mbpp.json",
        bytes: include_bytes!("../datasets/mbpp/sanitized-mbpp.json"),
        sha256: "8ac32b2799150228e2d745aed09c870b7e4444246d4727d1004576207ef40769",
    },
];

/// The built-in source called `name`, if any.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of the built-in sources, comma-separated, for help texts and error messages.
pub fn names() -> String {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .collect::<Vec<_>>()
        .join(", ")
}
