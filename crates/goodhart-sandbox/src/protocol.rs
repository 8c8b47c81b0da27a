//! The wire format between the Rust side and the Python harness.
//!
//! Both directions are one frame: a little-endian `u32` header length, a JSON header, then raw blobs whose
//! lengths the header gives (so sources, stdin and output need no escaping).

use crate::{Limits, Program};
use serde::{Deserialize, Serialize};

/// Header of a request; blobs follow in order: main, stdin, then each file.
#[derive(Serialize)]
struct RequestHead<'a> {
    wall: f64,
    cpu: f64,
    mem: u64,
    procs: u32,
    fsize: u64,
    nofile: u32,
    out: usize,
    argv: &'a [String],
    fetch: &'a [String],
    files: Vec<(&'a str, usize)>,
    main: usize,
    stdin: usize,
    /// The core the run and its server stay on, or -1 for any.
    core: i64,
}

/// Encodes one run request for the harness.
pub(crate) fn encode_request(program: &Program, limits: &Limits, core: Option<usize>) -> Vec<u8> {
    let head = RequestHead {
        wall: limits.wall.as_secs_f64(),
        cpu: limits.cpu.as_secs_f64(),
        mem: limits.memory_bytes,
        procs: limits.max_procs,
        fsize: limits.max_file_bytes,
        nofile: limits.max_open_files,
        out: limits.max_output_bytes,
        argv: &program.argv,
        fetch: &program.fetch,
        files: program
            .files
            .iter()
            .map(|(name, data)| (name.as_str(), data.len()))
            .collect(),
        main: program.main.len(),
        stdin: program.stdin.len(),
        core: core.map_or(-1, |c| c as i64),
    };
    // Serialising plain strings and numbers cannot fail.
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let blobs: usize = program.main.len()
        + program.stdin.len()
        + program.files.values().map(Vec::len).sum::<usize>();
    let mut frame = Vec::with_capacity(4 + head.len() + blobs);
    frame.extend_from_slice(&(head.len() as u32).to_le_bytes());
    frame.extend_from_slice(&head);
    frame.extend_from_slice(program.main.as_bytes());
    frame.extend_from_slice(&program.stdin);
    for data in program.files.values() {
        frame.extend_from_slice(data);
    }
    frame
}

/// How the harness says a run ended.
#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Ending {
    Exit,
    Signal,
    Wall,
    /// The run's processes together used up the CPU limit (the server's own count, see harness.py).
    Cpu,
    Output,
    Error,
}

/// Header of a response; blobs follow in order: stdout, stderr, then each fetched file.
#[derive(Debug, Deserialize)]
pub(crate) struct ResponseHead {
    pub(crate) kind: Ending,
    #[serde(default)]
    pub(crate) code: Option<i32>,
    #[serde(default)]
    pub(crate) signal: Option<i32>,
    #[serde(default)]
    pub(crate) wall: f64,
    #[serde(default)]
    pub(crate) cpu: f64,
    #[serde(default)]
    pub(crate) maxrss: u64,
    pub(crate) stdout: usize,
    pub(crate) stderr: usize,
    pub(crate) files: Vec<(String, usize)>,
    #[serde(default)]
    pub(crate) memerr: bool,
    #[serde(default)]
    pub(crate) error: Option<String>,
}
