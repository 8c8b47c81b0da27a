//! Presenting an [`Outcome`]: JSON for tools, one sentence for people.

use crate::{Outcome, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

impl Outcome {
    /// An outcome with no output, for endings decided outside the program (sandbox errors, lost workers).
    pub fn ended(status: Status, wall: Duration) -> Outcome {
        Outcome {
            status,
            exit_code: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            wall,
            cpu: Duration::ZERO,
            peak_memory_bytes: 0,
            files: BTreeMap::new(),
        }
    }

    /// The signal that ended the run, when one did.
    pub fn signal(&self) -> Option<i32> {
        match self.status {
            Status::Signal(s) => Some(s),
            _ => None,
        }
    }

    /// The stable JSON form used by `goodhart sandbox run --json` and the HTTP APIs.
    pub fn to_json(&self) -> Value {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(name, data)| (name.clone(), Value::String(text(data))))
            .collect();
        json!({
            "status": self.status.name(),
            "reason": self.describe(),
            "exit_code": self.exit_code,
            "signal": self.signal(),
            "stdout": text(&self.stdout),
            "stderr": text(&self.stderr),
            "wall_ms": ms(self.wall),
            "cpu_ms": ms(self.cpu),
            "peak_memory_bytes": self.peak_memory_bytes,
            "files": files,
        })
    }

    /// One sentence saying exactly why the run ended.
    pub fn describe(&self) -> String {
        match &self.status {
            Status::Ok => "exited with code 0".to_string(),
            Status::Exit(code) => format!("exited with code {code}"),
            Status::Signal(sig) => format!("killed by signal {sig} ({})", signal_name(*sig)),
            Status::WallTimeout => {
                "stopped: wall-clock cap reached before the CPU limit (the program slept, blocked or waited)"
                    .to_string()
            }
            Status::CpuLimit => "stopped: CPU time limit reached".to_string(),
            Status::MemoryLimit => "stopped: memory limit reached".to_string(),
            Status::OutputTruncated => "stopped: output limit reached (output cut)".to_string(),
            Status::SandboxError(msg) => {
                format!("sandbox error (says nothing about the program): {msg}")
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Conventional names of the signals a run can die of.
fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "other signal",
    }
}
