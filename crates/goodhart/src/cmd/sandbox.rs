//! `goodhart sandbox run FILE.py`: run one file isolated and limited, and say exactly how it ended.

use anyhow::Context;
use clap::{Args, Subcommand};
use goodhart_sandbox::{Limits, Outcome, Program, Sandbox, SandboxConfig, Status};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `goodhart sandbox`.
#[derive(Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    command: SandboxCommand,
}

/// What `goodhart sandbox` can do.
#[derive(Subcommand)]
enum SandboxCommand {
    /// Run one Python file in the sandbox (as `python FILE.py ARGS...` would) and say why it ended.
    ///
    /// Default limits: 10 s of CPU (wall-clock cap 45 s), 512 MB for the whole run, 64 processes,
    /// 16 MB per file, 256 open files, 1 MB of stdout and of stderr. The summary line (or `--json`'s
    /// `limits`) states the limits the run had.
    ///
    /// Exit code: the program's own when it exited, 1 when it was stopped (time, memory, signal, output),
    /// 2 when the sandbox itself failed or the arguments are wrong.
    Run(RunArgs),
}

/// Arguments of `goodhart sandbox run`.
#[derive(Args)]
struct RunArgs {
    /// The Python file to run (becomes main.py in the run's private work directory). Standard input,
    /// when it is not a terminal, is read to its end and given to the program as its stdin.
    file: PathBuf,
    /// Time limit in CPU seconds, summed over the run's processes (a busy machine does not change when
    /// it is reached). A program that sleeps or blocks is stopped at the wall-clock cap, 4 × this + 5 s
    /// unless --wall says otherwise. Allowed: more than 0, at most 3600.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    timeout: f64,
    /// Wall-clock cap in seconds (default: 4 × --timeout + 5 s). Allowed: at least --timeout, at most
    /// 18005.
    #[arg(long, value_name = "SECONDS")]
    wall: Option<f64>,
    /// Memory limit for the whole run, in MB (default 512). Allowed: 32 to 1048576.
    #[arg(long, value_name = "MB")]
    memory: Option<u64>,
    /// Print one JSON object (status, reason, exit_code, stdout, stderr, wall_ms, cpu_ms, limits, ...)
    /// instead of the program's output and a summary line.
    #[arg(long)]
    json: bool,
    /// Arguments passed to the program as sys.argv[1:].
    #[arg(last = true)]
    args: Vec<String>,
}

/// Largest CPU limit `--timeout` takes, in seconds (an hour: longer is no sandboxed test).
const MAX_TIMEOUT: f64 = 3600.0;
/// Smallest and largest `--memory`, in MB: below 32 MB the interpreter cannot start.
const MEMORY_MB: std::ops::RangeInclusive<u64> = 32..=1 << 20;
/// Most stdin passed through, in bytes.
const MAX_STDIN: u64 = 256 << 20;

/// Runs `goodhart sandbox ...`.
pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SandboxCommand::Run(args) => run_file(args),
    }
}

/// The limits the flags ask for, or an error naming the flag and what it takes.
fn limits_from(args: &RunArgs, defaults: &Limits) -> anyhow::Result<Limits> {
    let timeout = args.timeout;
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_TIMEOUT) {
        anyhow::bail!(
            "--timeout {timeout} is out of range: it takes CPU seconds, more than 0 and at most {MAX_TIMEOUT}"
        );
    }
    let mut limits = defaults.clone().with_cpu(Duration::from_secs_f64(timeout));
    if let Some(wall) = args.wall {
        let max = Limits::wall_cap(Duration::from_secs_f64(MAX_TIMEOUT)).as_secs_f64();
        if !(wall.is_finite() && wall >= timeout && wall <= max) {
            anyhow::bail!(
                "--wall {wall} is out of range: it takes seconds, at least --timeout ({timeout}) and at most {max}"
            );
        }
        limits.wall = Duration::from_secs_f64(wall);
    }
    if let Some(mb) = args.memory {
        if !MEMORY_MB.contains(&mb) {
            anyhow::bail!(
                "--memory {mb} is out of range: it takes MB, from {} to {}",
                MEMORY_MB.start(),
                MEMORY_MB.end()
            );
        }
        limits.memory_bytes = mb << 20;
    }
    Ok(limits)
}

/// Standard input when it is not a terminal (a pipe or a file), else nothing.
fn piped_stdin() -> anyhow::Result<Vec<u8>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Vec::new());
    }
    let mut data = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut data)
        .context("reading standard input")?;
    anyhow::ensure!(
        data.len() as u64 <= MAX_STDIN,
        "standard input is larger than {} MB, the most `goodhart sandbox run` passes to a program",
        MAX_STDIN >> 20
    );
    Ok(data)
}

/// The limits a run had, for people and for `--json`.
fn limits_json(limits: &Limits) -> serde_json::Value {
    serde_json::json!({
        "cpu_seconds": limits.cpu.as_secs_f64(),
        "wall_seconds": limits.wall.as_secs_f64(),
        "memory_mb": limits.memory_bytes >> 20,
        "max_procs": limits.max_procs,
        "max_file_mb": limits.max_file_bytes >> 20,
        "max_open_files": limits.max_open_files,
        "max_output_bytes": limits.max_output_bytes,
    })
}

fn run_file(args: RunArgs) -> anyhow::Result<ExitCode> {
    let limits = limits_from(&args, &Limits::default())?;
    let main = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let stdin = piped_stdin()?;
    let mut config = SandboxConfig::discover()?;
    config.pool_size = 1;
    let sandbox = Sandbox::new(config)?;
    let outcome = sandbox.run(&Program {
        main,
        stdin,
        argv: args.args,
        limits: Some(limits.clone()),
        ..Program::default()
    });
    if args.json {
        let mut value = outcome.to_json();
        value["limits"] = limits_json(&limits);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_human(&outcome, &limits)?;
    }
    Ok(exit_code(&outcome))
}

/// The program's output as it printed it, then one line saying why it ended.
fn print_human(outcome: &Outcome, limits: &Limits) -> anyhow::Result<()> {
    std::io::stdout().write_all(&outcome.stdout)?;
    std::io::stdout().flush()?;
    let mut stderr = std::io::stderr();
    stderr.write_all(&outcome.stderr)?;
    writeln!(
        stderr,
        "goodhart sandbox: {} (wall {:.1} ms, cpu {:.1} ms, peak memory {:.1} MB; limits: {} s of CPU, \
         {} s wall-clock cap, {} MB)",
        outcome.describe(),
        outcome.wall.as_secs_f64() * 1e3,
        outcome.cpu.as_secs_f64() * 1e3,
        outcome.peak_memory_bytes as f64 / (1u64 << 20) as f64,
        limits.cpu.as_secs_f64(),
        limits.wall.as_secs_f64(),
        limits.memory_bytes >> 20,
    )?;
    Ok(())
}

/// The run's own exit code when it exited, 1 for other endings, 2 for sandbox errors.
fn exit_code(outcome: &Outcome) -> ExitCode {
    match &outcome.status {
        Status::Ok => ExitCode::SUCCESS,
        Status::Exit(code) => ExitCode::from((*code & 0xff) as u8),
        Status::SandboxError(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}
